"""ORDER_CHANGE over fakes: every port in memory, Amazon's side the emulator in process, a fake clock.

The use case stores Amazon's answer with the fewest calls (skip, coalesce), keeps lagging reads
waiting, shares the seller's rate budget fairly (held slots, superseded notifications, another
container's call) and pages through a deep backlog with searchOrders. A "sleep" advances the fake
clock, so waits of minutes cost nothing and nothing depends on timing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.config import SpApiSettings
from sellerstream.domain.orders import OrderRecord
from sellerstream.logic.batch import BatchResult, BatchRunner
from sellerstream.logic.order_change import (
    BACKLOG_AGE_SECONDS,
    COVERED_WAIT_SECONDS,
    FAIR_WAIT_SECONDS,
    GET_ORDER,
    LEASED_WINDOW_WAIT_SECONDS,
    UNCONFIRMED_RETRY_SECONDS,
    OrderChangeUseCase,
)
from sellerstream.logic.order_search import SEARCH_ORDERS, SEARCH_SETTLE_SECONDS
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications import parse_delivery
from sellerstream.notifications.order_change import OrderChangeNotification
from sellerstream.spapi import defaults
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.ratelimit import RateBudget, RateLimiter
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import order_change
from tests.support.fakes import (
    FakeClock,
    FakeOrderStore,
    FakeRateBudgets,
    FakeSearchWindows,
    FakeSellerDirectory,
    FakeTransport,
    FakeWaitingNotifications,
    SentMessage,
    response,
)
from tests.support.lambda_events import FakeLambdaContext, sqs_record
from tests.unit.logic.conftest import APP, LWA_PATH, SELLER

OTHER_SELLER = "A2SELLERUNIT"
ORDER = "123-4567890-1234567"
SECOND_ORDER = "123-4567890-7654321"


class SteppingClock(FakeClock):
    """The fake clock, on which other containers act at given moments while the batch sleeps."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self._actions: list[tuple[float, Callable[[], object]]] = []

    def at(self, moment: float, action: Callable[[], object]) -> None:
        self._actions.append((moment, action))

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        due = sorted((entry for entry in self._actions if entry[0] <= self.now), key=lambda entry: entry[0])
        self._actions = [entry for entry in self._actions if entry[0] > self.now]
        for _, action in due:
            action()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(start=1_790_000_000.0)


@pytest.fixture(autouse=True)
def fresh_process_caches() -> Iterator[None]:
    # Restricted Data Tokens are cached per process: one from another test's emulator is unknown here.
    defaults.reset()
    yield
    defaults.reset()


@pytest.fixture
def store() -> FakeOrderStore:
    return FakeOrderStore()


@pytest.fixture
def windows(clock: SteppingClock) -> FakeSearchWindows:
    return FakeSearchWindows(clock=clock)


@pytest.fixture
def waiting() -> FakeWaitingNotifications:
    return FakeWaitingNotifications()


@pytest.fixture
def use_case(
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    store: FakeOrderStore,
    windows: FakeSearchWindows,
    waiting: FakeWaitingNotifications,
    clock: SteppingClock,
) -> OrderChangeUseCase:
    return OrderChangeUseCase(directory, spapi, store, backlog=windows, waiting=waiting, clock=clock)


@pytest.fixture
def runner(make_runner: Any, use_case: OrderChangeUseCase) -> BatchRunner:
    runner: BatchRunner = make_runner(use_case, catalog.consumer("orders").accepts)
    return runner


@pytest.fixture
def budget(spapi: SpApiAccess, directory: FakeSellerDirectory) -> RateBudget:
    """The seller's rate budget, as every container of the account sees it."""
    return spapi.rate_budget(directory.sellers[SELLER])


