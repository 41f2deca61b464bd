"""Token buckets per (seller, operation), seeded from Amazon's plans, learning from its header."""

from __future__ import annotations

import pytest

from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, BudgetExceeded, RateLimiter
from tests.support.fakes import FakeClock


def test_given_default_plan_when_burst_spent_then_next_token_after_one_over_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(DEFAULT_RATE_PLANS["getOrder"].burst):
        assert limiter.acquire("S", "getOrder", max_wait=0) == 0.0

    waited = limiter.acquire("S", "getOrder", max_wait=10)

    assert waited == pytest.approx(2.0)  # 0.5 requests per second


def test_given_sellers_when_one_exhausted_then_other_unaffected() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(30):
        limiter.acquire("S1", "getOrder", max_wait=0)

    assert limiter.acquire("S2", "getOrder", max_wait=0) == 0.0
    with pytest.raises(BudgetExceeded):
        limiter.acquire("S1", "getOrder", max_wait=1.0)


def test_given_rate_header_when_observed_then_rate_updated_and_bad_values_ignored() -> None:
    limiter = RateLimiter(clock=FakeClock())

    limiter.observe_limit_header("S", "getOrder", "5.0")
    limiter.observe_limit_header("S", "getOrder", "not-a-number")
    limiter.observe_limit_header("S", "getOrder", None)

    assert limiter.rate_of("S", "getOrder") == 5.0


def test_given_throttled_when_reported_then_bucket_emptied() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)

    limiter.on_throttled("S", "getListingsItem")

    with pytest.raises(BudgetExceeded) as caught:
        limiter.acquire("S", "getListingsItem", max_wait=0.1)
    assert caught.value.wait_needed == pytest.approx(0.2)  # 5 requests per second
