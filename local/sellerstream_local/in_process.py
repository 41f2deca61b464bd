"""The emulator without sockets: a transport for the SP-API client that calls it in process.

Tests of the use cases and the simulated-time benchmark use it (no HTTP server, no threads): the
requests and answers are the emulator's own, only the wire is skipped. It joins the client's side
(its Transport) to Amazon's (the emulator), so it belongs to neither.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from sellerstream.spapi.transport import HttpRequest, HttpResponse
from sellerstream_local.emulator.server import SpApiEmulator

# Any base URL will do: the transport keeps only the path and query.
IN_PROCESS_BASE_URL = "http://sp-api.emulator.invalid"


class InProcessTransport:
    def __init__(self, emulator: SpApiEmulator) -> None:
        self._emulator = emulator

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        parts = urllib.parse.urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, response_headers, payload = self._emulator.handle(
            request.method, path, headers, request.body or b""
        )
        body = payload.read_bytes() if isinstance(payload, Path) else payload
        return HttpResponse(status, response_headers, body)
