"""Amazon's notification type names, and which model module reads each: no models here.

The envelope parser imports a type's model only when a body of that type arrives, so a function
builds the pydantic models of the types it consumes and not the others' (they cost cold start).
"""

from __future__ import annotations

from typing import Any

ORDER_CHANGE = "ORDER_CHANGE"
LISTINGS_ITEM_STATUS_CHANGE = "LISTINGS_ITEM_STATUS_CHANGE"
LISTINGS_ITEM_STATUS_CHANGE_SCHEMA_SPELLING = "LISTINGS_ITEM_STATUS_CHANGED"
REPORT_PROCESSING_FINISHED = "REPORT_PROCESSING_FINISHED"
APPLICATION_OAUTH_CLIENT_NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"  # noqa: S105 - a type name
APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"  # noqa: S105 - a type name
SCHEDULED_EVENT = "SCHEDULED_EVENT"
SCHEDULED_EVENT_SOURCE = "aws.events"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"

# notification type -> (module, model class) that reads it
MODEL_LOCATIONS: dict[str, tuple[str, str]] = {
    ORDER_CHANGE: ("sellerstream.notifications.order_change", "OrderChangeNotification"),
    LISTINGS_ITEM_STATUS_CHANGE: (
        "sellerstream.notifications.listings_item_status_change",
        "ListingsItemStatusChangeNotification",
    ),
    LISTINGS_ITEM_STATUS_CHANGE_SCHEMA_SPELLING: (
        "sellerstream.notifications.listings_item_status_change",
        "ListingsItemStatusChangeNotification",
    ),
    REPORT_PROCESSING_FINISHED: (
        "sellerstream.notifications.report_processing_finished",
        "ReportProcessingFinishedNotification",
    ),
    APPLICATION_OAUTH_CLIENT_NEW_SECRET: (
        "sellerstream.notifications.application_oauth",
        "ApplicationOAuthClientNewSecretNotification",
    ),
    APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY: (
        "sellerstream.notifications.application_oauth",
        "ApplicationOAuthClientSecretExpiryNotification",
    ),
}


def is_scheduled_event(document: dict[str, Any]) -> bool:
    return (
        document.get("source") == SCHEDULED_EVENT_SOURCE
        and document.get("detail-type") == SCHEDULED_EVENT_DETAIL_TYPE
    )
