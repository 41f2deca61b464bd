"""ORDER_CHANGE batches: the skip rule, one entry and one call per order, lagging reads, one drainer
per seller, fairness between sellers and searchOrders pages for a settled backlog.

The real use case, drainer and batch processing on moto (the pending orders and their drainers'
leases in DynamoDB) and the in-process emulator, on a fake clock: a "sleep" advances the clock, so
waits of minutes cost nothing and nothing depends on timing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from sellerstream.domain.orders import BucketState, SellerAccount
from sellerstream.logic import order_drainer, order_records
from sellerstream.logic.drain_request import DRAIN_KEY
from sellerstream.logic.order_drainer import GET_ORDER
from sellerstream.logic.order_search import SEARCH_SETTLE_SECONDS
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, SPARE_SECONDS, Gcra, plan_for
from sellerstream_local.moto_patches import item_level_transaction_rollback
from tests.support.fakes import FakeClock
from tests.support.order_batches import OTHER_SELLER, SELLER, OrderBatches

START = 1_790_000_000.0  # a fixed "now" (epoch seconds), 2026-09-21
ORDER = "123-4567890-1234567"
NORTH_AMERICA = "na"


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
    """Another container drained the seller and left its lease with the getOrder bucket spent: the
    next slot is ``seconds`` away (Amazon confirmed the plan)."""
    account = SellerAccount(seller, NORTH_AMERICA)
    now = batches.clock.now
    lease = batches.pending.take_lease(account, "another-container", now=now, until=now + 1)
    assert lease is not None
    bucket = Gcra.full(plan_for(GET_ORDER, DEFAULT_RATE_PLANS), now, SPARE_SECONDS)
    spent = BucketState(now + seconds + bucket.tolerance, bucket.rate, True)
    batches.pending.release_lease(account, lease, {GET_ORDER: spent})


def hold_the_drain(batches: OrderBatches, seller: str, seconds: float) -> None:
    """Another container holds the seller's drain for the next ``seconds``."""
    now = batches.clock.now
    lease = batches.pending.take_lease(
        SellerAccount(seller, NORTH_AMERICA), "another-container", now=now, until=now + seconds
    )
    assert lease is not None


def is_drain_request(message: dict[str, Any]) -> bool:
    return DRAIN_KEY in message


def deliver_until_done(batches: OrderBatches, queue: list[dict[str, Any]], *, step: float = 60.0) -> None:
    """Delivers what waits in the queue (and what the batches send to it) ten at a time, the clock
    moving on by ``step`` between batches, until nothing is left."""
    rounds = 0
    while queue:
        rounds += 1
        assert rounds < 500, "the queue never emptied"
        batches.clock.now += step
        delivered, queue[:] = queue[:10], queue[10:]
        queue += batches.run(batches.container(), delivered).deferred


def test_given_notifications_of_one_order_in_a_batch_when_processed_then_one_call_and_all_acknowledged(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    changes = [t0 + timedelta(minutes=minute) for minute in (0, 1, 2, 3)]
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=changes[-1], status="Shipped")

    result = batches.run(batches.container(), [batches.notification(ORDER, at) for at in reversed(changes)])

    assert batches.emulator.calls["getOrder"] == 1
    assert (result.failed, result.deferred) == ([], [])
    assert result.outcomes == {"pending": 4}
    assert batches.stored_last_updated(ORDER) == changes[-1]
    assert batches.pending_changes() == []


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
    assert batches.pending_changes() == [] and result.deferred == []


def test_given_a_change_newer_than_the_stored_order_when_it_arrives_then_fetched_even_within_the_same_second(
    batches: OrderBatches,
) -> None:
    t0 = (batches.now() - timedelta(minutes=10)).replace(microsecond=0)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(seconds=1))

    # 1.9 s after the stored state: a later second, so a later state; never skipped.
    result = batches.run(batches.container(), [batches.notification(ORDER, t0 + timedelta(seconds=1.9))])

    assert result.outcomes == {"pending": 1}
    assert batches.emulator.calls["getOrder"] == 2
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(seconds=1)


