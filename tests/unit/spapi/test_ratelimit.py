"""Token buckets per (seller, operation), seeded from Amazon's plans, learning from its header."""

from __future__ import annotations

import threading

import pytest

from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import (
    DEFAULT_RATE_PLANS,
    FALLBACK_PLAN,
    CappedWait,
    Gcra,
    RateLimiter,
    RatePlan,
    metered_operation,
    plan_for,
)
from tests.support.fakes import FakeClock


@pytest.mark.parametrize(
    ("operation", "rate", "burst"),
    [
        ("getOrder", 0.5, 30),
        ("getOrderItems", 0.5, 30),
        ("getOrderAddress", 0.5, 30),
        ("getOrderBuyerInfo", 0.5, 30),
        ("getOrders", 0.0167, 20),
        ("searchOrders", 0.0056, 20),
        ("getListingsItem", 5, 10),
        ("getReport", 2, 15),
        ("getReportDocument", 0.0167, 15),
        ("createRestrictedDataToken", 1, 10),
        ("getSubscription", 1, 5),
        ("createSubscription", 1, 5),
        ("deleteSubscriptionById", 1, 5),
        ("getDestinations", 1, 5),
        ("getDestination", 1, 5),
        ("createDestination", 1, 5),
        ("deleteDestination", 1, 5),
    ],
)
def test_default_plans_are_amazons(operation: str, rate: float, burst: int) -> None:
    assert DEFAULT_RATE_PLANS[operation] == RatePlan(rate, burst)


def test_given_default_plan_when_burst_spent_then_next_token_after_one_over_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(DEFAULT_RATE_PLANS["getOrder"].burst):
        assert limiter.acquire("S", "getOrder", max_wait=0) == 0.0

    waited = limiter.acquire("S", "getOrder", max_wait=10)

    assert waited == pytest.approx(2.0)  # 0.5 requests per second
    assert clock.slept == [pytest.approx(2.0)]


def test_given_wait_longer_than_allowed_when_acquiring_then_budget_exhausted_without_sleeping() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"searchOrders": RatePlan(0.0056, 1)})
    limiter.acquire("S", "searchOrders", max_wait=0)

    with pytest.raises(RateBudgetExhausted) as caught:
        limiter.acquire("S", "searchOrders", max_wait=60)

    assert clock.slept == []
    assert caught.value.wait_needed == pytest.approx(1 / 0.0056)
    assert caught.value.operation == "searchOrders" and caught.value.retriable
    assert "searchOrders" in str(caught.value)


def test_given_time_passes_when_acquiring_then_bucket_refills_up_to_burst_only() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(1.0, 3)})
    for _ in range(3):
        limiter.acquire("S", "op", max_wait=0)

    clock.now += 1000

    assert limiter.tokens_of("S", "op") == pytest.approx(3.0)


def test_given_sellers_when_one_exhausted_then_other_unaffected() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(30):
        limiter.acquire("S1", "getOrder", max_wait=0)

    assert limiter.acquire("S2", "getOrder", max_wait=0) == 0.0
    assert limiter.acquire("S1", "getOrderItems", max_wait=0) == 0.0
    with pytest.raises(RateBudgetExhausted):
        limiter.acquire("S1", "getOrder", max_wait=1.0)


def test_given_unknown_operation_when_acquiring_then_conservative_fallback_plan() -> None:
    limiter = RateLimiter(clock=FakeClock())

    limiter.acquire("S", "someNewOperation", max_wait=0)

    assert limiter.rate_of("S", "someNewOperation") == FALLBACK_PLAN.rate
    assert limiter.tokens_of("S", "someNewOperation") == pytest.approx(FALLBACK_PLAN.burst - 1)


@pytest.mark.parametrize("bad", ["not-a-number", None, "", "0", "-1", "nan", "inf"])
def test_given_rate_header_when_observed_then_rate_updated_and_bad_values_ignored(bad: str | None) -> None:
    limiter = RateLimiter(clock=FakeClock())

    limiter.observe_limit_header("S", "getOrder", "5.0")
    limiter.observe_limit_header("S", "getOrder", bad)

    assert limiter.rate_of("S", "getOrder") == 5.0


def test_given_learnt_rate_when_bucket_empty_then_waits_by_the_new_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"getOrder": RatePlan(0.5, 1)})
    limiter.acquire("S", "getOrder", max_wait=0)

    limiter.observe_limit_header("S", "getOrder", "4")

    assert limiter.acquire("S", "getOrder", max_wait=1) == pytest.approx(0.25)


