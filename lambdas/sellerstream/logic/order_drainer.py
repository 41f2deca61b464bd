"""One drainer per seller and region spends its Orders budget on the orders waiting to be fetched.

An ORDER_CHANGE is acknowledged once "order X changed at T" is in the seller's pending set
(``logic.order_change``); the drainer turns those entries into stored orders:

- **One spender.** The seller's lease (``PendingOrders.take_lease``) lasts until the holder's
  invocation ends. It carries the getOrder bucket: the next holder starts where this one stopped,
  and a holder taken over after its deadline is assumed to have spent everything until then. No
  other container reserves getOrder slots for the seller, so nothing is shared per call.
- **Least recently changed first.** The pending set holds one entry per order, its newest change.
  An order that changed a moment ago is the likeliest to change again, and fetched now would be
  fetched twice: getOrder takes the order that changed least recently.
- **Windows.** When more orders wait, settled for searchOrders (changed at least its settle time
  ago), than getOrder could serve before searchOrders' next slot (getOrder's rate over
  searchOrders'), one page of ``searchOrders`` over the exact window of 100 of them stores them in
  one call, on searchOrders' shared budget: the next after those getOrder takes before the page's
  slot. So every order changed before a page's window is stored when the page comes, and Amazon's
  answer holds the window's pending orders, not orders served before. Amazon answers with every
  order updated in the window's seconds, so a window never starts in a second getOrder worked in.
  Once the changes have settled, a smaller page goes when getOrder alone would still be serving
  after it: no fuller page is coming, and the page ends the drain sooner.
- **searchOrders' burst waits for the changes to settle.** While the seller's changes keep
  arriving (its newest pending change is younger than the settle time), a page takes only a slot
  that leaves searchOrders' bucket full (as the shared bucket stands, not as a container last saw
  it): only what refills is spent, and the burst (20 pages at the default plan) is kept for when
  the changes have settled, when a page stores 100 orders that stay as stored.
- **Resting, not sleeping.** A drain whose next getOrder slot is seconds away lets go instead of
  sleeping in its invocation: its drain request comes when the bucket holds a slot for each order
  waiting, or is full but for ``RESUME_EARLY_SECONDS`` (a page: that long before its slot). Until
  then only a drain request takes the lease, and intakes leave their entries to it. A seller's
  backlog then costs a short invocation per refilled burst instead of Lambda time per slot.
- **Lagging reads and failures.** An answer older than the change (Amazon's read-after-publish lag)
  is stored when newer than the table, and its entry waits; so does one whose call failed
  transiently. The entry records its attempts and when it may be asked again (from
  ``LAGGING_RETRY_SECONDS``, doubling), so any later drain waits for it too. A lagging read is taken
  as it is after ``STALE_READ_GIVE_UP``; a call failing ``MAX_FETCH_ATTEMPTS`` times, or a
  permanent failure (the order refused or unknown an hour on), sends the entry to the dead-letter
  queue as a drain request carrying it (a redrive makes it pending again), with the reason.
- **Nothing left behind.** The holder releases the lease and then reads the pending set once more;
  an intake that found the lease held adds its entry and looks at the lease again. So an entry
  added while the lease was held is seen by the holder's last read, or its intake finds the lease
  free, or resting with a drain request on its way. Changes the drain holds in memory (``adopt``:
  a quiet seller's, never written) are recorded before the lease is released, or carried by the
  drain request when even that fails. A drain request on the orders queue
  (``logic.drain_request``) continues a drain that rests, whose invocation's time is up, whose
  seller's token was refused (after SQS's longest delay; the seller's secret is read afresh) or
  that failed; when even that request cannot be sent, the batch fails and SQS brings it back, and a
  redelivered batch drains its sellers.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

from sellerstream import catalog, metric_names
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.domain.orders import BucketState, DrainLease, OrderRecord, PendingChange, SellerAccount
from sellerstream.errors import PermanentFailureError
from sellerstream.logic.batch import count_credentials_failure
from sellerstream.logic.dead_letter import failure_attributes, permanent_failure, short_detail
from sellerstream.logic.drain_request import drain_request_body
from sellerstream.logic.order_records import OrderResponseError, from_orders_2026, from_orders_v0
from sellerstream.logic.order_search import (
    SEARCH_ORDERS,
    SEARCH_PAGE_SIZE,
    SEARCH_PAGE_TIME_SECONDS,
    SEARCH_SETTLE_SECONDS,
    fetch_search_page,
    store_search_page,
)
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import MessageQueue, OrderStore, PendingOrders
from sellerstream.spapi.client import SAFETY_MARGIN_SECONDS
from sellerstream.spapi.errors import LwaAuthError, RateBudgetExhausted, SpApiNotFound
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import (
    DEFAULT_RATE_PLANS,
    SPARE_SECONDS,
    CappedWait,
    Gcra,
    RateBudget,
    parse_rate,
    plan_for,
    rate_differs,
)
from sellerstream.timestamps import sortable_timestamp

GET_ORDER: Final = "orders/2026-01-01:getOrder"
GET_ORDER_V0: Final = "orders/v0:getOrder"
GET_ORDER_ITEMS_V0: Final = "orders/v0:getOrderItems"

# Entries read at once: enough to choose a full searchOrders page from.
READ_LIMIT: Final = 500
# A call (and its write) is not started with less of the invocation left than this.
CALL_TIME_SECONDS: Final = 1.0
# SQS's longest delay: a drain request for a seller whose token was refused comes back after it.
MAX_DELAY_SECONDS: Final = 900
# A drain request can come this long after its delay (the mapping's batching window, its polling):
# a resting drain resumes this long before its getOrder bucket would be full or its page is due.
RESUME_EARLY_SECONDS: Final = 10.0
# A lagging read or a failed call is asked again after this, doubling per attempt (up to 32 times).
# A call failing this many times (transient errors: 5xx, timeouts) is dead-lettered with its reason.
MAX_FETCH_ATTEMPTS: Final = 5
ORDER_FETCH_FAILED: Final = "order_fetch_failed"
LAGGING_RETRY_SECONDS: Final = 30.0
# Past this since the change, Amazon's answer is taken as it is (logged, StaleCallbacksAccepted).
STALE_READ_GIVE_UP: Final = timedelta(hours=1)

RemainingTime = Callable[[], float]


class LeasedBudget:
    """The lease's buckets, spent in memory by their one holder; other operations (searchOrders, a
    restricted data token) draw from the budget every container shares. Nothing is sent after
    the lease ends."""

    def __init__(
        self,
        shared: RateBudget,
        buckets: dict[str, Gcra],
        until: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.shared = shared
        self.buckets = buckets
        self._until = until
        self._clock = clock
        self._sleep = sleep

    def acquire(self, seller_key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        bucket = self.buckets.get(operation)
        if bucket is None:
            return self.shared.acquire(seller_key, operation, max_wait, keep_burst=keep_burst)
        now = self._clock()
        at = bucket.slot(now, keep_burst=keep_burst)
        taken = (
            bucket.take(now, max_wait, keep_burst=keep_burst)
            if at <= self._until - CALL_TIME_SECONDS
            else None
        )
        if taken is None:
            raise RateBudgetExhausted(operation, "no slot within the wait or the lease", wait_needed=at - now)
        if taken > now:
            self._sleep(taken - now)
        return max(taken - now, 0.0)

    def next_slot_in(self, seller_key: str, operation: str, *, keep_burst: bool = False) -> float:
        bucket = self.buckets.get(operation)
        if bucket is None:
            return self.shared.next_slot_in(seller_key, operation, keep_burst=keep_burst)
        now = self._clock()
        return bucket.slot(now, keep_burst=keep_burst) - now

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        bucket = self.buckets.get(operation)
        if bucket is None:
            self.shared.observe_limit_header(seller_key, operation, value)
            return
        rate = parse_rate(value)
        if rate is None:
            return
        bucket.confirmed = True
        if rate_differs(bucket.rate, rate):
            bucket.set_rate(self._clock(), rate)

    def on_throttled(self, seller_key: str, operation: str) -> None:
        bucket = self.buckets.get(operation)
        if bucket is None:
            self.shared.on_throttled(seller_key, operation)
        else:
            bucket.empty(self._clock())

    def states(self) -> dict[str, BucketState]:
        return {name: BucketState(b.tat, b.rate, b.confirmed) for name, b in self.buckets.items()}


class Step(NamedTuple):
    """What a drain does next: a page over these orders' window, getOrder for one change, or
    (neither) nothing but wait; ``rest_until``: when it goes on if it rests until then instead."""

    page: list[tuple[datetime, str]] | None = None
    fetch: PendingChange | None = None
    rest_until: float | None = None


class Drain:
    """One account's drain within an invocation: its lease, what it read, what it served."""

    def __init__(self, account: SellerAccount, credentials: SellerCredentials, lease: DrainLease) -> None:
        self.account = account
        self.credentials = credentials
        self.lease = lease
        self.budget: LeasedBudget | None = None
        self.api: OrdersApi | None = None
        self.search_api: OrdersApi | None = None  # its slot due now, or no page
        self.search_budget: CappedWait | None = None  # the shared budget, as search_api takes it
        self.entries: dict[str, PendingChange] = {}  # by order: read, not served yet
        self.known: dict[str, datetime] = {}  # the newest state stored, per order
        self.retry: dict[str, tuple[float, int]] = {}  # order -> (not before, attempts)
        self.served: list[PendingChange] = []  # entries to remove
        self.unrecorded: set[str] = set()  # orders whose change is held in memory only (adopted)
        self.stored_seconds: set[int] = set()  # seconds of the states it stored served orders at
        self.search_at = 0.0  # searchOrders' next slot, as last read
        self.unpaged: set[str] = set()  # orders a page's window did not bring: getOrder's
        self.read_due = True  # something was served since the last read
        self.settled = False  # no pending change younger than searchOrders' settle time
        self.stopped = False  # credentials refused: the entries wait for the seller
        self.out_of_time = False  # the lease ends before the next slot


