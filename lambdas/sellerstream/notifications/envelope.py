"""From an SQS message body to a typed notification.

An SQS body is one of: the raw notification JSON (SQS destination); a JSON string holding that
JSON (some senders double-encode); or a whole EventBridge event with the notification in
``detail`` (EventBridge destination -> rule -> SQS). All three are accepted, and nothing else. An
object is read as an EventBridge event when it has every key an EventBridge event must have (AWS's
event structure), whatever keys it gains besides (an event replayed from an archive carries
``replay-name``); Amazon's notification bodies have none of those keys. Our own continuation
messages say so in an SQS message attribute, where a body cannot reach.

A notification whose envelope or payload version has a major version its consumer does not
understand (the catalog names the versions each type's model reads) is not guessed at: it is
refused with ``UnsupportedPayloadVersionError`` before its payload is read, and parked.

Every failure is a typed ``PoisonMessageError``, including the ``RecursionError`` and
``ValueError`` that hostile JSON (deep nesting, huge integer literals) raises in the decoder.
Validation errors name the failing fields but never echo their values: bodies carry buyer data.
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from pydantic import BaseModel, ValidationError

from sellerstream import catalog, identifiers
from sellerstream.errors import (
    InvalidNotificationError,
    UnknownNotificationTypeError,
    UnsupportedPayloadVersionError,
)

if TYPE_CHECKING:
    # Models are imported when a body of their type arrives (see ``model_for``), not with the parser.
    from sellerstream.notifications.application_oauth import (
        ApplicationOAuthClientNewSecretNotification,
        ApplicationOAuthClientSecretExpiryNotification,
    )
    from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
    from sellerstream.notifications.order_change import OrderChangeNotification
    from sellerstream.notifications.report_processing_finished import ReportProcessingFinishedNotification
    from sellerstream.notifications.scheduled_event import ScheduledEvent

    AnyNotification: TypeAlias = (
        OrderChangeNotification
        | ListingsItemStatusChangeNotification
        | ReportProcessingFinishedNotification
        | ApplicationOAuthClientNewSecretNotification
        | ApplicationOAuthClientSecretExpiryNotification
        | ScheduledEvent
    )


def model_for(notification_type: str) -> type[BaseModel] | None:
    """The model that reads ``notification_type`` (the catalog says which), imported on first use: a
    function builds the models of the types it consumes, not every type's. None for an unknown type."""
    message_type = catalog.message_type(notification_type)
    if message_type is None or message_type.transport not in AMAZON_TRANSPORTS:
        return None
    module_name, class_name = message_type.model.split(":")
    model: type[BaseModel] = getattr(importlib.import_module(module_name), class_name)
    return model


# Amazon's notifications come through these; our own messages (schedules, shipment requests) have
# parsers of their own.
AMAZON_TRANSPORTS = frozenset({catalog.Transport.SQS, catalog.Transport.EVENTBRIDGE})
# AWS's Scheduled Event (its EventBridge event reference): the stack's own timer.
SCHEDULED_EVENT_SOURCE = "aws.events"
SCHEDULED_EVENT_DETAIL_TYPE = "Scheduled Event"


def is_scheduled_event(document: dict[str, Any]) -> bool:
    return (
        document.get("source") == SCHEDULED_EVENT_SOURCE
        and document.get("detail-type") == SCHEDULED_EVENT_DETAIL_TYPE
    )


# The top-level keys every EventBridge event has (AWS's event structure reference); "account" too,
# except in moto's events (local mode), so it is not asked for.
EVENTBRIDGE_REQUIRED_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "time", "region", "resources", "detail"}
)

