"""The partial-failure loop: every record handled once, failures reported to SQS by message id."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sellerstream.errors import PoisonMessageError
from sellerstream.logic.batch import handle_records, parsed_once
from sellerstream.sqs_record import SQSRecord


def raw_record(message_id: str, body: str = "{}") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1790000000000"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
        "awsRegion": "us-east-1",
    }


class RecordingHandler:
    """Records every message id it sees; raises for the ids it is told to fail."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.seen: list[str] = []

    def __call__(self, record: SQSRecord) -> dict[str, Any]:
        self.seen.append(record.message_id)
        if record.message_id in self.failing:
            raise RuntimeError(f"cannot handle {record.message_id}")
        return {"outcome": "applied"}


def test_given_a_batch_when_every_record_succeeds_then_each_is_handled_once_in_order_and_none_reported() -> (
    None
):
    handler = RecordingHandler()

    response = handle_records([raw_record("m-1"), raw_record("m-2"), raw_record("m-3")], handler)

    assert handler.seen == ["m-1", "m-2", "m-3"]
    assert response == {"batchItemFailures": []}


def test_given_a_record_that_raises_when_the_batch_is_handled_then_only_it_is_reported_by_message_id() -> (
    None
):
    handler = RecordingHandler(failing={"m-2"})

    response = handle_records([raw_record("m-1"), raw_record("m-2"), raw_record("m-3")], handler)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


def test_given_a_record_that_raises_when_the_batch_is_handled_then_the_records_after_it_are_still_handled() -> (
    None
):
    handler = RecordingHandler(failing={"m-1"})

    handle_records([raw_record("m-1"), raw_record("m-2"), raw_record("m-3")], handler)

    assert handler.seen == ["m-1", "m-2", "m-3"]


def test_given_every_record_raises_when_the_batch_is_handled_then_every_record_is_reported_once() -> None:
    handler = RecordingHandler(failing={"m-1", "m-2", "m-3"})

    response = handle_records([raw_record("m-1"), raw_record("m-2"), raw_record("m-3")], handler)

    assert response == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]
    }
    assert handler.seen == ["m-1", "m-2", "m-3"]


def test_given_an_empty_batch_when_it_is_handled_then_nothing_is_called_and_nothing_is_reported() -> None:
    handler = RecordingHandler()

    response = handle_records([], handler)

    assert handler.seen == []
    assert response == {"batchItemFailures": []}


def test_given_a_record_when_it_is_handled_then_the_handler_reads_it_as_an_sqs_record() -> None:
    bodies: list[str] = []

    handle_records([raw_record("m-1", body='{"a": 1}')], lambda record: bodies.append(record.body))

    assert bodies == ['{"a": 1}']


class CountingParser:
    """Parses ``{"id": ...}`` bodies, counting each call; any other body is poison."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, body: str, *, continuation_part: str | None = None) -> Any:
        self.calls += 1
        if not body.startswith('{"id"'):
            raise PoisonMessageError(f"unreadable body ({len(body)} bytes)")
        return SimpleNamespace(notification=body, idempotency_key=body)


def test_given_a_planned_batch_when_its_records_are_handled_then_each_body_is_parsed_once() -> None:
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
