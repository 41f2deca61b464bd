"""What the functions log about each notification, read as CloudWatch Logs receives it (JSON lines)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from sellerstream_local.notifications_factory import as_body, fba_inventory_availability_change, order_change
from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
ORDER = "123-4567890-1234567"
OTHER_ORDER = "123-4567890-7654321"


def log_lines(log_stream: io.StringIO) -> list[dict[str, Any]]:
    lines = []
    for line in log_stream.getvalue().splitlines():
        document = json.loads(line) if line.startswith("{") else {}
        if "message" in document and "_aws" not in document:
            lines.append(document)
    return lines


def lines_saying(log_stream: io.StringIO, message: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(log_stream) if line["message"] == message]


def test_given_a_throttled_call_for_a_notification_when_processed_then_its_lines_name_it_and_the_calls_its_seller(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.emulator.fail_next("getOrder", 429, count=1, code="QuotaExceeded")
    body = as_body(
        order_change(
            seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0, notification_id="n-logged"
        )
    )
    pipeline.publish(body)

    pipeline.drain()

    # Lines about a record name it.
    about_records = [line for line in log_lines(log_stream) if {"message_id", "notification_id"} & set(line)]
    assert "notification applied" in {line["message"] for line in about_records}
    for line in about_records:
        assert (line["notification_id"], line["notification_type"], line["seller_id"]) == (
            "n-logged",
            "ORDER_CHANGE",
            SELLER,
        ), line
    # The call is the seller's drain's (one call may serve many notifications): its line names the
    # seller, and inherits no record's ids.
    [throttled] = lines_saying(log_stream, "sp-api throttled (429)")
    assert throttled["operation"] == "getOrder" and throttled["level"] == "WARNING"
    assert throttled["seller_id"] == SELLER
    assert not {"message_id", "notification_id"} & set(throttled)
    assert [
        item["order_id"] for item in pipeline.table_items("orders") if str(item["sk"]).startswith("ORDER#")
    ] == [ORDER]


def test_given_poison_after_a_good_record_when_batch_processed_then_no_line_inherits_the_good_ones_ids(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0, notification_id="n-good"
            )
        )
    )
    pipeline.publish("not json")

    pipeline.drain()

    [poison] = lines_saying(log_stream, "poison message: dead-lettered")
    assert poison["reason"] == "invalid_notification"
    assert poison.get("notification_id") is None and poison.get("seller_id") is None
    lines_after_batch = [line for line in log_lines(log_stream) if line["message"] != "notification applied"]
    assert all(line.get("notification_id") != "n-good" for line in lines_after_batch)


def test_given_a_redelivered_order_change_when_its_order_is_stored_then_applied_again_as_skipped(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    body = as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    pipeline.publish(body)
    pipeline.drain()
    pipeline.publish(body)

    pipeline.drain()

    # No idempotency record for orders: the copy is applied again, and costs no call.
    first, again = lines_saying(log_stream, "notification applied")
    assert (first["result"]["outcome"], again["result"]["outcome"]) == ("pending", "skipped")
    assert again["notification_id"] == first["notification_id"]
    assert lines_saying(log_stream, "duplicate notification skipped") == []
    assert pipeline.emulator.calls["getOrder"] == 1


def test_given_a_redelivered_notification_of_an_idempotent_consumer_then_its_line_does_not_repeat_the_outcome(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    subscription = "subscription-local-fba-inventory"
    pipeline.provision_seller(SELLER, subscription_ids=(subscription,))
    body = as_body(
        fba_inventory_availability_change(
            seller_id=SELLER, sku="SKU-1", fnsku="X00FNSKU01", asin="B000ASIN01", changed_at=T0
        )
    )
    pipeline.publish(body)
    pipeline.drain()
    pipeline.publish(body)

    pipeline.drain()

    [applied] = lines_saying(log_stream, "notification applied")
    [duplicate] = lines_saying(log_stream, "duplicate notification skipped")
    assert applied["result"]["stored"] >= 1
    assert duplicate["outcome"] == "duplicate"
    assert "result" not in duplicate
    assert duplicate["notification_id"] == applied["notification_id"]


def publish_other_order_change(pipeline: LocalPipeline) -> None:
    """Amazon holds the other order as Unshipped at T0, and notification n-transient says so."""
    pipeline.emulator.set_order(OTHER_ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER,
                order_id=OTHER_ORDER,
                status="Unshipped",
                changed_at=T0,
                notification_id="n-transient",
            )
        )
    )


def test_given_a_transient_failure_that_never_clears_when_last_receive_fails_then_line_says_dead_lettered(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    # The pending set cannot be written: the notification's change is not recorded, so it fails.
    pipeline.dynamodb.delete_table(TableName=pipeline.resources.tables["pending_orders"])
    publish_other_order_change(pipeline)

    pipeline.drain()

    retries = lines_saying(log_stream, "notification failed: returned to the queue")
    [last] = lines_saying(log_stream, "notification failed on its last receive: dead-lettered by the queue")
    assert [line["receive_count"] for line in retries] == [1, 2, 3, 4]
    assert (last["receive_count"], last["outcome"], last["notification_id"]) == (
        5,
        "dead_lettered_by_queue",
        "n-transient",
    )
    assert last["reason"] == "ResourceNotFoundException"
    [letter] = pipeline.dead_letters()
    assert letter.notification_id == "n-transient"
    assert pipeline.emulator.calls["getOrder"] == 0


def test_given_getorder_failing_when_the_drain_fetches_then_the_order_stays_pending_and_its_line_says_why(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.fail_next("getOrder", 500, count=1000)
    publish_other_order_change(pipeline)

    pipeline.order_change_poller().poll_once()

    # The notification is done (its change is pending); the drain asks for the order again later.
    [applied] = lines_saying(log_stream, "notification applied")
    assert (applied["notification_id"], applied["result"]["outcome"]) == ("n-transient", "pending")
    [again] = lines_saying(log_stream, "order asked again later")
    assert (again["order_id"], again["reason"], again["seller_id"]) == (
        OTHER_ORDER,
        "SpApiServerError",
        SELLER,
    )
    assert again["delay_seconds"] > 0
    assert [item["sk"] for item in pipeline.table_items("pending_orders") if item["sk"] != "LEASE"] != []
    assert pipeline.dead_letters() == []
