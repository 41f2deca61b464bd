"""DynamoDB value conversion shared by the stores."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sellerstream import aws

BATCH_GET_LIMIT: Final = 100  # DynamoDB's BatchGetItem maximum
# Keys DynamoDB left unprocessed (throttling) are asked again this many times; then they count as absent.
_UNPROCESSED_ROUNDS: Final = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attribute_map(item: dict[str, Any]) -> dict[str, Any]:
    """A plain JSON-like dict as DynamoDB attribute values (floats become Decimals, Nones are dropped)."""
    clean = json.loads(json.dumps(item, default=str), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in clean.items() if value is not None}


def from_attribute_map(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


NEWER_ONLY = "attribute_not_exists(pk) OR last_updated < :last_updated"


def set_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """UpdateItem's ``UpdateExpression``, ``ExpressionAttributeNames`` and
    ``ExpressionAttributeValues`` that set each of ``values`` (a None is left as stored), for a
    caller to merge its condition's names and values into. Any attribute name is safe: each goes
    through a placeholder."""
    present = {name: value for name, value in values.items() if value is not None}
    return {
        "UpdateExpression": "SET " + ", ".join(f"#s{index} = :s{index}" for index in range(len(present))),
        "ExpressionAttributeNames": {f"#s{index}": name for index, name in enumerate(present)},
        "ExpressionAttributeValues": to_attribute_map(
            {f":s{index}": value for index, value in enumerate(present.values())}
        ),
    }


def newer_only_put(table_name: str, item: dict[str, Any], last_updated: str) -> dict[str, Any]:
    """A transactional Put that succeeds only over an older version of the item (or none)."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": to_attribute_map(item),
            "ConditionExpression": NEWER_ONLY,
            "ExpressionAttributeValues": {":last_updated": {"S": last_updated}},
        }
    }


def is_condition_failure(error: ClientError) -> bool:
    """True when a write (or every failing part of a transaction) failed only on its condition."""
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
    if not reasons:
        # Some DynamoDB implementations only say so in the message.
        return "ConditionalCheckFailed" in str(error)
    return "ConditionalCheckFailed" in reasons and all(
        code in ("ConditionalCheckFailed", "None") for code in reasons
    )


def batch_get(table_name: str, keys: Sequence[dict[str, Any]], projection: str) -> Iterator[dict[str, Any]]:
    """The items of ``keys`` that exist (``projection`` of each), 100 keys a request, unprocessed keys
    asked again; eventually consistent."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table_name: {
                "Keys": list(keys[start : start + BATCH_GET_LIMIT]),
                "ProjectionExpression": projection,
            }
        }
        for _ in range(_UNPROCESSED_ROUNDS):
            response = aws.client("dynamodb").batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(table_name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
