"""Reading captured notification traffic leniently, to provision sellers and the emulator's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sellerstream.errors import PoisonMessageError
from sellerstream.notifications import AnyNotification, OrderChangeNotification, parse_notification


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
        return parse_notification(body)
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
