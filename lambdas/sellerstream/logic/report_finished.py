"""REPORT_PROCESSING_FINISHED: record the report; for DONE, keep the document and store its rows.

DONE: getReport + getReportDocument, the document is copied to S3 as served (a raw copy a user
can fetch again, and the source a resumed ingestion reads, since Amazon's URL lives five minutes),
then streamed into rows. When the invocation's time runs short, the row count so far is saved as a
checkpoint and a continuation message re-enters the queue. FATAL fetches and summarises the error
document; CANCELLED (and any status Amazon adds later) is recorded as is.
"""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sellerstream import aws
from sellerstream.config import Settings, get_settings, required
from sellerstream.credentials import CredentialsResolver, SellerCredentials
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.report_ingest import ingest, iter_rows, open_document
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications import continuation_message
from sellerstream.notifications.report_processing_finished import (
    REPORT_PROCESSING_FINISHED,
    ReportProcessingFinishedNotification,
)
from sellerstream.spapi import reports as reports_api
from sellerstream.spapi.reports import DocumentUrlExpired, ReportsApi
from sellerstream.store.dynamo import sortable_timestamp
from sellerstream.store.report_documents import ReportDocumentStore
from sellerstream.store.reports import ReportStore, RowWriter

# Stop taking new chunks with this much time left: the checkpoint and the continuation need it.
PAUSE_WITH_SECONDS_LEFT = 60.0
ERROR_SUMMARY_CHARS = 1000
COMPLETE = "COMPLETE"


class ReportFinishedUseCase:
    accepts = frozenset({REPORT_PROCESSING_FINISHED})

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialsResolver,
        spapi: SpApiAccess,
        reports: ReportStore,
        rows: RowWriter,
        documents: ReportDocumentStore,
        *,
        pause_with_seconds_left: float = PAUSE_WITH_SECONDS_LEFT,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._spapi = spapi
        self._reports = reports
        self._rows = rows
        self._documents = documents
        self._pause_with_seconds_left = pause_with_seconds_left

    def apply(
        self, notification: ReportProcessingFinishedNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        report = notification.payload.report
        seller = self._credentials.for_notification(
            seller_id=report.seller_id, subscription_id=notification.subscription_id
        )
        stored = self._reports.get(seller.seller_key, report.report_id) or {}
        if stored.get("ingestion_status") == COMPLETE:
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
        self._reports.save(
            seller.seller_key,
            report.report_id,
            {**base, "ingestion_status": COMPLETE, "row_count": 0, "recorded_at": _now()},
        )
        return {"report_id": report.report_id, "outcome": report.processing_status.lower()}

    def _ingest(
        self,
        notification: ReportProcessingFinishedNotification,
        seller: SellerCredentials,
        stored: dict[str, Any],
        base: dict[str, Any],
        remaining_time: RemainingTime,
    ) -> dict[str, Any]:
        report = notification.payload.report
        document_id = str(report.report_document_id)
        started = time.monotonic()
        api = ReportsApi(self._spapi.client_for(seller, remaining_time))
        details = stored.get("report") or _report_details(api.get_report(report.report_id))
        raw_key, compressed = self._raw_copy(api, seller.seller_key, report.report_id, document_id, stored)
        start_row = int(stored.get("rows_written", 0))
        body = self._documents.open(raw_key)
        try:
            document_format, content = open_document(body, compressed=compressed)
            progress = ingest(
                iter_rows(document_format, content),
                lambda chunk: self._rows.write(seller.seller_key, report.report_id, chunk),
                start_row=start_row,
                should_pause=lambda rows_this_time: self._should_pause(remaining_time, rows_this_time),
                document_format=document_format,
            )
        finally:
            body.close()
        parts = int(stored.get("parts", 0)) + 1
        record = {
            **base,
            "report": details,
            "raw_document": {"bucket": self._documents.bucket, "key": raw_key, "compressed": compressed},
            "document_format": progress.document_format,
            "rows_written": progress.rows_written,
            "parts": parts,
            "ingest_seconds": round(float(stored.get("ingest_seconds", 0)) + time.monotonic() - started, 3),
            "first_started_at": stored.get("first_started_at") or _now(),
        }
        if progress.complete:
            record.update(ingestion_status=COMPLETE, row_count=progress.rows_written, completed_at=_now())
            self._reports.save(seller.seller_key, report.report_id, record)
            return {"report_id": report.report_id, "outcome": "written", "rows": progress.rows_written}
        record["ingestion_status"] = "IN_PROGRESS"
        self._reports.save(seller.seller_key, report.report_id, record)
        # The part travels in a message attribute: the body stays Amazon's notification alone.
        body, attributes = continuation_message(notification, parts)
        aws.client("sqs").send_message(
            QueueUrl=required(self._settings.reports_queue_url, "REPORTS_QUEUE_URL"),
            MessageBody=body,
            MessageAttributes=attributes,
        )
        return {"report_id": report.report_id, "outcome": "continued", "rows_written": progress.rows_written}

    def _should_pause(self, remaining_time: RemainingTime, rows_this_time: int) -> bool:
        limit = self._settings.report_max_rows_per_invocation
        return remaining_time() < self._pause_with_seconds_left or (
            limit is not None and rows_this_time >= limit
        )

    def _raw_copy(
        self, api: ReportsApi, seller_key: str, report_id: str, document_id: str, stored: dict[str, Any]
    ) -> tuple[str, bool]:
        existing = stored.get("raw_document")
        if isinstance(existing, dict) and self._documents.exists(str(existing["key"])):
            return str(existing["key"]), bool(existing["compressed"])
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
        with reports_api.open_document(url) as stream:
            self._documents.upload(key, stream, content_type="application/octet-stream")

    def _error_summary(self, api: ReportsApi, document_id: str) -> str:
        document = api.get_report_document(document_id)
        with reports_api.open_document(document["url"]) as stream:
            raw = stream.read(ERROR_SUMMARY_CHARS * 20)
        if document.get("compressionAlgorithm") == "GZIP" and raw[:2] == b"\x1f\x8b":
            # A decompressor object tolerates the truncated tail of a large error document.
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, ERROR_SUMMARY_CHARS * 4)
        return " ".join(raw.decode("utf-8", errors="replace").split())[:ERROR_SUMMARY_CHARS]


def _report_details(report: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "reportType",
        "processingStatus",
        "createdTime",
        "processingStartTime",
        "processingEndTime",
        "dataStartTime",
        "dataEndTime",
        "marketplaceIds",
    )
    return {key: report[key] for key in keep if key in report}


def _now() -> str:
    return sortable_timestamp(datetime.now(UTC))


@cache
def report_finished_use_case() -> ReportFinishedUseCase:
    settings = get_settings()
    credentials = CredentialsResolver(settings)
    return ReportFinishedUseCase(
        settings,
        credentials,
        SpApiAccess(settings, credentials),
        ReportStore(required(settings.reports_table_name, "REPORTS_TABLE_NAME")),
        RowWriter(required(settings.report_rows_table_name, "REPORT_ROWS_TABLE_NAME")),
        ReportDocumentStore(required(settings.reports_bucket_name, "REPORTS_BUCKET_NAME")),
    )
