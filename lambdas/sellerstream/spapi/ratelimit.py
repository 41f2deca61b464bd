"""Rate budgets per (seller, operation), seeded from Amazon's default rate plans.

SP-API meters each (selling partner, application, region, operation): one bucket at Amazon, however
many of our containers call. Waiting for a slot here is cheaper than a 429 (which burns an attempt
and drains Amazon's bucket further). The plan in force is learnt from ``x-amzn-RateLimit-Limit``;
a 429 empties the bucket.

The bucket is kept as a GCRA ("generic cell rate algorithm") state: the theoretical arrival time
``tat`` of the next request. It is the same token bucket, in one number: with interval ``T = 1 /
rate`` and tolerance ``(burst - 1) * T``, request ``i`` of a reservation may be sent at
``max(now, max(tat, now) + i * T - tolerance)``, and reserving ``n`` requests moves ``tat`` by
``n * T``. That makes "reserve n slots and learn when each may go" one computation and one write,
which is what the shared (DynamoDB) budget needs. ``RateLimiter`` here keeps the state in memory:
unit tests and CLI tools use it; the deployed consumers share one budget through DynamoDB
(``sellerstream.store.rate_budget``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

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
    "confirmShipment": RatePlan(2.0, 10),
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
# A learnt rate this close to the known one is not worth a write.
RATE_CHANGE_TOLERANCE: Final = 0.01


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


# Unused slots handed back for others to use are kept up to this many (the earliest).
MAX_RETURNED_SLOTS: Final = 64


@dataclass
class Gcra:
    """One bucket: the theoretical arrival time of the next request, its rate and its burst, and
    slots reserved earlier but handed back unused."""

    tat: float
    rate: float
    burst: int
    # Tokens of the burst never scheduled: they absorb network jitter, which can bring requests
    # sent one interval apart to Amazon closer together than that.
    spare: int = 0
    # Send times granted to a reservation that did not use them: the next reservation takes these
    # first (a request later than its slot never exceeds the plan).
    returned: list[float] = field(default_factory=list)
    # Amazon's rate header has been seen: until then the rate is the default plan's guess, and a
    # reservation takes no slots beyond its first wait (a seller with a faster plan would
    # otherwise hold slots spaced at the slower guess).
    confirmed: bool = False

    @classmethod
    def full(cls, plan: RatePlan, now: float, spare: int = 0) -> Gcra:
        return cls(tat=now, rate=plan.rate, burst=plan.burst, spare=spare)

    def copy(self) -> Gcra:
        return Gcra(self.tat, self.rate, self.burst, self.spare, list(self.returned), self.confirmed)

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        return max(self.burst - 1 - self.spare, 0) * self.interval

    def fresh_slot(self, now: float, index: int = 0) -> float:
        """When request ``index`` (0: the next one) past the reserved ones may be sent."""
        return max(now, max(self.tat, now) + index * self.interval - self.tolerance)

    def slot(self, now: float) -> float:
        """When the next request may be sent (a handed-back slot, or the next fresh one)."""
        usable = self._usable_returned(now)
        return min(usable[0], self.fresh_slot(now)) if usable else self.fresh_slot(now)

    def reserve(self, now: float, count: int, first_by: float, last_by: float) -> list[float]:
        """Takes the send times of up to ``count`` requests, none later than ``last_by``, and none at
        all when the first would be later than ``first_by``; handed-back slots go first."""
        returned = self._usable_returned(now)
        if not self.confirmed:
            last_by = min(last_by, first_by)
        slots: list[float] = []
        taken_returned = fresh = 0
        while len(slots) < count:
            candidate_fresh = self.fresh_slot(now, fresh)
            use_returned = taken_returned < len(returned) and returned[taken_returned] <= candidate_fresh
            at = returned[taken_returned] if use_returned else candidate_fresh
            if at > (first_by if not slots else last_by):
                break
            slots.append(at)
            if use_returned:
                taken_returned += 1
            else:
                fresh += 1
        if slots:
            self.returned = returned[taken_returned:]
            self.tat = max(self.tat, now) + fresh * self.interval
        return slots

    def hand_back(self, slots: list[float], now: float) -> None:
        """Unused slots of an earlier reservation, still ahead, become available to the next one."""
        ahead = [at for at in slots if at >= now]
        self.returned = sorted([*self._usable_returned(now), *ahead])[:MAX_RETURNED_SLOTS]

    def tokens(self, now: float) -> float:
        return self.burst - self.spare - max(self.tat - now, 0.0) / self.interval

    def empty(self, now: float) -> None:
        """Amazon answered 429: its bucket is empty, so the next request waits one full interval."""
        self.tat = max(self.tat, now + self.interval + self.tolerance)
        self.returned = []

    def set_rate(self, now: float, rate: float) -> None:
        """Adopts a new rate, conservatively both ways: the tokens the bucket holds now stay what
        they were (Amazon's bucket does not change because we learnt its rate), and new slots come
        after the last slot already reserved at the old rate (containers holding those never
        overlap with slots granted at the new one)."""
        usable = self.burst - self.spare
        old_interval = self.interval
        self.rate = rate
        same_tokens = now + (self.tat - now) * self.interval / old_interval
        after_reserved = self.tat + usable * (self.interval - old_interval)
        self.tat = max(same_tokens, after_reserved)

    def _usable_returned(self, now: float) -> list[float]:
        # A handed-back slot still ahead is one of the reserved schedule that nobody will use: the
        # next reservation may. One already past is gone (its token may have been capped).
        return sorted(at for at in self.returned if at >= now)


def parse_rate(value: str | None) -> float | None:
    """The rate in ``x-amzn-RateLimit-Limit``, or None when absent or unusable."""
    try:
        rate = float(value) if value else 0.0
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0.0 else None


def rate_differs(known: float, learnt: float) -> bool:
    return abs(learnt - known) > RATE_CHANGE_TOLERANCE * known


@dataclass(frozen=True)
class Reservation:
    """What ``reserve`` granted: the send times of its slots (now pooled for ``acquire``, on the
    budget's own clock), when the first slot it could not grant would be free (seconds from now),
    and the bucket's interval between slots (seconds)."""

    slots: tuple[float, ...]
    next_slot_in: float
    interval: float

    @property
    def granted(self) -> int:
        return len(self.slots)


class RateBudget(Protocol):
    """What the SP-API client (and a use case planning a batch) needs from a rate budget.

    ``reserve`` takes several slots in one step and pools them: the following ``acquire`` calls for
    the same key use the pooled slots in order (sleeping until each is due) before taking new ones.
    ``release`` hands pooled slots that were not used back to the bucket, for the next reservation.
    """

    def acquire(self, seller_key: str, operation: str, max_wait: float) -> float: ...

    def reserve(
        self, seller_key: str, operation: str, count: int, *, first_within: float, last_within: float
    ) -> Reservation: ...

    def release(self, seller_key: str, operation: str) -> None: ...

    def wait_for_pooled_slot(self, seller_key: str, operation: str) -> None:
        """Sleeps until the next pooled slot is due (without taking it)."""
        ...

    def next_slot_in(self, seller_key: str, operation: str) -> float: ...

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None: ...

    def on_throttled(self, seller_key: str, operation: str) -> None: ...


class SlotPool:
    """Reserved send times of one bucket that this process has not used yet."""

    def __init__(self) -> None:
        self.slots: deque[float] = deque()

    def add(self, slots: list[float]) -> None:
        self.slots.extend(sorted(slots))

    def due_in(self, now: float) -> float:
        return max(self.slots[0] - now, 0.0) if self.slots else 0.0

    def clear(self) -> list[float]:
        unused = list(self.slots)
        self.slots.clear()
        return unused


def wait_for_pooled_slot(
    pool: SlotPool, operation: str, max_wait: float, clock: Callable[[], float]
) -> float | None:
    """Seconds to wait for the next pooled slot (popped), None when the pool is empty.

    Raises ``RateBudgetExhausted`` (leaving the slot pooled) when it is further than ``max_wait``.
    """
    if not pool.slots:
        return None
    wait = max(pool.slots[0] - clock(), 0.0)
    if wait > max_wait:
        raise _exhausted(operation, wait, max_wait)
    pool.slots.popleft()
    return wait


def _exhausted(operation: str, wait: float, max_wait: float) -> RateBudgetExhausted:
    return RateBudgetExhausted(
        operation,
        f"rate budget exhausted: next slot in {wait:.1f}s, {max(max_wait, 0.0):.1f}s left",
        wait_needed=wait,
    )


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
        self._pools: dict[tuple[str, str], SlotPool] = {}
        self._lock = threading.Lock()

    def acquire(self, seller_key: str, operation: str, max_wait: float) -> float:
        """Takes one slot, sleeping up to ``max_wait`` seconds for it; returns the seconds waited.

        Raises ``RateBudgetExhausted`` at once, without sleeping, when the wait would be longer.
        """
        with self._lock:
            wait = wait_for_pooled_slot(self._pool(seller_key, operation), operation, max_wait, self._clock)
            if wait is None:
                bucket = self._bucket(seller_key, operation)
                now = self._clock()
                taken = bucket.reserve(now, 1, now + max_wait, now + max_wait)
                if not taken:
                    raise _exhausted(operation, bucket.slot(now) - now, max_wait)
                wait = taken[0] - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def reserve(
        self, seller_key: str, operation: str, count: int, *, first_within: float, last_within: float
    ) -> Reservation:
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            now = self._clock()
            slots = bucket.reserve(now, count, now + first_within, now + last_within)
            if slots:
                self._pool(seller_key, operation).add(slots)
            return Reservation(tuple(slots), bucket.slot(now) - now, bucket.interval)

    def release(self, seller_key: str, operation: str) -> None:
        with self._lock:
            pool = self._pool(seller_key, operation)
            if pool.slots:
                self._bucket(seller_key, operation).hand_back(list(pool.slots), self._clock())
            pool.clear()

    def wait_for_pooled_slot(self, seller_key: str, operation: str) -> None:
        with self._lock:
            wait = self._pool(seller_key, operation).due_in(self._clock())
        if wait > 0:
            self._sleep(wait)

    def next_slot_in(self, seller_key: str, operation: str) -> float:
        with self._lock:
            now = self._clock()
            return self._bucket(seller_key, operation).slot(now) - now

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
            self._pool(seller_key, operation).clear()

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

    def _pool(self, seller_key: str, operation: str) -> SlotPool:
        return self._pools.setdefault((seller_key, operation), SlotPool())
