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
  ``sk``: a SKU's rows across a seller's reports of one type, newest report last. A row whose
  value is empty, or would make the key longer than DynamoDB's 2,048 bytes, is stored without one.
- ``expires_at``: rows can hold buyer data, so they expire like the raw copy (TTL).

Flat-file rows keep Amazon's line as ``cells`` (tab-separated, in the order of the report record's
``columns``); JSON rows are a map, ``row``. Writes go in 25-item batches, several in flight at
once, retrying unprocessed items and throttling errors with jittered backoff.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from itertools import chain, cycle, islice, repeat
from operator import itemgetter
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map, to_attribute_map
from sellerstream.domain.reports import (
    COMPLETE,
    IN_PROGRESS,
    ReportProgress,
    ReportRows,
    lookup_column,
    progress_of,
)

BATCH_SIZE = 25  # DynamoDB BatchWriteItem's limit
MAX_WRITE_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 5.0
WRITE_PARALLELISM = 16  # batches in flight at once (I/O-bound: threads)
ROWS_PER_TASK = 8 * BATCH_SIZE  # rows a writer thread keys and writes, batch after batch
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
LOOKUP_INDEX = "lookup"
MAX_LOOKUP_VALUE_CHARS = 1024
MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key value (the lookup index's too)


def report_key(seller_key: str, report_id: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_key}", "sk": f"REPORT#{report_id}"}


def report_item(seller_key: str, report_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, **report_key(seller_key, report_id), "report_id": report_id, "seller_key": seller_key}


class RowLayout:
    """The keys of one report's rows (``ReportRows``), for DynamoDB.

    Attribute values that are the same for many rows (the shards' partition keys, the expiry) are
    built once and shared between items: boto3 only reads them. (A plain class: a dataclass's
    generated methods cost every cold start about a millisecond.)
    """

    __slots__ = (
        "_expiry",
        "_partition_keys",
        "columns",
        "expires_at",
        "lookup",
        "report_created",
        "report_id",
        "report_type",
        "seller_key",
        "shards",
    )

    def __init__(
        self,
        *,
        seller_key: str,
        report_id: str,
        report_type: str,
        report_created: str,
        shards: int,
        expires_at: int,
        lookup: tuple[str, str] | None = None,  # (column or JSON key, SKU/ASIN/ORDER)
        columns: tuple[str, ...] = (),
    ) -> None:
        self.seller_key = seller_key
        self.report_id = report_id
        self.report_type = report_type
        self.report_created = report_created
        self.shards = shards
        self.expires_at = expires_at
        self.lookup = lookup
        self.columns = columns
        self._partition_keys = tuple(
            {"S": f"REPORT#{seller_key}#{report_id}#{shard:02d}"} for shard in range(shards)
        )
        self._expiry = {"N": str(expires_at)}

    @classmethod
    def of(cls, rows: ReportRows) -> RowLayout:
        return cls(**rows._asdict())

    def __repr__(self) -> str:
        return f"RowLayout(report_id={self.report_id!r}, shards={self.shards})"

    @property
    def sort_prefix(self) -> str:
        return f"{self.report_created}#{self.report_id}#"

    @property
    def lookup_prefix(self) -> str:
        kind = self.lookup[1] if self.lookup else ""
        return f"{self.seller_key}#{self.report_type}#{kind}#"

    def partition_key(self, index: int) -> str:
        return self._partition_keys[index % self.shards]["S"]

    def sort_key(self, index: int) -> str:
        return f"{self.sort_prefix}{index:010d}"

    def sort_keys(self, start: int, count: int) -> list[str]:
        """``sort_key(index)`` for ``count`` rows from ``start``, built a thousand at a time: each
        thousand's common head plus the index's last three digits, concatenated at C speed."""
        keys: list[str] = []
        index, end = start, start + count
        while index < end:
            thousand, within = divmod(index, 1000)
            stop = min(end, index - within + 1000)
            head = f"{self.sort_prefix}{thousand:07d}"
            keys += map(head.__add__, _LAST_THREE_DIGITS[within : within + stop - index])
            index = stop
        return keys

    def requests(self, start: int, rows: list[Any]) -> list[dict[str, Any]]:
        """PutRequests for rows ``start``, ``start + 1``, ...: ``str`` lines or ``dict`` elements."""
        return list(chain.from_iterable(self.request_batches(start, rows)))

    def request_batches(
        self, start: int, rows: list[Any], size: int = BATCH_SIZE
    ) -> Iterator[list[dict[str, Any]]]:
        """``requests(start, rows)`` in lists of ``size``, each built when it is asked for: a
        batch's items live only while it is written, so most die before the garbage collector
        ever looks at them."""
        if rows and isinstance(rows[0], str):
            yield from self._line_batches(start, rows, size)
            return
        for offset in range(0, len(rows), size):
            yield [
                self._element_request(index, row)
                for index, row in enumerate(rows[offset : offset + size], start + offset)
            ]

    def _line_batches(self, start: int, lines: list[str], size: int) -> Iterator[list[dict[str, Any]]]:
        # The hot path of a large report. What differs between rows is prepared for all of them
        # in C-level passes (partition keys in turn, sort keys, lookup keys); each batch is then
        # one comprehension of whole requests. Constant attribute values are shared.
        first_shard = start % self.shards
        partition_keys = islice(cycle(self._partition_keys), first_shard, first_shard + len(lines))
        sort_keys = self.sort_keys(start, len(lines))
        expiry = self._expiry
        lookups = self._line_lookups(lines)
        if lookups is None:
            rows = zip(partition_keys, sort_keys, lines, strict=True)
            for _ in range(0, len(lines), size):
                yield [
                    {
                        "PutRequest": {
                            "Item": {"pk": pk, "sk": {"S": sk}, "cells": {"S": line}, "expires_at": expiry}
                        }
                    }
                    for pk, sk, line in islice(rows, size)
                ]
            return
        all_indexable = _all_indexable(lookups, len(self.lookup_prefix))
        indexed_rows = zip(partition_keys, sort_keys, lines, lookups, strict=True)
        for offset in range(0, len(lines), size):
            batch = [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": pk,
                            "sk": {"S": sk},
                            "cells": {"S": line},
                            "expires_at": expiry,
                            "lookup": {"S": lookup},
                        }
                    }
                }
                for pk, sk, line, lookup in islice(indexed_rows, size)
            ]
            if not all_indexable:
                for request, lookup in zip(batch, lookups[offset : offset + size], strict=True):
                    if not _indexable(lookup, len(self.lookup_prefix)):
                        del request["PutRequest"]["Item"]["lookup"]
            yield batch

    def _line_lookups(self, lines: list[str]) -> list[str] | None:
        """Each line's lookup key (prefix + its lookup cell), or None when the report has none."""
        if not self.lookup or self.lookup[0] not in self.columns:
            return None
        column = self.columns.index(self.lookup[0])
        if column == 0:
            cells: Iterable[str] = map(_first, map(str.partition, lines, repeat("\t")))
        else:
            try:
                cells = list(map(itemgetter(column), map(str.split, lines, repeat("\t"), repeat(column + 1))))
            except IndexError:  # a line with fewer cells than the header: no lookup for it
                cells = [_cell(line, column) for line in lines]
        return list(map(self.lookup_prefix.__add__, cells))

    def _element_request(self, index: int, row: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": self._partition_keys[index % self.shards]["S"],
            "sk": self.sort_key(index),
            "row": row,
            "expires_at": self.expires_at,
        }
        # JSON elements need not share keys: the lookup key is chosen per element.
        lookup = self.lookup or lookup_column(self.report_type, list(row))
        value = row.get(lookup[0]) if lookup else None
        if lookup and isinstance(value, str | int):
            prefix = f"{self.seller_key}#{self.report_type}#{lookup[1]}#"
            if _indexable(prefix + str(value), len(prefix)):
                item["lookup"] = prefix + str(value)
        return {"PutRequest": {"Item": to_attribute_map(item)}}


