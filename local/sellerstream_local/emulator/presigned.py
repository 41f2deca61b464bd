"""Document URLs as getReportDocument and getFeedDocument hand them out: S3 presigned URLs that
live five minutes, then answer 403 as S3 does. Reports and feeds share them."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Final, NamedTuple

DEFAULT_URL_TTL_SECONDS: Final = 300.0  # Amazon's document URLs live five minutes
S3_ERROR_TYPE: Final = "application/xml"
ACCESS_DENIED: Final = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
EXPIRED: Final = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"


class Url(NamedTuple):
    document_id: str
    expires_at: float  # time.monotonic()
    content_encoding: bool = False  # the download says Content-Encoding: gzip (feeds may ask)


class PresignedUrls:
    def __init__(self) -> None:
        self.ttl_seconds = DEFAULT_URL_TTL_SECONDS
        self._urls: dict[str, Url] = {}
        self._born_expired = 0
        self._lock = threading.Lock()

    def expire_next(self, count: int = 1) -> None:
        """The next ``count`` URLs are already expired when handed out (a slow client)."""
        with self._lock:
            self._born_expired += count

    def issue(self, document_id: str, *, content_encoding: bool = False) -> str:
        """A new URL's token for the document."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            ttl = 0.0 if self._born_expired else self.ttl_seconds
            self._born_expired = max(self._born_expired - 1, 0)
            self._urls[token] = Url(document_id, time.monotonic() + ttl, content_encoding)
        return token

    def resolve(self, token: str) -> Url | bytes:
        """The URL behind a token, or the body of S3's 403 for an unknown or expired one."""
        with self._lock:
            url = self._urls.get(token)
        if url is None:
            return ACCESS_DENIED
        if url.expires_at <= time.monotonic():
            return EXPIRED
        return url
