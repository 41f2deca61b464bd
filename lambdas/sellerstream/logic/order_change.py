"""ORDER_CHANGE: store each order's current state from SP-API, with the fewest calls.

The notification only says *that* an order changed, and when (``TimeOfOrderChange``, or the publish
time ``EventTime`` when that is null: never earlier than the change). The stored record is Amazon's
response, and its own last-update time (``lastUpdatedTime``) decides what is newer. A batch is
planned as a whole (``begin_batch``) before its records are acknowledged one by one:

- **Skip.** A notification whose order is stored with ``last_updated`` at or after its change is
  acknowledged without a call: that state already includes the change (``lastUpdatedTime`` is the
  time of the latest change a state includes). Amazon's times have whole seconds, so the change
  time is compared by its second, as exactly as the conditional write itself can order states.
- **Coalesce.** Notifications of one order in one batch cost one call; each whose change is at or
  before the fetched state is acknowledged.
- **Lagging reads.** An answer older than the change its notification announces (Amazon's
  read-after-publish lag) is stored if it is newer than the table, but the notification is not done:
  it waits in the queue and asks again, so the order ends at its latest state. After an hour the
  answer is taken as it is (logged, ``StaleCallbacksAccepted``).
- **One budget, fairly.** Calls draw from the seller's shared rate budget: the batch reserves a slot
  per order in one step (``reserve_for``: the slot is claimed in the order's name) and sends in slot
  order across sellers. No batch waits longer than ``FAIR_WAIT_SECONDS`` for a slot: an order whose
  slot is further away keeps it (held) and its notification waits in the queue, coming back
  ``COPY_LEAD_SECONDS`` before the slot to send in it without a new reservation. Only the newest
  notification of an order is kept waiting: older ones of the same order are acknowledged as
  superseded by it, in the batch and across batches (a waiting notification is recorded in
  ``store.waiting``; an older one that finds it there, and holds no slot, is acknowledged). An
  order another container is fetching right now is not fetched again: the batch waits for that
  call (when it is due within the fair wait) and then reads the stored state.
- **Backlog mode.** When a seller's changes wait longer than ``BACKLOG_AGE_SECONDS`` for getOrder,
  the batch pages through Orders 2026-01-01 ``searchOrders`` over a ``lastUpdatedAfter`` ..
  ``lastUpdatedBefore`` window covering them (100 orders a page, on searchOrders' own budget) and
  stores every order of every page with the same conditional write. Notifications whose order is
  then stored at or after their change are skipped, including those still waiting in the queue.
"""

from __future__ import annotations

import bisect
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from sellerstream import metric_names
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.domain.orders import BacklogWindow, OrderRecord, WaitingNotification, WriteOutcome
from sellerstream.errors import NotReadyError
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.order_records import OrderResponseError, from_orders_2026, from_orders_v0
from sellerstream.logic.order_search import (
    SEARCH_ORDERS,
    SEARCH_PAGE_TIME_SECONDS,
    SEARCH_SETTLE_SECONDS,
    fetch_search_page,
    reserve_search_slot,
    store_search_page,
)
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.order_change import OrderChangeNotification
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import OrderStore, SearchWindows, SellerDirectory, WaitingNotifications
from sellerstream.spapi.client import SAFETY_MARGIN_SECONDS
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import LwaAuthError, RateBudgetExhausted, SpApiError, SpApiThrottled
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import RateBudget, SlotUse
from sellerstream.timestamps import sortable_timestamp

if TYPE_CHECKING:
    from sellerstream.notifications import AnyNotification

GET_ORDER: Final = "orders/2026-01-01:getOrder"
GET_ORDER_V0: Final = "orders/v0:getOrder"
GET_ORDER_ITEMS_V0: Final = "orders/v0:getOrderItems"

