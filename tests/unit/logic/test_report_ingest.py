"""Streaming a report document into numbered rows, with checkpoints."""

from __future__ import annotations

import gzip
import io
from typing import Any

import pytest

from sellerstream.logic.report_ingest import CHUNK_ROWS, ingest, iter_rows, open_document

FLAT = "sku\tprice\tnote\n" + "".join(f"S{i}\t{i}.00\tline {i}\n" for i in range(1234))


def rows_of(data: bytes, *, compressed: bool) -> tuple[str, list[dict[str, Any]]]:
    document_format, content = open_document(io.BytesIO(data), compressed=compressed)
    return document_format, list(iter_rows(document_format, content))


def test_given_gzipped_flat_file_when_read_then_header_keys_every_row() -> None:
    document_format, rows = rows_of(gzip.compress(FLAT.encode()), compressed=True)

    assert document_format == "tsv"
    assert len(rows) == 1234
    assert rows[0] == {"sku": "S0", "price": "0.00", "note": "line 0"}
    assert rows[-1]["sku"] == "S1233"


def test_given_quotes_bom_and_blank_header_cells_when_read_then_kept_literally() -> None:
    data = '\ufeffsku\t\tdescription\nA-1\tx\t5" monitor, "great"\n'.encode()

    _, rows = rows_of(data, compressed=False)

    assert rows == [{"sku": "A-1", "column_1": "x", "description": '5" monitor, "great"'}]


def test_given_json_document_when_read_then_one_row_per_list_element() -> None:
    _, rows = rows_of(b'{"header": {"v": 1}, "records": [{"a": 1}, {"a": 2}, 3]}', compressed=False)

    assert rows == [{"a": 1}, {"a": 2}, {"value": 3}]


def test_given_binary_document_when_read_then_raw_with_no_rows() -> None:
    assert rows_of(b"%PDF-1.7\x00\x01", compressed=False) == ("raw", [])


def test_given_pause_after_first_chunk_when_ingested_in_parts_then_every_row_written_once() -> None:
    written: list[int] = []
    parts = 0
    start = 0
    while True:
        parts += 1
        _, content = open_document(io.BytesIO(FLAT.encode()), compressed=False)
        progress = ingest(
            iter_rows("tsv", content),
            lambda chunk: written.extend(index for index, _ in chunk),
            start_row=start,
            should_pause=lambda rows_this_time: rows_this_time >= CHUNK_ROWS,
            document_format="tsv",
        )
        start = progress.rows_written
        if progress.complete:
            break

    assert written == list(range(1234))
    assert parts == 3


def test_given_document_ending_exactly_at_pause_when_ingested_then_complete() -> None:
    progress = ingest(
        iter({"a": str(i)} for i in range(CHUNK_ROWS)),
        lambda chunk: None,
        start_row=0,
        should_pause=lambda rows_this_time: True,
        document_format="tsv",
    )

    assert progress.complete and progress.rows_written == CHUNK_ROWS


@pytest.mark.parametrize("compressed", [True, False])
def test_given_empty_document_when_read_then_no_rows(compressed: bool) -> None:
    data = gzip.compress(b"") if compressed else b""

    assert rows_of(data, compressed=compressed)[1] == []
