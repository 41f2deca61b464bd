"""What the order burst bench counts in a consumer: conditional writes and their failures, the size
of the rate budget's items, and records delayed because the budget was contended."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import RatePlan
from tests.support.fakes import FakeClock

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

from aws_meter import item_size  # noqa: E402
from order_burst import OrdersPathCounts, OrdersPathMeter, updated_item_size  # noqa: E402

BUDGET_TABLE = "rate-budget"
ORDERS_TABLE = "orders"
KEY = "BUCKET#app#A1SELLER#na#orders/2026-01-01:getOrder"
OPERATION = "orders/2026-01-01:getOrder"


@pytest.fixture
def meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[OrdersPathMeter]:
    """moto in process, and a default boto3 session of the test's own with the meter on it."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        aws.reset_clients()
        for table in (BUDGET_TABLE, ORDERS_TABLE):
            session.client("dynamodb").create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        counting = OrdersPathMeter({BUDGET_TABLE: "rate_budget", ORDERS_TABLE: "orders"})
        counting.register(session.events)
        yield counting
    aws.reset_clients()


def stored(table: str, pk: str) -> dict[str, Any]:
    item: dict[str, Any] = aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}})["Item"]
    return item


def test_given_containers_reserving_named_slots_then_the_largest_budget_item_is_the_stored_items_size(
    meter: OrdersPathMeter,
) -> None:
    clock = FakeClock()
    plans = {"getOrder": RatePlan(0.5, 30)}
    first, second = (
        SharedRateBudget(BUDGET_TABLE, clock=clock, sleep=clock.sleep, plans=plans) for _ in "ab"
    )
    first.observe_limit_header(KEY, OPERATION, "0.5")
    for batch in range(4):  # the claims (one per order) only grow: the last write is the largest
        names = {f"111-{batch:07d}-{index:07d}": None for index in range(25)}
        first.reserve_for(KEY, OPERATION, names, send_within=1.0, hold_within=900.0)

    # A cold container writes as if the item did not exist: it learns the item from the failure.
    second.reserve_for(KEY, OPERATION, {"111-9999999-0000000": None}, send_within=1.0, hold_within=900.0)

    assert meter.budget_item_bytes_max == item_size(stored(BUDGET_TABLE, KEY))
    assert meter.conditional_write_failures == {"UpdateItem rate_budget BUCKET#": 1}
    # Amazon's rate header, four reservations, the cold container's failed write and its second one.
    assert meter.conditional_writes == {"UpdateItem rate_budget BUCKET#": 7}


def test_given_a_failed_put_and_a_cancelled_transaction_then_each_is_one_failure_of_its_table(
    meter: OrdersPathMeter,
) -> None:
    dynamodb = aws.client("dynamodb")
    item = {"pk": {"S": "ORDER#1"}, "last_updated": {"S": "2026-01-01T00:00:00Z"}}
    dynamodb.put_item(TableName=ORDERS_TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName=ORDERS_TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": BUDGET_TABLE, "Item": {"pk": {"S": "LEASE#1"}}}},
                {
                    "Put": {
                        "TableName": ORDERS_TABLE,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=ORDERS_TABLE, Item={"pk": {"S": "ORDER#2"}})  # unconditional

    counts = OrdersPathCounts.merged([meter.as_json(), meter.as_json()])  # two processes alike

    assert meter.conditional_writes == {"PutItem orders": 2, "TransactWriteItems orders": 1}
    assert meter.conditional_write_failures == {"PutItem orders": 1, "TransactWriteItems orders": 1}
    assert meter.budget_item_bytes_max == 0  # the cancelled transaction wrote nothing
    assert (counts.failures, counts.failures_per_call) == (4, round(4 / 6, 3))


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
            "UpdateExpression": "SET #n = :n, claims = if_not_exists(claims, :claims), tat=:tat "
            "ADD writes :one",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {
                ":n": {"S": "é" * 10},
                ":claims": {"L": [{"N": "1.25"}, {"M": {"a": {"BOOL": True}}}]},
                ":tat": {"N": "1767225600.123456"},
                ":one": {"N": "1"},
            },
        }
        dynamodb.update_item(**update)
        exact = item_size(dynamodb.get_item(TableName="t", Key=update["Key"])["Item"])

        removal = {**update, "UpdateExpression": "SET tat = :tat REMOVE #n"}
        removal.pop("ExpressionAttributeValues")
        removal["ExpressionAttributeValues"] = {":tat": update["ExpressionAttributeValues"][":tat"]}
        dynamodb.update_item(**removal)
        after_removal = item_size(dynamodb.get_item(TableName="t", Key=update["Key"])["Item"])

    assert updated_item_size(update) == exact
    # The attributes an update leaves alone are not in its request: a lower bound.
    assert updated_item_size(removal) < after_removal
    assert updated_item_size(removal) == len("pk") + 1 + len("tat") + item_size(
        {"": {"N": "1767225600.123456"}}
    )


class Runner:
    """The batch runner's two ways of delaying a record."""

    def __init__(self, deferred: bool) -> None:
        self.deferred = deferred

    def _defer(self, reason: str) -> str | None:
        return "deferred" if self.deferred else None

    def _retry(self, reason: str) -> str:
        return "retry"


def delay(runner: Runner, error: Exception) -> str:
    try:
        raise error
    except RateBudgetExhausted:
        return runner._defer("RateBudgetExhausted") or runner._retry("RateBudgetExhausted")


def test_given_records_delayed_then_only_those_of_a_contended_budget_count() -> None:
    counting = OrdersPathMeter({})
    counting.count_contended_deferrals(Runner)
    contended = RateBudgetExhausted(OPERATION, "rate budget contended: too many concurrent writers")
    spent = RateBudgetExhausted(OPERATION, "the seller's rate budget is spent for now")

    assert delay(Runner(deferred=True), contended) == "deferred"
    assert delay(Runner(deferred=False), contended) == "retry"  # not deferrable: counted once
    delay(Runner(deferred=True), spent)
    Runner(deferred=False)._retry("elsewhere")  # no error being handled

    assert counting.contended == 2


class Budget:
    """A rate budget adapter whose writes lose to other writers (the adapter's own error)."""

    def reserve(self) -> None:
        raise RateBudgetExhausted(OPERATION, "rate budget contended: too many concurrent writers")

    def acquire(self) -> None:
        self.reserve()  # the same error, through two public methods

    def release(self) -> None:
        raise RateBudgetExhausted(OPERATION, "rate budget exhausted: next slot in 4.0s")


def test_given_contention_errors_leaving_the_budget_then_each_counts_once_under_its_method() -> None:
    counting = OrdersPathMeter({})
    counting.count_contention_failures(Budget)

    for call in (Budget().reserve, Budget().acquire, Budget().release):
        with pytest.raises(RateBudgetExhausted):
            call()

    assert counting.contention_failures == {"reserve": 2}
    assert OrdersPathCounts.merged([counting.as_json()]).contention_failures == {"reserve": 2}
