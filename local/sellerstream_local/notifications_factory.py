"""Realistic ORDER_CHANGE bodies, shaped like Amazon's example notification."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

APPLICATION_ID = "amzn1.sellerapps.app.00000000-0000-4000-8000-000000000001"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def order_change(
    *,
    seller_id: str,
    order_id: str,
    status: str,
    changed_at: datetime,
    subscription_id: str = "subscription-local-order-change",
    notification_id: str | None = None,
    marketplace_id: str = "ATVPDKIKX0DER",
    quantity: int = 1,
) -> dict[str, Any]:
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": iso(changed_at),
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": seller_id,
                "AmazonOrderId": order_id,
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {
                    "TimeOfOrderChange": iso(changed_at),
                    "ChangeReason": "Order status changed",
                },
                "Summary": {
                    "MarketplaceId": marketplace_id,
                    "OrderStatus": status,
                    "PurchaseDate": iso(changed_at),
                    "DestinationPostalCode": "48110",
                    "FulfillmentType": "MFN",
                    "OrderType": "StandardOrder",
                    "OrderItems": [
                        {
                            "OrderItemId": f"{order_id[-7:]}01",
                            "SellerSKU": f"SKU-{order_id[-4:]}",
                            "SupplySourceId": None,
                            "Quantity": quantity,
                        }
                    ],
                },
            }
        },
        "NotificationMetadata": {
            "ApplicationId": APPLICATION_ID,
            "SubscriptionId": subscription_id,
            "PublishTime": iso(changed_at),
            "NotificationId": notification_id or str(uuid.uuid4()),
        },
    }


def as_body(notification: dict[str, Any]) -> str:
    return json.dumps(notification)
