"""Typed models of Amazon's SP-API notifications and the SQS body parser.

The models are imported on first use (``from sellerstream.notifications import OrderChangeNotification``
works as before): a function builds the models of the types it consumes, not every type's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sellerstream.notifications.envelope import (
    CONTINUATION_PART_ATTRIBUTE,
    Delivery,
    continuation_message,
    decode_body,
    parse_delivery,
    parse_notification,
)

if TYPE_CHECKING:
    from sellerstream.notifications.application_oauth import (
        ApplicationOAuthClientNewSecretNotification,
        ApplicationOAuthClientSecretExpiryNotification,
    )
    from sellerstream.notifications.envelope import AnyNotification
    from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
    from sellerstream.notifications.order_change import OrderChangeNotification
    from sellerstream.notifications.report_processing_finished import ReportProcessingFinishedNotification
    from sellerstream.notifications.scheduled_event import ScheduledEvent
else:
    _LAZY_MODELS = {
        "ApplicationOAuthClientNewSecretNotification": "application_oauth",
        "ApplicationOAuthClientSecretExpiryNotification": "application_oauth",
        "ListingsItemStatusChangeNotification": "listings_item_status_change",
        "OrderChangeNotification": "order_change",
        "ReportProcessingFinishedNotification": "report_processing_finished",
        "ScheduledEvent": "scheduled_event",
    }

    def __getattr__(name: str) -> Any:
        if name == "AnyNotification":
            return (
                __getattr__("OrderChangeNotification")
                | __getattr__("ListingsItemStatusChangeNotification")
                | __getattr__("ReportProcessingFinishedNotification")
                | __getattr__("ApplicationOAuthClientNewSecretNotification")
                | __getattr__("ApplicationOAuthClientSecretExpiryNotification")
                | __getattr__("ScheduledEvent")
            )
        module = _LAZY_MODELS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
