"""What local mode tells about the events a subscriber received: counts, checks, JSON-lines dumps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sellerstream import catalog
from sellerstream_local import events_out


def event(detail_type: str, event_id: str, version: Any, **key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"eventbridge-{event_id}",
        "detail-type": detail_type,
        "source": "sellerstream",
        "detail": {"id": event_id, "key": key, "version": version, "previous_version": None, "changes": {}},
    }


def test_given_no_event_of_a_type_when_counted_then_every_declared_type_is_there_with_zero() -> None:
    counts = events_out.counts_by_type([event("Order Changed", "a", "v1", order_id="1")])

    declared = [change.detail_type for change in catalog.change_events()]
    assert list(counts) == declared
    assert counts["Order Changed"] == 1 and sum(counts.values()) == 1


def test_given_a_redelivery_and_an_older_version_when_checked_then_each_counted() -> None:
    events = [
        event("Shipment Confirmed", "b", 2, order_id="1", package_reference_id="9"),
        event("Shipment Confirmed", "b", 2, order_id="1", package_reference_id="9"),  # the same change again
        event(
            "Shipment Confirmed", "a", 1, order_id="1", package_reference_id="9"
        ),  # older than one received
        event("Order Changed", "c", "v1", order_id="1"),
    ]

    assert events_out.check(events) == {
        "distinct_ids": 3,
        "duplicate_deliveries": 1,
        "regressed": 1,
        "conflicting_ids": 0,
    }


def test_given_one_id_for_two_changes_when_checked_then_a_conflict() -> None:
    first = event("Order Changed", "a", "v1", order_id="1")
    other = event("Order Changed", "a", "v2", order_id="1")

    assert events_out.check([first, other])["conflicting_ids"] == 1


def test_given_events_when_dumped_then_one_file_per_declared_type_each_event_whole_in_order(
    tmp_path: Path,
) -> None:
    events = [
        event("Order Changed", "a", "v1", order_id="1"),
        event("Order Changed", "b", "v2", order_id="1"),
    ]

    written = events_out.dump(events, tmp_path / "out")

    assert set(written) == {f"{change.slug}.jsonl" for change in catalog.change_events()}
    assert written["order-changed.jsonl"] == 2 and sum(written.values()) == 2
    lines = (tmp_path / "out" / "order-changed.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == events
    assert events_out.summary(events[0]) == {
        "detail_type": "Order Changed",
        "id": "a",
        "key": {"order_id": "1"},
        "version": "v1",
        "previous_version": None,
        "changes": {},
    }


def test_given_a_detail_type_with_path_characters_when_named_then_a_plain_file_name() -> None:
    assert events_out.dump_file("../Order Changed/x") == "order-changed-x.jsonl"
