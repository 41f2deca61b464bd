"""The orders table on moto: conditional writes on Amazon's last-update time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map
from sellerstream.adapters.orders import DynamoDBOrderStore, OrderRecord, WriteOutcome
from sellerstream_local.resources import create_table

TABLE = "orders-test"
T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        aws.reset_clients()
        client = boto3.client("dynamodb")
        create_table(client, TABLE, "pk", "sk", "expires_at")
        yield client
    aws.reset_clients()


def record(last_updated: datetime, status: str, *, pii: bool = True) -> OrderRecord:
    return OrderRecord(
        seller_id="A1",
        order_id="123-4567890-1234567",
        last_updated=last_updated,
        attributes={"order_status": status, "items": [{"sku": "S", "weight": 1.5}]},
        pii={"buyer": {"buyerEmail": "x@marketplace.amazon.com"}} if pii else None,
        pii_expires_at=last_updated + timedelta(days=60) if pii else None,
    )


def stored(client: Any, sk: str) -> dict[str, Any]:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "SELLER#A1"}, "sk": {"S": sk}})["Item"]
    return from_attribute_map(item)


def test_given_empty_table_when_order_written_then_header_and_pii_items_stored(dynamodb: Any) -> None:
    outcome = DynamoDBOrderStore(TABLE).put_if_newer(record(T0, "UNSHIPPED"))

    assert outcome is WriteOutcome.WRITTEN
    header = stored(dynamodb, "ORDER#123-4567890-1234567")
    assert header["order_status"] == "UNSHIPPED"
    assert header["last_updated"] == "2025-10-16T12:00:00.000000Z"
    assert "buyer" not in header
    pii = stored(dynamodb, "PII#ORDER#123-4567890-1234567")
    assert pii["buyer"]["buyerEmail"].endswith("amazon.com")
    assert pii["expires_at"] == int((T0 + timedelta(days=60)).timestamp())


def test_given_newer_state_stored_when_older_arrives_then_refused(dynamodb: Any) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0 + timedelta(hours=1), "SHIPPED"))

    outcome = store.put_if_newer(record(T0, "UNSHIPPED"))

    assert outcome is WriteOutcome.STALE
    assert stored(dynamodb, "ORDER#123-4567890-1234567")["order_status"] == "SHIPPED"


def test_given_same_state_stored_when_applied_again_then_no_op(dynamodb: Any) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0, "UNSHIPPED"))

    assert store.put_if_newer(record(T0, "UNSHIPPED")) is WriteOutcome.STALE


def test_given_older_state_stored_when_newer_arrives_then_both_items_replaced(dynamodb: Any) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0, "UNSHIPPED"))

    outcome = store.put_if_newer(record(T0 + timedelta(minutes=1), "SHIPPED"))

    assert outcome is WriteOutcome.WRITTEN
    assert stored(dynamodb, "ORDER#123-4567890-1234567")["order_status"] == "SHIPPED"
    assert stored(dynamodb, "PII#ORDER#123-4567890-1234567")["last_updated"] == "2025-10-16T12:01:00.000000Z"


def test_given_no_pii_when_written_then_only_header(dynamodb: Any) -> None:
    DynamoDBOrderStore(TABLE).put_if_newer(record(T0, "UNSHIPPED", pii=False))

    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert [item["sk"]["S"] for item in items] == ["ORDER#123-4567890-1234567"]


def test_given_pii_stored_when_a_newer_response_omits_it_then_kept_and_header_updated(dynamodb: Any) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0, "UNSHIPPED"))

    outcome = store.put_if_newer(record(T0 + timedelta(hours=1), "CANCELLED", pii=False))

    assert outcome is WriteOutcome.WRITTEN
    assert stored(dynamodb, "ORDER#123-4567890-1234567")["order_status"] == "CANCELLED"
    pii = stored(dynamodb, "PII#ORDER#123-4567890-1234567")
    assert pii["buyer"]["buyerEmail"].endswith("amazon.com")
    assert pii["last_updated"] == "2025-10-16T12:00:00.000000Z"


def test_given_buyer_stored_when_newer_response_has_only_recipient_then_both_parts_kept(
    dynamodb: Any,
) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0, "UNSHIPPED"))
    newer = OrderRecord(
        seller_id="A1",
        order_id="123-4567890-1234567",
        last_updated=T0 + timedelta(hours=1),
        attributes={"order_status": "SHIPPED"},
        pii={"recipient": {"deliveryAddress": {"city": "Seattle"}}},
        pii_expires_at=T0 + timedelta(days=90),
    )

    store.put_if_newer(newer)

    pii = stored(dynamodb, "PII#ORDER#123-4567890-1234567")
    assert pii["buyer"]["buyerEmail"].endswith("amazon.com")
    assert pii["recipient"]["deliveryAddress"]["city"] == "Seattle"
    assert pii["expires_at"] == int((T0 + timedelta(days=90)).timestamp())


def test_given_pending_order_without_pii_when_unshipped_response_brings_it_then_stored(dynamodb: Any) -> None:
    store = DynamoDBOrderStore(TABLE)
    store.put_if_newer(record(T0, "PENDING", pii=False))

    store.put_if_newer(record(T0 + timedelta(minutes=5), "UNSHIPPED"))

    assert stored(dynamodb, "PII#ORDER#123-4567890-1234567")["buyer"]["buyerEmail"].endswith("amazon.com")