def test_given_throttled_when_reported_then_bucket_emptied() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)

    limiter.on_throttled("S", "getListingsItem")

    assert limiter.tokens_of("S", "getListingsItem") == 0.0
    with pytest.raises(RateBudgetExhausted) as caught:
        limiter.acquire("S", "getListingsItem", max_wait=0.1)
    assert caught.value.wait_needed == pytest.approx(0.2)  # 5 requests per second


def test_given_threads_sharing_a_bucket_when_acquiring_then_never_more_than_burst_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.001, 10)})
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            limiter.acquire("S", "op", max_wait=0)
            outcome = True
        except RateBudgetExhausted:
            outcome = False
        with lock:
            granted.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 10


def test_given_a_bucket_when_taking_slots_then_the_burst_at_once_then_one_per_interval() -> None:
    bucket = Gcra.full(RatePlan(0.5, 2), now=0.0)

    taken = [bucket.take(0.0, max_wait=10.0) for _ in range(5)]

    assert taken == [0.0, 0.0, 2.0, 4.0, 6.0]
    assert bucket.slot(0.0) == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("taken", "expected"),
    [(0, 0.0), (1, 2.0), (3, 6.0)],
    ids=["full", "one-taken", "three-taken"],
)
def test_given_slots_taken_when_keeping_the_burst_then_the_slot_is_when_the_bucket_is_full_again(
    taken: int, expected: float
) -> None:
    # Given a bucket of burst 3 at 0.5/s with `taken` slots spent at 0
    bucket = Gcra.full(RatePlan(0.5, 3), now=0.0)
    for _ in range(taken):
        bucket.take(0.0, max_wait=60.0)

    # When a caller keeping the burst asks, and one spending it
    kept, spent = bucket.slot(0.0, keep_burst=True), bucket.slot(0.0)

    # Then keeping the burst waits until every spent slot has refilled; spending does not wait
    # while the burst lasts
    assert kept == pytest.approx(expected)
    assert spent == pytest.approx(0.0 if taken < 3 else 2.0)


def test_given_a_limiter_when_keeping_the_burst_then_only_what_refills_is_spent() -> None:
    # Given searchOrders' bucket (20 pages, one per 180 s) with one page taken
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.acquire("S", "searchOrders", max_wait=0.0)

    # When a caller keeping the burst asks, through a capped wait as the drainer does
    capped = CappedWait(limiter, "searchOrders", 0.0)
    waits = (
        capped.next_slot_in("S", "searchOrders", keep_burst=True),
        capped.next_slot_in("S", "searchOrders"),
    )

    # Then it waits for the page to refill (one interval); a caller spending the burst does not
    assert waits[0] == pytest.approx(1 / 0.0056, rel=1e-3)
    assert waits[1] <= 0.0


@pytest.mark.parametrize(
    ("taken", "deadline", "expected"),
    [(0, 0.0, 0), (0, 0.001, 3), (0, 2.0, 3), (0, 2.001, 4), (3, 2.0, 0), (3, 5.0, 2)],
)
def test_given_a_bucket_when_counting_slots_before_a_deadline_then_the_burst_and_the_refill_count(
    taken: int, deadline: float, expected: int
) -> None:
    # Given a bucket of burst 3 at 0.5/s with `taken` slots spent at 0
    bucket = Gcra.full(RatePlan(0.5, 3), now=0.0)
    for _ in range(taken):
        bucket.take(0.0, max_wait=60.0)

    # Then the requests it could send from 0 until just before the deadline: what is left of the
    # burst, then one every 2 s
    assert bucket.slots_before(0.0, deadline) == expected


def test_given_a_capped_wait_keeping_the_burst_when_its_operation_is_taken_then_only_a_full_bucket_gives() -> (
    None
):
    # Given searchOrders' bucket one page short of full, through a capped wait keeping the burst
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.acquire("S", "searchOrders", max_wait=0.0)
    capped = CappedWait(limiter, "searchOrders", 0.0, keep_burst=True)

    # When a page is taken now, and once the bucket has refilled
    with pytest.raises(RateBudgetExhausted):
        capped.acquire("S", "searchOrders", max_wait=60.0)
    clock.sleep(1 / 0.0056)
    waited = capped.acquire("S", "searchOrders", max_wait=0.0)

    # Then the first is refused (the burst stays whole), the second taken; other operations untouched
    assert waited == 0.0
    assert capped.acquire("S", "getOrder", max_wait=0.0) == 0.0


