"""Scripted stand-ins for the SP-API client's transport and clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sellerstream.spapi.transport import HttpRequest, HttpResponse, TransportError

Responder = Callable[[HttpRequest], HttpResponse]


def response(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    return HttpResponse(status, {name.lower(): value for name, value in (headers or {}).items()}, raw)


def lwa_token(token: str = "Atza|token-1", expires_in: int = 3600) -> HttpResponse:
    return response(200, {"access_token": token, "token_type": "bearer", "expires_in": expires_in})


def amazon_error(
    status: int, code: str, message: str = "", details: str = "", request_id: str = "req-1"
) -> HttpResponse:
    return response(
        status,
        {"errors": [{"code": code, "message": message, "details": details}]},
        {"x-amzn-RequestId": request_id},
    )


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeTransport:
    """Answers LWA token requests with ``lwa`` and SP-API requests from a script, in order."""

    def __init__(
        self, script: list[HttpResponse | Exception] | None = None, lwa: list[HttpResponse] | None = None
    ):
        self.script = list(script or [])
        self.lwa = list(lwa or [])
        self.default_lwa = lwa_token()
        self.requests: list[HttpRequest] = []
        self.lwa_requests: list[HttpRequest] = []
        self.timeouts: list[float] = []

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        if request.url.endswith("/auth/o2/token"):
            self.lwa_requests.append(request)
            return self.lwa.pop(0) if self.lwa else self.default_lwa
        self.requests.append(request)
        self.timeouts.append(timeout)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def timeout_error() -> TransportError:
    return TransportError("timed out after 10.0s", timed_out=True)
