"""Reading captured notification traffic leniently, to provision sellers and the emulator's state.

Amazon's view at callback time is the newest state the traffic describes: for each order, listing
and report, the latest notification about it says what SP-API would answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sellerstream.errors import PoisonMessageError
from sellerstream.notifications import (
    AnyNotification,
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
    ReportProcessingFinishedNotification,
    parse_delivery,
)

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


def reports(notifications: list[AnyNotification]) -> dict[str, ReportProcessingFinishedNotification]:
    return {
        n.payload.report.report_id: n
        for n in notifications
        if isinstance(n, ReportProcessingFinishedNotification)
    }


def account_key(notification: AnyNotification) -> str:
    """The key a notification's credentials are provisioned under: its seller, else its account."""
    if notification.seller_id:
        return notification.seller_id
    if isinstance(notification, ReportProcessingFinishedNotification):
        return notification.payload.report.account_id
    return f"subscription-{notification.subscription_id}"
