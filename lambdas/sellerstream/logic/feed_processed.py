"""FEED_PROCESSING_FINISHED: the feed's record, with its processing report's summary and results.

getFeed first: Amazon's answer is the truth the record keeps (the notification is provenance), and
it names the result document when the notification did not. A feed Amazon still reports IN_QUEUE
or IN_PROGRESS is Amazon's read-after-publish lag: the record waits in the queue (``NotReadyError``).
With a result document (a DONE feed's processing report; a FATAL feed's says why): getFeedDocument,
the download (a fresh URL once when the five-minute one expired), gunzipped, decoded in the charset
its ``Content-Type`` declares, and parsed (``logic.feed_reports``, JSON or XML) into a summary and
one result per message with an issue. A CANCELLED feed, or one without a document, is recorded as
Amazon says.

The record is written once per outcome (``FeedStore.put_if_newer``): a redelivery, a duplicate or
an older notification changes nothing and is answered ``already_recorded``, without SP-API calls
when the stored record already settles it. Each outcome written is one "Feed Processed" event
(``domain.feeds.feed_processed``, from the table's change stream).

Failures: a report that is not what it declares (gzip, charset, JSON, XML) or in neither format
is recorded as such (``UNREADABLE``, ``UNSUPPORTED_FORMAT``, with the reason): retrying cannot read
it, and a redrive after a fix reads it again. Amazon's answers no retry changes (404: no such feed
or document, 403, 400) are permanent (``logic.dead_letter``: dead-lettered at once); a throttle
waits in the queue (``logic.batch``); anything else (5xx, timeouts, an interrupted download) is
transient and the queue retries it.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sellerstream.domain.feeds import (
    NO_DOCUMENT,
    PARSED,
    RETRIED_OUTCOMES,
    UNREADABLE,
    UNSUPPORTED_FORMAT,
    FeedOutcome,
    FeedRecord,
)
from sellerstream.domain.orders import WriteOutcome
from sellerstream.errors import NotReadyError
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.charsets import DEFAULT_REPORT_CHARSET
from sellerstream.logic.feed_reports import (
    MAX_REPORT_BYTES,
    MAX_RESULTS,
    FeedReport,
    FeedReportError,
    UnsupportedReportFormat,
    read_report,
)
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.feed_processing_finished import FeedProcessingFinishedNotification
from sellerstream.observability import logger
from sellerstream.ports import FeedStore, SellerDirectory
from sellerstream.spapi import feeds as feeds_api
from sellerstream.spapi.errors import DocumentUrlExpired, SpApiTimeout
from sellerstream.spapi.feeds import FeedsApi
from sellerstream.spapi.reports import DocumentDownload
from sellerstream.timestamps import sortable_timestamp

# Amazon's statuses of a feed that has not finished: its notification came before getFeed knew.
STILL_PROCESSING: Final = frozenset({"IN_QUEUE", "IN_PROGRESS"})
NOT_READY_WAIT_SECONDS: Final = 30.0
RETENTION_DAYS: Final = 90
READ_BYTES: Final = 1 << 16
# What the record keeps of getFeed's answer (Amazon's ``Feed``).
FEED_FIELDS: Final = (
    "feedId",
    "feedType",
    "marketplaceIds",
    "createdTime",
    "processingStatus",
    "processingStartTime",
    "processingEndTime",
    "resultFeedDocumentId",
)

OpenDocument = Callable[[str], DocumentDownload]


class FeedProcessedUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        feeds: FeedStore,
        *,
        open_document: OpenDocument | None = None,
        default_charset: str = DEFAULT_REPORT_CHARSET,
        retention_days: int = RETENTION_DAYS,
        max_report_bytes: int = MAX_REPORT_BYTES,
        max_results: int = MAX_RESULTS,
    ) -> None:
        """``open_document`` downloads a presigned URL (default: ``spapi.feeds.open_document``);
        ``retention_days``: how long records and results are kept (TTL)."""
        self._directory = directory
        self._spapi = spapi
        self._feeds = feeds
        self._open_document = open_document
        self._default_charset = default_charset
        self._retention_days = retention_days
        self._max_report_bytes = max_report_bytes
        self._max_results = max_results

    def apply(
        self, notification: FeedProcessingFinishedNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        feed = notification.payload.feed
        seller = self._directory.for_notification(
            seller_id=feed.seller_id, subscription_id=notification.subscription_id
        )
        stored = self._feeds.outcome_of(seller.seller_key, feed.feed_id)
        if stored is not None and _settled(stored, notification):
            return {"feed_id": feed.feed_id, "outcome": "already_recorded"}
        api = FeedsApi(self._spapi.client_for(seller, remaining_time))
        details = {name: value for name, value in api.get_feed(feed.feed_id).items() if name in FEED_FIELDS}
        status = str(details["processingStatus"])
        if status in STILL_PROCESSING:
            raise NotReadyError(
                f"feed {feed.feed_id}: getFeed still says {status}, the notification {feed.processing_status}",
                wait_seconds=NOT_READY_WAIT_SECONDS,
            )
        document_id = details.get("resultFeedDocumentId") or feed.result_feed_document_id
        attributes: dict[str, Any] = {
            "feed_type": details.get("feedType") or feed.feed_type,
            "account_id": feed.account_id,
            "seller_id": feed.seller_id,
            "notification_id": notification.notification_id,
            "notification": {
                "notification_id": notification.notification_id,
                "processing_status": feed.processing_status,
                "result_feed_document_id": feed.result_feed_document_id,
            },
            "feed": details,
            "result_feed_document_id": document_id,
        }
        results: tuple[dict[str, Any], ...] = ()
        if not document_id:
            report_status = NO_DOCUMENT
        else:
            report_status, results = self._report(api, str(document_id), attributes)
            if report_status != PARSED:
                logger.error(
                    "feed processing report unreadable: the feed is recorded with the reason",
                    extra={
                        "notification_id": notification.notification_id,
                        "feed_id": feed.feed_id,
                        "report_status": report_status,
                        "content_type": attributes.get("content_type"),
                        "detail": attributes.get("report_error"),
                    },
                )
        now = datetime.now(UTC)
        attributes["recorded_at"] = sortable_timestamp(now)
        record = FeedRecord(
            seller_key=seller.seller_key,
            feed_id=feed.feed_id,
            event_time=notification.event_time,
            processing_status=status,
            report_status=report_status,
            attributes={name: value for name, value in attributes.items() if value is not None},
            results=results,
            expires_at=int((now + timedelta(days=self._retention_days)).timestamp()),
        )
        if self._feeds.put_if_newer(record) is WriteOutcome.STALE:
            return {"feed_id": feed.feed_id, "outcome": "already_recorded"}
        return {
            "feed_id": feed.feed_id,
            "outcome": "recorded",
            "processing_status": status,
            "report_status": report_status,
            "results": len(results),
        }

    def _report(
        self, api: FeedsApi, document_id: str, attributes: dict[str, Any]
    ) -> tuple[str, tuple[dict[str, Any], ...]]:
        """What became of the processing report (``report_status``) and its results; ``attributes``
        gets what was learnt of it."""
        document = api.get_feed_document(document_id)
        attributes["compression"] = document.get("compressionAlgorithm")
        try:
            raw, content_type = self._download(str(document["url"]))
        except DocumentUrlExpired:
            # The URL lives five minutes; a slow start (a throttled getFeedDocument) can outlive it.
            raw, content_type = self._download(str(api.get_feed_document(document_id)["url"]))
        attributes["content_type"] = content_type
        try:
            if len(raw) > self._max_report_bytes:
                raise FeedReportError(f"the report is larger than {self._max_report_bytes} bytes")
            report, charset = read_report(
                raw,
                content_type=content_type,
                default_charset=self._default_charset,
                max_bytes=self._max_report_bytes,
                max_results=self._max_results,
            )
        except UnsupportedReportFormat as error:
            attributes["report_error"] = str(error)
            return UNSUPPORTED_FORMAT, ()
        except FeedReportError as error:
            attributes["report_error"] = str(error)
            return UNREADABLE, ()
        attributes["charset"] = {"declared": charset.declared, "codec": charset.codec}
        attributes.update(_report_attributes(report))
        return PARSED, report.results

    def _download(self, url: str) -> tuple[bytes, str | None]:
        """The document's bytes (at most one more than the limit) and its Content-Type. A download
        cut off midway is transient (``SpApiTimeout``): the queue tries again."""
        opener = self._open_document or feeds_api.open_document
        with opener(url) as download:
            chunks: list[bytes] = []
            size = 0
            try:
                while size <= self._max_report_bytes:
                    chunk = download.read(READ_BYTES)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            except (http.client.HTTPException, OSError) as error:
                raise SpApiTimeout(
                    feeds_api.DOWNLOAD_OPERATION, f"document download interrupted: {type(error).__name__}"
                ) from None
            return b"".join(chunks), download.content_type


def _settled(stored: FeedOutcome, notification: FeedProcessingFinishedNotification) -> bool:
    """Whether the stored record already answers the notification: it came from a newer one, or
    from one with the same status and its report was read (an unreadable one is read again)."""
    if stored.event_time > notification.event_time:
        return True
    if stored.report_status in RETRIED_OUTCOMES:
        return False
    return stored.processing_status == notification.payload.feed.processing_status


def _report_attributes(report: FeedReport) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "report_format": report.document_format,
        "report_header": report.header,
        "summary": report.summary,
        "amazon_summary": report.amazon_summary,
    }
    if report.results_truncated:
        attributes["results_truncated"] = True
    return attributes