def now_of(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def notification(
    order_id: str, changed_at: datetime, *, seller: str = SELLER, notification_id: str | None = None
) -> dict[str, Any]:
    return order_change(
        seller_id=seller,
        order_id=order_id,
        status="Unshipped",
        changed_at=changed_at,
        notification_id=notification_id,
    )


def deliver(
    runner: BatchRunner, clock: FakeClock, *messages: dict[str, Any] | SentMessage, seconds: float = 30.0
) -> BatchResult:
    """One SQS batch of notifications (or of deferred copies, with the attributes they carry)."""
    records = []
    for message in messages:
        if isinstance(message, SentMessage):
            attributes = {
                name: (value["DataType"], value["StringValue"]) for name, value in message.attributes.items()
            }
            records.append(sqs_record(message.body, attributes=attributes))
        else:
            records.append(sqs_record(json.dumps(message)))
    context: Any = FakeLambdaContext(clock, seconds)
    return runner.run({"Records": records}, context)


def what_became(result: BatchResult) -> Counter[str]:
    """Each record's fate: the use case's outcome when applied, else the batch's."""
    return Counter(
        str(outcome.result["outcome"]) if outcome.outcome == "applied" and outcome.result else outcome.outcome
        for outcome in result.outcomes
    )


def spend_burst(budget: RateBudget, operation: str = GET_ORDER) -> None:
    """Earlier calls used the seller's whole burst of ``operation``: the next slot is an interval away."""
    while budget.next_slot_in(SELLER, operation) <= 0:
        budget.acquire(SELLER, operation, max_wait=0.0)


def another_container_holds(budget: RateBudget, seconds: float) -> None:
    """Another container used the seller's getOrder burst and holds the slots of the next ``seconds``
    for orders of its own (Amazon has confirmed the plan: a call every 2 s)."""
    spend_burst(budget)
    budget.observe_limit_header(SELLER, GET_ORDER, "0.5")
    others = {f"999-0000000-{index:07d}": None for index in range(int(seconds / 2))}
    budget.reserve_for(SELLER, GET_ORDER, others, send_within=0.0, hold_within=seconds)


def stored_at(store: FakeOrderStore, order_id: str, seller: str = SELLER) -> datetime | None:
    record = store.orders.get((seller, order_id))
    return record.last_updated if record is not None else None


# -- skip and coalesce ------------------------------------------------------------------------------


def test_given_a_changed_order_when_its_notification_arrives_then_amazons_answer_is_stored_with_provenance(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=10)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed, status="Shipped")
    message = notification(ORDER, changed)

    result = deliver(runner, clock, message)

    [outcome] = result.outcomes
    assert outcome.outcome == "applied" and outcome.result is not None
    assert outcome.result["outcome"] == "written" and outcome.result["order_id"] == ORDER
    record = store.orders[(SELLER, ORDER)]
    assert record.last_updated == changed.replace(microsecond=0)
    assert record.attributes["order_status"] == "SHIPPED"
    assert record.attributes["notification_id"] == message["NotificationMetadata"]["NotificationId"]
    assert emulator.sp_api_calls() == {"getOrder": 1}


def test_given_the_order_stored_at_least_as_new_when_older_or_equal_changes_arrive_then_skipped_without_calls(
    emulator: SpApiEmulator, runner: BatchRunner, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=10)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=5))
    deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=5)))
    emulator.reset_stats()

    # The same change again (a new notification id), one within its second, and two older ones delivered late.
    late = [notification(ORDER, t0 + timedelta(minutes=5, milliseconds=900))]
    late += [notification(ORDER, t0 + timedelta(minutes=minute)) for minute in (5, 1, 3)]
    result = deliver(runner, clock, *late)

    assert what_became(result) == {"skipped": 4}
    assert emulator.sp_api_calls() == {}


def test_given_a_change_in_a_later_second_than_the_stored_order_when_it_arrives_then_fetched(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=10)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    deliver(runner, clock, notification(ORDER, t0))
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(seconds=1))

    result = deliver(runner, clock, notification(ORDER, t0 + timedelta(seconds=1.9)))

    assert what_became(result) == {"written": 1}
    assert stored_at(store, ORDER) == t0 + timedelta(seconds=1)


def test_given_no_time_of_change_when_deciding_then_the_publish_time_stands_in(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=10)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    deliver(runner, clock, notification(ORDER, t0))
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))
    published_only = notification(ORDER, t0 + timedelta(minutes=1))
    published_only["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None

    result = deliver(runner, clock, published_only)

    assert what_became(result) == {"written": 1}
    assert stored_at(store, ORDER) == t0 + timedelta(minutes=1)


def test_given_notifications_of_one_order_in_a_batch_when_processed_then_one_call_and_all_acknowledged(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=10)).replace(microsecond=0)
    changes = [t0 + timedelta(minutes=minute) for minute in (0, 1, 2, 3)]
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changes[-1])

    result = deliver(runner, clock, *[notification(ORDER, at) for at in reversed(changes)])

    assert what_became(result) == {"written": 1, "coalesced": 3}
    assert emulator.sp_api_calls() == {"getOrder": 1}
    assert stored_at(store, ORDER) == changes[-1]


# -- lagging reads ----------------------------------------------------------------------------------


def test_given_a_lagging_read_when_amazon_answers_older_than_the_change_then_stored_and_the_record_waits(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, queue: Any, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=30)).replace(microsecond=0)
    # Two changes happened; Amazon's read still shows only the first of them.
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))

    first = deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=2)))

    [outcome] = first.outcomes
    assert (outcome.outcome, outcome.reason) == ("deferred", "NotReadyError")
    assert stored_at(store, ORDER) == t0 + timedelta(minutes=1)  # newer than nothing: kept meanwhile

    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    clock.now += 30
    second = deliver(runner, clock, *queue.deferred)

    assert what_became(second) == {"written": 1}
    assert stored_at(store, ORDER) == t0 + timedelta(minutes=2)


