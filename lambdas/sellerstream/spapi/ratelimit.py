"""Rate budgets per (seller, operation), seeded from Amazon's default rate plans.

SP-API meters each (selling partner, application, region, operation): one bucket at Amazon, however
many of our containers call. Waiting for a slot here is cheaper than a 429 (which burns an attempt
and drains Amazon's bucket further). The plan in force is learnt from ``x-amzn-RateLimit-Limit``;
a 429 empties the bucket.

A bucket is a GCRA ("generic cell rate algorithm") state, a token bucket in one number: the
theoretical arrival time ``tat`` of the next request. With interval ``T = 1 / rate`` and tolerance
``(burst - 1) * T``, the next request may be sent at ``max(now, max(tat, now) - tolerance)``, and
taking it moves ``tat`` to ``max(tat, now) + T``. ``RateLimiter`` keeps the buckets in memory (unit
tests, CLI tools); the deployed consumers share one budget, an item per bucket written with
conditional writes, in DynamoDB (``sellerstream.adapters.rate_budget``). getOrder's bucket for
ORDER_CHANGE is not shared per call: it travels with the seller's drain lease, and its one holder
spends it in memory (``sellerstream.logic.order_drainer``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Final, NamedTuple, Protocol

from sellerstream.spapi.errors import RateBudgetExhausted


class RatePlan(NamedTuple):
    rate: float  # requests per second
    burst: int


_NOTIFICATIONS_PLAN: Final = RatePlan(1.0, 5)

DEFAULT_RATE_PLANS: Final[dict[str, RatePlan]] = {
    "getOrder": RatePlan(0.5, 30),
    "getOrderItems": RatePlan(0.5, 30),
    "getOrderAddress": RatePlan(0.5, 30),
    "getOrderBuyerInfo": RatePlan(0.5, 30),
    "getOrders": RatePlan(0.0167, 20),
    "confirmShipment": RatePlan(2.0, 10),
    "searchOrders": RatePlan(0.0056, 20),
    "getListingsItem": RatePlan(5.0, 10),
    "searchListingsItems": RatePlan(5.0, 5),
    # Sellers API v1: a seller's marketplaces, about one a minute after a burst of 15.
    "getMarketplaceParticipations": RatePlan(0.016, 15),
    "getReport": RatePlan(2.0, 15),
    "getReportDocument": RatePlan(0.0167, 15),
    # Feeds API 2021-06-30: a feed's details, and its result document about one every 45 seconds.
    "getFeed": RatePlan(2.0, 15),
    "getFeedDocument": RatePlan(0.0222, 10),
    "createRestrictedDataToken": RatePlan(1.0, 10),
    "getSubscription": _NOTIFICATIONS_PLAN,
    "createSubscription": _NOTIFICATIONS_PLAN,
    "getSubscriptionById": _NOTIFICATIONS_PLAN,
    "deleteSubscriptionById": _NOTIFICATIONS_PLAN,
    "getDestinations": _NOTIFICATIONS_PLAN,
    "getDestination": _NOTIFICATIONS_PLAN,
    "createDestination": _NOTIFICATIONS_PLAN,
    "deleteDestination": _NOTIFICATIONS_PLAN,
    # Application Management 2023-11-30: one rotation a minute.
    "rotateApplicationClientSecret": RatePlan(0.0167, 1),
}
# An operation we have no plan for gets a conservative one until Amazon's header tells us better.
FALLBACK_PLAN: Final = RatePlan(0.5, 5)
# A learnt rate this close to the known one is not worth a write.
RATE_CHANGE_TOLERANCE: Final = 0.01
# A slot due within this is due now: float noise, and the shared budget's times kept to the
# microsecond, would otherwise refuse a token that is there to a caller that cannot wait.
SLOT_SLACK_SECONDS: Final = 0.001
# A second of every burst (at most a token) stays unscheduled: requests leave our containers one
# interval apart but can reach Amazon a little closer together. A whole token would be three minutes
# of searchOrders' burst held back for jitter of milliseconds.
SPARE_SECONDS: Final = 1.0


def metered_operation(operation: str, path: str) -> str:
    """The name Amazon meters a call under: its API (and version) plus the operation.

    Orders v0 ``getOrder`` and Orders 2026-01-01 ``getOrder`` are two operations with two buckets.
    """
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    if len(segments) < 2:
        return operation
    return f"{segments[0]}/{segments[1]}:{operation}"


def operation_name(metered: str) -> str:
    """``orders/v0:getOrder`` -> ``getOrder`` (a bare name is returned as it is)."""
    return metered.rpartition(":")[2]


def plan_for(operation: str, plans: dict[str, RatePlan]) -> RatePlan:
    return plans.get(operation) or plans.get(operation_name(operation)) or FALLBACK_PLAN


class Gcra:
    """One bucket: the theoretical arrival time of the next request, its rate and its burst.

    (A plain class: a generated dataclass costs every cold start about a millisecond.)"""

    __slots__ = ("burst", "confirmed", "rate", "spare_seconds", "tat")

    def __init__(
        self, tat: float, rate: float, burst: int, spare_seconds: float = 0.0, confirmed: bool = False
    ) -> None:
        self.tat = tat
        self.rate = rate
        self.burst = burst
        # Seconds of the burst never scheduled (at most a token's): they absorb network jitter, which
        # can bring requests sent one interval apart to Amazon closer together than that.
        self.spare_seconds = spare_seconds
        # Amazon's rate header has been seen: until then the rate is the default plan's guess.
        self.confirmed = confirmed

    def __repr__(self) -> str:
        return (
            f"Gcra(tat={self.tat!r}, rate={self.rate!r}, burst={self.burst!r}, confirmed={self.confirmed!r})"
        )

    @classmethod
    def full(cls, plan: RatePlan, now: float, spare_seconds: float = 0.0) -> Gcra:
        return cls(tat=now, rate=plan.rate, burst=plan.burst, spare_seconds=spare_seconds)

    def copy(self) -> Gcra:
        return Gcra(self.tat, self.rate, self.burst, self.spare_seconds, self.confirmed)

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        return max(self.burst - 1 - self.spare, 0.0) * self.interval

    @property
    def spare(self) -> float:
        """The tokens never scheduled."""
        return min(self.spare_seconds * self.rate, 1.0)

    def fresh_slot(self, now: float, index: int = 0) -> float:
        """When request ``index`` (0: the next one) past the ones already taken may be sent."""
        return max(now, max(self.tat, now) + index * self.interval - self.tolerance)

    def slot(self, now: float, *, keep_burst: bool = False) -> float:
        """When the next request may be sent; with ``keep_burst``, the next one that leaves the burst
        untouched (the bucket is full again then): a caller spending only what refills."""
        return max(now, self.tat) if keep_burst else self.fresh_slot(now)

    def slots_before(self, now: float, deadline: float) -> int:
        """How many requests could be sent from ``now`` until just before ``deadline``."""
        first = max(self.tat, now) - self.tolerance  # the next slot, before the max with now
        if deadline <= now or deadline <= first:
            return 0
        return math.ceil((deadline - first) / self.interval)

    def take(self, now: float, max_wait: float, *, keep_burst: bool = False) -> float | None:
        """Takes the next slot (with ``keep_burst``, the next that leaves the burst untouched) and
        returns its send time, or None (nothing taken) when it is more than ``max_wait`` seconds
        away."""
        at = self.slot(now, keep_burst=keep_burst)
        if at - now > max_wait + SLOT_SLACK_SECONDS:
            return None
        self.tat = max(self.tat, now) + self.interval
        return at

    def tokens(self, now: float) -> float:
        return self.burst - self.spare - max(self.tat - now, 0.0) / self.interval

    def empty(self, now: float) -> None:
        """Amazon answered 429: its bucket is empty, so the next request waits one full interval."""
        self.tat = max(self.tat, now + self.interval + self.tolerance)

    def set_rate(self, now: float, rate: float) -> None:
        """Adopts a new rate, conservatively both ways: the tokens the bucket holds now stay what
        they were (Amazon's bucket does not change because we learnt its rate), and new slots come
        after the last slot already taken at the old rate (callers waiting for those never overlap
        with slots taken at the new one)."""
        usable = self.burst - self.spare
        old_interval = self.interval
        self.rate = rate
        same_tokens = now + (self.tat - now) * self.interval / old_interval
        after_taken = self.tat + usable * (self.interval - old_interval)
        self.tat = max(same_tokens, after_taken)


def parse_rate(value: str | None) -> float | None:
    """The rate in ``x-amzn-RateLimit-Limit``, or None when absent or unusable."""
    try:
        rate = float(value) if value else 0.0
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0.0 else None


def rate_differs(known: float, learnt: float) -> bool:
    return abs(learnt - known) > RATE_CHANGE_TOLERANCE * known


def budget_exhausted(operation: str, wait: float, max_wait: float) -> RateBudgetExhausted:
    """The error of an ``acquire`` whose slot is ``wait`` seconds away, more than ``max_wait``."""
    return RateBudgetExhausted(
        operation,
        f"rate budget exhausted: next slot in {wait:.1f}s, {max(max_wait, 0.0):.1f}s left",
        wait_needed=wait,
    )


class RateBudget(Protocol):
    """What the SP-API client (and a use case pacing its calls) needs from a rate budget."""

    def acquire(self, seller_key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        """Takes one slot (with ``keep_burst``, only one that leaves the burst untouched), sleeping up
        to ``max_wait`` seconds for it; returns the seconds waited. Raises ``RateBudgetExhausted``
        at once, without sleeping, when the wait would be longer."""
        ...

    def next_slot_in(self, seller_key: str, operation: str, *, keep_burst: bool = False) -> float:
        """Seconds until a slot is free (``Gcra.slot``: with ``keep_burst``, one that leaves the
        burst untouched); zero or less when one is free now."""
        ...

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None: ...

    def on_throttled(self, seller_key: str, operation: str) -> None: ...


class CappedWait:
    """``budget``, with the wait for a slot of ``operation`` cut to ``max_wait`` seconds: a caller
    that would rather stop at its checkpoint than sleep (a reconciliation page) has its call raise
    ``RateBudgetExhausted`` instead, before anything is sent. Its other operations are untouched.
    ``keep_burst`` (changeable between calls) has its operation take only slots that leave the burst
    untouched."""

    def __init__(
        self, budget: RateBudget, operation: str, max_wait: float, *, keep_burst: bool = False
    ) -> None:
        self._budget = budget
        self._operation = operation
        self._max_wait = max_wait
        self.keep_burst = keep_burst

    def acquire(self, seller_key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        if operation == self._operation:
            max_wait = min(max_wait, self._max_wait)
            keep_burst = keep_burst or self.keep_burst
        return self._budget.acquire(seller_key, operation, max_wait, keep_burst=keep_burst)

    def next_slot_in(self, seller_key: str, operation: str, *, keep_burst: bool = False) -> float:
        return self._budget.next_slot_in(seller_key, operation, keep_burst=keep_burst)

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        self._budget.observe_limit_header(seller_key, operation, value)

    def on_throttled(self, seller_key: str, operation: str) -> None:
        self._budget.on_throttled(seller_key, operation)


class RateLimiter:
    """The in-memory rate budget: one process's view (unit tests, CLI tools)."""

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
        self._buckets: dict[tuple[str, str], Gcra] = {}
        self._lock = threading.Lock()

    def acquire(self, seller_key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        """Takes one slot, sleeping up to ``max_wait`` seconds for it; returns the seconds waited.

        Raises ``RateBudgetExhausted`` at once, without sleeping, when the wait would be longer.
        """
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            now = self._clock()
            at = bucket.take(now, max_wait, keep_burst=keep_burst)
            if at is None:
                raise budget_exhausted(operation, bucket.slot(now, keep_burst=keep_burst) - now, max_wait)
        wait = at - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def next_slot_in(self, seller_key: str, operation: str, *, keep_burst: bool = False) -> float:
        with self._lock:
            now = self._clock()
            return self._bucket(seller_key, operation).slot(now, keep_burst=keep_burst) - now

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        """Adopts the rate Amazon reports in ``x-amzn-RateLimit-Limit``; ignores unusable values."""
        rate = parse_rate(value)
        if rate is None:
            return
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            bucket.confirmed = True
            if rate_differs(bucket.rate, rate):
                bucket.set_rate(self._clock(), rate)

    def on_throttled(self, seller_key: str, operation: str) -> None:
        """Amazon's bucket is empty, so ours must be too: the next call waits a full interval."""
        with self._lock:
            self._bucket(seller_key, operation).empty(self._clock())

    def tokens_of(self, seller_key: str, operation: str) -> float:
        with self._lock:
            return max(self._bucket(seller_key, operation).tokens(self._clock()), 0.0)

    def rate_of(self, seller_key: str, operation: str) -> float:
        with self._lock:
            return self._bucket(seller_key, operation).rate

    def _bucket(self, seller_key: str, operation: str) -> Gcra:
        key = (seller_key, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Gcra.full(plan_for(operation, self._plans), self._clock())
        return bucket
