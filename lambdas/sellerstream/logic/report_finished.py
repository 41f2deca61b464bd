"""REPORT_PROCESSING_FINISHED: record the report; for DONE, keep the document and store its rows.

DONE: getReport + getReportDocument, the document is copied to S3 as served (a raw copy a user
can fetch again, and the source a resumed ingestion reads, since Amazon's URL lives five minutes;
its Content-Type, which names the charset, goes with it), then decoded in that charset and
streamed into rows (blocks in S3, lookups in DynamoDB: ``ports.RowStore``). When the invocation's
time runs short, the row count so far (rows whose blocks and lookups are stored) is saved as a
checkpoint and a continuation message re-enters the queue. A document its charset cannot decode
keeps its raw copy and is recorded FAILED with the reason (``ReportDecodeFailures`` metric).
FATAL fetches and summarises the error document; CANCELLED (and any status Amazon adds later) is
recorded as is.

A part is dozens to thousands of DynamoDB and S3 calls, a download and SP-API calls: one error
that outlived the SDK's retries would fail the whole receive, the part would start again from its
last checkpoint a visibility timeout later, and a few such receives in a row would dead-letter a
report no fault of its own broke. So a transient failure (anything that is neither a throttle the
batch defers nor a permanent failure) hands the part over instead: what it stored (getReport's
answer, the raw copy, its layout, the rows stored without a gap: their blocks and, written first,
their lookups) is merged into the record as the checkpoint, and a continuation comes back after a
growing delay as a fresh message, while the interrupted one is done. Bounded: a part that stored
no row counts as stalled, and past ``max_stalled_parts`` stalled parts in a row the report is
dead-lettered (``report_stalled``, with the last error; a redrive resumes from the checkpoint). A
part that stored rows resets the count, so a report always moves forward. A container that dies
mid-part still spends a receive.
"""

from __future__ import annotations

import codecs
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerstream.domain.credentials import SellerCredentials
from sellerstream.domain.reports import (
    COMPLETE,
    FAILED,
    IN_PROGRESS,
    ReportProgress,
    ReportRows,
    lookup_column,
)
from sellerstream.errors import NotReadyError, PermanentFailureError
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.charsets import UnknownCharsetError, charset_of
from sellerstream.logic.dead_letter import permanent_failure, short_detail
from sellerstream.logic.deferral import growing_delay
from sellerstream.logic.report_ingest import DocumentReadError, ingest, open_document, read_rows
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.metric_names import REPORT_DECODE_FAILURES
from sellerstream.notifications import continuation_message
from sellerstream.notifications.report_processing_finished import ReportProcessingFinishedNotification
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import (
    DocumentStore,
    MessageQueue,
    ReportStore,
    RowBatchWriter,
    RowStore,
    SellerDirectory,
)
from sellerstream.spapi import reports as reports_api
from sellerstream.spapi.errors import DocumentUrlExpired, RateBudgetExhausted, SpApiThrottled
from sellerstream.spapi.reports import ReportsApi
from sellerstream.timestamps import sortable_timestamp

# Stop taking new chunks with this much time left: the checkpoint and the continuation need it.
PAUSE_WITH_SECONDS_LEFT = 60.0
ERROR_SUMMARY_CHARS = 1000
# Parts in a row a transient failure may interrupt before they store a row; the next such one
# dead-letters the report. A continuation waits 15-30 s after a part that stored rows, and after
# the n-th stalled part in a row 30 s x 2**n (jittered down to half, at most 900 s): eight stalls
# span some 40 to 75 minutes of an outage.
MAX_STALLED_PARTS = 8
HANDOVER_BASE_SECONDS = 30
# What the batch defers itself (quota spent, Amazon lagging): never handed over (``logic.batch``).
DEFERRED_BY_THE_BATCH = (RateBudgetExhausted, SpApiThrottled, NotReadyError)


class ReportFinishedUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        reports: ReportStore,
        rows: RowStore,
        documents: DocumentStore,
        queue: MessageQueue,
        *,
        rows_retention_days: int = 30,
        max_rows_per_invocation: int | None = None,
        default_charset: str = "UTF-8",
        pause_with_seconds_left: float = PAUSE_WITH_SECONDS_LEFT,
        max_stalled_parts: int = MAX_STALLED_PARTS,
        handover_base_seconds: int = HANDOVER_BASE_SECONDS,
    ) -> None:
        self._credentials = directory
        self._spapi = spapi
        self._reports = reports
        self._rows = rows
        self._documents = documents
        self._queue = queue
        self._rows_retention_days = rows_retention_days
        self._max_rows_per_invocation = max_rows_per_invocation
        self._default_charset = default_charset
        self._pause_with_seconds_left = pause_with_seconds_left
        self._max_stalled_parts = max_stalled_parts
        self._handover_base_seconds = handover_base_seconds

    def apply(
        self, notification: ReportProcessingFinishedNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        report = notification.payload.report
        seller = self._credentials.for_notification(
            seller_id=report.seller_id, subscription_id=notification.subscription_id
        )
        stored = self._reports.progress(seller.seller_key, report.report_id) or ReportProgress()
        if stored.complete:
            return {"report_id": report.report_id, "outcome": "already_complete"}
        base = {
            "report_type": report.report_type,
            "processing_status": report.processing_status,
            "report_document_id": report.report_document_id,
            "account_id": report.account_id,
            "seller_id": report.seller_id,
            "notification_id": notification.notification_id,
            "event_time": sortable_timestamp(notification.event_time),
        }
        if report.processing_status == "DONE" and report.report_document_id:
            return self._ingest(notification, seller, stored, base, remaining_time)
        if report.processing_status == "FATAL" and report.report_document_id:
            api = ReportsApi(self._spapi.client_for(seller, remaining_time))
            base["error_summary"] = self._error_summary(api, report.report_document_id)
        if not self._reports.save(
            seller.seller_key,
            report.report_id,
            {**base, "ingestion_status": COMPLETE, "row_count": 0, "recorded_at": _now()},
        ):
            return {"report_id": report.report_id, "outcome": "already_complete"}
        return {"report_id": report.report_id, "outcome": report.processing_status.lower()}

    def _ingest(
        self,
        notification: ReportProcessingFinishedNotification,
        seller: SellerCredentials,
        stored: ReportProgress,
        base: dict[str, Any],
        remaining_time: RemainingTime,
    ) -> dict[str, Any]:
        started = time.monotonic()
        # Filled in as the part learns it: a part a transient failure interrupts keeps what it got.
        record: dict[str, Any] = {
            **base,
            "parts": stored.parts + 1,
            "first_started_at": stored.first_started_at or _now(),
            "rows_written": stored.rows_written,
        }
        try:
            return self._ingest_part(notification, seller, stored, record, remaining_time, started)
        except DEFERRED_BY_THE_BATCH:
            raise
        except Exception as error:
            if permanent_failure(error) is not None:
                raise
            record["ingest_seconds"] = round(stored.ingest_seconds + time.monotonic() - started, 3)
            return self._hand_over(notification, seller.seller_key, stored, record, error)

    def _ingest_part(
        self,
        notification: ReportProcessingFinishedNotification,
        seller: SellerCredentials,
        stored: ReportProgress,
        record: dict[str, Any],
        remaining_time: RemainingTime,
        started: float,
    ) -> dict[str, Any]:
        report = notification.payload.report
        api = ReportsApi(self._spapi.client_for(seller, remaining_time))
        details = dict(stored.details or _report_details(api.get_report(report.report_id)))
        # getReport is the version of the truth the rows come from; the notification is provenance.
        document_id = str(details.get("reportDocumentId") or report.report_document_id)
        record.update(
            report_type=details.get("reportType") or report.report_type,
            processing_status=details.get("processingStatus") or report.processing_status,
            report_document_id=document_id,
            notification={
                "notification_id": notification.notification_id,
                "report_type": report.report_type,
                "processing_status": report.processing_status,
                "report_document_id": report.report_document_id,
            },
            report=details,
        )
        raw_key, compressed = self._raw_copy(api, seller.seller_key, report.report_id, document_id, stored)
        record["raw_document"] = {"bucket": self._documents.bucket, "key": raw_key, "compressed": compressed}
        start_row = stored.rows_written
        document = self._documents.open(raw_key)
        record["content_type"] = document.content_type
        failure: DocumentReadError | UnknownCharsetError | None = None
        batches: RowBatchWriter | None = None
        try:
            charset = charset_of(document.content_type, self._default_charset)
            record["charset"] = {"declared": charset.declared, "codec": charset.codec}
            document_format, content = open_document(document.body, compressed=compressed)
            rows = read_rows(document_format, content, charset.codec)
            layout = self._row_layout(
                seller.seller_key, report.report_id, str(record["report_type"]), stored, rows.columns
            )
            record.update(_layout_record(layout))
            if document_format in ("tsv", "json"):
                record["row_blocks"] = self._rows.location(seller.seller_key, report.report_id)
            with self._rows.open(layout) as batches:
                try:
                    progress = ingest(
                        rows,
                        batches.write,
                        start_row=start_row,
                        should_pause=lambda rows_this_time: self._should_pause(
                            remaining_time, rows_this_time
                        ),
                    )
                except DocumentReadError as error:
                    batches.flush()  # what was read before the bad byte is stored, lookups too, and counted
                    failure = error
        except DocumentReadError as error:  # the header (or first block) is already undecodable
            error.rows_written = start_row
            failure = error
        except UnknownCharsetError as error:
            failure = error
        except Exception:
            if batches is not None:
                # The checkpoint of a hand-over: the rows stored without a gap, once their lookups
                # are stored too (else only those that already were).
                record["rows_written"] = start_row + batches.settle()
            raise
        finally:
            document.body.close()
        record["ingest_seconds"] = round(stored.ingest_seconds + time.monotonic() - started, 3)
        if failure is not None:
            return self._record_unreadable(notification, seller.seller_key, record, failure, start_row)
        record.update(document_format=progress.document_format, rows_written=progress.rows_written)
        if progress.complete:
            record.update(ingestion_status=COMPLETE, row_count=progress.rows_written, completed_at=_now())
            if not self._reports.save(seller.seller_key, report.report_id, record):
                return {"report_id": report.report_id, "outcome": "already_complete"}
            return {"report_id": report.report_id, "outcome": "written", "rows": progress.rows_written}
        record["ingestion_status"] = IN_PROGRESS
        if not self._reports.save(seller.seller_key, report.report_id, record):
            # Another part finished the report meanwhile: nothing is left to continue.
            return {"report_id": report.report_id, "outcome": "already_complete"}
        # The part travels in a message attribute: the body stays Amazon's notification alone.
        body, attributes = continuation_message(notification, int(record["parts"]))
        self._queue.continue_later(body, attributes)
        return {"report_id": report.report_id, "outcome": "continued", "rows_written": progress.rows_written}

    def _hand_over(
        self,
        notification: ReportProcessingFinishedNotification,
        seller_key: str,
        stored: ReportProgress,
        record: dict[str, Any],
        error: Exception,
    ) -> dict[str, Any]:
        """A transient failure interrupted the part: what it stored becomes the checkpoint and a
        continuation takes over after a growing delay (see the module's docstring)."""
        report = notification.payload.report
        rows_written = int(record["rows_written"])
        stalled = 0 if rows_written > stored.rows_written else stored.stalled_parts + 1
        cause = f"{type(error).__name__}: {short_detail(str(error))}"
        record.update(ingestion_status=IN_PROGRESS, stalled_parts=stalled, interrupted_by=cause)
        if not self._reports.checkpoint(seller_key, report.report_id, record):
            # Another part of this report is further along, or it is finished: it carries on alone.
            return {"report_id": report.report_id, "outcome": "superseded", "rows_written": rows_written}
        if stalled > self._max_stalled_parts:
            raise PermanentFailureError(
                "report_stalled",
                f"report {report.report_id}: {stalled} parts in a row interrupted before storing a row, "
                f"the last by {cause}",
            ) from error
        body, attributes = continuation_message(notification, int(record["parts"]))
        delay = growing_delay(stalled, base_seconds=self._handover_base_seconds)
        self._queue.defer(body, attributes, delay_seconds=delay)
        logger.warning(
            "report part interrupted: progress kept, handed over to a continuation",
            extra={
                "notification_id": notification.notification_id,
                "report_id": report.report_id,
                "part": record["parts"],
                "rows_written": rows_written,
                "stalled_parts": stalled,
                "detail": cause,
                "delay_seconds": delay,
            },
        )
        return {
            "report_id": report.report_id,
            "outcome": "handed_over",
            "rows_written": rows_written,
            "reason": type(error).__name__,
            "delay_seconds": delay,
        }

    def _row_layout(
        self,
        seller_key: str,
        report_id: str,
        report_type: str,
        stored: ReportProgress,
        columns: list[str] | None,
    ) -> ReportRows:
        """Where the rows go. A resumed ingestion reuses the first part's expiry."""
        retention = timedelta(days=self._rows_retention_days)
        expires_at = stored.rows_expire_at or int((datetime.now(UTC) + retention).timestamp())
        return ReportRows(
            seller_key=seller_key,
            report_id=report_id,
            report_type=report_type,
            expires_at=int(expires_at),
            lookup=lookup_column(report_type, columns) if columns else None,
            columns=tuple(columns or ()),
        )

    def _record_unreadable(
        self,
        notification: ReportProcessingFinishedNotification,
        seller_key: str,
        record: dict[str, Any],
        failure: DocumentReadError | UnknownCharsetError,
        start_row: int,
    ) -> dict[str, Any]:
        report = notification.payload.report
        rows_written = failure.rows_written if isinstance(failure, DocumentReadError) else start_row
        record.update(
            ingestion_status=FAILED,
            error=str(failure),
            rows_written=rows_written,
            failed_at=_now(),
        )
        if not self._reports.save(seller_key, report.report_id, record):
            return {"report_id": report.report_id, "outcome": "already_complete"}
        metrics.add_metric(name=REPORT_DECODE_FAILURES, unit=MetricUnit.Count, value=1)
        logger.error(
            "report document unreadable: raw copy kept, report recorded FAILED",
            extra={
                "notification_id": notification.notification_id,
                "report_id": report.report_id,
                "raw_key": record["raw_document"]["key"],
                "content_type": record.get("content_type"),
                "detail": str(failure),
                "rows_written": rows_written,
            },
        )
        return {"report_id": report.report_id, "outcome": "unreadable", "rows_written": rows_written}

    def _should_pause(self, remaining_time: RemainingTime, rows_this_time: int) -> bool:
        limit = self._max_rows_per_invocation
        return remaining_time() < self._pause_with_seconds_left or (
            limit is not None and rows_this_time >= limit
        )

    def _raw_copy(
        self, api: ReportsApi, seller_key: str, report_id: str, document_id: str, stored: ReportProgress
    ) -> tuple[str, bool]:
        existing = stored.raw_document
        if existing is not None and self._documents.exists(existing.key):
            return existing.key, existing.compressed
        document = api.get_report_document(document_id)
        compressed = document.get("compressionAlgorithm") == "GZIP"
        key = f"reports/{seller_key}/{report_id}/{document_id}" + (".gz" if compressed else "")
        try:
            self._download(document["url"], key)
        except DocumentUrlExpired:
            # The URL lives five minutes; a slow start (a throttled getReportDocument) can outlive it.
            self._download(api.get_report_document(document_id)["url"], key)
        return key, compressed

    def _download(self, url: str, key: str) -> None:
        with reports_api.open_document(url) as download:
            self._documents.upload(key, download.body, content_type=download.content_type)

    def _error_summary(self, api: ReportsApi, document_id: str) -> str:
        document = api.get_report_document(document_id)
        with reports_api.open_document(document["url"]) as download:
            raw = download.read(ERROR_SUMMARY_CHARS * 20)
            content_type = download.content_type
        if document.get("compressionAlgorithm") == "GZIP" and raw[:2] == b"\x1f\x8b":
            # A decompressor object tolerates the truncated tail of a large error document.
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, ERROR_SUMMARY_CHARS * 4)
        try:
            charset = charset_of(content_type, self._default_charset)
            # Incremental: a character cut in half by the truncation above is not an error.
            text = codecs.getincrementaldecoder(charset.codec)(errors="strict").decode(raw, final=False)
        except (UnknownCharsetError, UnicodeDecodeError) as error:
            metrics.add_metric(name=REPORT_DECODE_FAILURES, unit=MetricUnit.Count, value=1)
            reason = (
                str(error)
                if isinstance(error, UnknownCharsetError)
                else f"not valid {_codec_name(content_type, self._default_charset)}"
            )
            return f"(error document unreadable: {reason})"
        return " ".join(text.split())[:ERROR_SUMMARY_CHARS]


def _report_details(report: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "reportType",
        "processingStatus",
        "reportDocumentId",
        "createdTime",
        "processingStartTime",
        "processingEndTime",
        "dataStartTime",
        "dataEndTime",
        "marketplaceIds",
    )
    return {key: report[key] for key in keep if key in report}


def _layout_record(layout: ReportRows) -> dict[str, Any]:
    """What readers need to read the rows back (see adapters/reports.py)."""
    record: dict[str, Any] = {"rows_expire_at": layout.expires_at}
    if layout.columns:
        record["columns"] = list(layout.columns)
    if layout.lookup:
        record["lookup"] = {"column": layout.lookup[0], "kind": layout.lookup[1]}
    return record


def _codec_name(content_type: str | None, default: str) -> str:
    try:
        return charset_of(content_type, default).codec
    except UnknownCharsetError:
        return "its charset"


def _now() -> str:
    return sortable_timestamp(datetime.now(UTC))
