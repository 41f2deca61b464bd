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
(``sellerstream.adapters.rate_budget``).

**Named slots.** A reservation may name what each slot is for (an order): the bucket then keeps a
claim per name. A slot further away than the caller can wait is *held* for its name (the record
waits in the queue and, when it comes back, sends in that slot without a new reservation), and a
name another container is sending for right now is answered as *elsewhere* (one call per order,
whatever container has its notifications). Taking a held claim and creating one are the same state
change, so a copy delivered twice spends its slot once.

**The late window.** A slot granted ahead of its time (``at > now``) leaves the bucket at least
``tolerance`` beyond it: ``tat >= at + tolerance + interval``. Until ``at + tolerance`` every
reservation therefore finds the bucket in debt (GCRA only adds intervals: ``max(tat, now)`` is
``tat``), so Amazon's bucket cannot have refilled to its cap meanwhile: it still holds the token
nobody spent at ``at``, and a call sent later in that window spends it. So a slot nobody used in
time is not lost: sent late by the record it was held for, or handed back and taken late by the
next reservation of any container, up to ``until`` (half that window, for margin). A slot granted
from the burst (``at == now``) has no late window, and a 429 or a new rate ends every window (the
bucket was not what we believed). Giving the token back to the bucket instead (``tat -= interval``)
would not be exact: the slots granted after it were placed behind it, and new ones would crowd them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
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
# Slots held for waiting records are kept up to this many per bucket: SQS's longest delay (900 s) of
# getOrder's default plan, in about 17 KB of stored item. With fewer, the records that found the
# bucket full waited on estimates and lost their turn to later ones (the Prime Day bench: 1.12x the
# minimum with 120 against 1.08x).
MAX_HELD_CLAIMS: Final = 450
# The part of a slot's late window (see the module docstring) in which it may still be sent.
LATE_WINDOW_SHARE: Final = 0.5
# A claim of a slot being sent answers "elsewhere" to other containers this long after its slot:
# its call and write are done by then (or failed, and the order is free for a new reservation).
SENDING_CLAIM_SECONDS: Final = 10.0


class Claim:
    """A slot bound to one name: held for a record waiting in the queue, or being sent.

    (Buckets' mutable parts are plain classes: a generated dataclass costs every cold start about a
    millisecond.)"""

    __slots__ = ("at", "basis", "held", "until")

    def __init__(self, at: float, until: float, held: bool, basis: float | None = None) -> None:
        self.at = at  # the slot's time
        self.until = until  # the latest time it may be sent (``at`` when it has no late window)
        self.held = held  # True: kept for the name's record; False: a container sends it
        # What its taker knew of the name (e.g. the stored state's time; None: nothing): a caller
        # that knows something newer sees the claim's call as done (its result is what it knows).
        self.basis = basis

    def __repr__(self) -> str:
        return f"Claim(at={self.at!r}, until={self.until!r}, held={self.held!r}, basis={self.basis!r})"


