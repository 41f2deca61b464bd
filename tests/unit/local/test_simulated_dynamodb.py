"""The simulation's in-memory DynamoDB behaves as moto does for every call the product makes.

Each test runs twice: on moto and on ``SimulatedDynamoDB``, through the product's own stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.reports import ReportRowWriter
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import OrderRecord, WriteOutcome
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredPackage
from sellerstream.domain.reports import ReportRows
from sellerstream.spapi.ratelimit import RatePlan
from sellerstream_local.simulation import SimulatedDynamoDB
from tests.support.fakes import FakeClock

T0 = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
KEY = "BUCKET#app#S#na#orders/2026-01-01:getOrder"
TABLES = {
    "orders": ("pk", "sk"),
    "budget": ("pk", None),
    "idempotency": ("id", None),
    "listings": ("pk", "sk"),
    "rows": ("pk", "sk"),
}


@pytest.fixture(params=["moto", "simulated"])
def dynamodb(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        client: Any = boto3.client("dynamodb") if request.param == "moto" else SimulatedDynamoDB()
        for name, (pk, sk) in TABLES.items():
            keys = [{"AttributeName": pk, "KeyType": "HASH"}] + (
                [{"AttributeName": sk, "KeyType": "RANGE"}] if sk else []
            )
            client.create_table(
                TableName=name,
                KeySchema=keys,
                AttributeDefinitions=[
                    {"AttributeName": k["AttributeName"], "AttributeType": "S"} for k in keys
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        monkeypatch.setattr(aws, "client", lambda service: client)
        yield client


def order(last_updated: datetime, status: str, *, pii: bool = True) -> OrderRecord:
    return OrderRecord(
        seller_id="S",
        order_id="123-4567890-1234567",
        last_updated=last_updated,
        attributes={"order_status": status, "order": {"items": [1, 2]}, "seller_id": "S"},
        pii={"buyer": {"buyerName": "X"}} if pii else None,
        pii_expires_at=last_updated + timedelta(days=30) if pii else None,
    )


def test_given_orders_when_written_in_any_order_then_only_newer_states_land(dynamodb: Any) -> None:
    store = DynamoDBOrderStore("orders")

    outcomes = [
        store.put_if_newer(order(T0 + timedelta(minutes=5), "SHIPPED")),
        store.put_if_newer(order(T0, "UNSHIPPED")),
        store.put_if_newer(order(T0 + timedelta(minutes=5), "SHIPPED")),
        store.put_if_newer(order(T0 + timedelta(minutes=6), "DELIVERED", pii=False)),
    ]

    assert outcomes == [WriteOutcome.WRITTEN, WriteOutcome.STALE, WriteOutcome.STALE, WriteOutcome.WRITTEN]
    assert store.last_updated_of([("S", "123-4567890-1234567"), ("S", "999-0000000-0000000")]) == {
        ("S", "123-4567890-1234567"): T0 + timedelta(minutes=6)
    }


def test_given_two_containers_when_taking_slots_then_the_conditional_writes_serialise_them(
    dynamodb: Any,
) -> None:
    clock = FakeClock()
    plans = {"getOrder": RatePlan(0.5, 3)}
    first = SharedRateBudget("budget", clock=clock, sleep=clock.sleep, plans=plans)
    second = SharedRateBudget("budget", clock=clock, sleep=clock.sleep, plans=plans)
    first.observe_limit_header(KEY, "getOrder", "0.5")
    first.acquire(KEY, "getOrder", max_wait=0.0)
    first.acquire(KEY, "getOrder", max_wait=0.0)  # the burst (one token stays spare)

    waited = second.acquire(KEY, "getOrder", max_wait=10.0)  # learns from the failed condition

    assert waited == pytest.approx(2.0) and clock.slept == [pytest.approx(2.0)]
    assert (first.writes, second.writes) == (3, 2)
    seen = second.seen_state(KEY)
    assert seen is not None and seen.confirmed


def test_given_a_backlog_window_when_two_containers_claim_it_then_one_wins(dynamodb: Any) -> None:
    clock = FakeClock(1_790_000_000.0)
    store = DynamoDBSearchWindows("budget", clock=clock)
    window = store.start(
        "BACKLOG#S", after=T0, before=T0 + timedelta(hours=1), previous=None, lease_seconds=0.0
    )
    assert window is not None
    clock.now += 1

    winner = store.claim("BACKLOG#S", window, 30.0)
    loser = store.claim("BACKLOG#S", window, 30.0)
    advanced = store.advance("BACKLOG#S", winner, next_token="t-2", orders_stored=100) if winner else None

    assert winner is not None and loser is None
    assert advanced is not None and store.load("BACKLOG#S") == advanced
    assert store.start("BACKLOG#S", after=T0, before=T0, previous=None, lease_seconds=1.0) is None


def test_given_powertools_idempotency_when_applied_twice_and_after_a_failure_then_once_and_retried(
    dynamodb: Any,
) -> None:
    calls: list[str] = []
    config = IdempotencyConfig(event_key_jmespath="key")
    layer = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=dynamodb)

    def apply(payload: dict[str, str]) -> dict[str, str]:
        calls.append(payload["key"])
        if payload["key"] == "fails":
            raise RuntimeError("transient")
        return {"done": payload["key"]}

    once: Callable[..., dict[str, str]] = idempotent_function(
        data_keyword_argument="payload", persistence_store=layer, config=config
    )(apply)

    first, second = once(payload={"key": "a"}), once(payload={"key": "a"})
    for _ in range(2):
        with pytest.raises(RuntimeError):
            once(payload={"key": "fails"})

    assert first == second == {"done": "a"}
    assert calls == ["a", "fails", "fails"]  # a failure leaves no record: the retry runs again


def package(reference: str, tracking: str, version: int = 1) -> StoredPackage:
    return StoredPackage(
        seller_id="S",
        order_id="123-4567890-1234567",
        package_reference_id=reference,
        marketplace_id="ATVPDKIKX0DER",
        carrier_code="UPS",
        carrier_name=None,
        shipping_method=None,
        tracking_number=tracking,
        ship_date="2026-09-21T12:00:00.000000Z",
        items={"11111111111111": 1},
        confirmed_at="2026-09-21T12:00:00.000000Z",
        updated_at="2026-09-21T12:00:00.000000Z",
        amazon_request_id=None,
        request_id=f"r-{tracking}",
        version=version,
    )


def test_given_packages_when_written_on_their_versions_then_the_order_reads_them_back_and_a_stale_write_fails(
    dynamodb: Any,
) -> None:
    store = DynamoDBPackageStore("orders")
    dynamodb.put_item(
        TableName="orders",
        Item={
            "pk": {"S": "SELLER#S"},
            "sk": {"S": "ORDER#123-4567890-1234567"},
            "marketplace_id": {"S": "ATVPDKIKX0DER"},
            "items": {"L": [{"M": {"orderItemId": {"S": "11111111111111"}, "quantityOrdered": {"N": "2"}}}]},
        },
    )

    store.put(package("2", "T-2"), expected_version=None)
    store.put(package("1", "T-1"), expected_version=None)
    store.put(package("1", "T-1b", version=2), expected_version=1)
    with pytest.raises(ConcurrentPackageUpdateError):
        store.put(package("1", "T-1c", version=2), expected_version=1)

    assert [
        (found.package_reference_id, found.tracking_number)
        for found in store.packages_of("S", "123-4567890-1234567")
    ] == [
        ("1", "T-1b"),
        ("2", "T-2"),
    ]
    assert store.packages_of("S", "999-0000000-0000000") == []
    order = store.order_items("S", "123-4567890-1234567")
    assert order is not None and order.quantities == {"11111111111111": 2}


class InlineExecutor(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_given_a_report_s_lookups_when_written_twice_then_each_item_is_stored_once(dynamodb: Any) -> None:
    written: list[tuple[str, bytes]] = []

    class Blocks:
        def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
            written.append((Key, Body))
            return {}

    writer = ReportRowWriter(
        "bucket",
        "rows",
        sleep=lambda seconds: None,
        executor_factory=lambda workers: InlineExecutor(),
        s3=Blocks,
        dynamodb=lambda: dynamodb,
    )
    layout = ReportRows("S", "R1", "GET_MERCHANT_LISTINGS_ALL_DATA", 1, ("sku", "SKU"), ("sku",))
    lines = [f"SKU-{index}" for index in range(60)]

    for _ in range(2):  # a part redone from its checkpoint writes the same items again
        with writer.open(layout) as batches:
            batches.write(0, lines)

    stored = [
        item for page in dynamodb.get_paginator("scan").paginate(TableName="rows") for item in page["Items"]
    ]
    entries = sorted(line for item in stored for line in item["entries"]["S"].split("\n"))
    assert entries == sorted(f"SKU-{index}\t{index}" for index in range(60))
    assert len({key for key, _ in written}) == 1 and written[0] == written[1]


def test_given_listing_versions_and_a_deletion_in_any_order_then_only_newer_ones_land(dynamodb: Any) -> None:
    store = DynamoDBListingStore("listings")

    def listing(minutes: int) -> ListingRecord:
        return ListingRecord(
            "S", "ATVPDKIKX0DER", "Blue Shirt/XL #1", T0 + timedelta(minutes=minutes), {"status": ["BUYABLE"]}
        )

    outcomes = [
        store.put_if_newer(listing(5)),
        store.put_if_newer(listing(1)),
        store.mark_deleted(
            "S", "ATVPDKIKX0DER", "Blue Shirt/XL #1", as_of=T0 + timedelta(minutes=3), attributes={}
        ),
        store.mark_deleted(
            "S", "ATVPDKIKX0DER", "Blue Shirt/XL #1", as_of=T0 + timedelta(minutes=9), attributes={}
        ),
        store.put_if_newer(listing(9)),
    ]

    assert outcomes == [
        WriteOutcome.WRITTEN,
        WriteOutcome.STALE,
        WriteOutcome.STALE,
        WriteOutcome.WRITTEN,
        WriteOutcome.STALE,
    ]
