"""Reports: one record per report in the reports table; its rows in S3 blocks, found through packed
lookups in the report rows table.

Rows (``ReportRowWriter``): each block of rows the ingestion hands over (``write(start, rows)``:
1,000 rows from ``logic/report_ingest.py``) is one gzip object in the reports bucket,
``rows/<seller>/<report id>/<first row index, 10 digits>.gz``: a flat file's header line then the
block's lines (tab-separated, ``\\n``-separated, as Amazon wrote them), or JSON Lines (one element a
line). Each block reads on its own (a user, Athena). Keys follow from row indexes and gzip is
written without a time, so an ingestion resumed from a checkpoint, or replayed, rewrites the same
objects, byte for byte: nothing duplicated, nothing lost. Blocks go ``WRITE_PARALLELISM`` at a
time, each PutObject retried by the SDK.

Lookups: each row's lookup value (the report type decides the column: ``lookup_column``) is an
entry ``value<TAB>row index`` in one of ``LOOKUP_BUCKETS`` buckets (``lookup_bucket``: CRC-32 of
the value). Entries are gathered while a part writes, and written once their blocks are stored:
in segments of ``LOOKUP_SEGMENT_ROWS`` rows counted from the part's first row (memory stays
bounded), the rest when the part ends, or, when it is interrupted, those of the blocks stored
without a gap. A segment is one item per bucket holding entries: ``pk = LOOKUP#<seller>#<report
id>#<bucket, 4 digits>``, ``sk = <the segment's first row, 10 digits>#<piece, 3 digits>``,
``entries`` (the lines in row order, at most ``LOOKUP_PIECE_BYTES`` a piece), ``block_rows`` (the
rows of each block from the segment's first row: where a row's block starts) and ``expires_at``
(TTL, like the raw copy); 25 a BatchWriteItem, retrying unprocessed items and throttling with
jittered backoff. A value that is empty, longer than ``MAX_LOOKUP_VALUE_CHARS`` or holding a tab or
a line break gets no entry. A part redone from the same checkpoint (it died before saving it)
writes the same items again; a piece it no longer needs may stay, naming the same rows, which the
reader counts once.

``ReportRowReader`` reads a report's blocks in order, or finds rows by value with one Query (the
value's bucket) and one GetObject per block holding a match.
"""

from __future__ import annotations

import gzip
import heapq
import json
import random
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from itertools import repeat
from operator import itemgetter
from types import TracebackType
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map, to_attribute_map
from sellerstream.catalog import REPORT_ROWS_PREFIX
from sellerstream.domain.reports import (
    COMPLETE,
    IN_PROGRESS,
    LOOKUP_BUCKETS,
    MAX_LOOKUP_VALUE_CHARS,
    ReportProgress,
    ReportRows,
    lookup_bucket,
    lookup_column,
    lookup_value_accepted,
    progress_of,
)

BATCH_SIZE = 25  # DynamoDB BatchWriteItem's limit
MAX_WRITE_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 5.0
WRITE_PARALLELISM = 16  # blocks (and lookup batches) in flight at once (I/O-bound: threads)
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# gzip level of the blocks: level 1 compresses Amazon's flat files about 5x at a fraction of the
# CPU of the default (9); storage is the smallest part of a report's bill.
BLOCK_COMPRESS_LEVEL = 1
TSV_CONTENT_TYPE = "text/tab-separated-values; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"
# A lookup item's entries (DynamoDB's item limit is 400 KB): a bucket's entries of one segment
# longer than this are split into pieces.
LOOKUP_PIECE_BYTES = 256 * 1024
# A part's lookups are written in segments of this many rows (or characters of entries) as it
# goes: a part of millions of rows keeps its memory flat (some 30 MB of entries and their
# distribution into buckets at most), at about one more write unit per item.
LOOKUP_SEGMENT_ROWS = 250_000
LOOKUP_SEGMENT_CHARS = 8 << 20