_LAST_THREE_DIGITS = tuple(f"{ending:03d}" for ending in range(1000))
_first = itemgetter(0)


def _indexable(lookup: str, prefix_chars: int) -> bool:
    """Whether a lookup key can be the index's partition key: a non-empty value, at most
    ``MAX_LOOKUP_VALUE_CHARS``, and the whole key within DynamoDB's 2,048 bytes (one key too long
    would fail its whole batch)."""
    return (
        0 < len(lookup) - prefix_chars <= MAX_LOOKUP_VALUE_CHARS
        and len(lookup.encode("utf-8")) <= MAX_KEY_BYTES
    )


def _all_indexable(lookups: list[str], prefix_chars: int) -> bool:
    """``_indexable`` for every key, cheaply: lengths in C, bytes bounded by 4 per character."""
    lengths = list(map(len, lookups))
    shortest, longest = min(lengths, default=prefix_chars + 1), max(lengths, default=0)
    if shortest == prefix_chars:
        return False
    if longest * 4 <= MAX_KEY_BYTES and longest - prefix_chars <= MAX_LOOKUP_VALUE_CHARS:
        return True
    return all(_indexable(lookup, prefix_chars) for lookup in lookups)


class DynamoDBReportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def progress(self, seller_key: str, report_id: str) -> ReportProgress | None:
        record = self.get(seller_key, report_id)
        return progress_of(record) if record is not None else None

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

    def save(self, seller_key: str, report_id: str, record: dict[str, Any]) -> bool:
        item = report_item(seller_key, report_id, record)
        try:
            aws.client("dynamodb").put_item(
                TableName=self._table_name,
                Item=to_attribute_map(item),
                ConditionExpression="attribute_not_exists(#status) OR #status <> :complete",
                ExpressionAttributeNames={"#status": "ingestion_status"},
                ExpressionAttributeValues={":complete": {"S": COMPLETE}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def checkpoint(self, seller_key: str, report_id: str, fields: dict[str, Any]) -> bool:
        # SET merges: what an interrupted part did not learn (the layout a failure came before) stays
        # as the last part saved it. The condition keeps a late part from moving the record back.
        values = to_attribute_map({**fields, "report_id": report_id, "seller_key": seller_key})
        placeholders = {name: f"#f{index}" for index, name in enumerate(values)}
        for name in ("ingestion_status", "rows_written"):
            placeholders.setdefault(name, f"#f{len(placeholders)}")
        status, rows = placeholders["ingestion_status"], placeholders["rows_written"]
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=to_attribute_map(report_key(seller_key, report_id)),
                UpdateExpression="SET "
                + ", ".join(f"{placeholders[name]} = :v{index}" for index, name in enumerate(values)),
                ConditionExpression=(
                    f"attribute_not_exists({status}) OR ({status} = :in_progress AND "
                    f"(attribute_not_exists({rows}) OR {rows} <= :rows))"
                ),
                ExpressionAttributeNames={placeholder: name for name, placeholder in placeholders.items()},
                ExpressionAttributeValues={
                    **{f":v{index}": value for index, value in enumerate(values.values())},
                    ":in_progress": {"S": IN_PROGRESS},
                    ":rows": {"N": str(int(fields.get("rows_written", 0)))},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept refusing part of a batch (throttled): the record is retried later, from its
    checkpoint."""


def _thread_pool(workers: int) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report-rows")


class DynamoDBRowWriter:
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

    def open(self, rows: ReportRows) -> RowBatches:
        layout = RowLayout.of(rows)
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
    """One report's writes in flight. ``write`` hands rows to the writer threads in tasks of
    ``ROWS_PER_TASK`` rows and returns once they are queued (at most ``max_in_flight`` tasks wait at
    a time); ``flush`` returns once every row written so far is stored. ``stored`` counts the rows
    stored without a gap from the first write's index: after a batch failed, what a checkpoint may
    count (tasks finish out of order, so rows past the first failed task may be stored too; a
    resumed ingestion writes them again, under the same keys).

    A task keys its rows and writes them in 25-item batches in its writer thread, building each
    batch's items just before writing it: what waits in the queue is the rows themselves (a line,
    not six dicts, per row), items die soon after they are built (the garbage collector seldom
    runs, and then finds little), and one thread hand-off covers several batches.
    """

    def __init__(
        self, writer: DynamoDBRowWriter, layout: RowLayout, executor: Executor, max_in_flight: int
    ) -> None:
        self._writer = writer
        self.layout = layout
        self._executor = executor
        self._max_in_flight = max_in_flight
        self._pending: dict[Future[None], tuple[int, int]] = {}  # each task's rows, [start, end)
        self._first: int | None = None  # the first write's index
        self._stored_until = 0  # rows from ``_first`` up to here are stored
        self._stored_later: list[tuple[int, int]] = []  # heap: tasks stored past the first gap

    def write(self, start: int, rows: list[Any]) -> None:
        if self._first is None:
            self._first = self._stored_until = start
        for offset in range(0, len(rows), ROWS_PER_TASK):
            while len(self._pending) >= self._max_in_flight:
                self._collect(FIRST_COMPLETED)
            task_start = start + offset
            task_rows = rows[offset : offset + ROWS_PER_TASK]
            task = self._executor.submit(self._write_rows, task_start, task_rows)
            self._pending[task] = (task_start, task_start + len(task_rows))

    @property
    def stored(self) -> int:
        self._account([task for task in self._pending if _succeeded(task)])
        return 0 if self._first is None else self._stored_until - self._first

    def _write_rows(self, start: int, rows: list[Any]) -> None:
        for batch in self.layout.request_batches(start, rows):
            self._writer.write_batch(batch)

    def flush(self) -> None:
        while self._pending:
            self._collect(FIRST_COMPLETED)

    def _collect(self, how: str) -> None:
        done, _ = wait(self._pending, return_when=how)
        failure = self._account(done)
        if failure is not None:
            raise failure  # a batch's failure fails the ingestion (resumed from the checkpoint)

    def _account(self, done: Iterable[Future[None]]) -> BaseException | None:
        """Takes finished tasks off the pending ones, counts the stored; the first failure, if any."""
        failure: BaseException | None = None
        for task in done:
            span = self._pending.pop(task)
            error = None if task.cancelled() else task.exception()
            if error is not None:
                failure = failure or error
            elif not task.cancelled():
                heapq.heappush(self._stored_later, span)
        while self._stored_later and self._stored_later[0][0] <= self._stored_until:
            self._stored_until = max(self._stored_until, heapq.heappop(self._stored_later)[1])
        return failure

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


def _succeeded(task: Future[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


class ReportRowReader:
    """Reads stored rows back as dicts: a whole report (every shard), or by lookup value."""

    def __init__(self, rows_table: str, reports: DynamoDBReportStore) -> None:
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
