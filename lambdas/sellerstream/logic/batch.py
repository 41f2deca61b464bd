"""One SQS batch through a notification use case: parse, deduplicate, apply, report failures.

Delete-after-process: a record is reported as a batch item failure unless its effect is stored,
or (a failure no retry can cure) a copy of it with its reason is safely in the dead-letter queue.
Nothing is swallowed: every failure is logged once per receive, naming the notification (or
message) id and the reason; transient ones return to the queue and reach the DLQ after
maxReceiveCount receives.

While a record is handled, every log line carries its ``message_id`` and, once the body is read,
its ``notification_id``, ``notification_type`` and ``seller_id`` (keys appended to the logger for
that record and removed after it), so one search finds everything said about a notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from sellerstream import aws, metric_names
from sellerstream.config import get_settings
from sellerstream.errors import (
    NotReadyError,
    PoisonMessageError,
    SellerCredentialsError,
    UnknownNotificationTypeError,
)
from sellerstream.logic.dead_letter import permanent_failure, send_to_dead_letter_queue, short_detail
from sellerstream.logic.deferral import (
    age_seconds,
    can_defer,
    defer,
    deferral_delay,
    deferrals_of,
    first_sent_ms,
)
from sellerstream.logic.message_attributes import attribute_value, source_message_id
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE, Delivery, parse_delivery
from sellerstream.observability import MetricUnit, emit_metric, logger, metrics
from sellerstream.spapi.errors import RateBudgetExhausted, SpApiThrottled
from sellerstream.sqs_record import SQSRecord

if TYPE_CHECKING:
    # For annotations only: Powertools' batch utility and the models of every notification type
    # cost cold start, and the loop below needs neither.
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from sellerstream.notifications import AnyNotification

RemainingTime = Callable[[], float]
Clock = Callable[[], float]

# A notification being applied by another delivery right now is asked again this much later.
IN_PROGRESS_WAIT_SECONDS = 1.0


class ParsedRecord(Protocol):
    """What a parser makes of one record: the message the use case applies, and its idempotency key."""

    @property
    def notification(self) -> Any: ...

    @property
    def idempotency_key(self) -> str: ...


class RecordParser(Protocol):
    """Reads a record's body (and the continuation attribute) into a ``ParsedRecord``, or raises a
    ``PoisonMessageError``. Notifications use ``parse_delivery``; a queue with a format of its own
    (shipment requests) passes its parser to ``process_batch``."""

    def __call__(self, body: str, *, continuation_part: str | None = None) -> ParsedRecord: ...


class NotificationUseCase(Protocol):
    """Applies one notification and returns a small JSON-able summary of what it did."""

    accepts: frozenset[str]

    def apply(self, notification: Any, remaining_time: RemainingTime) -> dict[str, Any]: ...


@runtime_checkable
class BatchAwareUseCase(Protocol):
    """A use case that plans a whole batch before its records are applied one by one.

    ``begin_batch`` sees every notification of the batch that parses (e.g. to coalesce calls and
    reserve rate budget once); ``before_apply`` runs for each record before idempotency and may raise
    ``RateBudgetExhausted`` or ``NotReadyError`` to defer it at no further cost; ``end_batch`` runs
    after the last record (e.g. to give back unused budget).
    """

    def begin_batch(
        self, notifications: Sequence[AnyNotification], remaining_time: RemainingTime
    ) -> None: ...

    def before_apply(self, notification: AnyNotification) -> None: ...

    def end_batch(self) -> None: ...


def process_batch(
    event: dict[str, Any],
    context: LambdaContext,
    use_case: NotificationUseCase,
    *,
    clock: Clock = time.time,
    parse: RecordParser = parse_delivery,
) -> PartialItemFailureResponse:
    idempotency_config().register_lambda_context(context)

    def remaining_time() -> float:
        return float(context.get_remaining_time_in_millis()) / 1000.0

    planner = use_case if isinstance(use_case, BatchAwareUseCase) else None
    if planner is not None:
        parse = parsed_once(parse)  # the plan reads every record: their handling reuses it
        planner.begin_batch(_parsable(event, parse), remaining_time)

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        return handle_record(record, use_case, remaining_time, clock=clock, parse=parse)

    try:
        return handle_records(_records_of(event), record_handler)
    finally:
        if planner is not None:
            planner.end_batch()


def handle_records(
    raw_records: Sequence[dict[str, Any]], record_handler: Callable[[SQSRecord], object]
) -> PartialItemFailureResponse:
    """Every record through ``record_handler`` once, in order; those that raised are listed by
    message id, for SQS to make visible again (ReportBatchItemFailures), and the rest are deleted.

    A batch whose every record failed is still a normal response listing every record as failed:
    the messages return to the queue either way, and poison alone should not count as a crash.
    """
    failures: list[PartialItemFailures] = []
    for raw in raw_records:
        record = SQSRecord(raw)
        try:
            record_handler(record)
        except Exception:  # the record handler logged why; the message returns to the queue
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def _records_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise TypeError("not an SQS batch event: no Records list")
    return records


def parsed_once(parse: RecordParser) -> RecordParser:
    """``parse`` remembering what it made of each body for one batch (a poison body raises again)."""
    seen: dict[tuple[str, str | None], ParsedRecord | PoisonMessageError] = {}

    def parse_once(body: str, *, continuation_part: str | None = None) -> ParsedRecord:
        key = (body, continuation_part)
        result = seen.get(key)
        if result is None:
            try:
                result = seen[key] = parse(body, continuation_part=continuation_part)
            except PoisonMessageError as error:
                seen[key] = error
                raise
        if isinstance(result, PoisonMessageError):
            raise result
        return result

    return parse_once


def _parsable(event: dict[str, Any], parse: RecordParser = parse_delivery) -> list[AnyNotification]:
    """The batch's notifications that parse (what does not is reported by its own record)."""
    notifications: list[AnyNotification] = []
    for raw in event.get("Records") or []:
        record = SQSRecord(raw)
        try:
            delivery = parse(
                record.body, continuation_part=attribute_value(record, CONTINUATION_PART_ATTRIBUTE)
            )
        except PoisonMessageError:
            continue
        notifications.append(delivery.notification)
    return notifications