class Gcra:
    """One bucket: the theoretical arrival time of the next request, its rate and its burst, and
    slots reserved earlier but handed back unused."""

    __slots__ = ("burst", "claims", "confirmed", "rate", "returned", "returned_until", "spare", "tat")

    def __init__(
        self,
        tat: float,
        rate: float,
        burst: int,
        spare: int = 0,
        returned: list[float] | None = None,
        confirmed: bool = False,
        returned_until: dict[float, float] | None = None,
        claims: dict[str, Claim] | None = None,
    ) -> None:
        self.tat = tat
        self.rate = rate
        self.burst = burst
        # Tokens of the burst never scheduled: they absorb network jitter, which can bring requests
        # sent one interval apart to Amazon closer together than that.
        self.spare = spare
        # Send times granted to a reservation that did not use them: the next reservation takes
        # these first (a request later than its slot never exceeds the plan).
        self.returned: list[float] = returned if returned is not None else []
        # Amazon's rate header has been seen: until then the rate is the default plan's guess, and
        # a reservation takes no slots beyond its first wait (a seller with a faster plan would
        # otherwise hold slots spaced at the slower guess).
        self.confirmed = confirmed
        # The latest time a handed-back slot may be sent, for those with a late window (module
        # docstring).
        self.returned_until: dict[float, float] = returned_until if returned_until is not None else {}
        # Named slots: held for a waiting record, or being sent (see the module docstring).
        self.claims: dict[str, Claim] = claims if claims is not None else {}

    def __repr__(self) -> str:
        return (
            f"Gcra(tat={self.tat!r}, rate={self.rate!r}, burst={self.burst!r}, confirmed={self.confirmed!r})"
        )

    @classmethod
    def full(cls, plan: RatePlan, now: float, spare: int = 0) -> Gcra:
        return cls(tat=now, rate=plan.rate, burst=plan.burst, spare=spare)

    def copy(self) -> Gcra:
        return Gcra(
            self.tat,
            self.rate,
            self.burst,
            self.spare,
            list(self.returned),
            self.confirmed,
            dict(self.returned_until),
            {name: Claim(c.at, c.until, c.held, c.basis) for name, c in self.claims.items()},
        )

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
        return [at for at, _ in self.reserve_slots(now, count, first_by, last_by)]

    def reserve_slots(
        self, now: float, count: int, first_by: float, last_by: float
    ) -> list[tuple[float, float]]:
        """``reserve``, each slot with the latest time it may be sent: ``(at, until)``."""
        self.prune(now)
        taker = _SlotTaker(self, now)
        if not self.confirmed:
            last_by = min(last_by, first_by)
        slots: list[tuple[float, float]] = []
        while len(slots) < count:
            at, until = taker.peek()
            if at > (first_by if not slots else last_by):
                break
            taker.take()
            slots.append((at, until))
        taker.commit()
        return slots

    def reserve_named(
        self,
        now: float,
        names: Mapping[str, float | None],
        *,
        send_by: float,
        hold_by: float,
        max_held: int,
    ) -> tuple[list[NamedSlot], bool]:
        """A slot per name, in order: sent by the caller when due by ``send_by``, else held for the
        name up to ``hold_by`` (a confirmed plan only, at most ``max_held`` held at once); a name
        already claimed keeps its claim, unless the caller knows a newer basis than the claim's
        sending (that call is done). Returns the outcomes and whether the state changed.

        Before Amazon confirms the plan only the burst is sent (slots due now): a slot granted ahead
        at the guessed rate would outlive the guess, and pushes every later slot behind it when
        Amazon's rate turns out faster."""
        if not self.confirmed:
            send_by = min(send_by, now)
        self.prune(now)
        taker = _SlotTaker(self, now)
        held = sum(1 for claim in self.claims.values() if claim.held)
        outcomes: list[NamedSlot] = []
        changed = exhausted = False
        for name, basis in names.items():
            claim = self.claims.get(name)
            if claim is not None and not claim.held and _newer(basis, claim.basis):
                claim = None  # its call has been answered and stored since: not the state asked for
            if claim is not None:
                if not claim.held:
                    outcomes.append(NamedSlot(name, SlotUse.ELSEWHERE, claim.at - now, claim.until))
                elif claim.at <= send_by:
                    taker.forget(name)
                    outcomes.append(NamedSlot(name, SlotUse.SEND, claim.at - now, claim.until, at=claim.at))
                    # Being sent now (late, or within the wait): others wait for it from now on.
                    self.claims[name] = Claim(max(claim.at, now), claim.until, held=False, basis=basis)
                    held -= 1
                    changed = True
                else:
                    outcomes.append(NamedSlot(name, SlotUse.HELD, claim.at - now, claim.until))
                continue
            if exhausted:
                outcomes.append(NamedSlot(name, SlotUse.NONE, 0.0, 0.0))
                continue
            at, until = taker.peek()
            if at <= send_by:
                use = SlotUse.SEND
            elif self.confirmed and at <= hold_by and held < max_held:
                use = SlotUse.HELD
                held += 1
            else:
                exhausted = True
                outcomes.append(NamedSlot(name, SlotUse.NONE, 0.0, 0.0))
                continue
            taker.take()
            self.claims[name] = Claim(at, until, held=use is SlotUse.HELD, basis=basis)
            outcomes.append(NamedSlot(name, use, at - now, until, at=at))
            changed = True
        taker.commit()
        return outcomes, changed

    def hand_back(self, slots: list[float], now: float, until: Mapping[float, float] | None = None) -> None:
        """Unused slots of an earlier reservation become available to the next one: those still
        ahead, and those past but within their late window (``until``); the others are gone."""
        self.prune(now)
        windows = until or {}
        returned = list(self.returned)
        for at in slots:
            end = windows.get(at, at)
            if at >= now or now <= end:
                returned.append(at)
                if end > at:
                    self.returned_until[at] = end
        self._keep_returned(sorted(returned)[:MAX_RETURNED_SLOTS])

    def release_claim(self, name: str) -> bool:
        """Forgets a claim that was being sent but was not (its slot is handed back separately)."""
        claim = self.claims.get(name)
        if claim is None or claim.held:
            return False
        del self.claims[name]
        return True

    def prune(self, now: float) -> None:
        """Forgets handed-back and held slots past their late window, and expired sending claims."""
        self._keep_returned(self._usable_returned(now))
        for name, claim in list(self.claims.items()):
            ended = claim.until if claim.held else claim.at + SENDING_CLAIM_SECONDS
            if now > ended:
                del self.claims[name]

    def _keep_returned(self, returned: list[float]) -> None:
        self.returned = sorted(returned)
        kept = set(self.returned)
        self.returned_until = {at: end for at, end in self.returned_until.items() if at in kept and end > at}

    def _end_late_windows(self) -> None:
        """The bucket was not what we believed (a 429, a new rate): no slot may be sent late."""
        self.returned_until = {}
        for claim in self.claims.values():
            claim.until = claim.at

    def tokens(self, now: float) -> float:
        return self.burst - self.spare - max(self.tat - now, 0.0) / self.interval

    def empty(self, now: float) -> None:
        """Amazon answered 429: its bucket is empty, so the next request waits one full interval.
        Handed-back and held slots go (they would 429 too); the held records reserve again."""
        self.tat = max(self.tat, now + self.interval + self.tolerance)
        self.returned = []
        self.claims = {name: claim for name, claim in self.claims.items() if not claim.held}
        self._end_late_windows()

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
        self._end_late_windows()

    def _usable_returned(self, now: float) -> list[float]:
        # A handed-back slot is one of the reserved schedule that nobody will use: the next
        # reservation may, while it is ahead or within its late window (see the module docstring).
        return sorted(at for at in self.returned if at >= now or now <= self.returned_until.get(at, at))

    def _stealable(self, now: float) -> list[tuple[float, str]]:
        """Held slots whose record is late: the next reservation may send in them (late)."""
        return sorted(
            (claim.at, name) for name, claim in self.claims.items() if claim.held and claim.at < now
        )


