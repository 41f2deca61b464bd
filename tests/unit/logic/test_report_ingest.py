"""Streaming a report document into numbered rows, with checkpoints."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest

from sellerstream.logic import report_ingest
from sellerstream.logic.report_ingest import (
    CHUNK_ROWS,
    TEXT_BLOCK_CHARS,
    DocumentReadError,
    DocumentRows,
    ingest,
    iter_rows,
    open_document,
    read_rows,
)

FLAT = "sku\tprice\tnote\n" + "".join(f"S{i}\t{i}.00\tline {i}\n" for i in range(1234))


def rows_of(data: bytes, *, compressed: bool, codec: str = "utf-8-sig") -> tuple[str, list[dict[str, Any]]]:
    document_format, content = open_document(io.BytesIO(data), compressed=compressed)
    return document_format, list(iter_rows(document_format, content, codec))


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


@pytest.mark.parametrize("block_chars", [1, 2, 3, 5, 64, TEXT_BLOCK_CHARS])
def test_given_crlf_lone_cr_and_blank_lines_when_read_in_any_block_size_then_same_lines(
    block_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_ingest, "TEXT_BLOCK_CHARS", block_chars)
    data = b"sku\tv\r\nA\t1\r\nB\t2\rC\t3\n\n\r\n\rD\t4 \r\n\r\nE\t5"

    document = read_rows("tsv", io.BytesIO(data))

    assert document.columns == ["sku", "v"]
    assert list(document.rows) == ["A\t1", "B\t2", "C\t3", "D\t4 ", "E\t5"]


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
            read_rows("tsv", content),
            lambda first, rows: written.extend(range(first, first + len(rows))),
            start_row=start,
            should_pause=lambda rows_this_time: rows_this_time >= CHUNK_ROWS,
        )
        start = progress.rows_written
        if progress.complete:
            break

    assert written == list(range(1234))
    assert parts == 2


def test_given_document_ending_exactly_at_pause_when_ingested_then_complete() -> None:
    progress = ingest(
        DocumentRows("json", iter({"a": str(i)} for i in range(CHUNK_ROWS))),
        lambda first, rows: None,
        start_row=0,
        should_pause=lambda rows_this_time: True,
    )

    assert progress.complete and progress.rows_written == CHUNK_ROWS


@pytest.mark.parametrize("compressed", [True, False])
def test_given_empty_document_when_read_then_no_rows(compressed: bool) -> None:
    data = gzip.compress(b"") if compressed else b""

    assert rows_of(data, compressed=compressed)[1] == []


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("cp1252", "Piña colada\tEstá\tcrème brûlée"),
        ("utf-8-sig", "Piña colada\tEstá\tcrème brûlée"),
        ("shift_jis", "抹茶ラテ\t東京\t在庫あり"),
        ("cp932", "①番\t髙橋\t在庫あり"),
        ("euc_jp", "抹茶ラテ\t東京\t在庫あり"),
    ],
)
def test_given_document_in_its_charset_when_read_then_text_round_trips(codec: str, text: str) -> None:
    data = ("a\tb\tc\n" + text + "\n").encode(codec)

    _, rows = rows_of(gzip.compress(data), compressed=True, codec=codec)

    assert rows == [dict(zip("abc", text.split("\t"), strict=True))]


def test_given_cp1252_bytes_read_as_utf8_then_error_names_the_byte_not_the_text() -> None:
    data = "sku\tname\nA-1\tPiña\n".encode("cp1252")

    with pytest.raises(DocumentReadError) as raised:
        rows_of(data, compressed=False)

    assert "0xf1" in str(raised.value) and "Pi" not in str(raised.value)


def test_given_bad_byte_after_many_rows_when_ingested_then_rows_before_are_counted() -> None:
    good = "".join(f"S{i}\tx\n" for i in range(12 * CHUNK_ROWS)).encode()
    assert len(good) > TEXT_BLOCK_CHARS  # the bad byte comes after whole blocks of good rows
    data = b"sku\tv\n" + good + b"S-bad\t\xff\xfe\n"
    written: list[int] = []

    with pytest.raises(DocumentReadError) as raised:
        ingest(
            read_rows("tsv", io.BytesIO(data)),
            lambda first, rows: written.extend(range(first, first + len(rows))),
            start_row=0,
            should_pause=lambda rows_this_time: False,
        )

    assert raised.value.rows_written == len(written) > 0
    assert written == list(range(len(written)))


def test_given_json_document_larger_than_a_read_when_streamed_then_every_element_in_order() -> None:
    elements = [{"sku": f"S{i}", "title": "Crème brûlée " * 20, "price": i / 4} for i in range(3000)]
    data = json.dumps({"reportSpecification": {"reportType": "X"}, "records": elements}).encode("cp1252")

    document_format, content = open_document(io.BytesIO(data), compressed=False)
    rows = list(read_rows(document_format, content, "cp1252").rows)

    assert document_format == "json" and rows == elements


@pytest.mark.parametrize(
    "document",
    [b'[1, 2.5e3, true, null, "x"]', b"  [ ]  ", b'{"a": 1}', b'{"header": {"n": [1]}, "rows": []}', b"42"],
)
def test_given_json_shapes_when_streamed_then_same_rows_as_a_whole_parse(document: bytes) -> None:
    whole = json.loads(document)
    if isinstance(whole, dict):
        lists = [value for value in whole.values() if isinstance(value, list)]
        whole = lists[0] if lists else []
    expected = [e if isinstance(e, dict) else {"value": e} for e in whole] if isinstance(whole, list) else []

    assert rows_of(document, compressed=False)[1] == expected


@pytest.mark.parametrize("document", [b'[{"a": 1}, {"a": ', b'[{"a": 1} {"a": 2}]', b'{"a" 1}'])
def test_given_broken_json_when_streamed_then_document_read_error(document: bytes) -> None:
    with pytest.raises(DocumentReadError):
        rows_of(document, compressed=False)


@pytest.mark.parametrize(
    "document", [b"[1,", b'{"a": 1, "rows": [{"b": 2}', b'{1: [{"a": 1}]}', b'{"a": 1 "b": []}']
)
def test_given_json_broken_at_its_end_or_in_a_member_when_streamed_then_document_read_error(
    document: bytes,
) -> None:
    with pytest.raises(DocumentReadError, match="not valid JSON"):
        list(iter_rows("json", io.BytesIO(document)))


@pytest.mark.parametrize(
    ("document", "rows"),
    [(b"{}", []), (b"42", []), (b"  ", []), (b'{"n": 1, "rows": [{"a": 1}]}', [{"a": 1}])],
)
def test_given_json_without_a_list_or_after_other_members_when_read_then_the_rows_it_holds(
    document: bytes, rows: list[Any]
) -> None:
    assert list(read_rows("json", io.BytesIO(document)).rows) == rows


def test_given_numbers_cut_by_the_read_size_when_streamed_then_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(report_ingest, "READ_BYTES", 3)
    document = json.dumps({"header": 12345678, "rows": [{"price": 1234567.25}, 98765, True]}).encode()

    rows = list(read_rows("json", io.BytesIO(document)).rows)

    assert rows == [{"price": 1234567.25}, {"value": 98765}, {"value": True}]


def test_given_a_json_element_larger_than_allowed_when_ingested_then_refused_with_the_rows_before_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(report_ingest, "READ_BYTES", 64)
    monkeypatch.setattr(report_ingest, "MAX_JSON_VALUE_CHARS", 1000)
    elements = [{"sku": f"S{i}"} for i in range(CHUNK_ROWS)] + [{"title": "x" * 5000}]
    written: list[int] = []

    with pytest.raises(DocumentReadError, match="larger than 1000 characters") as raised:
        ingest(
            read_rows("json", io.BytesIO(json.dumps(elements).encode())),
            lambda first, rows: written.extend(range(first, first + len(rows))),
            start_row=0,
            should_pause=lambda rows_this_time: False,
        )

    assert raised.value.rows_written == len(written) == CHUNK_ROWS


def test_given_a_flat_file_without_a_header_when_read_then_no_rows() -> None:
    document = read_rows("tsv", io.BytesIO(b""))

    assert (document.columns, list(document.rows)) == ([], [])


def test_given_a_resumed_ingestion_when_rows_before_the_checkpoint_exist_then_only_later_rows_are_written() -> (
    None
):
    written: dict[int, str] = {}
    lines = [f"S{i}\tx" for i in range(2500)]

    progress = ingest(
        DocumentRows("tsv", iter(lines), ["sku", "v"]),
        lambda first, rows: written.update(enumerate(rows, first)),
        start_row=2000,
        should_pause=lambda rows_this_time: False,
    )

    assert progress == (2500, True, "tsv")
    assert written == {index: lines[index] for index in range(2000, 2500)}


def test_given_a_flat_file_starting_with_a_blank_line_when_read_then_its_rows_are_not_lost() -> None:
    _, rows = rows_of(b"\r\nsku\tprice\nA-1\t1.00\n", compressed=False)

    assert rows == [{"sku": "A-1", "price": "1.00"}]
