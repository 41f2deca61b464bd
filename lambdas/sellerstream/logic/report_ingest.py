"""Streaming a report document into rows: gunzip as a stream, parse as a stream, write in chunks.

Memory stays flat whatever the document's size: bytes flow through gzip and a csv reader, and
only one chunk of rows is held at a time. Tab-delimited flat files (Amazon's header-row format)
become one row per line; JSON documents become one row per element of their top-level list (JSON
is parsed whole: Amazon's JSON reports are small); anything else is kept as the raw copy only.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, cast

CHUNK_ROWS = 500
SNIFF_BYTES = 4096

# A flat-file cell can exceed csv's 128 KiB default (item descriptions with HTML).
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class IngestProgress:
    rows_written: int  # rows stored so far, counting earlier invocations
    complete: bool
    document_format: str


class _Peekable(io.RawIOBase):
    """A stream whose first bytes were read to sniff the format, replayed before the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_document(stream: IO[bytes], *, compressed: bool) -> tuple[str, IO[bytes]]:
    """The document's format (tsv, json or raw) and a binary stream of its decompressed content."""
    content = cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb")) if compressed else stream
    head = content.read(SNIFF_BYTES)
    replay = io.BufferedReader(_Peekable(head, content), buffer_size=1 << 16)
    return _sniff(head), replay


def _sniff(head: bytes) -> str:
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    first_line = text.split(b"\n", 1)[0]
    return "tsv" if b"\t" in first_line else "raw"


def iter_rows(document_format: str, content: IO[bytes]) -> Iterator[dict[str, Any]]:
    if document_format == "tsv":
        text = io.TextIOWrapper(content, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip() or f"column_{index}" for index, name in enumerate(header)]
        for values in reader:
            if values:
                yield dict(zip(names, values, strict=False))
        return
    if document_format == "json":
        document = json.load(io.TextIOWrapper(content, encoding="utf-8-sig", errors="replace"))
        yield from _json_rows(document)


def _json_rows(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        elements: list[Any] = document
    elif isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        elements = lists[0] if lists else []
    else:
        elements = []
    for element in elements:
        yield element if isinstance(element, dict) else {"value": element}


def ingest(
    rows: Iterator[dict[str, Any]],
    write_chunk: Callable[[list[tuple[int, dict[str, Any]]]], object],
    *,
    start_row: int,
    should_pause: Callable[[int], bool],
    document_format: str,
) -> IngestProgress:
    """Writes rows from ``start_row`` on, chunk by chunk, until done or ``should_pause(rows written
    by this call)`` says stop."""
    numbered = enumerate(rows)
    # Rows before the checkpoint were stored by an earlier invocation: skip them without writing.
    for _ in islice(numbered, start_row):
        pass
    written = start_row
    while True:
        chunk = list(islice(numbered, CHUNK_ROWS))
        if not chunk:
            return IngestProgress(written, True, document_format)
        write_chunk(chunk)
        written = chunk[-1][0] + 1
        if should_pause(written - start_row):
            more = next(numbered, None) is not None
            return IngestProgress(written, not more, document_format)
