"""Typed models of Amazon's SP-API notifications and the SQS body parser."""

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

__all__ = [
    "CONTINUATION_PART_ATTRIBUTE",
    "AnyNotification",
    "Delivery",
    "ListingsItemStatusChangeNotification",
    "OrderChangeNotification",
    "ReportProcessingFinishedNotification",
    "continuation_message",
    "decode_body",
    "parse_delivery",
    "parse_notification",
]
