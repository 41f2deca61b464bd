"""Feeds API 2021-06-30 (getFeed, getFeedDocument) and the result documents' downloads.

Feeds are seeded (``add_feed``) with their processing report, as Amazon writes one: JSON for JSON
feeds (``JSON_LISTINGS_FEED``: the "Selling Partner JSON Listings Feed Processing Report (v2)"
schema, header, issues and summary), XML for the others (``amzn-envelope.xsd``'s
``ProcessingReport``: ``ProcessingSummary`` and one ``Result`` per issue), built from the issues
given; or exactly the bytes given (a captured document). A FATAL feed's report holds the fatal
error; a CANCELLED feed has none.

getFeed answers Amazon's ``Feed``, getFeedDocument its ``FeedDocument`` (``compressionAlgorithm``
GZIP when the document is gzipped; with ``enableContentEncodingUrlHeader=true`` the download says
``Content-Encoding: gzip`` too). Both answer 404 for an id the caller does not own or that does not
exist. A document is downloaded from ``/_feed-documents/<token>``, a URL that needs no access token
(the token is the credential, like S3's presigned URLs) and expires after five minutes; it is
served with ``Content-Type: text/xml`` or ``application/json`` and the charset it was encoded in.
A feed is served on the endpoint of its marketplaces' region only (any region's when given none).
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from xml.sax.saxutils import escape

from sellerstream_local.emulator.catalog import marketplaces_in
from sellerstream_local.emulator.charsets import DEFAULT_CHARSET, codec_for
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.orders_api import iso
from sellerstream_local.emulator.presigned import ACCESS_DENIED, S3_ERROR_TYPE, PresignedUrls

FEED_DOCUMENT_PATH: Final = "/_feed-documents/"
FINISHED: Final = frozenset({"DONE", "FATAL", "CANCELLED"})
STATUSES: Final = FINISHED | {"IN_QUEUE", "IN_PROGRESS"}  # Amazon's Feed.processingStatus
JSON_FEED_PREFIX: Final = "JSON_"
FATAL_MESSAGE: Final = "The feed could not be processed: its format is not valid."


@dataclass(frozen=True)
class StoredFeed:
    feed_id: str
    feed_type: str
    status: str
    document_id: str | None
    created: datetime
    marketplace_ids: tuple[str, ...] | None  # None: any region's
    owner: str | None = None  # the seller (or vendor account) whose feed it is; None: anyone's


@dataclass(frozen=True)
class StoredFeedDocument:
    body: bytes  # as served: gzipped when ``compressed``
    compressed: bool
    content_type: str | None
    owner: str | None = None


@dataclass
class FeedIssue:
    """One issue of a processing report: Amazon's JSON issue fields (``severity`` ERROR, WARNING or
    INFO); an XML report gives it as a ``Result`` (``ResultCode`` Error or Warning)."""

    message: str
    severity: str = "ERROR"
    message_id: int | None = 1
    sku: str | None = None
    code: str | None = "8560"
    attribute_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def summary_of(messages: int, issues: Sequence[FeedIssue]) -> dict[str, int]:
    """Amazon's counts for ``messages`` messages with these issues (a message with an error is
    invalid; one with only warnings is accepted, with a warning)."""
    errored = {issue.message_id for issue in issues if issue.severity == "ERROR" and issue.message_id}
    warned = {issue.message_id for issue in issues if issue.severity == "WARNING" and issue.message_id}
    return {
        "processed": messages,
        "invalid": len(errored),
        "accepted": max(messages - len(errored), 0),
        "warned": len(warned - errored),
        "errors": sum(1 for issue in issues if issue.severity == "ERROR"),
        "warnings": sum(1 for issue in issues if issue.severity == "WARNING"),
    }


def json_processing_report(
    seller_id: str, feed_id: str, messages: int, issues: Sequence[FeedIssue]
) -> dict[str, Any]:
    """A JSON processing report (Amazon's listings-feed-processing-report-schema-v2)."""
    counts = summary_of(messages, issues)
    rendered = []
    for issue in issues:
        entry: dict[str, Any] = {"severity": issue.severity, "message": issue.message}
        if issue.message_id is not None:
            entry["messageId"] = issue.message_id
        for name, value in (
            ("sku", issue.sku),
            ("code", issue.code),
            ("attributeName", issue.attribute_name),
        ):
            if value is not None:
                entry[name] = value
        rendered.append({**entry, **issue.extra})
    return {
        "header": {"sellerId": seller_id, "version": "2.0", "feedId": feed_id},
        "issues": rendered,
        "summary": {
            "errors": counts["errors"],
            "warnings": counts["warnings"],
            "messagesProcessed": counts["processed"],
            "messagesAccepted": counts["accepted"],
            "messagesInvalid": counts["invalid"],
        },
    }


def xml_processing_report(
    merchant: str, transaction_id: str, messages: int, issues: Sequence[FeedIssue], encoding: str = "UTF-8"
) -> str:
    """An XML processing report (amzn-envelope.xsd's ProcessingReport), declaring ``encoding``."""
    counts = summary_of(messages, issues)
    results = []
    for issue in issues:
        parts = []
        if issue.message_id is not None:
            parts.append(f"<MessageID>{issue.message_id}</MessageID>")
        parts.append(f"<ResultCode>{issue.severity.capitalize()}</ResultCode>")
        if issue.code is not None:
            parts.append(f"<ResultMessageCode>{escape(issue.code)}</ResultMessageCode>")
        parts.append(f"<ResultDescription>{escape(issue.message)}</ResultDescription>")
        if issue.sku is not None:
            parts.append(f"<AdditionalInfo><SKU>{escape(issue.sku)}</SKU></AdditionalInfo>")
        results.append("<Result>" + "".join(parts) + "</Result>")
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
        f"<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>{escape(merchant)}"
        "</MerchantIdentifier></Header>"
        "<MessageType>ProcessingReport</MessageType>"
        "<Message><MessageID>1</MessageID><ProcessingReport>"
        f"<DocumentTransactionID>{escape(transaction_id)}</DocumentTransactionID>"
        "<StatusCode>Complete</StatusCode>"
        "<ProcessingSummary>"
        f"<MessagesProcessed>{counts['processed']}</MessagesProcessed>"
        f"<MessagesSuccessful>{counts['accepted']}</MessagesSuccessful>"
        f"<MessagesWithError>{counts['invalid']}</MessagesWithError>"
        f"<MessagesWithWarning>{counts['warned']}</MessagesWithWarning>"
        "</ProcessingSummary>" + "".join(results) + "</ProcessingReport></Message></AmazonEnvelope>\n"
    )