def parse_rate(value: str | None) -> float | None:
    """The rate in ``x-amzn-RateLimit-Limit``, or None when absent or unusable."""
    try:
        rate = float(value) if value else 0.0
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0.0 else None


def rate_differs(known: float, learnt: float) -> bool:
    return abs(learnt - known) > RATE_CHANGE_TOLERANCE * known


def _newer(known: float | None, than: float | None) -> bool:
    return known is not None and (than is None or known > than)


class _SlotTaker:
    """Hands out a bucket's next slots and commits them: handed-back ones and held ones whose record
    is late first (in time order, no later than the next fresh one), then fresh ones."""

    def __init__(self, bucket: Gcra, now: float) -> None:
        self._bucket = bucket
        self._now = now
        # (at, until, the held claim's name or None for a handed-back slot)
        unused = [(at, bucket.returned_until.get(at, at), None) for at in bucket._usable_returned(now)]
        late = [(at, bucket.claims[name].until, name) for at, name in bucket._stealable(now)]
        self._unused: list[tuple[float, float, str | None]] = sorted([*unused, *late], key=lambda s: s[0])
        self._taken: list[tuple[float, float, str | None]] = []
        self._fresh = 0

    def peek(self) -> tuple[float, float]:
        """The next slot and the latest time it may be sent."""
        unused = self._next_unused()
        if unused is not None:
            return unused[0], unused[1]
        fresh = self._bucket.fresh_slot(self._now, self._fresh)
        # Granted ahead of its time, a fresh slot leaves the bucket in debt for ``tolerance`` past it.
        late = LATE_WINDOW_SHARE * self._bucket.tolerance if fresh > self._now else 0.0
        return fresh, fresh + late

    def take(self) -> None:
        unused = self._next_unused()
        if unused is None:
            self._fresh += 1
            return
        self._unused.remove(unused)
        self._taken.append(unused)
        if unused[2] is not None:
            del self._bucket.claims[unused[2]]  # its record is late: the slot goes to another

    def forget(self, name: str) -> None:
        """The held claim of ``name`` was taken by its own record: not for another."""
        self._unused = [slot for slot in self._unused if slot[2] != name]

    def commit(self) -> None:
        taken_returned = [at for at, _, name in self._taken if name is None]
        if taken_returned:
            remaining = list(self._bucket.returned)
            for at in taken_returned:
                remaining.remove(at)
            self._bucket._keep_returned(remaining)
        if self._fresh:
            self._bucket.tat = max(self._bucket.tat, self._now) + self._fresh * self._bucket.interval

    def _next_unused(self) -> tuple[float, float, str | None] | None:
        if not self._unused:
            return None
        first = self._unused[0]
        return first if first[0] <= self._bucket.fresh_slot(self._now, self._fresh) else None


