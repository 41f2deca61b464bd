"""Which failures go to the dead-letter queue at once, and what their copies carry (moto SQS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sellerstream import aws
from sellerstream.errors import InvalidNotificationError, PoisonMessageError
from sellerstream.logic.dead_letter import (
    DETAIL_ATTRIBUTE,
    REASON_ATTRIBUTE,
    RECEIVE_COUNT_ATTRIBUTE,
    SELLER_ID_ATTRIBUTE,
    permanent_failure,
    send_to_dead_letter_queue,
    short_detail,
)
from sellerstream.logic.deferral import DEFERRALS_ATTRIBUTE, defer
from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    LwaAuthError,
    MalformedResponse,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.sqs_record import SQSRecord


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InvalidNotificationError("bad"), "invalid_notification"),
        (LwaAuthError("lwaToken", "invalid_grant", status=400, code="invalid_grant"), "seller_credentials"),
        (SpApiNotFound("getReport", "not found", status=404), "spapi_not_found"),
        (SpApiAccessDenied("getOrder", "denied", status=403), "spapi_access_denied"),
        (SpApiClientError("getOrder", "InvalidInput", status=400), "spapi_client_error"),
        (client_error("ValidationException"), "aws_validation"),
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
        DocumentUrlExpired("reportDocumentDownload", "expired", status=403),
        client_error("ProvisionedThroughputExceededException"),
        client_error("AccessDeniedException"),
        RuntimeError("deployment error"),
        RecursionError(),
    ],
)
def test_given_failures_a_retry_may_cure_then_not_permanent(error: Exception) -> None:
    assert permanent_failure(error) is None


def test_given_a_detail_with_control_characters_and_length_then_one_bounded_printable_line() -> None:
    detail = short_detail("line one\nline two\u202e" + "x" * 2_000)

    assert detail.startswith("line one line two ") and len(detail) == 500
    assert detail.isprintable() and detail.isascii()


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        aws.reset_clients()
        yield boto3.client("sqs", region_name="us-east-1")
    aws.reset_clients()


def record(queue_arn: str, attributes: dict[str, tuple[str, str]]) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-original",
            "receiptHandle": "r",
            "body": '{"any": "body"}',
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {
                name: {"stringValue": value, "dataType": data_type}
                for name, (data_type, value) in attributes.items()
            },
            "eventSourceARN": queue_arn,
        }
    )


def received(sqs: Any, url: str) -> dict[str, Any]:
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=0, VisibilityTimeout=0
    )["Messages"]
    return message


def test_given_a_poison_continuation_when_dead_lettered_then_copy_keeps_body_part_and_says_why(
    sqs: Any,
) -> None:
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    failure: PoisonMessageError = InvalidNotificationError(
        "bad\nthing", notification_id="n-1", notification_type="ORDER_CHANGE", seller_id=None
    )

    copy_id = send_to_dead_letter_queue(
        record("arn:aws:sqs:us-east-1:123456789012:q", {CONTINUATION_PART_ATTRIBUTE: ("Number", "3")}),
        failure,
        dlq_url,
        receive_count=2,
    )

    message = received(sqs, dlq_url)
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert message["MessageId"] == copy_id and message["Body"] == '{"any": "body"}'
    assert attributes[REASON_ATTRIBUTE] == "invalid_notification"
    assert attributes[DETAIL_ATTRIBUTE] == "bad thing"
    assert attributes[SOURCE_MESSAGE_ID_ATTRIBUTE] == "m-original"
    assert attributes[CONTINUATION_PART_ATTRIBUTE] == "3"
    assert attributes[RECEIVE_COUNT_ATTRIBUTE] == "2"
    assert SELLER_ID_ATTRIBUTE not in attributes  # unknown: left out rather than sent empty


def test_given_a_throttled_continuation_when_deferred_then_copy_keeps_part_and_source(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="reports")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    defer(
        record(
            arn,
            {CONTINUATION_PART_ATTRIBUTE: ("Number", "2"), SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-0")},
        ),
        0,
        now=time.time(),
    )

    messages = []
    for _ in range(30):  # the copy is delayed by a second at least
        messages = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get(
            "Messages", []
        )
        if messages:
            break
    [message] = messages
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes[CONTINUATION_PART_ATTRIBUTE] == "2"
    assert attributes[SOURCE_MESSAGE_ID_ATTRIBUTE] == "m-0"
    assert attributes[DEFERRALS_ATTRIBUTE] == "1"
