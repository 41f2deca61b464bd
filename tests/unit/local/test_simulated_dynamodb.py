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
from botocore.exceptions import ClientError
from moto import mock_aws

from sellerstream import aws, catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.reports import ReportRowWriter
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import OrderRecord, PendingChange, SellerAccount, WriteOutcome
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredPackage
from sellerstream.domain.reports import ReportRows
from sellerstream.spapi.ratelimit import RatePlan
from sellerstream_local.resources import create_catalog_table
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
PENDING = "pending"  # the pending orders table as the catalog declares it: with its local index
BY_CHANGE = catalog.PENDING_BY_CHANGE.name


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
        create_catalog_table(client, catalog.PENDING_ORDERS_TABLE, PENDING)
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
    first.acquire(KEY, "getOrder", max_wait=0.0)  # the burst (its last token a second later)

    waited = second.acquire(KEY, "getOrder", max_wait=10.0)  # learns from the failed condition

    assert waited == pytest.approx(1.0) and clock.slept == [pytest.approx(1.0)]
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


def pending(order: int, seconds: int, attempts: int = 0) -> PendingChange:
    return PendingChange(
        f"111-0000000-{order:07d}",
        T0 + timedelta(seconds=seconds),
        f"n-{order}-{seconds}",
        attempts,
        1_790_000_030.5 if attempts else 0.0,
    )


def test_given_pending_orders_when_added_read_in_pages_and_removed_then_the_newest_change_of_each_is_kept(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the lease held, and orders changed at times unrelated to their ids (three a second) added
    # by conditional puts: an older change that loses, a newer one put off after a failed fetch, the
    # same change again
    store = DynamoDBPendingOrders(PENDING)
    account = SellerAccount("S", "na")
    assert store.take_lease(account, "container-a", now=1_790_000_000.0, until=1_790_000_060.0) is not None
    changes = [pending(order, seconds=10 * (order * 7 % 4)) for order in range(12)]
    store.add(account, changes[6:] + changes[:6])
    store.add(account, [pending(1, seconds=0), pending(2, seconds=25, attempts=2)])
    store.add(account, [pending(2, seconds=25, attempts=2)])
    # (pages of at most 5 items)
    query = dynamodb.query
    monkeypatch.setattr(
        dynamodb, "query", lambda **request: query(**{**request, "Limit": min(request["Limit"], 5)})
    )

    # When they are read (ascending on the index, LastEvaluatedKey followed), the newest change asked
    # (descending, Limit 1, a projection), one order changed again, and all read removed with one
    # never added (conditional deletes)
    oldest = store.oldest(account, 100)
    newest = next((e.changed for e in store.newest(account, 1)), None)
    store.add(account, [pending(3, seconds=40)])
    store.remove(account, [*oldest, pending(99, seconds=0)])

    # Then each order's newest change, least recently changed first; only the order changed since stays
    expected = sorted(
        [change for change in changes if change.order_id != pending(2, seconds=0).order_id]
        + [pending(2, seconds=25, attempts=2)],
        key=lambda change: (change.changed, change.order_id),
    )
    assert oldest == expected
    assert newest == T0 + timedelta(seconds=30)
    assert store.oldest(account, 100) == [pending(3, seconds=40)]
    assert [e.changed for e in store.newest(account, 1)] == [T0 + timedelta(seconds=40)]
    assert store.newest(SellerAccount("S", "eu"), 1) == []


def entry(order: str, changed: str) -> dict[str, Any]:
    return {"pk": {"S": "S#na"}, "sk": {"S": f"O#{order}"}, "changed": {"N": changed}}


def pages(dynamodb: Any, **request: Any) -> list[tuple[list[str], dict[str, Any] | None]]:
    """Every page of a Query on the pending table's index: its sort keys and LastEvaluatedKey."""
    found: list[tuple[list[str], dict[str, Any] | None]] = []
    start: dict[str, Any] | None = None
    while True:
        page = dynamodb.query(
            TableName=PENDING,
            IndexName=BY_CHANGE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "S#na"}},
            **request,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        start = page.get("LastEvaluatedKey")
        found.append(([item["sk"]["S"] for item in page["Items"]], start))
        if not start:
            return found


