"""The simulation's in-memory DynamoDB behaves as moto does for every call the product makes.

Each test runs twice: on moto and on ``SimulatedDynamoDB``, through the product's own stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from sellerstream.adapters.orders import DynamoDBOrderStore, OrderRecord, WriteOutcome
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.spapi.ratelimit import RatePlan
from sellerstream_local.simulation import SimulatedDynamoDB
from tests.support.fakes import FakeClock

T0 = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
KEY = "BUCKET#app#S#na#orders/2026-01-01:getOrder"
TABLES = {"orders": ("pk", "sk"), "budget": ("pk", None), "idempotency": ("id", None)}


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


def test_given_two_containers_when_reserving_then_the_conditional_writes_serialise_them(
    dynamodb: Any,
) -> None:
    clock = FakeClock()
    plans = {"getOrder": RatePlan(0.5, 3)}
    first = SharedRateBudget("budget", clock=clock, sleep=clock.sleep, plans=plans)
    second = SharedRateBudget("budget", clock=clock, sleep=clock.sleep, plans=plans)
    first.observe_limit_header(KEY, "getOrder", "0.5")

    a = first.reserve(KEY, "getOrder", 2, first_within=10.0, last_within=10.0)
    b = second.reserve(
        KEY, "getOrder", 2, first_within=10.0, last_within=10.0
    )  # learns from the failed condition
    first.release(KEY, "getOrder")

    assert a.slots == (clock.now, clock.now)
    assert b.slots == (clock.now + 2.0, clock.now + 4.0)
    assert second.seen_state(KEY) is not None


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