def test_given_a_slot_further_than_the_wait_when_taking_then_nothing_is_taken() -> None:
    bucket = Gcra.full(RatePlan(0.5, 1), now=0.0)
    bucket.take(0.0, max_wait=0.0)

    refused = bucket.take(0.0, max_wait=1.0)

    assert refused is None
    assert bucket.tat == 2.0 and bucket.slot(0.0) == pytest.approx(2.0)  # the bucket as it was


def test_given_a_slot_due_within_a_microsecond_when_a_caller_cannot_wait_then_it_is_granted() -> None:
    # A stored time kept to the microsecond can put a slot that is there a few microseconds ahead.
    bucket = Gcra(tat=1_790_000_000.000003, rate=0.5, burst=1)

    at = bucket.take(1_790_000_000.0, max_wait=0.0)

    assert at == pytest.approx(1_790_000_000.0, abs=1e-5)
    assert bucket.tat == pytest.approx(1_790_000_002.0, abs=1e-5)


def test_given_spare_seconds_when_taking_then_the_burst_leaves_them_unused_at_most_a_token() -> None:
    # Given a bucket of 5 at 1/s keeping a second spare (a whole token), and one of 3 at one a
    # minute keeping a second (a sixtieth of a token)
    fast = Gcra.full(RatePlan(1.0, 5), now=0.0, spare_seconds=1.0)
    slow = Gcra.full(RatePlan(1 / 60, 3), now=0.0, spare_seconds=1.0)

    # When each is taken at once, more than its burst
    fast_taken = [fast.take(0.0, max_wait=0.0) for _ in range(6)]
    slow_taken = [slow.take(0.0, max_wait=1.0) for _ in range(4)]

    # Then the fast one holds a token back; the slow one only the second: its last token comes a
    # second later, not a minute
    assert fast_taken == [0.0] * 4 + [None] * 2
    assert slow_taken[:2] == [0.0, 0.0] and slow_taken[2] == pytest.approx(1.0) and slow_taken[3] is None
    fast.empty(0.0)
    assert fast.slot(0.0) == pytest.approx(1.0)


def test_given_slots_taken_ahead_when_throttled_then_the_next_waits_a_full_interval_past_them() -> None:
    bucket = Gcra.full(RatePlan(1.0, 1), now=0.0)
    for _ in range(4):
        bucket.take(0.0, max_wait=10.0)  # 0, 1, 2, 3

    bucket.empty(1.5)

    assert bucket.slot(1.5) == pytest.approx(4.0)  # never earlier than what was already taken
    bucket.empty(10.0)
    assert bucket.slot(10.0) == pytest.approx(11.0)


def test_given_a_faster_rate_learnt_when_slots_were_taken_ahead_then_new_ones_come_after_them() -> None:
    bucket = Gcra.full(RatePlan(0.5, 2), now=0.0)
    for _ in range(4):
        bucket.take(0.0, max_wait=10.0)  # 0, 0, 2, 4

    bucket.set_rate(0.0, 2.0)

    assert bucket.slot(0.0) >= 4.0 + bucket.interval  # after the last slot taken at the old rate
    assert bucket.tokens(0.0) <= 0.0  # and no tokens appear from learning the rate


def test_given_a_capped_wait_when_its_operation_is_further_then_exhausted_and_others_untouched() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.5, 1), "other": RatePlan(0.5, 1)}
    )
    capped = CappedWait(limiter, "op", max_wait=1.0)
    capped.acquire("S", "op", max_wait=60.0)
    capped.acquire("S", "other", max_wait=60.0)

    with pytest.raises(RateBudgetExhausted) as caught:
        capped.acquire("S", "op", max_wait=60.0)
    waited = capped.acquire("S", "other", max_wait=60.0)

    assert caught.value.wait_needed == pytest.approx(2.0) and clock.slept == [pytest.approx(2.0)]
    assert waited == pytest.approx(2.0)
    assert capped.next_slot_in("S", "op") == pytest.approx(0.0)  # the wait for "other" refilled it


def test_given_v0_and_2026_paths_when_metered_then_two_operations() -> None:
    v0 = metered_operation("getOrder", "/orders/v0/orders/123-4567890-1234567")
    new = metered_operation("getOrder", "/orders/2026-01-01/orders/123-4567890-1234567")

    assert (v0, new) == ("orders/v0:getOrder", "orders/2026-01-01:getOrder")
    assert plan_for(v0, DEFAULT_RATE_PLANS) == plan_for(new, DEFAULT_RATE_PLANS) == RatePlan(0.5, 30)