# The longest a batch waits for a slot; an order whose slot is further away keeps it and waits in the
# queue, so one seller's backlog never holds a container that other sellers' records need.
FAIR_WAIT_SECONDS: Final = 3.0
# A notification waiting for its order's held slot comes back this long before it (SQS delays are
# whole seconds: between one and two seconds more), and its batch waits for the slot.
COPY_LEAD_SECONDS: Final = 1.0
# Slots are held this far ahead at most: a copy's delay is at most SQS's 900 s.
HOLD_WITHIN_SECONDS: Final = 900.0 - COPY_LEAD_SECONDS
# Another container's call for an order is usually answered and stored this soon after its slot: the
# batch reads the state then, and again every ELSEWHERE_LOOK_EVERY_SECONDS up to
# ELSEWHERE_SETTLE_SECONDS after the slot (a slow answer, retries).
ELSEWHERE_FIRST_LOOK_SECONDS: Final = 0.1
ELSEWHERE_LOOK_EVERY_SECONDS: Final = 0.2
ELSEWHERE_SETTLE_SECONDS: Final = 2.0
# An order whose state is not stored after another container's slot (that call failed or lags) is
# asked again this much later.
ELSEWHERE_RETRY_SECONDS: Final = 2.0
# Before Amazon confirms the plan only its burst is used and nothing is held (a faster plan would be
# held to the default's spacing): records without a slot come back this soon, once the first answer
# has confirmed it.
UNCONFIRMED_RETRY_SECONDS: Final = 2.0
# Time kept free per call (and for acknowledging) when deciding how many slots fit the invocation.
CALL_TIME_SECONDS: Final = 1.0
# Changes waiting this long past the settle time for getOrder start backlog mode: the window then
# spans at least this much, which on a busy seller fills its pages.
BACKLOG_AGE_SECONDS: Final = 600.0
# Records waiting for a window that another container is paging through come back after this.
LEASED_WINDOW_WAIT_SECONDS: Final = 15.0
# The other records a window covers wait this long (SQS's longest delay): Amazon returns a window's
# orders in no stated order, so a record's page may be any of those left, and a window opens only
# on a backlog deeper than BACKLOG_AGE_SECONDS. Coming back with every page (every 180 s at the
# default plan) cost a deep backlog tens of receives per record.
COVERED_WAIT_SECONDS: Final = 900.0
# A lagging read is asked again (after THROTTLE_DEFERRAL_BASE_SECONDS, doubling) for this long.
STALE_READ_GIVE_UP: Final = timedelta(hours=1)

_log = logging.getLogger(__name__)


def change_time(notification: OrderChangeNotification) -> datetime:
    """When the change happened (publish time when Amazon left it null), to the second."""
    trigger = notification.payload.order_change.trigger
    moment = trigger.time_of_order_change or notification.event_time
    return moment.astimezone(UTC).replace(microsecond=0)


class _Order:
    """One order of the batch and every notification of it.

    (The batch's working state is plain classes and NamedTuples: a generated dataclass costs every
    cold start about a millisecond.)"""

    __slots__ = (
        "claimed",
        "credentials",
        "error",
        "fetched",
        "held",
        "known",
        "notifications",
        "order_id",
        "reported",
        "retry_at",
        "seller_id",
        "stored",
        "superseded",
    )

    def __init__(self, seller_id: str, order_id: str, notifications: list[OrderChangeNotification]) -> None:
        self.seller_id = seller_id
        self.order_id = order_id
        self.notifications = notifications
        self.credentials: SellerCredentials | None = None
        self.error: BaseException | None = None  # raised for its records (in apply: retried or poison)
        self.stored: datetime | None = None  # last_updated in the table before the batch
        self.known: datetime | None = None  # the newest state stored or fetched so far
        self.fetched: WriteOutcome | None = None  # this batch's own call answered (and how the write went)
        self.reported = False  # the call's outcome was reported by one of its records
        self.retry_at: float | None = None  # no call now: the newest notification comes back then (our clock)
        self.claimed = False  # this batch holds the order's slot to send in (released if not sent)
        self.held = False  # a slot is held for the order: its newest notification comes back for it
        self.superseded = False  # a newer notification of the order waits in the queue for it

    def __repr__(self) -> str:
        return f"_Order(seller_id={self.seller_id!r}, order_id={self.order_id!r})"

    @property
    def newest(self) -> datetime:
        return max(change_time(notification) for notification in self.notifications)

    @property
    def resolved(self) -> SellerCredentials:
        assert self.credentials is not None  # only orders whose credentials resolved are scheduled
        return self.credentials

    @property
    def carrier(self) -> OrderChangeNotification:
        """The notification that waits in the queue when the order cannot be served now."""
        return max(self.notifications, key=change_time)

    def satisfied(self, change: datetime) -> bool:
        return self.known is not None and self.known >= change

    def learn(self, last_updated: datetime) -> None:
        if self.known is None or last_updated > self.known:
            self.known = last_updated


