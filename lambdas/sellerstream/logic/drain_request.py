"""The orders queue's own message: "drain this seller's pending orders" (``logic.order_drainer``).

A drainer whose invocation ends with orders still pending sends one to have the next invocation
continue. The same message carrying orders is how a pending order reaches the dead-letter queue
when no retry can fetch it: redriven to the orders queue, its orders are pending again. The body::

    {"sellerstreamDrain": {"sellerId": "A1...", "region": "na",
                           "orders": [{"orderId": "...", "changed": "2026-...Z", "notificationId": "..."}]}}

Every value becomes a key or a log field, so every one is shape-checked like a notification's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sellerstream import identifiers
from sellerstream.domain.orders import PendingChange, SellerAccount
from sellerstream.errors import InvalidNotificationError
from sellerstream.notifications.envelope import Delivery, parse_delivery
from sellerstream.spapi.endpoints import Region
from sellerstream.timestamps import parse_sortable, sortable_timestamp

DRAIN_KEY: Final = "sellerstreamDrain"
# What the batch runner calls it (not one of Amazon's types: the orders consumer accepts it too).
DRAIN_REQUEST: Final = "SELLERSTREAM_DRAIN_REQUEST"
# A redriven dead letter carries one order's entries; a drain request none.
MAX_ORDERS: Final = 100


class DrainRequest(NamedTuple):
    account: SellerAccount
    orders: tuple[PendingChange, ...]
    notification_id: str  # for log lines: the newest order's notification, else the account
    notification_type: str = DRAIN_REQUEST
    event_time: None = None  # counts from when it entered the queue

    @property
    def seller_id(self) -> str:
        return self.account.seller_id


class ParsedDrainRequest(NamedTuple):
    notification: DrainRequest

    @property
    def idempotency_key(self) -> str:
        return f"{DRAIN_REQUEST}#{self.notification.notification_id}"


def drain_request_body(account: SellerAccount, orders: Sequence[PendingChange] = ()) -> str:
    return json.dumps(
        {
            DRAIN_KEY: {
                "sellerId": account.seller_id,
                "region": account.region,
                "orders": [
                    {
                        "orderId": entry.order_id,
                        "changed": sortable_timestamp(entry.changed),
                        "notificationId": entry.notification_id,
                    }
                    for entry in orders
                ],
            }
        },
        separators=(",", ":"),
    )


def parse_orders_record(body: str, *, continuation_part: str | None = None) -> Delivery | ParsedDrainRequest:
    """An orders queue message: a drain request, or a notification (``parse_delivery``)."""
    if DRAIN_KEY in body[:64]:
        return ParsedDrainRequest(parse_drain_request(body))
    return parse_delivery(body, continuation_part=continuation_part)


def parse_drain_request(body: str) -> DrainRequest:
    try:
        document = json.loads(body)
        request = document[DRAIN_KEY]
        seller_id, region, orders = request["sellerId"], request["region"], request.get("orders", [])
    except (ValueError, TypeError, KeyError):
        raise InvalidNotificationError("malformed drain request") from None
    if not identifiers.is_seller_key(seller_id) or region not in {r.value for r in Region}:
        raise InvalidNotificationError("drain request for no valid seller and region")
    if not isinstance(orders, list) or len(orders) > MAX_ORDERS:
        raise InvalidNotificationError("drain request with malformed orders", seller_id=seller_id)
    changes = tuple(_change(order, seller_id) for order in orders)
    account = SellerAccount(seller_id, region)
    notification_id = changes[-1].notification_id if changes else f"drain-{seller_id}-{region}"
    return DrainRequest(account, changes, notification_id)


def _change(order: Any, seller_id: str) -> PendingChange:
    try:
        order_id, changed, notification_id = order["orderId"], order["changed"], order["notificationId"]
        moment: datetime = parse_sortable(changed)
    except (TypeError, KeyError, ValueError):
        raise InvalidNotificationError("drain request with a malformed order", seller_id=seller_id) from None
    if not identifiers.is_order_id(order_id) or not identifiers.is_notification_id(notification_id):
        raise InvalidNotificationError("drain request with a malformed order", seller_id=seller_id)
    return PendingChange(order_id, moment, notification_id)
