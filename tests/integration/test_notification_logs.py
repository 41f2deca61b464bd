"""What the functions log about each notification, read as CloudWatch Logs receives it (JSON lines)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from sellerstream_local.notifications_factory import as_body, order_change
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


def test_given_throttled_then_applied_notification_when_processed_then_every_line_names_it(
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

    # Lines about a record, or about the call made for it while its batch was planned.
    about_records = [line for line in log_lines(log_stream) if {"message_id", "notification_id"} & set(line)]
    messages = {line["message"] for line in about_records}
    assert {"sp-api throttled (429)", "notification applied"} <= messages
    for line in about_records:
        assert (line["notification_id"], line["notification_type"], line["seller_id"]) == (
            "n-logged",
            "ORDER_CHANGE",
            SELLER,
        ), line
    [throttled] = lines_saying(log_stream, "sp-api throttled (429)")
    assert throttled["operation"] == "getOrder" and throttled["level"] == "WARNING"


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


def test_given_redelivered_notification_when_skipped_then_its_line_does_not_repeat_the_outcome(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    body = as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    pipeline.publish(body)
    pipeline.drain()
    pipeline.publish(body)

    pipeline.drain()

    [applied] = lines_saying(log_stream, "notification applied")
    [duplicate] = lines_saying(log_stream, "duplicate notification skipped")
    assert applied["result"]["outcome"] == "written"
    assert duplicate["outcome"] == "duplicate"
    assert "result" not in duplicate
    assert duplicate["notification_id"] == applied["notification_id"]


def test_given_transient_failure_that_never_clears_when_last_receive_fails_then_line_says_dead_lettered(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(OTHER_ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.emulator.fail_next("getOrder", 500, count=1000)
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

    pipeline.drain()

    retries = lines_saying(log_stream, "notification failed: returned to the queue")
    [last] = lines_saying(log_stream, "notification failed on its last receive: dead-lettered by the queue")
    assert [line["receive_count"] for line in retries] == [1, 2, 3, 4]
    assert (last["receive_count"], last["outcome"], last["notification_id"]) == (
        5,
        "dead_lettered_by_queue",
        "n-transient",
    )
    assert last["reason"] == "SpApiServerError"
    [letter] = pipeline.dead_letters()
    assert letter.notification_id == "n-transient"
