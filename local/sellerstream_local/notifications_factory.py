"""Realistic message bodies: Amazon's notifications, shaped like Amazon's example notifications
(the emulator's, ``emulator.notification_bodies``), and our own messages (the stack's scheduled event,
a seller's shipment request)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sellerstream_local.emulator.notification_bodies import (
    APPLICATION_ID,
    application_oauth_client_new_secret,
    application_oauth_client_secret_expiry,
    iso,
    listings_status_change,
    order_change,
    report_processing_finished,
)

__all__ = [
    "APPLICATION_ID",
    "application_oauth_client_new_secret",
    "application_oauth_client_secret_expiry",
    "as_body",
    "iso",
    "listings_status_change",
    "order_change",
    "report_processing_finished",
    "scheduled_event",
    "shipment_request",
]


def as_body(notification: dict[str, Any]) -> str:
    return json.dumps(notification)


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
