"""Typed models of Amazon's SP-API notifications and the SQS body parser."""

from sellerstream.notifications.application_oauth import (
    ApplicationOAuthClientNewSecretNotification,
    ApplicationOAuthClientSecretExpiryNotification,
)
from sellerstream.notifications.envelope import (
    CONTINUATION_PART_ATTRIBUTE,
    AnyNotification,
    Delivery,
    continuation_message,
    decode_body,
    parse_delivery,
    parse_notification,
)
from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
from sellerstream.notifications.order_change import OrderChangeNotification
from sellerstream.notifications.report_processing_finished import ReportProcessingFinishedNotification
from sellerstream.notifications.scheduled_event import ScheduledEvent

__all__ = [
    "CONTINUATION_PART_ATTRIBUTE",
    "AnyNotification",
    "ApplicationOAuthClientNewSecretNotification",
    "ApplicationOAuthClientSecretExpiryNotification",
    "Delivery",
    "ListingsItemStatusChangeNotification",
    "OrderChangeNotification",
    "ReportProcessingFinishedNotification",
    "ScheduledEvent",
    "continuation_message",
    "decode_body",
    "parse_delivery",
    "parse_notification",
]
