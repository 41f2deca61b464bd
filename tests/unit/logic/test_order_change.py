"""ORDER_CHANGE over fakes: every port in memory, Amazon's side the emulator in process, a fake clock.

A notification is acknowledged once its change is in the seller's pending set, or (a quiet seller)
once the invocation holding the seller's lease fetched it from memory; the seller's one drainer
(holding its lease) fetches and stores the orders: inline for a quiet seller, across
invocations through drain requests for a deep backlog, with searchOrders pages when getOrder alone
would fall behind. A "sleep" advances the fake clock, so waits of minutes cost nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.config import SpApiSettings
from sellerstream.domain.orders import BucketState, PendingChange, SellerAccount
from sellerstream.logic.batch import BatchResult, BatchRunner
from sellerstream.logic.drain_request import DRAIN_REQUEST, drain_request_body, parse_orders_record
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.order_drainer import (
    GET_ORDER,
    LAGGING_RETRY_SECONDS,
    RESUME_EARLY_SECONDS,
    OrderDrainer,
)
from sellerstream.logic.order_search import SEARCH_ORDERS, SEARCH_SETTLE_SECONDS
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.spapi import defaults
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, plan_for
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import order_change
from tests.support.fakes import (
    FakeClock,
    FakeMessageQueue,
    FakeOrderStore,
    FakePendingOrders,
    FakeRateBudgets,
    FakeSellerDirectory,
    FakeTransport,
    SentMessage,
    response,
)
from tests.support.lambda_events import FakeLambdaContext, sqs_record
from tests.unit.logic.conftest import APP, LWA_PATH, SELLER

OTHER_SELLER = "A2SELLERUNIT"
ORDER = "123-4567890-1234567"
SECOND_ORDER = "123-4567890-7654321"
ACCOUNT = SellerAccount(SELLER, Region.NA.value)


@pytest.fixture(autouse=True)
def fresh_process_caches() -> Any:
    # Restricted Data Tokens are cached per process: one from another test's emulator is unknown here.
    defaults.reset()
    yield
    defaults.reset()


@pytest.fixture
def store() -> FakeOrderStore:
    return FakeOrderStore()


@pytest.fixture
def pending() -> FakePendingOrders:
    return FakePendingOrders()


@pytest.fixture
def make_use_case(
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> Any:
    def make(
        access: SpApiAccess = spapi, version: str = "2026-01-01", over: FakePendingOrders = pending
    ) -> OrderChangeUseCase:
        drainer = OrderDrainer(
            access, store, over, queue, orders_api_version=version, clock=clock, sleep=clock.sleep
        )
        return OrderChangeUseCase(directory, access, store, over, drainer)

    return make


@pytest.fixture
def make_orders_runner(make_runner: Any, make_use_case: Any) -> Any:
    def make(
        access: SpApiAccess | None = None,
        version: str = "2026-01-01",
        pending: FakePendingOrders | None = None,
    ) -> BatchRunner:
        """The consumer as wired (``pending``: a pending set of the test's own)."""
        options: dict[str, Any] = {"version": version}
        if access is not None:
            options["access"] = access
        if pending is not None:
            options["over"] = pending
        use_case = make_use_case(**options)
        accepts = catalog.consumer("orders").accepts | {DRAIN_REQUEST}
        runner: BatchRunner = make_runner(use_case, accepts, persistence=None, parse=parse_orders_record)
        return runner

    return make


@pytest.fixture
def runner(make_orders_runner: Any) -> BatchRunner:
    runner: BatchRunner = make_orders_runner()
    return runner


def now_of(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC).replace(microsecond=0)


def notification(
    order_id: str, changed_at: datetime, *, seller: str = SELLER, marketplace_id: str | None = None
) -> dict[str, Any]:
    if marketplace_id is None:
        return order_change(seller_id=seller, order_id=order_id, status="Unshipped", changed_at=changed_at)
    return order_change(
        seller_id=seller,
        order_id=order_id,
        status="Unshipped",
        changed_at=changed_at,
        marketplace_id=marketplace_id,
    )


def deliver(
    runner: BatchRunner, clock: FakeClock, *messages: dict[str, Any] | SentMessage, seconds: float = 30.0
) -> BatchResult:
    """One SQS batch of notifications (or of the drainer's own messages) in an invocation of ``seconds``."""
    records = [
        sqs_record(message.body) if isinstance(message, SentMessage) else sqs_record(json.dumps(message))
        for message in messages
    ]
    context: Any = FakeLambdaContext(clock, seconds)
    return runner.run({"Records": records}, context)


def deliver_drain_requests(
    runner: BatchRunner, clock: FakeClock, queue: FakeMessageQueue, *, delays: list[int] | None = None
) -> None:
    """Delivers the drainers' requests, each after its delay, until none is left (``delays``: the
    delay of each one sent meanwhile)."""
    while queue.deferred:
        message = queue.deferred.pop(0)
        clock.sleep(message.delay_seconds)
        deliver(runner, clock, message)
        if delays is not None:
            delays.extend(sent.delay_seconds for sent in queue.deferred)


def drained(runner: BatchRunner, clock: FakeClock, queue: FakeMessageQueue, *, seconds: float = 30.0) -> None:
    """A drain request for the seller, and the drain requests it leads to, until none is left."""
    deliver(runner, clock, SentMessage(drain_request_body(ACCOUNT), {}), seconds=seconds)
    deliver_drain_requests(runner, clock, queue)


def what_became(result: BatchResult) -> Counter[str]:
    return Counter(
        str(outcome.result["outcome"]) if outcome.outcome == "applied" and outcome.result else outcome.outcome
        for outcome in result.outcomes
    )


def stored_at(store: FakeOrderStore, order_id: str, seller: str = SELLER) -> datetime | None:
    record = store.orders.get((seller, order_id))
    return record.last_updated if record is not None else None


def order_changed_minutes_ago(emulator: SpApiEmulator, clock: FakeClock, minutes: float = 5.0) -> datetime:
    """The order ``ORDER`` of the seller changed ``minutes`` ago, as Amazon holds it: when."""
    changed = now_of(clock) - timedelta(minutes=minutes)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    return changed


def orders_changed(
    emulator: SpApiEmulator,
    clock: FakeClock,
    count: int,
    *,
    ago: float,
    second_of: Callable[[int], int] = lambda index: index,
) -> list[dict[str, Any]]:
    """``count`` orders of the seller changed from ``ago`` seconds back (order ``i`` in the
    ``second_of(i)``th second: one a second by default), and their notifications."""
    first = now_of(clock) - timedelta(seconds=ago)
    messages = []
    for index in range(count):
        order_id, changed = f"123-0000000-{index:07d}", first + timedelta(seconds=second_of(index))
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
        messages.append(notification(order_id, changed))
    return messages


def fetched(emulator: SpApiEmulator) -> list[str]:
    """The orders getOrder was asked for, in the order asked."""
    return [
        request.path.rsplit("/", 1)[1] for request in emulator.requests if request.operation == "getOrder"
    ]


def recorded_while_held(
    runner: BatchRunner, pending: FakePendingOrders, clock: FakeClock, messages: list[dict[str, Any]]
) -> None:
    """The notifications recorded while another container held the seller's drain (then let go)."""
    pending.take_lease(ACCOUNT, "another-container", now=clock(), until=clock() + 1)
    for start in range(0, len(messages), 10):
        deliver(runner, clock, *messages[start : start + 10])
    clock.sleep(2)


# -- a quiet seller: recorded, then fetched by the invocation that brought it ---------------------


def test_given_a_changed_order_when_its_notification_arrives_then_stored_in_the_same_invocation_with_provenance(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given an order that changed ten minutes ago
    changed = now_of(clock) - timedelta(minutes=10)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed, status="Shipped")
    message = notification(ORDER, changed)

    # When its notification arrives
    result = deliver(runner, clock, message)

    # Then it is acknowledged, the order is stored from one call, nothing stays pending, the lease is free
    assert what_became(result) == {"pending": 1}
    record = store.orders[(SELLER, ORDER)]
    assert record.last_updated == changed and record.attributes["order_status"] == "SHIPPED"
    assert record.attributes["notification_id"] == message["NotificationMetadata"]["NotificationId"]
    assert emulator.sp_api_calls() == {"getOrder": 1}
    assert pending.pending(ACCOUNT) == [] and pending.leases[ACCOUNT].owner == ""


def test_given_the_order_stored_at_least_as_new_when_older_or_equal_changes_arrive_then_skipped_without_calls(
    emulator: SpApiEmulator, runner: BatchRunner, pending: FakePendingOrders, clock: FakeClock
) -> None:
    t0 = now_of(clock) - timedelta(minutes=10)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=5))
    deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=5)))
    emulator.reset_stats()
    writes = pending.writes

    # The same change again (within its second), and two older ones delivered late
    late = [notification(ORDER, t0 + timedelta(minutes=5, milliseconds=900))]
    late += [notification(ORDER, t0 + timedelta(minutes=minute)) for minute in (1, 3)]
    result = deliver(runner, clock, *late)

    assert what_became(result) == {"skipped": 3}
    assert emulator.sp_api_calls() == {} and pending.writes == writes