def _looks_like_json(document: bytes, *, compressed: bool) -> bool:
    """Whether a captured document is JSON (its served type follows), gzip or not; a broken gzip
    is served as it is, as XML."""
    try:
        text = gzip.decompress(document) if compressed else document
    except (OSError, EOFError, zlib.error):
        return False
    return text.lstrip()[:1] == b"{"


class FeedsApi:
    def __init__(self) -> None:
        self._feeds: dict[str, StoredFeed] = {}
        self._documents: dict[str, StoredFeedDocument] = {}
        self._places: dict[str, tuple[str, ...] | None] = {}  # document id -> its feed's marketplaces
        self._lock = threading.Lock()
        self.urls = PresignedUrls()
        self.base_url = ""

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/feeds/2021-06-30/feeds/(?P<feed_id>[^/]+)", "getFeed", self.get_feed),
            Route(
                "GET",
                r"/feeds/2021-06-30/documents/(?P<document_id>[^/]+)",
                "getFeedDocument",
                self.get_document,
            ),
        ]

    def add_feed(
        self,
        feed_id: str,
        *,
        feed_type: str = "POST_PRODUCT_DATA",
        status: str = "DONE",
        document_id: str | None = None,
        messages: int = 1,
        issues: Sequence[FeedIssue] = (),
        report: bytes | str | Mapping[str, Any] | None = None,
        compress: bool = False,
        charset: str | None = DEFAULT_CHARSET,
        content_type: str | None = "",
        owner: str | None = None,
        marketplace_ids: Sequence[str] | None = None,
        created: datetime | None = None,
    ) -> str | None:
        """Registers a feed; returns its result document's id (None: CANCELLED, IN_QUEUE, IN_PROGRESS).

        The DONE or FATAL feed's processing report is ``report`` (bytes served as they are, gzip
        or not as their first bytes say; text encoded in ``charset``; a mapping as JSON), else one
        built for ``messages`` messages with ``issues`` (JSON for JSON_* feed types, XML for the
        others; a FATAL feed's holds its fatal error). It is served with ``content_type``, by
        default its format's type with ``charset`` (none when ``charset`` is None).
        ``marketplace_ids``: the feed's (None: any region's, named by the region's home marketplace,
        the US without a region).
        """
        if status not in STATUSES:
            raise ValueError(f"{status!r} is not one of Amazon's feed statuses: {sorted(STATUSES)}")
        seller = owner or "A1EMULATEDSELLER"
        document: StoredFeedDocument | None = None
        if status in ("DONE", "FATAL"):
            document_id = (
                document_id or f"amzn1.tortuga.4.na.{secrets.token_hex(8)}.T{secrets.token_hex(4).upper()}"
            )
            if status == "FATAL" and report is None:
                issues = [FeedIssue(FATAL_MESSAGE, message_id=None, code="5001")]
                messages = 0
            document = self._document(
                feed_type, seller, feed_id, messages, issues, report, compress, charset, content_type, owner
            )
        else:
            document_id = None
        with self._lock:
            self._feeds[feed_id] = StoredFeed(
                feed_id,
                feed_type,
                status,
                document_id,
                created or datetime.now(UTC).replace(microsecond=0),
                tuple(marketplace_ids) if marketplace_ids is not None else None,
                owner,
            )
            if document_id and document is not None:
                self._documents[document_id] = document
                self._places[document_id] = self._feeds[feed_id].marketplace_ids
        return document_id

    def _document(
        self,
        feed_type: str,
        seller: str,
        feed_id: str,
        messages: int,
        issues: Sequence[FeedIssue],
        report: bytes | str | Mapping[str, Any] | None,
        compress: bool,
        charset: str | None,
        content_type: str | None,
        owner: str | None,
    ) -> StoredFeedDocument:
        codec = codec_for(charset or DEFAULT_CHARSET)
        as_json = (
            feed_type.startswith(JSON_FEED_PREFIX) if report is None else not isinstance(report, str | bytes)
        )
        if isinstance(report, bytes):
            compress = report[:2] == b"\x1f\x8b"
            served = report
            as_json = _looks_like_json(report, compressed=compress)
        else:
            if report is None and as_json:
                text = json.dumps(
                    json_processing_report(seller, feed_id, messages, issues), ensure_ascii=False
                )
            elif report is None:
                text = xml_processing_report(seller, feed_id, messages, issues, charset or DEFAULT_CHARSET)
            elif isinstance(report, str):
                text = report
                as_json = report.lstrip().startswith("{")
            else:
                text = json.dumps(dict(report), ensure_ascii=False)
            body = text.encode(codec)
            served = gzip.compress(body, mtime=0) if compress else body
        if content_type == "":
            media = "application/json" if as_json else "text/xml"
            content_type = f"{media}; charset={charset}" if charset else media
        return StoredFeedDocument(served, compress, content_type, owner)

    def expire_next_urls(self, count: int = 1) -> None:
        """The next ``count`` document URLs are already expired when handed out (a slow client)."""
        self.urls.expire_next(count)

    def get_feed(self, request: EmulatorRequest) -> Reply:
        with self._lock:
            feed = self._feeds.get(request.path_params["feed_id"])
        marketplaces = marketplaces_in(feed.marketplace_ids, request.region) if feed else None
        if feed is None or feed.owner not in (None, request.caller) or marketplaces is None:
            raise ApiError(404, "NotFound", "The specified resource does not exist.")
        body: dict[str, Any] = {
            "feedId": feed.feed_id,
            "feedType": feed.feed_type,
            "marketplaceIds": marketplaces,
            "createdTime": iso(feed.created),
            "processingStatus": feed.status,
        }
        if feed.status != "IN_QUEUE":
            body["processingStartTime"] = iso(feed.created + timedelta(seconds=5))
        if feed.status in FINISHED:
            body["processingEndTime"] = iso(feed.created + timedelta(seconds=65))
        if feed.document_id:
            body["resultFeedDocumentId"] = feed.document_id
        return Reply(200, body)

    def get_document(self, request: EmulatorRequest) -> Reply:
        document_id = request.path_params["document_id"]
        encoding = request.first("enableContentEncodingUrlHeader")
        if encoding not in (None, "true", "false"):
            raise ApiError(
                400, "InvalidInput", "Invalid input", "enableContentEncodingUrlHeader must be a boolean"
            )
        with self._lock:
            document = self._documents.get(document_id)
            places = self._places.get(document_id)
        if (
            document is None
            or document.owner not in (None, request.caller)
            or marketplaces_in(places, request.region) is None
        ):
            raise ApiError(404, "NotFound", "The specified resource does not exist.")
        token = self.urls.issue(document_id, content_encoding=encoding == "true")
        body: dict[str, Any] = {
            "feedDocumentId": document_id,
            "url": f"{self.base_url}{FEED_DOCUMENT_PATH}{token}",
        }
        if document.compressed:
            body["compressionAlgorithm"] = "GZIP"
        return Reply(200, body)

    def download(self, token: str) -> tuple[int, dict[str, str], bytes]:
        """The status, headers and body of a URL token's download: the document, or S3's answer to an
        expired or unknown URL (403)."""
        url = self.urls.resolve(token)
        if isinstance(url, bytes):
            return 403, {"content-type": S3_ERROR_TYPE}, url
        with self._lock:
            document = self._documents.get(url.document_id)
        if document is None:
            return 403, {"content-type": S3_ERROR_TYPE}, ACCESS_DENIED
        headers = {"content-type": document.content_type} if document.content_type else {}
        if url.content_encoding and document.compressed:
            headers["content-encoding"] = "gzip"
        return 200, headers, document.body