# A long job (a large report) continues in a later invocation through a copy of the notification
# carrying this SQS message attribute (a Number: the part, 1, 2, ...).
CONTINUATION_PART_ATTRIBUTE = "sellerstream-continuation-part"


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    # JSON has no NaN or Infinity; Python's decoder accepts them unless told otherwise.
    raise _NotANumber(name)


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise InvalidNotificationError(
            f"body is not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except _NotANumber:
        raise InvalidNotificationError("body is not JSON (NaN or Infinity literal)") from None
    except RecursionError:
        raise InvalidNotificationError("body is not acceptable JSON (nested too deeply)") from None
    except ValueError:
        # The decoder refuses integer literals past sys.get_int_max_str_digits() (4,300 digits).
        raise InvalidNotificationError("body is not acceptable JSON (a number too large)") from None


def is_eventbridge_event(document: dict[str, Any]) -> bool:
    return EVENTBRIDGE_REQUIRED_KEYS.issubset(document)


def decode_body(body: str) -> dict[str, Any]:
    """The notification object inside an SQS body, unwrapped from string-encoding and EventBridge."""
    return _unwrap(_outer_document(body))


def _outer_document(body: str) -> Any:
    document = _loads(body)
    if isinstance(document, str):  # double-encoded: a JSON string holding the notification
        document = _loads(document)
    return document


def _unwrap(document: Any) -> dict[str, Any]:
    if isinstance(document, dict) and is_eventbridge_event(document):
        detail = document["detail"]
        document = _loads(detail) if isinstance(detail, str) else detail
    if not isinstance(document, dict):
        raise InvalidNotificationError(f"body is JSON but not an object (got {type(document).__name__})")
    return document


def notification_id_of(document: dict[str, Any]) -> str | None:
    """Best-effort notification id of a document that may not validate, for error reports.

    Only an id of the right shape is returned: anything else could put 10 KB or control
    characters into a log line."""
    for metadata_key, id_key in (
        ("NotificationMetadata", "NotificationId"),
        ("notificationMetadata", "notificationId"),
    ):
        metadata = document.get(metadata_key)
        if isinstance(metadata, dict) and identifiers.is_notification_id(metadata.get(id_key)):
            return str(metadata[id_key])
    return None


def notification_type_of(document: dict[str, Any]) -> str | None:
    value = document.get("NotificationType", document.get("notificationType"))
    return value if identifiers.is_word(value) else None


def seller_id_of(document: dict[str, Any]) -> str | None:
    """Best-effort seller id of a document that may not validate (of the right shape only)."""
    payload = document.get("Payload", document.get("payload"))
    if not isinstance(payload, dict):
        return None
    candidates = [payload.get("SellerId")]
    for nested_key, seller_key in (
        ("OrderChangeNotification", "SellerId"),
        ("reportProcessingFinishedNotification", "sellerId"),
    ):
        nested = payload.get(nested_key)
        if isinstance(nested, dict):
            candidates.append(nested.get(seller_key))
    return next((str(value) for value in candidates if identifiers.is_seller_id(value)), None)


class Delivery(NamedTuple):
    """One SQS message: a notification, first delivered (part 0) or continued (part 1, 2, ...)."""

    notification: AnyNotification
    part: int = 0

    @property
    def idempotency_key(self) -> str:
        # Namespaced by type: one table serves every consumer, and ids need only be unique per type.
        key = f"{self.notification.notification_type}#{self.notification.notification_id}"
        return key if self.part == 0 else f"{key}#part-{self.part}"


def parse_delivery(body: str, *, continuation_part: str | None = None) -> Delivery:
    """A message's notification and part; ``continuation_part`` is the continuation attribute's
    value when the message carries one (our own messages only)."""
    part = 0
    if continuation_part is not None:
        if not continuation_part.isascii() or not continuation_part.isdigit() or len(continuation_part) > 6:
            raise InvalidNotificationError("malformed continuation attribute")
        part = int(continuation_part)
        if part < 1:
            raise InvalidNotificationError("malformed continuation attribute")
    return Delivery(parse_notification(body), part)


def continuation_message(notification: AnyNotification, part: int) -> tuple[str, dict[str, Any]]:
    """The body and message attributes of the message that continues ``notification`` as ``part``."""
    body = json.dumps(notification.model_dump(mode="json", by_alias=True))
    attributes = {CONTINUATION_PART_ATTRIBUTE: {"DataType": "Number", "StringValue": str(part)}}
    return body, attributes


def parse_notification(body: str) -> AnyNotification:
    """Parse an SQS message body into its typed notification, or raise a PoisonMessageError."""
    document = _outer_document(body)
    if isinstance(document, dict) and is_eventbridge_event(document) and is_scheduled_event(document):
        return _parse_scheduled_event(document)
    return parse_document(_unwrap(document))


def _parse_scheduled_event(document: dict[str, Any]) -> ScheduledEvent:
    event_id = document.get("id")
    name = catalog.SCHEDULED_EVENT.name
    context = {
        "notification_id": event_id if identifiers.is_notification_id(event_id) else None,
        "notification_type": name,
    }
    from sellerstream.notifications.scheduled_event import ScheduledEvent  # noqa: PLC0415 - on first use

    try:
        return ScheduledEvent.model_validate(document)
    except ValidationError as error:
        raise InvalidNotificationError(
            f"{name} does not match its schema: {describe_validation_error(error)}", **context
        ) from None


def parse_document(document: dict[str, Any]) -> AnyNotification:
    notification_id = notification_id_of(document)
    context = {
        "notification_id": notification_id,
        "notification_type": notification_type_of(document),
        "seller_id": seller_id_of(document),
    }
    notification_type = document.get("NotificationType", document.get("notificationType"))
    if not isinstance(notification_type, str):
        raise InvalidNotificationError("no NotificationType/notificationType", **context)
    model = model_for(notification_type)
    if model is None:
        shown = repr(notification_type) if identifiers.is_word(notification_type) else "(not a type name)"
        raise UnknownNotificationTypeError(f"notification type {shown} is not handled", **context)
    _check_versions(document, notification_type, context)
    try:
        parsed: AnyNotification = model.model_validate(document)  # type: ignore[assignment]
    except ValidationError as error:
        raise InvalidNotificationError(
            f"{notification_type} does not match its schema: {describe_validation_error(error)}", **context
        ) from None
    except RecursionError:
        raise InvalidNotificationError(f"{notification_type} is nested too deeply", **context) from None
    return parsed


# (field, PascalCase field, the versions the catalog says the type's model reads)
_VERSION_FIELDS = (
    ("notificationVersion", "NotificationVersion", "notification_versions"),
    ("payloadVersion", "PayloadVersion", "payload_versions"),
)


def major_version(version: str) -> str:
    """A version's major part: "1" of "1.0" or "1.1" (minors are compatible); a dated version
    ("2020-09-04") is its own."""
    head, dot, _ = version.partition(".")
    return head if dot and head.isdigit() else version


def _check_versions(document: dict[str, Any], notification_type: str, context: dict[str, Any]) -> None:
    """Refuses an envelope or payload version whose major version the type's model does not read.
    A version left out is the model's to refuse (Amazon's schemas require both)."""
    message_type = catalog.message_type(notification_type)
    if message_type is None:
        return
    for camel, pascal, known_attribute in _VERSION_FIELDS:
        version = document.get(pascal, document.get(camel))
        known: tuple[str, ...] = getattr(message_type, known_attribute)
        if version is None or not known:
            continue
        if not isinstance(version, str) or not identifiers.is_version(version):
            raise InvalidNotificationError(f"{notification_type} has a malformed {pascal}", **context)
        if major_version(version) not in {major_version(v) for v in known}:
            raise UnsupportedPayloadVersionError(
                f"{notification_type} {pascal} {version} is not one this consumer reads ({', '.join(known)})",
                version=version,
                **context,
            )


def describe_validation_error(error: ValidationError, limit: int = 5) -> str:
    """Field paths and messages only; input values are left out because they may be buyer data."""
    count = error.error_count()
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False, include_context=False)[:limit]
    ]
    extra = f" (+{count - limit} more)" if count > limit else ""
    return "; ".join(problems) + extra
