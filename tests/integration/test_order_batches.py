"""ORDER_CHANGE batches: the skip rule, coalescing, lagging reads, fairness and backlog mode.

The real use case and batch processing on moto and the in-process emulator, on a fake clock: a
"sleep" advances the clock, so waits of minutes cost nothing and nothing depends on timing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from moto import mock_aws

from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.logic import batch, order_change, order_records
from sellerstream.logic.order_change import (
    BACKLOG_AGE_SECONDS,
    COVERED_WAIT_SECONDS,
    FAIR_WAIT_SECONDS,
    LEASED_WINDOW_WAIT_SECONDS,
    SEARCH_SETTLE_SECONDS,
)
from sellerstream_local.moto_patches import item_level_transaction_rollback
from tests.support.fakes import FakeClock
from tests.support.order_batches import OTHER_SELLER, SELLER, OrderBatches

START = 1_790_000_000.0  # a fixed "now" (epoch seconds), 2026-09-21
ORDER = "123-4567890-1234567"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[OrderBatches]:
    # Item-level rollback: a search page stores 100 orders, each a transaction (moto copies whole tables).
    with mock_aws(), item_level_transaction_rollback():
        harness = OrderBatches(monkeypatch, clock, "2026-01-01")
        yield harness
        harness.close()


def spend_the_budget(batches: OrderBatches, seller: str, seconds: float) -> None:
    """Another container reserves the seller's getOrder slots for the next ``seconds``."""
    other = SharedRateBudget("rate-budget", clock=batches.clock, sleep=batches.clock.sleep)
    key = f"BUCKET#amzn1.application-oa2-client.batches#{seller}#na#orders/2026-01-01:getOrder"
    other.observe_limit_header(key, "orders/2026-01-01:getOrder", "0.5")  # Amazon confirmed the plan
    other.reserve(key, "orders/2026-01-01:getOrder", 1000, first_within=0.0, last_within=seconds)


def test_given_notifications_of_one_order_in_a_batch_when_processed_then_one_call_and_all_acknowledged(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    changes = [t0 + timedelta(minutes=minute) for minute in (0, 1, 2, 3)]
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=changes[-1], status="Shipped")

    result = batches.run(batches.container(), [batches.notification(ORDER, at) for at in reversed(changes)])

    assert batches.emulator.calls["getOrder"] == 1
    assert (result.failed, result.deferred) == ([], [])
    assert result.outcomes == {"written": 1, "coalesced": 3}
    assert batches.stored_last_updated(ORDER) == changes[-1]


def test_given_the_order_stored_at_least_as_new_when_older_or_equal_changes_arrive_then_skipped_without_calls(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=5))
    batches.run(batches.container(), [batches.notification(ORDER, t0 + timedelta(minutes=5))])
    calls = batches.emulator.calls["getOrder"]

    # The same change again (a new notification id), and two older ones delivered late.
    late = [batches.notification(ORDER, t0 + timedelta(minutes=m)) for m in (5, 1, 3)]
    result = batches.run(batches.container(), late)

    assert batches.emulator.calls["getOrder"] == calls
    assert result.outcomes == {"skipped": 3}


def test_given_a_change_newer_than_the_stored_order_when_it_arrives_then_fetched_even_within_the_same_second(
    batches: OrderBatches,
) -> None:
    t0 = (batches.now() - timedelta(minutes=10)).replace(microsecond=0)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(seconds=1))

    # 1.9 s after the stored state: a later second, so a later state; never skipped.
    result = batches.run(batches.container(), [batches.notification(ORDER, t0 + timedelta(seconds=1.9))])

    assert result.outcomes == {"written": 1}
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(seconds=1)