class SlotUse(Enum):
    """What a named reservation did for one name."""

    SEND = "send"  # the caller sends in the slot (it is pooled)
    HELD = "held"  # the slot is kept for the name: its record waits and comes back before it
    ELSEWHERE = "elsewhere"  # another container sends for the name in the slot
    NONE = "none"  # no slot within reach: the record waits for ``next_slot_in``


class NamedSlot(NamedTuple):
    """One name's outcome: its slot ``in_seconds`` from the reservation (past: negative) and the end
    of the slot's late window, on the budget's own clock like ``at`` (set for SEND and new HELD)."""

    name: str
    use: SlotUse
    in_seconds: float
    until: float
    at: float | None = None


class NamedReservation(NamedTuple):
    """What ``reserve_for`` did for each name (in the order asked), when the first unheld slot would
    be free (seconds), the interval between slots, and whether Amazon confirmed the plan."""

    slots: tuple[NamedSlot, ...]
    next_slot_in: float
    interval: float
    confirmed: bool


class Reservation(NamedTuple):
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
    ``reserve_for`` does the same for named slots (one per order), holding the ones too far away
    for their waiting records. ``release`` hands pooled slots that were not used back to the bucket,
    for the next reservation, and forgets the claims of the names given (they were not sent).
    """

    def acquire(self, seller_key: str, operation: str, max_wait: float) -> float: ...

    def reserve(
        self, seller_key: str, operation: str, count: int, *, first_within: float, last_within: float
    ) -> Reservation: ...

    def reserve_for(
        self,
        seller_key: str,
        operation: str,
        names: Mapping[str, float | None],
        *,
        send_within: float,
        hold_within: float,
    ) -> NamedReservation: ...

    def release(self, seller_key: str, operation: str, unsent: Sequence[str] = ()) -> None: ...

    def wait(self, seconds: float) -> None:
        """Sleeps on the budget's clock (a batch waiting for another container's call)."""
        ...

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
        self.until: dict[float, float] = {}  # the end of a pooled slot's late window, when it has one

    def add(self, slots: list[float], until: Mapping[float, float] | None = None) -> None:
        self.slots.extend(sorted(slots))
        self.until.update({at: end for at, end in (until or {}).items() if end > at})

    def due_in(self, now: float) -> float:
        return max(self.slots[0] - now, 0.0) if self.slots else 0.0

    def clear(self) -> list[float]:
        unused = list(self.slots)
        self.slots.clear()
        return unused

    def take_unused(self) -> tuple[list[float], dict[float, float]]:
        """Empties the pool: the slots not used and the late windows of those that have one."""
        unused = self.clear()
        until = {at: self.until[at] for at in unused if at in self.until}
        self.until = {}
        return unused, until


def sent_slots(outcomes: Sequence[NamedSlot]) -> list[tuple[float, float]]:
    """The slots a named reservation gave the caller to send in: ``(at, until)`` each."""
    return [(slot.at, slot.until) for slot in outcomes if slot.use is SlotUse.SEND and slot.at is not None]


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
    pool.until.pop(pool.slots.popleft(), None)
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
            granted = bucket.reserve_slots(now, count, now + first_within, now + last_within)
            if granted:
                self._pool(seller_key, operation).add([at for at, _ in granted], dict(granted))
            return Reservation(tuple(at for at, _ in granted), bucket.slot(now) - now, bucket.interval)

    def reserve_for(
        self,
        seller_key: str,
        operation: str,
        names: Mapping[str, float | None],
        *,
        send_within: float,
        hold_within: float,
    ) -> NamedReservation:
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            now = self._clock()
            outcomes, _ = bucket.reserve_named(
                now, names, send_by=now + send_within, hold_by=now + hold_within, max_held=MAX_HELD_CLAIMS
            )
            sent = sent_slots(outcomes)
            if sent:
                self._pool(seller_key, operation).add([at for at, _ in sent], dict(sent))
            return NamedReservation(
                tuple(outcomes), bucket.slot(now) - now, bucket.interval, bucket.confirmed
            )

    def release(self, seller_key: str, operation: str, unsent: Sequence[str] = ()) -> None:
        with self._lock:
            bucket = self._bucket(seller_key, operation)
            unused, until = self._pool(seller_key, operation).take_unused()
            if unused:
                bucket.hand_back(unused, self._clock(), until)
            for name in unsent:
                bucket.release_claim(name)

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

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
