"""Which failures go to the dead-letter queue at once, and what their copies carry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sellerstream.errors import (
    InvalidNotificationError,
    PermanentFailureError,
    PoisonMessageError,
    SellerCredentialsError,
    UnknownNotificationTypeError,
    UnknownSellerError,
)
from sellerstream.logic.dead_letter import (
    DETAIL_ATTRIBUTE,
    NOTIFICATION_ID_ATTRIBUTE,
    NOTIFICATION_TYPE_ATTRIBUTE,
    REASON_ATTRIBUTE,
    RECEIVE_COUNT_ATTRIBUTE,
    SELLER_ID_ATTRIBUTE,
    aws_error_code,
    permanent_failure,
    send_to_dead_letter_queue,
    short_detail,
)
from sellerstream.logic.deferral import DEFERRALS_ATTRIBUTE
from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    LwaAuthError,
    MalformedResponse,
    RateBudgetExhausted,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.sqs_record import SQSRecord
from tests.support.fakes import FakeMessageQueue


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


class SdkLikeError(Exception):
    """An AWS SDK error as the adapters raise it: the code in ``response``, the call named."""

    def __init__(self, response: Any, operation_name: str | None = None) -> None:
        super().__init__("refused")
        self.response = response
        if operation_name:
            self.operation_name = operation_name


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InvalidNotificationError("bad"), "invalid_notification"),
        (UnknownNotificationTypeError("FOO is not handled"), "unknown_notification_type"),
        (UnknownSellerError("no such seller"), "unknown_seller"),
        (SellerCredentialsError("no refresh_token"), "seller_credentials"),
        (LwaAuthError("lwaToken", "invalid_grant", status=400, code="invalid_grant"), "seller_credentials"),
        (SpApiNotFound("getReport", "not found", status=404), "spapi_not_found"),
        (SpApiAccessDenied("getOrder", "denied", status=403), "spapi_access_denied"),
        (SpApiClientError("getOrder", "InvalidInput", status=400), "spapi_client_error"),
        (client_error("ValidationException"), "aws_validation"),
        (SdkLikeError({"Error": {"Code": "ValidationException"}}), "aws_validation"),
    ],
)
def test_given_failures_no_retry_can_cure_then_permanent_with_a_reason(error: Exception, reason: str) -> None:
    failure = permanent_failure(error)

    assert failure is not None and failure.reason == reason


@pytest.mark.parametrize(
    "error",
    [
        SpApiThrottled("getOrder", "429", status=429),
        SpApiServerError("getOrder", "503", status=503),
        SpApiTimeout("getOrder", "timed out"),
        MalformedResponse("getOrder", "not JSON"),
        RateBudgetExhausted("getOrder", "bucket empty", wait_needed=3.0),
        DocumentUrlExpired("reportDocumentDownload", "expired", status=403),
        client_error("ProvisionedThroughputExceededException"),
        client_error("AccessDeniedException"),
        SdkLikeError(None),
        SdkLikeError({"Error": "ValidationException"}),
        SdkLikeError({"Error": {"Code": ""}}),
        RuntimeError("deployment error"),
        RecursionError(),
    ],
)
def test_given_failures_a_retry_may_cure_then_not_permanent(error: Exception) -> None:
    assert permanent_failure(error) is None


def test_given_an_aws_validation_error_then_its_detail_names_the_call_and_never_the_message() -> None:
    failure = permanent_failure(
        ClientError({"Error": {"Code": "ValidationException", "Message": "buyer@example.com"}}, "PutItem")
    )

    assert failure is not None and failure.detail == "PutItem: ValidationException"


def test_given_an_sdk_error_without_an_operation_then_its_detail_says_an_aws_call() -> None:
    failure = permanent_failure(SdkLikeError({"Error": {"Code": "ValidationException"}}))

    assert failure is not None and failure.detail == "AWS call: ValidationException"


def test_given_errors_of_any_shape_then_the_aws_code_is_read_only_from_an_sdk_response() -> None:
    assert aws_error_code(client_error("ThrottlingException")) == "ThrottlingException"
    assert aws_error_code(RuntimeError("ValidationException")) is None
    assert aws_error_code(SdkLikeError(["Error"])) is None


def test_given_a_detail_with_control_characters_and_length_then_one_bounded_printable_line() -> None:
    detail = short_detail("line one\nline two\u202e" + "x" * 2_000)

    assert detail.startswith("line one line two ") and len(detail) == 500
    assert detail.isprintable() and detail.isascii()


def test_given_an_empty_or_unprintable_detail_then_a_dash_stands_for_it() -> None:
    assert short_detail("") == "-"
    assert short_detail("\n\t\u202e") == "-"


def record(attributes: dict[str, tuple[str, str]] | None = None) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-original",
            "receiptHandle": "r",
            "body": '{"any": "body"}',
            "attributes": {"ApproximateReceiveCount": "2"},
            "messageAttributes": {
                name: {"stringValue": value, "dataType": data_type}
                for name, (data_type, value) in (attributes or {}).items()
            },
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:reports",
        }
    )


def test_given_a_poison_continuation_when_dead_lettered_then_the_copy_keeps_body_and_part_and_says_why() -> (
    None
):
    queue = FakeMessageQueue()
    failure: PoisonMessageError = InvalidNotificationError(
        "bad\nthing", notification_id="n-1", notification_type="REPORT_PROCESSING_FINISHED", seller_id=None
    )

    copy_id = send_to_dead_letter_queue(
        queue, record({CONTINUATION_PART_ATTRIBUTE: ("Number", "3")}), failure, receive_count=2
    )

    [copy] = queue.dead_letters
    assert copy_id and copy.body == '{"any": "body"}'
    assert copy.attribute(REASON_ATTRIBUTE) == "invalid_notification"
    assert copy.attribute(DETAIL_ATTRIBUTE) == "bad thing"
    assert copy.attribute(NOTIFICATION_ID_ATTRIBUTE) == "n-1"
    assert copy.attribute(NOTIFICATION_TYPE_ATTRIBUTE) == "REPORT_PROCESSING_FINISHED"
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-original"
    assert copy.attribute(CONTINUATION_PART_ATTRIBUTE) == "3"
    assert copy.attribute(RECEIVE_COUNT_ATTRIBUTE) == "2"
    assert copy.attributes[RECEIVE_COUNT_ATTRIBUTE]["DataType"] == "Number"
    assert SELLER_ID_ATTRIBUTE not in copy.attributes  # unknown: left out rather than sent empty
    assert queue.deferred == [] and queue.continued == []


def test_given_a_deferred_copy_when_dead_lettered_then_its_copy_names_the_first_message_not_the_deferrals() -> (
    None
):
    queue = FakeMessageQueue()
    deferred_copy = record(
        {SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-from-amazon"), DEFERRALS_ATTRIBUTE: ("Number", "4")}
    )

    send_to_dead_letter_queue(
        queue, deferred_copy, PermanentFailureError("spapi_not_found", "getReport: 404"), receive_count=1
    )

    [copy] = queue.dead_letters
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-from-amazon"
    assert copy.attribute(REASON_ATTRIBUTE) == "spapi_not_found"
    assert DEFERRALS_ATTRIBUTE not in copy.attributes


def test_given_the_dead_letter_queue_fails_when_a_copy_is_sent_then_the_error_reaches_the_caller() -> None:
    queue = FakeMessageQueue()
    queue.failing = RuntimeError("SQS unavailable")

    with pytest.raises(RuntimeError, match="SQS unavailable"):
        send_to_dead_letter_queue(queue, record(), InvalidNotificationError("bad"), receive_count=1)

    assert queue.dead_letters == []
