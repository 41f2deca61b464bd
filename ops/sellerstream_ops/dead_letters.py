"""``sellerstream dlq`` and ``sellerstream redrive``: what is in the dead-letter queues, why, and back.

A letter's reason comes from one of three places:

- the function copied it at once (a failure no retry can cure): its ``sellerstream-*`` message
  attributes say why;
- SQS moved it after 5 failed receives (a transient failure that never cleared): the function
  logged why on every receive, so its log group is searched for the message id (the last line with
  a reason wins);
- the listings rule could not deliver an EventBridge event: EventBridge's ``ERROR_CODE`` and
  ``ERROR_MESSAGE`` attributes say why.

Ids (notification, type, seller) come from the attributes, or from the body read the way the
functions read it (only values of the right shape). Bodies are never shown: they carry buyer data,
and the app-credentials queue's carry a client secret.

Messages are looked at, not taken: each is received with a short visibility timeout and made
visible again at the end. ``redrive`` sends the chosen ones back to their source queue with only
the attributes that mean something to the functions (the continuation part, the source message
id) and deletes each from the DLQ once its copy is sent.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import catalog, identifiers
from sellerstream.adapters.app_secret import AppSecretUnusable
from sellerstream.errors import DEAD_LETTER_REASONS, PoisonMessageError
from sellerstream.logic import dead_letter
from sellerstream.logic.message_attributes import MEANINGFUL_ATTRIBUTES, SOURCE_MESSAGE_ID_ATTRIBUTE
from sellerstream.notifications import decode_body
from sellerstream.notifications.envelope import notification_id_of, notification_type_of, seller_id_of
from sellerstream.spapi.errors import SpApiError
from sellerstream_local.cli import is_credential
from sellerstream_ops.account import Account
from sellerstream_ops.errors import OperatorError

# What redrive keeps of a letter's attributes: what the function reads, nothing diagnostic.
KEPT_ON_REDRIVE = frozenset({*MEANINGFUL_ATTRIBUTES, SOURCE_MESSAGE_ID_ATTRIBUTE})
PEEK_VISIBILITY_SECONDS = 60
LOG_SEARCH_DAYS = catalog.DLQ_RETENTION_DAYS  # a letter is never older than its queue keeps it
EVENTBRIDGE_ERROR_CODE = "ERROR_CODE"
EVENTBRIDGE_ERROR_MESSAGE = "ERROR_MESSAGE"
UNKNOWN_REASON = "unknown"  # neither the attributes nor the function's logs say why


def _descendants(base: type[Exception]) -> list[type[Exception]]:
    found: list[type[Exception]] = []
    for cls in base.__subclasses__():
        found += [cls, *_descendants(cls)]
    return found


# What ``redrive --reason`` takes, spelt as ``dlq`` shows it. The functions' own reasons:
REASONS = frozenset({*DEAD_LETTER_REASONS, UNKNOWN_REASON})
# A transient failure's: the class name of the exception it raised, as the function logged it.
# Python's and AWS's end in Error or Exception; the runtime's that do not are named here.
EXCEPTION_NAME = re.compile(r"[A-Z][A-Za-z0-9]*(?:Error|Exception)")
_RUNTIME_CLASSES: tuple[type[Exception], ...] = (SpApiError, *_descendants(SpApiError), AppSecretUnusable)
RUNTIME_EXCEPTIONS = frozenset(
    cls.__name__ for cls in _RUNTIME_CLASSES if not EXCEPTION_NAME.fullmatch(cls.__name__)
)
# A listings-rule letter's: EventBridge's ERROR_CODE (NO_PERMISSIONS, THROTTLING, ...; AWS's list
# is of examples, so any such code is taken).
EVENTBRIDGE_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
# A poison failure's class names the reason its letters carry (UnknownSellerError: unknown_seller).
_REASON_OF_CLASS = {
    cls.__name__: str(getattr(cls, "reason", ""))
    for cls in _descendants(PoisonMessageError)
    if getattr(cls, "reason", None) in REASONS
}


@dataclass(frozen=True)
class DeadLetterQueue:
    kind: str  # a consumer's kind (orders, listings, reports, app, fulfillment), or listings-rule
    url: str
    source_url: str
    log_group: str | None  # the consumer's, where SQS-redriven letters' reasons are


@dataclass(frozen=True)
class Letter:
    queue: str
    message_id: str
    reason: str
    reason_from: str  # "attributes", "logs", "eventbridge" or "unknown"
    dead_lettered_by: str  # "function" (at once), "queue" (after its receives) or "eventbridge"
    notification_id: str | None = None
    notification_type: str | None = None
    seller_id: str | None = None
    detail: str = ""
    receive_count: int | None = None
    sent_at: str | None = None


# The partner bus rule's own DLQ: events it could not deliver to their consumer's queue.
RULE_KIND = "listings-rule"
# Kinds (a consumer's queue, or the rule's), and the message types an operator may name instead.
KINDS = (*(consumer.kind for consumer in catalog.CONSUMERS), RULE_KIND)
ALIASES = {
    name: consumer.kind
    for consumer in catalog.CONSUMERS
    for message_type in consumer.types
    for name in message_type.names
}


def kinds_of(names: list[str] | None) -> list[str]:
    if not names:
        return list(KINDS)
    kinds = []
    for name in names:
        kind = ALIASES.get(name, name)
        if kind not in KINDS:
            raise OperatorError(f"unknown type {name!r}: one of {', '.join(KINDS)} (or a notification type)")
        kinds.append(kind)
    return kinds


def reasons_of(names: list[str] | None) -> list[str] | None:
    """The reasons ``redrive --reason`` names, each one a letter can have; None when none is named."""
    if not names:
        return None
    for name in names:
        if name in _REASON_OF_CLASS or (name.lower() in DEAD_LETTER_REASONS and name not in REASONS):
            known = _REASON_OF_CLASS.get(name, name.lower())
            raise OperatorError(f"--reason {name}: such letters carry the reason {known}")
        if (
            name in REASONS
            or name in RUNTIME_EXCEPTIONS
            or EXCEPTION_NAME.fullmatch(name)
            or EVENTBRIDGE_CODE.fullmatch(name)
        ):
            continue
        raise OperatorError(
            f"--reason {name!r} is no reason a dead letter can have: one of {', '.join(sorted(REASONS))}; "
            f"a transient failure's exception class name (…Error, …Exception, "
            f"{', '.join(sorted(RUNTIME_EXCEPTIONS))}); or EventBridge's ERROR_CODE for listings-rule "
            "(NO_PERMISSIONS, …): as sellerstream dlq shows them"
        )
    return list(names)


def notification_ids_of(names: list[str] | None) -> list[str] | None:
    """The notification ids ``redrive --notification-id`` names: a letter's id has an id's shape."""
    for name in names or []:
        if is_credential(name) or not identifiers.is_notification_id(name):
            raise OperatorError(f"--notification-id {name!r} is not a notification (or request) id")
    return list(names) if names else None


def dead_letter_queues(account: Account, kinds: list[str]) -> list[DeadLetterQueue]:
    outputs = account.outputs
    # dlq output, source queue url output, its arn output, log group output
    sources: dict[str, tuple[str, str, str, str | None]] = {
        consumer.kind: (
            consumer.outputs.dead_letter_queue_url,
            consumer.outputs.queue_url,
            consumer.outputs.queue_arn,
            consumer.outputs.log_group,
        )
        for consumer in catalog.CONSUMERS
    }
    # The rule's undelivered events go back to the queue it targets, which takes them as they are.
    [rule_target] = [c for c in catalog.CONSUMERS if catalog.Transport.EVENTBRIDGE in c.transports]
    sources[RULE_KIND] = (
        catalog.StackOutputs.EVENTBRIDGE_RULE_DLQ_URL,
        rule_target.outputs.queue_url,
        rule_target.outputs.queue_arn,
        None,
    )
    queues = []
    for kind in kinds:
        dlq_output, source_output, source_arn_output, log_output = sources[kind]
        url = outputs.get(dlq_output)
        if url is None:
            if kind == RULE_KIND and outputs.get(catalog.StackOutputs.PARTNER_EVENT_BUS) is None:
                continue  # deployed without the partner bus: there is no rule yet
            if kind != RULE_KIND and outputs.get(source_arn_output) is None:
                continue  # a stack deployed before this consumer existed
            url = outputs[dlq_output]  # an operator error naming the missing output
        source = outputs.get(source_output) or _queue_url(account, outputs[source_arn_output])
        log_group = outputs.get(log_output) if log_output else None
        queues.append(DeadLetterQueue(kind, url, source, log_group))
    return queues


def _queue_url(account: Account, queue_arn: str) -> str:
    """An older stack's outputs name some queues by ARN only."""
    _, _, _, _, owner, name = queue_arn.split(":", 5)
    return str(account.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"])


def list_dead_letters(
    account: Account, kinds: list[str], *, limit: int, search_logs: bool = True
) -> list[Letter]:
    letters: list[Letter] = []
    for queue in dead_letter_queues(account, kinds):
        with _peeking(account, queue.url) as messages:
            for message in _take(messages, limit):
                letters.append(_letter(account, queue, message, search_logs=search_logs))
    return letters


def redrive(
    account: Account,
    kinds: list[str],
    *,
    reasons: list[str] | None,
    notification_ids: list[str] | None,
    dry_run: bool,
    limit: int,
    search_logs: bool = True,
) -> list[dict[str, Any]]:
    sqs = account.client("sqs")
    moved: list[dict[str, Any]] = []
    for queue in dead_letter_queues(account, kinds):
        with _peeking(account, queue.url) as messages:
            for message in messages:
                if len(moved) >= limit:
                    break
                letter = _letter(account, queue, message, search_logs=search_logs)
                if reasons and letter.reason not in reasons:
                    continue
                if notification_ids and letter.notification_id not in notification_ids:
                    continue
                entry = {**asdict(letter), "to": queue.source_url}
                if not dry_run:
                    sqs.send_message(
                        QueueUrl=queue.source_url,
                        MessageBody=message["Body"],
                        MessageAttributes={
                            name: _sendable(value)
                            for name, value in message.get("MessageAttributes", {}).items()
                            if name in KEPT_ON_REDRIVE
                        },
                    )
                    # Only once the copy is in the source queue (a failed delete means a duplicate,
                    # which idempotency absorbs; never a loss).
                    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
                entry["action"] = "would move" if dry_run else "moved"
                moved.append(entry)
    return moved


def _sendable(value: dict[str, Any]) -> dict[str, Any]:
    kept = {"DataType": value["DataType"]}
    for key in ("StringValue", "BinaryValue"):
        if key in value:
            kept[key] = value[key]
    return kept


def _take(messages: Iterator[dict[str, Any]], limit: int) -> Iterator[dict[str, Any]]:
    for count, message in enumerate(messages):
        if count >= limit:
            return
        yield message


class _peeking:
    """Receives a queue's messages once each; makes the ones still there visible again on exit."""

    def __init__(self, account: Account, queue_url: str) -> None:
        self._sqs = account.client("sqs")
        self._url = queue_url
        self._handles: list[str] = []

    def __enter__(self) -> Iterator[dict[str, Any]]:
        return self._messages()

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            # A letter redrive deleted (or whose visibility already ended) has nothing to give back.
            with contextlib.suppress(ClientError):
                self._sqs.change_message_visibility(
                    QueueUrl=self._url, ReceiptHandle=handle, VisibilityTimeout=0
                )

    def _messages(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            ).get("Messages", [])
            fresh = [message for message in batch if message["MessageId"] not in seen]
            if not fresh:
                return
            for message in fresh:
                seen.add(message["MessageId"])
                self._handles.append(message["ReceiptHandle"])
                yield message


def _letter(
    account: Account, queue: DeadLetterQueue, message: dict[str, Any], *, search_logs: bool
) -> Letter:
    attributes = {
        name: str(value.get("StringValue", ""))
        for name, value in message.get("MessageAttributes", {}).items()
    }
    ids = _ids_from_body(message.get("Body", ""))
    sent_at = _sent_at(message)
    if dead_letter.REASON_ATTRIBUTE in attributes:
        count = attributes.get(dead_letter.RECEIVE_COUNT_ATTRIBUTE, "")
        return Letter(
            queue=queue.kind,
            message_id=attributes.get(SOURCE_MESSAGE_ID_ATTRIBUTE, message["MessageId"]),
            reason=attributes[dead_letter.REASON_ATTRIBUTE],
            reason_from="attributes",
            dead_lettered_by="function",
            notification_id=attributes.get(dead_letter.NOTIFICATION_ID_ATTRIBUTE) or ids[0],
            notification_type=attributes.get(dead_letter.NOTIFICATION_TYPE_ATTRIBUTE) or ids[1],
            seller_id=attributes.get(dead_letter.SELLER_ID_ATTRIBUTE) or ids[2],
            detail=attributes.get(dead_letter.DETAIL_ATTRIBUTE, ""),
            receive_count=int(count) if count.isdigit() else None,
            sent_at=sent_at,
        )
    if EVENTBRIDGE_ERROR_CODE in attributes:
        return Letter(
            queue=queue.kind,
            message_id=message["MessageId"],
            reason=attributes[EVENTBRIDGE_ERROR_CODE],
            reason_from="eventbridge",
            dead_lettered_by="eventbridge",
            notification_id=ids[0],
            notification_type=ids[1],
            seller_id=ids[2],
            detail=attributes.get(EVENTBRIDGE_ERROR_MESSAGE, "")[:500],
            sent_at=sent_at,
        )
    logged = _logged_failure(account, queue.log_group, message["MessageId"]) if search_logs else None
    return Letter(
        queue=queue.kind,
        message_id=message["MessageId"],
        reason=str(logged.get("reason")) if logged else UNKNOWN_REASON,
        reason_from="logs" if logged else "unknown",
        dead_lettered_by="queue",
        notification_id=(logged or {}).get("notification_id") or ids[0],
        notification_type=(logged or {}).get("notification_type") or ids[1],
        seller_id=(logged or {}).get("seller_id") or ids[2],
        detail=str((logged or {}).get("detail") or ""),
        receive_count=_int((logged or {}).get("receive_count")),
        sent_at=sent_at,
    )


def _ids_from_body(body: str) -> tuple[str | None, str | None, str | None]:
    """The ids the functions would read, of the right shape only (never any other content)."""
    try:
        document = decode_body(body)
    except (PoisonMessageError, ValueError, RecursionError):
        return None, None, None
    return notification_id_of(document), notification_type_of(document), seller_id_of(document)


def _logged_failure(account: Account, log_group: str | None, message_id: str) -> dict[str, Any] | None:
    """The function's last log line with a reason about this message (SQS keeps the id on redrive)."""
    if not log_group:
        return None
    logs = account.client("logs")
    start = int((time.time() - LOG_SEARCH_DAYS * 86400) * 1000)
    last: dict[str, Any] | None = None
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=log_group, filterPattern=f'"{message_id}"', startTime=start
        )
        for page in pages:
            for event in page.get("events", []):
                line = _json_line(str(event.get("message", "")))
                about_it = line.get("message_id") == message_id and line.get("reason")
                if about_it and (last is None or event.get("timestamp", 0) >= last["_timestamp"]):
                    last = {**line, "_timestamp": event.get("timestamp", 0)}
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return last


def _json_line(message: str) -> dict[str, Any]:
    start = message.find("{")
    if start < 0:
        return {}
    try:
        document = json.loads(message[start:])
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _sent_at(message: dict[str, Any]) -> str | None:
    stamp = message.get("Attributes", {}).get("SentTimestamp")
    if not stamp or not str(stamp).isdigit():
        return None
    return datetime.fromtimestamp(int(stamp) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None