def test_given_a_read_still_lagging_an_hour_after_the_notification_when_asked_again_then_taken_as_answered(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, queue: Any, clock: SteppingClock
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=30)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0)
    deliver(runner, clock, notification(ORDER, t0 + timedelta(minutes=1)))

    clock.now += 3600
    second = deliver(runner, clock, *queue.deferred)

    assert what_became(second) == {"stale_accepted": 1}
    assert len(queue.deferred) == 1  # only the first delivery's copy
    assert stored_at(store, ORDER) == t0


# -- one budget, fairly -----------------------------------------------------------------------------


def test_given_a_slot_further_than_the_fair_wait_when_deferred_then_the_copy_comes_back_for_it_and_sends_in_it(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    queue: Any,
    clock: SteppingClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    another_container_holds(budget, seconds=20)  # its slots: up to +20 s, 2 s apart
    start = clock.now

    first = deliver(runner, clock, notification(ORDER, changed))

    # The slot after the other container's (+22 s) is kept for the order: the copy comes back a second
    # before it (SQS delays are whole seconds) and sends in it without a new reservation.
    [outcome] = first.outcomes
    assert (outcome.outcome, outcome.reason, outcome.delay_seconds) == ("deferred", "RateBudgetExhausted", 21)
    assert emulator.sp_api_calls() == {}

    clock.now = start + 21
    second = deliver(runner, clock, *queue.deferred)

    assert what_became(second) == {"written": 1} and stored_at(store, ORDER) is not None
    assert clock.now == pytest.approx(start + 22.0)
    assert emulator.sp_api_calls() == {"getOrder": 1} and sum(emulator.throttled.values()) == 0
    assert budget.next_slot_in(SELLER, GET_ORDER) == pytest.approx(2.0)  # its slot was spent once


def test_given_the_burst_spent_before_amazon_confirmed_the_plan_when_orders_arrive_then_they_wait_without_calls(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    for order_id in (ORDER, SECOND_ORDER):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
    spend_burst(budget)

    result = deliver(runner, clock, notification(ORDER, changed), notification(SECOND_ORDER, changed))

    # Nothing is held on a guessed plan: the records come back once Amazon's first answer can confirm it.
    assert [(o.outcome, o.reason, o.delay_seconds) for o in result.outcomes] == [
        ("deferred", "RateBudgetExhausted", int(UNCONFIRMED_RETRY_SECONDS))
    ] * 2
    assert emulator.sp_api_calls() == {}


def test_given_one_seller_out_of_budget_when_a_batch_mixes_sellers_then_the_other_is_served_without_waiting(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    directory.add(OTHER_SELLER)
    emulator.register_seller(OTHER_SELLER, f"Atzr|{OTHER_SELLER}")
    changed = now_of(clock) - timedelta(minutes=5)
    busy = [f"111-0000000-00000{index:02d}" for index in range(4)]
    calm = [f"222-0000000-00000{index:02d}" for index in range(3)]
    for order_id in busy:
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
    for order_id in calm:
        emulator.set_order(order_id, seller_id=OTHER_SELLER, last_updated=changed)
    another_container_holds(budget, seconds=120)
    start = clock.now

    result = deliver(
        runner,
        clock,
        *[notification(order_id, changed) for order_id in busy],
        *[notification(order_id, changed, seller=OTHER_SELLER) for order_id in calm],
    )

    assert clock.now - start <= FAIR_WAIT_SECONDS  # nobody waited for the busy seller's slots
    assert [o.outcome for o in result.outcomes[: len(busy)]] == ["deferred"] * len(busy)
    # Each busy order keeps its own slot, one interval after another.
    assert sorted(o.delay_seconds or 0 for o in result.outcomes[: len(busy)]) == [121, 123, 125, 127]
    assert all(
        stored_at(store, order_id, OTHER_SELLER) == changed.replace(microsecond=0) for order_id in calm
    )


def test_given_too_little_time_left_when_a_batch_plans_then_records_wait_without_calls_and_free_their_slots(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, queue: Any, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)

    short = deliver(runner, clock, notification(ORDER, changed), seconds=3.5)

    [outcome] = short.outcomes
    assert (outcome.outcome, outcome.delay_seconds) == ("deferred", 1)
    assert emulator.sp_api_calls() == {}
    # The order's claim was handed back: its copy is not told another container is fetching it.
    clock.now += 1
    assert what_became(deliver(runner, clock, *queue.deferred)) == {"written": 1}


# -- superseded notifications -----------------------------------------------------------------------


def test_given_no_slot_now_when_several_changes_of_one_order_wait_then_only_the_newest_stays_in_the_queue(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    waiting: FakeWaitingNotifications,
    queue: Any,
    clock: SteppingClock,
) -> None:
    t0 = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=2))
    another_container_holds(budget, seconds=20)
    older = [notification(ORDER, t0 + timedelta(minutes=minute)) for minute in (0, 1)]
    newest = notification(ORDER, t0 + timedelta(minutes=2))

    result = deliver(runner, clock, *older, newest, newest)  # the newest delivered twice

    assert what_became(result) == {"superseded": 2, "deferred": 2}
    # A redelivery of the newest must not be marked done either: both copies wait.
    assert [json.loads(sent.body) for sent in queue.deferred] == [newest, newest]
    newest_id = newest["NotificationMetadata"]["NotificationId"]
    assert waiting.waiting[(SELLER, ORDER)].notification_id == newest_id
    assert emulator.sp_api_calls() == {}


def test_given_a_newer_notification_waiting_when_an_older_one_of_its_order_comes_then_it_is_superseded(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, clock: SteppingClock
) -> None:
    older, newer = now_of(clock) - timedelta(minutes=2), now_of(clock) - timedelta(minutes=1)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_burst(budget)  # no slot within reach, and none held
    newest = notification(ORDER, newer, notification_id="11111111-1111-4111-8111-111111111111")
    assert what_became(deliver(runner, clock, newest)) == {"deferred": 1}

    late = deliver(runner, clock, notification(ORDER, older))
    same_change = deliver(runner, clock, notification(ORDER, newer))
    again = deliver(runner, clock, newest)

    assert what_became(late) == {"superseded": 1}
    assert what_became(same_change) == {"superseded": 1}  # of two as new, the recorded one waits
    assert what_became(again) == {"deferred": 1}  # the newest keeps waiting for its order
    assert emulator.sp_api_calls() == {}


def test_given_an_older_notification_waiting_when_a_newer_one_comes_then_the_older_is_superseded_when_it_returns(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, queue: Any, clock: SteppingClock
) -> None:
    older, newer = now_of(clock) - timedelta(minutes=2), now_of(clock) - timedelta(minutes=1)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_burst(budget)
    assert what_became(deliver(runner, clock, notification(ORDER, older))) == {"deferred": 1}
    assert what_became(deliver(runner, clock, notification(ORDER, newer))) == {"deferred": 1}

    returned = deliver(runner, clock, queue.deferred[0])

    assert what_became(returned) == {"superseded": 1}


def test_given_a_slot_held_for_an_order_when_an_older_notification_of_it_comes_then_it_waits_for_the_slot(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, clock: SteppingClock
) -> None:
    older, newer = now_of(clock) - timedelta(minutes=2), now_of(clock) - timedelta(minutes=1)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    another_container_holds(budget, seconds=60)  # the order's slot is a minute away: held for it
    assert what_became(deliver(runner, clock, notification(ORDER, newer))) == {"deferred": 1}

    result = deliver(runner, clock, notification(ORDER, older))

    # It holds the order's slot too: superseding it could leave the slot to nobody.
    assert what_became(result) == {"deferred": 1}


# -- another container's call -----------------------------------------------------------------------


def test_given_another_container_sending_for_the_order_when_it_stores_the_answer_then_read_instead_of_fetched(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    changed = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    budget.reserve_for(SELLER, GET_ORDER, {ORDER: None}, send_within=FAIR_WAIT_SECONDS, hold_within=60.0)
    # The other container's answer is stored a moment after its slot.
    clock.at(clock.now + 0.05, lambda: store.put_if_newer(OrderRecord(SELLER, ORDER, changed, {})))

    result = deliver(runner, clock, notification(ORDER, changed))

    assert what_became(result) == {"skipped": 1}
    assert emulator.sp_api_calls() == {}


def test_given_another_container_sending_for_the_order_when_nothing_is_stored_then_the_record_asks_again_later(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    budget.reserve_for(SELLER, GET_ORDER, {ORDER: None}, send_within=FAIR_WAIT_SECONDS, hold_within=60.0)

    # That call failed or lags: the record reads the table for a while, then waits instead of calling too.
    result = deliver(runner, clock, notification(ORDER, changed))

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason, outcome.delay_seconds) == ("deferred", "RateBudgetExhausted", 2)
    assert emulator.sp_api_calls() == {}


def test_given_another_container_sending_for_the_order_beyond_the_fair_wait_then_the_record_comes_back_after_it(
    emulator: SpApiEmulator, runner: BatchRunner, budget: RateBudget, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    spend_burst(budget)
    budget.observe_limit_header(SELLER, GET_ORDER, "0.5")
    # Its slots: +2, +4, +6 for other orders, +8 for this one.
    others = {f"999-0000000-{index:07d}": None for index in range(3)}
    budget.reserve_for(SELLER, GET_ORDER, {**others, ORDER: None}, send_within=10.0, hold_within=60.0)

    result = deliver(runner, clock, notification(ORDER, changed))

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.delay_seconds) == ("deferred", 8)
    assert emulator.sp_api_calls() == {}


def test_given_the_order_stored_elsewhere_while_waiting_for_its_slot_then_no_call_and_the_slot_is_free_again(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    changed = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    spend_burst(budget)
    budget.observe_limit_header(SELLER, GET_ORDER, "0.5")  # the next slot, in 2 s, is within the fair wait
    # Another container's batch (or a backlog page) stores the order while this one waits for the slot.
    clock.at(clock.now + 1.0, lambda: store.put_if_newer(OrderRecord(SELLER, ORDER, changed, {})))

    result = deliver(runner, clock, notification(ORDER, changed))

    assert what_became(result) == {"skipped": 1}
    assert emulator.sp_api_calls() == {}
    assert budget.next_slot_in(SELLER, GET_ORDER) == 0.0  # the unused slot went back to the budget


# -- backlog mode -----------------------------------------------------------------------------------


def backlog(emulator: SpApiEmulator, clock: FakeClock, count: int) -> tuple[datetime, list[str]]:
    """``count`` orders changed (one a second) longer ago than getOrder clears a backlog."""
    old = (now_of(clock) - timedelta(seconds=SEARCH_SETTLE_SECONDS + BACKLOG_AGE_SECONDS + 600)).replace(
        microsecond=0
    )
    orders = [f"444-0000000-0000{index:03d}" for index in range(count)]
    for index, order_id in enumerate(orders):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=old + timedelta(seconds=index))
    return old, orders


def test_given_a_backlog_older_than_getorder_can_clear_then_search_pages_store_every_order_conditionally(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 150)
    # The table already holds a newer state of one order than the search will return: never regressed.
    ahead = orders[7]
    store.put_if_newer(OrderRecord(SELLER, ahead, old + timedelta(minutes=10), {}))
    another_container_holds(budget, seconds=60)
    first = [
        notification(order_id, old + timedelta(seconds=index)) for index, order_id in enumerate(orders[:10])
    ]

    result = deliver(runner, clock, *first)

    assert what_became(result) == {"skipped": 10}
    assert emulator.sp_api_calls() == {"searchOrders": 2}  # 100 + 50 orders, one window
    assert all(stored_at(store, order_id) is not None for order_id in orders)
    assert stored_at(store, ahead) == old + timedelta(minutes=10)
    assert store.orders[(SELLER, orders[0])].attributes["source"] == "searchOrders"

    # Notifications still waiting in the queue for orders of the window need no call either.
    rest = [
        notification(order_id, old + timedelta(seconds=index + 10))
        for index, order_id in enumerate(orders[10:20])
    ]
    assert what_became(deliver(runner, clock, *rest)) == {"skipped": 10}
    assert emulator.sp_api_calls() == {"searchOrders": 2}


def test_given_a_getorder_slot_reserved_for_an_order_a_search_page_stored_then_it_serves_an_order_the_window_does_not_cover(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 3)
    recent = (now_of(clock) - timedelta(minutes=1)).replace(microsecond=0)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=recent)
    spend_burst(budget)
    budget.observe_limit_header(SELLER, GET_ORDER, "0.5")  # one slot within the fair wait, the rest held
    messages = [notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)]

    result = deliver(runner, clock, *messages, notification(SECOND_ORDER, recent))

    # The slot went to the oldest change; the page brought that one, and the slot fetched the recent one.
    assert what_became(result) == {"skipped": 3, "written": 1}
    assert emulator.sp_api_calls() == {"searchOrders": 1, "getOrder": 1}
    assert stored_at(store, SECOND_ORDER) == recent


