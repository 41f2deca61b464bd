"""What the order burst bench counts in a consumer: conditional writes and their failures (by
operation, table role and kind of item), the size of the Orders path's shared state (the pending
orders table's lease and entries, the rate budget's buckets), lease takes that lost a race, records
delayed for contention, and the figures a run reports."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.exceptions import ClientError
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.domain.orders import BucketState, PendingChange, SellerAccount
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import RatePlan
from sellerstream_local.resources import create_catalog_tables
from tests.support.fakes import FakeClock

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

from aws_meter import item_size  # noqa: E402
from order_burst import (  # noqa: E402
    OrdersPathCounts,
    OrdersPathMeter,
    RunResult,
    _figures,
    item_kind,
    missed_targets,
    updated_item_size,
)

ACCOUNT = SellerAccount("A1BURSTSELLER01", "na")
KEY = "BUCKET#app#A1SELLER#na#orders/2026-01-01:searchOrders"
OPERATION = "orders/2026-01-01:searchOrders"
GET_ORDER = "orders/2026-01-01:getOrder"
NOW = 1_790_000_000.0
CONTENDED = "rate budget contended: too many concurrent writers"


class Metered(NamedTuple):
    """The catalog's tables on moto (by role), and a meter on the default session's clients."""

    meter: OrdersPathMeter
    tables: dict[str, str]
    session: boto3.Session


@pytest.fixture
def metered(monkeypatch: pytest.MonkeyPatch) -> Iterator[Metered]:
    """moto in process, and a default boto3 session of the test's own with the meter on it."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        aws.reset_clients()
        tables = create_catalog_tables(session.client("dynamodb"))
        meter = OrdersPathMeter({name: role for role, name in tables.items()})
        meter.register(session.events)
        yield Metered(meter, tables, session)
    aws.reset_clients()


