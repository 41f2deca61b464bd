"""SellerStream's bus (EventBridge), the publisher's DLQ (SQS), the order's PII item (DynamoDB), and
DynamoDB stream records as the use case's stored changes."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sellerstream import aws, catalog
from sellerstream.adapters.dynamo import from_attribute_map
from sellerstream.domain.events import OutgoingEvent, StoredChange

PII_ITEM_BOOKKEEPING = frozenset({"pk", "sk", "expires_at", "last_updated", "seller_id", "order_id"})


class EventBridgeBus:
    def __init__(self, bus_name: str) -> None:
        self._bus_name = bus_name

    def put(self, events: Sequence[OutgoingEvent]) -> list[str | None]:
        entries = [entry(event, self._bus_name) for event in events]
        response = aws.client("events").put_events(Entries=entries)
        results = response.get("Entries", [])
        if len(results) != len(entries):  # EventBridge answers one result per entry, in order
            return ["InternalFailure"] * len(entries)
        return [result.get("ErrorCode") if "EventId" not in result else None for result in results]


def entry(event: OutgoingEvent, bus_name: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "EventBusName": bus_name,
        "Source": catalog.EVENT_SOURCE,
        "DetailType": event.detail_type,
        "Detail": event.detail_json(),
    }
    if event.stored_at is not None:
        request["Time"] = datetime.fromtimestamp(event.stored_at, UTC)
    return request


class SqsEventDeadLetters:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    def dead_letter(self, event: OutgoingEvent, reason: str) -> None:
        body = {
            "source": catalog.EVENT_SOURCE,
            "detail-type": event.detail_type,
            "detail": event.detail,
        }
        aws.client("sqs").send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(body, separators=(",", ":"), default=str),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason},
                "event_id": {"DataType": "String", "StringValue": event.event_id},
            },
        )


class DynamoDBOrderPii:
    def __init__(self, orders_table_name: str) -> None:
        self._table_name = orders_table_name

    def pii_of(self, seller_id: str, order_id: str) -> dict[str, Any] | None:
        response = aws.client("dynamodb").get_item(
            TableName=self._table_name,
            Key={"pk": {"S": f"SELLER#{seller_id}"}, "sk": {"S": f"PII#ORDER#{order_id}"}},
        )
        item = response.get("Item")
        if not item:
            return None
        return {
            name: value
            for name, value in from_attribute_map(item).items()
            if name not in PII_ITEM_BOOKKEEPING
        }


def stored_changes(event: Mapping[str, Any], roles_by_table_name: Mapping[str, str]) -> list[StoredChange]:
    """A DynamoDB stream batch (as Lambda delivers it) as stored changes, in stream order. A record of
    a table the publisher does not know is an error: a wiring mistake, not a change to skip."""
    changes: list[StoredChange] = []
    for record in event.get("Records", []):
        table_name = table_name_of(str(record.get("eventSourceARN", "")))
        role = roles_by_table_name.get(table_name)
        if role is None:
            raise ValueError(f"stream record of table {table_name!r}, which the publisher does not read")
        stream = record.get("dynamodb", {})
        old, new = stream.get("OldImage"), stream.get("NewImage")
        created = stream.get("ApproximateCreationDateTime")
        changes.append(
            StoredChange(
                table=role,
                sequence=str(stream.get("SequenceNumber", "")),
                old=from_attribute_map(_binary_decoded(old)) if old else None,
                new=from_attribute_map(_binary_decoded(new)) if new else None,
                stored_at=float(created) if created is not None else None,
            )
        )
    return changes


def _binary_decoded(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda's JSON carries binary attribute values as base64 text; the deserializer wants bytes."""
    return {name: _decoded_value(value) for name, value in image.items()}


def _decoded_value(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        return value
    [(kind, inner)] = value.items()
    if kind == "B" and isinstance(inner, str):
        return {"B": base64.b64decode(inner)}
    if kind == "BS" and isinstance(inner, list):
        return {"BS": [base64.b64decode(item) if isinstance(item, str) else item for item in inner]}
    if kind == "M" and isinstance(inner, dict):
        return {"M": _binary_decoded(inner)}
    if kind == "L" and isinstance(inner, list):
        return {"L": [_decoded_value(item) for item in inner]}
    return value


def table_name_of(stream_arn: str) -> str:
    """arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label> -> <name>"""
    resource = stream_arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "table" else ""
