"""The ledger the demo and ``sellerstream replay`` report with: an ORDER_CHANGE recorded for its
seller's drainer is counted as pending, and the orders the drains stored (its events) as its
entities stored; a type that stores as it applies counts what its records say."""

from __future__ import annotations

from typing import Any

from sellerstream.logic.batch import APPLIED, DUPLICATE, PENDING, RecordOutcome
from sellerstream.logic.drain_request import DRAIN_REQUEST
from sellerstream_local.traffic import UNATTRIBUTED, TypeLedger


def applied(notification_type: str, result: dict[str, Any], message_id: str = "m") -> RecordOutcome:
    return RecordOutcome(message_id, message_id, APPLIED, notification_type=notification_type, result=result)


def event(detail_type: str) -> dict[str, Any]:
    return {"detail-type": detail_type, "detail": {}}


def test_given_order_changes_recorded_for_the_drainer_when_announced_then_pending_and_stored() -> None:
    # Given three changes recorded (two of one order), one skipped, and a redelivery taken again
    ledger = TypeLedger()
    for index, outcome in enumerate((PENDING, PENDING, PENDING, "skipped", PENDING)):
        ledger.add(applied("ORDER_CHANGE", {"order_id": "o", "outcome": outcome}, f"m-{index}"))

    # When the drains stored three newer states (three events)
    ledger.attribute([event("Order Changed")] * 3)

    # Then the records are pending or unchanged, and the drains' writes are the type's entities stored
    counts = ledger.report()["ORDER_CHANGE"]
    assert (counts["records"], counts["pending"], counts["unchanged"], counts["duplicates"]) == (5, 4, 1, 0)
    assert (counts["stored"], counts["events"]) == (3, {"Order Changed": 3})
    assert ledger.counts == {PENDING: 4, "skipped": 1}


def test_given_a_drain_request_when_applied_then_a_record_of_its_own_type_recording_no_change() -> None:
    ledger = TypeLedger()
    ledger.add(applied(DRAIN_REQUEST, {"outcome": PENDING, "drain": True, "orders": 0}))

    counts = ledger.report()[DRAIN_REQUEST]
    assert (counts["records"], counts["pending"], counts["stored"]) == (1, 0, 0)


def test_given_a_type_that_stores_as_it_applies_then_its_events_add_nothing_to_what_it_stored() -> None:
    ledger = TypeLedger()
    ledger.add(applied("FEED_PROCESSING_FINISHED", {"outcome": "recorded"}))
    ledger.add(RecordOutcome("m-2", "m-2", DUPLICATE, notification_type="FEED_PROCESSING_FINISHED"))

    ledger.attribute([event("Feed Processed")])

    counts = ledger.report()["FEED_PROCESSING_FINISHED"]
    assert (counts["records"], counts["stored"], counts["pending"], counts["duplicates"]) == (2, 1, 0, 1)
    assert counts["events"] == {"Feed Processed": 1}
    assert UNATTRIBUTED not in ledger.report()