def report_key(seller_key: str, report_id: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_key}", "sk": f"REPORT#{report_id}"}


def report_item(seller_key: str, report_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, **report_key(seller_key, report_id), "report_id": report_id, "seller_key": seller_key}


def blocks_prefix(seller_key: str, report_id: str) -> str:
    return f"{REPORT_ROWS_PREFIX}{seller_key}/{report_id}/"


def block_key(seller_key: str, report_id: str, start: int) -> str:
    return f"{blocks_prefix(seller_key, report_id)}{start:010d}.gz"


def lookup_partition(seller_key: str, report_id: str, bucket: int) -> str:
    return f"LOOKUP#{seller_key}#{report_id}#{bucket:04d}"


def lookup_sort_key(segment_start: int, piece: int) -> str:
    return f"{segment_start:010d}#{piece:03d}"


class BlockLookups(NamedTuple):
    """The lookup entries of one block: each entry's bucket, and the entries joined by ``\\n``
    (two compact objects per block rather than one string per row)."""

    start: int
    rows: int
    buckets: array[int]
    entries: str


class RowLayout:
    """How one report's rows are written (``ReportRows``): block keys and contents, lookup items.
    (A plain class: a dataclass's generated methods cost every cold start about a millisecond.)"""

    __slots__ = (
        "_column",
        "_encode_json",
        "_expiry",
        "_header",
        "columns",
        "compress_level",
        "expires_at",
        "lookup",
        "prefix",
        "report_id",
        "report_type",
        "seller_key",
    )

    def __init__(
        self,
        *,
        seller_key: str,
        report_id: str,
        report_type: str,
        expires_at: int,
        lookup: tuple[str, str] | None = None,  # (column or JSON key, SKU/ASIN/ORDER)
        columns: tuple[str, ...] = (),
        compress_level: int = BLOCK_COMPRESS_LEVEL,
    ) -> None:
        self.seller_key = seller_key
        self.report_id = report_id
        self.report_type = report_type
        self.expires_at = expires_at
        self.lookup = lookup
        self.columns = columns
        self.compress_level = compress_level
        self.prefix = blocks_prefix(seller_key, report_id)
        self._header = "\t".join(columns)
        self._expiry = {"N": str(expires_at)}
        self._column = columns.index(lookup[0]) if lookup and lookup[0] in columns else None
        self._encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    @classmethod
    def of(cls, rows: ReportRows, compress_level: int = BLOCK_COMPRESS_LEVEL) -> RowLayout:
        return cls(**rows._asdict(), compress_level=compress_level)

    def __repr__(self) -> str:
        return f"RowLayout(report_id={self.report_id!r}, prefix={self.prefix!r})"

    def block_key(self, start: int) -> str:
        return f"{self.prefix}{start:010d}.gz"

    def block(self, rows: list[Any]) -> tuple[bytes, str]:
        """A block's object (gzip, no time in its header: the same rows give the same bytes) and
        its content type: a flat file's header and lines, or JSON Lines."""
        if rows and isinstance(rows[0], str):
            text, content_type = f"{self._header}\n{chr(10).join(rows)}\n", TSV_CONTENT_TYPE
            data = text.encode("utf-8")
        else:
            content_type = JSONL_CONTENT_TYPE
            try:
                data = "".join(map("{}\n".format, map(self._encode_json, rows))).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (a JSON "\\ud800" escape): kept escaped
                data = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode("ascii")
        return gzip.compress(data, compresslevel=self.compress_level, mtime=0), content_type

    def lookup_values(self, rows: list[Any]) -> list[str]:
        """Each row's lookup value ("" when it has none)."""
        if not rows:
            return []
        if isinstance(rows[0], str):
            return self._line_values(rows)
        return [self._element_value(row) for row in rows]

    def _line_values(self, lines: list[str]) -> list[str]:
        # The hot path of a large report: C-level passes over the block's lines.
        column = self._column
        if column is None:
            return [""] * len(lines)
        if column == 0:
            return list(map(_first, map(str.partition, lines, repeat("\t"))))
        try:
            return list(map(itemgetter(column), map(str.split, lines, repeat("\t"), repeat(column + 1))))
        except IndexError:  # a line with fewer cells than the header: no lookup for it
            return [_cell(line, column) for line in lines]

    def _element_value(self, row: dict[str, Any]) -> str:
        # JSON elements need not share keys: the lookup key is chosen per element.
        lookup = self.lookup or lookup_column(self.report_type, list(row))
        value = row.get(lookup[0]) if lookup else None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return ""
        return str(value)

    def block_lookups(self, start: int, rows: list[Any]) -> BlockLookups:
        """The lookup entries of the block of ``rows`` from index ``start`` (values refused left out)."""
        values = self.lookup_values(rows)
        indexes: Iterable[int] = range(start, start + len(values))
        if not _all_accepted(values, flat=bool(rows) and isinstance(rows[0], str)):
            kept = [(value, index) for value, index in zip(values, indexes, strict=True) if _accepted(value)]
            values, indexes = [value for value, _ in kept], [index for _, index in kept]
        buckets = array("H", [crc % LOOKUP_BUCKETS for crc in map(zlib.crc32, map(str.encode, values))])
        entries = "\n".join(map("%s\t%d".__mod__, zip(values, indexes, strict=True)))
        return BlockLookups(start, len(rows), buckets, entries)

    def lookup_items(
        self, segment_start: int, block_rows: int, blocks: Iterable[BlockLookups]
    ) -> list[dict[str, Any]]:
        """PutRequests of the lookup items of blocks from ``segment_start`` (each ``block_rows`` rows
        but the last): each bucket's entries in row order, in pieces of at most ``LOOKUP_PIECE_BYTES``."""
        by_bucket: list[list[str]] = [[] for _ in range(LOOKUP_BUCKETS)]
        for block in blocks:
            if block.buckets:
                for bucket, entry in zip(block.buckets, block.entries.split("\n"), strict=True):
                    by_bucket[bucket].append(entry)
        block_rows_value = {"N": str(block_rows)}
        requests = []
        for bucket, entries in enumerate(by_bucket):
            if not entries:
                continue
            pk = {"S": lookup_partition(self.seller_key, self.report_id, bucket)}
            for piece, text in enumerate(_pieces(entries, LOOKUP_PIECE_BYTES)):
                item = {
                    "pk": pk,
                    "sk": {"S": lookup_sort_key(segment_start, piece)},
                    "entries": {"S": text},
                    "block_rows": block_rows_value,
                    "expires_at": self._expiry,
                }
                requests.append({"PutRequest": {"Item": item}})
        return requests


