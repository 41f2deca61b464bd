"""Reconciliation: searchOrders over a window stores what notifications never brought.

The real use case on moto and the in-process emulator, on a fake clock (a "sleep" advances it), with
the shared rate budget and checkpoints in the rate budget table as deployed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from moto import mock_aws

from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.errors import SellerStreamError
from sellerstream.logic.order_search import SEARCH_ORDERS, SEARCH_SETTLE_SECONDS
from sellerstream.logic.reconcile import (
    STOPPED_ELSEWHERE,
    STOPPED_ERROR,
    STOPPED_RATE_BUDGET,
    ReconcileRequestError,
    handle,
)
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import SPARE_SECONDS
from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.moto_patches import item_level_transaction_rollback
from tests.support.fakes import FakeClock
from tests.support.order_batches import OTHER_SELLER, SELLER, OrderBatches

START = 1_790_000_000.0  # a fixed "now" (epoch seconds), 2026-09-21
APP = "amzn1.application-oa2-client.batches"
SCHEDULE_KEY = f"RECONCILE#{APP}#{SELLER}#na"


def plenty() -> float:
    return 300.0


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderBatches]:
    with mock_aws(), item_level_transaction_rollback():
        harness = OrderBatches(monkeypatch, FakeClock(START), "2026-01-01")
        yield harness
        harness.close()


def orders_updated(
    batches: OrderBatches, prefix: str, count: int, *, minutes_ago: int, seller: str = SELLER
) -> list[str]:
    """``count`` orders in the emulator, updated a second apart from ``minutes_ago`` on."""
    first = batches.now() - timedelta(minutes=minutes_ago)
    orders = [f"{prefix}-0000000-{index:07d}" for index in range(count)]
    for index, order in enumerate(orders):
        batches.emulator.set_order(order, seller_id=seller, last_updated=first + timedelta(seconds=index))
    return orders


def spend_search_budget(batches: OrderBatches, seller: str = SELLER) -> None:
    """Another container takes every searchOrders slot the seller has now (the burst's last one a
    spare second later)."""
    other = SharedRateBudget("rate-budget", clock=batches.clock, sleep=batches.clock.sleep)
    key = f"BUCKET#{APP}#{seller}#na#{SEARCH_ORDERS}"
    with contextlib.suppress(RateBudgetExhausted):
        while True:
            other.acquire(key, SEARCH_ORDERS, max_wait=SPARE_SECONDS)


def test_given_missing_older_and_newer_orders_when_reconciled_then_missing_and_older_stored_newer_untouched(
    batches: OrderBatches,
) -> None:
    missing, older, newer = orders_updated(batches, "301", 3, minutes_ago=60)
    t = batches.now() - timedelta(minutes=60)
    # The table holds an older state of one order and a newer state of another than searchOrders returns.
    batches.emulator.set_order(older, seller_id=SELLER, last_updated=t - timedelta(hours=2))
    batches.run(batches.container(), [batches.notification(older, t - timedelta(hours=2))])
    batches.emulator.set_order(older, seller_id=SELLER, last_updated=t + timedelta(seconds=1))
    batches.emulator.set_order(newer, seller_id=SELLER, last_updated=t + timedelta(minutes=30))
    batches.run(batches.container(), [batches.notification(newer, t + timedelta(minutes=30))])
    batches.emulator.set_order(newer, seller_id=SELLER, last_updated=t + timedelta(seconds=2))

    result = batches.reconciler().reconcile(SELLER, batches.now() - timedelta(hours=2), None, plenty)

    assert (result.pages, result.orders_seen, result.orders_refreshed, result.calls) == (1, 3, 2, 1)
    assert result.complete and result.stopped is None
    assert batches.stored_last_updated(missing) == t
    assert batches.stored_last_updated(older) == t + timedelta(seconds=1)
    assert batches.stored_last_updated(newer) == t + timedelta(minutes=30)


def test_given_orders_outside_the_window_when_reconciled_then_only_the_window_is_stored(
    batches: OrderBatches,
) -> None:
    [inside] = orders_updated(batches, "302", 1, minutes_ago=30)
    [before] = orders_updated(batches, "303", 1, minutes_ago=300)

    result = batches.reconciler().reconcile(SELLER, batches.now() - timedelta(hours=1), None, plenty)

    assert result.orders_seen == 1
    assert batches.stored_last_updated(inside) is not None
    assert batches.stored_last_updated(before) is None


def test_given_250_orders_when_reconciled_then_three_pages_store_every_order(batches: OrderBatches) -> None:
    orders = orders_updated(batches, "304", 250, minutes_ago=120)

    result = batches.reconciler().reconcile(SELLER, batches.now() - timedelta(hours=3), None, plenty)

    assert (result.pages, result.calls, result.orders_seen, result.orders_refreshed) == (3, 3, 250, 250)
    assert batches.emulator.calls["searchOrders"] == 3
    assert all(batches.stored_last_updated(order) is not None for order in orders)


def test_given_the_budget_spent_mid_window_when_reconciled_then_it_stops_cleanly_and_the_same_window_resumes(
    batches: OrderBatches,
) -> None:
    orders = orders_updated(batches, "305", 250, minutes_ago=120)
    since, until = batches.now() - timedelta(hours=3), batches.now() - timedelta(minutes=10)
    spend_search_budget(batches)
    batches.clock.now += 200  # one slot refilled (searchOrders: one every 180 s)

    first = batches.reconciler().reconcile(SELLER, since, until, plenty)

    assert (first.pages, first.complete, first.stopped) == (1, False, STOPPED_RATE_BUDGET)
    assert first.resume_in_seconds is not None and 0 < first.resume_in_seconds <= 180
    assert sum(batches.stored_last_updated(order) is not None for order in orders) == 100

    batches.clock.now += 400  # two more slots
    second = batches.reconciler().reconcile(SELLER, since, until, plenty)

    assert (second.pages, second.complete) == (2, True)
    assert batches.emulator.calls["searchOrders"] == 3  # resumed from its token, no page read twice
    assert all(batches.stored_last_updated(order) is not None for order in orders)


def test_given_until_within_two_minutes_of_now_when_reconciled_then_capped_at_the_settle_rule(
    batches: OrderBatches,
) -> None:
    [settled] = orders_updated(batches, "306", 1, minutes_ago=10)
    [recent] = orders_updated(batches, "307", 1, minutes_ago=1)

    result = batches.reconciler().reconcile(SELLER, batches.now() - timedelta(hours=1), batches.now(), plenty)

    assert result.until == (batches.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)
    assert batches.stored_last_updated(settled) is not None
    assert batches.stored_last_updated(recent) is None  # the next run's window holds it
    assert batches.emulator.throttled.get("searchOrders", 0) == 0


def test_given_a_window_that_ends_before_it_starts_when_reconciled_then_a_typed_error_and_no_call(
    batches: OrderBatches,
) -> None:
    with pytest.raises(ReconcileRequestError, match="nothing to reconcile"):
        batches.reconciler().reconcile(SELLER, batches.now() - timedelta(seconds=60), None, plenty)

    assert batches.emulator.calls["searchOrders"] == 0


def test_given_scheduled_runs_then_each_starts_where_the_last_ended_minus_the_overlap(
    batches: OrderBatches,
) -> None:
    [early] = orders_updated(batches, "308", 1, minutes_ago=600)
    first = batches.reconciler().reconcile_scheduled(SELLER, plenty)
    assert first.complete
    assert first.until - first.since == timedelta(
        seconds=batches.reconcile_settings.reconcile_first_window_seconds
    )
    assert batches.stored_last_updated(early) is not None

    batches.clock.now += 3600
    [later] = orders_updated(batches, "309", 1, minutes_ago=30)
    second = batches.reconciler().reconcile_scheduled(SELLER, plenty)

    assert second.since == first.until - timedelta(
        seconds=batches.reconcile_settings.reconcile_overlap_seconds
    )
    assert second.complete and second.orders_refreshed == 1
    assert batches.stored_last_updated(later) is not None
    window = DynamoDBSearchWindows("rate-budget", clock=batches.clock).load(SCHEDULE_KEY)
    assert window is not None and window.done and window.before == second.until


def test_given_a_scheduled_window_left_unfinished_when_the_next_run_comes_then_it_is_finished_first(
    batches: OrderBatches,
) -> None:
    orders = orders_updated(batches, "310", 150, minutes_ago=120)
    spend_search_budget(batches)
    batches.clock.now += 200
    first = batches.reconciler().reconcile_scheduled(SELLER, plenty)
    assert (first.complete, first.pages) == (False, 1)

    batches.clock.now += 3600  # the next run: the budget has refilled
    second = batches.reconciler().reconcile_scheduled(SELLER, plenty)

    assert second.complete
    assert second.since == first.since  # the unfinished window first, then on to now
    assert all(batches.stored_last_updated(order) is not None for order in orders)


def test_given_a_window_leased_by_another_run_when_reconciled_then_it_does_not_page_it_too(
    batches: OrderBatches,
) -> None:
    orders_updated(batches, "311", 5, minutes_ago=30)
    since, until = batches.now() - timedelta(hours=1), batches.now() - timedelta(minutes=5)
    reconciler = batches.reconciler()
    store = DynamoDBSearchWindows("rate-budget", clock=batches.clock)
    # The same window, opened by a run in another container that still holds its lease.
    key = f"{SCHEDULE_KEY}#{sortable_timestamp(since)}#{sortable_timestamp(until)}"
    assert store.start(key, after=since, before=until, previous=None, lease_seconds=60) is not None

    result = reconciler.reconcile(SELLER, since, until, plenty)

    assert (result.stopped, result.pages) == (STOPPED_ELSEWHERE, 0)
    assert batches.emulator.calls["searchOrders"] == 0


def test_given_one_seller_failing_when_every_seller_is_reconciled_then_the_others_still_are(
    batches: OrderBatches,
) -> None:
    [theirs] = orders_updated(batches, "312", 1, minutes_ago=30, seller=OTHER_SELLER)
    orders_updated(batches, "313", 1, minutes_ago=30)
    batches.emulator.fail_next("searchOrders", 400, code="InvalidInput")  # the first seller's call

    results = batches.reconciler().reconcile_all(plenty)

    by_seller = {result.seller_id: result for result in results}
    assert set(by_seller) == {SELLER, OTHER_SELLER}
    assert (by_seller[SELLER].stopped, by_seller[SELLER].error) == (STOPPED_ERROR, "SpApiClientError")
    assert by_seller[OTHER_SELLER].complete
    assert batches.stored_last_updated(theirs, seller=OTHER_SELLER) is not None


def test_given_an_operators_event_when_handled_then_one_sellers_window_with_durations(
    batches: OrderBatches,
) -> None:
    [order] = orders_updated(batches, "314", 1, minutes_ago=30)

    answer = handle(batches.reconciler(), {"seller_id": SELLER, "since": "2h"}, plenty)

    [result] = answer["sellers"]
    assert (result["seller_id"], result["orders_refreshed"], result["complete"]) == (SELLER, 1, True)
    assert result["since"].endswith("Z") and result["until"].endswith("Z")
    assert batches.stored_last_updated(order) is not None


@pytest.mark.parametrize(
    "event",
    [
        {"seller_id": SELLER},
        {"since": "6h"},
        {"seller_id": SELLER, "since": "yesterday"},
        {"seller_id": SELLER, "since": "2026-09-20T00:00:00"},  # no offset
        {"seller_id": SELLER, "since": "6h", "extra": 1},
        {"seller_id": "A1#X", "since": "6h"},
        [],
    ],
)
def test_given_a_bad_event_when_handled_then_a_typed_error_and_no_call(
    batches: OrderBatches, event: object
) -> None:
    with pytest.raises(SellerStreamError):
        handle(batches.reconciler(), event, plenty)

    assert batches.emulator.calls["searchOrders"] == 0
