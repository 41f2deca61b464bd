"""One SQS batch through a notification use case: parse, deduplicate, apply, and say what became of each.

Delete-after-process: a record is reported as a batch item failure unless its effect is stored,
or a copy of it is safely back on its queue (a deferral) or in the dead-letter queue with its reason
(a failure no retry can cure). Nothing is swallowed: every failure is logged once per receive,
naming the notification (or message) id and the reason; transient ones return to the queue and
reach the DLQ after maxReceiveCount receives.

``BatchRunner.run`` returns a ``RecordOutcome`` per record (the handler turns them into Lambda's
partial batch response; local mode and the benchmarks read them as data). While a record is
handled, every log line carries its ``message_id`` and, once the body is read, its
``notification_id``, ``notification_type`` and ``seller_id``, so one search finds everything said
about a notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, cast, runtime_checkable

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from sellerstream import metric_names
from sellerstream.config import QueueSettings
from sellerstream.errors import (
    NotReadyError,
    PoisonMessageError,
    SellerCredentialsError,
    UnknownNotificationTypeError,
    UnsupportedPayloadVersionError,
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
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE, parse_delivery
from sellerstream.observability import MetricUnit, emit_metric, logger, metrics
from sellerstream.ports import MessageQueue
from sellerstream.spapi.errors import RateBudgetExhausted, SpApiThrottled
from sellerstream.sqs_record import SQSRecord

if TYPE_CHECKING:
    # For annotations only: Powertools' batch types and the models of every notification type
    # cost cold start, and the loop below needs neither.
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from sellerstream.notifications import AnyNotification

RemainingTime = Callable[[], float]
Clock = Callable[[], float]

# A notification being applied by another delivery right now is asked again this much later.
IN_PROGRESS_WAIT_SECONDS: Final = 1.0

# What became of a record.
APPLIED: Final = "applied"  # its effect is stored (``result`` says what the use case did)
DUPLICATE: Final = "duplicate"  # applied before: nothing done again
DEFERRED: Final = "deferred"  # a delayed copy is back on its queue (``reason``: why it waits)
DEAD_LETTERED: Final = "dead_lettered"  # a copy is in the DLQ with its reason
# A copy is kept in the DLQ with its reason until the consumer reads its version (then redriven):
# not a failure of the notification's.
PARKED: Final = "parked"
RETRY: Final = "retry"  # reported as failed: visible again after the visibility timeout
# Why a record waits: its quota is spent, or Amazon's answer lags the change it announces.
THROTTLED_REASONS: Final = frozenset({"RateBudgetExhausted", "SpApiThrottled", "NotReadyError"})
IN_PROGRESS_ELSEWHERE: Final = "in_progress_elsewhere"
# A use case's outcome for a record whose effect is durably recorded and stored later (an order
# change waiting for its drainer): the record is done; the use case counts its lag when stored.
PENDING: Final = "pending"


class RecordOutcome(NamedTuple):
    """What became of one record of a batch, with the ids a log line about it carries."""

    message_id: str
    source_message_id: str  # the message Amazon's delivery arrived as (this one, unless a copy)
    outcome: str  # APPLIED, DUPLICATE, DEFERRED, DEAD_LETTERED, PARKED or RETRY
    notification_id: str | None = None
    notification_type: str | None = None
    seller_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    result: Mapping[str, Any] | None = None  # the use case's summary (APPLIED)
    delay_seconds: int | None = None  # DEFERRED
    receive_count: int | None = None

    @property
    def done(self) -> bool:
        """Whether the record may leave its queue."""
        return self.outcome != RETRY


class BatchResult(NamedTuple):
    outcomes: list[RecordOutcome]

    def response(self) -> PartialItemFailureResponse:
        """Lambda's partial batch response: the records that return to the queue, by message id."""
        return {
            "batchItemFailures": [
                {"itemIdentifier": outcome.message_id} for outcome in self.outcomes if not outcome.done
            ]
        }


class ParsedRecord(Protocol):
    """What a parser makes of one record: the message the use case applies, and its idempotency key."""

    @property
    def notification(self) -> Any: ...

    @property
    def idempotency_key(self) -> str: ...


class RecordParser(Protocol):
    """Reads a record's body (and the continuation attribute) into a ``ParsedRecord``, or raises a
    ``PoisonMessageError``. Notifications use ``parse_delivery``; a queue with a format of its own
    (shipment requests) has its own parser."""

    def __call__(self, body: str, *, continuation_part: str | None = None) -> ParsedRecord: ...


