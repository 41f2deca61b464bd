"""Token buckets per (seller, operation), seeded from Amazon's default rate plans.

SP-API meters each (selling partner, application, region, operation). Waiting for a token here is
cheaper than a 429 (which burns an attempt and drains Amazon's bucket further). The plan in force
is learnt from ``x-amzn-RateLimit-Limit``; a 429 empties our bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sellerstream.spapi.errors import RateBudgetExhausted


@dataclass(frozen=True)
class RatePlan:
    rate: float  # requests per second
    burst: int


_NOTIFICATIONS_PLAN: Final = RatePlan(1.0, 5)

DEFAULT_RATE_PLANS: Final[dict[str, RatePlan]] = {
    "getOrder": RatePlan(0.5, 30),
    "getOrderItems": RatePlan(0.5, 30),
    "getOrderAddress": RatePlan(0.5, 30),
    "getOrderBuyerInfo": RatePlan(0.5, 30),
    "getOrders": RatePlan(0.0167, 20),
    "searchOrders": RatePlan(0.0056, 20),
    "getListingsItem": RatePlan(5.0, 10),
    "getReport": RatePlan(2.0, 15),
    "getReportDocument": RatePlan(0.0167, 15),
    "createRestrictedDataToken": RatePlan(1.0, 10),
    "getSubscription": _NOTIFICATIONS_PLAN,
    "createSubscription": _NOTIFICATIONS_PLAN,
    "getSubscriptionById": _NOTIFICATIONS_PLAN,
    "deleteSubscriptionById": _NOTIFICATIONS_PLAN,
    "getDestinations": _NOTIFICATIONS_PLAN,
    "getDestination": _NOTIFICATIONS_PLAN,
    "createDestination": _NOTIFICATIONS_PLAN,
    "deleteDestination": _NOTIFICATIONS_PLAN,
}
# An operation we have no plan for gets a conservative one until Amazon's header tells us better.
FALLBACK_PLAN: Final = RatePlan(0.5, 5)


class TokenBucket:
    def __init__(self, plan: RatePlan, now: float) -> None:
        self.rate = plan.rate
        self.burst = plan.burst
        self.tokens = float(plan.burst)
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for_token(self) -> float:
        """Seconds until one token is available (0 when one is now)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class RateLimiter:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        plans: dict[str, RatePlan] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._plans = plans if plans is not None else DEFAULT_RATE_PLANS
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def acquire(self, seller_key: str, operation: str, max_wait: float) -> float:
        """Takes one token, sleeping up to ``max_wait`` seconds for it; returns the seconds waited.

        Raises ``RateBudgetExhausted`` at once, without sleeping, when the wait would be longer.
        """
        waited = 0.0
        while True:
            with self._lock:
                bucket = self._bucket(seller_key, operation)
                bucket.refill(self._clock())
                wait = bucket.wait_for_token()
                if wait <= 0.0:
                    bucket.tokens -= 1.0
                    return waited
            if waited + wait > max_wait:
                raise RateBudgetExhausted(
                    operation,
                    f"rate budget exhausted: next token in {wait:.1f}s, {max(max_wait - waited, 0.0):.1f}s left",
                    wait_needed=wait,
                )
            # Sleep outside the lock; another thread may take the token first, then we wait again.
            self._sleep(wait)
            waited += wait

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        """Adopts the rate Amazon reports in ``x-amzn-RateLimit-Limit``; ignores unusable values."""
        try:
            rate = float(value) if value else 0.0
        except ValueError:
            return
        if not math.isfinite(rate) or rate <= 0.0:
            return
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            bucket.refill(self._clock())
            bucket.rate = rate

    def on_throttled(self, seller_key: str, operation: str) -> None:
        """Amazon's bucket is empty, so ours must be too: the next call waits a full token."""
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            bucket.refill(self._clock())
            bucket.tokens = 0.0

    def tokens_of(self, seller_key: str, operation: str) -> float:
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            bucket.refill(self._clock())
            return bucket.tokens

    def rate_of(self, seller_key: str, operation: str) -> float:
        with self._lock:
            return self._bucket(seller_key, operation).rate

    def _bucket(self, seller_key: str, operation: str) -> TokenBucket:
        key = (seller_key, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(
                self._plans.get(operation, FALLBACK_PLAN), self._clock()
            )
        return bucket
