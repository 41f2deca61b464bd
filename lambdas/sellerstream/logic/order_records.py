"""Amazon's order responses (Orders 2026-01-01 or v0) as one stored shape.

Buyer and recipient data are split off into the PII part, which expires. The status is stored in
the 2026-01-01 vocabulary whichever API answered, so readers see one set of values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sellerstream import catalog
from sellerstream.domain.orders import OrderRecord
from sellerstream.errors import SellerStreamError
from sellerstream.timestamps import parse_rfc3339

# Amazon's Data Protection Policy: PII no longer than 30 days after delivery, backups included (the
# catalog says how much earlier than that the TTL must fall).
PII_RETENTION_AFTER_DELIVERY = timedelta(days=catalog.PII_TTL_DAYS_AFTER_DELIVERY)
# Without a promised delivery window, assume delivery within 30 days of purchase.
ASSUMED_DELIVERY_AFTER_PURCHASE = timedelta(days=30)

V0_STATUS_TO_2026 = {
    "Pending": "PENDING",
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
    "InvoiceUnconfirmed": "INVOICE_UNCONFIRMED",
}
V0_PII_FIELDS = ("BuyerInfo", "ShippingAddress", "BuyerTaxInformation")


class OrderResponseError(SellerStreamError):
    """Amazon's response lacks what the stored order needs (treated as transient: it is retried)."""


def from_orders_2026(seller_id: str, order: dict[str, Any]) -> OrderRecord:
    order_id = _required(order, "orderId")
    created = _time(_required(order, "createdTime"))
    fulfillment = order.get("fulfillment") or {}
    delivery_window = fulfillment.get("deliverByWindow") or {}
    summary = {key: value for key, value in order.items() if key not in ("buyer", "recipient", "orderItems")}
    attributes = {
        "seller_id": seller_id,
        "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId"),
        "order_status": fulfillment.get("fulfillmentStatus"),
        "fulfilled_by": fulfillment.get("fulfilledBy"),
        "created_time": created.isoformat(),
        "source_api": "orders/2026-01-01",
        "order": summary,
        "items": order.get("orderItems") or [],
        "item_count": len(order.get("orderItems") or []),
    }
    pii = {key: order[key] for key in ("buyer", "recipient") if order.get(key)}
    latest_delivery = delivery_window.get("latestDateTime")
    return OrderRecord(
        seller_id=seller_id,
        order_id=order_id,
        last_updated=_time(_required(order, "lastUpdatedTime")),
        attributes=attributes,
        pii=pii or None,
        pii_expires_at=_pii_expiry(created, _time(latest_delivery) if latest_delivery else None)
        if pii
        else None,
    )


def from_orders_v0(seller_id: str, order: dict[str, Any], items: list[dict[str, Any]]) -> OrderRecord:
    order_id = _required(order, "AmazonOrderId")
    created = _time(_required(order, "PurchaseDate"))
    status = _required(order, "OrderStatus")
    summary = {key: value for key, value in order.items() if key not in V0_PII_FIELDS}
    attributes = {
        "seller_id": seller_id,
        "marketplace_id": order.get("MarketplaceId"),
        "order_status": V0_STATUS_TO_2026.get(status, status),
        "fulfilled_by": {"AFN": "AMAZON", "MFN": "MERCHANT"}.get(order.get("FulfillmentChannel", "")),
        "created_time": created.isoformat(),
        "source_api": "orders/v0",
        "order": summary,
        "items": items,
        "item_count": len(items),
    }
    pii = {key: order[key] for key in V0_PII_FIELDS if order.get(key)}
    latest_delivery = order.get("LatestDeliveryDate")
    return OrderRecord(
        seller_id=seller_id,
        order_id=order_id,
        last_updated=_time(_required(order, "LastUpdateDate")),
        attributes=attributes,
        pii=pii or None,
        pii_expires_at=_pii_expiry(created, _time(latest_delivery) if latest_delivery else None)
        if pii
        else None,
    )


def _pii_expiry(created: datetime, latest_delivery: datetime | None) -> datetime:
    delivered_by = latest_delivery or created + ASSUMED_DELIVERY_AFTER_PURCHASE
    return delivered_by + PII_RETENTION_AFTER_DELIVERY


def _required(document: dict[str, Any], key: str) -> Any:
    value = document.get(key)
    if value in (None, ""):
        raise OrderResponseError(f"order response has no {key}")
    return value


def _time(value: Any) -> datetime:
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise OrderResponseError(
            f"order response has an unreadable timestamp ({type(value).__name__})"
        ) from None