class NotificationUseCase(Protocol):
    """Applies one notification and returns a small JSON-able summary of what it did."""

    def apply(self, notification: Any, remaining_time: RemainingTime) -> dict[str, Any]: ...


@runtime_checkable
class BatchAwareUseCase(Protocol):
    """A use case that takes a whole batch in before its records are applied one by one.

    ``begin_batch`` sees every notification of the batch that parses (e.g. to record them in one
    write); ``end_batch`` runs after the last record (e.g. to drain what they recorded).
    """

    def begin_batch(self, notifications: Sequence[Any], remaining_time: RemainingTime) -> None: ...

    def end_batch(self) -> None: ...


class BatchPolicy(NamedTuple):
    """How long records may wait, from the consumer's queue settings."""

    max_receive_count: int = 5
    queue_retention_seconds: int = 14 * 24 * 3600
    throttle_deferral_base_seconds: int = 30
    throttle_deferral_max_seconds: int = 900
    seller_credentials_wait_seconds: int = 24 * 3600

    @classmethod
    def of(cls, settings: QueueSettings) -> BatchPolicy:
        return cls(
            max_receive_count=settings.max_receive_count,
            queue_retention_seconds=settings.queue_retention_seconds,
            throttle_deferral_base_seconds=settings.throttle_deferral_base_seconds,
            throttle_deferral_max_seconds=settings.throttle_deferral_max_seconds,
            seller_credentials_wait_seconds=settings.seller_credentials_wait_seconds,
        )


