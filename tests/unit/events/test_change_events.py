"""Exactly one event per stored change, in order, and nothing for a write that changed nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sellerstream import catalog
from sellerstream.domain.notifications import notification_changed
from sellerstream.logic.change_events import MAX_DETAIL_BYTES, ChangeEventsUseCase
from sellerstream.logic.event_details import listing_issues_changed, listing_quantity_changed
from tests.support.fakes import FakeEventBus, FakeEventDeadLetters, FakeOrderPii
from tests.support.stored_items import SELLER, listing_at, order_at, order_pii, package, report_record
from tests.unit.events.conftest import TABLE_NAMES, assert_valid, change

ORDERS, LISTINGS, REPORTS = catalog.ORDERS_TABLE, catalog.LISTINGS_TABLE, catalog.REPORTS_TABLE
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_given_an_order_stored_for_the_first_time_when_published_then_one_order_changed_event(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    new = order_at(T0, status="UNSHIPPED")

    outcome = publisher.publish([change(ORDERS, None, new)])

    assert outcome.retry_from is None
    [event] = bus.delivered
    assert event.detail_type == "Order Changed"
    assert event.detail["key"] == {"seller_id": SELLER, "order_id": new["order_id"]}
    assert event.detail["version"] == "2026-12-01T08:00:00.000000Z"
    assert event.detail["previous_version"] is None
    assert event.detail["changes"]["order_status"] == {"from": None, "to": "UNSHIPPED"}
    assert event.detail["record"]["order_status"] == "UNSHIPPED"
    assert "pk" not in event.detail["record"] and "pii" not in event.detail["record"]
    assert_valid(event)


def test_given_a_newer_order_state_when_published_then_status_from_to_and_previous_version(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    old, new = order_at(T0, status="UNSHIPPED"), order_at(T0 + timedelta(hours=2), status="SHIPPED")

    publisher.publish([change(ORDERS, old, new)])

    [event] = bus.delivered
    assert event.detail["previous_version"] == "2026-12-01T08:00:00.000000Z"
    assert event.detail["version"] == "2026-12-01T10:00:00.000000Z"
    assert event.detail["changes"]["order_status"] == {"from": "UNSHIPPED", "to": "SHIPPED"}
    assert "order.fulfillment" in event.detail["changes"]["fields"]
    assert "order.lastUpdatedTime" in event.detail["changes"]["fields"]
    assert_valid(event)


def test_given_writes_that_stored_no_newer_version_when_published_then_no_event(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    stored = order_at(T0, status="UNSHIPPED")
    pii_before = {"pk": stored["pk"], "sk": f"PII#ORDER#{stored['order_id']}", "buyer": {"buyerEmail": "a@b"}}
    pii_after = {**pii_before, "recipient": {"deliveryAddress": {"name": "Jane"}}}
    in_progress = report_record("IN_PROGRESS", finished_at="")

    outcome = publisher.publish(
        [
            change(ORDERS, stored, stored, 1),  # the same state written again
            change(ORDERS, pii_before, pii_after, 2),  # the order's PII item
            change(ORDERS, pii_after, None, 3),  # the PII item expired
            change(REPORTS, None, in_progress, 4),  # a report part's checkpoint
            change(ORDERS, order_at(T0 + timedelta(hours=1)), stored, 5),  # an older state (never stored)
        ]
    )

    assert bus.calls == []
    assert outcome.unchanged == 5 and outcome.published == []


def test_given_the_same_change_seen_twice_when_published_then_the_same_id(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    old, new = order_at(T0), order_at(T0 + timedelta(minutes=5))
    newest = order_at(T0 + timedelta(minutes=9))

    publisher.publish([change(ORDERS, old, new, 1)])
    publisher.publish([change(ORDERS, old, new, 1)])  # the stream retried the record
    publisher.publish([change(ORDERS, new, newest, 2)])

    first, again, later = (event.detail["id"] for event in bus.delivered)
    assert first == again != later


def test_given_pii_opted_out_or_in_when_published_then_buyer_data_only_when_opted_in(
    bus: FakeEventBus,
) -> None:
    new = order_at(T0)
    pii = FakeOrderPii({(SELLER, new["order_id"]): order_pii()})
    without = ChangeEventsUseCase(bus, FakeEventDeadLetters(), table_names=TABLE_NAMES)
    with_pii = ChangeEventsUseCase(bus, FakeEventDeadLetters(), table_names=TABLE_NAMES, order_pii=pii)

    without.publish([change(ORDERS, None, new)])
    with_pii.publish([change(ORDERS, None, new)])

    plain, opted_in = bus.delivered
    assert "pii" not in plain.detail["record"] and "buyer" not in plain.detail_json()
    assert set(opted_in.detail["record"]["pii"]) == {"buyer", "recipient"}
    assert_valid(opted_in)


def test_given_an_order_too_large_for_eventbridge_when_published_then_a_reference_instead(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    new = order_at(T0)
    new["items"] = [{"orderItemId": f"{index:014d}", "title": "x" * 1000} for index in range(300)]

    publisher.publish([change(ORDERS, None, new)])

    [event] = bus.delivered
    assert "record" not in event.detail
    assert event.detail["record_ref"] == {
        "table": TABLE_NAMES["orders"],
        "key": {"pk": new["pk"], "sk": new["sk"]},
        "reason": "too_large",
    }
    assert len(event.detail_json().encode()) < MAX_DETAIL_BYTES
    assert_valid(event)


def test_given_a_listing_change_when_published_then_status_from_to(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    old = listing_at(T0, status=["BUYABLE"])
    new = listing_at(T0 + timedelta(minutes=1), status=["DISCOVERABLE"])
    deleted = {**new, "deleted": True, "last_updated": "2026-12-01T09:00:00.000000Z"}

    publisher.publish([change(LISTINGS, old, new, 1), change(LISTINGS, new, deleted, 2)])

    changed, removed = bus.delivered
    assert changed.detail["changes"]["status"] == {"from": ["BUYABLE"], "to": ["DISCOVERABLE"]}
    assert changed.detail["key"]["sku"] == new["sku"]
    assert removed.detail["changes"]["deleted"] == {"from": False, "to": True}
    for event in bus.delivered:
        assert_valid(event)


def test_given_a_report_stored_over_several_parts_when_published_then_one_report_ready(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    first = report_record("IN_PROGRESS", finished_at="")
    second = {**first, "rows_written": 240, "parts": 3}
    done = report_record("COMPLETE", finished_at="2026-12-01T08:30:00.000000Z", rows=300)

    publisher.publish(
        [
            change(REPORTS, None, first, 1),
            change(REPORTS, first, second, 2),
            change(REPORTS, second, done, 3),
            change(REPORTS, done, done, 4),  # the same outcome saved again
        ]
    )

    [event] = bus.delivered
    assert event.detail_type == "Report Ready"
    assert event.detail["changes"]["ingestion_status"] == {"from": "IN_PROGRESS", "to": "COMPLETE"}
    assert event.detail["record"]["row_count"] == 300
    assert "parts" not in event.detail["record"]
    assert_valid(event)


def test_given_a_failed_report_redriven_to_complete_when_published_then_a_second_report_ready(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    failed = report_record("FAILED", finished_at="2026-12-01T08:30:00.000000Z")
    complete = {
        **report_record("COMPLETE", finished_at="2026-12-01T09:30:00.000000Z"),
        "failed_at": failed["failed_at"],
    }

    publisher.publish([change(REPORTS, None, failed, 1), change(REPORTS, failed, complete, 2)])

    first, second = bus.delivered
    assert second.detail["previous_version"] == first.detail["version"]
    assert second.detail["changes"]["ingestion_status"] == {"from": "FAILED", "to": "COMPLETE"}


def test_given_a_package_confirmed_then_updated_when_published_then_two_shipment_events(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    first, updated = package(1), package(2, tracking="1Z000NEW")

    publisher.publish(
        [
            change(ORDERS, None, first, 1),
            change(ORDERS, first, updated, 2),
            change(ORDERS, updated, updated, 3),
        ]
    )

    confirmed, tracking = bus.delivered
    assert confirmed.detail["changes"]["first_confirmation"] is True
    assert tracking.detail["changes"]["tracking_number"] == {"from": "1Z999", "to": "1Z000NEW"}
    assert (confirmed.detail["version"], tracking.detail["version"]) == (1, 2)
    for event in bus.delivered:
        assert_valid(event)


def test_given_many_changes_when_published_then_calls_within_limits_and_an_entity_once_a_call(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    changes = []
    for index in range(12):
        order = order_at(T0 + timedelta(minutes=index))
        order["order_id"] = order["sk"] = f"ORDER-{index % 4}"  # four orders, three versions each
        order["sk"] = f"ORDER#{order['order_id']}"
        changes.append(change(ORDERS, None, order, index + 1))

    publisher.publish(changes)

    assert [event.sequence for event in bus.delivered] == [c.sequence for c in changes]
    for call in bus.calls:
        assert len(call) <= 10
        assert len({event.entity_key for event in call}) == len(call)


def test_given_a_throttled_entry_when_published_then_tried_again_and_taken(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    bus.answers = [[None, "ThrottlingException"]]
    a = order_at(T0)
    b = {**order_at(T0), "order_id": "OTHER", "sk": "ORDER#OTHER"}

    outcome = publisher.publish([change(ORDERS, None, a, 1), change(ORDERS, None, b, 2)])

    assert outcome.retry_from is None
    assert [event.detail["key"]["order_id"] for event in bus.delivered] == [a["order_id"], "OTHER"]


def test_given_an_entry_failing_every_attempt_when_published_then_the_stream_retries_from_it_and_no_later_version_leaves(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    v1, v2 = order_at(T0), order_at(T0 + timedelta(minutes=1))
    other = {**order_at(T0), "order_id": "OTHER", "sk": "ORDER#OTHER"}
    bus.answers = [["InternalFailure", None]] * 3
    changes = [change(ORDERS, None, v1, 1), change(ORDERS, None, other, 2), change(ORDERS, v1, v2, 3)]

    outcome = publisher.publish(changes)

    assert outcome.retry_from == changes[0].sequence
    assert all(event.version != v2["last_updated"] for call in bus.calls for event in call)

    publisher.publish(changes)  # Lambda retries the batch from that record

    versions = [event.version for event in bus.delivered if event.detail["key"]["order_id"] == v1["order_id"]]
    assert versions == [v1["last_updated"], v2["last_updated"]]


def test_given_the_call_itself_failing_when_published_then_retried_from_the_first_record(
    publisher: ChangeEventsUseCase, bus: FakeEventBus
) -> None:
    bus.answers = [ConnectionError("reset")] * 3

    outcome = publisher.publish([change(ORDERS, None, order_at(T0), 7)])

    assert outcome.retry_from == f"{7:021d}" and bus.delivered == []


def test_given_an_event_eventbridge_refuses_for_good_when_published_then_it_is_dead_lettered_and_the_stream_moves_on(
    publisher: ChangeEventsUseCase, bus: FakeEventBus, dead_letters: FakeEventDeadLetters
) -> None:
    bus.answers = [["MalformedDetail", None]]
    other = {**order_at(T0), "order_id": "OTHER", "sk": "ORDER#OTHER"}

    outcome = publisher.publish([change(ORDERS, None, order_at(T0), 1), change(ORDERS, None, other, 2)])

    assert outcome.retry_from is None
    [(event, reason)] = dead_letters.events
    assert reason == "MalformedDetail" and event.detail["key"]["order_id"] != "OTHER"
    assert [event.detail["key"]["order_id"] for event in bus.delivered] == ["OTHER"]


# -- the types stored as Amazon sends them ------------------------------------------------------------


def test_given_a_newer_offer_stored_then_its_event_names_the_fields_that_changed() -> None:
    old = {
        "seller_id": "A3TH9S8BH6GOGM",
        "key": {"asin": "B0001"},
        "last_updated": "2026-12-01T10:00:00.000000Z",
        "notification_type": "ANY_OFFER_CHANGED",
        "notification_id": "n-1",
        "data": {"Summary": {"Lowest": 10}, "Offers": []},
    }
    new = {**old, "last_updated": "2026-12-01T10:05:00.000000Z", "notification_id": "n-2"}
    new["data"] = {"Summary": {"Lowest": 9}, "Offers": []}

    description = notification_changed(old, new)

    assert description is not None
    assert description.key == {"seller_id": "A3TH9S8BH6GOGM", "asin": "B0001"}
    assert (description.version, description.previous_version) == (new["last_updated"], old["last_updated"])
    assert description.changes == {"fields": ["Summary"]}
    assert description.record["data"] == new["data"]
    assert notification_changed(new, {**new, "notification_id": "n-3"}) is None  # no newer version


def test_given_a_listings_issues_read_again_when_they_are_the_same_then_no_event_and_when_not_one() -> None:
    old = {
        "seller_id": "A3TH9S8BH6GOGM",
        "marketplace_id": "ATVPDKIKX0DER",
        "sku": "NLS-SHOES-03",
        "last_updated": "2026-12-01T09:00:00.000000Z",
        "issues": [{"code": "90220"}],
        "issues_as_of": "2026-12-01T10:00:00.000000Z",
        "quantity": 3,
    }
    same = {**old, "issues_as_of": "2026-12-01T11:00:00.000000Z", "issues_notification": {"id": "n-late"}}
    fewer = {**same, "issues": []}

    assert listing_issues_changed(old, same) is None  # read again, nothing new: no event
    description = listing_issues_changed(old, fewer)
    assert description is not None
    assert (description.version, description.previous_version) == (fewer["issues_as_of"], old["issues_as_of"])
    assert description.changes["issue_count"] == {"from": 1, "to": 0}
    # A new version is Listing Changed's, never a refresh's.
    assert listing_issues_changed(old, {**fewer, "last_updated": "2026-12-01T12:00:00.000000Z"}) is None
    assert (
        listing_quantity_changed(old, {**old, "quantity_updated_at": "2026-12-01T11:00:00.000000Z"}) is None
    )
