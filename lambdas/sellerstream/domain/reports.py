"""Reports: what an ingestion left in a report's record (a checkpoint), and how its rows are laid out."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

COMPLETE: Final = "COMPLETE"
IN_PROGRESS: Final = "IN_PROGRESS"
FAILED: Final = "FAILED"

# A report's lookup values are spread over this many buckets, always the same number: a lookup
# reads one bucket, whatever the report's size.
LOOKUP_BUCKETS: Final = 1024
# A value longer than this (or empty, or holding a tab or a line break) gets no lookup entry.
MAX_LOOKUP_VALUE_CHARS: Final = 1024

# Which column users look a report's rows up by, in order of preference, and what it holds.
LOOKUP_COLUMNS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
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


class RawDocument(NamedTuple):
    """Where the raw copy of a report document is (compressed: as Amazon served it, GZIP)."""

    key: str
    compressed: bool


class ReportProgress(NamedTuple):
    """The checkpoint a report's record holds: where a continuation resumes, what it reuses."""

    status: str | None = None  # COMPLETE, IN_PROGRESS, FAILED (None: never ingested)
    details: Mapping[str, Any] | None = None  # what getReport said, when it was asked
    raw_document: RawDocument | None = None
    rows_written: int = 0
    parts: int = 0  # invocations so far
    first_started_at: str | None = None
    ingest_seconds: float = 0.0
    rows_expire_at: int | None = None  # a resumed ingestion keeps the first part's expiry
    # Parts in a row that a transient failure interrupted before they stored a row (the bound on
    # handing over to a continuation: ``ReportFinishedUseCase``).
    stalled_parts: int = 0

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE


class ReportRows(NamedTuple):
    """Where one report's rows go: deterministic for a report, so a resumed ingestion matches."""

    seller_key: str
    report_id: str
    report_type: str
    expires_at: int
    lookup: tuple[str, str] | None = None  # (column or JSON key, SKU/ASIN/ORDER)
    columns: tuple[str, ...] = ()  # a flat file's header (none: JSON elements)


def lookup_bucket(value: str) -> int:
    """The lookup bucket of a value: CRC-32 of its UTF-8, the same in every process (never
    ``hash()``, which is salted per process)."""
    return zlib.crc32(value.encode("utf-8")) % LOOKUP_BUCKETS


def lookup_value_accepted(value: str) -> bool:
    """Whether a value gets a lookup entry: not empty, at most ``MAX_LOOKUP_VALUE_CHARS``, and no
    tab or line break (an entry is one ``value<TAB>row`` line)."""
    return 0 < len(value) <= MAX_LOOKUP_VALUE_CHARS and not ("\t" in value or "\n" in value or "\r" in value)


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


def progress_of(record: Mapping[str, Any]) -> ReportProgress:
    """The checkpoint a report's record holds (the record is what ``ReportFinishedUseCase`` saves)."""
    raw = record.get("raw_document")
    return ReportProgress(
        status=record.get("ingestion_status"),
        details=record.get("report"),
        raw_document=RawDocument(str(raw["key"]), bool(raw["compressed"]))
        if isinstance(raw, Mapping)
        else None,
        rows_written=int(record.get("rows_written", 0)),
        parts=int(record.get("parts", 0)),
        first_started_at=record.get("first_started_at"),
        ingest_seconds=float(record.get("ingest_seconds", 0)),
        rows_expire_at=int(record["rows_expire_at"]) if record.get("rows_expire_at") else None,
        stalled_parts=int(record.get("stalled_parts", 0)),
    )
