"""The fault matrix's machinery on a few hundred notifications: the pipeline's invariants hold under
every injected fault, and the measures it reports can see a violation."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from sellerstream_local.fault_matrix import (
    CONTAINERS,
    FaultRates,
    FaultyDynamoDB,
    build_workload,
    run,
)
from sellerstream_local.resources import create_table

# Harsher than the bench's defaults where a few hundred notifications would otherwise meet none.
RATES = replace(FaultRates(), kills=0.05, spapi_throttles=0.05, timeouts=0.03, connection_resets=0.03)


@pytest.fixture(scope="module")
def outcome() -> Any:
    return run(300, seed=11, rates=RATES)


def test_given_every_fault_when_delivered_then_nothing_lost_applied_twice_or_regressed(outcome: Any) -> None:
    figures = outcome.figures

    assert (figures["lost"], figures["applied_twice"], figures["regressed"]) == (0, 0, 0)
    assert outcome.still_queued == 0
    assert outcome.injected["kills"] > 0 and outcome.injected["dynamodb_throttles"] > 0


def test_given_poison_and_valid_notifications_then_all_poison_and_no_valid_one_dead_lettered(
    outcome: Any,
) -> None:
    figures = outcome.figures

    assert figures["poison"] > 0
    assert figures["poison_dead_lettered"] == figures["poison"]
    assert figures["valid_dead_lettered"] == 0


def test_given_a_seller_without_valid_credentials_for_a_while_then_no_lwa_exchange_per_message(
    outcome: Any,
) -> None:
    outage = RATES.reauthorised_at - RATES.revoked_at
    # One exchange per container every five minutes of the outage (and after each cold start).
    bound = CONTAINERS * (outage / 300 + 1) + outcome.injected["kills"]

    assert 0 < outcome.revoked_lwa_exchanges <= bound
    # Each waits with a delay doubling from 30 s to 15 minutes: a handful of receives, not a loop.
    assert outcome.revoked_seller_receives <= 10 * outcome.revoked_seller_notifications


def test_given_notifications_dropped_before_the_queue_without_reconciliation_then_stale_orders_counted(
    outcome: Any,
) -> None:
    assert not outcome.reconciled
    assert outcome.figures["not_repaired"] == outcome.stale_before_reconciliation
    assert 0 < outcome.stale_before_reconciliation <= outcome.injected["dropped"]


def test_given_a_workload_then_its_shares_of_faults_are_the_ones_asked_for() -> None:
    workload = build_workload(1000, seed=3)

    assert len(workload.poison) == 10
    assert sum(change.dropped for change in workload.changes) == round(990 * 0.05)
    assert sum(change.duplicated for change in workload.changes) == 200
    assert sum(change.reordered for change in workload.changes) == 200


def order_put(last_updated: str) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": "orders",
        "Item": {
            "pk": {"S": "SELLER#A1"},
            "sk": {"S": "ORDER#111-1111111-1111111"},
            "last_updated": {"S": last_updated},
        },
    }
    return {"Put": put}


def test_given_writes_that_ignore_order_then_the_recording_store_counts_regressed_and_applied_twice() -> None:
    dynamodb = FaultyDynamoDB(random.Random(1), FaultRates(), Counter())
    dynamodb.orders_table = create_table(dynamodb, "orders", "pk", "sk", None)

    dynamodb.transact_write_items(TransactItems=[order_put("2026-09-21T10:00:00.000000Z")])
    dynamodb.transact_write_items(TransactItems=[order_put("2026-09-21T09:00:00.000000Z")])
    dynamodb.transact_write_items(TransactItems=[order_put("2026-09-21T09:00:00.000000Z")])

    assert (dynamodb.order_writes, dynamodb.regressed, dynamodb.applied_twice) == (3, 1, 1)