class OrderDrainer:
    def __init__(
        self,
        spapi: SpApiAccess,
        store: OrderStore,
        pending: PendingOrders,
        queue: MessageQueue,
        *,
        orders_api_version: str = "2026-01-01",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._spapi = spapi
        self._store = store
        self._pending = pending
        self._queue = queue
        self._v0 = orders_api_version == "v0"
        self._get_order = GET_ORDER_V0 if self._v0 else GET_ORDER
        self._leased = (GET_ORDER_V0, GET_ORDER_ITEMS_V0) if self._v0 else (GET_ORDER,)
        self._clock = clock
        self._sleep = sleep
        self._owner = uuid.uuid4().hex

    @staticmethod
    def adopt(drain: Drain, changes: Sequence[PendingChange]) -> None:
        """Changes the drain serves from memory, recorded only if still unserved when it lets go
        (for a seller with nothing else pending: no entry written and removed per change)."""
        for change in changes:
            drain.entries[change.order_id] = change
            drain.unrecorded.add(change.order_id)

    def drain(self, drains: Sequence[Drain], remaining_time: RemainingTime) -> None:
        """Drains each account whose lease was taken until its entries are stored or time is up.

        A drain that fails (DynamoDB or SP-API past their retries) hands over like one out of time:
        its entries are recorded (a change held in memory too) and a drain request continues them.
        Only when that fails either does the failure reach the batch, whose records then return to
        the queue (after the lease has ended) and take the drain up again."""
        held = list(drains)  # a drain leaves once it let go
        try:
            self._drain(held, remaining_time)
        except Exception:
            logger.exception("drain failed: handed over to a drain request")
            for drain in held:
                self._hand_over_failed(drain, remaining_time)

    def _hand_over_failed(self, drain: Drain, remaining_time: RemainingTime) -> None:
        try:
            self._let_go(drain, remaining_time, time_up=True)
        except Exception:
            # The lease could not be released: the request comes back once it has ended, carrying
            # the changes held in memory (recorded when it arrives).
            delay = math.ceil(max(drain.lease.until - self._clock(), 0.0)) + 1
            self._queue.defer(
                drain_request_body(drain.account, self._unrecorded(drain)),
                {},
                delay_seconds=min(delay, MAX_DELAY_SECONDS),
            )

    def _drain(self, drains: list[Drain], remaining_time: RemainingTime) -> None:
        while drains:
            if remaining_time() - SAFETY_MARGIN_SECONDS < CALL_TIME_SECONDS:
                break
            steps = [(self._next_step(drain, remaining_time), drain) for drain in drains]
            finished = [drain for step, drain in steps if step is None]
            for drain in finished:
                again = self._let_go(drain, remaining_time, time_up=False)
                drains.remove(drain)
                if again is not None:
                    drains.append(again)
            timed = [(step, drain) for step, drain in steps if step is not None]
            # A drain that would sleep for its bucket to refill rests instead: it lets go, and its
            # drain request takes it up when the bucket holds what it needs (no Lambda time waiting).
            resting = [(step, drain) for step, drain in timed if step[1].rest_until is not None]
            for (_, rest), drain in resting:
                self._let_go(drain, remaining_time, time_up=True, resume_at=rest.rest_until)
                drains.remove(drain)
            if finished or resting or not timed:
                continue
            (at, action), drain = min(timed, key=lambda timed_step: timed_step[0][0])
            wait = at - self._clock()
            if wait > 0:
                if wait > remaining_time() - SAFETY_MARGIN_SECONDS - CALL_TIME_SECONDS:
                    break
                self._sleep(wait)
            self._act(drain, action, remaining_time)
            if drain.out_of_time:
                self._let_go(drain, remaining_time, time_up=True)
                drains.remove(drain)
        while drains:
            self._let_go(drains[0], remaining_time, time_up=True)
            drains.pop(0)

    # -- the lease -------------------------------------------------------------------------------
    def take(
        self,
        account: SellerAccount,
        credentials: SellerCredentials,
        remaining_time: RemainingTime,
        *,
        resuming: bool = False,
    ) -> Drain | None:
        """The account's lease for a drain until the invocation ends; None when it is held (or, but
        for a drain request ``resuming`` it, resting)."""
        now = self._clock()
        # The lease ends with the invocation: a holder never outlives it, so it needs no renewal.
        lease = self._pending.take_lease(
            account, self._owner, now=now, until=now + remaining_time(), resuming=resuming
        )
        if lease is None:
            return None  # its holder reads the pending set once more before it lets go
        drain = Drain(account, credentials, lease)
        buckets = {}
        for operation in self._leased:
            plan = plan_for(operation, DEFAULT_RATE_PLANS)
            state = lease.buckets.get(operation)
            bucket = Gcra.full(plan, now, SPARE_SECONDS)
            if state is not None:
                bucket.tat, bucket.rate, bucket.confirmed = state.tat, state.rate, state.confirmed
            if lease.expired_until is not None:
                # Its last holder vanished: it may have spent the bucket until its lease ended.
                bucket.tat = max(bucket.tat, lease.expired_until + bucket.tolerance + bucket.interval)
            buckets[operation] = bucket
        drain.budget = LeasedBudget(
            self._spapi.rate_budget(credentials), buckets, lease.until, clock=self._clock, sleep=self._sleep
        )
        return drain

    def _let_go(
        self,
        drain: Drain,
        remaining_time: RemainingTime,
        *,
        time_up: bool,
        resume_at: float | None = None,
    ) -> Drain | None:
        """Releases the lease, then reads the pending set once more: an entry recorded while it held
        the lease is served by the drain taken again (returned), or by a drain request later when
        time is up, the drain rests until ``resume_at`` or the seller's token was refused; nothing
        when another container took the lease meanwhile (it reads once more when it lets go).

        A resting drain's lease stays free only to its drain request until then: intakes meanwhile
        record their changes and leave them to it."""
        unrecorded = self._unrecorded(drain)
        if unrecorded:  # still unserved: pending like any other change before the lease goes
            self._pending.add(drain.account, unrecorded)
            drain.unrecorded.clear()
        self._flush(drain)
        assert drain.budget is not None
        now = self._clock()
        delay = self._resume_in(drain) if resume_at is None else _delay(resume_at - now)
        self._pending.release_lease(
            drain.account,
            drain.lease,
            drain.budget.states(),
            resting_until=0.0 if resume_at is None else now + delay,
        )
        if not self._pending.oldest(drain.account, 1):
            return None
        if not time_up and not drain.stopped:
            return self.take(drain.account, drain.credentials, remaining_time)
        # The drain request is what keeps the drain alive: if it cannot be sent, the batch fails
        # and SQS brings its records (and their drain) back.
        self._queue.defer(drain_request_body(drain.account), {}, delay_seconds=delay)
        return None

    @staticmethod
    def _unrecorded(drain: Drain) -> list[PendingChange]:
        return [drain.entries[order_id] for order_id in drain.unrecorded if order_id in drain.entries]

    def _resume_in(self, drain: Drain) -> int:
        """Seconds until the drain can go on (SQS delays at most 900 s): the next slot, or the next
        order asked again; for a refused token, the longest delay."""
        if drain.stopped:
            return MAX_DELAY_SECONDS
        assert drain.budget is not None
        wait = drain.budget.next_slot_in(drain.credentials.seller_key, self._get_order)
        if drain.retry and not self._unserved(drain):
            wait = max(wait, min(at for at, _ in drain.retry.values()) - self._clock())
        return int(min(max(wait, 0.0), MAX_DELAY_SECONDS))

    def _rest_until(self, drain: Drain, now: float, at: float, fetches: int, page: bool) -> float | None:
        """When a drain whose next step is due at ``at`` goes on if it rests instead of sleeping:
        once getOrder's bucket holds a slot for each of the ``fetches`` orders waiting for it, or is
        full (less ``RESUME_EARLY_SECONDS``: a drain request can come late); before the ``page``'s
        slot by as much (the drain then sleeps for it); or when an order is asked again. None when
        that is less than a second away (SQS delays by whole seconds): the drain sleeps."""
        if at - now < 1.0:
            return None
        assert drain.budget is not None
        ends = []
        if fetches:
            bucket = drain.budget.buckets[self._get_order]
            full = bucket.slot(now, keep_burst=True)
            ends += [bucket.fresh_slot(now, fetches - 1), full - RESUME_EARLY_SECONDS]
        if page:
            ends.append(drain.search_at - RESUME_EARLY_SECONDS)
        if drain.retry:
            ends.append(min(at for at, _ in drain.retry.values()))
        until = min(ends, default=at)
        return until if until - now >= 1.0 else None

    # -- choosing the next step ------------------------------------------------------------------
    def _next_step(self, drain: Drain, remaining_time: RemainingTime) -> tuple[float, Step] | None:
        """The drain's next step and when it may go (None: nothing to do now): getOrder for the
        least recently changed order, a searchOrders page when one is worth its slot and fits the
        invocation, or (nothing else left) the wait for an order to be asked again."""
        if drain.stopped:
            return None
        now = self._clock()
        if drain.read_due and not self._unserved(drain):
            self._read(drain)
        if not drain.entries:
            return None
        assert drain.budget is not None
        seller_key = drain.credentials.seller_key
        unserved = sorted(self._unserved(drain), key=lambda e: (e.changed, e.order_id))
        steps: list[tuple[float, Step]] = []
        if self._pages(remaining_time) and drain.search_at <= now:
            # While changes arrive, only what refills: the burst waits for them to settle.
            wait = drain.budget.next_slot_in(seller_key, SEARCH_ORDERS, keep_burst=not drain.settled)
            drain.search_at = now + max(wait, 0.0)
        window = self._window_orders(drain, unserved, now) if self._pages(remaining_time) else []
        if window:
            steps.append((drain.search_at, Step(page=window)))
        paged = {order_id for _, order_id in window}
        candidates = [e for e in unserved if e.order_id not in paged]
        if candidates:
            at = now + max(drain.budget.next_slot_in(seller_key, self._get_order), 0.0)
            steps.append((at, Step(fetch=candidates[0])))
        if not steps and drain.retry:
            steps.append((min(at for at, _ in drain.retry.values()), Step()))
        if not steps:
            return None
        at, step = min(steps, key=lambda timed_step: timed_step[0])
        return at, step._replace(rest_until=self._rest_until(drain, now, at, len(candidates), bool(window)))

    def _unserved(self, drain: Drain) -> list[PendingChange]:
        """Entries read and not served, whose order is not waiting to be asked again."""
        now = self._clock()
        return [e for e in drain.entries.values() if drain.retry.get(e.order_id, (0.0, 0))[0] <= now]

    def _pages(self, remaining_time: RemainingTime) -> bool:
        """Whether a searchOrders page could go now: Orders 2026-01-01, and time for its writes."""
        return not self._v0 and remaining_time() - SAFETY_MARGIN_SECONDS >= SEARCH_PAGE_TIME_SECONDS

    def _window_orders(
        self, drain: Drain, unserved: list[PendingChange], now: float
    ) -> list[tuple[datetime, str]]:
        """The orders the next searchOrders page should fetch, as (their newest change, id): the
        settled ones (changed at least searchOrders' settle time ago) that come after those
        getOrder takes before the page's slot, least recently changed first, when a page serves
        more than getOrder could before searchOrders' next slot, or (the changes settled) when
        getOrder alone would still be serving after the page; else none.

        getOrder takes the least recently changed orders and the page the next ones, so every
        order changed before the page's window is stored when the page comes: Amazon's answer
        holds the window's pending orders, not orders served before. An order a page did not bring
        (Amazon holds a newer change than the drain has read, or the page was full) is getOrder's."""
        assert drain.budget is not None
        bucket = drain.budget.buckets[self._get_order]
        before_page = bucket.slots_before(now, drain.search_at)
        settled = datetime.fromtimestamp(now - SEARCH_SETTLE_SECONDS, UTC)
        after = [e for e in unserved[before_page:] if e.order_id not in drain.unpaged]
        ready = [(e.changed, e.order_id) for e in after if e.changed <= settled]
        # Amazon's answer holds every order updated in the window's seconds: a first second in
        # which an order was stored would bring it again. That second's pending orders are left to
        # getOrder: one this drain stored at, the last of getOrder's share before the page, and
        # the pending orders' first (getOrder works from there, and so did the lease's last
        # holder, whose stores this drain does not know).
        edges = {_second(e.changed) for e in (*unserved[:1], *unserved[:before_page][-1:])}
        first = 0
        for changed, _ in ready:
            if _second(changed) not in edges and _second(changed) not in drain.stored_seconds:
                break
            first += 1
        ready = ready[first : first + SEARCH_PAGE_SIZE]
        search_rate = plan_for(SEARCH_ORDERS, DEFAULT_RATE_PLANS).rate
        worth = min(SEARCH_PAGE_SIZE, bucket.rate / search_rate)
        # Once the changes have settled no fuller page is coming: when getOrder alone would still be
        # serving after the page had stored its orders, the page ends the drain sooner.
        last = bucket.fresh_slot(now, len(unserved) - 1)
        ending = drain.settled and last > drain.search_at + SEARCH_PAGE_TIME_SECONDS
        return ready if ready and (len(ready) >= worth or ending) else []

    # -- one step --------------------------------------------------------------------------------
    def _act(self, drain: Drain, step: Step, remaining_time: RemainingTime) -> None:
        assert drain.budget is not None
        if drain.api is None:
            drain.api = OrdersApi(
                self._spapi.client_for(drain.credentials, remaining_time, budget=drain.budget)
            )
            # A page goes in searchOrders' slot that is due now, or not at all (a slot taken by
            # reconciliation meanwhile is never waited for inside the invocation); while changes
            # arrive, only in a slot that leaves the burst untouched, as the shared bucket stands.
            drain.search_budget = CappedWait(drain.budget, SEARCH_ORDERS, 0.0)
            drain.search_api = OrdersApi(
                self._spapi.client_for(drain.credentials, remaining_time, budget=drain.search_budget)
            )
        logger.append_keys(seller_id=drain.account.seller_id)
        try:
            if step.page:
                self._page(drain, step.page)
            elif step.fetch is not None:
                self._fetch(drain, step.fetch)
        finally:
            logger.remove_keys(["seller_id"])

    def _page(self, drain: Drain, orders: list[tuple[datetime, str]]) -> None:
        """One page over the window of the least recently changed settled orders. Only its first
        page is read: the window is chosen to fit one, and what a page leaves (orders changed again
        since, or beyond the page) stays pending for getOrder."""
        assert drain.search_api is not None and drain.search_budget is not None
        drain.search_budget.keep_burst = not drain.settled
        now = self._clock()
        drain.search_at = 0.0  # read again before the next page
        try:
            # The client takes searchOrders' slot (due now) from the shared budget. Both bounds are
            # inclusive and sent to the second, and changes are known to the second: the window
            # runs from the first change's second to the end of the last one's.
            page, _ = fetch_search_page(
                drain.search_api,
                after=orders[0][0],
                before=orders[-1][0] + timedelta(seconds=1),
                token=None,
            )
        except LwaAuthError as refusal:
            self._stop(drain, refusal)
            return
        except RateBudgetExhausted as exhausted:  # another took the slot
            drain.search_at = now + max(exhausted.wait_needed, 1.0)
            return
        except Exception as error:  # its orders stay with getOrder meanwhile
            logger.warning("backlog search page failed", extra={"reason": type(error).__name__})
            drain.search_at = now + LAGGING_RETRY_SECONDS
            return
        brought = {document.get("orderId") for document in page}
        drain.unpaged.update(order_id for _, order_id in orders if order_id not in brought)
        stored = store_search_page(
            self._store,
            drain.account.seller_id,
            page,
            now=self._now(),
            source="searchOrders",
            learn=lambda order_id, last_updated: self._learn(drain, order_id, last_updated),
        )
        metrics.add_metric(name=metric_names.BACKLOG_SEARCH_PAGES, unit=MetricUnit.Count, value=1)
        metrics.add_metric(
            name=metric_names.BACKLOG_ORDERS_STORED, unit=MetricUnit.Count, value=stored.refreshed
        )

    def _fetch(self, drain: Drain, entry: PendingChange) -> None:
        assert drain.api is not None
        order_id = entry.order_id
        try:
            record = self._fetch_record(drain.api, drain.account.seller_id, order_id)
        except RateBudgetExhausted:
            drain.out_of_time = True  # the lease ends before the slot: the next drain continues
            return
        except LwaAuthError as refusal:
            self._stop(drain, refusal)
            return
        except Exception as error:
            # A new order Amazon cannot read yet is its read-after-publish lag too (for an hour).
            lagging = isinstance(error, SpApiNotFound) and not self._given_up(entry)
            failure = None if lagging else permanent_failure(error)
            if failure is None and not lagging and self._attempts(drain, order_id) + 1 >= MAX_FETCH_ATTEMPTS:
                failure = PermanentFailureError(
                    ORDER_FETCH_FAILED, f"{type(error).__name__} on {MAX_FETCH_ATTEMPTS} attempts: {error}"
                )
            if failure is not None:
                self._dead_letter(drain, order_id, failure.reason, failure.detail)
            else:
                self._ask_again(drain, order_id, reason=type(error).__name__)
            return
        record = record.with_attributes(
            {
                **record.attributes,
                "notification_id": entry.notification_id,
                "event_time": sortable_timestamp(entry.changed),
                "stored_at": sortable_timestamp(self._now()),
            }
        )
        self._store.put_if_newer(record)
        self._learn(drain, order_id, record.last_updated)
        newer = drain.entries.get(order_id)
        if newer is not None:  # a change Amazon's answer does not show yet
            if not self._given_up(newer):
                metrics.add_metric(name=metric_names.STALE_CALLBACKS, unit=MetricUnit.Count, value=1)
                self._ask_again(drain, order_id, reason="lagging_read")
                return
            metrics.add_metric(name=metric_names.STALE_CALLBACKS_ACCEPTED, unit=MetricUnit.Count, value=1)
            logger.warning(
                "SP-API still answers with a state older than the change: stored as answered",
                extra={"order_id": order_id, "notification_id": newer.notification_id},
            )
            self._serve(drain, [newer])

    def _stop(self, drain: Drain, refusal: LwaAuthError) -> None:
        """LWA refused the seller's token (the client recorded the region deauthorised): the entries
        wait for the seller, counted like a refused notification (the SellerCredentials alarm), and
        the seller's secret is read afresh by the next drain (a token renewed meanwhile)."""
        drain.stopped = True
        count_credentials_failure(drain.account.seller_id, refusal.region)
        self._spapi.refused(drain.credentials)
        logger.warning(
            "seller credentials refused: its pending orders wait for the seller to authorise again",
            extra={"region": drain.account.region, "reason": refusal.code or type(refusal).__name__},
        )

    def _fetch_record(self, api: OrdersApi, seller_id: str, order_id: str) -> OrderRecord:
        if self._v0:
            record = from_orders_v0(
                seller_id, api.get_order_v0_with_pii(order_id), api.get_order_items_v0(order_id)
            )
        else:
            record = from_orders_2026(seller_id, api.get_order(order_id))
        if record.order_id != order_id:
            # The key must be the id the notification named (and whose shape was checked).
            raise OrderResponseError("Amazon's response is for another order than the one requested")
        return record

    # -- entries ---------------------------------------------------------------------------------
    def _read(self, drain: Drain) -> None:
        """Reads whether changes have settled (the most recently changed order changed longer ago
        than searchOrders' settle time), then the entries of the orders that changed least
        recently; those the table already holds at or after their change are served without a
        call (another drain, a window or reconciliation stored them)."""
        drain.read_due = False
        read = self._pending.oldest(drain.account, READ_LIMIT)
        # A read short of the limit holds every entry: its newest is the newest (one query less).
        newest = self._pending.newest(drain.account, 1) if len(read) == READ_LIMIT else read[-1:]
        settled = not newest or newest[0].changed.timestamp() <= self._clock() - SEARCH_SETTLE_SECONDS
        if settled != drain.settled:
            drain.settled, drain.search_at = settled, 0.0  # the next page's slot is read afresh
        fresh = [
            e
            for e in read
            if e != drain.entries.get(e.order_id)
            and (e.order_id not in drain.known or drain.known[e.order_id] < e.changed)
            and e not in drain.served
        ]
        unknown = sorted({e.order_id for e in fresh if e.order_id not in drain.known})
        stored = self._store.last_updated_of((drain.account.seller_id, order_id) for order_id in unknown)
        for (_, order_id), last_updated in stored.items():
            drain.known[order_id] = last_updated
        done = [e for e in fresh if e.order_id in drain.known and drain.known[e.order_id] >= e.changed]
        drain.served.extend(e._replace(changed=max(e.changed, drain.known[e.order_id])) for e in done)
        if done:
            metrics.add_metric(
                name=metric_names.NOTIFICATIONS_COALESCED, unit=MetricUnit.Count, value=len(done)
            )
        now = self._clock()
        for entry in fresh:
            held = drain.entries.get(entry.order_id)  # a newer change held in memory stays
            if entry not in done and (held is None or held.changed <= entry.changed):
                drain.entries[entry.order_id] = entry
                drain.unrecorded.discard(entry.order_id)
                drain.retry.pop(entry.order_id, None)  # a newer change is asked for afresh
                if entry.not_before > now:  # asked again later, by whichever drain comes then
                    drain.retry[entry.order_id] = (entry.not_before, entry.attempts)
        if drain.entries:
            oldest = min(e.changed for e in drain.entries.values())
            age = max(self._clock() - oldest.timestamp(), 0.0)
            metrics.add_metric(name=metric_names.PENDING_ORDER_AGE, unit=MetricUnit.Seconds, value=age)

    def _learn(self, drain: Drain, order_id: str, last_updated: datetime) -> None:
        """The table holds the order at ``last_updated`` (or newer): entries up to it are served."""
        if order_id not in drain.known or drain.known[order_id] < last_updated:
            drain.known[order_id] = last_updated
        entry = drain.entries.get(order_id)
        if entry is not None and entry.changed <= drain.known[order_id]:
            drain.retry.pop(order_id, None)
            self._serve(drain, [entry])

    def _serve(self, drain: Drain, entries: Sequence[PendingChange]) -> None:
        now = self._clock()
        for entry in entries:
            drain.entries.pop(entry.order_id, None)
            # Removed unless a change newer than the state stored was recorded since: a change the
            # answer already held (its notification late) goes too. One held in memory has no entry.
            stored = drain.known.get(entry.order_id, entry.changed)
            drain.stored_seconds.add(_second(stored))
            if not self._forget_unrecorded(drain, entry):
                drain.served.append(entry._replace(changed=max(entry.changed, stored)))
            metrics.add_metric(
                name=metric_names.EVENT_TO_STORE_LAG,
                unit=MetricUnit.Milliseconds,
                value=max(now - entry.changed.timestamp(), 0.0) * 1000,
            )
        drain.read_due = True
        if len(drain.served) >= 25:  # removed as they come, not all at the lease's end
            self._flush(drain)

    @staticmethod
    def _forget_unrecorded(drain: Drain, entry: PendingChange) -> bool:
        """Whether the entry was held in memory only (then there is nothing to remove)."""
        if entry.order_id in drain.unrecorded:
            drain.unrecorded.discard(entry.order_id)
            return True
        return False

    def _flush(self, drain: Drain) -> None:
        served, drain.served = drain.served, []
        if served:
            self._pending.remove(drain.account, served)

    def _ask_again(self, drain: Drain, order_id: str, *, reason: str) -> None:
        """The order's entry waits, counted and timed in the table: the next drain (of any
        container) waits for it too, doubling from LAGGING_RETRY_SECONDS per attempt. A change
        recorded meanwhile is newer and wins: it is asked for afresh."""
        attempts = self._attempts(drain, order_id) + 1
        delay = LAGGING_RETRY_SECONDS * 2 ** min(attempts - 1, 5)
        not_before = self._clock() + delay
        waiting = drain.entries[order_id]._replace(attempts=attempts, not_before=not_before)
        drain.entries[order_id] = waiting
        drain.retry[order_id] = (not_before, attempts)
        self._pending.add(drain.account, [waiting])
        drain.unrecorded.discard(order_id)
        logger.info(
            "order asked again later",
            extra={"order_id": order_id, "reason": reason, "delay_seconds": delay, "attempts": attempts},
        )

    def _attempts(self, drain: Drain, order_id: str) -> int:
        entry = drain.entries.get(order_id)
        return entry.attempts if entry is not None else 0

    def _given_up(self, entry: PendingChange) -> bool:
        return self._now() - entry.changed > STALE_READ_GIVE_UP

    def _dead_letter(self, drain: Drain, order_id: str, reason: str, detail: str) -> None:
        """No retry can fetch this order: its entries go to the dead-letter queue as a drain request
        carrying them (redriven, they are pending again), with the reason."""
        entries = [drain.entries[order_id]] if order_id in drain.entries else []
        failure = PermanentFailureError(reason, short_detail(detail))
        failure.notification_id = entries[-1].notification_id if entries else None
        failure.notification_type = catalog.ORDER_CHANGE.name
        failure.seller_id = drain.account.seller_id
        self._queue.dead_letter(drain_request_body(drain.account, entries), failure_attributes(failure))
        metrics.add_metric(name=metric_names.POISON_MESSAGES, unit=MetricUnit.Count, value=1)
        logger.error(
            "order could not be fetched: dead-lettered",
            extra={
                "order_id": order_id,
                "notification_id": entries[-1].notification_id if entries else None,
                "reason": reason,
                "detail": failure.detail,
            },
        )
        for entry in entries:
            drain.entries.pop(entry.order_id, None)
            if not self._forget_unrecorded(drain, entry):
                drain.served.append(entry)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _delay(seconds: float) -> int:
    """An SQS delay of at least ``seconds`` (whole seconds, at most SQS's longest)."""
    return min(max(math.ceil(seconds), 1), MAX_DELAY_SECONDS)


def _second(moment: datetime) -> int:
    return int(moment.timestamp())
