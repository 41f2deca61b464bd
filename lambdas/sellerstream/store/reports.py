"""Reports: one record per report in the reports table, its rows in the report rows table.

Row keys spread a report's writes over partitions and stay deterministic, so an ingestion resumed
from a checkpoint, or replayed, rewrites the same items (nothing duplicated, nothing lost):

- ``pk = REPORT#<seller>#<report id>#<shard>`` with ``shard = row index % shards``. DynamoDB caps
  one partition at 1,000 writes a second and cannot split a partition for heat when its sort keys
  only increase; ``shards`` (from the document's size, recorded on the report record as
  ``row_shards``) lets a large report write at the table's rate. Readers query every shard.
- ``sk = <report created time>#<report id>#<row index, 10 digits>``.
- ``lookup = <seller>#<report type>#<SKU|ASIN|ORDER>#<value>``: what users look rows up by (the
  report type decides the column), the partition key of the ``lookup`` index, whose sort key is
  ``sk``: a SKU's rows across a seller's reports of one type, newest report last.
- ``expires_at``: rows can hold buyer data, so they expire like the raw copy (TTL).

Flat-file rows keep Amazon's line as ``cells`` (tab-separated, in the order of the report record's
``columns``); JSON rows are a map, ``row``. Writes go in 25-item batches, several in flight at
once, retrying unprocessed items and throttling errors with jittered backoff.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.store.dynamo import from_attribute_map, to_attribute_map

BATCH_SIZE = 25  # DynamoDB BatchWriteItem's limit
MAX_WRITE_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 5.0
WRITE_PARALLELISM = 16  # batches in flight at once (I/O-bound: threads)
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
LOOKUP_INDEX = "lookup"
MAX_LOOKUP_VALUE_CHARS = 1024  # a partition key value is at most 2,048 bytes
MAX_ROW_SHARDS = 64
# About 10,000 rows of a typical flat file per shard; gzip shrinks Amazon's flat files ~8x.
ROW_SHARD_BYTES = 1 << 20
GZIP_RATIO_ESTIMATE = 8

# Which column users look a report's rows up by, in order of preference, and what it holds.
LOOKUP_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "order": (
        ("amazon-order-id", "ORDER"),
        ("order-id", "ORDER"),
        ("amazonOrderId", "ORDER"),
        ("orderId", "ORDER"),
    ),
    "listing": (
        ("seller-sku", "SKU"),
        ("sku", "SKU"),
        ("msku", "SKU"),
        ("sellerSku", "SKU"),
        ("asin1", "ASIN"),
        ("asin", "ASIN"),
    ),
}


def report_key(seller_key: str, report_id: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_key}", "sk": f"REPORT#{report_id}"}


def row_shards_for(document_bytes: int, *, compressed: bool) -> int:
    """How many partitions a report's rows spread over, from its raw copy's size."""
    text_bytes = document_bytes * (GZIP_RATIO_ESTIMATE if compressed else 1)
    return max(1, min(MAX_ROW_SHARDS, math.ceil(text_bytes / ROW_SHARD_BYTES)))


def lookup_column(report_type: str, columns: Sequence[str]) -> tuple[str, str] | None:
    """(column, kind) users look this report's rows up by: order ids for order and shipment
    reports, else SKUs (then ASINs); None when the report has none of these columns."""
    kinds = ("order", "listing") if "ORDER" in report_type or "SHIPMENT" in report_type else ("listing",)
    present = set(columns)
    for kind in kinds:
        for column, lookup_kind in LOOKUP_COLUMNS[kind]:
            if column in present:
                return column, lookup_kind
    return None


@dataclass(frozen=True)
class RowLayout:
    """Where one report's rows go: deterministic for a report, so a resumed ingestion matches."""

    seller_key: str
    report_id: str
    report_type: str
    report_created: str
    shards: int
    expires_at: int
    lookup: tuple[str, str] | None = None  # (column or JSON key, SKU/ASIN/ORDER)
    columns: tuple[str, ...] = ()
    _partition_keys: list[dict[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [
            {"S": f"REPORT#{self.seller_key}#{self.report_id}#{shard:02d}"} for shard in range(self.shards)
        ]
        object.__setattr__(self, "_partition_keys", keys)

    @property
    def sort_prefix(self) -> str:
        return f"{self.report_created}#{self.report_id}#"

    @property
    def lookup_prefix(self) -> str:
        kind = self.lookup[1] if self.lookup else ""
        return f"{self.seller_key}#{self.report_type}#{kind}#"

    def partition_key(self, index: int) -> str:
        return self._partition_keys[index % self.shards]["S"]

    def requests(self, start: int, rows: list[Any]) -> list[dict[str, Any]]:
        """PutRequests for rows ``start``, ``start + 1``, ...: ``str`` lines or ``dict`` elements."""
        if rows and isinstance(rows[0], str):
            return self._line_requests(start, rows)
        return [self._element_request(index, row) for index, row in enumerate(rows, start)]

    def _line_requests(self, start: int, lines: list[str]) -> list[dict[str, Any]]:
        # The hot path of a large report: comprehensions, attribute values built directly, and
        # constant ones (partition keys, expiry) shared between items.
        pks, shards, prefix = self._partition_keys, self.shards, self.sort_prefix
        expires = {"N": str(self.expires_at)}
        items = [
            {
                "pk": pks[index % shards],
                "sk": {"S": f"{prefix}{index:010d}"},
                "cells": {"S": line},
                "expires_at": expires,
            }
            for index, line in enumerate(lines, start)
        ]
        column = (
            self.columns.index(self.lookup[0]) if self.lookup and self.lookup[0] in self.columns else None
        )
        if column is not None:
            if column == 0:
                values = [line.partition("\t")[0] for line in lines]
            else:
                values = [_cell(line, column) for line in lines]
            lookup_prefix = self.lookup_prefix
            for item, value in zip(items, values, strict=True):
                if value and len(value) <= MAX_LOOKUP_VALUE_CHARS:  # an index key cannot be empty
                    item["lookup"] = {"S": lookup_prefix + value}
        return [{"PutRequest": {"Item": item}} for item in items]

    def _element_request(self, index: int, row: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": self._partition_keys[index % self.shards]["S"],
            "sk": f"{self.sort_prefix}{index:010d}",
            "row": row,
            "expires_at": self.expires_at,
        }
        # JSON elements need not share keys: the lookup key is chosen per element.
        lookup = self.lookup or lookup_column(self.report_type, list(row))
        value = row.get(lookup[0]) if lookup else None
        if lookup and isinstance(value, str | int) and 0 < len(str(value)) <= MAX_LOOKUP_VALUE_CHARS:
            item["lookup"] = f"{self.seller_key}#{self.report_type}#{lookup[1]}#{value}"
        return {"PutRequest": {"Item": to_attribute_map(item)}}


class ReportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def get(self, seller_key: str, report_id: str) -> dict[str, Any] | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self._table_name,
                Key=to_attribute_map(report_key(seller_key, report_id)),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return from_attribute_map(item) if item else None

    def save(self, seller_key: str, report_id: str, attributes: dict[str, Any]) -> None:
        item = {
            **attributes,
            **report_key(seller_key, report_id),
            "report_id": report_id,
            "seller_key": seller_key,
        }
        aws.client("dynamodb").put_item(TableName=self._table_name, Item=to_attribute_map(item))


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept refusing part of a batch (throttled): the record is retried later, from its
    checkpoint."""


def _thread_pool(workers: int) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report-rows")


class RowWriter:
    """Writes rows in batches of 25, ``parallelism`` batches in flight, retrying what DynamoDB
    leaves unprocessed or throttles, with jittered exponential backoff."""

    def __init__(
        self,
        table_name: str,
        *,
        parallelism: int = WRITE_PARALLELISM,
        sleep: Callable[[float], None] = time.sleep,
        executor_factory: Callable[[int], Executor] = _thread_pool,
        client: Callable[[], Any] = lambda: aws.client("dynamodb"),
    ) -> None:
        self.table_name = table_name
        self._parallelism = parallelism
        self._sleep = sleep
        self._executor_factory = executor_factory
        self._client = client

    def open(self, layout: RowLayout) -> RowBatches:
        return RowBatches(self, layout, self._executor_factory(self._parallelism), self._parallelism * 2)

    def write_batch(self, batch: list[dict[str, Any]]) -> None:
        client = self._client()
        pending = batch
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                response = client.batch_write_item(RequestItems={self.table_name: pending})
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in THROTTLING_CODES:
                    raise
            else:
                pending = (response.get("UnprocessedItems") or {}).get(self.table_name) or []
                if not pending:
                    return
            # Full jitter: parallel writers throttled together do not retry together.
            self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))  # noqa: S311
        raise UnprocessedItemsError(
            f"{len(pending)} rows still unprocessed after {MAX_WRITE_ATTEMPTS} attempts"
        )


class RowBatches:
    """One report's writes in flight. ``write`` returns once its batches are queued (at most
    ``max_in_flight`` wait at a time); ``flush`` returns once every row written so far is stored."""

    def __init__(self, writer: RowWriter, layout: RowLayout, executor: Executor, max_in_flight: int) -> None:
        self._writer = writer
        self.layout = layout
        self._executor = executor
        self._max_in_flight = max_in_flight
        self._pending: set[Future[None]] = set()

    def write(self, start: int, rows: list[Any]) -> None:
        requests = self.layout.requests(start, rows)
        for offset in range(0, len(requests), BATCH_SIZE):
            while len(self._pending) >= self._max_in_flight:
                self._collect(FIRST_COMPLETED)
            batch = requests[offset : offset + BATCH_SIZE]
            self._pending.add(self._executor.submit(self._writer.write_batch, batch))

    def flush(self) -> None:
        while self._pending:
            self._collect(FIRST_COMPLETED)

    def _collect(self, how: str) -> None:
        done, self._pending = wait(self._pending, return_when=how)
        for future in done:
            future.result()  # a batch's failure fails the ingestion (resumed from the checkpoint)

    def __enter__(self) -> RowBatches:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                self.flush()
        finally:
            for future in self._pending:
                future.cancel()
            self._executor.shutdown(wait=True)


class ReportRowReader:
    """Reads stored rows back as dicts: a whole report (every shard), or by lookup value."""

    def __init__(self, rows_table: str, reports: ReportStore) -> None:
        self._table = rows_table
        self._reports = reports

    def rows(self, seller_key: str, report_id: str) -> Iterator[dict[str, Any]]:
        """Every row of a report, in the document's order."""
        record = self._reports.get(seller_key, report_id)
        if not record:
            return
        columns = list(record.get("columns") or [])
        shards = int(record.get("row_shards", 1))
        streams = [
            self._query_partition(f"REPORT#{seller_key}#{report_id}#{shard:02d}") for shard in range(shards)
        ]
        for item in heapq.merge(*streams, key=lambda item: str(item["sk"])):
            yield _row_of(item, columns)

    def find(self, seller_key: str, report_type: str, kind: str, value: str) -> list[dict[str, Any]]:
        """Rows whose lookup column holds ``value`` (e.g. a SKU), oldest report first; each row
        carries its ``report_id``."""
        client = aws.client("dynamodb")
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LOOKUP_INDEX,
            "KeyConditionExpression": "#lookup = :lookup",
            "ExpressionAttributeNames": {"#lookup": "lookup"},
            "ExpressionAttributeValues": {":lookup": {"S": f"{seller_key}#{report_type}#{kind}#{value}"}},
        }
        found: list[dict[str, Any]] = []
        columns: dict[str, list[str]] = {}
        for page in client.get_paginator("query").paginate(**query):
            for raw in page["Items"]:
                item = from_attribute_map(raw)
                report_id = str(item["sk"]).split("#")[-2]
                if report_id not in columns:
                    columns[report_id] = list(
                        (self._reports.get(seller_key, report_id) or {}).get("columns") or []
                    )
                found.append({"report_id": report_id, **_row_of(item, columns[report_id])})
        return found

    def _query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        ):
            for raw in page["Items"]:
                yield from_attribute_map(raw)


def _cell(line: str, column: int) -> str:
    cells = line.split("\t", column + 1)
    return cells[column] if len(cells) > column else ""


def _row_of(item: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    if "cells" in item:
        return dict(zip(columns, str(item["cells"]).split("\t"), strict=False))
    row = item.get("row")
    return dict(row) if isinstance(row, dict) else {}
