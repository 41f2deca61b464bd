"""Realistic notification bodies, shaped like Amazon's example notifications."""

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
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``items``: the order's items as Amazon lists them (``OrderItemId``, ``SellerSKU``, ``Quantity``);
    default one generated item of ``quantity``."""
    order_items = [
        {"SupplySourceId": None, **item}
        for item in items
        or [{"OrderItemId": f"{order_id[-7:]}01", "SellerSKU": f"SKU-{order_id[-4:]}", "Quantity": quantity}]
    ]
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
                    "OrderItems": order_items,
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


def application_oauth_client_new_secret(
    *,
    client_id: str,
    new_client_secret: str,
    sent_at: datetime,
    new_secret_expires_at: datetime | None,
    old_secret_expires_at: datetime | None,
    subscription_id: str = "subscription-local-app-new-secret",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """Shaped like the example in Amazon's credential-rotation sample (payload version 2023-11-30)."""
    new_secret: dict[str, Any] = {"clientId": client_id, "newClientSecret": new_client_secret}
    if new_secret_expires_at:
        new_secret["newClientSecretExpiryTime"] = iso(new_secret_expires_at)
    if old_secret_expires_at:
        new_secret["oldClientSecretExpiryTime"] = iso(old_secret_expires_at)
    return _application_notification(
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        {"applicationOAuthClientNewSecret": new_secret},
        sent_at,
        subscription_id,
        notification_id,
    )


def application_oauth_client_secret_expiry(
    *,
    client_id: str,
    expires_at: datetime,
    sent_at: datetime,
    reason: str = "PERIODIC_ROTATION",
    subscription_id: str = "subscription-local-app-secret-expiry",
    notification_id: str | None = None,
) -> dict[str, Any]:
    expiry = {
        "clientId": client_id,
        "clientSecretExpiryTime": iso(expires_at),
        "clientSecretExpiryReason": reason,
    }
    return _application_notification(
        "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        {"applicationOAuthClientSecretExpiry": expiry},
        sent_at,
        subscription_id,
        notification_id,
    )


def _application_notification(
    notification_type: str,
    payload: dict[str, Any],
    sent_at: datetime,
    subscription_id: str,
    notification_id: str | None,
) -> dict[str, Any]:
    return {
        "notificationVersion": "1.0",
        "notificationType": notification_type,
        "payloadVersion": "2023-11-30",
        "eventTime": iso(sent_at),
        "payload": payload,
        "notificationMetadata": {
            "applicationId": APPLICATION_ID,
            "subscriptionId": subscription_id,
            "publishTime": iso(sent_at),
            "notificationId": notification_id or str(uuid.uuid4()),
        },
    }


def scheduled_event(*, at: datetime, rule_arn: str, event_id: str | None = None) -> dict[str, Any]:
    """What an EventBridge schedule rule delivers to its SQS target (AWS's event reference)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [rule_arn],
        "detail": {},
    }


def shipment_request(
    *,
    seller_id: str,
    order_id: str,
    tracking_number: str,
    carrier_code: str = "UPS",
    shipped_at: datetime,
    request_id: str | None = None,
    marketplace_id: str = "ATVPDKIKX0DER",
    package_reference_id: str | None = None,
    carrier_name: str | None = None,
    shipping_method: str | None = None,
    items: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A fulfillment queue message (``items`` None: every item of the stored order)."""
    request: dict[str, Any] = {
        "requestId": request_id or str(uuid.uuid4()),
        "sellerId": seller_id,
        "marketplaceId": marketplace_id,
        "amazonOrderId": order_id,
        "packageReferenceId": package_reference_id,
        "carrierCode": carrier_code,
        "carrierName": carrier_name,
        "shippingMethod": shipping_method,
        "trackingNumber": tracking_number,
        "shipDate": iso(shipped_at),
    }
    if items is not None:
        request["orderItems"] = [
            {"orderItemId": item, "quantity": quantity} for item, quantity in items.items()
        ]
    return {"shipment": {key: value for key, value in request.items() if value is not None}}
