"""ORDER_CHANGE: acknowledge each notification once its change is recorded, then drain.

The notification only says *that* an order changed, and when (``TimeOfOrderChange``, or the publish
time ``EventTime`` when that is null: never earlier than the change). The stored record is Amazon's
response, and its own last-update time (``lastUpdatedTime``) decides what is newer. A batch is
taken in as a whole (``begin_batch``):

- **Skip.** A notification whose order is stored with ``last_updated`` at or after its change is
  acknowledged without a call: that state already includes the change. Amazon's times have whole
  seconds, so the change time is compared by its second.
- **Lease first.** The invocation takes the seller's drain lease (``logic.order_drainer``). When it
  has it and nothing else of the seller is pending (a quiet seller), the changes are served from
  memory after the batch, in the invocation that brought them: no entry is written for them
  unless the drain lets go with one unserved (time up, a failed call, refused credentials), and
  the records are done only when the invocation ends, so a container that dies first leaves them
  to SQS.
- **Record.** Otherwise "order X of seller S changed at T" goes into the seller's pending set
  (``PendingOrders``: one small write, none when a change as new is pending; an order has one
  entry, its newest change) and the notification is acknowledged: the queue is not where an order
  waits for its call. When the lease was held, it is tried once more after the write: its holder
  may have let go after its last look.
- **Drain.** After the batch, the invocation drains the sellers whose lease it took; a seller whose
  drain is held elsewhere is fetched by its holder. A seller whose changes were all stored is
  drained too when anything of it is pending (one read): a redelivered batch is how a drain that
  died is taken up again.

A drain request (the drainer's own message, ``notifications.drain_request``) on the same queue
takes the seller's lease and continues; one carrying orders (a redriven dead letter) records them
first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sellerstream import metric_names
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.domain.orders import PendingChange, SellerAccount
from sellerstream.logic.batch import PENDING, RemainingTime
from sellerstream.logic.drain_request import DrainRequest
from sellerstream.logic.order_drainer import Drain, OrderDrainer
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.order_change import OrderChangeNotification
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import OrderStore, PendingOrders, SellerDirectory
from sellerstream.spapi.endpoints import Region
from sellerstream.timestamps import sortable_timestamp

SKIPPED = "skipped"  # stored at or after its change already


def change_time(notification: OrderChangeNotification) -> datetime:
    """When the change happened (publish time when Amazon left it null), to the second."""
    trigger = notification.payload.order_change.trigger
    moment = trigger.time_of_order_change or notification.event_time
    return moment.astimezone(UTC).replace(microsecond=0)


class _Intake:
    """What the batch made of one notification (or drain request): its outcome, or its error."""

    __slots__ = ("error", "last_updated", "outcome")

    def __init__(self) -> None:
        self.outcome = PENDING
        self.error: BaseException | None = None
        self.last_updated: datetime | None = None


class OrderChangeUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        store: OrderStore,
        pending: PendingOrders,
        drainer: OrderDrainer,
    ) -> None:
        self._directory = directory
        self._spapi = spapi
        self._store = store
        self._pending = pending
        self._drainer = drainer
        self._intakes: dict[str, _Intake] = {}  # by notification id
        self._to_drain: list[Drain] = []  # the leases this batch took
        self._remaining_time: RemainingTime | None = None

    # -- the batch -------------------------------------------------------------------------------
    def begin_batch(self, notifications: Sequence[Any], remaining_time: RemainingTime) -> None:
        # Leases taken earlier in this invocation (a record taken in on its own) stay to be drained.
        self._intakes, self._remaining_time = {}, remaining_time
        changes = [n for n in notifications if isinstance(n, OrderChangeNotification)]
        requests = [n for n in notifications if isinstance(n, DrainRequest)]
        self._take_in_changes(changes)
        for request in requests:
            self._take_in_request(request)

    def end_batch(self) -> None:
        """Drains the sellers whose lease the batch took. Their recorded entries are durable, and a
        change held in memory is served, recorded, or carried by a drain request before this
        returns; when none of that can be done it raises, and SQS brings the batch back (as it does
        when the container dies here)."""
        to_drain, self._to_drain = self._to_drain, []
        remaining_time, self._remaining_time = self._remaining_time, None
        self._intakes = {}
        if to_drain and remaining_time is not None:
            self._drainer.drain(to_drain, remaining_time)

    def apply(self, notification: Any, remaining_time: RemainingTime) -> dict[str, Any]:
        intake = self._intakes.get(notification.notification_id)
        if intake is None:
            # Not taken in with its batch (applied on its own): take it in now, and drain after.
            self.begin_batch([notification], remaining_time)
            intake = self._intakes[notification.notification_id]
        if intake.error is not None:
            raise intake.error
        if isinstance(notification, DrainRequest):
            return {"outcome": intake.outcome, "drain": True, "orders": len(notification.orders)}
        if intake.outcome == SKIPPED:
            metrics.add_metric(name=metric_names.NOTIFICATIONS_SKIPPED, unit=MetricUnit.Count, value=1)
        change = notification.payload.order_change
        return {
            "order_id": change.amazon_order_id,
            "outcome": intake.outcome,
            "last_updated": sortable_timestamp(intake.last_updated) if intake.last_updated else None,
        }

    # -- taking notifications in -----------------------------------------------------------------
    def _take_in_changes(self, notifications: list[OrderChangeNotification]) -> None:
        for notification in notifications:
            self._intakes[notification.notification_id] = _Intake()
        by_account: dict[SellerAccount, list[OrderChangeNotification]] = {}
        credentials: dict[SellerAccount, SellerCredentials] = {}
        resolved: dict[tuple[str, str | None, str], SellerCredentials | Exception] = {}
        for notification in notifications:
            change = notification.payload.order_change
            lookup = (change.seller_id, change.summary.marketplace_id, notification.subscription_id)
            if lookup not in resolved:
                try:
                    resolved[lookup] = self._directory.for_notification(
                        seller_id=lookup[0], subscription_id=lookup[2], marketplace_id=lookup[1]
                    )
                except Exception as error:  # raised again by each of its records, classified there
                    resolved[lookup] = error
            found = resolved[lookup]
            if isinstance(found, Exception):
                self._intakes[notification.notification_id].error = found
                continue
            account = found_account(found)
            credentials[account] = found
            by_account.setdefault(account, []).append(notification)
        keys = [
            (a.seller_id, n.payload.order_change.amazon_order_id) for a, ns in by_account.items() for n in ns
        ]
        stored = self._store.last_updated_of(keys) if keys else {}
        for account, ours in by_account.items():
            refusal = self._spapi.refused(credentials[account])
            if refusal is not None:
                # LWA refused this seller's token moments ago: its records wait for the seller.
                for notification in ours:
                    self._intakes[notification.notification_id].error = refusal
                continue
            newest: dict[str, OrderChangeNotification] = {}
            for notification in ours:
                order_id = notification.payload.order_change.amazon_order_id
                intake = self._intakes[notification.notification_id]
                intake.last_updated = stored.get((account.seller_id, order_id))
                if intake.last_updated is not None and intake.last_updated >= change_time(notification):
                    intake.outcome = SKIPPED
                    continue
                kept = newest.get(order_id)
                if kept is None or change_time(notification) > change_time(kept):
                    newest[order_id] = notification
            # Drained even when every change is stored already: the batch may be a redelivery of
            # one whose drain died holding the lease, while others recorded changes for it.
            entries = [
                PendingChange(order_id, change_time(n), n.notification_id) for order_id, n in newest.items()
            ]
            self._record(account, credentials[account], entries, ours)

    def _take_in_request(self, request: DrainRequest) -> None:
        intake = self._intakes[request.notification_id] = _Intake()
        try:
            found = self._directory.for_seller(request.account.seller_id, Region(request.account.region))
        except Exception as error:
            intake.error = error
            return
        self._record(found_account(found), found, list(request.orders), [request], resuming=True)

    def _record(
        self,
        account: SellerAccount,
        credentials: SellerCredentials,
        entries: list[PendingChange],
        notifications: Sequence[Any],
        *,
        resuming: bool = False,
    ) -> None:
        """Takes the account's lease for the batch's drain; a failure fails the records.

        With the lease and nothing else pending, the changes are served from memory (recorded only
        if the drain leaves them unserved). Otherwise they are recorded, and the lease is tried
        again when it was held: its holder may have let go after its last look. With no changes of
        its own, the account is drained only when something is pending. A drain request
        (``resuming``) takes the lease of a drain resting until it came; an intake leaves it."""
        drain: Drain | None = None
        try:
            if not entries:
                if self._pending.oldest(account, 1):
                    drain = self._drainer.take(account, credentials, self._time_left, resuming=resuming)
                return
            drain = self._drainer.take(account, credentials, self._time_left, resuming=resuming)
            if drain is not None and not self._pending.oldest(account, 1):
                self._drainer.adopt(drain, entries)
                return
            self._pending.add(account, entries)
            drain = drain or self._drainer.take(account, credentials, self._time_left, resuming=resuming)
        except Exception as error:
            logger.warning(
                "pending orders not recorded: the records return to the queue",
                extra={"seller_id": account.seller_id, "reason": type(error).__name__},
            )
            for notification in notifications:
                intake = self._intakes[notification.notification_id]
                if intake.outcome != SKIPPED:
                    intake.error = error
        finally:
            if drain is not None:  # let go by the drain, whatever failed here
                self._to_drain.append(drain)

    def _time_left(self) -> float:
        return self._remaining_time() if self._remaining_time is not None else 0.0


def found_account(credentials: SellerCredentials) -> SellerAccount:
    return SellerAccount(credentials.seller_key, credentials.region.value)
