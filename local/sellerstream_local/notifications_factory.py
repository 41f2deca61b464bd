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


def listings_status_change(
    *,
    seller_id: str,
    sku: str,
    status: list[str],
    changed_at: datetime,
    marketplace_id: str = "ATVPDKIKX0DER",
    notification_id: str | None = None,
    subscription_id: str = "subscription-local-listings",
) -> dict[str, Any]:
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "LISTINGS_ITEM_STATUS_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": iso(changed_at),
        "Payload": {
            "SellerId": seller_id,
            "MarketplaceId": marketplace_id,
            "Sku": sku,
            "CreatedDate": iso(changed_at),
            "Status": status,
        },
        "NotificationMetadata": {
            "ApplicationId": APPLICATION_ID,
            "SubscriptionId": subscription_id,
            "PublishTime": iso(changed_at),
            "NotificationId": notification_id or str(uuid.uuid4()),
        },
    }


def report_processing_finished(
    *,
    report_id: str,
    status: str,
    finished_at: datetime,
    seller_id: str | None,
    account_id: str,
    document_id: str | None = None,
    report_type: str = "GET_MERCHANT_LISTINGS_ALL_DATA",
    subscription_id: str = "subscription-local-reports",
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "accountId": account_id,
        "reportId": report_id,
        "reportType": report_type,
        "processingStatus": status,
    }
    if seller_id:
        report["sellerId"] = seller_id
    if document_id:
        report["reportDocumentId"] = document_id
    return {
        "notificationVersion": "2020-09-04",
        "notificationType": "REPORT_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04",
        "eventTime": iso(finished_at),
        "payload": {"reportProcessingFinishedNotification": report},
        "notificationMetadata": {
            "applicationId": APPLICATION_ID,
            "subscriptionId": subscription_id,
            "publishTime": iso(finished_at),
            "notificationId": str(uuid.uuid4()),
        },
    }
