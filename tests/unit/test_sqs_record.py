"""Our SQS record reads an event's record exactly as Powertools' SQSRecord does."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord as PowertoolsRecord

from sellerstream.sqs_record import SQSRecord

RECORD: dict[str, Any] = {
    "messageId": "m-1",
    "receiptHandle": "r",
    "body": '{"a": 1}',
    "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1790000000000"},
    "messageAttributes": {
        "sellerstream-continuation-part": {"stringValue": "2", "dataType": "Number"},
    },
    "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
    "awsRegion": "us-east-1",
}


@pytest.mark.parametrize("name", ["sellerstream-continuation-part", "absent"])
def test_given_an_sqs_record_when_read_then_the_same_answers_as_powertools(name: str) -> None:
    ours, theirs = SQSRecord(RECORD), PowertoolsRecord(RECORD)

    assert (ours.message_id, ours.body, ours.event_source_arn) == (
        theirs.message_id,
        theirs.body,
        theirs.event_source_arn,
    )
    assert ours.attributes.approximate_receive_count == theirs.attributes.approximate_receive_count
    assert ours.attributes.sent_timestamp == theirs.attributes.sent_timestamp
    ours_attribute, theirs_attribute = ours.message_attributes[name], theirs.message_attributes[name]
    if theirs_attribute is None:
        assert ours_attribute is None
    else:
        assert ours_attribute is not None
        assert (ours_attribute.string_value, ours_attribute.data_type) == (
            theirs_attribute.string_value,
            theirs_attribute.data_type,
        )


def test_given_a_hand_made_record_without_system_attributes_when_read_then_none_not_an_error() -> None:
    record = SQSRecord({"messageId": "m-2", "body": "{}"})

    assert record.attributes.approximate_receive_count is None
    assert record.attributes.sent_timestamp is None
    assert record.message_attributes["anything"] is None
