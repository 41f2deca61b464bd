"""Streaming a report document into rows: gunzip as a stream, decode as a stream, write in chunks.

Memory stays flat whatever the document's size or format: bytes flow through gzip and an
incremental decoder, and only one chunk of rows is held at a time. Text is decoded in the charset
the download declared (``logic/charsets.py``), strictly: a byte that charset cannot decode stops
the ingestion with a ``DocumentReadError`` instead of becoming a replacement character.

Tab-delimited flat files (Amazon's header-row format, no quoting) become one row per non-blank
line, kept as the line itself (its cells in the header's order; the header is stored on the report
record). JSON documents become one row per element of their top-level list (or of the first list
member of a top-level object), read element by element with the standard library's decoder over a
sliding buffer. Anything else is kept as the raw copy only.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Callable, Iterator
from itertools import chain, islice
from typing import IO, Any, NamedTuple, cast

from sellerstream.errors import SellerStreamError

CHUNK_ROWS = 1000
SNIFF_BYTES = 4096
READ_BYTES = 1 << 16
TEXT_BLOCK_CHARS = 1 << 16
# One JSON element (or top-level member) larger than this is refused rather than buffered.
MAX_JSON_VALUE_CHARS = 64 << 20
LINE_ENDINGS = "\r\n"


class DocumentReadError(SellerStreamError):
    """The document cannot be read as what it declares (charset or JSON): retrying cannot help.

    The message names the charset and the position, never the document's content.
    """

    def __init__(self, message: str, *, rows_written: int = 0) -> None:
        super().__init__(message)
        self.rows_written = rows_written


class IngestProgress(NamedTuple):
    rows_written: int  # rows stored so far, counting earlier invocations
    complete: bool
    document_format: str


class DocumentRows:
    """A document's rows: ``str`` lines of a flat file (with ``columns``) or ``dict`` JSON elements."""

    __slots__ = ("codec", "columns", "document_format", "rows")

    def __init__(
        self,
        document_format: str,
        rows: Iterator[Any],
        columns: list[str] | None = None,
        codec: str = "utf-8-sig",
    ) -> None:
        self.document_format = document_format
        self.rows = rows
        self.columns = columns
        self.codec = codec


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
    replay = io.BufferedReader(_Peekable(head, content), buffer_size=READ_BYTES)
    return _sniff(head), replay


def _sniff(head: bytes) -> str:
    # The byte order marks and the ASCII structure characters are the same in every charset
    # Amazon uses (ASCII supersets), except UTF-16, whose flat files Amazon does not serve.
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    first_line = text.split(b"\n", 1)[0]
    return "tsv" if b"\t" in first_line else "raw"


def read_rows(document_format: str, content: IO[bytes], codec: str = "utf-8-sig") -> DocumentRows:
    """The rows of a document in ``codec`` (a Python codec name); decoding is strict."""
    if document_format == "tsv":
        text = io.TextIOWrapper(content, encoding=codec, errors="strict", newline="")
        header = _header(codec, text)
        if not header:
            return DocumentRows("tsv", iter(()), [])
        columns = [name.strip() or f"column_{index}" for index, name in enumerate(header.split("\t"))]
        # Lines split a block at a time, iterated at C level; blank lines dropped.
        lines = filter(None, chain.from_iterable(_line_blocks(text)))
        return DocumentRows("tsv", lines, columns, codec)
    if document_format == "json":
        return DocumentRows("json", iter_json_elements(content, codec), None, codec)
    return DocumentRows(document_format, iter(()), None, codec)


def _header(codec: str, text: IO[str]) -> str:
    """The first line that is not blank (the format was sniffed past leading blank lines too)."""
    while line := _decoded(codec, text.readline):
        if line.strip():
            return line.rstrip(LINE_ENDINGS)
    return ""


def _line_blocks(text: IO[str]) -> Iterator[list[str]]:
    """The lines of ``text`` without their endings, a list per block read.

    The line endings of text-mode iteration (``\\n``, ``\\r\\n`` and a lone ``\\r``) end a line,
    so the lines are those of iterating the file; one ``split`` per block is cheaper than a
    ``readline`` and an ``rstrip`` per line. A ``\\r\\n`` cut between two blocks leaves a blank
    line, dropped like any other.
    """
    rest: list[str] = []  # the start of a line that goes on in the next block
    while block := text.read(TEXT_BLOCK_CHARS):
        if "\r" in block:
            block = block.replace("\r\n", "\n").replace("\r", "\n")
        lines = block.split("\n")
        if len(lines) == 1:
            rest.append(block)
            continue
        if rest:
            rest.append(lines[0])
            lines[0] = "".join(rest)
        rest = [lines.pop()]
        yield lines
    yield ["".join(rest)]


def iter_rows(document_format: str, content: IO[bytes], codec: str = "utf-8-sig") -> Iterator[dict[str, Any]]:
    """Rows as dicts (flat-file lines keyed by the header): for tests and tools, not the hot path."""
    document = read_rows(document_format, content, codec)
    try:
        if document.columns is None:
            yield from document.rows
            return
        for line in document.rows:
            yield dict(zip(document.columns, line.split("\t"), strict=False))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _read_error(codec, error) from None


def _decoded(codec: str, read: Callable[[], str]) -> str:
    try:
        return read()
    except UnicodeDecodeError as error:
        raise _decode_error(codec, error) from None


