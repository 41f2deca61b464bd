"""``sellerstream demo`` as a user runs it: completes and prints a summary that adds up."""

from __future__ import annotations

import io

import pytest

from sellerstream_local.demo import run_demo

pytestmark = pytest.mark.e2e


def test_given_the_demo_stream_when_run_then_every_order_stored_and_only_poison_dead_lettered() -> None:
    out = io.StringIO()

    summary = run_demo(out)

    assert summary["orders_stored"] == summary["orders_expected"]
    assert sorted(letter["reason"] for letter in summary["dead_lettered"]) == [
        "inconsistent_shipment",  # the seller's update of a package with another quantity
        "invalid_notification",
        "invalid_notification",
        "unknown_notification_type",
        "unknown_seller",
    ]
    assert summary["outcomes"]["duplicate"] >= 1
    assert summary["outcomes"]["skipped"] >= 6  # the late (older) events cost no call
    assert summary["outcomes"]["deferred_not_ready"] >= 3  # lagging reads are asked again
    # One call per new order and per shipment (20), two per lagging read (3), one for the ORDER_CHANGE
    # that follows the seller's confirmation: duplicates, late events and notifications of the same
    # order in one batch cost none.
    answered = summary["sp_api_calls"]["getOrder"] - summary["throttled"]
    assert answered == summary["orders_expected"] + summary["orders_expected"] // 2 + 2 * 3 + 1
    assert summary["throttled"] >= 1
    assert summary["status_counts"]["SHIPPED"] == summary["orders_expected"] // 2 + 1
    # A confirmation, a tracking update reusing its generated reference, an inconsistent update refused.
    shipments = summary["shipments"]
    assert (shipments["confirmed"], shipments["updated"], shipments["refused"]) == (1, 1, 1)
    [package] = shipments["packages"]
    assert (package["tracking"], package["version"]) == ("1Z999AA10123456785", 2)
    assert 1 <= int(package["package_reference_id"]) <= 999_999_999  # drawn from the first request's id
    assert summary["sp_api_calls"]["confirmShipment"] == 2
    assert summary["listings"] == {"stored": 16, "deleted": 2, "empty_status": 4}
    reports = {record["report_id"]: record for record in summary["reports"]["records"]}
    assert (reports["50001"]["rows"], reports["50001"]["parts"]) == (12_000, 3)
    assert reports["50002"]["owner"] == "amzn1.vg.5550001" and reports["50002"]["rows"] == 40
    assert (reports["50003"]["status"], reports["50004"]["status"]) == ("CANCELLED", "FATAL")
    assert summary["reports"]["row_items"] == 12_040
    assert summary["app_secret"]["rotated"] and summary["app_secret"]["rotations"] == 1
    assert summary["app_secret"]["expires_in_days"] > 179
    # Events out: one per stored change, as the subscriber's queue and the webhook received them.
    events = summary["events"]
    assert {name: count for name, count in events["by_type"].items() if count} == {
        # Each new order, each shipment, the lagging reads' newer states, the confirmed order: never
        # a duplicate, a late (older) event or a lagging read's previous state.
        "Order Changed": summary["orders_expected"] + summary["orders_expected"] // 2 + 3 + 1,
        "Listing Changed": summary["listings"]["stored"] + summary["listings"]["deleted"],
        "Report Ready": len(summary["reports"]["records"]),
        "Shipment Confirmed": shipments["confirmed"] + shipments["updated"],
    }
    assert events["distinct_ids"] == events["delivered"] == sum(events["by_type"].values())
    assert (events["duplicate_deliveries"], events["regressed"], events["conflicting_ids"]) == (0, 0, 0)
    assert events["dead_lettered"] == 0
    # Only entities' writes reach the publisher; those that changed no version (a report's progress)
    # give no event.
    stream = events["stream"]
    assert stream["handed_to_publisher"] == events["delivered"] + stream["no_event"]
    assert stream["filtered_out"] >= summary["pii_items"]
    webhook = events["webhook"]
    assert webhook["by_type"] == {kind: count for kind, count in events["by_type"].items() if count}
    assert webhook["received"] == webhook["distinct_ids"] == webhook["forwarded"] == events["delivered"]
    assert (webhook["auth_header"], webhook["wrong_key_status"], webhook["refused"]) == (
        "x-api-key",
        401,
        {401: 1},
    )
    text = out.getvalue()
    for heading in (
        "Messages",
        "Dead letters",
        "SP-API",
        "Orders table",
        "Listings table",
        "Reports table",
        "LWA client secret",
        "Shipments",
        "Events out",
    ):
        assert heading in text
