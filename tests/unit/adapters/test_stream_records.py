"""DynamoDB stream records, as Lambda delivers them (JSON), as the publisher's stored changes."""

from __future__ import annotations

import pytest

from sellerstream.adapters.events import stored_changes, table_name_of

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/sellerstream-orders/stream/2026-12-01T00:00:00.000"


def lambda_batch(new_image: dict, old_image: dict | None = None, table_arn: str = STREAM) -> dict:
    stream: dict = {
        "SequenceNumber": "4421584500000000017450439091",
        "ApproximateCreationDateTime": 1796000000,
        "Keys": {"pk": new_image["pk"], "sk": new_image["sk"]},
        "NewImage": new_image,
    }
    if old_image is not None:
        stream["OldImage"] = old_image
    return {
        "Records": [
            {
                "eventName": "MODIFY" if old_image else "INSERT",
                "eventSourceARN": table_arn,
                "dynamodb": stream,
            }
        ]
    }


def test_given_a_lambda_stream_batch_when_read_then_images_as_plain_values_and_the_table_by_role() -> None:
    image = {
        "pk": {"S": "SELLER#A1"},
        "sk": {"S": "ORDER#1"},
        "item_count": {"N": "3"},
        "blob": {"B": "AAE="},  # Lambda's JSON: binary as base64
        "nested": {"M": {"parts": {"L": [{"B": "AQI="}, {"BS": ["AwQ="]}]}}},
    }

    [change] = stored_changes(lambda_batch(image, image), {"sellerstream-orders": "orders"})

    assert change.table == "orders" and change.sequence == "4421584500000000017450439091"
    assert change.new is not None and change.old is not None
    assert change.new["item_count"] == 3 and bytes(change.new["blob"]) == b"\x00\x01"
    parts = change.new["nested"]["parts"]
    assert bytes(parts[0]) == b"\x01\x02" and {bytes(value) for value in parts[1]} == {b"\x03\x04"}
    assert change.stored_at == 1796000000.0


def test_given_a_record_of_a_table_the_publisher_does_not_read_when_read_then_refused() -> None:
    image = {"pk": {"S": "x"}, "sk": {"S": "ORDER#1"}}

    with pytest.raises(ValueError, match="sellerstream-other"):
        stored_changes(
            lambda_batch(image, table_arn=STREAM.replace("orders", "other")),
            {"sellerstream-orders": "orders"},
        )


def test_given_stream_arns_when_parsed_then_the_table_name() -> None:
    assert table_name_of(STREAM) == "sellerstream-orders"
    assert table_name_of("arn:aws:sqs:us-east-1:1:queue") == ""