def test_given_no_time_of_change_when_deciding_then_the_publish_time_stands_in(batches: OrderBatches) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    later = batches.notification(ORDER, t0 + timedelta(minutes=1))
    later["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))

    result = batches.run(batches.container(), [later])

    assert result.outcomes == {"pending": 1}
    assert batches.stored_last_updated(ORDER) == (t0 + timedelta(minutes=1)).replace(microsecond=0)


def test_given_random_histories_and_deliveries_when_processed_then_every_acknowledged_change_is_stored_or_pending(
    batches: OrderBatches,
) -> None:
    """The intake's promise: a notification is acknowledged only once the stored order includes its
    change or the change (or a newer one of its order) is in the seller's pending set, whatever the
    order of deliveries, duplicates and lagging reads; the drains (continued by their drain
    requests) leave every order at its latest state and nothing pending."""
    rng = random.Random(8)
    t0 = batches.now() - timedelta(minutes=5)  # lagging reads are asked again for an hour after the change
    orders = [f"123-4567890-12345{index:02d}" for index in range(6)]
    history: dict[str, list[datetime]] = {order: [] for order in orders}
    queue: list[dict[str, Any]] = []  # notifications and drain requests, as the orders queue holds them
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
        queue += [notification] * rng.choice((1, 1, 2))  # redelivered at times
        rng.shuffle(queue)
        size = rng.randint(1, min(10, len(queue)))
        delivered, queue = queue[:size], queue[size:]
        result = batches.run(container, delivered)
        assert result.failed == []
        queue += result.deferred
        pending = batches.pending_changes()
        for acked in (message for message in delivered if not is_drain_request(message)):
            stored = batches.stored_last_updated(_order_of(acked))
            covered = stored is not None and stored >= _change_of(acked)
            waiting = [entry.changed for entry in pending if entry.order_id == _order_of(acked)]
            assert covered or max(waiting, default=datetime.min.replace(tzinfo=UTC)) >= _change_of(acked)
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=latest)  # the lag passes
        batches.clock.now += 60
    deliver_until_done(batches, queue)

    for order, changes in history.items():
        if changes:
            assert batches.stored_last_updated(order) == max(changes).replace(microsecond=0)
    assert batches.pending_changes() == []
    assert sum(batches.emulator.throttled.values()) == 0


def _order_of(notification: dict[str, Any]) -> str:
    return str(notification["Payload"]["OrderChangeNotification"]["AmazonOrderId"])


def _change_of(notification: dict[str, Any]) -> datetime:
    trigger = notification["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]
    return datetime.fromisoformat(trigger["TimeOfOrderChange"]).replace(microsecond=0)


def test_given_a_lagging_read_when_answered_older_than_the_change_then_stored_and_the_change_stays_pending(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=30)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    batches.run(batches.container(), [batches.notification(ORDER, t0)])
    # Two changes happened; Amazon's read still shows only the first of them.
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))
    notification = batches.notification(ORDER, t0 + timedelta(minutes=2))

    first = batches.run(batches.container(), [notification])

    # Acknowledged: the change waits in the pending set, the state Amazon gave is kept meanwhile,
    # and a drain request comes back when the order is asked again.
    assert first.outcomes == {"pending": 1} and first.failed == []
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(minutes=1)
    assert [entry.order_id for entry in batches.pending_changes()] == [ORDER]
    [request] = first.deferred
    assert is_drain_request(request)
    [(_, delay)] = batches.deferred

    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    batches.clock.now += delay
    second = batches.run(batches.container(), [request])

    assert second.deferred == []
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(minutes=2)
    assert batches.pending_changes() == []