def test_given_no_time_of_change_when_deciding_then_the_publish_time_stands_in(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: FakeClock
) -> None:
    t0 = now_of(clock) - timedelta(minutes=10)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    deliver(runner, clock, notification(ORDER, t0))
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))
    published_only = notification(ORDER, t0 + timedelta(minutes=1))
    published_only["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None

    deliver(runner, clock, published_only)

    assert stored_at(store, ORDER) == t0 + timedelta(minutes=1)


def test_given_notifications_of_one_order_in_a_batch_when_processed_then_one_entry_and_one_call(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    t0 = now_of(clock) - timedelta(minutes=10)
    changes = [t0 + timedelta(minutes=minute) for minute in (0, 1, 2, 3)]
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changes[-1])

    result = deliver(runner, clock, *[notification(ORDER, at) for at in reversed(changes)])

    assert what_became(result) == {"pending": 4}
    assert emulator.sp_api_calls() == {"getOrder": 1} and stored_at(store, ORDER) == changes[-1]
    # A quiet seller's change is served from memory: no entry written or removed, the lease taken
    # and released
    assert pending.writes == 2


def test_given_the_same_notification_delivered_twice_when_processed_then_one_entry_and_one_call(
    emulator: SpApiEmulator, runner: BatchRunner, clock: FakeClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=10)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    message = notification(ORDER, changed)

    result = deliver(runner, clock, message, message)

    assert [o.outcome for o in result.outcomes] == ["applied", "applied"]
    assert emulator.sp_api_calls() == {"getOrder": 1}


# -- one entry per order (its newest change), the least recently changed fetched first ------------


@pytest.mark.parametrize("newer_first", [False, True], ids=["in-order", "older-delivered-late"])
def test_given_two_changes_of_one_order_when_recorded_then_one_entry_holds_the_newest(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    clock: FakeClock,
    newer_first: bool,
) -> None:
    # Given the seller's drain held elsewhere, and two changes of one order
    pending.take_lease(ACCOUNT, "another-container", now=clock(), until=clock() + 60)
    older, newer = now_of(clock) - timedelta(minutes=2), now_of(clock) - timedelta(minutes=1)
    messages = [notification(ORDER, older), notification(ORDER, newer)]

    # When each arrives in a batch of its own (the older one after the newer, or before it)
    for message in reversed(messages) if newer_first else messages:
        deliver(runner, clock, message)

    # Then the order has one entry: the newer change, with its notification
    [entry] = pending.oldest(ACCOUNT, 10)
    assert (entry.order_id, entry.changed) == (ORDER, newer)
    assert entry.notification_id == messages[1]["NotificationMetadata"]["NotificationId"]
    assert emulator.sp_api_calls() == {}


@pytest.mark.parametrize("ago", [60.0, SEARCH_SETTLE_SECONDS + 600], ids=["busy", "settled"])
def test_given_pending_orders_when_drained_then_getorder_takes_the_least_recently_changed_first(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
    ago: float,
) -> None:
    # Given five orders changed one a second (recorded in the reverse order), the newest younger
    # than searchOrders' settle time (changes still arriving) or older (settled): too few for a page
    messages = orders_changed(emulator, clock, 5, ago=ago)
    recorded_while_held(runner, pending, clock, messages[::-1])

    # When the seller is drained
    drained(runner, clock, queue)

    # Then getOrder took them from the least recently changed on (the likeliest to stay as fetched)
    assert fetched(emulator) == [f"123-0000000-{i:07d}" for i in range(5)]
    assert emulator.sp_api_calls() == {"getOrder": 5} and pending.pending(ACCOUNT) == []


def test_given_a_quiet_sellers_change_held_when_another_record_is_taken_in_on_its_own_then_both_are_served(
    emulator: SpApiEmulator,
    make_use_case: Any,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given a batch whose quiet seller's change is held in memory by the lease it took
    changed = order_changed_minutes_ago(emulator, clock)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=changed)
    first, second = (
        parse_orders_record(json.dumps(notification(order_id, changed))).notification
        for order_id in (ORDER, SECOND_ORDER)
    )
    use_case = make_use_case()
    context = FakeLambdaContext(clock, 30.0)

    def remaining_time() -> float:
        return context.get_remaining_time_in_millis() / 1000

    use_case.begin_batch([first], remaining_time)

    # When a record that was not in the batch's intake is applied on its own, and the batch ends
    use_case.apply(second, remaining_time)
    use_case.end_batch()

    # Then the held change was not dropped: both orders are stored, nothing is left pending, and
    # the lease is free
    assert stored_at(store, ORDER) == changed and stored_at(store, SECOND_ORDER) == changed
    assert pending.pending(ACCOUNT) == [] and pending.leases[ACCOUNT].owner == ""


# -- one drainer per seller -----------------------------------------------------------------------


def test_given_the_sellers_lease_held_elsewhere_when_changes_arrive_then_recorded_and_acknowledged_without_calls(
    emulator: SpApiEmulator, runner: BatchRunner, pending: FakePendingOrders, clock: FakeClock
) -> None:
    # Given another container holding the seller's drain for the next 20 seconds
    pending.take_lease(ACCOUNT, "another-container", now=clock(), until=clock() + 20)
    messages = orders_changed(emulator, clock, 3, ago=600)

    result = deliver(runner, clock, *messages)

    # Then each notification is done, its change waits for the holder, and nothing was called here
    assert what_became(result) == {"pending": 3}
    assert [order for order, _ in pending.pending(ACCOUNT)] == [f"123-0000000-{i:07d}" for i in range(3)]
    assert emulator.sp_api_calls() == {}


class IntakeJustBeforeRelease(FakePendingOrders):
    """Another container's intake records a change after the holder's last read, just before the
    holder lets go: the intake saw the lease held and left the change to it."""

    def __init__(self, late: PendingChange) -> None:
        super().__init__()
        self.late: PendingChange | None = late

    def release_lease(self, account: SellerAccount, lease: Any, buckets: Any, **rest: Any) -> None:
        if self.late is not None:
            late, self.late = self.late, None
            self.add(account, [late])
        super().release_lease(account, lease, buckets, **rest)


def test_given_a_change_recorded_while_the_holder_lets_go_when_it_reads_once_more_then_it_serves_it(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    queue: FakeMessageQueue,
    make_orders_runner: Any,
    clock: FakeClock,
) -> None:
    # Given a drain that is about to let go, and a change recorded elsewhere at that moment
    changed = now_of(clock) - timedelta(seconds=30)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=changed)
    pending = IntakeJustBeforeRelease(PendingChange(SECOND_ORDER, changed, "late-notification"))
    runner = make_orders_runner(pending=pending)

    # When the holder drains its own change
    deliver(runner, clock, notification(ORDER, changed))

    # Then its last read after letting go found the other change, and it was served too
    assert pending.late is None
    assert stored_at(store, ORDER) == changed and stored_at(store, SECOND_ORDER) == changed
    assert pending.pending(ACCOUNT) == [] and queue.deferred == []