def test_given_no_time_of_change_when_deciding_then_the_publish_time_stands_in(batches: OrderBatches) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    later = batches.notification(ORDER, t0 + timedelta(minutes=1))
    later["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))

    result = batches.run(batches.container(), [later])

    assert result.outcomes == {"written": 1}


def test_given_random_histories_and_deliveries_when_processed_then_no_acknowledged_change_is_newer_than_the_store(
    batches: OrderBatches,
) -> None:
    """The skip rule's promise: a notification is acknowledged only once the stored order includes its
    change, whatever the order of deliveries, duplicates and lagging reads; at the end every order is
    at its latest state."""
    rng = random.Random(8)
    t0 = batches.now() - timedelta(minutes=5)  # lagging reads are retried for an hour after publishing
    orders = [f"123-4567890-12345{index:02d}" for index in range(6)]
    history: dict[str, list[datetime]] = {order: [] for order in orders}
    pending: list[dict[str, Any]] = []
    container = batches.container()
    for step in range(40):
        order = rng.choice(orders)
        changed = t0 + timedelta(seconds=30 * step + rng.randint(0, 20))
        history[order].append(changed)
        latest = max(history[order])
        lagging = len(history[order]) > 1 and rng.random() < 0.25
        # Amazon's view: the latest state, or (a lagging read) the one before it.
        shown = sorted(history[order])[-2] if lagging else latest
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=shown)
        notification = batches.notification(order, changed)
        pending += [notification] * rng.choice((1, 1, 2))  # redelivered at times
        rng.shuffle(pending)
        size = rng.randint(1, min(10, len(pending)))
        delivered, pending = pending[:size], pending[size:]
        result = batches.run(container, delivered)
        pending += result.deferred
        for acked in (n for n in delivered if n not in result.deferred):
            stored = batches.stored_last_updated(_order_of(acked))
            covered = stored is not None and stored >= _change_of(acked)
            # ... or superseded: a change of the same order at least as new waits in the queue for it.
            waiting = [_change_of(n) for n in pending if _order_of(n) == _order_of(acked)]
            assert covered or max(waiting, default=datetime.min.replace(tzinfo=UTC)) >= _change_of(acked)
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=latest)  # the lag passes
        batches.clock.now += 60
    while pending:
        batches.clock.now += 60
        delivered, pending = pending[:10], pending[10:]
        pending += batches.run(container, delivered).deferred

    for order, changes in history.items():
        if changes:
            assert batches.stored_last_updated(order) == max(changes).replace(microsecond=0)


def _order_of(notification: dict[str, Any]) -> str:
    return str(notification["Payload"]["OrderChangeNotification"]["AmazonOrderId"])


def _change_of(notification: dict[str, Any]) -> datetime:
    trigger = notification["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]
    return datetime.fromisoformat(trigger["TimeOfOrderChange"]).replace(microsecond=0)


def test_given_a_lagging_read_when_answered_older_than_the_change_then_stored_but_not_acknowledged(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=30)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    # Two changes happened; Amazon's read still shows only the first of them.
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))
    notification = batches.notification(ORDER, t0 + timedelta(minutes=2))

    first = batches.run(batches.container(), [notification])
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    batches.clock.now += 30
    second = batches.run(batches.container(), first.deferred)

    assert first.deferred == [notification] and first.outcomes == {"deferred": 1, "deferred_not_ready": 1}
    assert second.outcomes == {"written": 1}
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(minutes=2)


def test_given_a_read_still_lagging_after_an_hour_when_asked_again_then_taken_as_answered(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=30)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    notification = batches.notification(ORDER, t0 + timedelta(minutes=1))
    first = batches.run(batches.container(), [notification])

    batches.clock.now += 3600
    second = batches.run(batches.container(), first.deferred)

    assert second.deferred == [] and second.outcomes == {"stale_accepted": 1}
    assert batches.stored_last_updated(ORDER) == t0