def test_given_a_read_still_lagging_after_an_hour_when_asked_again_then_taken_as_answered(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=30)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    notification = batches.notification(ORDER, t0 + timedelta(minutes=1))
    first = batches.run(batches.container(), [notification])
    assert [entry.order_id for entry in batches.pending_changes()] == [ORDER]

    batches.clock.now += 3600
    second = batches.run(batches.container(), first.deferred)

    assert second.deferred == [] and batches.pending_changes() == []
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

    assert batches.clock.now - start < 2.0  # nobody waited for the busy seller's slots
    assert result.outcomes == {"pending": 7}
    assert all(batches.stored_last_updated(order, OTHER_SELLER) == t0 for order in calm)
    assert sorted(entry.order_id for entry in batches.pending_changes()) == busy
    # The busy seller's drain rests until its bucket holds a slot for each of its four orders (the
    # first in 120 s, then one every 2 s), and goes on then.
    [request] = result.deferred
    assert request[DRAIN_KEY]["sellerId"] == SELLER
    [(_, delay)] = batches.deferred
    assert 125 <= delay <= 126
    batches.clock.now = start + delay
    batches.run(batches.container(), [request])
    assert all(batches.stored_last_updated(order) == t0 for order in busy)
    assert sum(batches.emulator.throttled.values()) == 0


def test_given_no_budget_when_several_changes_of_one_order_arrive_then_one_entry_the_newest_and_one_call_later(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    spend_the_budget(batches, SELLER, seconds=120)
    older = [batches.notification(ORDER, t0 + timedelta(minutes=m)) for m in (0, 1)]
    newest = batches.notification(ORDER, t0 + timedelta(minutes=2))

    result = batches.run(batches.container(), [*older, newest, newest])  # the newest delivered twice

    assert result.outcomes == {"pending": 4} and result.failed == []
    assert [(e.order_id, e.changed) for e in batches.pending_changes()] == [(ORDER, _change_of(newest))]
    assert batches.emulator.calls["getOrder"] == 0

    deliver_until_done(batches, result.deferred)

    assert batches.emulator.calls["getOrder"] == 1
    assert batches.stored_last_updated(ORDER) == t0 + timedelta(minutes=2)


def test_given_changes_of_one_order_in_batches_while_its_drain_is_held_when_drained_then_one_call_serves_them_all(
    batches: OrderBatches,
) -> None:
    older, newer = batches.now() - timedelta(minutes=2), batches.now() - timedelta(minutes=1)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    hold_the_drain(batches, SELLER, seconds=30)

    # The newer change first, then an older one delivered late, each in a batch of its own
    first = batches.run(batches.container(), [batches.notification(ORDER, newer)])
    late = batches.run(batches.container(), [batches.notification(ORDER, older)])

    assert first.outcomes == late.outcomes == {"pending": 1}
    # One entry per order: the late, older change leaves the newer one pending
    assert [(e.order_id, e.changed) for e in batches.pending_changes()] == [
        (ORDER, newer.replace(microsecond=0))
    ]
    assert batches.emulator.calls["getOrder"] == 0
    # (the holder would read them before letting go: here it vanished, and a drain request takes over)
    deliver_until_done(batches, [{DRAIN_KEY: {"sellerId": SELLER, "region": NORTH_AMERICA, "orders": []}}])

    assert batches.emulator.calls["getOrder"] == 1
    assert batches.stored_last_updated(ORDER) == newer.replace(microsecond=0)
    assert batches.pending_changes() == []


def test_given_the_sellers_drain_held_by_another_container_when_changes_arrive_then_recorded_without_calls(
    batches: OrderBatches,
) -> None:
    old = batches.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS + 600)
    orders = [f"555-0000000-0000{index:03d}" for index in range(5)]
    for index, order in enumerate(orders):
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=old + timedelta(seconds=index))
    hold_the_drain(batches, SELLER, seconds=60)

    result = batches.run(
        batches.container(),
        [batches.notification(order, old + timedelta(seconds=i)) for i, order in enumerate(orders)],
    )

    # One spender per seller: no getOrder and no search page beside the holder's, nothing sent
    # to the queue (the holder reads the pending set once more before it lets go).
    assert result.outcomes == {"pending": 5} and result.deferred == []
    assert batches.emulator.calls["searchOrders"] == 0 and batches.emulator.calls["getOrder"] == 0
    assert sorted(entry.order_id for entry in batches.pending_changes()) == orders


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
    assert all(batches.stored_last_updated(order) == t0 for order in orders)
    assert batches.pending_changes() == []