class BatchRunner:
    """A consumer's batches through its use case: ``accepts`` names the types its queue takes.

    Without ``persistence`` every delivery is applied: for a use case that is idempotent itself
    (ORDER_CHANGE records a change, the same one twice is one entry)."""

    def __init__(
        self,
        use_case: NotificationUseCase,
        *,
        accepts: frozenset[str],
        queue: MessageQueue,
        persistence: BasePersistenceLayer | None,
        policy: BatchPolicy,
        idempotency_expires_after_seconds: int = 7 * 24 * 3600,
        parse: RecordParser = parse_delivery,
        clock: Clock = time.time,
    ) -> None:
        self.use_case = use_case
        self._accepts = accepts
        self._queue = queue
        self._persistence = persistence
        self._policy = policy
        self._parse = parse
        self._clock = clock
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="notification_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=idempotency_expires_after_seconds,
        )

    def run(self, event: dict[str, Any], context: LambdaContext) -> BatchResult:
        """Every record of the batch once, in order."""
        self._idempotency.register_lambda_context(context)

        def remaining_time() -> float:
            return float(context.get_remaining_time_in_millis()) / 1000.0

        records = [SQSRecord(raw) for raw in _records_of(event)]
        parse = self._parse
        planner = self.use_case if isinstance(self.use_case, BatchAwareUseCase) else None
        try:
            if planner is not None:
                parse = parsed_once(parse)  # the plan reads every record: their handling reuses it
                planner.begin_batch(_parsable(records, parse), remaining_time)
            return BatchResult([self._handle(record, parse, remaining_time) for record in records])
        finally:
            if planner is not None:
                planner.end_batch()

    # -- one record ------------------------------------------------------------------------------
    def _handle(self, record: SQSRecord, parse: RecordParser, remaining_time: RemainingTime) -> RecordOutcome:
        logger.append_keys(message_id=record.message_id, source_message_id=source_message_id(record))
        try:
            return self._handle_record(record, parse, remaining_time)
        except Exception as error:  # deferring or reporting failed too (SQS down): the record returns
            logger.exception(
                "record not handled: returned to the queue", extra={"reason": type(error).__name__}
            )
            return RecordOutcome(
                record.message_id, source_message_id(record), RETRY, reason=type(error).__name__
            )
        finally:
            logger.remove_keys(RECORD_LOG_KEYS)

    def _handle_record(
        self, record: SQSRecord, parse: RecordParser, remaining_time: RemainingTime
    ) -> RecordOutcome:
        notification: AnyNotification | None = None
        try:
            delivery = parse(
                record.body, continuation_part=attribute_value(record, CONTINUATION_PART_ATTRIBUTE)
            )
            notification = delivery.notification
            logger.append_keys(
                notification_id=notification.notification_id,
                notification_type=notification.notification_type,
                seller_id=notification.seller_id,
            )
            if notification.notification_type not in self._accepts:
                raise UnknownNotificationTypeError(
                    f"{notification.notification_type} arrived on the queue for {', '.join(sorted(self._accepts))}"
                )
            result, first_time = self._apply_once(delivery, remaining_time)
        except (RateBudgetExhausted, SpApiThrottled, NotReadyError) as error:
            wait = error.wait_needed if isinstance(error, RateBudgetExhausted) else 0.0
            if isinstance(error, NotReadyError):
                wait = error.wait_seconds
            deferred = self._defer(
                record, notification, wait, type(error).__name__, "notification throttled: deferred"
            )
            if deferred is None:
                return self._retry(
                    record, notification, type(error).__name__, f"{error} (older than the queue keeps)"
                )
            metrics.add_metric(name=metric_names.THROTTLE_DEFERRALS, unit=MetricUnit.Count, value=1)
            return deferred
        except IdempotencyAlreadyInProgressError:
            # A concurrent delivery of the same notification holds it (copies of a notification that
            # waited for one slot come back together): this one comes back shortly and finds it done,
            # rather than after the visibility timeout. A holder that died keeps it in progress until
            # its invocation's deadline at most.
            deferred = self._defer(
                record,
                notification,
                IN_PROGRESS_WAIT_SECONDS,
                IN_PROGRESS_ELSEWHERE,
                "notification in progress elsewhere: deferred",
            )
            if deferred is None:
                return self._retry(
                    record, notification, IN_PROGRESS_ELSEWHERE, "the same notification is being applied"
                )
            return deferred
        except Exception as error:
            failure = permanent_failure(error)
            if failure is None:
                return self._retry(record, notification, type(error).__name__, str(error))
            if isinstance(failure, SellerCredentialsError):
                return self._wait_for_credentials(record, notification, failure)
            return self._dead_letter(record, notification, failure)
        ids = _ids(record, notification)
        if first_time:
            metrics.add_metric(name=metric_names.NOTIFICATIONS_PROCESSED, unit=MetricUnit.Count, value=1)
            if result.get("outcome") != PENDING:  # else its use case counts the lag once it is stored
                now = datetime.fromtimestamp(self._clock(), UTC)
                lag_ms = (now - self._event_time(notification, record)).total_seconds() * 1000
                metrics.add_metric(
                    name=metric_names.EVENT_TO_STORE_LAG, unit=MetricUnit.Milliseconds, value=max(lag_ms, 0.0)
                )
            logger.info("notification applied", extra={**ids, "result": result})
            return RecordOutcome(outcome=APPLIED, result=result, **ids)
        metrics.add_metric(name=metric_names.DUPLICATE_NOTIFICATIONS, unit=MetricUnit.Count, value=1)
        # The stored result is the first delivery's outcome: logging it again would read as if it
        # had happened again (a second write, a second dead letter).
        logger.info("duplicate notification skipped", extra={**ids, "outcome": DUPLICATE})
        return RecordOutcome(outcome=DUPLICATE, **ids)

    def _apply_once(
        self, delivery: ParsedRecord, remaining_time: RemainingTime
    ) -> tuple[dict[str, Any], bool]:
        """Applies the notification unless its key was applied before (then replays the result)."""
        applied: list[bool] = []
        notification = delivery.notification
        if self._persistence is None:
            return self.use_case.apply(notification, remaining_time), True

        def apply(key: dict[str, str]) -> dict[str, Any]:
            applied.append(True)
            return self.use_case.apply(notification, remaining_time)

        apply_once = cast(
            Callable[..., dict[str, Any]],
            idempotent_function(
                data_keyword_argument="key", persistence_store=self._persistence, config=self._idempotency
            )(apply),
        )
        result = apply_once(key={"notification_id": delivery.idempotency_key})
        return result, bool(applied)

    # -- what becomes of a record that is not applied now ----------------------------------------
    def _dead_letter(
        self, record: SQSRecord, notification: AnyNotification | None, failure: PoisonMessageError
    ) -> RecordOutcome:
        """Sends the record to its DLQ at once (then it is done), or fails it when that is not possible.

        A notification in a version the consumer does not read is parked the same way (kept in the
        DLQ with its reason, redriven once the consumer reads it), counted per type and version
        rather than as poison."""
        if notification is not None:
            failure.notification_id = failure.notification_id or notification.notification_id
            failure.notification_type = failure.notification_type or notification.notification_type
            failure.seller_id = failure.seller_id or notification.seller_id
        receive_count = _receive_count(record)
        parked = isinstance(failure, UnsupportedPayloadVersionError)
        if isinstance(failure, UnsupportedPayloadVersionError):
            _count_unsupported_version(failure.notification_type, failure.version)
        else:
            metrics.add_metric(name=metric_names.POISON_MESSAGES, unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=metric_names.NOTIFICATIONS_FAILED, unit=MetricUnit.Count, value=1)
        if isinstance(failure, SellerCredentialsError):
            count_credentials_failure(failure.seller_id, failure.region)
        ids: dict[str, Any] = {
            "message_id": record.message_id,
            "source_message_id": source_message_id(record),
            "notification_id": failure.notification_id,
            "notification_type": failure.notification_type,
            "seller_id": failure.seller_id,
        }
        detail = short_detail(failure.detail)
        context = {**ids, "reason": failure.reason, "detail": detail, "receive_count": receive_count}
        try:
            copy_id = send_to_dead_letter_queue(self._queue, record, failure, receive_count)
        except Exception as error:  # the record then fails and SQS redrives it later
            logger.error(
                "poison message: not copied to the DLQ, returned to the queue",
                extra={**context, "copy_error": f"{type(error).__name__}: {short_detail(str(error))}"},
            )
            return RecordOutcome(
                outcome=RETRY, reason=failure.reason, detail=detail, receive_count=receive_count, **ids
            )
        if parked:
            logger.warning(
                "notification parked: a version this consumer does not read yet",
                extra={**context, "dead_letter_message_id": copy_id},
            )
        else:
            logger.error(
                "poison message: dead-lettered", extra={**context, "dead_letter_message_id": copy_id}
            )
        return RecordOutcome(
            outcome=PARKED if parked else DEAD_LETTERED,
            reason=failure.reason,
            detail=detail,
            receive_count=receive_count,
            **ids,
        )

    def _wait_for_credentials(
        self, record: SQSRecord, notification: AnyNotification | None, failure: SellerCredentialsError
    ) -> RecordOutcome:
        """A seller's credentials refused: the record waits for the seller to re-authorise (or its secret
        to be fixed), deferred with a growing delay, up to SELLER_CREDENTIALS_WAIT_SECONDS from its
        first delivery; then it is dead-lettered with reason ``seller_credentials`` (redrive it, or let
        reconciliation repair the orders). Each wait counts ``SellerCredentialsFailures`` (also per
        seller) so the alarm fires at the first one. The LWA client remembers a refused refresh token
        for a few minutes, so waiting records cost no LWA exchange each."""
        policy = self._policy
        seller_id = failure.seller_id or (notification.seller_id if notification is not None else None)
        now = self._clock()
        delay = deferral_delay(
            record,
            0.0,
            base_seconds=policy.throttle_deferral_base_seconds,
            max_seconds=policy.throttle_deferral_max_seconds,
        )
        waited = age_seconds(record, now)
        if waited + delay > policy.seller_credentials_wait_seconds or not can_defer(
            record, delay, now=now, retention_seconds=policy.queue_retention_seconds
        ):
            failure.detail = f"{failure.detail} (waited {int(waited)} s for the seller's credentials)"
            return self._dead_letter(record, notification, failure)
        defer(self._queue, record, delay, now=now)
        metrics.add_metric(name=metric_names.NOTIFICATIONS_FAILED, unit=MetricUnit.Count, value=1)
        count_credentials_failure(seller_id, failure.region)
        ids = {**_ids(record, notification), "seller_id": seller_id}
        detail = short_detail(failure.detail)
        logger.warning(
            "seller credentials refused: deferred until the seller re-authorises",
            extra={
                **ids,
                "reason": failure.reason,
                "detail": detail,
                "delay_seconds": delay,
                "waited_seconds": int(waited),
                "deferrals": deferrals_of(record) + 1,
            },
        )
        return RecordOutcome(
            outcome=DEFERRED, reason=failure.reason, detail=detail, delay_seconds=delay, **ids
        )

    def _defer(
        self, record: SQSRecord, notification: AnyNotification | None, wait: float, reason: str, message: str
    ) -> RecordOutcome | None:
        """Puts a copy of the record back for ``wait`` seconds (0: unknown, growing per deferral) and
        logs why; None, without deferring, when the notification would outlive the queue's retention."""
        policy = self._policy
        delay = deferral_delay(
            record,
            wait,
            base_seconds=policy.throttle_deferral_base_seconds,
            max_seconds=policy.throttle_deferral_max_seconds,
        )
        now = self._clock()
        if not can_defer(record, delay, now=now, retention_seconds=policy.queue_retention_seconds):
            return None
        defer(self._queue, record, delay, now=now)
        ids = _ids(record, notification)
        logger.info(
            message,
            extra={
                "notification_id": ids["notification_id"],
                "message_id": record.message_id,
                "source_message_id": ids["source_message_id"],
                "reason": reason,
                "delay_seconds": delay,
                "deferrals": deferrals_of(record) + 1,
            },
        )
        return RecordOutcome(outcome=DEFERRED, reason=reason, delay_seconds=delay, **ids)

    def _retry(
        self, record: SQSRecord, notification: AnyNotification | None, reason: str, detail: str
    ) -> RecordOutcome:
        """The record fails and returns to the queue (on its last receive, SQS moves it to the DLQ)."""
        receive_count = _receive_count(record)
        metrics.add_metric(name=metric_names.NOTIFICATIONS_FAILED, unit=MetricUnit.Count, value=1)
        last_receive = receive_count >= self._policy.max_receive_count
        ids = _ids(record, notification)
        shown = short_detail(detail)
        logger.warning(
            "notification failed on its last receive: dead-lettered by the queue"
            if last_receive
            else "notification failed: returned to the queue",
            extra={
                "outcome": "dead_lettered_by_queue" if last_receive else "retry",
                **ids,
                "reason": reason,
                "detail": shown,
                "receive_count": receive_count,
            },
        )
        return RecordOutcome(outcome=RETRY, reason=reason, detail=shown, receive_count=receive_count, **ids)

    def _event_time(self, notification: AnyNotification, record: SQSRecord) -> datetime:
        """The notification's event time; a message without one (a shipment request) counts from when
        it first entered the queue."""
        event_time: datetime | None = notification.event_time
        if event_time is not None:
            return event_time
        return datetime.fromtimestamp(first_sent_ms(record, self._clock()) / 1000.0, UTC)