# The keys every log line about a record carries while it is handled (see the module docstring).
RECORD_LOG_KEYS = ("message_id", "source_message_id", "notification_id", "notification_type", "seller_id")


def handle_record(
    record: SQSRecord,
    use_case: NotificationUseCase,
    remaining_time: RemainingTime,
    *,
    clock: Clock = time.time,
    parse: RecordParser = parse_delivery,
) -> dict[str, Any]:
    logger.append_keys(message_id=record.message_id, source_message_id=source_message_id(record))
    try:
        return _handle_record(record, use_case, remaining_time, clock, parse)
    finally:
        logger.remove_keys(RECORD_LOG_KEYS)


def _handle_record(
    record: SQSRecord,
    use_case: NotificationUseCase,
    remaining_time: RemainingTime,
    clock: Clock,
    parse: RecordParser = parse_delivery,
) -> dict[str, Any]:
    notification: AnyNotification | None = None
    try:
        delivery = parse(record.body, continuation_part=attribute_value(record, CONTINUATION_PART_ATTRIBUTE))
        notification = delivery.notification
        logger.append_keys(
            notification_id=notification.notification_id,
            notification_type=notification.notification_type,
            seller_id=notification.seller_id,
        )
        if notification.notification_type not in use_case.accepts:
            raise UnknownNotificationTypeError(
                f"{notification.notification_type} arrived on the queue for {', '.join(sorted(use_case.accepts))}"
            )
        if isinstance(use_case, BatchAwareUseCase):
            use_case.before_apply(notification)
        result, first_time = _apply_once(delivery, use_case, remaining_time)
    except (RateBudgetExhausted, SpApiThrottled, NotReadyError) as error:
        wait = error.wait_needed if isinstance(error, RateBudgetExhausted) else 0.0
        if isinstance(error, NotReadyError):
            wait = error.wait_seconds
        deferred = _defer_to_wait(
            record, notification, wait, type(error).__name__, "notification throttled: deferred", clock
        )
        if deferred is None:
            _report_retry(record, notification, type(error).__name__, f"{error} (older than the queue keeps)")
            raise
        metrics.add_metric(name="ThrottleDeferrals", unit=MetricUnit.Count, value=1)
        return deferred
    except IdempotencyAlreadyInProgressError as error:
        # A concurrent delivery of the same notification holds it (copies of a notification that
        # waited for one slot come back together): this one comes back shortly and finds it done,
        # rather than after the visibility timeout.
        return _wait_for_other_delivery(record, notification, error, clock)
    except Exception as error:
        failure = permanent_failure(error)
        if failure is None:
            _report_retry(record, notification, type(error).__name__, str(error))
            raise
        if isinstance(failure, SellerCredentialsError):
            return _wait_for_credentials(record, notification, failure, clock)
        return _dead_letter(record, notification, failure)
    if first_time:
        metrics.add_metric(name="NotificationsProcessed", unit=MetricUnit.Count, value=1)
        lag_ms = (datetime.now(UTC) - _event_time(notification, record, clock)).total_seconds() * 1000
        metrics.add_metric(name="EventToStoreLag", unit=MetricUnit.Milliseconds, value=max(lag_ms, 0.0))
    else:
        metrics.add_metric(name="DuplicateNotifications", unit=MetricUnit.Count, value=1)
    context = {
        "notification_id": notification.notification_id,
        "notification_type": notification.notification_type,
        "seller_id": notification.seller_id,
        "message_id": record.message_id,
        "source_message_id": source_message_id(record),
    }
    if first_time:
        logger.info("notification applied", extra={**context, "result": result})
    else:
        # The stored result is the first delivery's outcome: logging it again would read as if it
        # had happened again (a second write, a second dead letter).
        logger.info("duplicate notification skipped", extra={**context, "outcome": "duplicate"})
    return result


