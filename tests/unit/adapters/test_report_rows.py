"""Report row keys (shards, lookup, expiry) and the parallel batch writer, without AWS."""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sellerstream.adapters.reports import (
    MAX_WRITE_ATTEMPTS,
    ROWS_PER_TASK,
    DynamoDBRowWriter,
    RowLayout,
    UnprocessedItemsError,
)
from sellerstream.domain.reports import MAX_ROW_SHARDS, ReportRows, lookup_column, row_shards_for

COLUMNS = ("seller-sku", "asin1", "item-name")


def layout(shards: int = 4, columns: tuple[str, ...] = COLUMNS) -> RowLayout:
    return RowLayout.of(rows(shards, columns))


def rows(shards: int = 4, columns: tuple[str, ...] = COLUMNS) -> ReportRows:
    """What the use case decides about a report's rows; the writer keys them."""
    return ReportRows(
        seller_key="A1SELLER",
        report_id="R1",
        report_type="GET_MERCHANT_LISTINGS_ALL_DATA",
        report_created="2025-07-14T03:35:13Z",
        shards=shards,
        expires_at=1_800_000_000,
        lookup=lookup_column("GET_MERCHANT_LISTINGS_ALL_DATA", columns),
        columns=columns,
    )


def items(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [request["PutRequest"]["Item"] for request in requests]


def test_given_rows_when_keyed_then_each_row_index_goes_to_its_shard_with_a_sortable_key() -> None:
    lines = [f"SKU-{i}\tB0{i}\tname {i}" for i in range(10)]

    built = items(layout().requests(100, lines))

    assert [item["pk"]["S"] for item in built[:5]] == [
        f"REPORT#A1SELLER#R1#{i % 4:02d}" for i in range(100, 105)
    ]
    assert built[3]["sk"]["S"] == "2025-07-14T03:35:13Z#R1#0000000103"
    assert built[3]["cells"]["S"] == "SKU-3\tB03\tname 3"
    assert {item["expires_at"]["N"] for item in built} == {"1800000000"}


def test_given_same_rows_keyed_twice_then_identical_items() -> None:
    lines = [f"SKU-{i}\tB0{i}\tn" for i in range(50)]

    assert layout().requests(0, lines) == layout().requests(0, lines)


def test_given_listing_rows_when_keyed_then_lookup_by_sku_and_rows_without_one_left_out() -> None:
    built = items(layout().requests(0, ["SKU-1\tB01\tn", "\tB02\tn"]))

    assert built[0]["lookup"]["S"] == "A1SELLER#GET_MERCHANT_LISTINGS_ALL_DATA#SKU#SKU-1"
    assert "lookup" not in built[1]  # an empty key value cannot be indexed


@pytest.mark.parametrize("start", [0, 7, 990, 1_000, 123_456_789, 9_999_999_990])
def test_given_any_start_when_keyed_then_sort_keys_are_the_zero_padded_row_indexes(start: int) -> None:
    lines = [f"SKU-{i}\tB\tn" for i in range(30)]

    built = items(layout().requests(start, lines))

    assert [item["sk"]["S"] for item in built] == [
        f"2025-07-14T03:35:13Z#R1#{index:010d}" for index in range(start, start + 30)
    ]
    assert [item["pk"]["S"] for item in built] == [
        f"REPORT#A1SELLER#R1#{index % 4:02d}" for index in range(start, start + 30)
    ]


def test_given_lookup_column_not_first_when_keyed_then_its_cell_is_the_lookup_and_short_lines_have_none() -> (
    None
):
    columns = ("item-name", "asin1", "seller-sku", "price")
    lines = ["Mug\tB01\tSKU-1\t9.99", "Cup\tB02", "Pot\tB03\tSKU-3"]

    built = items(layout(columns=columns).requests(0, lines))

    assert built[0]["lookup"]["S"] == "A1SELLER#GET_MERCHANT_LISTINGS_ALL_DATA#SKU#SKU-1"
    assert "lookup" not in built[1]
    assert built[2]["lookup"]["S"] == "A1SELLER#GET_MERCHANT_LISTINGS_ALL_DATA#SKU#SKU-3"
    assert [item["cells"]["S"] for item in built] == lines


def test_given_lookup_value_over_dynamodb_key_size_when_keyed_then_row_stored_without_lookup() -> None:
    too_long = "商" * 700  # 700 characters, 2,100 bytes in UTF-8
    lines = ["SKU-1\tB01\tn", f"{too_long}\tB02\tn", f"{'x' * 1025}\tB03\tn"]

    built = items(layout().requests(0, lines))

    assert built[0]["lookup"]["S"].endswith("#SKU-1")
    assert "lookup" not in built[1] and "lookup" not in built[2]
    assert [item["cells"]["S"] for item in built] == lines
    assert all({"pk", "sk", "cells", "expires_at"} <= set(item) for item in built)


def test_given_a_report_without_lookup_column_when_keyed_then_rows_have_keys_cells_and_expiry_only() -> None:
    built = items(layout(columns=("settlement-id", "total")).requests(0, ["S1\t10.00", "S2\t5.00"]))

    assert [set(item) for item in built] == [{"pk", "sk", "cells", "expires_at"}] * 2


def test_given_rows_when_batched_then_batches_of_25_concatenate_to_the_rows_requests() -> None:
    lines = [f"SKU-{i}\tB\tn" for i in range(60)]

    batches = list(layout().request_batches(40, lines))

    assert [len(batch) for batch in batches] == [25, 25, 10]
    assert [request for batch in batches for request in batch] == layout().requests(40, lines)


@pytest.mark.parametrize(
    ("report_type", "columns", "expected"),
    [
        ("GET_MERCHANT_LISTINGS_ALL_DATA", ["item-name", "seller-sku", "asin1"], ("seller-sku", "SKU")),
        ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", ["sku", "fnsku", "asin"], ("sku", "SKU")),
        (
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            ["amazon-order-id", "sku"],
            ("amazon-order-id", "ORDER"),
        ),
        (
            "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
            ["shipment-id", "amazon-order-id"],
            ("amazon-order-id", "ORDER"),
        ),
        ("GET_SOME_ASIN_REPORT", ["asin", "title"], ("asin", "ASIN")),
        ("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", ["settlement-id", "total-amount"], None),
    ],
)
def test_given_report_type_and_columns_then_lookup_column_chosen(
    report_type: str, columns: list[str], expected: tuple[str, str] | None
) -> None:
    assert lookup_column(report_type, columns) == expected


def test_given_document_sizes_then_shards_grow_with_size_within_bounds() -> None:
    assert row_shards_for(2_000, compressed=True) == 1
    small, large = row_shards_for(2 << 20, compressed=True), row_shards_for(20 << 20, compressed=True)
    assert 1 < small < large == MAX_ROW_SHARDS
    assert row_shards_for(20 << 20, compressed=False) < large  # the same bytes hold fewer rows uncompressed


class ScriptedDynamoDB:
    """Answers BatchWriteItem from a script: "ok", "half" (second half unprocessed), "throttle", "fail"
    (a ValidationException), "error" (an InternalServerError that outlived the SDK's retries)."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.calls: list[int] = []
        self.stored: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        with self._lock:
            self.calls.append(len(requests))
            step = self.script.pop(0) if self.script else "ok"
        if step == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchWriteItem")
        if step == "fail":
            raise ClientError({"Error": {"Code": "ValidationException"}}, "BatchWriteItem")
        if step == "error":
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchWriteItem")
        keep = requests[: len(requests) // 2] if step == "half" else requests
        with self._lock:
            self.stored.extend(keep)
        rest = requests[len(keep) :]
        return {"UnprocessedItems": {table: rest} if rest else {}}


class InlineExecutor(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def writer(table: ScriptedDynamoDB, sleeps: list[float], parallelism: int = 4) -> DynamoDBRowWriter:
    return DynamoDBRowWriter(
        "rows",
        parallelism=parallelism,
        sleep=sleeps.append,
        executor_factory=lambda n: InlineExecutor(),
        client=lambda: table,
    )


def test_given_unprocessed_items_and_throttling_when_written_then_retried_with_backoff_until_stored() -> None:
    table, sleeps = ScriptedDynamoDB(["half", "throttle", "ok"]), []
    lines = [f"SKU-{i}\tB\tn" for i in range(60)]

    with writer(table, sleeps).open(rows()) as batches:
        batches.write(0, lines)

    stored = sorted(int(request["PutRequest"]["Item"]["sk"]["S"][-10:]) for request in table.stored)
    assert stored == list(range(60))
    assert table.calls[:3] == [25, 13, 13]  # the unprocessed half went again, after a throttled try
    assert len(sleeps) == 2 and all(0 <= delay <= 5 for delay in sleeps)


def test_given_more_rows_than_a_task_when_written_then_every_row_stored_once_in_batches_of_25() -> None:
    table = ScriptedDynamoDB([])
    lines = [f"SKU-{i}\tB\tn" for i in range(2 * ROWS_PER_TASK + 30)]

    with writer(table, []).open(rows()) as batches:
        batches.write(1_234, lines)

    stored = [int(request["PutRequest"]["Item"]["sk"]["S"][-10:]) for request in table.stored]
    assert stored == list(range(1_234, 1_234 + len(lines)))
    assert max(table.calls) == 25


def test_given_dynamodb_keeps_throttling_then_unprocessed_error_after_bounded_attempts() -> None:
    table, sleeps = ScriptedDynamoDB(["throttle"] * 100), []

    with pytest.raises(UnprocessedItemsError), writer(table, sleeps).open(rows()) as batches:
        batches.write(0, ["SKU-1\tB\tn"])

    assert len(table.calls) == MAX_WRITE_ATTEMPTS


def test_given_a_validation_error_then_raised_at_once() -> None:
    table = ScriptedDynamoDB(["fail"])

    with pytest.raises(ClientError), writer(table, []).open(rows()) as batches:
        batches.write(0, ["SKU-1\tB\tn"])

    assert len(table.calls) == 1


def test_given_a_task_failing_between_stored_ones_then_stored_counts_the_rows_before_the_gap_only() -> None:
    # Three tasks of 200 rows (8 batches each): the second fails at its fourth batch, the third is stored.
    table = ScriptedDynamoDB(["ok"] * 8 + ["ok"] * 3 + ["error"])
    lines = [f"SKU-{i}\tB\tn" for i in range(3 * ROWS_PER_TASK)]

    with pytest.raises(ClientError), writer(table, []).open(rows()) as batches:
        batches.write(1_000, lines)

    stored = {int(request["PutRequest"]["Item"]["sk"]["S"][-10:]) for request in table.stored}
    assert set(range(1_000, 1_000 + ROWS_PER_TASK)) <= stored and 1_000 + 3 * ROWS_PER_TASK - 1 in stored
    assert batches.stored == ROWS_PER_TASK  # a checkpoint past the gap would lose the failed task's rows


def test_given_every_task_stored_then_stored_counts_every_row_from_the_first_write() -> None:
    table = ScriptedDynamoDB([])

    with writer(table, []).open(rows()) as batches:
        assert batches.stored == 0
        batches.write(500, [f"SKU-{i}\tB\tn" for i in range(450)])
        batches.write(950, [f"SKU-{i}\tB\tn" for i in range(50)])

    assert batches.stored == 500


def test_given_threads_when_written_then_never_more_batches_in_flight_than_allowed() -> None:
    in_flight, peak, lock = 0, 0, threading.Lock()
    release = threading.Event()

    class SlowTable(ScriptedDynamoDB):
        def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            release.wait(0.01)
            with lock:
                in_flight -= 1
            return super().batch_write_item(RequestItems)

    table = SlowTable([])
    row_writer = DynamoDBRowWriter("rows", parallelism=3, client=lambda: table)
    with row_writer.open(rows()) as batches:
        batches.write(0, [f"SKU-{i}\tB\tn" for i in range(500)])

    assert len(table.stored) == 500
    assert 1 <= peak <= 3
