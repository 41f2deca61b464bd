"""DynamoDB value conversion shared by the stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attribute_map(item: dict[str, Any]) -> dict[str, Any]:
    """A plain JSON-like dict as DynamoDB attribute values (floats become Decimals, Nones are dropped)."""
    clean = json.loads(json.dumps(item, default=str), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in clean.items() if value is not None}


def from_attribute_map(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def sortable_timestamp(moment: datetime) -> str:
    """UTC ISO-8601 with fixed width, so string comparison in a condition expression orders time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
