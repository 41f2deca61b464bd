"""Report rows without AWS: S3 blocks (keys, content), packed lookups (buckets, pieces, values
refused), the parallel writer (retries, gaps, what counts as stored) and the reader (dedupe)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sellerstream.adapters import reports
from sellerstream.adapters.reports import (
    JSONL_CONTENT_TYPE,
    LOOKUP_PIECE_BYTES,
    MAX_WRITE_ATTEMPTS,
    TSV_CONTENT_TYPE,
    ReportRowReader,
    ReportRowWriter,
    RowLayout,
    UnprocessedItemsError,
    block_key,
)
from sellerstream.domain.reports import (
    LOOKUP_BUCKETS,
    MAX_LOOKUP_VALUE_CHARS,
    ReportRows,
    lookup_bucket,
    lookup_column,
)

COLUMNS = ("seller-sku", "asin1", "item-name")
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


def rows(columns: tuple[str, ...] = COLUMNS, report_type: str = LISTINGS) -> ReportRows:
    """What the use case decides about a report's rows; the writer lays them out."""
    return ReportRows(
        seller_key="A1SELLER",
        report_id="R1",
        report_type=report_type,
        expires_at=1_800_000_000,
        lookup=lookup_column(report_type, columns) if columns else None,
        columns=columns,
    )


def layout(columns: tuple[str, ...] = COLUMNS, report_type: str = LISTINGS) -> RowLayout:
    return RowLayout.of(rows(columns, report_type))


def lines(count: int, start: int = 0) -> list[str]:
    return [f"SKU-{index}\tB0{index}\tname {index}" for index in range(start, start + count)]