def test_given_one_seller_out_of_budget_when_a_batch_mixes_sellers_then_the_other_is_served_without_waiting(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    busy = [f"111-0000000-00000{index:02d}" for index in range(4)]
    calm = [f"222-0000000-00000{index:02d}" for index in range(3)]
    for order in busy:
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=t0)
    for order in calm:
        batches.emulator.set_order(order, seller_id=OTHER_SELLER, last_updated=t0)
    spend_the_budget(batches, SELLER, seconds=120)
    start = batches.clock.now

    result = batches.run(
        batches.container(),
        [batches.notification(order, t0) for order in busy]
        + [batches.notification(order, t0, seller=OTHER_SELLER) for order in calm],
    )

    assert batches.clock.now - start <= FAIR_WAIT_SECONDS  # nobody waited for the busy seller's slots
    assert len(result.deferred) == len(busy)
    assert all(batches.stored_last_updated(order, OTHER_SELLER) == t0 for order in calm)


def test_given_no_budget_when_several_changes_of_one_order_wait_then_only_the_newest_stays_in_the_queue(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    spend_the_budget(batches, SELLER, seconds=120)
    older = [batches.notification(ORDER, t0 + timedelta(minutes=m)) for m in (0, 1)]
    newest = batches.notification(ORDER, t0 + timedelta(minutes=2))

    result = batches.run(batches.container(), [*older, newest, newest])  # the newest delivered twice

    assert result.deferred == [newest, newest]  # a redelivery of it must not be marked done either
    assert result.outcomes == {"superseded": 2, "deferred": 2}
    assert batches.emulator.calls["getOrder"] == 0


def test_given_ten_containers_when_one_seller_floods_them_then_calls_keep_to_the_plan_and_none_is_throttled(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    orders = [f"333-0000000-0000{index:03d}" for index in range(80)]
    for order in orders:
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=t0)
    containers = [batches.container() for _ in range(10)]
    queue = [batches.notification(order, t0) for order in orders]

    rounds = 0
    while queue and rounds < 200:
        for container in containers:
            delivered, queue = queue[:10], queue[10:]
            if delivered:
                queue += batches.run(container, delivered).deferred
        batches.clock.now += 5
        rounds += 1

    assert queue == []
    assert sum(batches.emulator.throttled.values()) == 0
    assert batches.emulator.calls["getOrder"] == len(orders)


def test_given_a_backlog_older_than_getorder_can_clear_then_search_pages_store_every_order_conditionally(
    batches: OrderBatches,
) -> None:
    old = batches.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS + BACKLOG_AGE_SECONDS + 600)
    orders = [f"444-0000000-0000{index:03d}" for index in range(150)]
    for index, order in enumerate(orders):
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=old + timedelta(seconds=index))
    # The table already holds a newer state of one order than the search will return: never regressed.
    ahead = orders[7]
    batches.emulator.set_order(ahead, seller_id=SELLER, last_updated=old + timedelta(hours=1))
    batches.run(batches.container(), [batches.notification(ahead, old + timedelta(hours=1))])
    batches.emulator.set_order(ahead, seller_id=SELLER, last_updated=old + timedelta(seconds=7))
    spend_the_budget(batches, SELLER, seconds=3600)
    first = [batches.notification(order, old + timedelta(seconds=i)) for i, order in enumerate(orders[:10])]

    result = batches.run(batches.container(), first)

    assert batches.emulator.calls["searchOrders"] == 2  # 100 + 50 orders, one window
    assert batches.emulator.calls["getOrder"] == 1  # only the order stored before
    assert result.deferred == [] and result.outcomes["skipped"] == 10
    assert all(batches.stored_last_updated(order) is not None for order in orders)
    assert batches.stored_last_updated(ahead) == old + timedelta(hours=1)
    # Notifications still waiting in the queue for orders of the window need no call either.
    rest = [
        batches.notification(order, old + timedelta(seconds=i + 10)) for i, order in enumerate(orders[10:20])
    ]
    assert batches.run(batches.container(), rest).outcomes == {"skipped": 10}
    assert batches.emulator.calls["getOrder"] == 1