_first = itemgetter(0)


def _cell(line: str, column: int) -> str:
    cells = line.split("\t", column + 1)
    return cells[column] if len(cells) > column else ""


def _accepted(value: str) -> bool:
    if not lookup_value_accepted(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape: not storable text
        return False
    return True


def _all_accepted(values: list[str], *, flat: bool) -> bool:
    """Whether every value gets an entry, cheaply where it can be told from lengths: a flat file's
    cell holds no tab or line break, and its text came from a strict decoder."""
    if not flat or not values:
        return all(map(_accepted, values))
    lengths = list(map(len, values))
    return min(lengths) > 0 and max(lengths) <= MAX_LOOKUP_VALUE_CHARS


def _pieces(entries: list[str], limit: int) -> Iterator[str]:
    """Entries joined by ``\\n``, split between entries into texts of at most ``limit`` UTF-8 bytes."""
    text = "\n".join(entries)
    if len(text) * 4 <= limit or len(text.encode("utf-8")) <= limit:
        yield text
        return
    first, size = 0, 0
    for index, entry in enumerate(entries):
        length = len(entry.encode("utf-8")) + 1
        if size + length > limit and index > first:
            yield "\n".join(entries[first:index])
            first, size = index, 0
        size += length
    yield "\n".join(entries[first:])


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


class ReportRowWriter:
    """Writes a report's rows: blocks to S3, ``parallelism`` at a time; lookup items to DynamoDB in
    batches of 25, retrying what DynamoDB leaves unprocessed or throttles, with jittered
    exponential backoff."""

    def __init__(
        self,
        bucket: str,
        table_name: str,
        *,
        parallelism: int = WRITE_PARALLELISM,
        sleep: Callable[[float], None] = time.sleep,
        executor_factory: Callable[[int], Executor] = _thread_pool,
        s3: Callable[[], Any] = lambda: aws.client("s3"),
        dynamodb: Callable[[], Any] = lambda: aws.client("dynamodb"),
        compress_level: int = BLOCK_COMPRESS_LEVEL,
    ) -> None:
        self.bucket = bucket
        self.table_name = table_name
        self._parallelism = parallelism
        self._sleep = sleep
        self._executor_factory = executor_factory
        self._s3 = s3
        self._dynamodb = dynamodb
        self._compress_level = compress_level

    def open(self, rows: ReportRows) -> RowBatches:
        layout = RowLayout.of(rows, self._compress_level)
        return RowBatches(self, layout, self._executor_factory(self._parallelism), self._parallelism * 2)

    def location(self, seller_key: str, report_id: str) -> dict[str, str]:
        return {"bucket": self.bucket, "prefix": blocks_prefix(seller_key, report_id)}

    def put_block(self, key: str, body: bytes, content_type: str) -> None:
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def write_batch(self, batch: list[dict[str, Any]]) -> None:
        client = self._dynamodb()
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
            f"{len(pending)} lookup items still unprocessed after {MAX_WRITE_ATTEMPTS} attempts"
        )


