"""HTTP on the standard library (urllib): nothing to bundle, and the Lambda runtime has it."""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Protocol


# Requests and responses are plain classes, not dataclasses: generating a dataclass's methods
# costs every cold start about a millisecond per class. Their reprs never show headers or bodies.
class HttpRequest:
    __slots__ = ("body", "headers", "method", "url")

    def __init__(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> None:
        self.method = method
        self.url = url  # may carry query values: never logged
        self.headers: Mapping[str, str] = headers if headers is not None else {}  # holds the access token
        self.body = body

    def __repr__(self) -> str:
        return f"HttpRequest(method={self.method!r})"


class HttpResponse:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        # HTTP header names are case-insensitive: stored lower-cased, looked up the same way.
        self.headers: Mapping[str, str] = _lower(headers.items())
        self.body = body

    def __repr__(self) -> str:
        return f"HttpResponse(status={self.status!r})"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class TransportError(Exception):
    """The request never got an HTTP answer (connection refused, reset, timed out)."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class Transport(Protocol):
    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        """Any HTTP answer (non-2xx included) is a response; no answer raises ``TransportError``."""
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # SP-API never redirects; following one would resend the access token to another host.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class UrllibTransport:
    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        prepared = urllib.request.Request(  # noqa: S310 - the URL is built from our own endpoint table
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        try:
            with self._opener.open(prepared, timeout=timeout) as response:
                return HttpResponse(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpResponse(error.code, _lower(error.headers.items()), error.read())
        except TimeoutError as error:
            raise TransportError(f"timed out after {timeout:.1f}s", timed_out=True) from error
        except urllib.error.URLError as error:
            timed_out = isinstance(error.reason, TimeoutError | socket.timeout)
            reason = "timed out" if timed_out else _reason(error.reason)
            raise TransportError(f"connection failed: {reason}", timed_out=timed_out) from error
        except (http.client.HTTPException, OSError) as error:
            # Reset mid-response, truncated body (IncompleteRead), bad status line.
            raise TransportError(f"connection failed: {type(error).__name__}", timed_out=False) from error


def _reason(reason: object) -> str:
    return type(reason).__name__ if isinstance(reason, BaseException) else str(reason)[:100]


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}