# A seller in one SP-API region: what Amazon meters and authorises apart.
_Account = tuple[str, Region]


def _account(credentials: SellerCredentials) -> _Account:
    return credentials.seller_key, credentials.region


class _SellerWork:
    __slots__ = ("credentials", "orders")

    def __init__(self, credentials: SellerCredentials) -> None:
        self.credentials = credentials
        self.orders: list[_Order] = []


class _Step(NamedTuple):
    """One step of the batch's schedule, at a time on the use case's clock: fetch the order in its
    pooled slot, or (``fetch`` False) read the state another container's call stored for it."""

    at: float
    order: _Order
    fetch: bool
    slot_at: float = 0.0  # for a read: the other container's slot


class _Release(NamedTuple):
    """What the batch hands back after its calls: unused slots of a bucket, and the claims of
    ``orders`` it took but did not fetch."""

    budget: RateBudget
    seller_key: str
    operation: str
    orders: list[_Order]


class OrderChangeUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        store: OrderStore,
        *,
        orders_api_version: str = "2026-01-01",
        backlog: SearchWindows | None = None,
        waiting: WaitingNotifications | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._v0 = orders_api_version == "v0"
        self._get_order = GET_ORDER_V0 if self._v0 else GET_ORDER
        self._credentials = directory
        self._spapi = spapi
        self._store = store
        self._backlog = backlog
        self._waiting = waiting
        self._clock = clock
        self._orders: dict[tuple[str, str], _Order] = {}
        self._released: list[_Release] = []

    # -- the batch -------------------------------------------------------------------------------
    def begin_batch(self, notifications: Sequence[AnyNotification], remaining_time: RemainingTime) -> None:
        self._orders = {}
        changes = [n for n in notifications if isinstance(n, OrderChangeNotification)]
        for notification in changes:
            key = _key(notification)
            order = self._orders.get(key)
            if order is None:
                self._orders[key] = _Order(key[0], key[1], [notification])
            else:
                order.notifications.append(notification)
        try:
            self._plan(list(self._orders.values()), remaining_time)
        except Exception:
            # Planning is an optimisation: without it every record fetches on its own in apply.
            logger.exception("batch planning failed: records are applied one by one")
            self._orders = {}
        finally:
            self._release_budget()

    def before_apply(self, notification: AnyNotification) -> None:
        """Defers a record that must wait, before idempotency spends a write on it."""
        if not isinstance(notification, OrderChangeNotification):
            return
        order = self._orders.get(_key(notification))
        if order is not None:
            self._raise_if_waiting(order, notification)

    def end_batch(self) -> None:
        self._orders = {}

    def apply(self, notification: OrderChangeNotification, remaining_time: RemainingTime) -> dict[str, Any]:
        key = _key(notification)
        order = self._orders.get(key)
        if order is None:
            # Not planned (a record applied outside a batch, or planning failed): plan it alone.
            order = _Order(key[0], key[1], [notification])
            try:
                self._plan([order], remaining_time)
            finally:
                self._release_budget()
            self._raise_if_waiting(order, notification)
        return self._acknowledge(order, notification)

    def _raise_if_waiting(self, order: _Order, notification: OrderChangeNotification) -> None:
        """Raises what defers the notification, when it is the one that waits for its order."""
        if order.satisfied(change_time(notification)) or not _waits(order, notification):
            return
        if order.error is not None:
            if isinstance(order.error, (RateBudgetExhausted, SpApiThrottled)):
                raise order.error
            return  # raised in apply, where it is reported like any failure
        if order.retry_at is not None:
            # At least a second: a wait of 0 would mean "unknown" to the deferral.
            wait = max(order.retry_at - self._clock(), 1.0)
            raise RateBudgetExhausted(
                self._get_order, "the seller's rate budget is spent for now", wait_needed=wait
            )
        if order.fetched is not None and not self._stale_read_expired(notification):
            metrics.add_metric(name=metric_names.STALE_CALLBACKS, unit=MetricUnit.Count, value=1)
            raise NotReadyError(
                "SP-API answered with a state older than the change the notification announces",
                wait_seconds=0.0,  # unknown: the copy's delay doubles from THROTTLE_DEFERRAL_BASE_SECONDS
            )

    def _acknowledge(self, order: _Order, notification: OrderChangeNotification) -> dict[str, Any]:
        change = change_time(notification)
        if order.satisfied(change):
            if order.fetched is not None and not order.reported:
                order.reported = True
                return self._summary(order, order.fetched.value)
            if order.fetched is not None:
                metrics.add_metric(name=metric_names.NOTIFICATIONS_COALESCED, unit=MetricUnit.Count, value=1)
                return self._summary(order, "coalesced")
            metrics.add_metric(name=metric_names.NOTIFICATIONS_SKIPPED, unit=MetricUnit.Count, value=1)
            return self._summary(order, "skipped")
        waiting_error = isinstance(order.error, (RateBudgetExhausted, SpApiThrottled))
        if order.error is not None and not waiting_error:
            raise order.error
        if not _waits(order, notification):
            metrics.add_metric(name=metric_names.NOTIFICATIONS_SUPERSEDED, unit=MetricUnit.Count, value=1)
            return self._summary(order, "superseded")
        if order.fetched is not None and order.error is None and order.retry_at is None:
            return self._accept_stale(order, notification)  # a lagging read, past the time it is given
        self._raise_if_waiting(order, notification)
        raise RateBudgetExhausted(
            self._get_order, "the order could not be fetched in this batch", wait_needed=1.0
        )

    def _accept_stale(self, order: _Order, notification: OrderChangeNotification) -> dict[str, Any]:
        metrics.add_metric(name=metric_names.STALE_CALLBACKS_ACCEPTED, unit=MetricUnit.Count, value=1)
        logger.warning(
            "SP-API still answers with a state older than the notification's change: stored as answered",
            extra={"notification_id": notification.notification_id, "order_id": order.order_id},
        )
        return self._summary(order, "stale_accepted")

    def _summary(self, order: _Order, outcome: str) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "outcome": outcome,
            "last_updated": sortable_timestamp(order.known) if order.known else None,
        }

    def _stale_read_expired(self, notification: OrderChangeNotification) -> bool:
        return self._now() - notification.event_time > STALE_READ_GIVE_UP

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- planning --------------------------------------------------------------------------------
    def _plan(self, orders: list[_Order], remaining_time: RemainingTime) -> None:
        sellers = self._resolve_sellers(orders)
        stored = self._store.last_updated_of(
            (order.seller_id, order.order_id) for order in orders if order.credentials is not None
        )
        for order in orders:
            order.stored = order.known = stored.get((order.seller_id, order.order_id))
        schedule: list[_Step] = []
        for work in sellers.values():
            refusal = self._spapi.refused(work.credentials)
            if refusal is not None:
                # LWA refused this seller's refresh token moments ago: no budget, no call.
                for order in work.orders:
                    order.error = refusal
                continue
            pending = sorted(
                (order for order in work.orders if not order.satisfied(order.newest)), key=lambda o: o.newest
            )
            if pending:
                schedule.extend(self._reserve(work, pending, remaining_time))
        self._fetch_in_slot_order(schedule, remaining_time)
        if self._waiting is not None:
            self._note_waiting([order for order in orders if _still_waits(order)])

    def _note_waiting(self, orders: list[_Order]) -> None:
        """Records each order's waiting notification, or finds a newer one already waiting (then this
        batch's notifications of the order are superseded, unless a slot is held for them)."""
        assert self._waiting is not None
        if not orders:
            return
        try:
            recorded = self._waiting.newest_of((order.seller_id, order.order_id) for order in orders)
            for order in orders:
                carrier = order.carrier
                ours = WaitingNotification(change_time(carrier).timestamp(), carrier.notification_id)
                newest = recorded.get((order.seller_id, order.order_id))
                if newest is not None and newest.supersedes(ours.change, ours.notification_id):
                    order.superseded = not order.held
                elif newest is None or newest.change < ours.change:
                    self._waiting.record(order.seller_id, order.order_id, ours)
        except Exception:  # only an optimisation: every notification then waits for itself
            _log.debug("waiting notifications not read or recorded", exc_info=True)

    def _resolve_sellers(self, orders: list[_Order]) -> dict[_Account, _SellerWork]:
        """Each order's credentials, grouped by seller and SP-API region: a seller's orders in two
        regions are two accounts at Amazon (endpoint, token, rate budget)."""
        sellers: dict[_Account, _SellerWork] = {}
        resolved: dict[tuple[str, str | None, str], SellerCredentials | Exception] = {}
        for order in orders:
            notification = order.notifications[0]
            marketplace_id = notification.payload.order_change.summary.marketplace_id
            lookup = (order.seller_id, marketplace_id, notification.subscription_id)
            if lookup not in resolved:
                try:
                    resolved[lookup] = self._credentials.for_notification(
                        seller_id=order.seller_id,
                        subscription_id=notification.subscription_id,
                        marketplace_id=marketplace_id,
                    )
                except Exception as error:  # raised again by each of its records, classified there
                    resolved[lookup] = error
            found = resolved[lookup]
            if isinstance(found, Exception):
                order.error = found
                continue
            work = sellers.get(_account(found))
            if work is None:
                work = sellers[_account(found)] = _SellerWork(found)
            order.credentials = work.credentials
            work.orders.append(order)
        return sellers

    def _reserve(
        self, work: _SellerWork, pending: list[_Order], remaining_time: RemainingTime
    ) -> list[_Step]:
        """Slots for the orders to fetch now; the others keep a slot for later and wait, wait for
        another container's call, or get a backlog search."""
        budget = self._spapi.rate_budget(work.credentials)
        seller_key = work.credentials.seller_key
        v0 = self._v0
        operation = self._get_order
        last_within = max(remaining_time() - SAFETY_MARGIN_SECONDS - CALL_TIME_SECONDS, 0.0)
        reservation = budget.reserve_for(
            seller_key,
            operation,
            {order.order_id: order.known.timestamp() if order.known else None for order in pending},
            send_within=min(FAIR_WAIT_SECONDS, last_within),
            hold_within=HOLD_WITHIN_SECONDS,
        )
        planned = self._clock()
        self._released.append(_Release(budget, seller_key, operation, work.orders))
        sends: list[tuple[float, _Order]] = []
        steps: list[_Step] = []
        unserved: list[_Order] = []
        for order, slot in zip(pending, reservation.slots, strict=True):
            if slot.use is SlotUse.SEND:
                order.claimed = True
                sends.append((planned + slot.in_seconds, order))
            elif slot.use is SlotUse.ELSEWHERE:
                slot_at = planned + max(slot.in_seconds, 0.0)
                if slot_at - planned <= min(FAIR_WAIT_SECONDS, last_within - ELSEWHERE_SETTLE_SECONDS):
                    # Spread: copies of one notification in several containers are applied one at a
                    # time (at once, they would find each other in progress).
                    look = ELSEWHERE_FIRST_LOOK_SECONDS + random.uniform(0.0, ELSEWHERE_LOOK_EVERY_SECONDS)  # noqa: S311
                    steps.append(_Step(slot_at + look, order, fetch=False, slot_at=slot_at))
                else:
                    order.retry_at = slot_at + ELSEWHERE_FIRST_LOOK_SECONDS
            else:
                if slot.use is SlotUse.HELD:
                    order.held = True
                    # Back just before the slot: the first copy to come sends in it, the others
                    # (redeliveries, other containers' notifications of the order) read its result.
                    order.retry_at = planned + slot.in_seconds - COPY_LEAD_SECONDS
                unserved.append(order)
        if v0 and sends:
            # getOrderItems has its own bucket: one page per order reserved now, more taken as needed.
            budget.reserve(
                seller_key,
                GET_ORDER_ITEMS_V0,
                len(sends),
                first_within=FAIR_WAIT_SECONDS,
                last_within=last_within,
            )
            self._released.append(_Release(budget, seller_key, GET_ORDER_ITEMS_V0, []))
        if unserved and not v0 and self._backlog is not None:
            served, unserved = self._backlog_mode(
                work, budget, [order for _, order in sends], unserved, remaining_time
            )
            # The pooled slots serve the orders backlog mode chose, in their order.
            sends = list(zip(sorted(at for at, _ in sends), served, strict=False))
            for _, order in sends:
                order.retry_at = None
        estimates = [order for order in unserved if order.retry_at is None]
        for position, order in enumerate(estimates):
            wait = reservation.next_slot_in + position * reservation.interval
            if not reservation.confirmed:
                wait = min(wait, UNCONFIRMED_RETRY_SECONDS)
            order.retry_at = planned + wait
        return steps + [_Step(at, order, fetch=True) for at, order in sends]

    def _fetch_in_slot_order(
        self,
        schedule: list[_Step],
        remaining_time: RemainingTime,
    ) -> None:
        # By the seller's credentials in one region (each order of a seller's region holds the same).
        apis: dict[SellerCredentials, OrdersApi] = {}
        held_back: set[SellerCredentials] = set()
        refused: dict[SellerCredentials, LwaAuthError] = {}  # whose token LWA refused in this batch
        operation = self._get_order
        steps = sorted(schedule, key=lambda entry: entry.at)
        while steps:
            step = steps.pop(0)
            order = step.order
            credentials = order.resolved
            budget = self._spapi.rate_budget(credentials)
            if not step.fetch:
                again = self._await_elsewhere(budget, step)
                if again is not None:
                    bisect.insort(steps, again, key=lambda entry: entry.at)
                continue
            if credentials in refused:
                order.error = refused[credentials]  # no slot spent on a call that cannot succeed
                continue
            if credentials in held_back:
                order.retry_at = self._clock() + budget.next_slot_in(credentials.seller_key, operation)
                continue
            if remaining_time() - SAFETY_MARGIN_SECONDS < CALL_TIME_SECONDS:
                order.retry_at = self._clock() + 1.0  # no time left in this invocation: the next one will
                continue
            budget.wait_for_pooled_slot(credentials.seller_key, operation)
            # Another container may have stored the order meanwhile (a batch of its own, or a
            # backlog page): one read is far cheaper than a call. An unused slot serves the next order.
            self._refresh_known(order)
            if order.satisfied(order.newest):
                continue
            api = apis.get(credentials)
            if api is None:
                api = apis[credentials] = OrdersApi(self._spapi.client_for(credentials, remaining_time))
            # The batch is planned before its records are handled: lines about this call name the
            # notification that carries it (the others of its order are logged as coalesced).
            logger.append_keys(
                notification_id=order.carrier.notification_id,
                notification_type=order.carrier.notification_type,
                seller_id=order.seller_id,
            )
            try:
                record = self._fetch(api, order)
            except (RateBudgetExhausted, SpApiThrottled) as error:
                # The seller's bucket is spent (or Amazon said so): its other orders wait too.
                order.error = error
                held_back.add(credentials)
                continue
            except LwaAuthError as error:
                # The seller's credentials are refused: its other orders fail the same way.
                order.error = refused[credentials] = error
                continue
            except Exception as error:  # kept for its records, which report it
                order.error = error
                continue
            finally:
                logger.remove_keys(["notification_id", "notification_type", "seller_id"])
            order.fetched = self._store.put_if_newer(record)
            order.learn(record.last_updated)

    def _await_elsewhere(self, budget: RateBudget, step: _Step) -> _Step | None:
        """Another container sends for this order in its slot: reads the state it stored, and
        returns the next look when it is not there yet (None: done, or the record waits)."""
        budget.wait(step.at - self._clock())
        order = step.order
        self._refresh_known(order)
        if order.satisfied(order.newest):
            return None
        again = self._clock() + ELSEWHERE_LOOK_EVERY_SECONDS
        if again <= step.slot_at + ELSEWHERE_SETTLE_SECONDS:
            return step._replace(at=again)
        order.retry_at = self._clock() + ELSEWHERE_RETRY_SECONDS
        return None

    def _refresh_known(self, order: _Order) -> None:
        stored = self._store.last_updated_of([(order.seller_id, order.order_id)])
        last_updated = stored.get((order.seller_id, order.order_id))
        if last_updated is not None:
            order.learn(last_updated)

    def _fetch(self, api: OrdersApi, order: _Order) -> OrderRecord:
        if self._v0:
            record = from_orders_v0(
                order.seller_id,
                api.get_order_v0_with_pii(order.order_id),
                api.get_order_items_v0(order.order_id),
            )
        else:
            record = from_orders_2026(order.seller_id, api.get_order(order.order_id))
        if record.order_id != order.order_id:
            # The key must be the id the notification named (and whose shape was checked).
            raise OrderResponseError("Amazon's response is for another order than the one requested")
        return _with_provenance(record, order.carrier, self._now())

    def _release_budget(self) -> None:
        released, self._released = self._released, []
        for release in released:
            # A claimed order not fetched (stored meanwhile, out of time, its call failed): others may
            # fetch it now. Its slot, when unused, goes back with the other unused ones.
            unsent = [order.order_id for order in release.orders if order.claimed and order.fetched is None]
            try:
                release.budget.release(release.seller_key, release.operation, unsent)
            except Exception:  # an unreturned slot only costs a little throughput
                _log.debug("rate budget release failed", exc_info=True)

    # -- backlog mode ----------------------------------------------------------------------------
    def _backlog_mode(
        self,
        work: _SellerWork,
        budget: RateBudget,
        served: list[_Order],
        unserved: list[_Order],
        remaining_time: RemainingTime,
    ) -> tuple[list[_Order], list[_Order]]:
        """Pages through the seller's backlog window when getOrder cannot serve its changes soon.

        Returns the orders to fetch with the getOrder slots already reserved and the orders that
        wait; orders a page stored at or after their change need neither.
        """
        assert self._backlog is not None
        now = self._now()
        key = _backlog_key(work.credentials, self._credentials.lwa_app().client_id)
        window = self._backlog.load(key)
        open_window = window if window is not None and not window.done else None
        if open_window is None:
            window = self._start_window(key, window, unserved, now, remaining_time)
        elif open_window.leased(self._clock()):
            window = None  # another container pages through it now
        else:
            window = self._backlog.claim(key, open_window, self._lease_seconds(remaining_time))
        active = self._page_through(key, window, work, budget, remaining_time) if window else open_window
        pending = [order for order in (*served, *unserved) if not order.satisfied(order.newest)]
        # Reserved getOrder slots go to orders no open window will bring (a page would repeat them).
        covered = [o for o in pending if active is not None and not active.done and active.covers(o.newest)]
        uncovered = [o for o in pending if o not in covered]
        slots = len(served)
        served, rest = (uncovered + covered)[:slots], (uncovered + covered)[slots:]
        # One covered record comes back with the window's next page to page on (every batch brings
        # a driver); the others wait for the window.
        wait = self._window_wait(active, budget, work.credentials.seller_key)
        waiting = [order for order in rest if order in covered]
        for position, order in enumerate(waiting):
            order.retry_at = self._clock() + (wait if position == 0 else max(wait, COVERED_WAIT_SECONDS))
        return served, rest

    def _start_window(
        self,
        key: str,
        previous: BacklogWindow | None,
        unserved: list[_Order],
        now: datetime,
        remaining_time: RemainingTime,
    ) -> BacklogWindow | None:
        before = (now - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)
        old_enough = before - timedelta(seconds=BACKLOG_AGE_SECONDS)
        if not any(order.newest <= old_enough for order in unserved):
            return None  # getOrder still serves this seller soon enough
        # From the oldest change waiting here that the previous window did not cover. Not simply from
        # where the previous window ended: getOrder has meanwhile served changes after it (oldest
        # first), and a page repeating orders getOrder already brought would waste searchOrders'
        # budget. A change older than this start, waiting elsewhere, is served by getOrder.
        waiting = [o.newest for o in unserved if previous is None or not previous.covers(o.newest)]
        if not waiting:
            return None
        after = min(waiting) - timedelta(seconds=1)
        if after >= before:
            return None
        return self._backlog.start(  # type: ignore[union-attr]
            key,
            after=after,
            before=before,
            previous=previous,
            lease_seconds=self._lease_seconds(remaining_time),
        )

    def _page_through(
        self,
        key: str,
        window: BacklogWindow,
        work: _SellerWork,
        budget: RateBudget,
        remaining_time: RemainingTime,
    ) -> BacklogWindow | None:
        """Fetches pages while searchOrders' budget has a slot now and the invocation has time;
        returns the window as it was left (None: another container changed it meanwhile)."""
        assert self._backlog is not None
        seller_key = work.credentials.seller_key
        api = OrdersApi(self._spapi.client_for(work.credentials, remaining_time))
        orders = {o.order_id: o for o in work.orders}
        current: BacklogWindow | None = window
        while current is not None and not current.done:
            if remaining_time() - SAFETY_MARGIN_SECONDS < SEARCH_PAGE_TIME_SECONDS:
                break
            if not reserve_search_slot(budget, seller_key, within=FAIR_WAIT_SECONDS):
                break
            try:
                page, next_token = fetch_search_page(
                    api, after=current.after, before=current.before, token=current.next_token
                )
            except SpApiError as error:
                logger.warning(
                    "backlog search page failed: the window waits for the next batch",
                    extra={"seller_id": work.credentials.seller_key, "reason": type(error).__name__},
                )
                break
            stored = self._store_page(work, page, orders)
            metrics.add_metric(name=metric_names.BACKLOG_SEARCH_PAGES, unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=metric_names.BACKLOG_ORDERS_STORED, unit=MetricUnit.Count, value=stored)
            current = self._backlog.advance(key, current, next_token=next_token, orders_stored=stored)
            if current is not None and not current.done:
                current = self._backlog.claim(key, current, self._lease_seconds(remaining_time))
        if current is not None and current.leased(self._clock()):
            self._backlog.release(key, current)
            current = current._replace(version=current.version + 1, lease_until=0.0)
        return current

    def _store_page(self, work: _SellerWork, page: list[dict[str, Any]], orders: dict[str, _Order]) -> int:
        def learn(order_id: str, last_updated: datetime) -> None:
            order = orders.get(order_id)
            if order is not None:
                order.learn(last_updated)

        stored = store_search_page(
            self._store,
            work.credentials.seller_key,
            page,
            now=self._now(),
            source="searchOrders",
            learn=learn,
        )
        return stored.refreshed

    def _window_wait(self, window: BacklogWindow | None, budget: RateBudget, seller_key: str) -> float:
        """How long a change covered by the open window waits before asking again."""
        if window is not None and window.leased(self._clock()):
            return LEASED_WINDOW_WAIT_SECONDS
        return max(budget.next_slot_in(seller_key, SEARCH_ORDERS), FAIR_WAIT_SECONDS)

    def _lease_seconds(self, remaining_time: RemainingTime) -> float:
        return max(remaining_time(), 1.0)