class RowBatches:
    """One report part's writes in flight (``ports.RowBatchWriter``).

    ``write`` hands a block to a writer thread (which builds its object and lookup entries and
    puts it) and returns once it is queued (at most ``max_in_flight`` blocks wait at a time).
    Blocks finish out of order: ``_stored_until`` is the end of the blocks stored without a gap
    from the first write, ``_durable_until`` the end of those whose lookups are stored too, which
    is what ``stored`` counts. Each stored block's entries wait in ``_gathered`` until their
    segment is written: as soon as the gap-free blocks fill one (``LOOKUP_SEGMENT_ROWS``), and
    the rest by ``flush`` at the part's end or by ``settle`` after a failure.
    """

    def __init__(
        self, writer: ReportRowWriter, layout: RowLayout, executor: Executor, max_in_flight: int
    ) -> None:
        self._writer = writer
        self.layout = layout
        self._executor: Executor | None = executor
        self._max_in_flight = max_in_flight
        self._pending: dict[Future[BlockLookups], tuple[int, int]] = {}  # each block's rows, [start, end)
        self._first: int | None = None  # the first write's index
        self._next: int | None = None  # where the next block must start
        self._block_rows: int | None = None  # every block's rows but the last's
        self._stored_until = 0  # blocks from ``_first`` up to here are stored
        self._stored_later: list[tuple[int, int]] = []  # heap: blocks stored past the first gap
        self._durable_until = 0  # blocks and lookups from ``_first`` up to here are stored
        self._gathered: dict[int, BlockLookups] = {}  # stored blocks' entries not written yet
        # A segment's lookups being written: its end, and the batches not written yet.
        self._segment: tuple[int, list[list[dict[str, Any]]]] | None = None

    def write(self, start: int, rows: list[Any]) -> None:
        if not rows:
            return
        if self._first is None or self._block_rows is None:
            self._first = self._stored_until = self._durable_until = start
            self._block_rows = len(rows)
        elif start != self._next or len(rows) > self._block_rows:
            raise ValueError(
                f"the block at {start} does not follow the blocks before it (next: {self._next})"
            )
        elif (start - self._first) % self._block_rows:
            raise ValueError("only the last block may be shorter than the others")
        self._next = start + len(rows)
        while len(self._pending) >= self._max_in_flight:
            self._collect(FIRST_COMPLETED)
        self._write_full_segments()  # a segment's lookups, as the part goes: their memory is freed
        assert self._executor is not None
        task = self._executor.submit(self._store_block, start, rows)
        self._pending[task] = (start, start + len(rows))

    @property
    def stored(self) -> int:
        return 0 if self._first is None else self._durable_until - self._first

    def settle(self) -> int:
        self._account([task for task in self._pending if task.done()])
        try:
            if self._segment is not None:
                self._write_lookups()  # what a failed write left of a segment
            self._write_full_segments()
            self._write_lookups()  # the rest of the blocks stored without a gap
        except Exception:  # noqa: S110 - the checkpoint then counts what was durable before
            pass
        return self.stored

    def _store_block(self, start: int, rows: list[Any]) -> BlockLookups:
        body, content_type = self.layout.block(rows)
        lookups = self.layout.block_lookups(start, rows)
        self._writer.put_block(self.layout.block_key(start), body, content_type)
        return lookups

    def flush(self) -> None:
        while self._pending:
            self._collect(FIRST_COMPLETED)
        self._write_full_segments()
        self._write_lookups()

    def _write_full_segments(self) -> None:
        while (end := self._full_segment_end()) is not None:
            self._write_lookups(end)

    def _full_segment_end(self) -> int | None:
        """Where the segment from ``_durable_until`` ends once it holds ``LOOKUP_SEGMENT_ROWS`` rows or
        ``LOOKUP_SEGMENT_CHARS`` characters of entries, if the blocks stored without a gap reach that
        far. Counted in row order from the part's first row, so a part redone from the same row
        ends its segments where the first attempt did: the same lookup items."""
        rows = chars = 0
        start = self._durable_until
        while start < self._stored_until and self._segment is None:
            block = self._gathered[start]
            rows, chars, start = rows + block.rows, chars + len(block.entries), start + block.rows
            if rows >= LOOKUP_SEGMENT_ROWS or chars >= LOOKUP_SEGMENT_CHARS:
                return start
        return None

    def _write_lookups(self, end: int | None = None) -> None:
        """Writes the entries of the blocks stored without a gap from ``_durable_until`` (to ``end``,
        a block's end; by default all of them) as one segment; what it wrote then counts as
        durable. When some of its batches fail, the segment waits with those alone (the others are
        stored, and writing them again would change nothing), for the next call to finish."""
        if self._segment is None:
            end = self._stored_until if end is None else end
            if end <= self._durable_until or self._block_rows is None:
                return
            starts = sorted(start for start in self._gathered if start < end)
            requests = self.layout.lookup_items(
                self._durable_until, self._block_rows, (self._gathered[start] for start in starts)
            )
            batches = [
                requests[offset : offset + BATCH_SIZE] for offset in range(0, len(requests), BATCH_SIZE)
            ]
            self._segment = (end, batches)
        end, batches = self._segment
        failed: list[list[dict[str, Any]]] = []
        failure: Exception | None = None
        if self._executor is None or len(batches) < 2:
            for batch in batches:
                try:
                    self._writer.write_batch(batch)
                except Exception as error:
                    failed.append(batch)
                    failure = failure or error
        else:
            tasks = [self._executor.submit(self._writer.write_batch, batch) for batch in batches]
            wait(tasks)
            for task, batch in zip(tasks, batches, strict=True):
                outcome = task.exception()
                if isinstance(outcome, Exception):
                    failed.append(batch)
                    failure = failure or outcome
                elif outcome is not None:
                    raise outcome  # not a failure of the write: the process is going
        if failure is not None:
            self._segment = (end, failed)
            raise failure
        self._segment = None
        for start in [start for start in self._gathered if start < end]:
            del self._gathered[start]
        self._durable_until = end

    def _collect(self, how: str) -> None:
        done, _ = wait(self._pending, return_when=how)
        failure = self._account(done)
        if failure is not None:
            raise failure  # a block's failure fails the part (resumed from the checkpoint)

    def _account(self, done: Iterable[Future[BlockLookups]]) -> BaseException | None:
        """Takes finished blocks off the pending ones, keeps the stored ones' entries; the first failure."""
        failure: BaseException | None = None
        for task in done:
            span = self._pending.pop(task)
            if task.cancelled():
                continue
            error = task.exception()
            if error is not None:
                failure = failure or error
                continue
            lookups = task.result()
            self._gathered[lookups.start] = lookups
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
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None  # ``settle`` writes in this thread from now on