def test_given_a_backlog_when_searchorders_has_no_slot_then_one_record_returns_for_the_next_page_and_the_others_wait(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 4)
    another_container_holds(budget, seconds=60)
    spend_burst(budget, SEARCH_ORDERS)
    next_page_in = budget.next_slot_in(SELLER, SEARCH_ORDERS)

    result = deliver(
        runner, clock, *[notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)]
    )

    delays = sorted(outcome.delay_seconds or 0 for outcome in result.outcomes)
    assert delays == [int(next_page_in)] + [int(COVERED_WAIT_SECONDS)] * 3
    assert emulator.sp_api_calls() == {} and store.orders == {}


def test_given_a_window_leased_by_another_container_when_a_batch_needs_it_then_it_waits_instead_of_paging_too(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    windows: FakeSearchWindows,
    queue: Any,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 4)
    another_container_holds(budget, seconds=60)
    spend_burst(budget, SEARCH_ORDERS)
    deliver(runner, clock, *[notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)])
    [(key, window)] = windows.windows.items()
    assert windows.claim(key, window, lease_seconds=60.0) is not None  # another container pages on
    queue.deferred.clear()
    clock.now += 1

    result = deliver(
        runner, clock, *[notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)]
    )

    delays = sorted(outcome.delay_seconds or 0 for outcome in result.outcomes)
    assert delays == [int(LEASED_WINDOW_WAIT_SECONDS)] + [int(COVERED_WAIT_SECONDS)] * 3
    assert emulator.sp_api_calls() == {}


