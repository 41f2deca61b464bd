"""Token buckets per (seller, operation), seeded from Amazon's plans, learning from its header."""

from __future__ import annotations

import threading

import pytest

from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, FALLBACK_PLAN, RateLimiter, RatePlan
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


def test_given_a_reservation_when_made_then_slots_one_interval_apart_after_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.5, 2)})
    limiter.observe_limit_header("S", "op", "0.5")  # the plan confirmed by Amazon's header

    reservation = limiter.reserve("S", "op", 5, first_within=0.0, last_within=5.0)

    assert reservation.slots == (clock.now, clock.now, clock.now + 2.0, clock.now + 4.0)
    assert reservation.next_slot_in == pytest.approx(6.0) and reservation.interval == pytest.approx(2.0)


def test_given_a_first_slot_further_than_allowed_when_reserving_then_nothing_granted() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.5, 1)})
    limiter.acquire("S", "op", max_wait=0)

    reservation = limiter.reserve("S", "op", 3, first_within=1.0, last_within=30.0)

    assert reservation.granted == 0 and reservation.next_slot_in == pytest.approx(2.0)


def test_given_pooled_slots_when_acquiring_then_used_in_order_and_unused_ones_handed_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.5, 1)})
    limiter.observe_limit_header("S", "op", "0.5")
    limiter.reserve("S", "op", 3, first_within=0.0, last_within=10.0)

    limiter.acquire("S", "op", max_wait=0)
    limiter.release("S", "op")

    # The two unused slots (+2, +4) serve the next reservation before fresh ones (+6).
    reservation = limiter.reserve("S", "op", 3, first_within=5.0, last_within=10.0)
    assert reservation.slots == (clock.now + 2.0, clock.now + 4.0, clock.now + 6.0)


def test_given_a_spare_token_when_scheduling_then_the_burst_leaves_it_unused() -> None:
    from sellerstream.spapi.ratelimit import Gcra

    bucket = Gcra.full(RatePlan(1.0, 5), now=0.0, spare=1)

    assert bucket.reserve(0.0, 6, first_by=0.0, last_by=0.0) == [0.0] * 4
    bucket.empty(0.0)
    assert bucket.slot(0.0) == pytest.approx(1.0)


def test_given_handed_back_slots_when_reserving_then_they_go_first_and_a_429_discards_them() -> None:
    from sellerstream.spapi.ratelimit import Gcra

    bucket = Gcra.full(RatePlan(1.0, 1), now=0.0)
    bucket.confirmed = True
    assert bucket.reserve(0.0, 4, first_by=0.0, last_by=10.0) == [0.0, 1.0, 2.0, 3.0]
    bucket.hand_back([2.0, 3.0], now=1.5)

    assert bucket.reserve(1.5, 3, first_by=5.0, last_by=10.0) == [2.0, 3.0, 4.0]
    bucket.hand_back([4.0], now=1.5)
    bucket.empty(1.5)
    assert bucket.slot(1.5) == pytest.approx(5.0)


def test_given_v0_and_2026_paths_when_metered_then_two_operations() -> None:
    from sellerstream.spapi.ratelimit import metered_operation, plan_for

    v0 = metered_operation("getOrder", "/orders/v0/orders/123-4567890-1234567")
    new = metered_operation("getOrder", "/orders/2026-01-01/orders/123-4567890-1234567")

    assert (v0, new) == ("orders/v0:getOrder", "orders/2026-01-01:getOrder")
    assert plan_for(v0, DEFAULT_RATE_PLANS) == plan_for(new, DEFAULT_RATE_PLANS) == RatePlan(0.5, 30)


def test_given_a_plan_not_yet_confirmed_by_amazon_when_reserving_then_nothing_beyond_the_first_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": RatePlan(0.5, 2)})

    guessed = limiter.reserve("S", "op", 5, first_within=0.0, last_within=30.0)
    limiter.observe_limit_header("S", "op", "2")
    confirmed = limiter.reserve("S", "op", 3, first_within=30.0, last_within=30.0)

    assert guessed.slots == (clock.now, clock.now)  # the burst only: the default rate is a guess
    assert confirmed.slots == (clock.now + 0.5, clock.now + 1.0, clock.now + 1.5)
