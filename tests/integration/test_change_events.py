"""Change events end to end on moto, as deployed: writes through the real stores land in the tables'
change streams (DynamoDB Streams, read with boto3's own client by local mode's event source mapping,
``streams.LocalStreamPoller``), the real publisher's handler puts the events on SellerStream's bus,
and a subscriber's SQS queue, fed by a rule on the bus (source ``sellerstream``), receives them.
Every event received is checked against its detail-type's JSON Schema in docs/events/.

moto's streams run with ``faithful_streams`` (one record per write that changed an item, as
DynamoDB writes them), as in local mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.events.models import EventsBackend

from sellerstream import aws, catalog, wiring
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.adapters.reports import DynamoDBReportStore
from sellerstream.config import ChangeEventsSettings
from sellerstream.domain.events import entity_key, event_id
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import OrderRecord, WriteOutcome
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredPackage
from sellerstream.domain.reports import COMPLETE, IN_PROGRESS
from sellerstream.handlers.change_events import lambda_handler
from sellerstream_local.moto_patches import faithful_streams
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LocalPipeline
from sellerstream_local.resources import LocalChangeEvents, create_catalog_tables, create_change_events
from sellerstream_local.streams import MAX_ATTEMPTS, LocalStreamPoller, stream_sources
from tests.integration.conftest import SELLER as SELLER_OF_PIPELINE

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
SELLER = "A1SELLERSTREAMEV"
ORDER = "111-2223334-4445556"
MARKETPLACE = "ATVPDKIKX0DER"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
BUYER_EMAIL = "buyer-7f3k@marketplace.amazon.com"


@dataclass
class Account:
    tables: dict[str, str]
    change_events: LocalChangeEvents
    sqs: Any
    dynamodb: Any
    poller: LocalStreamPoller

    def publish(self) -> None:
        """The event source mapping reads every stream to its end, each batch to the publisher."""
        while self.poller.poll_once():
            pass

    def received(self) -> list[dict[str, Any]]:
        """What the subscriber's queue holds now (taken off it), each event checked against its schema."""
        events: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.change_events.sink_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                event = json.loads(message["Body"])
                assert event["source"] == catalog.EVENT_SOURCE
                schema = json.loads(
                    (SCHEMAS / catalog.change_event(event["detail-type"]).schema_file).read_text()
                )
                jsonschema.validate(event["detail"], schema)
                events.append(event)
                self.sqs.delete_message(
                    QueueUrl=self.change_events.sink_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.change_events.dead_letter_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


def publisher_environment(
    tables: dict[str, str], change_events: LocalChangeEvents, *, include_pii: bool
) -> dict[str, str]:
    """The publisher's variables, rendered from its settings class as the stack renders them."""
    return ChangeEventsSettings.environment(
        {
            "events_bus_name": change_events.bus_name,
            "events_dead_letter_queue_url": change_events.dead_letter_queue_url,
            **{f"{role}_table_name": name for role, name in tables.items()},
            "events_include_pii": include_pii,
        }
    )


@pytest.fixture
def include_pii() -> bool:
    return False


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, include_pii: bool) -> Iterator[Account]:
    with mock_aws(), faithful_streams():
        aws.reset_clients()
        wiring.reset()
        sqs, dynamodb, events = (boto3.client(name) for name in ("sqs", "dynamodb", "events"))
        tables = create_catalog_tables(dynamodb)
        change_events = create_change_events(sqs, dynamodb, events, tables)
        for name, value in publisher_environment(tables, change_events, include_pii=include_pii).items():
            monkeypatch.setenv(name, value)
        streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        poller = LocalStreamPoller(
            streams,
            sqs,
            stream_sources(tables, change_events.streams),
            lambda_handler,
            function_name="change-events-test",
            batch_size=catalog.CHANGE_EVENTS_PUBLISHER.sizing.batch_size,
            timeout_seconds=catalog.CHANGE_EVENTS_PUBLISHER.sizing.timeout_seconds,
            on_failure_queue_url=change_events.dead_letter_queue_url,
        )
        yield Account(tables, change_events, sqs, dynamodb, poller)
    aws.reset_clients()
    wiring.reset()