def test_given_a_search_page_failing_when_paging_then_the_window_waits_for_the_next_batch(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    queue: Any,
    clock: SteppingClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old, orders = backlog(emulator, clock, 3)
    another_container_holds(budget, seconds=60)
    emulator.fail_next("searchOrders", 503, count=10)
    messages = [notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)]

    failed = deliver(runner, clock, *messages)

    assert what_became(failed) == {"deferred": 3} and store.orders == {}
    assert "backlog search page failed" in caplog.text

    emulator.clear_failures()
    clock.now += 60
    retried = deliver(runner, clock, *messages)

    assert what_became(retried) == {"skipped": 3}
    assert all(stored_at(store, order_id) is not None for order_id in orders)


def test_given_too_little_time_left_for_a_search_page_when_a_backlog_needs_one_then_the_window_waits(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 3)
    another_container_holds(budget, seconds=60)

    result = deliver(
        runner,
        clock,
        *[notification(o, old + timedelta(seconds=i)) for i, o in enumerate(orders)],
        seconds=12.0,
    )

    # searchOrders has a slot now: the first record comes back for it, in the fair wait.
    delays = sorted(outcome.delay_seconds or 0 for outcome in result.outcomes)
    assert delays == [int(FAIR_WAIT_SECONDS)] + [int(COVERED_WAIT_SECONDS)] * 2
    assert emulator.sp_api_calls() == {} and store.orders == {}