def _read_error(codec: str, error: UnicodeDecodeError | json.JSONDecodeError) -> DocumentReadError:
    if isinstance(error, UnicodeDecodeError):
        return _decode_error(codec, error)
    return DocumentReadError(f"document is not valid JSON ({error.msg})")


def _decode_error(codec: str, error: UnicodeDecodeError) -> DocumentReadError:
    # The offending byte's value only: the text around it may be buyer data.
    byte = error.object[error.start : error.start + 1].hex() if error.object else "?"
    return DocumentReadError(f"document is not valid {codec}: byte 0x{byte} ({error.reason})")


_WHITESPACE = " \t\n\r"


def iter_json_elements(content: IO[bytes], codec: str) -> Iterator[dict[str, Any]]:
    """The elements of a JSON document's top-level list, one at a time (flat memory).

    A top-level object yields the elements of its first member whose value is a list (Amazon's JSON
    reports put a small header object before the records); its other members are read and dropped.
    Non-object elements become ``{"value": element}``.
    """
    reader = _JsonReader(content, codec)
    opening = reader.next_char()
    if opening == "[":
        yield from reader.elements()
        return
    if opening != "{":
        if opening is not None:
            reader.value()  # a scalar document: valid JSON, no rows
        return
    reader.advance(1)
    if reader.next_char() == "}":
        return
    while True:
        if not isinstance(reader.value(), str):  # the member's name
            raise reader.syntax_error("Expecting property name")
        if reader.next_char() != ":":
            raise reader.syntax_error("Expecting ':' delimiter")
        reader.advance(1)
        if reader.next_char() == "[":
            yield from reader.elements()
            return
        reader.value()
        if not reader.separator("}"):
            return


class _JsonReader:
    """``json.JSONDecoder.raw_decode`` over a buffer refilled from an incremental decoder."""

    def __init__(self, content: IO[bytes], codec: str) -> None:
        self._content = content
        self._decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self._json = json.JSONDecoder()
        self.buffer = ""
        self.position = 0
        self._eof = False

    def _fill(self) -> bool:
        """Appends more text (dropping what was consumed); False at the end of the document."""
        if self._eof:
            return False
        data = self._content.read(READ_BYTES)
        self._eof = not data
        self.buffer = self.buffer[self.position :] + self._decoder.decode(data, final=self._eof)
        self.position = 0
        return True

    def next_char(self) -> str | None:
        """The next non-whitespace character, not consumed (None at the end)."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in _WHITESPACE:
                self.position += 1
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if not self._fill():
                return None

    def advance(self, count: int) -> None:
        self.position += count

    def value(self) -> Any:
        """Decodes the next complete JSON value, reading more text until it is whole."""
        self.next_char()
        while True:
            try:
                value, end = self._json.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError:
                if self._fill_more():
                    continue
                raise
            # A number (or literal) that reaches the buffer's end may continue in the next read.
            if end == len(self.buffer) and self._fill_more():
                continue
            self.position = end
            return value

    def _fill_more(self) -> bool:
        # Read at least as much again as is buffered, so a large value costs linear time.
        wanted = max(len(self.buffer) - self.position, READ_BYTES)
        if wanted > MAX_JSON_VALUE_CHARS:
            raise DocumentReadError(f"a JSON value is larger than {MAX_JSON_VALUE_CHARS} characters")
        grew = False
        while len(self.buffer) - self.position < 2 * wanted and self._fill():
            grew = True
        return grew

    def syntax_error(self, message: str) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, self.buffer, self.position)

    def separator(self, closing: str) -> bool:
        """Consumes a ``,`` (True: more follows) or ``closing`` (False: the container ended)."""
        char = self.next_char()
        if char in (",", closing):
            self.advance(1)
            return char == ","
        raise self.syntax_error(f"Expecting ',' or '{closing}'")

    def elements(self) -> Iterator[dict[str, Any]]:
        self.advance(1)  # "["
        if self.next_char() == "]":
            self.advance(1)
            return
        while True:
            element = self.value()
            yield element if isinstance(element, dict) else {"value": element}
            if not self.separator("]"):
                return


def ingest(
    document: DocumentRows,
    write_chunk: Callable[[int, list[Any]], object],
    *,
    start_row: int,
    should_pause: Callable[[int], bool],
) -> IngestProgress:
    """Writes rows from ``start_row`` on, chunk by chunk, until done or ``should_pause(rows written
    by this call)`` says stop. A ``DocumentReadError`` carries the rows written before it."""
    rows = document.rows
    written = start_row
    try:
        # Rows before the checkpoint were stored by an earlier invocation: skip them without writing.
        for _ in islice(rows, start_row):
            pass
        while True:
            chunk = list(islice(rows, CHUNK_ROWS))
            if not chunk:
                return IngestProgress(written, True, document.document_format)
            write_chunk(written, chunk)
            written += len(chunk)
            if should_pause(written - start_row):
                more = next(rows, None) is not None
                return IngestProgress(written, not more, document.document_format)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        # Raised by the rows iterator (C-level for flat files: no per-row wrapper).
        failure = _read_error(document.codec, error)
        failure.rows_written = written
        raise failure from None
    except DocumentReadError as error:
        error.rows_written = written
        raise