# The keys every log line about a record carries while it is handled (see the module docstring).
RECORD_LOG_KEYS: Final = (
    "message_id",
    "source_message_id",
    "notification_id",
    "notification_type",
    "seller_id",
)


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


def _records_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise TypeError("not an SQS batch event: no Records list")
    return records


def _parsable(records: list[SQSRecord], parse: RecordParser) -> list[Any]:
    """The batch's notifications that parse (what does not is reported by its own record)."""
    notifications: list[Any] = []
    for record in records:
        try:
            delivery = parse(
                record.body, continuation_part=attribute_value(record, CONTINUATION_PART_ATTRIBUTE)
            )
        except PoisonMessageError:
            continue
        notifications.append(delivery.notification)
    return notifications


def _ids(record: SQSRecord, notification: AnyNotification | None) -> dict[str, Any]:
    return {
        "message_id": record.message_id,
        "source_message_id": source_message_id(record),
        "notification_id": notification.notification_id if notification is not None else None,
        "notification_type": notification.notification_type if notification is not None else None,
        "seller_id": notification.seller_id if notification is not None else None,
    }


def count_credentials_failure(seller_id: str | None, region: str | None) -> None:
    """Counted for the consumer (alarmed) and per seller, and per SP-API region when it is one
    region's token that LWA refused (a seller has one per region)."""
    metrics.add_metric(name=metric_names.SELLER_CREDENTIALS_FAILURES, unit=MetricUnit.Count, value=1)
    if seller_id:  # shape-checked before it got here: safe as a dimension value
        dimensions = {metric_names.SELLER_DIMENSION: seller_id}
        if region:  # one of Region's names
            dimensions[metric_names.REGION_DIMENSION] = region
        emit_metric(metric_names.SELLER_CREDENTIALS_FAILURES, MetricUnit.Count, 1, dimensions=dimensions)


def _count_unsupported_version(notification_type: str | None, version: str) -> None:
    """Counted for the consumer (alarmed) and per type and version (which version to learn)."""
    metrics.add_metric(name=metric_names.UNSUPPORTED_PAYLOAD_VERSIONS, unit=MetricUnit.Count, value=1)
    emit_metric(
        metric_names.UNSUPPORTED_PAYLOAD_VERSIONS,
        MetricUnit.Count,
        1,
        dimensions={
            metric_names.NOTIFICATION_TYPE_DIMENSION: notification_type or "unknown",
            metric_names.PAYLOAD_VERSION_DIMENSION: version,
        },
    )


def _receive_count(record: SQSRecord) -> int:
    count = record.attributes.approximate_receive_count
    try:
        return int(count) if count is not None else 0
    except ValueError:
        return 0