def test_given_a_settled_backlog_deeper_than_getorder_can_clear_then_a_search_page_stores_it_conditionally(
    batches: OrderBatches,
) -> None:
    old = batches.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS + 600)
    orders = [f"444-0000000-0000{index:03d}" for index in range(150)]
    for index, order in enumerate(orders):
        batches.emulator.set_order(order, seller_id=SELLER, last_updated=old + timedelta(seconds=index))
    # The table already holds a newer state of one order than the search will return: never regressed.
    ahead = orders[7]
    batches.emulator.set_order(ahead, seller_id=SELLER, last_updated=old + timedelta(hours=1))
    batches.run(batches.container(), [batches.notification(ahead, old + timedelta(hours=1))])
    batches.emulator.set_order(ahead, seller_id=SELLER, last_updated=old + timedelta(seconds=7))
    # The changes pile up while another container holds the seller's drain.
    hold_the_drain(batches, SELLER, seconds=1)
    notifications = [
        batches.notification(order, old + timedelta(seconds=i)) for i, order in enumerate(orders)
    ]
    for start in range(0, len(notifications), 10):
        batches.run(batches.container(), notifications[start : start + 10])
    assert len(batches.pending_changes()) == len(orders) - 1  # the ahead order's change is skipped
    batches.clock.now += 2

    deliver_until_done(batches, [{DRAIN_KEY: {"sellerId": SELLER, "region": NORTH_AMERICA, "orders": []}}])

    # One page over the oldest hundred pending changes' window stored them in one call (its hundred
    # orders hold the ahead one, refused by the conditional write), and a smaller page the rest
    # (the changes settled, getOrder alone would still have been serving them after it); getOrder
    # served the two orders of the seconds a window does not start in, beside the ahead order's
    # own call before.
    assert batches.emulator.calls["searchOrders"] == 2
    assert batches.emulator.calls["getOrder"] == 1 + 2
    assert all(batches.stored_last_updated(order) is not None for order in orders)
    assert batches.stored_last_updated(ahead) == old + timedelta(hours=1)
    assert batches.pending_changes() == [] and sum(batches.emulator.throttled.values()) == 0
    # Notifications of the same changes delivered again need no call either.
    calls = batches.emulator.calls["getOrder"]
    again = batches.run(batches.container(), notifications[:10])
    assert again.outcomes == {"skipped": 10} and batches.emulator.calls["getOrder"] == calls


def test_given_amazon_answers_with_another_order_when_fetched_then_nothing_stored_and_asked_again(
    batches: OrderBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = batches.now() - timedelta(minutes=10)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    other = "111-1111111-1111111"
    monkeypatch.setattr(
        order_drainer,
        "from_orders_2026",
        lambda seller, document: order_records.from_orders_2026(seller, {**document, "orderId": other}),
    )

    result = batches.run(batches.container(), [batches.notification(ORDER, t0)])

    assert batches.stored_last_updated(ORDER) is None
    assert batches.stored_last_updated(other) is None
    # The change stays pending, and its drain comes back to ask again; nothing is dead-lettered.
    assert [entry.order_id for entry in batches.pending_changes()] == [ORDER]
    assert [is_drain_request(message) for message in result.deferred] == [True]
    assert batches.queue.dead_letters == []


def test_given_the_next_slot_beyond_the_invocation_when_a_change_arrives_then_its_drain_request_comes_back_for_it(
    batches: OrderBatches,
) -> None:
    t0 = batches.now() - timedelta(minutes=5)
    batches.emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    spend_the_budget(batches, SELLER, seconds=45)  # past the invocation's 30 s
    start = batches.clock.now

    first = batches.run(batches.container(), [batches.notification(ORDER, t0)])
    [(_, delay)] = batches.deferred
    batches.clock.now = start + delay  # SQS delivers the drain request
    second = batches.run(batches.container(), first.deferred)

    # Back a moment before the slot (SQS delays are whole seconds, rounded down): it waits for the
    # slot the lease's bucket gives, and sends in it.
    assert first.outcomes == {"pending": 1} and 44 <= delay <= 45
    assert second.deferred == [] and batches.stored_last_updated(ORDER) == t0
    assert batches.clock.now >= start + 45.0
    assert batches.emulator.calls["getOrder"] == 1 and sum(batches.emulator.throttled.values()) == 0