def test_given_a_change_the_last_window_covered_when_its_page_showed_an_older_state_then_getorder_serves_it(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budget: RateBudget,
    store: FakeOrderStore,
    queue: Any,
    clock: SteppingClock,
) -> None:
    old, orders = backlog(emulator, clock, 3)
    another_container_holds(budget, seconds=60)
    start = clock.now
    # Amazon's search still shows the first order before its latest change (a lagging read).
    lagging = notification(orders[0], old + timedelta(seconds=30))
    others = [
        notification(orders[1], old + timedelta(seconds=1)),
        notification(orders[2], old + timedelta(seconds=2)),
    ]

    first = deliver(runner, clock, lagging, *others)

    assert what_became(first) == {"skipped": 2, "deferred": 1}
    [copy] = queue.deferred
    clock.now += 1
    recent = now_of(clock) - timedelta(minutes=1)
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=recent)
    # Back early (a redelivery), with a recent change of another order: both wait for getOrder slots.
    again = deliver(runner, clock, copy, notification(SECOND_ORDER, recent))

    assert what_became(again) == {"deferred": 2}
    assert emulator.sp_api_calls() == {"searchOrders": 1}  # no second window over the same changes

    emulator.set_order(orders[0], seller_id=SELLER, last_updated=old + timedelta(seconds=30))
    clock.now = start + copy.delay_seconds
    served = deliver(runner, clock, copy)

    assert what_became(served) == {"written": 1}
    assert stored_at(store, orders[0]) == old + timedelta(seconds=30)
    assert emulator.sp_api_calls() == {"searchOrders": 1, "getOrder": 1}


# -- sellers and failures ---------------------------------------------------------------------------


