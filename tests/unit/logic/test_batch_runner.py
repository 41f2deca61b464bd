"""One SQS batch through a use case: what becomes of each record, and what is sent where.

The runner is given a stub use case (it records what it applies and raises what a test scripts for
a SKU), the fake queue and idempotency in memory; bodies are real LISTINGS_ITEM_STATUS_CHANGE
notifications read by the real parser.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from sellerstream import catalog
from sellerstream.config import QueueSettings
from sellerstream.errors import NotReadyError, PoisonMessageError, SellerCredentialsError
from sellerstream.logic.batch import (
    APPLIED,
    DEAD_LETTERED,
    DEFERRED,
    DUPLICATE,
    IN_PROGRESS_ELSEWHERE,
    PARKED,
    RETRY,
    BatchPolicy,
    BatchResult,
    BatchRunner,
    RecordOutcome,
    parsed_once,
)
from sellerstream.logic.dead_letter import (
    DETAIL_ATTRIBUTE,
    NOTIFICATION_ID_ATTRIBUTE,
    REASON_ATTRIBUTE,
    RECEIVE_COUNT_ATTRIBUTE,
    SELLER_ID_ATTRIBUTE,
)
from sellerstream.logic.deferral import DEFERRALS_ATTRIBUTE, FIRST_SENT_ATTRIBUTE
from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE, parse_delivery
from sellerstream.spapi.errors import (
    LwaAuthError,
    RateBudgetExhausted,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
)
from sellerstream_local.notifications_factory import listings_status_change, order_change
from tests.support.fakes import FakeClock, FakeMessageQueue, FakePersistenceLayer
from tests.support.lambda_events import FakeLambdaContext, sqs_event, sqs_record
from tests.unit.logic.conftest import SELLER

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

ACCEPTS = catalog.consumer("listings").accepts
SENT_MS = 1_790_000_000_000  # the clock fixture's start: a record sent "now"
HOUR = 3600
DAY = 24 * HOUR
CHANGED_AT = datetime(2026, 9, 1, tzinfo=UTC)


def listing(sku: str = "SKU-1", *, notification_id: str | None = None) -> str:
    return json.dumps(
        listings_status_change(
            seller_id=SELLER,
            sku=sku,
            status=["BUYABLE"],
            changed_at=CHANGED_AT,
            notification_id=notification_id or str(uuid.uuid4()),
        )
    )


def notification_id_of(body: str) -> str:
    return str(json.loads(body)["NotificationMetadata"]["NotificationId"])


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class ListingUseCase:
    """Stands in for a use case: records the SKU of each notification it applies; a SKU in
    ``failures`` raises that error instead."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.failures: dict[str, Exception] = {}
        self.time_left: list[float] = []  # what remaining_time() said at each apply

    def apply(self, notification: Any, remaining_time: Callable[[], float]) -> dict[str, Any]:
        sku = notification.payload.sku
        self.time_left.append(remaining_time())
        failure = self.failures.get(sku)
        if failure is not None:
            raise failure
        self.applied.append(sku)
        return {"outcome": "written", "sku": sku}


class PlanningUseCase(ListingUseCase):
    """A batch-aware use case: records the order of its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, ...]] = []

    def begin_batch(self, notifications: Sequence[Any], remaining_time: Callable[[], float]) -> None:
        self.calls.append(("begin", *(n.payload.sku for n in notifications)))

    def apply(self, notification: Any, remaining_time: Callable[[], float]) -> dict[str, Any]:
        self.calls.append(("apply", notification.payload.sku))
        return super().apply(notification, remaining_time)

    def end_batch(self) -> None:
        self.calls.append(("end",))


@pytest.fixture
def use_case() -> ListingUseCase:
    return ListingUseCase()


@pytest.fixture
def runner(make_runner: Any, use_case: ListingUseCase) -> BatchRunner:
    runner: BatchRunner = make_runner(use_case, ACCEPTS)
    return runner


@pytest.fixture
def context(clock: FakeClock) -> LambdaContext:
    return invocation(clock)


def invocation(clock: FakeClock, seconds: float = 30.0) -> LambdaContext:
    """An invocation with ``seconds`` left, on the test's clock."""
    return cast("LambdaContext", FakeLambdaContext(clock, seconds))


