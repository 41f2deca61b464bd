"""The feeds table: a seller's feeds are one query; each feed's per-message results lie beside it.

Keys (ids have Amazon's shapes, which hold no ``#``):

- the feed's head: ``pk = SELLER#<seller or vendor account>``, ``sk = FEED#<feed id>``: getFeed's
  answer, the processing report's header and summary, its outcome and when it was recorded;
- its results: ``sk = RESULTS#<feed id>#<results version>#<chunk, 5 digits>``, each item a list
  of up to ``CHUNK_BYTES`` of results (``results``), in the report's order.

The results are split into items of this table rather than kept in S3: they are small (a code and
a sentence per message, cut to ``MAX_TEXT_CHARS`` when parsed), so even a report of 10,000 errors is
a handful of items; they share the head's TTL, its grants and its point-in-time recovery; a reader
gets head and results with one Query on ``pk`` and the feed's prefixes; and nothing outlives its
head in a bucket. An item holds at most 400 KB, so a chunk holds at most 256 KB of results as JSON
(DynamoDB's encoding of the same map is no larger), and a whole report is any number of chunks.

Writing: the results go first, under a version of their own (random), then the head, conditional
on its outcome (``put_if_newer``). A refused head leaves its chunks unreferenced: they are deleted
(and would expire by TTL otherwise); a head that replaced an older outcome has the older chunks
deleted. A reader follows the head's ``results_version``, so it never sees a set half written or
another outcome's. Only the head's sort key starts with ``FEED#`` (the change stream's prefix for
"Feed Processed"): result chunks are no event.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Final

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map, is_condition_failure, to_attribute_map
from sellerstream.domain.feeds import FeedOutcome, FeedRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.timestamps import parse_sortable, sortable_timestamp

CHUNK_BYTES: Final = 256 * 1024
# The head's condition: a new record, or another outcome from a notification at least as new.
NEWER_OUTCOME: Final = "attribute_not_exists(pk) OR (#event_time <= :event_time AND #outcome <> :outcome)"


def feed_key(seller_key: str, feed_id: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_key}", "sk": f"FEED#{feed_id}"}


def results_prefix(feed_id: str, version: str) -> str:
    return f"RESULTS#{feed_id}#{version}#"


def result_chunks(
    results: tuple[dict[str, Any], ...], budget: int = CHUNK_BYTES
) -> list[list[dict[str, Any]]]:
    """The results in order, in lists of at most ``budget`` bytes of JSON each (one result larger
    than that is a chunk of its own)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for result in results:
        length = len(json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str).encode()) + 1
        if current and size + length > budget:
            chunks.append(current)
            current, size = [], 0
        current.append(result)
        size += length
    if current:
        chunks.append(current)
    return chunks


def feed_item(record: FeedRecord, version: str, chunks: int) -> dict[str, Any]:
    return {
        **record.attributes,
        **feed_key(record.seller_key, record.feed_id),
        "seller_key": record.seller_key,
        "feed_id": record.feed_id,
        "processing_status": record.processing_status,
        "report_status": record.report_status,
        "outcome": record.outcome,
        "event_time": sortable_timestamp(record.event_time),
        "result_count": len(record.results),
        "results_version": version,
        "results_chunks": chunks,
        "expires_at": record.expires_at,
    }


class DynamoDBFeedStore:
    def __init__(self, table_name: str, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._table_name = table_name
        self._chunk_bytes = chunk_bytes

    def outcome_of(self, seller_key: str, feed_id: str) -> FeedOutcome | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self._table_name,
                Key=to_attribute_map(feed_key(seller_key, feed_id)),
                ConsistentRead=True,
                ProjectionExpression="#time, #status, #report",
                ExpressionAttributeNames={
                    "#time": "event_time",
                    "#status": "processing_status",
                    "#report": "report_status",
                },
            )
            .get("Item")
        )
        if not item:
            return None
        head = from_attribute_map(item)
        return FeedOutcome(
            parse_sortable(str(head["event_time"])),
            str(head["processing_status"]),
            str(head["report_status"]),
        )

    def put_if_newer(self, record: FeedRecord) -> WriteOutcome:
        version = secrets.token_hex(8)
        chunks = result_chunks(record.results, self._chunk_bytes)
        prefix = results_prefix(record.feed_id, version)
        client = aws.client("dynamodb")
        for index, chunk in enumerate(chunks):
            client.put_item(
                TableName=self._table_name, Item=to_attribute_map(self._chunk(record, prefix, index, chunk))
            )
        try:
            answer = client.put_item(
                TableName=self._table_name,
                Item=to_attribute_map(feed_item(record, version, len(chunks))),
                ConditionExpression=NEWER_OUTCOME,
                ExpressionAttributeNames={"#event_time": "event_time", "#outcome": "outcome"},
                ExpressionAttributeValues={
                    ":event_time": {"S": sortable_timestamp(record.event_time)},
                    ":outcome": {"S": record.outcome},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            self._forget(record.seller_key, prefix, len(chunks))
            return WriteOutcome.STALE
        old = from_attribute_map(answer.get("Attributes") or {})
        if old.get("results_version") and old["results_version"] != version:
            self._forget(
                record.seller_key,
                results_prefix(record.feed_id, str(old["results_version"])),
                int(old.get("results_chunks") or 0),
            )
        return WriteOutcome.WRITTEN

    def read(self, seller_key: str, feed_id: str) -> FeedRecord | None:
        """The feed's record as stored, with its results (for readers and tests; not on the port)."""
        client = aws.client("dynamodb")
        found = client.get_item(
            TableName=self._table_name,
            Key=to_attribute_map(feed_key(seller_key, feed_id)),
            ConsistentRead=True,
        ).get("Item")
        if not found:
            return None
        head = from_attribute_map(found)
        results: list[dict[str, Any]] = []
        if int(head.get("results_chunks") or 0):
            prefix = results_prefix(feed_id, str(head["results_version"]))
            for page in client.get_paginator("query").paginate(
                TableName=self._table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": f"SELLER#{seller_key}"}, ":prefix": {"S": prefix}},
                ConsistentRead=True,
            ):
                for item in page["Items"]:
                    results.extend(from_attribute_map(item).get("results") or [])
        own = {
            "pk",
            "sk",
            "seller_key",
            "feed_id",
            "processing_status",
            "report_status",
            "outcome",
            "event_time",
            "results_version",
            "results_chunks",
            "result_count",
            "expires_at",
        }
        expires_at = head.get("expires_at")
        return FeedRecord(
            seller_key=seller_key,
            feed_id=feed_id,
            event_time=parse_sortable(str(head["event_time"])),
            processing_status=str(head["processing_status"]),
            report_status=str(head["report_status"]),
            attributes={name: value for name, value in head.items() if name not in own},
            results=tuple(results),
            expires_at=int(expires_at) if expires_at is not None else None,
        )

    def _chunk(
        self, record: FeedRecord, prefix: str, index: int, results: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "pk": f"SELLER#{record.seller_key}",
            "sk": f"{prefix}{index:05d}",
            "feed_id": record.feed_id,
            "results": results,
            "expires_at": record.expires_at,
        }

    def _forget(self, seller_key: str, prefix: str, chunks: int) -> None:
        """Deletes result chunks no head refers to. Best effort: one left behind is never read
        (readers follow the head's version) and expires with its TTL."""
        client = aws.client("dynamodb")
        for index in range(chunks):
            try:
                client.delete_item(
                    TableName=self._table_name,
                    Key={"pk": {"S": f"SELLER#{seller_key}"}, "sk": {"S": f"{prefix}{index:05d}"}},
                )
            except ClientError:
                return