def test_given_lwa_refusing_the_seller_when_its_orders_arrive_then_they_wait_for_reauthorisation_without_more_exchanges(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budgets: FakeRateBudgets,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    for order_id in (ORDER, SECOND_ORDER):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
    emulator.revoke_seller(SELLER)
    messages = [notification(ORDER, changed), notification(SECOND_ORDER, changed)]
    budget = budgets.for_account(APP[0], Region.NA.value)

    first = deliver(runner, clock, *messages)
    left = budget.tokens_of(SELLER, GET_ORDER)
    again = deliver(runner, clock, *messages)

    for result in (first, again):
        assert [(o.outcome, o.reason) for o in result.outcomes] == [("deferred", "seller_credentials")] * 2
    # One exchange found the refusal; the seller's other order and the next batch did not ask again,
    # and the next batch did not even reserve budget for calls that cannot succeed.
    assert emulator.calls["lwaToken"] == 1
    assert budget.tokens_of(SELLER, GET_ORDER) == left
    assert emulator.sp_api_calls() == {} and store.orders == {}


def test_given_an_unknown_seller_when_its_orders_arrive_then_dead_lettered_and_other_sellers_served(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, queue: Any, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    unknown = "A9UNKNOWNSELLER"

    result = deliver(
        runner,
        clock,
        notification(SECOND_ORDER, changed, seller=unknown),
        notification("123-0000000-0000001", changed, seller=unknown),
        notification(ORDER, changed),
    )

    assert [(o.outcome, o.reason) for o in result.outcomes] == [
        ("dead_lettered", "unknown_seller"),
        ("dead_lettered", "unknown_seller"),
        ("applied", None),
    ]
    assert len(queue.dead_letters) == 2
    assert stored_at(store, ORDER) is not None


def test_given_an_order_amazon_does_not_know_when_its_notification_arrives_then_dead_lettered(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    result = deliver(runner, clock, notification(ORDER, now_of(clock) - timedelta(minutes=5)))

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == ("dead_lettered", "spapi_not_found")
    assert store.orders == {}


def test_given_amazon_throttling_the_seller_when_a_batch_fetches_then_its_orders_wait_and_nothing_is_stored(
    emulator: SpApiEmulator, runner: BatchRunner, store: FakeOrderStore, clock: SteppingClock
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    for order_id in (ORDER, SECOND_ORDER):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=changed)
    emulator.fail_next("getOrder", 429, count=10)

    result = deliver(runner, clock, notification(ORDER, changed), notification(SECOND_ORDER, changed))

    assert [(o.outcome, o.reason) for o in result.outcomes] == [
        ("deferred", "SpApiThrottled"),
        ("deferred", "RateBudgetExhausted"),
    ]
    # The seller's bucket is spent: its other order is not sent into it.
    assert {request.path for request in emulator.requests if request.operation == "getOrder"} == {
        f"/orders/2026-01-01/orders/{ORDER}"
    }
    assert store.orders == {}


def test_given_amazon_answering_with_another_order_when_fetched_then_nothing_stored_and_retried(
    directory: FakeSellerDirectory,
    make_spapi: Any,
    make_runner: Any,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    changed = now_of(clock) - timedelta(minutes=5)
    answer = {
        "order": {
            "orderId": "111-1111111-1111111",
            "createdTime": "2026-09-01T00:00:00Z",
            "lastUpdatedTime": "2026-09-21T00:00:00Z",
        }
    }
    spapi = make_spapi(FakeTransport([response(200, answer)]))
    runner = make_runner(
        OrderChangeUseCase(directory, spapi, store, clock=clock), catalog.consumer("orders").accepts
    )

    result = deliver(runner, clock, notification(ORDER, changed))

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == ("retry", "OrderResponseError")
    assert store.orders == {}


# -- Orders v0 and planning -------------------------------------------------------------------------


def test_given_orders_v0_when_an_order_changes_then_it_is_stored_with_its_items_and_buyer_data(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    make_runner: Any,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    changed = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    items = [{"seller_sku": f"SKU-{index}", "quantity": 1} for index in range(3)]
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed, status="Shipped", items=items)
    use_case = OrderChangeUseCase(directory, spapi, store, orders_api_version="v0", clock=clock)
    runner = make_runner(use_case, catalog.consumer("orders").accepts)

    result = deliver(runner, clock, notification(ORDER, changed))

    assert what_became(result) == {"written": 1}
    record = store.orders[(SELLER, ORDER)]
    assert record.last_updated == changed
    assert record.attributes["source_api"] == "orders/v0" and record.attributes["order_status"] == "SHIPPED"
    assert [item["SellerSKU"] for item in record.attributes["items"]] == ["SKU-0", "SKU-1", "SKU-2"]
    assert set(store.pii[(SELLER, ORDER)]) == {"BuyerInfo", "ShippingAddress"}  # with a Restricted Data Token
    assert emulator.sp_api_calls() == {"createRestrictedDataToken": 1, "getOrder": 1, "getOrderItems": 2}


class TableReadFailingOnce(FakeOrderStore):
    """The first read of stored states fails (a throttled table), later ones succeed."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def last_updated_of(self, orders: Any) -> dict[tuple[str, str], datetime]:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the table did not answer")
        return super().last_updated_of(orders)


def test_given_batch_planning_failing_when_processed_then_each_record_is_applied_on_its_own(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    make_runner: Any,
    clock: SteppingClock,
) -> None:
    t0 = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=t0 + timedelta(minutes=1))
    emulator.set_order(SECOND_ORDER, seller_id=SELLER, last_updated=t0)
    store = TableReadFailingOnce()
    runner = make_runner(
        OrderChangeUseCase(directory, spapi, store, clock=clock), catalog.consumer("orders").accepts
    )

    result = deliver(
        runner,
        clock,
        notification(ORDER, t0 + timedelta(minutes=1)),
        notification(ORDER, t0),
        notification(SECOND_ORDER, t0),
    )

    # Without the plan the two notifications of one order are not coalesced, but the second finds it stored.
    assert what_became(result) == {"written": 2, "skipped": 1}
    assert emulator.sp_api_calls() == {"getOrder": 2}
    assert stored_at(store, ORDER) == t0 + timedelta(minutes=1) and stored_at(store, SECOND_ORDER) == t0


def test_given_a_notification_applied_outside_a_batch_when_its_order_changed_then_it_is_fetched_and_stored(
    emulator: SpApiEmulator, use_case: OrderChangeUseCase, store: FakeOrderStore, clock: SteppingClock
) -> None:
    changed = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)
    parsed = parse_delivery(json.dumps(notification(ORDER, changed))).notification
    assert isinstance(parsed, OrderChangeNotification)

    summary = use_case.apply(parsed, lambda: 30.0)

    assert summary["outcome"] == "written" and stored_at(store, ORDER) == changed


# -- what is only an optimisation may fail --------------------------------------------------------


class UnreadableWaitingNotifications(FakeWaitingNotifications):
    def newest_of(self, orders: Any) -> dict[tuple[str, str], Any]:
        raise ConnectionError("the table did not answer")


def test_given_waiting_notifications_unreadable_when_an_older_change_comes_then_it_waits_for_itself(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    spapi: SpApiAccess,
    make_runner: Any,
    budget: RateBudget,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    older, newer = now_of(clock) - timedelta(minutes=2), now_of(clock) - timedelta(minutes=1)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=newer)
    spend_burst(budget)
    use_case = OrderChangeUseCase(
        directory, spapi, store, waiting=UnreadableWaitingNotifications(), clock=clock
    )
    runner = make_runner(use_case, catalog.consumer("orders").accepts)
    deliver(runner, clock, notification(ORDER, newer))

    result = deliver(runner, clock, notification(ORDER, older))

    # Not acknowledged on a guess: without knowing what waits, each notification waits for its order.
    assert what_became(result) == {"deferred": 1}


class BudgetNotTakingSlotsBack(RateLimiter):
    def release(self, seller_key: str, operation: str, unsent: Sequence[str] = ()) -> None:
        raise ConnectionError("the budget's table did not answer")


def test_given_unused_slots_not_taken_back_when_a_batch_ends_then_its_records_are_applied_all_the_same(
    emulator: SpApiEmulator,
    runner: BatchRunner,
    budgets: FakeRateBudgets,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    budgets.budgets[(APP[0], Region.NA.value)] = BudgetNotTakingSlotsBack(clock=clock, sleep=clock.sleep)
    changed = (now_of(clock) - timedelta(minutes=5)).replace(microsecond=0)
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=changed)

    result = deliver(runner, clock, notification(ORDER, changed))

    assert what_became(result) == {"written": 1} and stored_at(store, ORDER) == changed


def test_given_a_batch_with_a_sellers_orders_in_two_regions_when_applied_then_each_is_fetched_in_its_region(
    emulator: SpApiEmulator,
    directory: FakeSellerDirectory,
    budgets: Any,
    make_runner: Any,
    store: FakeOrderStore,
    clock: SteppingClock,
) -> None:
    # Given: the seller authorised in NA and in EU, an order in the US and one in Germany, and
    # endpoints that serve one region each (as Amazon's do)
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
    runner = make_runner(
        OrderChangeUseCase(directory, regional, store, clock=clock), catalog.consumer("orders").accepts
    )

    # When: one batch carries both (the US one first)
    result = deliver(
        runner,
        clock,
        notification(us_order, changed),
        order_change(
            seller_id=SELLER,
            order_id=german_order,
            status="Unshipped",
            changed_at=changed,
            marketplace_id="A1PA6795UKMFR9",
        ),
    )

    # Then: each is fetched on its own region's endpoint with that region's token, and stored
    assert [o.outcome for o in result.outcomes] == ["applied", "applied"]
    assert stored_at(store, us_order) is not None and stored_at(store, german_order) is not None
    assert emulator.sp_api_calls_by_region() == {"NA": 1, "EU": 1, "FE": 0}