def _key(notification: OrderChangeNotification) -> tuple[str, str]:
    change = notification.payload.order_change
    return change.seller_id, change.amazon_order_id


def _waits(order: _Order, notification: OrderChangeNotification) -> bool:
    """Whether this notification is the one that waits in the queue for its order (else superseded).

    The newest change waits; so do redeliveries of it (same notification id: acknowledging one would
    mark the id done in the idempotency table, and the waiting copy would then be dropped). None
    waits when a newer notification of the order waits in the queue.
    """
    if order.superseded:
        return False
    carrier = order.carrier
    return notification.notification_id == carrier.notification_id or change_time(notification) > change_time(
        carrier
    )


def _still_waits(order: _Order) -> bool:
    """Whether the order's newest notification will wait in the queue after this batch."""
    if order.satisfied(order.newest) or order.credentials is None:
        return False
    return order.error is None or isinstance(order.error, (RateBudgetExhausted, SpApiThrottled))


def _with_provenance(
    record: OrderRecord, notification: OrderChangeNotification, now: datetime
) -> OrderRecord:
    attributes = {
        **record.attributes,
        "notification_id": notification.notification_id,
        "event_time": sortable_timestamp(notification.event_time),
        "stored_at": sortable_timestamp(now),
    }
    return record.with_attributes(attributes)


def _backlog_key(seller: SellerCredentials, application_id: str) -> str:
    return f"BACKLOG#{application_id}#{seller.seller_key}#{seller.region.value}"
