"""Local mode's event source mapping for the change streams: its filter and Lambda's record shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sellerstream import catalog
from sellerstream_local.streams import lambda_record, passes

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/sellerstream-orders/stream/2026-03-02T09:30:00.000"


def record(event_name: str, sort_key: str, **image: Any) -> dict[str, Any]:
    keys = {"pk": {"S": "SELLER#A1"}, "sk": {"S": sort_key}}
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 3, 2, 9, 30, 1, 250000, tzinfo=UTC),
            "Keys": keys,
            "NewImage": {**keys, **image},
            "SequenceNumber": "1100000000017454423009",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_given_the_orders_table_when_filtered_then_its_events_items_written_only() -> None:
    patterns = catalog.stream_filters(catalog.ORDERS_TABLE)

    assert patterns == [
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "ORDER#"}, {"prefix": "PACKAGE#"}]}}},
        }
    ]
    assert passes(record("INSERT", "ORDER#1"), patterns)
    assert passes(record("MODIFY", "PACKAGE#1#2"), patterns)
    assert not passes(record("INSERT", "PII#ORDER#1"), patterns)  # buyer data: no entity of its own
    assert not passes(record("REMOVE", "ORDER#1"), patterns)  # TTL or a delete: no change to announce


def test_given_a_record_from_get_records_when_shaped_then_as_lambda_delivers_it() -> None:
    shaped = lambda_record(record("INSERT", "ORDER#1", blob={"B": b"\x00\x01"}), STREAM)

    assert shaped["eventSourceARN"] == STREAM
    assert shaped["dynamodb"]["ApproximateCreationDateTime"] == 1772443801.25  # epoch seconds
    assert shaped["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}  # binary as base64, as in Lambda's JSON
