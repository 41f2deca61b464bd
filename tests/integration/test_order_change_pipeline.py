"""ORDER_CHANGE through the real handler, driven by the local poller against moto and the emulator.

A notification is done once its change is in the seller's pending set; the invocation's drain (or a
drain request it leaves on the queue) fetches and stores the order.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream.logic.order_drainer import LAGGING_RETRY_SECONDS, MAX_DELAY_SECONDS
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
ORDER = "123-4567890-1234567"


def headers(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    items = pipeline.table_items("orders")
    return [item for item in items if str(item["sk"]).startswith("ORDER#")]


def pending_orders(pipeline: LocalPipeline) -> list[str]:
    """The order ids of the pending entries, one per order (every seller's)."""
    return [
        str(item["sk"]).rsplit("#", 1)[1]
        for item in pipeline.table_items("pending_orders")
        if item["sk"] != "LEASE"
    ]


def orders_queue_counts(pipeline: LocalPipeline) -> tuple[int, int]:
    """(visible, delayed) messages of the orders queue."""
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.resources.queues["orders"].url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesDelayed"]
    )


@contextlib.contextmanager
def sqs_clock() -> Iterator[Callable[[float], None]]:
    """Inside a ``LocalPipeline``: a function moving moto's SQS clock forward, so that a delayed
    message (a drain request) is due without waiting for it."""
    from moto.sqs import models

    current = models.unix_time_millis  # the pipeline's (faster_moto)
    ahead = [0.0]

    def unix_time_millis(*moment: Any) -> float:
        return float(current(*moment)) + (0.0 if moment else ahead[0] * 1000)

    def move(seconds: float) -> None:
        ahead[0] += seconds

    models.unix_time_millis = unix_time_millis
    try:
        yield move
    finally:
        models.unix_time_millis = current


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


def test_given_same_notification_delivered_many_times_then_one_call_and_the_order_stored_once(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    body = as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=T0))
    for _ in range(4):
        pipeline.publish(body)
    pipeline.publish(json.dumps(body))  # the same notification, double-encoded

    stats = pipeline.drain()

    # No idempotency records: every copy is applied, as one pending change (or skipped once stored).
    assert stats.succeeded == 5
    assert pipeline.emulator.calls["getOrder"] == 1
    counts = pipeline.outcomes.counts
    assert set(counts) <= {"pending", "skipped"} and counts["pending"] + counts["skipped"] == 5
    assert len(headers(pipeline)) == 1 and pending_orders(pipeline) == []


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


def test_given_throttled_past_the_retry_budget_when_drained_then_asked_again_without_spending_receives(
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

    # The notifications are done on their first receive; the throttled order waits in the pending
    # set (the client's retries spent on it), the others are stored, and a drain request comes back.
    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (3, 0)
    assert pipeline.outcomes.counts == {"pending": 3}
    assert pipeline.emulator.calls["getOrder"] == 4 + 2
    [waiting] = pending_orders(pipeline)  # whichever the drain asked first: the order is not the point
    assert waiting in order_ids
    assert orders_queue_counts(pipeline) == (0, 1)
    with sqs_clock() as later:
        later(LAGGING_RETRY_SECONDS)  # the drain request is back when the order is asked again
        pipeline.drain(poller)
    assert {header["order_id"] for header in headers(pipeline)} == set(order_ids)
    assert set(poller.stats.receives_by_message.values()) == {1}  # no receive was spent on throttling
    assert pending_orders(pipeline) == [] and pipeline.dead_letters() == []


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


@pytest.mark.parametrize(
    ("deferrals", "first_sent_ago"),
    [(40, timedelta(days=3)), (3, timedelta(days=13, hours=23))],
    ids=["deferred-many-times", "about-to-outlive-the-queue"],
)
def test_given_a_copy_an_earlier_version_deferred_when_it_comes_back_then_recorded_and_stored(
    pipeline: LocalPipeline, deferrals: int, first_sent_ago: timedelta
) -> None:
    # Copies the earlier design deferred while throttled may still be in the queue after a deploy.
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    _send_deferred_copy(pipeline, deferrals=deferrals, first_sent=datetime.now(UTC) - first_sent_ago)
    poller = pipeline.order_change_poller()

    poller.poll_once()

    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (1, 0)
    assert pipeline.outcomes.counts == {"pending": 1}
    assert [header["order_id"] for header in headers(pipeline)] == [ORDER]
    assert pending_orders(pipeline) == []


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


def test_given_revoked_refresh_token_when_processed_then_it_waits_pending_not_in_the_dlq(
    pipeline: LocalPipeline,
) -> None:
    revoke_and_publish(pipeline, "n-rev")

    pipeline.order_change_poller().poll_once()

    # The notification is done: its change waits in the pending set, and the seller's drain comes
    # back after SQS's longest delay (a drain request) to find the seller authorised again.
    assert pipeline.dead_letters() == []
    assert pending_orders(pipeline) == [ORDER]
    assert orders_queue_counts(pipeline) == (0, 1)
    assert headers(pipeline) == []


@pytest.mark.parametrize("secrets_cache_seconds", [0, 3600], ids=["uncached", "cached-an-hour"])
def test_given_seller_reauthorised_while_its_order_waits_then_the_order_is_stored(
    secrets_cache_seconds: int,
) -> None:
    # Cached for an hour or not: the refusal had the secret forgotten, so the first drain after the
    # renewal reads the new token.
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
        returns = 0
        with sqs_clock() as later:
            while not headers(local) and returns < 3:
                later(MAX_DELAY_SECONDS)  # the drain request is back
                local.order_change_poller().poll_once()
                returns += 1

        assert returns == 1
        assert local.dead_letters() == []
        [header] = headers(local)
        assert header["notification_id"] == "n-wait"
        assert pending_orders(local) == []


def test_given_revoked_refresh_token_past_the_wait_when_more_arrive_then_dead_lettered_as_credentials() -> (
    None
):
    with LocalPipeline(emulator_time_scale=50.0, settings={"seller_credentials_wait_seconds": 0}) as local:
        local.provision_seller(SELLER, subscription_ids=("sub-orders",))
        revoke_and_publish(local, "n-rev")
        local.order_change_poller().poll_once()
        # The first change was recorded before the refusal was known: it waits for the seller.
        assert local.dead_letters() == [] and pending_orders(local) == [ORDER]

        # A notification arriving while the refusal is known waits no longer than the setting says.
        local.publish(
            as_body(
                order_change(
                    seller_id=SELLER,
                    order_id="123-4567890-7654321",
                    status="Unshipped",
                    changed_at=T0,
                    notification_id="n-rev-later",
                )
            )
        )
        local.order_change_poller().poll_once()

        [letter] = local.dead_letters()
        assert (letter.notification_id, letter.reason) == ("n-rev-later", "seller_credentials")
        assert pending_orders(local) == [ORDER]


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
    assert pipeline.outcomes.counts == {"pending": 1, "skipped": 1}
    assert pipeline.emulator.calls["getOrder"] == 1


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