def stored(table: str, key: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = aws.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    return item


LEASE_KEY = {"pk": {"S": "A1BURSTSELLER01#na"}, "sk": {"S": "LEASE"}}
ENTRY_KEY = {"pk": LEASE_KEY["pk"], "sk": {"S": "O#111-0000001-0000001"}}  # an order's one entry


def test_given_a_lease_race_then_the_lost_take_and_the_largest_lease_item_are_counted(
    metered: Metered,
) -> None:
    class Pending(DynamoDBPendingOrders):
        """The adapter as the bench wraps it (a class of its own: the product's stays untouched)."""

    metered.meter.count_lease_calls(Pending)
    table = metered.tables["pending_orders"]
    first, second = Pending(table), Pending(table)
    taken: list[Any] = []

    def second_takes_it_meanwhile(**_: Any) -> None:
        if not taken:  # once: first read the lease free, second takes it before first writes
            taken.append(None)
            taken[0] = second.take_lease(ACCOUNT, "second", now=NOW, until=NOW + 30)

    metered.session.events.register("after-call.dynamodb.GetItem", second_takes_it_meanwhile)
    assert first.take_lease(ACCOUNT, "first", now=NOW, until=NOW + 30) is None
    metered.session.events.unregister("after-call.dynamodb.GetItem", second_takes_it_meanwhile)

    spent = {GET_ORDER: BucketState(NOW + 12.25, 1.0, True)}
    second.release_lease(ACCOUNT, taken[0], spent)
    lease = first.take_lease(ACCOUNT, "first", now=NOW + 1, until=NOW + 31)
    assert lease is not None
    largest = item_size(stored(table, LEASE_KEY))  # held, with the buckets the last holder left
    first.release_lease(ACCOUNT, lease, spent)
    second.release_lease(ACCOUNT, taken[0], spent)  # a lease taken over since: its condition fails
    change = PendingChange("111-0000001-0000001", datetime(2026, 9, 1, tzinfo=UTC), "n-1")
    first.add(ACCOUNT, [change])
    first.add(ACCOUNT, [change._replace(changed=datetime(2026, 8, 31, tzinfo=UTC))])  # older: read, not put
    entry = stored(table, ENTRY_KEY)

    meter = metered.meter
    assert meter.lease_takes == {"taken": 2, "lost_race": 1}
    assert meter.lease_releases == {"released": 2, "lost": 1}
    assert meter.contention_failures == {"Pending.take_lease": 1}
    # Three takes written (the winner's, the loser's, the later one's), three releases; an order's
    # entry is written on its change without a condition, and an older change, read first, is not
    # written at all.
    assert meter.conditional_writes == {"UpdateItem pending_orders LEASE": 6}
    assert meter.conditional_write_failures == {"UpdateItem pending_orders LEASE": 2}
    assert meter.writes["UpdateItem pending_orders O#"] == 1
    assert meter.item_bytes_max == {"pending_orders LEASE": largest, "pending_orders O#": item_size(entry)}
    assert meter.budget_item_bytes_max == largest


def test_given_containers_taking_shared_budget_slots_then_the_largest_budget_item_is_the_stored_items_size(
    metered: Metered,
) -> None:
    clock = FakeClock(NOW)
    plans = {"searchOrders": RatePlan(0.0056, 20)}
    table = metered.tables["rate_budget"]
    first, second = (SharedRateBudget(table, clock=clock, sleep=clock.sleep, plans=plans) for _ in "ab")
    sizes = []
    first.acquire(KEY, OPERATION, 0.0)
    sizes.append(item_size(stored(table, {"pk": {"S": KEY}})))
    first.observe_limit_header(KEY, OPERATION, "0.0056")  # confirmed: written once
    sizes.append(item_size(stored(table, {"pk": {"S": KEY}})))
    # A cold container writes as if the item did not exist: it learns the item from the failure.
    second.acquire(KEY, OPERATION, 0.0)
    sizes.append(item_size(stored(table, {"pk": {"S": KEY}})))

    assert metered.meter.item_bytes_max == {"rate_budget BUCKET#": max(sizes)}
    assert metered.meter.conditional_write_failures == {"UpdateItem rate_budget BUCKET#": 1}
    assert metered.meter.conditional_writes == {"UpdateItem rate_budget BUCKET#": 4}


def test_given_a_failed_put_and_a_cancelled_transaction_then_each_is_one_failure_of_its_table(
    metered: Metered,
) -> None:
    dynamodb = aws.client("dynamodb")
    orders = metered.tables["orders"]
    item = {"pk": {"S": "SELLER#A1"}, "sk": {"S": "ORDER#1"}, "last_updated": {"S": "2026-01-01T00:00:00Z"}}
    dynamodb.put_item(TableName=orders, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName=orders, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": metered.tables["pending_orders"], "Item": LEASE_KEY}},
                {
                    "Put": {
                        "TableName": orders,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=orders, Item={**item, "sk": {"S": "ORDER#2"}})  # unconditional

    counts = OrdersPathCounts.merged(
        [metered.meter.as_json(), metered.meter.as_json()]
    )  # two processes alike

    assert metered.meter.conditional_writes == {"PutItem orders ORDER#": 2, "TransactWriteItems orders": 1}
    assert metered.meter.conditional_write_failures == {
        "PutItem orders ORDER#": 1,
        "TransactWriteItems orders": 1,
    }
    assert metered.meter.writes["TransactWriteItems orders+pending_orders"] == 1
    assert metered.meter.item_bytes_max == {}  # the cancelled transaction wrote nothing
    assert (counts.failures, counts.failures_per_write) == (4, round(4 / 6, 3))
    assert counts.failures_per_call(40) == 0.1


def test_given_keys_then_the_kind_is_the_sort_keys_else_the_partition_keys() -> None:
    assert item_kind(LEASE_KEY) == "LEASE"
    assert item_kind(ENTRY_KEY) == "O#"
    assert item_kind({"pk": {"S": KEY}}) == "BUCKET#"
    assert item_kind({"pk": {"S": "SELLER#A1"}, "sk": {"S": "PII#ORDER#1"}}) == "PII#"
    assert item_kind({"id": {"S": "order-change#abc"}}) == ""


def test_given_updates_then_the_item_size_is_what_their_request_sets() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        update: dict[str, Any] = {
            "TableName": "t",
            "Key": {"pk": {"S": "k"}},
            "UpdateExpression": "SET #n = :n, buckets = if_not_exists(buckets, :buckets), tat=:tat "
            "ADD writes :one",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {
                ":n": {"S": "é" * 10},
                ":buckets": {"L": [{"N": "1.25"}, {"M": {"a": {"BOOL": True}}}]},
                ":tat": {"N": "1767225600.123456"},
                ":one": {"N": "1"},
            },
        }
        dynamodb.update_item(**update)
        exact = item_size(dynamodb.get_item(TableName="t", Key=update["Key"])["Item"])

        removal = {**update, "UpdateExpression": "SET tat = :tat REMOVE #n"}
        removal["ExpressionAttributeValues"] = {":tat": update["ExpressionAttributeValues"][":tat"]}
        dynamodb.update_item(**removal)
        after_removal = item_size(dynamodb.get_item(TableName="t", Key=update["Key"])["Item"])

    assert updated_item_size(update) == exact
    # The attributes an update leaves alone are not in its request: a lower bound.
    assert updated_item_size(removal) < after_removal
    assert updated_item_size(removal) == len("pk") + 1 + len("tat") + item_size(
        {"": {"N": "1767225600.123456"}}
    )


class Outcome(NamedTuple):
    outcome: str
    reason: str


class Runner:
    """The batch runner's two ways of delaying a record (a deferral that cannot be made: None)."""

    def __init__(self, deferrable: bool) -> None:
        self.deferrable = deferrable

    def _defer(self, reason: str) -> Outcome | None:
        return Outcome("deferred", reason) if self.deferrable else None

    def _retry(self, reason: str) -> Outcome:
        return Outcome("retry", reason)


def delay(runner: Runner, error: Exception) -> Outcome:
    try:
        raise error
    except Exception as caught:
        reason = type(caught).__name__
        return runner._defer(reason) or runner._retry(reason)


def test_given_records_delayed_then_each_counts_by_reason_and_those_of_a_contention_as_contended() -> None:
    counting = OrdersPathMeter({})
    counting.count_delayed_records(Runner)
    lost_write = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")

    delay(Runner(deferrable=True), RateBudgetExhausted(OPERATION, CONTENDED))
    delay(Runner(deferrable=False), RateBudgetExhausted(OPERATION, CONTENDED))  # counted once
    delay(Runner(deferrable=True), RateBudgetExhausted(OPERATION, "the seller's rate budget is spent"))
    delay(Runner(deferrable=True), IdempotencyAlreadyInProgressError("in progress"))
    delay(Runner(deferrable=False), lost_write)
    delay(Runner(deferrable=False), TimeoutError("read timeout"))
    Runner(deferrable=False)._retry("elsewhere")  # no error being handled

    assert counting.contended == 4
    assert counting.delayed == {
        "deferred RateBudgetExhausted": 2,
        "retry RateBudgetExhausted": 1,
        "deferred IdempotencyAlreadyInProgressError": 1,
        "retry ClientError": 1,
        "retry TimeoutError": 1,
        "retry elsewhere": 1,
    }


class Budget:
    """A rate budget adapter whose writes lose to other writers (the adapter's own error)."""

    def acquire(self) -> None:
        raise RateBudgetExhausted(OPERATION, CONTENDED)

    def on_throttled(self) -> None:
        self.acquire()  # the same error, through two public methods

    def next_slot_in(self) -> None:
        raise RateBudgetExhausted(OPERATION, "rate budget exhausted: next slot in 4.0s")


def test_given_contention_errors_leaving_the_budget_then_each_counts_once_under_its_method() -> None:
    counting = OrdersPathMeter({})
    counting.count_contention_failures(Budget)

    for call in (Budget().acquire, Budget().on_throttled, Budget().next_slot_in):
        with pytest.raises(RateBudgetExhausted):
            call()

    assert counting.contention_failures == {"Budget.acquire": 2}
    assert OrdersPathCounts.merged([counting.as_json()]).contention_failures == {"Budget.acquire": 2}


def test_given_two_processes_counts_then_a_run_reports_them_per_call_and_against_the_targets() -> None:
    first, second = OrdersPathMeter({}), OrdersPathMeter({})
    drain = '{"sellerstreamDrain":{"sellerId":"A1BURSTSELLER01","region":"na","orders":[]}}'
    first.received({"MessageId": "m1", "Body": '{"NotificationVersion":"1.0"}'})
    second.received({"MessageId": "m1", "Body": '{"NotificationVersion":"1.0"}'})  # redelivered
    second.received({"MessageId": "m2", "Body": drain})
    first.observe(
        "UpdateItem",
        {"TableName": "pending", "Key": LEASE_KEY, "ConditionExpression": "#version = :read"},
        {"Error": {"Code": "ConditionalCheckFailedException"}},
    )
    sizes = OrdersPathCounts(item_bytes_max=Counter({"pending_orders LEASE": 160, "rate_budget BUCKET#": 90}))
    counts = OrdersPathCounts.merged(
        [first.as_json(returned_to_queue=1), second.as_json(handler_crashes=1), sizes.as_json()]
    )
    result = RunResult(
        consumers=2,
        sp_api_calls=Counter({"getOrder": 100, "searchOrders": 1}),
        throttled=0,
        drain_ratio=1.06,
        lost=0,
        stale=0,
        dead_lettered=0,
        pending_left=0,
        drain_seconds=74.2,
        minimum_seconds=70.0,
        started_at=NOW,
        counts=counts,
        dynamodb_atomic=True,
    )

    figures = _figures(result)

    assert figures["calls_per_order"] == 1.01
    assert figures["conditional_write_failures"] == 1
    assert figures["conditional_write_failures_per_call"] == round(1 / 101, 3)
    assert figures["conditional_write_failures_per_write"] == 1.0
    assert figures["conditional_write_failures_by"] == {"UpdateItem pending LEASE": 1}
    assert figures["budget_item_bytes_max"] == 160
    assert figures["item_bytes_max_by"] == {"pending_orders": 160, "rate_budget": 90}
    assert (figures["receives"], figures["redelivered"], figures["drain_requests"]) == (3, 1, 1)
    assert (figures["returned_to_queue"], figures["handler_crashes"]) == (1, 1)
    assert figures["missed_targets"] == ["calls_per_order", "drain_ratio"]
    assert missed_targets({"drain_ratio": 1.05, "budget_item_bytes_max": 4097}) == ["budget_item_bytes_max"]