def order(last_updated: datetime, status: str, **attributes: Any) -> OrderRecord:
    return OrderRecord(
        seller_id=SELLER,
        order_id=ORDER,
        last_updated=last_updated,
        attributes={"order_status": status, "marketplace_id": MARKETPLACE, **attributes},
        pii={"buyer": {"buyerEmail": BUYER_EMAIL}, "recipient": {"name": "Jane Buyer"}},
        pii_expires_at=last_updated + timedelta(days=30),
    )


def detail_of(event: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = event["detail"]
    return detail


# -- orders ----------------------------------------------------------------------------------------


def test_given_an_order_stored_twice_at_the_same_version_when_published_then_one_event(
    account: Account,
) -> None:
    store = DynamoDBOrderStore(account.tables["orders"])
    assert store.put_if_newer(order(T0, "Unshipped")) is WriteOutcome.WRITTEN
    assert store.put_if_newer(order(T0, "Unshipped")) is WriteOutcome.STALE  # a redelivery's write

    account.publish()

    [event] = account.received()
    assert event["detail-type"] == "Order Changed"
    detail = detail_of(event)
    assert detail["key"] == {"seller_id": SELLER, "order_id": ORDER}
    assert (detail["version"], detail["previous_version"]) == ("2026-03-02T09:30:00.000000Z", None)
    assert detail["changes"]["order_status"] == {"from": None, "to": "Unshipped"}
    # Derived from the entity (its key in the catalog's order) and its version only: a subscriber
    # deduplicates by it.
    entity = entity_key("Order Changed", {"seller_id": SELLER, "order_id": ORDER})
    assert detail["id"] == event_id(entity, detail["version"])


def test_given_a_stored_order_when_an_older_version_arrives_then_no_event(account: Account) -> None:
    store = DynamoDBOrderStore(account.tables["orders"])
    store.put_if_newer(order(T0 + timedelta(hours=1), "Shipped"))
    account.publish()
    account.received()

    assert store.put_if_newer(order(T0, "Unshipped")) is WriteOutcome.STALE  # a stale callback
    account.publish()

    assert account.received() == []


def test_given_a_stored_order_when_a_newer_version_is_stored_then_a_second_event_naming_the_previous(
    account: Account,
) -> None:
    store = DynamoDBOrderStore(account.tables["orders"])
    store.put_if_newer(order(T0, "Unshipped"))
    store.put_if_newer(order(T0 + timedelta(hours=2), "Shipped"))

    account.publish()

    first, second = (detail_of(event) for event in account.received())
    assert second["previous_version"] == first["version"] < second["version"]
    assert second["changes"]["order_status"] == {"from": "Unshipped", "to": "Shipped"}
    assert first["id"] != second["id"]


def test_given_buyer_data_when_published_without_opting_in_then_no_pii_anywhere_in_the_event(
    account: Account,
) -> None:
    DynamoDBOrderStore(account.tables["orders"]).put_if_newer(order(T0, "Unshipped"))

    account.publish()

    [event] = account.received()
    assert "pii" not in detail_of(event)["record"]
    assert BUYER_EMAIL not in json.dumps(event) and "Jane Buyer" not in json.dumps(event)


@pytest.mark.parametrize("include_pii", [True])
def test_given_the_deployment_opts_in_when_published_then_the_orders_pii_is_in_its_record(
    account: Account,
) -> None:
    DynamoDBOrderStore(account.tables["orders"]).put_if_newer(order(T0, "Unshipped"))

    account.publish()

    [event] = account.received()
    assert detail_of(event)["record"]["pii"]["buyer"] == {"buyerEmail": BUYER_EMAIL}


def test_given_an_order_too_large_for_eventbridge_when_published_then_its_event_carries_a_reference(
    account: Account,
) -> None:
    large = order(T0, "Unshipped", gift_message="x" * 250_000)
    DynamoDBOrderStore(account.tables["orders"]).put_if_newer(large)

    account.publish()

    [event] = account.received()
    detail = detail_of(event)
    assert "record" not in detail
    assert detail["record_ref"] == {
        "table": account.tables["orders"],
        "key": {"pk": f"SELLER#{SELLER}", "sk": f"ORDER#{ORDER}"},
        "reason": "too_large",
    }


# -- listings, reports, packages -------------------------------------------------------------------


def test_given_a_listing_stored_then_deleted_when_published_then_two_events_the_second_a_deletion(
    account: Account,
) -> None:
    store = DynamoDBListingStore(account.tables["listings"])
    record = ListingRecord(SELLER, MARKETPLACE, "SHOE-42", T0, {"status": ["BUYABLE"]})
    store.put_if_newer(record)
    store.put_if_newer(record)  # the same version again: stored nothing
    store.mark_deleted(SELLER, MARKETPLACE, "SHOE-42", as_of=T0 + timedelta(days=1), attributes={})

    account.publish()

    stored, deleted = (detail_of(event) for event in account.received())
    assert (
        stored["key"]
        == deleted["key"]
        == {"seller_id": SELLER, "marketplace_id": MARKETPLACE, "sku": "SHOE-42"}
    )
    assert deleted["previous_version"] == stored["version"]
    assert deleted["changes"]["deleted"] == {"from": False, "to": True}


def test_given_a_report_stored_over_checkpoints_when_published_then_one_report_ready(
    account: Account,
) -> None:
    store = DynamoDBReportStore(account.tables["reports"])
    base = {"report_type": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "processing_status": "DONE"}
    store.save(SELLER, "50001", {**base, "ingestion_status": IN_PROGRESS, "rows_written": 0})
    store.checkpoint(SELLER, "50001", {"ingestion_status": IN_PROGRESS, "rows_written": 5000, "parts": 1})
    store.save(
        SELLER,
        "50001",
        {**base, "ingestion_status": COMPLETE, "rows_written": 12000, "completed_at": "2026-03-02T10:00:00Z"},
    )

    account.publish()

    [event] = account.received()
    assert event["detail-type"] == "Report Ready"
    assert detail_of(event)["changes"]["ingestion_status"] == {"from": IN_PROGRESS, "to": COMPLETE}
    assert account.poller.stats.records_handed == 3  # the progress writes gave no event


def test_given_a_package_confirmed_then_updated_when_published_then_two_shipment_confirmed_in_order(
    account: Account,
) -> None:
    store = DynamoDBPackageStore(account.tables["orders"])
    package = StoredPackage(
        SELLER, ORDER, "83383821", MARKETPLACE, "UPS", None, "UPS Ground", "1Z999AA10123456784",
        "2026-03-02T12:00:00Z", {"00001": 1}, "2026-03-02T12:00:05Z", "2026-03-02T12:00:05Z", None, "r1",
    )  # fmt: skip
    store.put(package, expected_version=None)
    updated = package._replace(tracking_number="1Z999AA10123456785", request_id="r2", version=2)
    store.put(updated, expected_version=1)
    with pytest.raises(ConcurrentPackageUpdateError):
        store.put(updated._replace(request_id="r3", version=2), expected_version=1)  # lost the race

    account.publish()

    confirmed, tracked = (detail_of(event) for event in account.received())
    assert (confirmed["version"], tracked["version"], tracked["previous_version"]) == (1, 2, 1)
    assert confirmed["changes"]["first_confirmation"] is True
    assert tracked["changes"]["tracking_number"] == {"from": "1Z999AA10123456784", "to": "1Z999AA10123456785"}


# -- the event source mapping ----------------------------------------------------------------------


def test_given_pii_items_and_removals_in_the_stream_when_published_then_filtered_out_before_the_handler(
    account: Account,
) -> None:
    DynamoDBOrderStore(account.tables["orders"]).put_if_newer(order(T0, "Unshipped"))
    account.dynamodb.delete_item(
        TableName=account.tables["orders"],
        Key={"pk": {"S": f"SELLER#{SELLER}"}, "sk": {"S": f"ORDER#{ORDER}"}},
    )

    account.publish()

    stats = account.poller.stats
    # The order's INSERT is handed over; its PII item's INSERT and the order's REMOVE are not.
    assert (stats.records_read, stats.filtered_out, stats.records_handed) == (3, 2, 1)
    assert len(account.received()) == 1
    account.publish()
    assert account.poller.stats.records_read == 3  # each record is read once


def test_given_eventbridge_throttling_when_published_then_retried_from_the_failed_record_and_nothing_lost(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DynamoDBOrderStore(account.tables["orders"])
    for hour in range(3):
        store.put_if_newer(order(T0 + timedelta(hours=hour), "Unshipped" if hour < 2 else "Shipped"))
    put_events = EventsBackend.put_events
    throttled = {"calls": 0}

    def throttling(self: EventsBackend, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Every attempt of the first invocation is refused: the batch names its first record.
        if throttled["calls"] < 3:
            throttled["calls"] += 1
            return [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"} for _ in entries]
        return put_events(self, entries)

    monkeypatch.setattr(EventsBackend, "put_events", throttling)

    account.publish()

    stats = account.poller.stats
    assert (stats.invocations, stats.partial_failures) == (2, 1)  # the batch again, from its first record
    versions = [detail_of(event)["version"] for event in account.received()]
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert account.dead_letters() == []


def test_given_a_handler_that_keeps_failing_when_published_then_a_pointer_to_the_batch_on_the_dlq(
    account: Account,
) -> None:
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the publisher cannot start")

    poller = LocalStreamPoller(
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        account.sqs,
        stream_sources(account.tables, account.change_events.streams),
        failing,
        function_name="change-events-test",
        batch_size=100,
        timeout_seconds=60,
        on_failure_queue_url=account.change_events.dead_letter_queue_url,
    )
    DynamoDBOrderStore(account.tables["orders"]).put_if_newer(order(T0, "Unshipped"))

    while poller.poll_once():
        pass

    assert (poller.stats.handler_crashes, poller.stats.batches_given_up) == (MAX_ATTEMPTS, 1)
    [pointer] = account.dead_letters()
    info = pointer["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, account.change_events.streams["orders"])
    assert pointer["requestContext"]["condition"] == "RetryAttemptsExhausted"


# -- the local pipeline ----------------------------------------------------------------------------


def test_given_an_order_notification_redelivered_when_the_pipeline_drains_then_its_subscriber_gets_one_event(
    pipeline: LocalPipeline,
) -> None:
    changed_at = pipeline.emulator.now() - timedelta(minutes=5)
    pipeline.emulator.set_order(
        ORDER, seller_id=SELLER_OF_PIPELINE, last_updated=changed_at, status="Unshipped"
    )
    body = as_body(
        order_change(seller_id=SELLER_OF_PIPELINE, order_id=ORDER, status="Unshipped", changed_at=changed_at)
    )
    pipeline.publish(body)
    pipeline.publish(body)  # Amazon delivers at least once

    pipeline.drain()

    [event] = pipeline.delivered_events()
    assert (event["source"], event["detail-type"]) == ("sellerstream", "Order Changed")
    assert event["detail"]["key"] == {"order_id": ORDER, "seller_id": SELLER_OF_PIPELINE}
    assert event["account"] == "123456789012" and "ingestion-time" not in event
    assert pipeline.delivered_events() == [event]  # what was delivered stays; nothing new came
    assert pipeline.change_events_dead_lettered() == 0
    outputs = pipeline.stack_outputs()
    assert outputs["EventsBusName"] == pipeline.resources.change_events.bus_name