def test_given_entries_and_the_lease_when_the_index_is_queried_then_only_entries_come_by_change_then_key(
    dynamodb: Any,
) -> None:
    # Given entries whose changes sort otherwise as numbers than as text, and the lease (no `changed`)
    for order, changed in [("c", "9"), ("a", "10"), ("b", "10"), ("d", "1700000000"), ("e", "10")]:
        dynamodb.put_item(TableName=PENDING, Item=entry(order, changed))
    dynamodb.put_item(
        TableName=PENDING, Item={"pk": {"S": "S#na"}, "sk": {"S": "LEASE"}, "until": {"N": "1"}}
    )

    # When the index is read in pages of 2, and its last item alone with a projection
    ascending = pages(dynamodb, Limit=2, ConsistentRead=True)
    newest = dynamodb.query(
        TableName=PENDING,
        IndexName=BY_CHANGE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "S#na"}},
        ScanIndexForward=False,
        Limit=1,
        ProjectionExpression="changed",
    )

    # Then numbers in number order, equal ones by the table's sort key, the lease not at all; each
    # page ends on a key holding the index's attribute, none when the page is the rest
    assert ascending == [
        (["O#c", "O#a"], entry("a", "10")),
        (["O#b", "O#e"], entry("e", "10")),
        (["O#d"], None),
    ]
    assert newest["Items"] == [{"changed": {"N": "1700000000"}}]
    assert newest["LastEvaluatedKey"] == entry("d", "1700000000")
    assert pages(dynamodb, Limit=5) == [(["O#c", "O#a", "O#b", "O#e", "O#d"], None)]  # exactly the rest


def test_given_entries_when_the_index_is_paged_descending_then_each_page_starts_after_the_last(
    dynamodb: Any,
) -> None:
    # Given four entries
    for order, changed in [("c", "9"), ("a", "10"), ("b", "10"), ("d", "1700000000")]:
        dynamodb.put_item(TableName=PENDING, Item=entry(order, changed))

    # When the index is read newest first in pages of 2
    descending = pages(dynamodb, Limit=2, ScanIndexForward=False)

    # Then each entry once, newest first
    assert [keys for keys, _ in descending] == [["O#d", "O#b"], ["O#a", "O#c"]]


def test_given_an_entry_when_put_or_deleted_on_its_change_then_only_a_change_not_older_than_stored_lands(
    dynamodb: Any,
) -> None:
    def conditional(operation: str, order: str, changed: str) -> str:
        request: dict[str, Any] = {
            "TableName": PENDING,
            "ConditionExpression": "attribute_not_exists(sk) OR changed <= :changed",
            "ExpressionAttributeValues": {":changed": {"N": changed}},
        }
        if operation == "put":
            request["Item"] = {**entry(order, changed), "notification_id": {"S": f"n-{changed}"}}
        else:
            request["Key"] = {
                name: value for name, value in entry(order, changed).items() if name != "changed"
            }
        try:
            getattr(dynamodb, f"{operation}_item")(**request)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "done"

    def stored(order: str) -> str | None:
        key = {"pk": {"S": "S#na"}, "sk": {"S": f"O#{order}"}}
        item = dynamodb.get_item(TableName=PENDING, Key=key).get("Item")
        return str(item["changed"]["N"]) if item else None

    # When an order's entry is put and deleted on its change
    outcomes = [
        conditional("put", "a", "10"),  # none yet
        conditional("put", "a", "9"),  # older (as a number, not as text)
        conditional("put", "a", "10"),  # the same change
        conditional("put", "a", "11"),  # newer
        conditional("delete", "a", "10"),  # it changed since
        conditional("delete", "a", "11"),
        conditional("delete", "a", "11"),  # gone: nothing to keep
    ]

    # Then a change older than the one stored fails its condition (DynamoDB's error, the adapter's to
    # swallow), the same or a newer one lands, and a missing entry deletes quietly
    assert outcomes == [
        "done",
        "ConditionalCheckFailedException",
        "done",
        "done",
        "ConditionalCheckFailedException",
        "done",
        "done",
    ]
    assert stored("a") is None


def test_given_an_entry_when_updated_asking_for_the_old_item_then_it_comes_back_and_none_for_a_new_item(
    dynamodb: Any,
) -> None:
    def update(changed: str, *, attempts: bool) -> dict[str, Any] | None:
        clause = ", attempts = :attempts" if attempts else " REMOVE attempts"
        replaced: dict[str, Any] | None = dynamodb.update_item(
            TableName=PENDING,
            Key={"pk": {"S": "S#na"}, "sk": {"S": "O#a"}},
            UpdateExpression=f"SET changed = :changed{clause}",
            ExpressionAttributeValues={
                ":changed": {"N": changed},
                **({":attempts": {"N": "2"}} if attempts else {}),
            },
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        return replaced

    # When an order's entry is written without a condition three times, asking for the item it replaced
    outcomes = [update("10", attempts=True), update("9", attempts=False), update("11", attempts=False)]

    # Then nothing the first time, then each item as it was before the write
    assert outcomes == [
        None,
        {**entry("a", "10"), "attempts": {"N": "2"}},
        entry("a", "9"),
    ]
