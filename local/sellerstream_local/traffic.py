"""Reading captured notification traffic leniently, to provision sellers and the emulator's state,
and telling what became of it by notification type.

Amazon's view at callback time is the newest state the traffic describes: for each order, listing,
report and feed, the latest notification about it says what SP-API would answer.

``TypeLedger`` keeps, by notification type, what became of every record the functions took (what
was stored, what changed nothing, duplicates, dead letters, changes recorded for a drainer to store)
and which of the events a subscriber received each type caused: the demo and ``sellerstream replay``
report with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from sellerstream import catalog
from sellerstream.errors import PoisonMessageError
from sellerstream.notifications import (
    AnyNotification,
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
    ReportProcessingFinishedNotification,
    parse_delivery,
)
from sellerstream.notifications.feed_processing_finished import FeedProcessingFinishedNotification
from sellerstream.notifications.listings_item_issues_change import ListingsItemIssuesChangeNotification
from sellerstream.notifications.listings_item_mfn_quantity_change import (
    ListingsItemMfnQuantityChangeNotification,
)
from sellerstream_local.pipeline import PipelineOutcomes

if TYPE_CHECKING:
    from sellerstream.logic.batch import RecordOutcome

REPLAY_REPORT_ROWS = 25  # the content of a captured report is not in its notification


@dataclass(frozen=True)
class OrderState:
    """What an ORDER_CHANGE says about its order, and when that was true."""

    seller_id: str
    order_id: str
    as_of: datetime
    status: str
    marketplace_id: str
    purchase_date: datetime | None
    items: list[dict[str, Any]]


def try_parse(body: str) -> AnyNotification | None:
    try:
        return parse_delivery(body).notification
    except PoisonMessageError:
        return None


def order_state(notification: OrderChangeNotification) -> OrderState:
    change = notification.payload.order_change
    # TimeOfOrderChange may be null; EventTime (publish time) is the fallback for ordering states.
    as_of = change.trigger.time_of_order_change or notification.event_time
    return OrderState(
        seller_id=change.seller_id,
        order_id=change.amazon_order_id,
        as_of=as_of,
        status=change.summary.order_status,
        marketplace_id=change.summary.marketplace_id,
        purchase_date=change.summary.purchase_date,
        items=[
            {"order_item_id": item.order_item_id, "seller_sku": item.seller_sku, "quantity": item.quantity}
            for item in change.summary.order_items
        ],
    )


def newest_order_states(notifications: list[AnyNotification]) -> dict[str, OrderState]:
    newest: dict[str, OrderState] = {}
    for notification in notifications:
        if isinstance(notification, OrderChangeNotification):
            state = order_state(notification)
            current = newest.get(state.order_id)
            if current is None or state.as_of >= current.as_of:
                newest[state.order_id] = state
    return newest


def newest_listings(
    notifications: list[AnyNotification],
) -> dict[tuple[str, str, str], ListingsItemStatusChangeNotification]:
    newest: dict[tuple[str, str, str], ListingsItemStatusChangeNotification] = {}
    for notification in notifications:
        if not isinstance(notification, ListingsItemStatusChangeNotification):
            continue
        payload = notification.payload
        if payload.marketplace_id is None:
            continue
        key = (payload.seller_id, payload.sku, payload.marketplace_id)
        current = newest.get(key)
        if current is None or notification.event_time >= current.event_time:
            newest[key] = notification
    return newest


def newest_issues(
    notifications: Sequence[object],
) -> dict[tuple[str, str, str | None], ListingsItemIssuesChangeNotification]:
    """The newest LISTINGS_ITEM_ISSUES_CHANGE of each (seller, SKU, marketplace); None: no marketplace."""
    newest: dict[tuple[str, str, str | None], ListingsItemIssuesChangeNotification] = {}
    for notification in notifications:
        if isinstance(notification, ListingsItemIssuesChangeNotification):
            payload = notification.payload
            key = (payload.seller_id, payload.sku, payload.marketplace_id)
            current = newest.get(key)
            if current is None or notification.event_time >= current.event_time:
                newest[key] = notification
    return newest


def newest_quantities(notifications: Sequence[object]) -> dict[tuple[str, str, str], int]:
    """The newest seller-fulfilled quantity of each (seller, SKU, fulfillment channel)."""
    newest: dict[tuple[str, str, str], ListingsItemMfnQuantityChangeNotification] = {}
    for notification in notifications:
        if isinstance(notification, ListingsItemMfnQuantityChangeNotification):
            payload = notification.payload
            key = (payload.seller_id, payload.sku, payload.fulfillment_channel_code)
            current = newest.get(key)
            if current is None or notification.event_time >= current.event_time:
                newest[key] = notification
    return {key: notification.payload.quantity for key, notification in newest.items()}


def reports(notifications: list[AnyNotification]) -> dict[str, ReportProcessingFinishedNotification]:
    return {
        n.payload.report.report_id: n
        for n in notifications
        if isinstance(n, ReportProcessingFinishedNotification)
    }


def feeds(notifications: Sequence[object]) -> dict[str, FeedProcessingFinishedNotification]:
    """The newest FEED_PROCESSING_FINISHED of each feed."""
    newest: dict[str, FeedProcessingFinishedNotification] = {}
    for notification in notifications:
        if isinstance(notification, FeedProcessingFinishedNotification):
            current = newest.get(notification.payload.feed.feed_id)
            if current is None or notification.event_time >= current.event_time:
                newest[notification.payload.feed.feed_id] = notification
    return newest


def account_key(notification: Any) -> str | None:
    """The key a notification's credentials are provisioned under: its seller, else the account it
    names (a vendor's report or feed); None when it names neither (its subscription says whose)."""
    if notification.seller_id:
        return str(notification.seller_id)
    if isinstance(notification, ReportProcessingFinishedNotification):
        return notification.payload.report.account_id
    if isinstance(notification, FeedProcessingFinishedNotification):
        return notification.payload.feed.account_id
    return None


def is_sellers(notification: Any) -> bool:
    """Whether a seller subscribes to the notification's type (not the application's own types)."""
    declared = catalog.message_type(str(getattr(notification, "notification_type", "")))
    return declared is not None and declared.subscription is not None


# -- by type ---------------------------------------------------------------------------------------

UNREADABLE: Final = "(unreadable)"  # a record whose type could not be read
UNATTRIBUTED: Final = "(unattributed)"  # an event no type applied in its drain declares
# What the use cases' summaries call a write that stored something (an entity's newer state, a
# feed's or report's outcome, a package, the app's secret or its expiry) ...
STORED_OUTCOMES: Final = frozenset(
    {
        "written",
        "issues_written",
        "recorded",
        "confirmed",
        "updated",
        "cancelled",
        "fatal",
        "unreadable",
        "secret_stored",
        "expiry_recorded",
    }
)
# ... and a record that changed nothing (older or equal to what is stored, already settled, nothing
# to apply it to). A report's parts on their way (continued, handed over) are neither.
UNCHANGED_OUTCOMES: Final = frozenset(
    {
        "stale",
        "skipped",
        "coalesced",
        "superseded",
        "already_recorded",
        "already_complete",
        "not_stored",
        "not_listed",
        "no_marketplace",
        "unchanged",
        "about_previous_secret",
    }
)


def new_counts() -> dict[str, Any]:
    """One type's line of the ledger: ``records`` taken (a report's continuations included; a
    deferral is counted once it is applied), entities ``stored`` and ``unchanged``, ``duplicates``,
    ``dead_lettered``, ``parked``, ``pending`` (changes recorded for a drainer to store: an
    ORDER_CHANGE), and the ``events`` it caused by detail-type."""
    return {
        "records": 0,
        "stored": 0,
        "unchanged": 0,
        "duplicates": 0,
        "dead_lettered": 0,
        "parked": 0,
        "pending": 0,
        "events": Counter(),
    }


def stored_and_unchanged(result: Mapping[str, Any] | None) -> tuple[int, int]:
    """How many entities a record's write stored and left unchanged, from its use case's summary:
    the generic types count their entities, a listing event without a marketplace its marketplaces."""
    if not result:
        return 0, 0
    stored, unchanged = result.get("stored"), result.get("unchanged")
    if isinstance(stored, int) and isinstance(unchanged, int):
        return stored, unchanged
    marketplaces = result.get("marketplaces")
    if isinstance(marketplaces, Mapping) and marketplaces:
        outcomes = [str(outcome) for outcome in marketplaces.values()]
        return (
            sum(1 for outcome in outcomes if outcome in STORED_OUTCOMES),
            sum(1 for outcome in outcomes if outcome in UNCHANGED_OUTCOMES),
        )
    outcome = str(result.get("outcome"))
    return int(outcome in STORED_OUTCOMES), int(outcome in UNCHANGED_OUTCOMES)


@cache
def may_emit(type_name: str) -> frozenset[str]:
    """The detail-types a record of this type can cause: a generic type's own event; otherwise the
    events its consumer declares but the generic types' (an order's, a listing's, a feed's ...)."""
    declared = catalog.message_type(type_name)
    owner = catalog.consumer_of(type_name)
    if declared is None or owner is None:
        return frozenset()
    if declared.stored is not None:
        return frozenset({declared.stored.detail_type})
    generic = {t.stored.detail_type for t in catalog.GENERIC_TYPES if t.stored is not None}
    return frozenset(event.detail_type for event in owner.emits) - generic


def share_events(type_name: str, others: set[str]) -> bool:
    """Whether an event of ``type_name`` could not be told from one of ``others``'s."""
    return any(other != type_name and may_emit(other) & may_emit(type_name) for other in others)


def type_name_of(name: str | None) -> str:
    """A type as the catalog names it (any of its spellings), or as it came; ``UNREADABLE``: none."""
    if not name:
        return UNREADABLE
    declared = catalog.message_type(name)
    return declared.name if declared is not None else name


class TypeLedger(PipelineOutcomes):
    """``PipelineOutcomes`` that also keeps what became of each record by its notification type
    (``by_type``, each a ``new_counts``), and gives the events a subscriber received to the types
    that caused them (``attribute``, after each drain).

    A record whose change is recorded for a drainer (``pending``: an ORDER_CHANGE) stores nothing
    itself: its seller's drainer stores the order later, one write for however many changes. What
    the drains stored shows as its type's events (one per newer state written), so each event
    given to such a type is one of its entities stored."""

    def __init__(self) -> None:
        super().__init__()
        self.by_type: dict[str, dict[str, Any]] = {}
        self._applied: set[str] = set()  # types with a record applied since the last attribution
        self._drained: set[str] = set()  # types whose records were recorded for a drainer
        self._attributed = 0  # events attributed so far

    def of_type(self, type_name: str) -> dict[str, Any]:
        return self.by_type.setdefault(type_name, new_counts())

    def add(self, outcome: RecordOutcome) -> None:
        from sellerstream.logic import batch  # noqa: PLC0415 - after the environment is set

        super().add(outcome)
        name = type_name_of(outcome.notification_type)
        done = {batch.DUPLICATE: "duplicates", batch.DEAD_LETTERED: "dead_lettered", batch.PARKED: "parked"}
        if outcome.outcome != batch.APPLIED and outcome.outcome not in done:
            return  # deferred or retried: counted once it is done
        counts = self.of_type(name)
        counts["records"] += 1
        if outcome.outcome == batch.APPLIED:
            stored, unchanged = stored_and_unchanged(outcome.result)
            counts["stored"] += stored
            counts["unchanged"] += unchanged
            # (a drain request, the drainer's own message, continues changes recorded before)
            if (
                outcome.result
                and outcome.result.get("outcome") == batch.PENDING
                and not outcome.result.get("drain")
            ):
                counts["pending"] += 1
                self._drained.add(name)
            self._applied.add(name)
        else:
            counts[done[outcome.outcome]] += 1

    def attribute(self, events: Sequence[dict[str, Any]]) -> None:
        """Gives each event delivered since the last call (``events``: every event so far, in
        delivery order) to the type whose records caused it: of the types applied since, the one
        whose records can cause its detail-type (``may_emit``). Two types whose events look alike
        must not share a drain (``share_events``); an event no single type declares is
        ``UNATTRIBUTED``."""
        for event in events[self._attributed :]:
            detail_type = str(event.get("detail-type"))
            owners = [name for name in sorted(self._applied) if detail_type in may_emit(name)]
            owner = owners[0] if len(owners) == 1 else UNATTRIBUTED
            counts = self.of_type(owner)
            counts["events"][detail_type] += 1
            if owner in self._drained:
                counts["stored"] += 1  # an entity its drainer stored
        self._attributed = len(events)
        self._applied.clear()

    def report(self) -> dict[str, dict[str, Any]]:
        """``by_type`` as plain JSON, by type name (the events as a plain mapping)."""
        return {
            name: {**counts, "events": dict(sorted(counts["events"].items()))}
            for name, counts in sorted(self.by_type.items())
        }