def _apply_once(
    delivery: Delivery | ParsedRecord, use_case: NotificationUseCase, remaining_time: RemainingTime
) -> tuple[dict[str, Any], bool]:
    """Applies the notification unless its NotificationId was applied before (then replays the result)."""
    applied: list[bool] = []
    notification = delivery.notification

    def apply(key: dict[str, str]) -> dict[str, Any]:
        applied.append(True)
        return use_case.apply(notification, remaining_time)

    apply_once = cast(
        Callable[..., dict[str, Any]],
        idempotent_function(
            data_keyword_argument="key", persistence_store=persistence_layer(), config=idempotency_config()
        )(apply),
    )
    result = apply_once(key={"notification_id": delivery.idempotency_key})
    return result, bool(applied)


@cache
def persistence_layer() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table_name, boto3_client=aws.client("dynamodb")
    )


@cache
def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="notification_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=get_settings().idempotency_expires_after_seconds,
    )


def reset_runtime_caches() -> None:
    """Tests and local mode rebuild the idempotency layer when they swap tables or clients."""
    persistence_layer.cache_clear()
    idempotency_config.cache_clear()


def _dead_letter(
    record: SQSRecord, notification: AnyNotification | None, failure: PoisonMessageError
) -> dict[str, Any]:
    """Sends the record to its DLQ at once (then it is done), or fails it when that is not possible."""
    if notification is not None:
        failure.notification_id = failure.notification_id or notification.notification_id
        failure.notification_type = failure.notification_type or notification.notification_type
        failure.seller_id = failure.seller_id or notification.seller_id
    receive_count = _receive_count(record)
    metrics.add_metric(name="PoisonMessages", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
    if isinstance(failure, SellerCredentialsError):
        _count_credentials_failure(failure.seller_id)
    context = {
        "notification_id": failure.notification_id,
        "notification_type": failure.notification_type,
        "seller_id": failure.seller_id,
        "message_id": record.message_id,
        "source_message_id": source_message_id(record),
        "reason": failure.reason,
        "detail": short_detail(failure.detail),
        "receive_count": receive_count,
    }
    dead_letter_queue_url = get_settings().dead_letter_queue_url
    copy_error = "DEAD_LETTER_QUEUE_URL is not set"
    if dead_letter_queue_url:
        try:
            copy_id = send_to_dead_letter_queue(record, failure, dead_letter_queue_url, receive_count)
        except Exception as error:  # the record then fails and SQS redrives it later
            copy_error = f"{type(error).__name__}: {short_detail(str(error))}"
        else:
            logger.error(
                "poison message: dead-lettered", extra={**context, "dead_letter_message_id": copy_id}
            )
            return {"outcome": "dead_lettered", "reason": failure.reason}
    logger.error(
        "poison message: not copied to the DLQ, returned to the queue",
        extra={**context, "copy_error": copy_error},
    )
    raise failure from None


def _wait_for_credentials(
    record: SQSRecord, notification: AnyNotification | None, failure: SellerCredentialsError, clock: Clock
) -> dict[str, Any]:
    """A seller's credentials refused: the record waits for the seller to re-authorise (or its secret
    to be fixed), deferred with a growing delay, up to SELLER_CREDENTIALS_WAIT_SECONDS from its
    first delivery; then it is dead-lettered with reason ``seller_credentials`` (redrive it, or let
    reconciliation repair the orders). Each wait counts ``SellerCredentialsFailures`` (also per
    seller) so the alarm fires at the first one. The LWA client remembers a refused refresh token
    for a few minutes, so waiting records cost no LWA exchange each."""
    settings = get_settings()
    seller_id = failure.seller_id or (notification.seller_id if notification is not None else None)
    now = clock()
    delay = deferral_delay(
        record,
        0.0,
        base_seconds=settings.throttle_deferral_base_seconds,
        max_seconds=settings.throttle_deferral_max_seconds,
    )
    waited = age_seconds(record, now)
    if waited + delay > settings.seller_credentials_wait_seconds or not can_defer(
        record, delay, now=now, retention_seconds=settings.queue_retention_seconds
    ):
        failure.detail = f"{failure.detail} (waited {int(waited)} s for the seller's credentials)"
        return _dead_letter(record, notification, failure)
    defer(record, delay, now=now)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
    _count_credentials_failure(seller_id)
    logger.warning(
        "seller credentials refused: deferred until the seller re-authorises",
        extra={
            "notification_id": _id_of(notification),
            "notification_type": notification.notification_type if notification else None,
            "seller_id": seller_id,
            "message_id": record.message_id,
            "source_message_id": source_message_id(record),
            "reason": failure.reason,
            "detail": short_detail(failure.detail),
            "delay_seconds": delay,
            "waited_seconds": int(waited),
            "deferrals": deferrals_of(record) + 1,
        },
    )
    return {"outcome": "deferred", "reason": failure.reason, "delay_seconds": delay}


def _wait_for_other_delivery(
    record: SQSRecord,
    notification: AnyNotification | None,
    error: IdempotencyAlreadyInProgressError,
    clock: Clock,
) -> dict[str, Any]:
    # The other delivery is being applied now: done (or failed, and its record released) a moment
    # later. A holder that died keeps it in progress until its invocation's deadline at most.
    deferred = _defer_to_wait(
        record,
        notification,
        IN_PROGRESS_WAIT_SECONDS,
        "in_progress_elsewhere",
        "notification in progress elsewhere: deferred",
        clock,
    )
    if deferred is None:
        _report_retry(record, notification, "in_progress_elsewhere", "the same notification is being applied")
        raise error
    return deferred


def _defer_to_wait(
    record: SQSRecord,
    notification: AnyNotification | None,
    wait: float,
    reason: str,
    message: str,
    clock: Clock,
) -> dict[str, Any] | None:
    """Puts a copy of the record back for ``wait`` seconds (0: unknown, growing per deferral) and
    logs why; None, without deferring, when the notification would outlive the queue's retention."""
    settings = get_settings()
    delay = deferral_delay(
        record,
        wait,
        base_seconds=settings.throttle_deferral_base_seconds,
        max_seconds=settings.throttle_deferral_max_seconds,
    )
    now = clock()
    if not can_defer(record, delay, now=now, retention_seconds=settings.queue_retention_seconds):
        return None
    defer(record, delay, now=now)
    logger.info(
        message,
        extra={
            "notification_id": _id_of(notification),
            "message_id": record.message_id,
            "source_message_id": source_message_id(record),
            "reason": reason,
            "delay_seconds": delay,
            "deferrals": deferrals_of(record) + 1,
        },
    )
    return {"outcome": "deferred", "reason": reason, "delay_seconds": delay}


def _count_credentials_failure(seller_id: str | None) -> None:
    metrics.add_metric(name=metric_names.SELLER_CREDENTIALS_FAILURES, unit=MetricUnit.Count, value=1)
    if seller_id:  # shape-checked before it got here: safe as a dimension value
        emit_metric(
            metric_names.SELLER_CREDENTIALS_FAILURES,
            MetricUnit.Count,
            1,
            dimensions={metric_names.SELLER_DIMENSION: seller_id},
        )


def _report_retry(record: SQSRecord, notification: AnyNotification | None, reason: str, detail: str) -> None:
    receive_count = _receive_count(record)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
    last_receive = receive_count >= get_settings().max_receive_count
    logger.warning(
        # On the last receive SQS moves the message to the DLQ instead of making it visible again.
        "notification failed on its last receive: dead-lettered by the queue"
        if last_receive
        else "notification failed: returned to the queue",
        extra={
            "outcome": "dead_lettered_by_queue" if last_receive else "retry",
            "notification_id": _id_of(notification),
            "notification_type": notification.notification_type if notification else None,
            "seller_id": notification.seller_id if notification else None,
            "message_id": record.message_id,
            "source_message_id": source_message_id(record),
            "reason": reason,
            "detail": short_detail(detail),
            "receive_count": receive_count,
        },
    )


def _event_time(notification: AnyNotification, record: SQSRecord, clock: Clock) -> datetime:
    """The notification's event time; a message without one (a shipment request) counts from when
    it first entered the queue."""
    event_time: datetime | None = notification.event_time
    if event_time is not None:
        return event_time
    return datetime.fromtimestamp(first_sent_ms(record, clock()) / 1000.0, UTC)


def _id_of(notification: AnyNotification | None) -> str | None:
    return notification.notification_id if notification is not None else None


def _receive_count(record: SQSRecord) -> int:
    count = record.attributes.approximate_receive_count
    try:
        return int(count) if count is not None else 0
    except ValueError:
        return 0