def window_leased_elsewhere(batches: OrderBatches, count: int) -> tuple[datetime, list[str]]:
    """Given ``count`` orders changed long ago, the seller's getOrder budget spent for an hour, and
    another container leasing the seller's backlog window that covers them."""
    old = batches.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS + BACKLOG_AGE_SECONDS + 600)
    orders = [f"555-0000000-0000{index:03d}" for index in range(count)]
    for index, order in enumerate(orders):
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=old + timedelta(seconds=index))
    spend_the_budget(batches, SELLER, seconds=3600)
    store = batches.container()._backlog
    assert store is not None
    key = "BACKLOG#amzn1.application-oa2-client.batches#A1SELLERBATCHES#na"
    window = store.start(
        key, after=old - timedelta(seconds=1), before=batches.now(), previous=None, lease_seconds=60
    )
    assert window is not None
    return old, orders


def test_given_a_window_leased_by_another_container_when_a_batch_needs_it_then_it_waits_instead_of_paging_too(
    batches: OrderBatches,
) -> None:
    old, orders = window_leased_elsewhere(batches, 5)

    result = batches.run(batches.container(), [batches.notification(orders[0], old)])

    assert batches.emulator.calls["searchOrders"] == 0
    assert len(result.deferred) == 1


def test_given_several_records_a_leased_window_covers_when_deferred_then_one_comes_back_to_page_on_and_the_others_wait_for_the_window(
    batches: OrderBatches,
) -> None:
    old, orders = window_leased_elsewhere(batches, 4)
    notifications = [
        batches.notification(order, old + timedelta(seconds=i)) for i, order in enumerate(orders)
    ]

    result = batches.run(batches.container(), notifications)

    assert len(result.deferred) == len(orders)
    delays = sorted(delay for _, delay in batches.deferred)
    assert delays == [int(LEASED_WINDOW_WAIT_SECONDS)] + [int(COVERED_WAIT_SECONDS)] * 3
    assert batches.emulator.calls["searchOrders"] == 0 and batches.emulator.calls["getOrder"] == 0


