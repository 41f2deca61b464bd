"""Feeds API 2021-06-30: getFeed and getFeedDocument, and the result document's download.

A feed's result document (its processing report) is served like a report document: a presigned
URL that lives five minutes, gzip when ``compressionAlgorithm`` says GZIP, the charset in the
download's ``Content-Type``. The download is the reports' (``DocumentDownload``), named for feeds
in its errors and metrics.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sellerstream.spapi import reports
from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import (
    MalformedResponse,
)
from sellerstream.spapi.reports import DOWNLOAD_TIMEOUT_SECONDS, DocumentDownload

DOWNLOAD_OPERATION = "feedDocumentDownload"


class FeedsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        """The feed (Amazon's ``Feed``): its type, status, times and ``resultFeedDocumentId``."""
        body = self._client.request(
            "getFeed", "GET", f"/feeds/2021-06-30/feeds/{quote(feed_id, safe='')}"
        ).body
        if not isinstance(body, dict) or not isinstance(body.get("processingStatus"), str):
            raise MalformedResponse("getFeed", "response has no processingStatus")
        return body

    def get_feed_document(self, feed_document_id: str) -> dict[str, Any]:
        """Where to download a feed document (Amazon's ``FeedDocument``): ``url`` (five minutes) and
        ``compressionAlgorithm`` when it is compressed. The URL is asked without
        ``enableContentEncodingUrlHeader``: the document comes as stored, gunzipped here."""
        body = self._client.request(
            "getFeedDocument", "GET", f"/feeds/2021-06-30/documents/{quote(feed_document_id, safe='')}"
        ).body
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise MalformedResponse("getFeedDocument", "response has no url")
        return body


def open_document(url: str, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> DocumentDownload:
    """A streaming download of a feed document's presigned URL: the reports' download, named for
    feeds. S3 answers an expired URL with 403 (``DocumentUrlExpired``: ask getFeedDocument again);
    any other failure is transient (``SpApiServerError``, ``SpApiTimeout``)."""
    return reports.open_document(url, timeout, operation=DOWNLOAD_OPERATION)