def test_given_a_holder_that_vanished_when_its_lease_ends_then_a_drain_request_takes_over_after_what_it_may_have_spent(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a holder that took the seller's drain and died (its lease ends in 20 s), leaving changes
    ends = clock() + 20
    pending.take_lease(ACCOUNT, "vanished", now=clock(), until=ends)
    deliver(runner, clock, *orders_changed(emulator, clock, 2, ago=600))
    calls = call_times(emulator, clock, monkeypatch, "getOrder")

    # When a drain request arrives after its lease ended
    clock.sleep(21)
    drained(runner, clock, queue)

    # Then both orders are stored; no call went before the slot one interval after the lease ended
    # (the vanished holder is assumed to have spent the burst)
    assert (
        stored_at(store, "123-0000000-0000000") is not None
        and stored_at(store, "123-0000000-0000001") is not None
    )
    assert len(calls) == 2 and calls[0] >= ends + 2.0
    assert pending.pending(ACCOUNT) == []


def test_given_a_backlog_longer_than_the_burst_when_the_bucket_is_empty_then_the_drain_rests_until_it_refills(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    # Given 60 changes (not yet settled for searchOrders) that piled up while the seller's drain
    # was held elsewhere, its getOrder bucket full: twice its burst of 30
    messages = orders_changed(emulator, clock, 60, ago=60)
    recorded_while_held(runner, pending, clock, messages)
    clock.sleep(60)  # the holder vanished a minute ago: what it may have spent has refilled

    # When the seller is drained
    deliver(runner, clock, SentMessage(drain_request_body(ACCOUNT), {}))

    # Then the burst is spent at once and the drain rests (no invocation sleeps for the bucket): its
    # lease goes to its drain request only, due when the bucket is full again but for the time a
    # request can come late
    [request] = queue.deferred
    assert json.loads(request.body) == {
        "sellerstreamDrain": {"sellerId": SELLER, "region": "na", "orders": []}
    }
    burst = emulator.sp_api_calls()["getOrder"]  # its last token is a spare second away
    assert burst >= 29 and len(pending.pending(ACCOUNT)) == 60 - burst
    assert 30 <= request.delay_seconds <= 60 - RESUME_EARLY_SECONDS

    # When another change of the seller arrives meanwhile
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=now_of(clock))
    result = deliver(runner, clock, notification(SECOND_ORDER, now_of(clock)))

    # Then it is recorded and left to the drain request: no call, no second request
    assert what_became(result) == Counter({"pending": 1}) and len(queue.deferred) == 1
    assert emulator.sp_api_calls() == {"getOrder": burst}

    # When the drain requests are delivered until none is left
    delays = [request.delay_seconds]
    deliver_drain_requests(runner, clock, queue, delays=delays)

    # Then every order is stored from one call, with no 429, each request coming once the bucket
    # holds slots for what waits
    assert all(stored_at(store, f"123-0000000-{i:07d}") is not None for i in range(60))
    assert stored_at(store, SECOND_ORDER) is not None
    assert emulator.sp_api_calls() == {"getOrder": 61} and sum(emulator.throttled.values()) == 0
    assert pending.pending(ACCOUNT) == [] and all(delay >= 2 for delay in delays)


def test_given_the_lease_carrying_the_bucket_when_the_next_holder_drains_then_it_spends_no_slot_twice(
    emulator: SpApiEmulator,
    make_orders_runner: Any,
    queue: FakeMessageQueue,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given one container that spent 20 of the seller's burst of 30, as the lease recorded
    messages = orders_changed(emulator, clock, 45, ago=60)
    deliver(make_orders_runner(), clock, *messages[:20])
    state = pending.leases[ACCOUNT].buckets[GET_ORDER]
    assert isinstance(state, BucketState) and state.confirmed and state.rate == 0.5

    # When another container (nothing in memory) drains 25 more at once
    started = clock()
    deliver(make_orders_runner(), clock, *messages[20:30])
    deliver(make_orders_runner(), clock, *messages[30:45])
    deliver_drain_requests(make_orders_runner(), clock, queue)

    # Then it started from the lease's bucket: 10 from the burst, then one every 2 s, and no 429
    assert all(stored_at(store, f"123-0000000-{i:07d}") is not None for i in range(45))
    assert sum(emulator.throttled.values()) == 0
    assert clock() - started >= 2.0 * 15 - 2.0


def test_given_a_big_and_a_quiet_seller_in_one_batch_when_drained_then_the_quiet_one_is_not_kept_waiting(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    runner: BatchRunner,
    store: FakeOrderStore,
    clock: FakeClock,
) -> None:
    directory.add(OTHER_SELLER)
    emulator.register_seller(OTHER_SELLER, f"Atzr|{OTHER_SELLER}")
    messages = orders_changed(emulator, clock, 9, ago=60)
    changed = now_of(clock) - timedelta(seconds=30)
    emulator.set_order(SECOND_ORDER, seller_id=OTHER_SELLER, last_updated=changed)
    messages.append(notification(SECOND_ORDER, changed, seller=OTHER_SELLER))
    start = clock()

    deliver(runner, clock, *messages)

    stored = store.orders[(OTHER_SELLER, SECOND_ORDER)]
    assert stored.attributes["stored_at"] <= datetime.fromtimestamp(start + 2, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


# -- searchOrders when getOrder alone would fall behind -----------------------------------------


def test_given_a_settled_backlog_when_drained_then_a_search_page_stores_a_hundred_orders_in_one_call(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given 250 changes older than searchOrders' settle time waiting for a seller whose lease was held
    pending.take_lease(ACCOUNT, "another-container", now=clock(), until=clock() + 1)
    messages = orders_changed(emulator, clock, 250, ago=SEARCH_SETTLE_SECONDS + 600)
    for start in range(0, 250, 10):
        deliver(runner, clock, *messages[start : start + 10])
    clock.sleep(2)

    # When the seller is drained
    deliver(runner, clock, SentMessage(drain_request_body(ACCOUNT), {}))

    # Then pages stored the orders a hundred at a time, the last page the rest (getOrder alone would
    # still have been serving them after it), while getOrder's bucket refills
    calls = emulator.sp_api_calls()
    stored = [f"123-0000000-{i:07d}" for i in range(250) if stored_at(store, f"123-0000000-{i:07d}")]
    assert calls == {"searchOrders": 3} and len(stored) >= 240
    assert sum(emulator.throttled.values()) == 0


def test_given_a_few_settled_changes_when_drained_then_getorder_serves_them_without_a_search_page(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: FakeClock
) -> None:
    deliver(runner, clock, *orders_changed(emulator, clock, 10, ago=SEARCH_SETTLE_SECONDS + 600))

    assert emulator.sp_api_calls() == {"getOrder": 10}


def spend_search_slots(budgets: FakeRateBudgets, count: int) -> None:
    """``count`` searchOrders calls of the seller's application made elsewhere (reconciliation)."""
    for _ in range(count):
        budgets.for_account(APP[0], Region.NA.value).acquire(SELLER, SEARCH_ORDERS, 0.0)


def call_times(
    emulator: SpApiEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    operation: str = "searchOrders",
) -> list[float]:
    """When each call of ``operation`` is answered by Amazon from now on, on the fake clock."""
    times: list[float] = []
    handle = emulator.handle

    def timed(*request: Any) -> Any:
        calls = emulator.calls[operation]
        answer = handle(*request)
        if emulator.calls[operation] > calls:
            times.append(clock())
        return answer

    monkeypatch.setattr(emulator, "handle", timed)
    return times


@pytest.mark.parametrize(
    ("recent_change", "slots_spent", "waits_for_refill"),
    [(True, 1, True), (True, 0, False), (False, 1, False)],
    ids=["busy-bucket-not-full", "busy-bucket-full", "settled-bucket-not-full"],
)
def test_given_a_settled_backlog_when_drained_then_searchorders_burst_is_spent_only_once_changes_settle(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budgets: FakeRateBudgets,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    recent_change: bool,
    slots_spent: int,
    waits_for_refill: bool,
) -> None:
    # Given searchOrders' bucket spent 100 s ago (or full), 200 orders changed long ago and, while
    # changes still arrive, one ten seconds ago
    spend_search_slots(budgets, slots_spent)
    full_at = clock() + slots_spent / plan_for(SEARCH_ORDERS, DEFAULT_RATE_PLANS).rate
    clock.sleep(100)
    messages = orders_changed(emulator, clock, 200, ago=SEARCH_SETTLE_SECONDS + 600)
    if recent_change:
        recent = now_of(clock) - timedelta(seconds=10)
        emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=recent)
        messages.append(notification(SECOND_ORDER, recent))
    recorded_while_held(runner, pending, clock, messages)
    pages = call_times(emulator, clock, monkeypatch)

    # When the seller is drained
    started = clock()
    drained(runner, clock, queue, seconds=300)

    # Then while busy the first page waits until searchOrders' bucket is full again (only what
    # refills is spent); once settled, or with the bucket full, it goes at the next free slot
    assert pages and pages[0] == pytest.approx(full_at if waits_for_refill else started, abs=2)
    assert sum(emulator.throttled.values()) == 0


def test_given_getorder_serving_while_a_page_waits_when_the_page_comes_then_it_brings_none_getorder_stored(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budgets: FakeRateBudgets,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    # Given 250 settled orders, changes still arriving (one ten seconds ago), and searchOrders' bucket
    # one page short of full: the first page waits about 80 s, while getOrder serves about 40
    spend_search_slots(budgets, 1)
    clock.sleep(100)
    messages = orders_changed(emulator, clock, 250, ago=SEARCH_SETTLE_SECONDS + 600)
    recent = now_of(clock) - timedelta(seconds=10)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=recent)
    messages.append(notification(SECOND_ORDER, recent))
    recorded_while_held(runner, pending, clock, messages)

    # When the seller is drained
    drained(runner, clock, queue)

    # Then getOrder took the least recently changed orders meanwhile, and the page the next ones:
    # none of the page's orders had been fetched already
    first_page = next(i for i, request in enumerate(emulator.requests) if request.operation == "searchOrders")
    page = emulator.requests[first_page]
    taken = [r.path.rsplit("/", 1)[1] for r in emulator.requests[:first_page] if r.operation == "getOrder"]
    after = datetime.fromisoformat(page.query["lastUpdatedAfter"][0])
    assert len(taken) >= 20
    assert all(emulator.catalog.get(order_id).last_updated < after for order_id in taken)


def test_given_orders_changed_several_a_second_when_pages_follow_getorder_across_holders_then_no_page_brings_an_order_stored_before(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budgets: FakeRateBudgets,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    store: FakeOrderStore,
    clock: FakeClock,
) -> None:
    # Given 400 settled orders changed five a second, and searchOrders' bucket spent elsewhere:
    # getOrder serves from the least recently changed while the pages wait for their slots
    messages = orders_changed(
        emulator, clock, 400, ago=SEARCH_SETTLE_SECONDS + 600, second_of=lambda index: index // 5
    )
    recorded_while_held(runner, pending, clock, messages)
    spend_search_slots(budgets, 20)

    # When the seller is drained by one invocation after another (each lease's holder new)
    deliver(runner, clock, SentMessage(drain_request_body(ACCOUNT), {}))
    deliver_drain_requests(runner, clock, queue)

    # Then every order is stored, pages did part of it, and no page's window held an order that
    # getOrder had stored before it (a second getOrder had worked in is left to getOrder)
    assert all(stored_at(store, f"123-0000000-{i:07d}") is not None for i in range(400))
    pages = [i for i, request in enumerate(emulator.requests) if request.operation == "searchOrders"]
    assert pages
    for index in pages:
        window = emulator.requests[index].query
        after, before = (
            datetime.fromisoformat(window[bound][0]) for bound in ("lastUpdatedAfter", "lastUpdatedBefore")
        )
        stored_before = [
            emulator.catalog.get(request.path.rsplit("/", 1)[1]).last_updated
            for request in emulator.requests[:index]
            if request.operation == "getOrder"
        ]
        assert not [moment for moment in stored_before if after <= moment < before]


@pytest.mark.parametrize("count", [91, 41], ids=["a-page-interval-of-getorder", "less"])
def test_given_the_last_settled_orders_when_getorder_alone_would_outlast_the_page_then_a_smaller_page_takes_them(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
    count: int,
) -> None:
    # Given 91 (or 41) settled orders (the first two in one second, which a page leaves to
    # getOrder: the rest left for the page, fewer than getOrder serves in searchOrders' interval)
    # and getOrder's bucket spent by the lease's last holder: getOrder alone would serve them for
    # three minutes (or 80 s)
    messages = orders_changed(
        emulator, clock, count, ago=SEARCH_SETTLE_SECONDS + 600, second_of=lambda index: max(index - 1, 0)
    )
    recorded_while_held(runner, pending, clock, messages)
    started = clock()

    # When the seller is drained
    drained(runner, clock, queue)

    # Then no fuller page is waited for: one page of the rest and getOrder for the first two, all
    # stored within seconds
    assert emulator.sp_api_calls() == {"getOrder": 2, "searchOrders": 1}
    assert all(stored_at(store, f"123-0000000-{i:07d}") is not None for i in range(count))
    assert clock() - started < 30


def test_given_a_settled_page_of_orders_when_paged_then_its_window_runs_from_the_first_change_to_the_end_of_the_last(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    # Given 100 settled orders, changed one a second from ``first``
    messages = orders_changed(emulator, clock, 100, ago=SEARCH_SETTLE_SECONDS + 600)
    first = now_of(clock) - timedelta(seconds=SEARCH_SETTLE_SECONDS + 600)
    recorded_while_held(runner, pending, clock, messages)

    # When the seller is drained
    drained(runner, clock, queue)

    # Then getOrder took the first (the second getOrder works in, maybe with orders it stored, is
    # never a window's) and one page stored the rest, over its first change's second to the end of
    # the last one's
    [page] = [request for request in emulator.requests if request.operation == "searchOrders"]
    window = [
        datetime.fromisoformat(page.query[bound][0]) for bound in ("lastUpdatedAfter", "lastUpdatedBefore")
    ]
    assert window == [first + timedelta(seconds=1), first + timedelta(seconds=99 + 1)]
    assert emulator.sp_api_calls() == {"getOrder": 1, "searchOrders": 1} and pending.pending(ACCOUNT) == []


# -- lagging reads and failures -----------------------------------------------------------------


def test_given_a_lagging_read_when_amazon_answers_older_than_the_change_then_stored_and_asked_again_later(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    t0 = now_of(clock) - timedelta(minutes=30)
    # Two changes happened; Amazon's read still shows only the first
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))

    first = deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=2)))

    assert what_became(first) == {"pending": 1}
    assert stored_at(store, ORDER) == t0 + timedelta(minutes=1)  # newer than nothing: kept meanwhile
    assert pending.pending(ACCOUNT) == [(ORDER, t0 + timedelta(minutes=2))]
    [request] = queue.deferred
    assert request.delay_seconds >= LAGGING_RETRY_SECONDS - 30  # back when the order is asked again

    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    clock.sleep(request.delay_seconds)
    deliver(runner, clock, request)

    assert stored_at(store, ORDER) == t0 + timedelta(minutes=2) and pending.pending(ACCOUNT) == []


