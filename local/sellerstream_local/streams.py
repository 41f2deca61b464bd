"""A local stand-in for Lambda's DynamoDB event source mapping: the change-events publisher's.

It reads each streamed table's change stream through DynamoDB Streams' own API (``describe_stream``,
``get_shard_iterator``, ``get_records``) and keeps each shard's position, so every record is handed
over once, in the shard's order. It filters as the deployed mapping's filter criteria do
(``catalog.stream_filters``: INSERT and MODIFY of the items the catalog's events are about; a record
filtered out is passed over for good) and invokes the real handler with the batch in Lambda's shape:
``eventSourceARN`` on each record, attribute values as JSON (binary as base64), the creation time in
epoch seconds. The handler's ``batchItemFailures`` make the next read start at the failed record
(ReportBatchItemFailures; an identifier not in the batch fails the whole batch, as on Lambda); a
handler that raises fails the whole batch, which is read again. Locally a batch is tried
``MAX_ATTEMPTS`` times in a row (standing in for the deployed mapping's record age limit); then a
pointer to it goes to the publisher's DLQ, as Lambda's on-failure destination writes one, and the
shard moves past it.

A new iterator is asked for at each read, from the position kept here (what the mapping
checkpoints), rather than following ``NextShardIterator``: moto rebuilds a table's stream when it
rolls back a cancelled transaction, and an old iterator would keep reading the stream it replaced.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sellerstream import catalog
from sellerstream_local.poller import LocalLambdaContext, function_environment

# Attempts at one batch before its pointer goes to the DLQ (the deployed mapping retries until its
# records are catalog.Publisher.max_record_age_seconds old).
MAX_ATTEMPTS = 5

StreamHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class StreamSource:
    """One streamed table: its role and name, its stream, the filter its mapping applies."""

    table_role: str
    table_name: str
    stream_arn: str
    filters: tuple[dict[str, Any], ...]  # the deployed mapping's filter patterns


def stream_sources(tables: dict[str, str], streams: dict[str, str]) -> list[StreamSource]:
    """``tables``: table names by role; ``streams``: stream ARNs by role (the streamed tables)."""
    return [
        StreamSource(
            table.role, tables[table.role], streams[table.role], tuple(catalog.stream_filters(table))
        )
        for table in catalog.streamed_tables()
    ]


def passes(record: dict[str, Any], patterns: list[dict[str, Any]]) -> bool:
    """Whether the mapping's filter lets a stream record through: any of its patterns
    (``catalog.stream_filters``) matches, in Lambda's filter syntax (a list: any of its values, or
    ``{"prefix": ...}``; an object: each of its fields)."""
    return any(_matches(pattern, record) for pattern in patterns)


def _matches(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            name in value and _matches(inner, value[name]) for name, inner in pattern.items()
        )
    if isinstance(pattern, list):
        return any(_matches_value(candidate, value) for candidate in pattern)
    return bool(pattern == value)


def _matches_value(candidate: Any, value: Any) -> bool:
    if isinstance(candidate, dict) and "prefix" in candidate:
        return isinstance(value, str) and value.startswith(candidate["prefix"])
    return bool(candidate == value)


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as ``get_records`` returns it (boto3: bytes, datetimes), as Lambda delivers it (JSON)."""
    shaped = {**record, "dynamodb": dict(record.get("dynamodb", {})), "eventSourceARN": stream_arn}
    created = shaped["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # Epoch seconds (DynamoDB's own are whole seconds; moto's milliseconds are kept).
        shaped["dynamodb"]["ApproximateCreationDateTime"] = round(created.timestamp(), 3)
    delivered: dict[str, Any] = json.loads(json.dumps(shaped, default=_json_value))
    return delivered


def _json_value(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass
class StreamStats:
    reads: int = 0  # get_records calls that returned records
    records_read: int = 0  # redeliveries included
    filtered_out: int = 0
    invocations: int = 0
    records_handed: int = 0  # to the handler, retries included
    partial_failures: int = 0  # invocations that named a record to retry from
    handler_crashes: int = 0
    batches_given_up: int = 0  # pointers on the DLQ after MAX_ATTEMPTS

    def minus(self, before: StreamStats) -> StreamStats:
        return StreamStats(**{name: getattr(self, name) - getattr(before, name) for name in vars(self)})

    def copy(self) -> StreamStats:
        return StreamStats(**vars(self))


@dataclass
class _Position:
    """Where a shard's next read starts, and how often the batch starting there has failed."""

    iterator_type: str = "TRIM_HORIZON"
    sequence: str | None = None
    attempts: int = 0

    def iterator(self) -> dict[str, str]:
        found = {"ShardIteratorType": self.iterator_type}
        if self.sequence is not None:
            found["SequenceNumber"] = self.sequence
        return found


class LocalStreamPoller:
    def __init__(
        self,
        streams: Any,
        sqs: Any,
        sources: list[StreamSource],
        handler: StreamHandler,
        *,
        function_name: str,
        batch_size: int,
        timeout_seconds: int,
        on_failure_queue_url: str,
        environment: dict[str, str] | None = None,
        output: IO[str] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._streams = streams
        self._sqs = sqs
        self._sources = sources
        self._handler = handler
        self._function_name = function_name
        self._batch_size = batch_size
        self._timeout_seconds = timeout_seconds
        self._on_failure_queue_url = on_failure_queue_url
        self._environment = environment or {}
        self._output = output
        self._max_attempts = max_attempts
        self._positions: dict[tuple[str, str], _Position] = {}
        self.stats = StreamStats()

    def poll_once(self) -> int:
        """One read of every shard of every stream, each batch handed over; returns the records read
        (0: every stream is caught up)."""
        return sum(
            self._poll_shard(source, shard_id)
            for source in self._sources
            for shard_id in self._shards(source)
        )

    def _shards(self, source: StreamSource) -> list[str]:
        shards: list[str] = []
        request: dict[str, Any] = {"StreamArn": source.stream_arn}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            shards.extend(str(shard["ShardId"]) for shard in description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            request["ExclusiveStartShardId"] = last

    def _poll_shard(self, source: StreamSource, shard_id: str) -> int:
        position = self._positions.setdefault((source.stream_arn, shard_id), _Position())
        iterator = self._streams.get_shard_iterator(
            StreamArn=source.stream_arn, ShardId=shard_id, **position.iterator()
        )["ShardIterator"]
        records = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size).get("Records", [])
        if not records:
            return 0
        self.stats.reads += 1
        self.stats.records_read += len(records)
        batch = [lambda_record(r, source.stream_arn) for r in records if passes(r, list(source.filters))]
        self.stats.filtered_out += len(records) - len(batch)
        last = str(records[-1]["dynamodb"]["SequenceNumber"])
        if not batch:
            self._advance(position, "AFTER_SEQUENCE_NUMBER", last)
            return len(records)
        retry_from = self._invoke(batch)
        if retry_from is None:
            self._advance(position, "AFTER_SEQUENCE_NUMBER", last)
            return len(records)
        if retry_from != (position.sequence if position.iterator_type == "AT_SEQUENCE_NUMBER" else None):
            position.attempts = 0  # a later record failed: the records before it are done
        position.iterator_type, position.sequence = "AT_SEQUENCE_NUMBER", retry_from
        position.attempts += 1
        if position.attempts >= self._max_attempts:
            failed = [record for record in batch if _order(_sequence(record)) >= _order(retry_from)]
            self._give_up(source, shard_id, failed, position.attempts)
            self._advance(position, "AFTER_SEQUENCE_NUMBER", last)
        return len(records)

    @staticmethod
    def _advance(position: _Position, iterator_type: str, sequence: str) -> None:
        position.iterator_type, position.sequence, position.attempts = iterator_type, sequence, 0

    def _invoke(self, batch: list[dict[str, Any]]) -> str | None:
        """The sequence number to read again from (None: the batch is done)."""
        self.stats.invocations += 1
        self.stats.records_handed += len(batch)
        context = LocalLambdaContext(self._function_name, self._timeout_seconds)
        try:
            with (
                contextlib.redirect_stdout(self._output or io.StringIO()),
                function_environment(self._environment),
            ):
                response = self._handler({"Records": batch}, context)
        except Exception:
            self.stats.handler_crashes += 1
            return _sequence(batch[0])
        failures = (response.get("batchItemFailures") or []) if isinstance(response, dict) else []
        if not failures:
            return None
        self.stats.partial_failures += 1
        handed = [_sequence(record) for record in batch]
        named = [str(failure.get("itemIdentifier")) for failure in failures if isinstance(failure, dict)]
        if not named or any(identifier not in handed for identifier in named):
            return handed[0]  # Lambda: an identifier it cannot find fails the whole batch
        return min(named, key=_order)

    def _give_up(
        self, source: StreamSource, shard_id: str, failed: list[dict[str, Any]], attempts: int
    ) -> None:
        """What Lambda's on-failure destination receives: where the records are, not the records."""
        first, last = failed[0]["dynamodb"], failed[-1]["dynamodb"]
        pointer = {
            "requestContext": {
                "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{self._function_name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(failed),
                "streamArn": source.stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=self._on_failure_queue_url, MessageBody=json.dumps(pointer))
        self.stats.batches_given_up += 1


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _order(sequence: str) -> tuple[int, str]:
    # DynamoDB's sequence numbers are decimal strings of any length: compare them as numbers.
    return (len(sequence), sequence)


def _iso(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
