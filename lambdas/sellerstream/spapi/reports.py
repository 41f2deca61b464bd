"""Reports API 2021-06-30: getReport and getReportDocument, and the document download itself."""

from __future__ import annotations

from types import TracebackType
from typing import IO, Any, cast
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    MalformedResponse,
    SpApiServerError,
    SpApiTimeout,
)

DOWNLOAD_TIMEOUT_SECONDS = 30.0


class ReportsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def get_report(self, report_id: str) -> dict[str, Any]:
        body = self._client.request(
            "getReport", "GET", f"/reports/2021-06-30/reports/{quote(report_id, safe='')}"
        ).body
        if not isinstance(body, dict) or "processingStatus" not in body:
            raise MalformedResponse("getReport", "response has no processingStatus")
        return body

    def get_report_document(self, document_id: str) -> dict[str, Any]:
        body = self._client.request(
            "getReportDocument", "GET", f"/reports/2021-06-30/documents/{quote(document_id, safe='')}"
        ).body
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise MalformedResponse("getReportDocument", "response has no url")
        return body


class DocumentDownload:
    """A document being downloaded: its body (read in chunks, then closed) and the ``Content-Type``
    it was served with (Amazon declares the charset there, e.g. ``text/plain; charset=Cp1252``)."""

    __slots__ = ("body", "content_type")

    def __init__(self, body: IO[bytes], content_type: str | None) -> None:
        self.body = body
        self.content_type = content_type

    def read(self, size: int = -1) -> bytes:
        return self.body.read(size)

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> DocumentDownload:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def open_document(
    url: str, timeout: float = DOWNLOAD_TIMEOUT_SECONDS, *, operation: str = "reportDocumentDownload"
) -> DocumentDownload:
    """A streaming download of a presigned document URL (no SP-API token: the URL is the credential),
    a report's or a feed's; ``operation`` names it in errors.

    The caller reads it in chunks and closes it. Status is checked before anything is read.
    """
    import urllib.error  # noqa: PLC0415 - only the report and feed consumers download
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(url, method="GET")  # noqa: S310 - Amazon's presigned https URL
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        return DocumentDownload(cast(IO[bytes], response), response.headers.get("Content-Type"))
    except urllib.error.HTTPError as error:
        with error:
            if error.code in (400, 403):
                # S3 answers an expired presigned URL with 403 AccessDenied ("Request has expired").
                raise DocumentUrlExpired(
                    operation, "document URL refused or expired", status=error.code
                ) from None
            raise SpApiServerError(operation, "document download failed", status=error.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SpApiTimeout(operation, f"document download failed: {type(error).__name__}") from None
