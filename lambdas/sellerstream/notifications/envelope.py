"""From an SQS message body to a typed notification.

An SQS body is one of: the raw notification JSON (SQS destination); a JSON string holding that
JSON (some senders double-encode); or a whole EventBridge event with the notification in
``detail`` (EventBridge destination -> rule -> SQS). All three are accepted. Validation errors
name the failing fields but never echo their values: bodies carry buyer data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sellerstream.errors import InvalidNotificationError, UnknownNotificationTypeError
from sellerstream.notifications.listings_item_status_change import (
    LISTINGS_ITEM_STATUS_CHANGE,
    LISTINGS_ITEM_STATUS_CHANGE_SCHEMA_SPELLING,
    ListingsItemStatusChangeNotification,
)
from sellerstream.notifications.order_change import ORDER_CHANGE, OrderChangeNotification
from sellerstream.notifications.report_processing_finished import (
    REPORT_PROCESSING_FINISHED,
    ReportProcessingFinishedNotification,
)

AnyNotification = (
    OrderChangeNotification | ListingsItemStatusChangeNotification | ReportProcessingFinishedNotification
)

MODELS_BY_TYPE: dict[str, type[BaseModel]] = {
    ORDER_CHANGE: OrderChangeNotification,
    LISTINGS_ITEM_STATUS_CHANGE: ListingsItemStatusChangeNotification,
    LISTINGS_ITEM_STATUS_CHANGE_SCHEMA_SPELLING: ListingsItemStatusChangeNotification,
    REPORT_PROCESSING_FINISHED: ReportProcessingFinishedNotification,
}

# Guards against a body that is a JSON string of a JSON string of ... (never legitimate past 2).
_MAX_DECODE_DEPTH = 3


def decode_body(body: str) -> dict[str, Any]:
    """The notification object inside an SQS body, unwrapped from string-encoding and EventBridge."""
    document: Any = body
    for _ in range(_MAX_DECODE_DEPTH):
        if not isinstance(document, str):
            break
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise InvalidNotificationError(
                f"body is not JSON ({error.msg} at line {error.lineno} column {error.colno})"
            ) from None
    if isinstance(document, dict) and _is_eventbridge_event(document):
        detail = document["detail"]
        document = decode_body(detail) if isinstance(detail, str) else detail
    if not isinstance(document, dict):
        raise InvalidNotificationError(f"body is JSON but not an object (got {type(document).__name__})")
    return document


def notification_id_of(document: dict[str, Any]) -> str | None:
    """Best-effort notification id of a document that may not validate, for error reports."""
    for metadata_key, id_key in (
        ("NotificationMetadata", "NotificationId"),
        ("notificationMetadata", "notificationId"),
    ):
        metadata = document.get(metadata_key)
        if isinstance(metadata, dict) and isinstance(metadata.get(id_key), str):
            return str(metadata[id_key])
    return None


# A long job (a large report) continues in a later invocation through a message of our own that
# carries the original notification and the part number.
CONTINUATION_KEY = "sellerstreamContinuation"


@dataclass(frozen=True)
class Delivery:
    """One SQS message: a notification, first delivered (part 0) or continued (part 1, 2, ...)."""

    notification: AnyNotification
    part: int = 0

    @property
    def idempotency_key(self) -> str:
        # Namespaced by type: one table serves every consumer, and ids need only be unique per type.
        key = f"{self.notification.notification_type}#{self.notification.notification_id}"
        return key if self.part == 0 else f"{key}#part-{self.part}"


def parse_delivery(body: str) -> Delivery:
    document = decode_body(body)
    continuation = document.get(CONTINUATION_KEY)
    if isinstance(continuation, dict):
        part = continuation.get("part")
        inner = continuation.get("notification")
        if not isinstance(part, int) or part < 1 or not isinstance(inner, dict):
            raise InvalidNotificationError("malformed continuation message")
        return Delivery(parse_document(inner), part)
    return Delivery(parse_document(document))


def continuation_body(notification: AnyNotification, part: int) -> str:
    return json.dumps(
        {
            CONTINUATION_KEY: {
                "part": part,
                "notification": notification.model_dump(mode="json", by_alias=True),
            }
        }
    )


def parse_notification(body: str) -> AnyNotification:
    """Parse an SQS message body into its typed notification, or raise a PoisonMessageError."""
    return parse_document(decode_body(body))


def parse_document(document: dict[str, Any]) -> AnyNotification:
    notification_id = notification_id_of(document)
    notification_type = document.get("NotificationType", document.get("notificationType"))
    if not isinstance(notification_type, str):
        raise InvalidNotificationError(
            "no NotificationType/notificationType", notification_id=notification_id
        )
    model = MODELS_BY_TYPE.get(notification_type)
    if model is None:
        raise UnknownNotificationTypeError(
            f"notification type {notification_type!r} is not handled", notification_id=notification_id
        )
    try:
        parsed: AnyNotification = model.model_validate(document)  # type: ignore[assignment]
    except ValidationError as error:
        raise InvalidNotificationError(
            f"{notification_type} does not match its schema: {describe_validation_error(error)}",
            notification_id=notification_id,
        ) from None
    return parsed


def describe_validation_error(error: ValidationError, limit: int = 5) -> str:
    """Field paths and messages only; input values are left out because they may be buyer data."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    extra = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + extra


def _is_eventbridge_event(document: dict[str, Any]) -> bool:
    return "detail" in document and ("detail-type" in document or "source" in document)
