"""Feeds API 2021-06-30: getFeed and getFeedDocument, and the result document's download.

A feed's result document (its processing report) is served like a report document: a presigned
URL that lives five minutes, gzip when ``compressionAlgorithm`` says GZIP, the charset in the
download's ``Content-Type``. The download is the reports' (``DocumentDownload``), named for feeds
in its errors and metrics.
"""

from __future__ import annotations

from typing import IO, Any, cast
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    MalformedResponse,
    SpApiServerError,
    SpApiTimeout,
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
    """A streaming download of a feed document's presigned URL (no SP-API token: the URL is the
    credential). The caller reads it and closes it; the status is checked before anything is read.

    S3 answers an expired URL with 403 (``DocumentUrlExpired``: ask getFeedDocument again); any
    other failure is transient (``SpApiServerError``, ``SpApiTimeout``).
    """
    import urllib.error  # noqa: PLC0415 - only the feed consumer downloads
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(url, method="GET")  # noqa: S310 - Amazon's presigned https URL
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        return DocumentDownload(cast(IO[bytes], response), response.headers.get("Content-Type"))
    except urllib.error.HTTPError as error:
        with error:
            if error.code in (400, 403):
                raise DocumentUrlExpired(
                    DOWNLOAD_OPERATION, "document URL refused or expired", status=error.code
                ) from None
            raise SpApiServerError(
                DOWNLOAD_OPERATION, "document download failed", status=error.code
            ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SpApiTimeout(DOWNLOAD_OPERATION, f"document download failed: {type(error).__name__}") from None
