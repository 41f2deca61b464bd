"""ORDER_CHANGE through the real handler, driven by the local poller against moto and the emulator."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
ORDER = "123-4567890-1234567"


def headers(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    items = pipeline.table_items("orders")
    return [item for item in items if str(item["sk"]).startswith("ORDER#")]


def test_given_one_order_change_when_processed_then_order_and_pii_stored(pipeline: LocalPipeline) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    )

    stats = pipeline.drain()

    assert stats.succeeded == 1 and stats.failed_attempts == 0
    [header] = headers(pipeline)
    assert header["order_id"] == ORDER and header["order_status"] == "UNSHIPPED"
    assert header["last_updated"] == "2025-10-16T12:00:00.000000Z"
    items = pipeline.table_items("orders")
    assert any(str(item["sk"]) == f"PII#ORDER#{ORDER}" for item in items)
    assert pipeline.emulator.calls["getOrder"] == 1
    assert pipeline.dead_letters() == []


def test_given_same_notification_delivered_many_times_then_applied_once(pipeline: LocalPipeline) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    body = as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    for _ in range(4):
        pipeline.publish(body)
    pipeline.publish(json.dumps(body))  # the same notification, double-encoded

    stats = pipeline.drain()

    assert stats.succeeded == 5
    assert pipeline.emulator.calls["getOrder"] == 1
    assert pipeline.outcomes.counts == {"written": 1, "duplicate": 4}
    assert len(headers(pipeline)) == 1


def test_given_newer_state_stored_when_an_older_change_arrives_then_skipped_without_a_call(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_order(
        ORDER, seller_id=SELLER, last_updated=T0 + timedelta(hours=1), status="Shipped"
    )
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER, order_id=ORDER, status="Shipped", changed_at=T0 + timedelta(hours=1)
            )
        )
    )
    pipeline.drain()
    # A late delivery of an older change, while Amazon would even answer with an older state.
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    )

    stats = pipeline.drain()

    assert stats.succeeded == 1
    [header] = headers(pipeline)
    assert header["order_status"] == "SHIPPED"
    assert header["last_updated"] == "2025-10-16T13:00:00.000000Z"
    assert pipeline.outcomes.counts["skipped"] == 1
    assert pipeline.emulator.calls["getOrder"] == 1


def test_given_poison_messages_when_processed_then_dead_lettered_at_once_with_reasons(
    pipeline: LocalPipeline,
) -> None:
    unknown_seller = order_change(
        seller_id="ANOBODY",
        order_id=ORDER,
        status="Unshipped",
        changed_at=T0,
        notification_id="n-unknown-seller",
    )
    wrong_schema = order_change(
        seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0, notification_id="n-wrong-schema"
    )
    del wrong_schema["Payload"]["OrderChangeNotification"]["Summary"]
    unknown_type = order_change(
        seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0, notification_id="n-unknown-type"
    )
    unknown_type["NotificationType"] = "B2B_ANY_OFFER_CHANGED"
    not_json_id = pipeline.publish("this is not json")
    for document in (unknown_seller, wrong_schema, unknown_type):
        pipeline.publish(as_body(document))

    stats = pipeline.drain()

    letters = {
        letter.notification_id or letter.message_id: letter.reason for letter in pipeline.dead_letters()
    }
    assert letters == {
        not_json_id: "invalid_notification",
        "n-unknown-seller": "unknown_seller",
        "n-wrong-schema": "invalid_notification",
        "n-unknown-type": "unknown_notification_type",
    }
    # One receive each: the copy with its reason is in the DLQ, then the original is done.
    assert all(count == 1 for count in stats.receives_by_message.values())
    assert (stats.succeeded, stats.failed_attempts) == (4, 0)
    assert pipeline.outcomes.counts["dead_lettered"] == 4
    assert headers(pipeline) == []
    by_id = {letter.notification_id: letter for letter in pipeline.dead_letters()}
    assert (by_id["n-unknown-seller"].seller_id, by_id["n-unknown-seller"].notification_type) == (
        "ANOBODY",
        "ORDER_CHANGE",
    )
    assert "Summary" in by_id["n-wrong-schema"].detail


def test_given_dead_letter_queue_refuses_the_copy_when_poison_then_it_fails_and_is_redriven_later(
    pipeline: LocalPipeline,
) -> None:
    pipeline.sqs.delete_queue(QueueUrl=pipeline.resources.queues["orders"].dlq_url)
    poller = pipeline.order_change_poller()
    pipeline.publish("this is not json")

    poller.poll_once()

    # Not reported done: the message stays in its queue for SQS's own redrive.
    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (0, 1)
    assert pipeline.outcomes.counts["dead_lettered"] == 0
    [failure] = pipeline.outcomes.failures_by_message.values()
    assert failure["reason"] == "invalid_notification"


def test_given_throttled_past_the_retry_budget_when_processed_then_deferred_without_spending_receives(
    pipeline: LocalPipeline,
) -> None:
    order_ids = [f"123-4567890-123456{index}" for index in range(3)]
    for order_id in order_ids:
        pipeline.emulator.set_order(order_id, seller_id=SELLER, last_updated=T0, status="Unshipped")
        pipeline.publish(
            as_body(order_change(seller_id=SELLER, order_id=order_id, status="Unshipped", changed_at=T0))
        )
    pipeline.emulator.fail_next("getOrder", 429, count=4, code="QuotaExceeded")
    poller = pipeline.order_change_poller()

    poller.poll_once()

    # Amazon's bucket is empty: the seller's other orders wait too instead of meeting more 429s.
    # Their copies wait in the queue (delayed); the originals left it as handled.
    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (3, 0)
    assert pipeline.emulator.calls["getOrder"] == 4
    assert pipeline.outcomes.counts["deferred"] == 3
    pipeline.drain(poller)
    assert {header["order_id"] for header in headers(pipeline)} == set(order_ids)
    assert set(poller.stats.receives_by_message.values()) == {1}  # no receive was spent on throttling
    assert pipeline.dead_letters() == []


def _send_deferred_copy(pipeline: LocalPipeline, *, deferrals: int, first_sent: datetime) -> None:
    from sellerstream.logic.deferral import DEFERRALS_ATTRIBUTE, FIRST_SENT_ATTRIBUTE

    pipeline.sqs.send_message(
        QueueUrl=pipeline.resources.queues["orders"].url,
        MessageBody=as_body(
            order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0)
        ),
        MessageAttributes={
            DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals)},
            FIRST_SENT_ATTRIBUTE: {
                "DataType": "Number",
                "StringValue": str(int(first_sent.timestamp() * 1000)),
            },
        },
    )


def test_given_a_record_deferred_many_times_within_retention_when_throttled_again_then_deferred_again(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    _send_deferred_copy(pipeline, deferrals=40, first_sent=datetime.now(UTC) - timedelta(days=3))
    pipeline.emulator.fail_next("getOrder", 429, count=4, code="QuotaExceeded")
    poller = pipeline.order_change_poller()

    poller.poll_once()

    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (1, 0)
    assert pipeline.outcomes.counts["deferred"] == 1


def test_given_a_notification_about_to_outlive_the_queue_when_throttled_again_then_it_fails_towards_the_dlq(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    _send_deferred_copy(pipeline, deferrals=3, first_sent=datetime.now(UTC) - timedelta(days=13, hours=23))
    pipeline.emulator.fail_next("getOrder", 429, count=4, code="QuotaExceeded")
    poller = pipeline.order_change_poller()

    poller.poll_once()

    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (0, 1)
    assert pipeline.outcomes.counts["deferred"] == 0


def test_given_orders_v0_configured_when_processed_then_order_and_all_item_pages_stored(
    log_stream: io.StringIO,
) -> None:
    with LocalPipeline(emulator_time_scale=50.0, orders_api_version="v0", log_stream=log_stream) as pipeline:
        pipeline.provision_seller(SELLER)
        pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Shipped")
        pipeline.publish(
            as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Shipped", changed_at=T0))
        )

        pipeline.drain()

        [header] = headers(pipeline)
        assert header["source_api"] == "orders/v0"
        assert header["order_status"] == "SHIPPED"
        assert pipeline.emulator.calls["getOrder"] == 1
        assert header["item_count"] == len(header["items"]) >= 1
        assert pipeline.emulator.calls["getOrderItems"] >= 1
        # Buyer data through a Restricted Data Token (v0 returns none without one).
        [pii] = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PII#")]
        assert pii["BuyerInfo"]["BuyerEmail"] and pii["ShippingAddress"]["PostalCode"]
        assert "BuyerInfo" not in header["order"]
        assert pipeline.emulator.calls["createRestrictedDataToken"] == 1


def revoke_and_publish(pipeline: LocalPipeline, notification_id: str) -> None:
    pipeline.secrets.put_secret_value(
        SecretId=f"sellerstream/sellers/{SELLER}", SecretString=json.dumps({"refresh_token": "Atzr|revoked"})
    )
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER,
                order_id=ORDER,
                status="Unshipped",
                changed_at=T0,
                notification_id=notification_id,
            )
        )
    )


def test_given_revoked_refresh_token_when_processed_then_it_waits_in_the_queue_not_the_dlq(
    pipeline: LocalPipeline,
) -> None:
    revoke_and_publish(pipeline, "n-rev")

    pipeline.order_change_poller().poll_once()

    assert pipeline.dead_letters() == []
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.resources.queues["orders"].url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesDelayed"])
        == 1
    )
    assert headers(pipeline) == []


@pytest.mark.parametrize("secrets_cache_seconds", [0, 3600], ids=["uncached", "cached-an-hour"])
def test_given_seller_reauthorised_while_its_notification_waits_then_the_order_is_stored(
    secrets_cache_seconds: int,
) -> None:
    # Cached for an hour, the old token is refused once more; the refusal has the secret read afresh.
    settings = {"secrets_cache_seconds": secrets_cache_seconds}
    with LocalPipeline(emulator_time_scale=50.0, settings=settings) as local:
        local.provision_seller(SELLER, subscription_ids=("sub-orders",))
        revoke_and_publish(local, "n-wait")
        local.order_change_poller().poll_once()

        local.emulator.register_seller(SELLER, "Atzr|renewed")
        local.secrets.put_secret_value(
            SecretId=f"sellerstream/sellers/{SELLER}",
            SecretString=json.dumps({"refresh_token": "Atzr|renewed"}),
        )
        local.drain()

        assert local.dead_letters() == []
        [header] = headers(local)
        assert header["notification_id"] == "n-wait"


def test_given_revoked_refresh_token_past_the_wait_when_processed_then_dead_lettered_as_credentials() -> None:
    with LocalPipeline(emulator_time_scale=50.0, settings={"seller_credentials_wait_seconds": 0}) as local:
        local.provision_seller(SELLER, subscription_ids=("sub-orders",))
        revoke_and_publish(local, "n-rev")

        local.drain()

        [letter] = local.dead_letters()
        assert (letter.notification_id, letter.reason) == ("n-rev", "seller_credentials")


def test_given_processing_when_logs_written_then_no_buyer_data_or_secrets(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    )
    pipeline.publish("not json but carries 48110")
    pipeline.drain()
    pii = pipeline.table_items("orders")
    buyer_email = next(item for item in pii if str(item["sk"]).startswith("PII#"))["buyer"]["buyerEmail"]

    logs = log_stream.getvalue()

    assert "notification applied" in logs
    for secret in ("48110", "Atzr|", "Atza|", "local-client-secret", buyer_email):
        assert secret not in logs


def test_given_metrics_enabled_when_batch_processed_then_emf_counts_outcomes_calls_and_lag(
    pipeline: LocalPipeline, log_stream: io.StringIO, monkeypatch
) -> None:
    from sellerstream.observability import metrics

    metrics.clear_metrics()  # earlier tests ran with metrics disabled, which keeps them buffered
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(
        as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    )
    pipeline.publish("not json")
    pipeline.order_change_poller().poll_once()

    emitted: dict[str, float] = {}
    for line in log_stream.getvalue().splitlines():
        document = json.loads(line) if line.startswith("{") else {}
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                emitted[metric["Name"]] = sum(values) if isinstance(values, list) else values

    assert emitted["NotificationsProcessed"] == 1
    assert emitted["NotificationsFailed"] == 1
    assert emitted["PoisonMessages"] == 1
    assert emitted["SpApiCalls"] == 1
    assert emitted["EventToStoreLag"] > 0


def test_given_pending_notification_whose_callback_answers_unshipped_then_newer_state_and_pii_stored_whole(
    pipeline: LocalPipeline,
) -> None:
    # Amazon already holds the Unshipped state (with buyer data) when the Pending notification's
    # callback runs; the Unshipped notification that follows finds it stored.
    pipeline.emulator.set_order(
        ORDER, seller_id=SELLER, last_updated=T0 + timedelta(minutes=5), status="Unshipped", purchase_date=T0
    )
    pipeline.publish(as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Pending", changed_at=T0)))
    pipeline.drain()
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0 + timedelta(minutes=5)
            )
        )
    )

    pipeline.drain()

    [header] = headers(pipeline)
    assert header["order_status"] == "UNSHIPPED"
    assert header["last_updated"] == "2025-10-16T12:05:00.000000Z"
    [pii] = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PII#")]
    assert pii["buyer"]["buyerEmail"] and pii["recipient"]["deliveryAddress"]
    # The second notification costs no call: the order is stored at least as new as its change.
    assert pipeline.outcomes.counts == {"written": 1, "skipped": 1}


def test_given_pending_order_stored_without_pii_when_unshipped_then_buyer_data_added_and_kept_after_cancel(
    pipeline: LocalPipeline,
) -> None:
    steps = [("Pending", 0), ("Unshipped", 5), ("Canceled", 10)]
    for status, minutes in steps:
        when = T0 + timedelta(minutes=minutes)
        pipeline.emulator.set_order(
            ORDER, seller_id=SELLER, last_updated=when, status=status, purchase_date=T0
        )
        pipeline.publish(
            as_body(order_change(seller_id=SELLER, order_id=ORDER, status=status, changed_at=when))
        )
        pipeline.drain()
        pii_items = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PII#")]
        assert len(pii_items) == (0 if status == "Pending" else 1)

    [header] = headers(pipeline)
    assert header["order_status"] == "CANCELLED"
    [pii] = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PII#")]
    assert pii["last_updated"] == "2025-10-16T12:05:00.000000Z"  # from the Unshipped answer, kept