def outcomes(result: BatchResult) -> list[tuple[str, str | None]]:
    return [(outcome.outcome, outcome.reason) for outcome in result.outcomes]


# -- every record once, in order, outcomes as data ------------------------------------------------


def test_given_a_batch_when_every_record_applies_then_each_is_applied_once_in_order_and_none_returns(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    bodies = [listing("SKU-1"), listing("SKU-2"), listing("SKU-3")]

    result = runner.run(sqs_event(*bodies), context)

    assert use_case.applied == ["SKU-1", "SKU-2", "SKU-3"]
    assert [outcome.outcome for outcome in result.outcomes] == [APPLIED] * 3
    assert [outcome.notification_id for outcome in result.outcomes] == [notification_id_of(b) for b in bodies]
    assert result.outcomes[0].result == {"outcome": "written", "sku": "SKU-1"}
    assert result.outcomes[0].seller_id == SELLER
    assert result.response() == {"batchItemFailures": []}


def test_given_a_record_that_fails_transiently_when_run_then_only_it_returns_and_the_rest_are_applied(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    use_case.failures["SKU-2"] = SpApiServerError("getListingsItem", "503", status=503)
    event = batch(
        sqs_record(listing("SKU-1"), message_id="m-1"),
        sqs_record(listing("SKU-2"), message_id="m-2"),
        sqs_record(listing("SKU-3"), message_id="m-3"),
    )

    result = runner.run(event, context)

    assert outcomes(result) == [(APPLIED, None), (RETRY, "SpApiServerError"), (APPLIED, None)]
    assert use_case.applied == ["SKU-1", "SKU-3"]
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


def test_given_an_invocation_with_time_left_when_a_record_is_applied_then_the_use_case_sees_what_is_left(
    runner: BatchRunner, use_case: ListingUseCase, clock: FakeClock
) -> None:
    context = invocation(clock, seconds=12.5)
    clock.now += 2.0  # the invocation started a while ago

    runner.run(sqs_event(listing("SKU-1")), context)

    assert use_case.time_left == [10.5]


def test_given_an_empty_batch_when_run_then_nothing_is_applied_and_nothing_returns(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    result = runner.run({"Records": []}, context)

    assert result.outcomes == [] and use_case.applied == []
    assert result.response() == {"batchItemFailures": []}


def test_given_an_event_that_is_not_an_sqs_batch_when_run_then_it_is_refused(
    runner: BatchRunner, context: LambdaContext
) -> None:
    with pytest.raises(TypeError, match="not an SQS batch"):
        runner.run({"detail-type": "Scheduled Event"}, context)


def test_given_outcomes_of_every_kind_then_the_partial_batch_response_lists_only_the_returning_records() -> (
    None
):
    result = BatchResult(
        [
            RecordOutcome(f"m-{outcome}", f"m-{outcome}", outcome)
            for outcome in (APPLIED, DUPLICATE, DEFERRED, DEAD_LETTERED, RETRY)
        ]
    )

    assert result.response() == {"batchItemFailures": [{"itemIdentifier": f"m-{RETRY}"}]}


# -- failures no retry can cure: dead-lettered at once ------------------------------------------


def test_given_a_type_the_consumer_does_not_take_when_run_then_dead_lettered_with_its_reason_unapplied(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    body = json.dumps(
        order_change(
            seller_id=SELLER, order_id="111-0000000-0000001", status="Unshipped", changed_at=CHANGED_AT
        )
    )

    result = runner.run(sqs_event(body), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (DEAD_LETTERED, "unknown_notification_type")
    assert use_case.applied == []
    [copy] = queue.dead_letters
    assert copy.body == body
    assert copy.attribute(REASON_ATTRIBUTE) == "unknown_notification_type"
    assert copy.attribute(NOTIFICATION_ID_ATTRIBUTE) == notification_id_of(body)
    assert result.response() == {"batchItemFailures": []}


def test_given_a_body_that_is_not_json_when_run_then_dead_lettered_on_its_first_receive_saying_why(
    runner: BatchRunner, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    event = batch(sqs_record("{not json", message_id="m-poison", receive_count=1))

    result = runner.run(event, context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (DEAD_LETTERED, "invalid_notification")
    assert outcome.receive_count == 1
    [copy] = queue.dead_letters
    assert copy.body == "{not json"
    assert copy.attribute(REASON_ATTRIBUTE) == "invalid_notification"
    assert "not JSON" in (copy.attribute(DETAIL_ATTRIBUTE) or "")
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-poison"
    assert copy.attribute(RECEIVE_COUNT_ATTRIBUTE) == "1"
    assert copy.attribute(SELLER_ID_ATTRIBUTE) is None  # unknown: left out rather than sent empty
    assert queue.deferred == []


def test_given_a_payload_version_the_consumer_does_not_read_when_run_then_parked_not_applied_nor_poison(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    document = json.loads(listing("SKU-NEW", notification_id="n-version-2"))
    document["PayloadVersion"] = "2.0"
    body = json.dumps(document)

    result = runner.run(batch(sqs_record(body, message_id="m-version-2")), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (PARKED, "unsupported_payload_version")
    assert outcome.done and result.response() == {"batchItemFailures": []}
    assert use_case.applied == []
    [kept] = queue.dead_letters
    assert kept.body == body  # kept whole, to be redriven once the consumer reads version 2
    assert kept.attribute(REASON_ATTRIBUTE) == "unsupported_payload_version"
    assert kept.attribute(NOTIFICATION_ID_ATTRIBUTE) == "n-version-2"


def test_given_a_parked_notification_when_the_copy_cannot_be_kept_then_the_record_returns(
    runner: BatchRunner, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    document = json.loads(listing("SKU-NEW"))
    document["PayloadVersion"] = "2.0"
    queue.failing = ConnectionError("SQS unreachable")

    [outcome] = runner.run(batch(sqs_record(json.dumps(document))), context).outcomes

    assert outcome.outcome == RETRY


def test_given_a_poison_continuation_copy_when_dead_lettered_then_its_copy_keeps_the_part_and_the_source(
    runner: BatchRunner, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    copy_of_a_copy = sqs_record(
        "[]",
        message_id="m-continuation",
        attributes={
            CONTINUATION_PART_ATTRIBUTE: ("Number", "3"),
            SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-from-amazon"),
        },
    )

    result = runner.run(batch(copy_of_a_copy), context)

    [outcome] = result.outcomes
    assert outcome.outcome == DEAD_LETTERED and outcome.source_message_id == "m-from-amazon"
    [copy] = queue.dead_letters
    assert copy.attribute(CONTINUATION_PART_ATTRIBUTE) == "3"
    assert copy.attributes[CONTINUATION_PART_ATTRIBUTE]["DataType"] == "Number"
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-from-amazon"


def test_given_the_dead_letter_queue_refuses_the_copy_when_poison_arrives_then_the_record_returns(
    runner: BatchRunner, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    queue.failing = RuntimeError("SQS unavailable")

    result = runner.run(batch(sqs_record("{not json", message_id="m-poison")), context)

    # Nothing is lost: the original stays on its queue, and its redrive reaches the DLQ later.
    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (RETRY, "invalid_notification")
    assert queue.dead_letters == []
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "m-poison"}]}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "refused"}}, "PutItem")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (SpApiNotFound("getListingsItem", "not found", status=404), "spapi_not_found"),
        (SpApiAccessDenied("getListingsItem", "denied", status=403), "spapi_access_denied"),
        (SpApiClientError("getListingsItem", "InvalidInput", status=400), "spapi_client_error"),
        (client_error("ValidationException"), "aws_validation"),
    ],
)
def test_given_an_answer_that_no_retry_changes_when_run_then_dead_lettered_with_its_reason(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    context: LambdaContext,
    error: Exception,
    reason: str,
) -> None:
    use_case.failures["SKU-1"] = error
    body = listing("SKU-1")

    result = runner.run(sqs_event(body), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (DEAD_LETTERED, reason)
    [copy] = queue.dead_letters
    assert copy.attribute(REASON_ATTRIBUTE) == reason
    assert copy.attribute(NOTIFICATION_ID_ATTRIBUTE) == notification_id_of(body)
    assert copy.attribute(SELLER_ID_ATTRIBUTE) == SELLER


def test_given_an_aws_error_a_retry_may_cure_when_run_then_the_record_returns(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = client_error("ProvisionedThroughputExceededException")

    result = runner.run(sqs_event(listing("SKU-1")), context)

    assert outcomes(result) == [(RETRY, "ClientError")]
    assert queue.dead_letters == [] and queue.deferred == []


# -- transient failures: back to the queue, the DLQ by redrive ------------------------------------


def test_given_a_transient_failure_before_the_last_receive_when_run_then_the_record_returns_to_be_retried(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext, log_lines: Any
) -> None:
    use_case.failures["SKU-1"] = RuntimeError("connection reset")

    result = runner.run(batch(sqs_record(listing("SKU-1"), message_id="m-1", receive_count=2)), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.receive_count, outcome.detail) == (RETRY, 2, "connection reset")
    [line] = [line for line in log_lines() if line.get("reason") == "RuntimeError"]
    assert line["outcome"] == "retry" and line["message_id"] == "m-1"


def test_given_a_transient_failure_on_the_last_receive_when_run_then_the_log_says_the_queue_dead_letters_it(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    context: LambdaContext,
    log_lines: Any,
) -> None:
    use_case.failures["SKU-1"] = RuntimeError("connection reset")

    result = runner.run(batch(sqs_record(listing("SKU-1"), receive_count=5)), context)

    # The record still returns: SQS's redrive moves it, the runner does not copy it too.
    assert outcomes(result) == [(RETRY, "RuntimeError")]
    assert queue.dead_letters == []
    [line] = [line for line in log_lines() if line.get("reason") == "RuntimeError"]
    assert line["outcome"] == "dead_lettered_by_queue"
    assert "dead-lettered by the queue" in line["message"]


# -- records that must wait: a delayed copy, the original done -------------------------------------


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (RateBudgetExhausted("getListingsItem", "bucket empty", wait_needed=40.9), 40),
        (NotReadyError("Amazon's answer lags the notification", wait_seconds=12.5), 12),
        (RateBudgetExhausted("getListingsItem", "bucket empty", wait_needed=5_000.0), 900),
    ],
)
def test_given_a_record_with_a_known_wait_when_run_then_a_copy_waits_that_long_floored_and_at_most_900_s(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    context: LambdaContext,
    error: Exception,
    delay: int,
) -> None:
    use_case.failures["SKU-1"] = error
    body = listing("SKU-1")

    result = runner.run(batch(sqs_record(body, message_id="m-1", sent_ms=SENT_MS)), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason, outcome.delay_seconds) == (DEFERRED, type(error).__name__, delay)
    [copy] = queue.deferred
    assert (copy.body, copy.delay_seconds) == (body, delay)
    assert copy.attribute(DEFERRALS_ATTRIBUTE) == "1"
    assert copy.attribute(FIRST_SENT_ATTRIBUTE) == str(SENT_MS)
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-1"
    assert result.response() == {"batchItemFailures": []}


@pytest.mark.parametrize(("deferrals", "low", "high"), [(0, 15, 30), (2, 60, 120), (8, 450, 900)])
def test_given_a_throttled_record_with_an_unknown_wait_when_run_then_its_delay_doubles_per_deferral_jittered(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    context: LambdaContext,
    deferrals: int,
    low: int,
    high: int,
) -> None:
    use_case.failures["SKU-1"] = SpApiThrottled("getListingsItem", "429", status=429)
    attributes = {DEFERRALS_ATTRIBUTE: ("Number", str(deferrals))} if deferrals else None

    result = runner.run(batch(sqs_record(listing("SKU-1"), attributes=attributes)), context)

    [outcome] = result.outcomes
    assert outcome.outcome == DEFERRED and low <= (outcome.delay_seconds or 0) <= high
    [copy] = queue.deferred
    assert copy.delay_seconds == outcome.delay_seconds
    assert copy.attribute(DEFERRALS_ATTRIBUTE) == str(deferrals + 1)


def test_given_a_policy_with_a_lower_maximum_when_a_long_wait_is_known_then_the_copy_waits_the_maximum(
    make_runner: Any, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = RateBudgetExhausted("getListingsItem", "bucket empty", wait_needed=600.0)
    runner = make_runner(use_case, ACCEPTS, policy=BatchPolicy(throttle_deferral_max_seconds=120))

    runner.run(sqs_event(listing("SKU-1")), context)

    assert [copy.delay_seconds for copy in queue.deferred] == [120]


def test_given_a_copy_deferred_before_when_deferred_again_then_it_keeps_the_first_sent_time_and_source(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = RateBudgetExhausted("getListingsItem", "bucket empty", wait_needed=60.0)
    first_sent = SENT_MS - 2 * HOUR * 1000
    copy_record = sqs_record(
        listing("SKU-1"),
        message_id="m-copy",
        sent_ms=SENT_MS - 60_000,  # when this copy was sent: not when the notification first was
        attributes={
            DEFERRALS_ATTRIBUTE: ("Number", "3"),
            FIRST_SENT_ATTRIBUTE: ("Number", str(first_sent)),
            SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-from-amazon"),
        },
    )

    runner.run(batch(copy_record), context)

    [copy] = queue.deferred
    assert copy.attribute(DEFERRALS_ATTRIBUTE) == "4"
    assert copy.attribute(FIRST_SENT_ATTRIBUTE) == str(first_sent)
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-from-amazon"


def test_given_a_continuation_that_must_wait_when_deferred_then_its_copy_continues_the_same_part(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SpApiThrottled("getListingsItem", "429", status=429)
    record = sqs_record(listing("SKU-1"), attributes={CONTINUATION_PART_ATTRIBUTE: ("Number", "2")})

    runner.run(batch(record), context)

    [copy] = queue.deferred
    assert copy.attribute(CONTINUATION_PART_ATTRIBUTE) == "2"


def test_given_a_record_whose_wait_would_outlive_the_queue_retention_when_throttled_then_it_fails_instead(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SpApiThrottled("getListingsItem", "429", status=429)
    nearly_expired = SENT_MS - (14 * DAY - HOUR) * 1000

    result = runner.run(
        batch(sqs_record(listing("SKU-1"), message_id="m-old", sent_ms=nearly_expired)), context
    )

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (RETRY, "SpApiThrottled")
    assert "older than the queue keeps" in (outcome.detail or "")
    assert queue.deferred == []
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "m-old"}]}


def test_given_the_queue_fails_while_a_record_is_deferred_when_run_then_it_returns_and_the_batch_goes_on(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SpApiThrottled("getListingsItem", "429", status=429)
    queue.failing = RuntimeError("SQS unavailable")
    event = batch(
        sqs_record(listing("SKU-1"), message_id="m-1"), sqs_record(listing("SKU-2"), message_id="m-2")
    )

    result = runner.run(event, context)

    assert outcomes(result) == [(RETRY, "RuntimeError"), (APPLIED, None)]
    assert use_case.applied == ["SKU-2"]
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


@pytest.mark.parametrize(
    "sqs_attributes",
    [{}, {"ApproximateReceiveCount": "unknown", "SentTimestamp": "unknown"}],
    ids=["none", "unreadable"],
)
def test_given_a_hand_made_record_without_sqs_attributes_when_handled_then_it_counts_from_now(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    clock: FakeClock,
    sqs_attributes: dict[str, str],
) -> None:
    use_case.failures["SKU-1"] = RateBudgetExhausted("getListingsItem", "bucket empty", wait_needed=5.0)
    use_case.failures["SKU-2"] = RuntimeError("connection reset")
    hand_made = [
        {"messageId": f"m-{sku}", "body": listing(sku), "attributes": sqs_attributes, "eventSourceARN": "arn"}
        for sku in ("SKU-1", "SKU-2")
    ]

    result = runner.run(batch(*hand_made), invocation(clock))

    assert outcomes(result) == [(DEFERRED, "RateBudgetExhausted"), (RETRY, "RuntimeError")]
    assert queue.deferred[0].attribute(FIRST_SENT_ATTRIBUTE) == str(int(clock() * 1000))
    assert result.outcomes[1].receive_count == 0


# -- one notification, applied once ---------------------------------------------------------------


def test_given_the_same_notification_twice_in_a_batch_when_run_then_applied_once_and_the_second_is_a_duplicate(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    body = listing("SKU-1")

    result = runner.run(sqs_event(body, body), context)

    assert outcomes(result) == [(APPLIED, None), (DUPLICATE, None)]
    assert use_case.applied == ["SKU-1"]
    assert result.outcomes[1].notification_id == notification_id_of(body)
    assert result.response() == {"batchItemFailures": []}


def test_given_a_notification_applied_in_an_earlier_batch_when_delivered_again_then_it_is_not_applied_again(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    body = listing("SKU-1")
    runner.run(sqs_event(body), context)

    result = runner.run(sqs_event(body), context)

    assert outcomes(result) == [(DUPLICATE, None)]
    assert use_case.applied == ["SKU-1"]


def test_given_a_notification_that_failed_when_delivered_again_then_it_is_applied_then(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    body = listing("SKU-1")
    use_case.failures["SKU-1"] = RuntimeError("connection reset")
    runner.run(sqs_event(body), context)
    del use_case.failures["SKU-1"]

    result = runner.run(sqs_event(body), context)

    assert outcomes(result) == [(APPLIED, None)]
    assert use_case.applied == ["SKU-1"]


def test_given_a_continuation_of_an_applied_notification_when_run_then_it_is_applied_not_a_duplicate(
    runner: BatchRunner, use_case: ListingUseCase, context: LambdaContext
) -> None:
    body = listing("SKU-1")
    continuation = sqs_record(body, attributes={CONTINUATION_PART_ATTRIBUTE: ("Number", "1")})

    result = runner.run(batch(sqs_record(body), continuation), context)

    assert outcomes(result) == [(APPLIED, None), (APPLIED, None)]
    assert use_case.applied == ["SKU-1", "SKU-1"]


class ConcurrentDelivery(ListingUseCase):
    """While applying a notification, another container receives the same notification (its copy):
    the other container's runner shares the idempotency records and the queue."""

    def __init__(self, other_container: Callable[[], BatchResult]) -> None:
        super().__init__()
        self._other_container = other_container
        self.other: BatchResult | None = None

    def apply(self, notification: Any, remaining_time: Callable[[], float]) -> dict[str, Any]:
        self.other = self._other_container()
        return super().apply(notification, remaining_time)


@pytest.mark.parametrize(("age_seconds", "expected"), [(0, DEFERRED), (14 * DAY - HOUR, RETRY)])
def test_given_a_notification_being_applied_elsewhere_when_its_copy_arrives_then_it_comes_back_a_second_later(
    queue: FakeMessageQueue, clock: FakeClock, age_seconds: int, expected: str
) -> None:
    persistence = FakePersistenceLayer()
    body = listing("SKU-1")
    copy_event = batch(sqs_record(body, message_id="m-copy", sent_ms=SENT_MS - age_seconds * 1000))

    def runner_of(use_case: ListingUseCase) -> BatchRunner:
        return BatchRunner(
            use_case, accepts=ACCEPTS, queue=queue, persistence=persistence, policy=BatchPolicy(), clock=clock
        )

    elsewhere = runner_of(ListingUseCase())
    holder = ConcurrentDelivery(lambda: elsewhere.run(copy_event, invocation(clock)))

    result = runner_of(holder).run(batch(sqs_record(body, message_id="m-1")), invocation(clock))

    assert outcomes(result) == [(APPLIED, None)]
    assert holder.other is not None
    [copy_outcome] = holder.other.outcomes
    assert (copy_outcome.outcome, copy_outcome.reason) == (expected, IN_PROGRESS_ELSEWHERE)
    if expected == DEFERRED:
        assert [(copy.body, copy.delay_seconds) for copy in queue.deferred] == [(body, 1)]
    else:  # too old to wait again: it returns, and finds the notification applied next time
        assert queue.deferred == []


# -- a seller's credentials refused: the record waits for the seller ------------------------------


@pytest.mark.parametrize(
    "error",
    [
        SellerCredentialsError(f"the secret of seller {SELLER!r} has no refresh_token"),
        LwaAuthError("lwaToken", "invalid_grant", status=400, code="invalid_grant"),
    ],
)
def test_given_a_seller_whose_credentials_are_refused_when_run_then_the_record_waits_deferred(
    runner: BatchRunner,
    use_case: ListingUseCase,
    queue: FakeMessageQueue,
    context: LambdaContext,
    error: Exception,
) -> None:
    use_case.failures["SKU-1"] = error

    result = runner.run(sqs_event(listing("SKU-1")), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason, outcome.seller_id) == (DEFERRED, "seller_credentials", SELLER)
    assert 15 <= (outcome.delay_seconds or 0) <= 30
    [copy] = queue.deferred
    assert copy.delay_seconds == outcome.delay_seconds and copy.attribute(DEFERRALS_ATTRIBUTE) == "1"
    assert queue.dead_letters == []


def test_given_a_record_that_waited_its_time_for_the_seller_when_refused_again_then_dead_lettered(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SellerCredentialsError("LWA refused the refresh token")
    waited = DAY - 10  # the next wait (15 s at least) would take it past a day
    record = sqs_record(
        listing("SKU-1"), attributes={FIRST_SENT_ATTRIBUTE: ("Number", str(SENT_MS - waited * 1000))}
    )

    result = runner.run(batch(record), context)

    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.reason) == (DEAD_LETTERED, "seller_credentials")
    assert queue.deferred == []
    [copy] = queue.dead_letters
    assert copy.attribute(REASON_ATTRIBUTE) == "seller_credentials"
    assert f"waited {waited} s" in (copy.attribute(DETAIL_ATTRIBUTE) or "")
    assert copy.attribute(SELLER_ID_ATTRIBUTE) == SELLER


def test_given_a_policy_without_waiting_for_credentials_when_refused_then_dead_lettered_at_once(
    make_runner: Any, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SellerCredentialsError("LWA refused the refresh token")
    runner = make_runner(use_case, ACCEPTS, policy=BatchPolicy(seller_credentials_wait_seconds=0))

    result = runner.run(sqs_event(listing("SKU-1")), context)

    assert outcomes(result) == [(DEAD_LETTERED, "seller_credentials")]
    assert len(queue.dead_letters) == 1


def test_given_the_queue_fails_while_a_record_waits_for_credentials_when_run_then_the_record_returns(
    runner: BatchRunner, use_case: ListingUseCase, queue: FakeMessageQueue, context: LambdaContext
) -> None:
    use_case.failures["SKU-1"] = SellerCredentialsError("LWA refused the refresh token")
    queue.failing = RuntimeError("SQS unavailable")

    result = runner.run(batch(sqs_record(listing("SKU-1"), message_id="m-1")), context)

    assert outcomes(result) == [(RETRY, "RuntimeError")]
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


# -- a use case that plans its batch ---------------------------------------------------------------


def test_given_a_batch_aware_use_case_when_run_then_it_plans_every_parsable_notification_once_then_ends(
    make_runner: Any, context: LambdaContext
) -> None:
    planner = PlanningUseCase()
    planner.failures["SKU-2"] = RuntimeError("connection reset")
    runner = make_runner(planner, ACCEPTS)

    result = runner.run(sqs_event(listing("SKU-1"), "{not json", listing("SKU-2"), listing("SKU-3")), context)

    assert planner.calls == [
        ("begin", "SKU-1", "SKU-2", "SKU-3"),
        ("apply", "SKU-1"),
        ("apply", "SKU-2"),
        ("apply", "SKU-3"),
        ("end",),
    ]
    assert outcomes(result) == [
        (APPLIED, None),
        (DEAD_LETTERED, "invalid_notification"),
        (RETRY, "RuntimeError"),
        (APPLIED, None),
    ]


def test_given_a_use_case_idempotent_itself_when_a_notification_comes_twice_then_both_apply_without_records(
    make_runner: Any, use_case: ListingUseCase, context: LambdaContext
) -> None:
    runner = make_runner(use_case, ACCEPTS, persistence=None)
    body = listing("SKU-1")

    result = runner.run(sqs_event(body, body), context)

    assert outcomes(result) == [(APPLIED, None), (APPLIED, None)]
    assert use_case.applied == ["SKU-1", "SKU-1"]


def test_given_a_planned_batch_when_run_then_each_body_is_parsed_once(
    make_runner: Any, context: LambdaContext
) -> None:
    bodies: list[str] = []

    def counting_parse(body: str, *, continuation_part: str | None = None) -> Any:
        bodies.append(body)
        return parse_delivery(body, continuation_part=continuation_part)

    runner = make_runner(PlanningUseCase(), ACCEPTS, parse=counting_parse)
    event = sqs_event(listing("SKU-1"), "{not json", listing("SKU-2"))

    runner.run(event, context)

    assert sorted(bodies) == sorted(record["body"] for record in event["Records"])


# -- messages of our own format (a parser of the consumer's own) ----------------------------------


def request_parser(body: str, *, continuation_part: str | None = None) -> Any:
    """Reads ``{"id": ..., "sku": ...}`` requests that carry no event time; anything else is poison."""
    document = json.loads(body)
    if "id" not in document:
        raise PoisonMessageError("not a request")
    request = SimpleNamespace(
        notification_id=document["id"],
        notification_type=next(iter(ACCEPTS)),
        seller_id=SELLER,
        event_time=None,
        payload=SimpleNamespace(sku=document["sku"]),
    )
    return SimpleNamespace(notification=request, idempotency_key=document["id"])


def test_given_a_message_without_an_event_time_when_applied_then_it_is_applied_once(
    make_runner: Any, use_case: ListingUseCase, context: LambdaContext
) -> None:
    runner = make_runner(use_case, ACCEPTS, parse=request_parser)
    body = json.dumps({"id": "request-1", "sku": "SKU-9"})

    result = runner.run(sqs_event(body, body), context)

    assert outcomes(result) == [(APPLIED, None), (DUPLICATE, None)]
    assert use_case.applied == ["SKU-9"]


def test_given_queue_settings_then_the_policy_is_theirs() -> None:
    settings = QueueSettings.of(
        idempotency_table_name="idempotency",
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
        dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q-dlq",
        max_receive_count=3,
        queue_retention_seconds=4 * DAY,
        throttle_deferral_base_seconds=10,
        throttle_deferral_max_seconds=300,
        seller_credentials_wait_seconds=HOUR,
    )

    assert BatchPolicy.of(settings) == BatchPolicy(
        max_receive_count=3,
        queue_retention_seconds=4 * DAY,
        throttle_deferral_base_seconds=10,
        throttle_deferral_max_seconds=300,
        seller_credentials_wait_seconds=HOUR,
    )


# -- parsing once per batch ------------------------------------------------------------------------


class CountingParser:
    """Parses ``{"id": ...}`` bodies, counting each call; any other body is poison."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, body: str, *, continuation_part: str | None = None) -> Any:
        self.calls += 1
        if not body.startswith('{"id"'):
            raise PoisonMessageError(f"unreadable body ({len(body)} bytes)")
        return SimpleNamespace(notification=body, idempotency_key=body)


def test_given_a_body_parsed_before_in_the_batch_when_parsed_again_then_the_first_reading_is_reused() -> None:
    parser = CountingParser()
    parse = parsed_once(parser)

    first = parse('{"id": 1}')
    again = parse('{"id": 1}')
    part = parse('{"id": 1}', continuation_part="2")

    assert again is first and part is not first
    assert parser.calls == 2  # the continuation part is part of what was read


def test_given_a_poison_body_when_parsed_again_in_the_batch_then_it_raises_again_without_a_second_parse() -> (
    None
):
    parser = CountingParser()
    parse = parsed_once(parser)

    for _ in range(2):
        with pytest.raises(PoisonMessageError, match="unreadable body"):
            parse("not json")

    assert parser.calls == 1