class ReportRowReader:
    """Reads a report's stored rows back as dicts: all of them (its blocks in order), or those whose
    lookup value is one value (one Query, then one GetObject per block holding a match)."""

    def __init__(
        self,
        rows_table: str,
        bucket: str,
        *,
        s3: Callable[[], Any] = lambda: aws.client("s3"),
        dynamodb: Callable[[], Any] = lambda: aws.client("dynamodb"),
    ) -> None:
        self._table = rows_table
        self._bucket = bucket
        self._s3 = s3
        self._dynamodb = dynamodb

    def rows(self, seller_key: str, report_id: str) -> Iterator[dict[str, Any]]:
        """Every stored row of a report, in the document's order."""
        prefix = blocks_prefix(seller_key, report_id)
        following = 0  # the index of the next row to yield
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for entry in page.get("Contents", []):  # S3 lists keys in order: zero-padded row indexes
                start = int(entry["Key"][len(prefix) :].split(".", 1)[0])
                rows = self._block(entry["Key"])
                # A block that begins before the rows already read (written with another block size) overlaps.
                yield from rows[max(0, following - start) :]
                following = max(following, start + len(rows))

    def find(self, seller_key: str, report_id: str, value: str) -> list[dict[str, Any]]:
        """The rows whose lookup value is ``value`` (a SKU, an ASIN or an order id, as the report
        type's ``lookup_column`` says), in the document's order; none for a value that gets no
        entry (``lookup_value_accepted``)."""
        if not lookup_value_accepted(value):
            return []
        blocks: dict[int, list[int]] = {}  # block start -> row indexes found in it
        seen: set[int] = set()
        paginator = self._dynamodb().get_paginator("query")
        prefix = value + "\t"
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={
                ":pk": {"S": lookup_partition(seller_key, report_id, lookup_bucket(value))}
            },
        ):
            for item in page["Items"]:
                segment = int(item["sk"]["S"].split("#", 1)[0])
                block_rows = int(item["block_rows"]["N"])
                for entry in item["entries"]["S"].split("\n"):
                    if entry.startswith(prefix):
                        index = int(entry[len(prefix) :])
                        if index not in seen:  # a piece a redone part left names the same rows
                            seen.add(index)
                            start = segment + (index - segment) // block_rows * block_rows
                            blocks.setdefault(start, []).append(index)
        found: list[tuple[int, dict[str, Any]]] = []
        for start, indexes in blocks.items():
            rows = self._block(block_key(seller_key, report_id, start))
            found += [(index, rows[index - start]) for index in indexes if index - start < len(rows)]
        return [row for _, row in sorted(found, key=_first)]

    def _block(self, key: str) -> list[dict[str, Any]]:
        response = self._s3().get_object(Bucket=self._bucket, Key=key)
        text = gzip.decompress(response["Body"].read()).decode("utf-8")
        lines = text.split("\n")
        if lines and not lines[-1]:
            lines.pop()
        if str(response.get("ContentType", "")).startswith("application/x-ndjson"):
            return [json.loads(line) for line in lines]
        if not lines:
            return []
        columns = lines[0].split("\t")
        return [dict(zip(columns, line.split("\t"), strict=False)) for line in lines[1:]]