def test_given_a_read_still_lagging_an_hour_after_the_change_when_asked_then_taken_as_answered(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    t0 = now_of(clock) - timedelta(hours=2)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)

    deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=2)))

    assert stored_at(store, ORDER) == t0 and pending.pending(ACCOUNT) == []


def test_given_an_order_amazon_does_not_know_an_hour_on_when_drained_then_dead_lettered_with_a_redrivable_body(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    changed = now_of(clock) - timedelta(hours=2)

    result = deliver(runner, clock, notification(ORDER, changed))

    assert what_became(result) == {"pending": 1}
    [dead] = queue.dead_letters
    assert dead.attribute("sellerstream-reason") == "spapi_not_found"
    assert pending.pending(ACCOUNT) == [] and store.orders == {}

    # When it is redriven (Amazon knows the order now), it is pending again and stored
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    redriven = deliver(runner, clock, dead)
    assert [o.outcome for o in redriven.outcomes] == ["applied"]
    assert stored_at(store, ORDER) == changed


def test_given_a_new_order_amazon_cannot_read_yet_when_drained_then_asked_again_later_not_dead_lettered(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=1)

    deliver(runner, clock, notification(ORDER, changed))

    assert queue.dead_letters == [] and pending.pending(ACCOUNT) == [(ORDER, changed)]
    assert len(queue.deferred) == 1


def test_given_amazon_answering_with_another_order_when_fetched_then_nothing_stored_and_asked_again(
    make_spapi: Any,
    make_orders_runner: Any,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    answer = {
        "order": {
            "orderId": "111-1111111-1111111",
            "createdTime": "2026-09-01T00:00:00Z",
            "lastUpdatedTime": "2026-09-21T00:00:00Z",
        }
    }
    runner = make_orders_runner(make_spapi(FakeTransport([response(200, answer)])))
    changed = now_of(clock) - timedelta(minutes=5)

    deliver(runner, clock, notification(ORDER, changed))

    # The key must be the order asked for: nothing stored under another id; the order waits
    assert store.orders == {} and queue.dead_letters == []
    assert pending.pending(ACCOUNT) == [(ORDER, changed)] and len(queue.deferred) == 1


def test_given_amazon_failing_when_drained_then_the_order_is_asked_again_later_and_dead_lettered_at_last(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    store: FakeOrderStore,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    # Given Amazon failing every getOrder of the order
    changed = order_changed_minutes_ago(emulator, clock)
    emulator.fail_next("getOrder", 503, count=1000)

    # When its notification arrives, the change stays pending, counted and timed in the table
    deliver(runner, clock, notification(ORDER, changed))
    [entry] = pending.oldest(ACCOUNT, 10)
    assert entry.attempts == 1
    assert entry.not_before == pytest.approx(clock() + LAGGING_RETRY_SECONDS, abs=2)
    assert store.orders == {}

    # When the drain requests come back (each after its delay), the waits double until the fifth
    # attempt, which sends the change to the dead-letter queue with its reason
    delays = [queue.deferred[0].delay_seconds]
    deliver_drain_requests(runner, clock, queue, delays=delays)

    assert delays[:4] == [29, 59, 119, 239] or delays[:4] == [30, 60, 120, 240]
    [dead] = queue.dead_letters
    assert dead.attribute("sellerstream-reason") == "order_fetch_failed"
    assert (dead.attribute("sellerstream-detail") or "").startswith("SpApiServerError on 5 attempts")
    assert pending.pending(ACCOUNT) == [] and store.orders == {}


def test_given_a_quiet_sellers_change_held_in_memory_when_time_runs_out_before_its_call_then_it_is_recorded(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    store: FakeOrderStore,
    clock: FakeClock,
) -> None:
    # Given a quiet seller's change arriving in an invocation with no time left for a call
    changed = order_changed_minutes_ago(emulator, clock)

    result = deliver(runner, clock, notification(ORDER, changed), seconds=1.5)

    # Then the record is done, its change recorded before the lease went (free to anyone: time was
    # up, the drain is not resting), and a drain request continues it
    assert what_became(result) == {"pending": 1} and emulator.sp_api_calls() == {}
    assert pending.pending(ACCOUNT) == [(ORDER, changed)]
    assert (pending.leases[ACCOUNT].owner, pending.leases[ACCOUNT].until) == ("", 0.0)
    deliver_drain_requests(runner, clock, queue)
    assert stored_at(store, ORDER) == changed and pending.pending(ACCOUNT) == []


class PendingSetRecordingOnlyLater(FakePendingOrders):
    """The table refuses the first ``refusals`` additions of entries (throttled past retries)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def add(self, account: SellerAccount, changes: Any) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("the table did not answer")
        super().add(account, changes)


def test_given_a_change_held_in_memory_that_cannot_be_recorded_when_the_drain_fails_then_the_drain_request_carries_it(
    emulator: SpApiEmulator,
    make_orders_runner: Any,
    queue: FakeMessageQueue,
    store: FakeOrderStore,
    clock: FakeClock,
) -> None:
    # Given a quiet seller's change served from memory, Amazon failing its call, and the table
    # refusing to record it (when asked again later, and when the drain hands over)
    changed = order_changed_minutes_ago(emulator, clock)
    emulator.fail_next("getOrder", 503, count=100)
    pending = PendingSetRecordingOnlyLater(refusals=2)
    runner = make_orders_runner(pending=pending)

    result = deliver(runner, clock, notification(ORDER, changed))

    # Then the record is done and the change travels in the drain request (once the lease ends)
    assert what_became(result) == {"pending": 1} and pending.pending(ACCOUNT) == []
    [request] = queue.deferred
    carried = json.loads(request.body)["sellerstreamDrain"]["orders"]
    assert [order["orderId"] for order in carried] == [ORDER]
    # And delivered once Amazon answers, it is recorded and served
    emulator.clear_failures()
    deliver_drain_requests(runner, clock, queue)
    assert stored_at(store, ORDER) == changed and pending.pending(ACCOUNT) == []


class PendingSetFailingOnRead(FakePendingOrders):
    """The table fails the drain's first read after the lease is taken (throttled past retries)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def oldest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        if limit > 1 and self.failures:
            self.failures -= 1
            raise ConnectionError("the table did not answer")
        return super().oldest(account, limit)


def test_given_the_drain_failing_when_its_batch_ends_then_the_records_are_done_and_a_drain_request_continues(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    queue: FakeMessageQueue,
    make_orders_runner: Any,
    clock: FakeClock,
) -> None:
    # Given another order of the seller pending (so the change is recorded), and the drain's read
    # failing
    changed = order_changed_minutes_ago(emulator, clock)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=changed)
    pending = PendingSetFailingOnRead()
    pending.add(ACCOUNT, [PendingChange(SECOND_ORDER, changed, "earlier-notification")])
    runner = make_orders_runner(pending=pending)

    result = deliver(runner, clock, notification(ORDER, changed))

    # The change is durable: the record is done; the drain is handed to a drain request
    assert what_became(result) == {"pending": 1} and store.orders == {}
    assert pending.leases[ACCOUNT].owner == ""
    deliver_drain_requests(runner, clock, queue)
    assert stored_at(store, ORDER) == changed and stored_at(store, SECOND_ORDER) == changed
    assert pending.pending(ACCOUNT) == []


def test_given_a_drain_that_died_holding_the_lease_when_its_batch_comes_back_skipped_then_the_seller_is_drained(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given a drain that stored one order, then died holding the lease, while another container
    # recorded a change of a second order (it found the lease held)
    changed = order_changed_minutes_ago(emulator, clock)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=changed)
    first = notification(ORDER, changed)
    deliver(runner, clock, first)
    pending.take_lease(ACCOUNT, "died", now=clock(), until=clock() + 30)
    deliver(runner, clock, notification(SECOND_ORDER, changed))
    assert stored_at(store, SECOND_ORDER) is None

    # When the dead drain's batch is redelivered after its lease ended (its own change is stored)
    clock.sleep(180)
    result = deliver(runner, clock, first)

    # Then the seller is drained all the same
    assert what_became(result) == {"skipped": 1}
    assert stored_at(store, SECOND_ORDER) == changed and pending.pending(ACCOUNT) == []


def test_given_lwa_refusing_the_seller_when_its_orders_arrive_then_they_wait_for_reauthorisation(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    runner: BatchRunner,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    for order_id in (ORDER, SECOND_ORDER):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
    emulator.revoke_seller(SELLER)
    messages = [notification(ORDER, changed), notification(SECOND_ORDER, changed)]

    first = deliver(runner, clock, *messages)
    again = deliver(runner, clock, *messages)

    # The first batch recorded its changes and found the refusal draining; the next one knows it
    assert what_became(first) == {"pending": 2}
    assert [(o.outcome, o.reason) for o in again.outcomes][:2] == [("deferred", "seller_credentials")] * 2
    assert emulator.calls["lwaToken"] == 1 and store.orders == {}
    assert len(pending.pending(ACCOUNT)) == 2
    # And the drain comes back after SQS's longest delay, to find the seller authorised again
    [request] = [message for message in queue.deferred if "sellerstreamDrain" in message.body]
    assert request.delay_seconds == 900
    emulator.register_seller(SELLER, "Atzr|again")
    directory.add(SELLER, refresh_token="Atzr|again")
    clock.sleep(900)
    deliver(runner, clock, request)
    assert stored_at(store, ORDER) == changed and stored_at(store, SECOND_ORDER) == changed
    assert pending.pending(ACCOUNT) == []


def test_given_an_unknown_seller_when_its_orders_arrive_then_dead_lettered_and_other_sellers_served(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    store: FakeOrderStore,
    queue: FakeMessageQueue,
    clock: FakeClock,
) -> None:
    changed = order_changed_minutes_ago(emulator, clock)

    result = deliver(
        runner,
        clock,
        notification(SECOND_ORDER, changed, seller="A9UNKNOWNSELLER"),
        notification(ORDER, changed),
    )

    assert [(o.outcome, o.reason) for o in result.outcomes] == [
        ("dead_lettered", "unknown_seller"),
        ("applied", None),
    ]
    assert len(queue.dead_letters) == 1 and stored_at(store, ORDER) is not None


class PendingSetDown(FakePendingOrders):
    def add(self, account: SellerAccount, changes: Any) -> None:
        raise ConnectionError("the table did not answer")


def test_given_the_pending_set_unwritable_when_changes_arrive_then_the_records_return_to_the_queue(
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    queue: FakeMessageQueue,
    make_orders_runner: Any,
    emulator: SpApiEmulator,
    clock: FakeClock,
) -> None:
    # Given the seller's drain held by another container: the change must be recorded for it
    changed = order_changed_minutes_ago(emulator, clock)
    pending = PendingSetDown()
    pending.take_lease(ACCOUNT, "another-container", now=clock(), until=clock() + 20)
    runner = make_orders_runner(pending=pending)

    result = deliver(runner, clock, notification(ORDER, changed))

    assert [(o.outcome, o.reason) for o in result.outcomes] == [("retry", "ConnectionError")]
    assert emulator.sp_api_calls() == {}


def test_given_a_malformed_drain_request_when_it_arrives_then_dead_lettered(
    runner: BatchRunner, queue: FakeMessageQueue, clock: FakeClock
) -> None:
    body = json.dumps({"sellerstreamDrain": {"sellerId": "not a seller", "region": "na"}})

    result = deliver(runner, clock, SentMessage(body, {}))

    assert [(o.outcome, o.reason) for o in result.outcomes] == [("dead_lettered", "invalid_notification")]


# -- Orders v0 and regions ------------------------------------------------------------------------


def test_given_orders_v0_when_an_order_changes_then_it_is_stored_with_its_items_and_buyer_data(
    emulator: SpApiEmulator,
    make_orders_runner: Any,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    clock: FakeClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    items = [{"seller_sku": f"SKU-{index}", "quantity": 1} for index in range(3)]
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed, status="Shipped", items=items)
    runner = make_orders_runner(spapi, version="v0")

    deliver(runner, clock, notification(ORDER, changed))

    record = store.orders[(SELLER, ORDER)]
    assert record.last_updated == changed and record.attributes["source_api"] == "orders/v0"
    assert [item["SellerSKU"] for item in record.attributes["items"]] == ["SKU-0", "SKU-1", "SKU-2"]
    assert set(store.pii[(SELLER, ORDER)]) == {"BuyerInfo", "ShippingAddress"}
    assert emulator.sp_api_calls() == {"createRestrictedDataToken": 1, "getOrder": 1, "getOrderItems": 2}


def test_given_a_batch_with_a_sellers_orders_in_two_regions_when_applied_then_each_is_fetched_in_its_region(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    budgets: Any,
    make_orders_runner: Any,
    store: FakeOrderStore,
    pending: FakePendingOrders,
    clock: FakeClock,
) -> None:
    # Given the seller authorised in NA and in EU, and endpoints that serve one region each
    directory.add(SELLER, region=Region.EU, refresh_token="Atzr|eu")
    emulator.register_seller(SELLER, "Atzr|eu", region="eu")
    changed = now_of(clock) - timedelta(minutes=5)
    us_order, german_order = "111-0000000-0000001", "302-0000000-0000002"
    emulator.set_order(us_order, seller_id=SELLER, last_updated=changed, marketplace_id="ATVPDKIKX0DER")
    emulator.set_order(german_order, seller_id=SELLER, last_updated=changed, marketplace_id="A1PA6795UKMFR9")
    settings = SpApiSettings.of(
        accounts_table_name="unused",
        lwa_app_secret_id="unused",
        seller_secret_prefix="unused/",
        spapi_endpoint_override=f"{IN_PROCESS_BASE_URL}/{{region}}",
        lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
    )
    regional = SpApiAccess(
        settings,
        directory,
        budgets=budgets,
        transport=InProcessTransport(emulator),
        clock=clock,
        sleep=clock.sleep,
    )
    runner = make_orders_runner(regional)

    # When one batch carries both (the US one first)
    deliver(
        runner,
        clock,
        notification(us_order, changed),
        notification(german_order, changed, marketplace_id="A1PA6795UKMFR9"),
    )

    # Then each has its own pending set and lease, and is fetched on its own region's endpoint
    assert stored_at(store, us_order) is not None and stored_at(store, german_order) is not None
    assert emulator.sp_api_calls_by_region() == {"NA": 1, "EU": 1, "FE": 0}
    assert set(pending.leases) == {ACCOUNT, SellerAccount(SELLER, "eu")}
