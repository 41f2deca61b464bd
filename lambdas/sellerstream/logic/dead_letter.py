"""Failures that no retry can cure go to the dead-letter queue at once, with their reason.

A poison message (bad JSON, wrong schema, unknown type or seller, ids of the wrong shape) or an
answer that will not change (Amazon's 404 for a report, AWS's ValidationException) would otherwise
spend maxReceiveCount receives, each a visibility timeout apart, before SQS redrove it. Instead the
handler sends a copy of the message to the queue's DLQ with message attributes that say why, and
only once that send succeeded is the record reported done: the copy is durable before the original
is deleted (the reasoning of throttled copies in ``deferral``). If the send fails, the record fails
normally and reaches the DLQ by redrive later. Nothing is lost either way.
"""

from __future__ import annotations

import re
from typing import Any

from sellerstream.errors import PermanentFailureError, PoisonMessageError, SellerCredentialsError
from sellerstream.logic.message_attributes import carried_attributes
from sellerstream.ports import MessageQueue
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    LwaAuthError,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiNotFound,
)
from sellerstream.sqs_record import SQSRecord

REASON_ATTRIBUTE = "sellerstream-reason"
DETAIL_ATTRIBUTE = "sellerstream-detail"
NOTIFICATION_ID_ATTRIBUTE = "sellerstream-notification-id"
NOTIFICATION_TYPE_ATTRIBUTE = "sellerstream-notification-type"
SELLER_ID_ATTRIBUTE = "sellerstream-seller-id"
RECEIVE_COUNT_ATTRIBUTE = "sellerstream-receive-count"

DETAIL_MAX_CHARACTERS = 500
# AWS error codes that say the request itself is wrong: sending it again cannot succeed.
AWS_PERMANENT_ERROR_CODES = frozenset({"ValidationException"})
_UNSAFE = re.compile(r"[^\x20-\x7e]+")


def permanent_failure(error: Exception) -> PoisonMessageError | None:
    """The error as a permanent failure when no retry can cure it, else None (transient)."""
    if isinstance(error, PoisonMessageError):
        return error
    if isinstance(error, LwaAuthError):
        refused = SellerCredentialsError(str(error))
        refused.region = error.region
        return refused
    if isinstance(error, SpApiNotFound):
        return PermanentFailureError("spapi_not_found", str(error))
    if isinstance(error, SpApiAccessDenied):
        return PermanentFailureError("spapi_access_denied", str(error))
    if isinstance(error, SpApiClientError) and not isinstance(error, DocumentUrlExpired):
        # 400 and other 4xx that are not throttling, auth or not-found: the request is wrong.
        return PermanentFailureError("spapi_client_error", str(error))
    code = aws_error_code(error)
    if code in AWS_PERMANENT_ERROR_CODES:
        operation = getattr(error, "operation_name", "AWS call")
        return PermanentFailureError("aws_validation", f"{operation}: {code}")
    return None


def aws_error_code(error: Exception) -> str | None:
    """The error code of an AWS SDK error (botocore's ``ClientError`` carries it in ``response``),
    read without importing the SDK: the adapters raise AWS's errors as they are."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    code = details.get("Code") if isinstance(details, dict) else None
    return str(code) if code else None


def short_detail(detail: str) -> str:
    """One printable line, bounded: safe as a message attribute and in a log line."""
    return _UNSAFE.sub(" ", detail).strip()[:DETAIL_MAX_CHARACTERS] or "-"


def send_to_dead_letter_queue(
    queue: MessageQueue, record: SQSRecord, failure: PoisonMessageError, receive_count: int
) -> str:
    """Copies the record's message to the DLQ with the failure as attributes; returns the copy's id."""
    attributes: dict[str, Any] = {
        **carried_attributes(record),
        **failure_attributes(failure),
        RECEIVE_COUNT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(receive_count)},
    }
    return queue.dead_letter(record.body, attributes)


def failure_attributes(failure: PoisonMessageError) -> dict[str, Any]:
    """The failure as the DLQ message's attributes: why, and whose."""
    diagnostics = {
        REASON_ATTRIBUTE: failure.reason,
        DETAIL_ATTRIBUTE: short_detail(failure.detail),
        NOTIFICATION_ID_ATTRIBUTE: failure.notification_id,
        NOTIFICATION_TYPE_ATTRIBUTE: failure.notification_type,
        SELLER_ID_ATTRIBUTE: failure.seller_id,
    }
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in diagnostics.items()
        if value  # SQS refuses empty attribute values
    }
