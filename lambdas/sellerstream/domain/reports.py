"""Reports: what an ingestion left in a report's record (a checkpoint), and how its rows are laid out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

COMPLETE: Final = "COMPLETE"
IN_PROGRESS: Final = "IN_PROGRESS"
FAILED: Final = "FAILED"

MAX_ROW_SHARDS: Final = 64
# About 10,000 rows of a typical flat file per shard; gzip shrinks Amazon's flat files ~8x.
ROW_SHARD_BYTES: Final = 1 << 20
GZIP_RATIO_ESTIMATE: Final = 8

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
    row_shards: int | None = None  # a resumed ingestion keeps the first part's layout and expiry
    rows_expire_at: int | None = None
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
    report_created: str
    shards: int
    expires_at: int
    lookup: tuple[str, str] | None = None  # (column or JSON key, SKU/ASIN/ORDER)
    columns: tuple[str, ...] = ()


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
        row_shards=int(record["row_shards"]) if record.get("row_shards") else None,
        rows_expire_at=int(record["rows_expire_at"]) if record.get("rows_expire_at") else None,
        stalled_parts=int(record.get("stalled_parts", 0)),
    )