def entries_of(requests: list[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """Each lookup item's entries, by its keys ("pk sk")."""
    found = {}
    for request in requests:
        item = request["PutRequest"]["Item"]
        text = item["entries"]["S"]
        parsed = [(value, int(index)) for value, index in (line.split("\t") for line in text.split("\n"))]
        found[f"{item['pk']['S']} {item['sk']['S']}"] = parsed
    return found


# -- blocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [0, 1_000, 123_456_000, 9_999_999_000])
def test_given_a_block_start_then_its_key_is_the_zero_padded_first_row_under_the_reports_prefix(
    start: int,
) -> None:
    assert block_key("A1SELLER", "R1", start) == f"rows/A1SELLER/R1/{start:010d}.gz"
    assert layout().block_key(start) == block_key("A1SELLER", "R1", start)


def test_given_flat_file_lines_when_blocked_then_gzip_of_the_header_and_the_lines() -> None:
    block = lines(3)

    body, content_type = layout().block(block)

    assert content_type == TSV_CONTENT_TYPE
    assert gzip.decompress(body).decode() == "seller-sku\tasin1\titem-name\n" + "\n".join(block) + "\n"


def test_given_the_same_rows_blocked_twice_then_the_same_bytes_with_no_time_in_the_header() -> None:
    first, _ = layout().block(lines(500))
    again, _ = layout().block(lines(500))

    assert first == again
    assert first[:2] == b"\x1f\x8b" and first[4:8] == b"\x00\x00\x00\x00"  # gzip's MTIME: none


def test_given_json_elements_when_blocked_then_json_lines_that_read_back_as_the_elements() -> None:
    elements = [
        {"amazonOrderId": "111-0000000-0000001", "buyerName": "Está Piña", "items": [1, 2]},
        {"a": None},
    ]

    body, content_type = layout(columns=(), report_type="GET_ORDER_REPORT_DATA_SHIPPING").block(elements)

    text = gzip.decompress(body).decode()
    assert content_type == JSONL_CONTENT_TYPE and text.count("\n") == 2 and "Está Piña" in text
    assert [json.loads(line) for line in text.splitlines()] == elements


def test_given_a_json_string_with_a_lone_surrogate_when_blocked_then_kept_escaped() -> None:
    elements = [{"orderId": "1", "note": "\ud800"}]

    body, _ = layout(columns=(), report_type="GET_ORDER_REPORT_DATA_SHIPPING").block(elements)

    assert [json.loads(line) for line in gzip.decompress(body).decode("ascii").splitlines()] == elements


# -- lookups -------------------------------------------------------------------------------------


def test_given_a_value_then_its_bucket_is_crc32_of_its_utf8_among_1024() -> None:
    assert LOOKUP_BUCKETS == 1024
    assert lookup_bucket("SKU-00000017") == zlib.crc32(b"SKU-00000017") % 1024
    assert lookup_bucket("抹茶ラテ") == zlib.crc32("抹茶ラテ".encode()) % 1024


def test_given_other_processes_then_every_value_has_the_same_bucket() -> None:
    values = ["SKU-1", "111-0000000-0000001", "B0C1234567", "抹茶ラテ"]
    script = (
        "import json, sys; from sellerstream.domain.reports import lookup_bucket; "
        "print(json.dumps([lookup_bucket(v) for v in json.loads(sys.argv[1])]))"
    )

    answers = {
        seed: subprocess.run(
            [sys.executable, "-c", script, json.dumps(values)],
            check=True,
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": ":".join(sys.path)},
        ).stdout
        for seed in ("1", "2")
    }

    assert json.loads(answers["1"]) == json.loads(answers["2"]) == [lookup_bucket(value) for value in values]


def test_given_a_block_when_its_lookups_are_gathered_then_one_entry_per_row_in_its_values_bucket() -> None:
    gathered = layout().block_lookups(2_000, lines(5, start=2_000))

    entries = gathered.entries.split("\n")
    assert entries == [f"SKU-{index}\t{index}" for index in range(2_000, 2_005)]
    assert list(gathered.buckets) == [lookup_bucket(f"SKU-{index}") for index in range(2_000, 2_005)]
    assert (gathered.start, gathered.rows) == (2_000, 5)


def test_given_blocks_when_lookup_items_are_built_then_keyed_by_bucket_and_segment_in_row_order() -> None:
    block_layout = layout()
    blocks = [block_layout.block_lookups(start, lines(1_000, start)) for start in (5_000, 6_000)]

    requests = block_layout.lookup_items(5_000, 1_000, blocks)

    items = [request["PutRequest"]["Item"] for request in requests]
    bucket = lookup_bucket("SKU-5017")
    [item] = [item for item in items if item["pk"]["S"] == f"LOOKUP#A1SELLER#R1#{bucket:04d}"]
    assert item["sk"]["S"] == "0000005000#000"
    assert (item["block_rows"], item["expires_at"]) == ({"N": "1000"}, {"N": "1800000000"})
    indexes = [int(line.split("\t")[1]) for line in item["entries"]["S"].split("\n")]
    assert "SKU-5017\t5017" in item["entries"]["S"].split("\n") and indexes == sorted(indexes)
    every = [entry for found in entries_of(requests).values() for entry in found]
    assert sorted(index for _, index in every) == list(range(5_000, 7_000))
    assert len({item["pk"]["S"] for item in items}) == len(items) <= LOOKUP_BUCKETS


def test_given_a_bucket_holding_more_than_a_piece_then_split_between_entries_under_its_limit() -> None:
    long_value = "S" * 1_000  # every row the same value: one bucket, ~1 KB an entry
    block_layout = layout()
    block = [f"{long_value}\tB\tn"] * 600

    requests = block_layout.lookup_items(0, 600, [block_layout.block_lookups(0, block)])

    pieces = entries_of(requests)
    bucket = f"LOOKUP#A1SELLER#R1#{lookup_bucket(long_value):04d}"
    assert list(pieces) == [f"{bucket} 0000000000#{piece:03d}" for piece in range(len(pieces))]
    assert len(pieces) == 3
    assert [index for found in pieces.values() for _, index in found] == list(range(600))
    for request in requests:
        assert len(request["PutRequest"]["Item"]["entries"]["S"].encode()) <= LOOKUP_PIECE_BYTES


@pytest.mark.parametrize(
    "cell",
    ["", "x" * (MAX_LOOKUP_VALUE_CHARS + 1)],
    ids=["empty", "too-long"],
)
def test_given_a_flat_file_value_that_cannot_be_an_entry_then_its_row_has_none_but_is_in_the_block(
    cell: str,
) -> None:
    block = ["SKU-1\tB01\tn", f"{cell}\tB02\tn", "SKU-3\tB03"]

    gathered = layout().block_lookups(0, block)

    assert gathered.entries.split("\n") == ["SKU-1\t0", "SKU-3\t2"] and len(gathered.buckets) == 2
    assert gzip.decompress(layout().block(block)[0]).decode().count("\n") == 4


def test_given_the_lookup_column_not_first_and_short_lines_then_its_cells_are_the_values() -> None:
    columns = ("item-name", "asin1", "seller-sku", "price")

    gathered = layout(columns=columns).block_lookups(
        0, ["Mug\tB01\tSKU-1\t9.99", "Cup\tB02", "Pot\tB03\tSKU-3"]
    )

    assert gathered.entries.split("\n") == ["SKU-1\t0", "SKU-3\t2"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "has\ttab",
        "has\nnewline",
        "has\rreturn",
        "x" * (MAX_LOOKUP_VALUE_CHARS + 1),
        "\udcff",
        True,
        1.5,
        None,
    ],
    ids=["empty", "tab", "newline", "return", "too-long", "surrogate", "bool", "float", "null"],
)
def test_given_a_json_value_that_cannot_be_an_entry_then_its_element_has_none(value: Any) -> None:
    orders = layout(columns=(), report_type="GET_ORDER_REPORT_DATA_SHIPPING")

    gathered = orders.block_lookups(0, [{"amazonOrderId": "111-1"}, {"amazonOrderId": value}, {"orderId": 7}])

    assert gathered.entries.split("\n") == ["111-1\t0", "7\t2"]


def test_given_a_report_without_a_lookup_column_then_no_entries() -> None:
    gathered = layout(columns=("settlement-id", "total")).block_lookups(0, ["S1\t10.00", "S2\t5.00"])

    assert (gathered.entries, len(gathered.buckets)) == ("", 0)
    assert layout().lookup_items(0, 2, [gathered]) == []


# -- the writer ----------------------------------------------------------------------------------


class InMemoryAws:
    """S3 PutObject/GetObject/ListObjectsV2 and DynamoDB BatchWriteItem/Query over dicts; a script
    answers BatchWriteItem: "ok", "half" (second half unprocessed), "throttle", "fail" (a
    ValidationException), "error" (an InternalServerError that outlived the SDK's retries); blocks
    whose first row is in ``failing_blocks`` fail with an InternalError."""

    def __init__(self, script: list[str] | None = None) -> None:
        self.script = list(script or [])
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.batch_calls: list[int] = []
        self.failing_blocks: set[int] = set()
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        if int(Key.rsplit("/", 1)[1].split(".", maxsplit=1)[0]) in self.failing_blocks:
            raise ClientError({"Error": {"Code": "InternalError"}}, "PutObject")
        with self._lock:
            self.objects[Key] = (Body, ContentType)
        return {"ETag": '"x"'}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append("GetObject")
        body, content_type = self.objects[Key]
        return {"Body": io.BytesIO(body), "ContentType": content_type}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        with self._lock:
            self.batch_calls.append(len(requests))
            step = self.script.pop(0) if self.script else "ok"
        if step == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchWriteItem")
        if step == "fail":
            raise ClientError({"Error": {"Code": "ValidationException"}}, "BatchWriteItem")
        if step == "error":
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchWriteItem")
        keep = requests[: len(requests) // 2] if step == "half" else requests
        with self._lock:
            for request in keep:
                item = request["PutRequest"]["Item"]
                self.items[(item["pk"]["S"], item["sk"]["S"])] = item
        rest = requests[len(keep) :]
        return {"UnprocessedItems": {table: rest} if rest else {}}

    def get_paginator(self, operation: str) -> Any:
        aws = self

        class Pages:
            def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
                aws.calls.append(operation)
                if operation == "query":
                    pk = request["ExpressionAttributeValues"][":pk"]["S"]
                    yield {"Items": [item for (p, _), item in sorted(aws.items.items()) if p == pk]}
                else:
                    keys = sorted(key for key in aws.objects if key.startswith(request["Prefix"]))
                    yield {"Contents": [{"Key": key} for key in keys]}

        return Pages()

    def indexes_found(self) -> list[int]:
        """Every row index the lookup items name, as often as they name it."""
        return sorted(
            int(line.rsplit("\t", 1)[1])
            for item in self.items.values()
            for line in item["entries"]["S"].split("\n")
        )


class InlineExecutor(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def writer(aws: InMemoryAws, sleeps: list[float] | None = None, parallelism: int = 4) -> ReportRowWriter:
    return ReportRowWriter(
        "bucket",
        "rows",
        parallelism=parallelism,
        sleep=(sleeps if sleeps is not None else []).append,
        executor_factory=lambda n: InlineExecutor(),
        s3=lambda: aws,
        dynamodb=lambda: aws,
    )


def reader(aws: InMemoryAws) -> ReportRowReader:
    return ReportRowReader("rows", "bucket", s3=lambda: aws, dynamodb=lambda: aws)


def test_given_blocks_when_written_then_one_object_each_and_their_lookups_once_flushed() -> None:
    aws = InMemoryAws()

    with writer(aws).open(rows()) as batches:
        batches.write(0, lines(1_000))
        batches.write(1_000, lines(500, 1_000))
        assert aws.items == {} and batches.stored == 0  # lookups wait for the part's end

    assert sorted(aws.objects) == ["rows/A1SELLER/R1/0000000000.gz", "rows/A1SELLER/R1/0000001000.gz"]
    assert aws.indexes_found() == list(range(1_500)) and batches.stored == 1_500
    assert all(sk.endswith("#000") and sk.startswith("0000000000#") for _, sk in aws.items)


def test_given_blocks_that_do_not_follow_each_other_then_refused() -> None:
    aws = InMemoryAws()

    with pytest.raises(ValueError, match="does not follow"), writer(aws).open(rows()) as batches:
        batches.write(0, lines(1_000))
        batches.write(2_000, lines(1_000, 2_000))
    with pytest.raises(ValueError, match="only the last block"), writer(aws).open(rows()) as batches:
        batches.write(0, lines(1_000))
        batches.write(1_000, lines(500, 1_000))
        batches.write(1_500, lines(1_000, 1_500))


def test_given_unprocessed_items_and_throttling_when_lookups_are_written_then_retried_with_backoff() -> None:
    aws, sleeps = InMemoryAws(["half", "throttle", "ok"]), []

    with writer(aws, sleeps).open(rows()) as batches:
        batches.write(0, lines(1_000))

    assert aws.indexes_found() == list(range(1_000))
    assert aws.batch_calls[:3] == [25, 13, 13]  # the unprocessed half went again, after a throttled try
    assert len(sleeps) == 2 and all(0 <= delay <= 5 for delay in sleeps)


def test_given_dynamodb_keeps_throttling_then_unprocessed_error_after_bounded_attempts() -> None:
    aws = InMemoryAws(["throttle"] * 100)

    with pytest.raises(UnprocessedItemsError), writer(aws).open(rows()) as batches:
        batches.write(0, lines(3))

    assert len(aws.batch_calls) == MAX_WRITE_ATTEMPTS and batches.stored == 0


def test_given_a_validation_error_then_raised_at_once() -> None:
    aws = InMemoryAws(["fail"])

    with pytest.raises(ClientError), writer(aws).open(rows()) as batches:
        batches.write(0, lines(3))

    assert len(aws.batch_calls) == 1


def test_given_a_block_failing_between_stored_ones_then_settle_makes_the_blocks_before_the_gap_findable() -> (
    None
):
    aws = InMemoryAws()
    aws.failing_blocks = {1_000}

    with pytest.raises(ClientError), writer(aws).open(rows()) as batches:
        for start in range(0, 3_000, 1_000):
            batches.write(start, lines(1_000, start))

    assert "rows/A1SELLER/R1/0000002000.gz" in aws.objects  # stored past the gap: written again later
    assert batches.settle() == 1_000 == batches.stored
    assert aws.indexes_found() == list(range(1_000))  # nothing findable past the gap


def test_given_a_failure_and_the_lookups_failing_too_then_settle_counts_only_what_was_durable() -> None:
    aws = InMemoryAws(["error"] * 5)  # the first five lookup batches fail
    aws.failing_blocks = {1_000}

    with pytest.raises(ClientError), writer(aws).open(rows()) as batches:
        batches.write(0, lines(1_000))
        batches.write(1_000, lines(1_000, 1_000))

    assert batches.settle() == 0  # some of the block's lookups are stored: not enough to count it
    written = len(aws.batch_calls)
    assert batches.settle() == 1_000 and aws.indexes_found() == list(range(1_000))
    assert len(aws.batch_calls) - written == 5  # only the batches that failed were written again


def test_given_more_rows_than_a_segment_then_lookups_are_written_as_they_go_from_each_segments_first_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reports, "LOOKUP_SEGMENT_ROWS", 2_000)
    aws = InMemoryAws()

    with writer(aws, parallelism=1).open(rows()) as batches:  # two blocks in flight at most
        for start in range(10_000, 15_000, 1_000):
            batches.write(start, lines(1_000, start))
            if start == 12_000:
                assert batches.stored == 2_000  # the first segment's lookups are stored already

    assert {sk.split("#")[0] for _, sk in aws.items} == {"0000010000", "0000012000", "0000014000"}
    assert aws.indexes_found() == list(range(10_000, 15_000))
    # However the blocks finish, a part's segments end where its rows say: the same items.
    again = InMemoryAws()
    with writer(again, parallelism=8).open(rows()) as batches:
        for start in range(10_000, 15_000, 1_000):
            batches.write(start, lines(1_000, start))
    assert again.items == aws.items


def test_given_a_failure_after_more_rows_than_a_segment_then_settle_writes_whole_segments_then_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reports, "LOOKUP_SEGMENT_ROWS", 2_000)
    aws = InMemoryAws()
    aws.failing_blocks = {5_000}

    with pytest.raises(ClientError), writer(aws, parallelism=8).open(rows()) as batches:
        for start in range(0, 6_000, 1_000):
            batches.write(start, lines(1_000, start))

    assert batches.stored == 0 and batches.settle() == 5_000
    assert {sk.split("#")[0] for _, sk in aws.items} == {"0000000000", "0000002000", "0000004000"}
    assert aws.indexes_found() == list(range(5_000))


def test_given_threads_when_written_then_never_more_blocks_in_flight_than_allowed() -> None:
    in_flight, peak, lock = 0, 0, threading.Lock()
    release = threading.Event()

    class SlowS3(InMemoryAws):
        def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            release.wait(0.01)
            with lock:
                in_flight -= 1
            return super().put_object(Bucket, Key, Body, ContentType)

    aws = SlowS3()
    row_writer = ReportRowWriter("bucket", "rows", parallelism=3, s3=lambda: aws, dynamodb=lambda: aws)
    with row_writer.open(rows()) as batches:
        for start in range(0, 20_000, 1_000):
            batches.write(start, lines(1_000, start))

    assert len(aws.objects) == 20 and aws.indexes_found() == list(range(20_000))
    assert 1 <= peak <= 3


# -- the reader ----------------------------------------------------------------------------------


def test_given_stored_blocks_when_read_then_every_row_in_order_as_dicts() -> None:
    aws = InMemoryAws()
    with writer(aws).open(rows()) as batches:
        for start in range(0, 2_500, 1_000):
            batches.write(start, lines(min(1_000, 2_500 - start), start))

    read = list(reader(aws).rows("A1SELLER", "R1"))

    assert [row["seller-sku"] for row in read] == [f"SKU-{index}" for index in range(2_500)]
    assert read[7] == {"seller-sku": "SKU-7", "asin1": "B07", "item-name": "name 7"}


def test_given_a_value_when_found_then_one_query_and_one_get_for_its_block() -> None:
    aws = InMemoryAws()
    with writer(aws).open(rows()) as batches:
        for start in range(0, 5_000, 1_000):
            batches.write(start, lines(1_000, start))
    aws.calls.clear()

    found = reader(aws).find("A1SELLER", "R1", "SKU-3017")

    assert found == [{"seller-sku": "SKU-3017", "asin1": "B03017", "item-name": "name 3017"}]
    assert aws.calls == ["query", "GetObject"]
    assert reader(aws).find("A1SELLER", "R1", "SKU-9999") == []
    assert reader(aws).find("A1SELLER", "R1", "") == []


def test_given_a_part_redone_after_a_crash_left_a_stale_piece_then_each_row_is_found_once() -> None:
    aws = InMemoryAws()
    repeated = ["SKU-SAME\tB\tn"] * 600  # one value: one bucket, one piece
    with writer(aws).open(rows()) as batches:
        batches.write(0, repeated)
    # The crashed attempt had written a second piece naming the same rows.
    [(pk, sk)] = list(aws.items)
    stale = dict(aws.items[(pk, sk)], sk={"S": "0000000000#001"})
    aws.items[(pk, "0000000000#001")] = stale

    found = reader(aws).find("A1SELLER", "R1", "SKU-SAME")

    assert len(found) == 600 and aws.indexes_found().count(0) == 2


def test_given_json_rows_when_found_by_order_id_then_the_elements() -> None:
    aws = InMemoryAws()
    orders = [{"amazonOrderId": f"111-0000000-000000{i}", "buyerName": "Está Piña"} for i in range(3)]
    with writer(aws).open(rows(columns=(), report_type="GET_ORDER_REPORT_DATA_SHIPPING")) as batches:
        batches.write(0, orders)

    assert reader(aws).find("A1SELLER", "R1", "111-0000000-0000001") == [orders[1]]
    assert list(reader(aws).rows("A1SELLER", "R1")) == orders