def test_given_amazon_answers_with_another_order_when_processed_then_nothing_stored_and_retried(
    batches: OrderBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    other = "111-1111111-1111111"
    monkeypatch.setattr(
        order_change,
        "from_orders_2026",
        lambda seller, document: order_records.from_orders_2026(seller, {**document, "orderId": other}),
    )

    result = batches.run(batches.container(), [batches.notification(ORDER, t0)])

    assert len(result.failed) == 1
    assert batches.stored_last_updated(ORDER) is None
    assert batches.stored_last_updated(other) is None


def test_given_a_slot_further_than_the_fair_wait_when_deferred_then_the_copy_comes_back_for_it_and_sends_in_it(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    spend_the_budget(batches, SELLER, seconds=20)  # another container's slots: up to +20 s, 2 s apart
    start = batches.clock.now

    first = batches.run(batches.container(), [batches.notification(ORDER, t0)])
    [(_, delay)] = batches.deferred
    batches.clock.now = start + delay  # SQS delivers the copy
    second = batches.run(batches.container(), first.deferred)

    # The slot after the other container's (+22 s) was kept for it: the copy is back a second before
    # (SQS delays are whole seconds, rounded down) and sends in it, without a new reservation.
    assert delay == 21 and first.outcomes == {"deferred": 1}
    assert second.outcomes == {"written": 1} and batches.clock.now == pytest.approx(start + 22.0)
    assert batches.emulator.calls["getOrder"] == 1 and sum(batches.emulator.throttled.values()) == 0
    key = f"BUCKET#amzn1.application-oa2-client.batches#{SELLER}#na#orders/2026-01-01:getOrder"
    next_slot = SharedRateBudget("rate-budget", clock=batches.clock, sleep=batches.clock.sleep).reserve(
        key, "orders/2026-01-01:getOrder", 1, first_within=60.0, last_within=60.0
    )
    assert next_slot.slots == (start + 24.0,)


def test_given_another_container_sending_for_the_order_when_its_notification_arrives_then_no_second_call(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    other = SharedRateBudget("rate-budget", clock=batches.clock, sleep=batches.clock.sleep)
    key = f"BUCKET#amzn1.application-oa2-client.batches#{SELLER}#na#orders/2026-01-01:getOrder"
    other.observe_limit_header(key, "orders/2026-01-01:getOrder", "0.5")
    other.reserve_for(key, "orders/2026-01-01:getOrder", {ORDER: None}, send_within=3.0, hold_within=60.0)
    notification = batches.notification(ORDER, t0)

    # The other container never stores it here (its call is the test's): the record waits for it,
    # reading the table meanwhile, and comes back later instead of calling too.
    result = batches.run(batches.container(), [notification])

    assert batches.emulator.calls["getOrder"] == 0
    assert result.deferred == [notification]


def test_given_the_same_notification_in_progress_in_another_container_then_deferred_for_a_moment_not_failed(
    batches: OrderBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    notification = batches.notification(ORDER, t0)

    def in_progress(*_: Any) -> Any:
        raise IdempotencyAlreadyInProgressError("Execution already in progress")

    monkeypatch.setattr(batch.BatchRunner, "_apply_once", in_progress)
    result = batches.run(batches.container(), [notification])

    # Not a failure left to the visibility timeout: a copy back in a second finds it done.
    assert result.failed == [] and result.deferred == [notification]
    assert [delay for _, delay in batches.deferred] == [1]


def test_given_a_newer_notification_waiting_in_the_queue_when_an_older_one_of_its_order_comes_then_it_is_superseded(
    batches: OrderBatches,
) -> None:
    older, newer = batches.now() - timedelta(minutes=2), batches.now() - timedelta(minutes=1)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_the_budget(batches, SELLER, seconds=3600)  # no slot within reach: the records wait
    waiting = batches.notification(ORDER, newer, notification_id="11111111-1111-4111-8111-111111111111")
    assert len(batches.run(batches.container(), [waiting]).deferred) == 1

    result = batches.run(batches.container(), [batches.notification(ORDER, older)])
    same_change = batches.run(batches.container(), [batches.notification(ORDER, newer)])
    again = batches.run(batches.container(), [waiting])

    assert result.outcomes == {"superseded": 1} and result.deferred == []
    assert same_change.outcomes == {"superseded": 1}  # of two as new, the one recorded waits
    assert len(again.deferred) == 1  # the newest keeps waiting for its order
    assert batches.emulator.calls["getOrder"] == 0


def test_given_an_older_notification_waiting_when_a_newer_one_comes_then_the_older_is_superseded_when_it_returns(
    batches: OrderBatches,
) -> None:
    older, newer = batches.now() - timedelta(minutes=2), batches.now() - timedelta(minutes=1)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_the_budget(batches, SELLER, seconds=3600)
    first = batches.notification(ORDER, older)
    assert len(batches.run(batches.container(), [first]).deferred) == 1
    assert len(batches.run(batches.container(), [batches.notification(ORDER, newer)]).deferred) == 1

    returned = batches.run(batches.container(), [first])

    assert returned.outcomes == {"superseded": 1} and returned.deferred == []


def test_given_a_slot_held_for_an_order_when_an_older_notification_of_it_comes_then_it_waits_for_the_slot(
    batches: OrderBatches,
) -> None:
    older, newer = batches.now() - timedelta(minutes=2), batches.now() - timedelta(minutes=1)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_the_budget(batches, SELLER, seconds=60)  # the next slot a minute away: held for the order
    assert len(batches.run(batches.container(), [batches.notification(ORDER, newer)]).deferred) == 1

    result = batches.run(batches.container(), [batches.notification(ORDER, older)])

    # It holds the order's slot too: superseding it could leave the slot to nobody.
    assert len(result.deferred) == 1 and "superseded" not in result.outcomes
