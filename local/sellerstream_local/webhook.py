"""The HTTPS webhook path locally: a receiver on loopback, and a forwarder playing the API destination.

``WebhookReceiver`` is what a user's endpoint does: a small HTTP server on 127.0.0.1 (an ephemeral
port, in a thread) taking what an EventBridge API destination POSTs (the whole event as the JSON
body) with the connection's API key header; a request without the right key is refused with 401 and
nothing of it is kept. It counts what it received by detail-type and by the detail's ``id`` (a
redelivery is the same id: a subscriber keeps one). Plain HTTP on loopback stands in for HTTPS.

``ApiDestinationForwarder`` plays EventBridge's side. moto keeps API destinations and connections
but delivers nothing to them (its HTTP target, off by default, sends no body and leaves out the
connection's auth), so this does: it reads the destination (endpoint, method, rate limit) and the
API key from the connection's own secret (EventBridge keeps a connection's credentials in a Secrets
Manager secret it manages), and POSTs each event, as EventBridge does: a 429 or 5xx answer is tried
again, any other 4xx is not (EventBridge sends the event to the target's DLQ then).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

PATH = "/sellerstream-events"
USER_AGENT = "Amazon/EventBridge/ApiDestinations"  # what EventBridge sends as its User-Agent
# Answers EventBridge tries again (the others are final).
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class WebhookReceiver:
    """``with WebhookReceiver("x-api-key", key) as receiver``: serves on ``receiver.url`` until the end."""

    def __init__(self, api_key_header: str, api_key: str) -> None:
        self.api_key_header = api_key_header
        self._api_key = api_key
        self._lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.refused: Counter[int] = Counter()  # by status: 401 (auth), 400 (not an event)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> WebhookReceiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}{PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """The status a request gets (the HTTP handler's logic, callable without a socket)."""
        if path != PATH:
            return 404
        offered = headers.get(self.api_key_header.lower(), "")
        if not hmac.compare_digest(offered.encode(), self._api_key.encode()):
            with self._lock:
                self.refused[401] += 1
            return 401
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
            with self._lock:
                self.refused[400] += 1
            return 400
        with self._lock:
            self.received.append(event)
        return 200

    def view(self) -> dict[str, Any]:
        """What the endpoint saw: events by detail-type, distinct ids, refusals by status."""
        with self._lock:
            events = list(self.received)
            refused = dict(self.refused)
        ids = [str(event["detail"].get("id")) for event in events]
        return {
            "received": len(events),
            "by_type": dict(Counter(str(event.get("detail-type")) for event in events)),
            "distinct_ids": len(set(ids)),
            "refused": refused,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver.answer(self.path, headers, body)
                reply = json.dumps({"accepted": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo prints the receiver's view, not an access log

        return Handler


@dataclass
class ForwardResult:
    delivered: int = 0
    attempts: int = 0
    failed: list[tuple[str, int]] = field(default_factory=list)  # (the detail's id, the last status)


class ApiDestinationForwarder:
    def __init__(self, events: Any, secrets: Any, destination_name: str, *, attempts: int = 3) -> None:
        destination = events.describe_api_destination(Name=destination_name)
        self.endpoint = str(destination["InvocationEndpoint"])
        if not self.endpoint.startswith(("https://", "http://")):
            raise ValueError("an API destination's endpoint is an HTTP(S) URL")
        self.method = str(destination.get("HttpMethod", "POST"))
        rate = destination.get("InvocationRateLimitPerSecond")
        self._interval = 1.0 / float(rate) if rate else 0.0
        # arn:aws:events:<region>:<account>:connection/<name>/<id>
        connection_name = str(destination["ConnectionArn"]).split(":connection/", 1)[1].split("/", 1)[0]
        connection = events.describe_connection(Name=connection_name)
        if connection["AuthorizationType"] != "API_KEY":
            raise ValueError(
                f"the local forwarder sends API keys only, not {connection['AuthorizationType']}"
            )
        # The connection's own secret (moto's names for its fields).
        credentials = json.loads(secrets.get_secret_value(SecretId=connection["SecretArn"])["SecretString"])
        self.api_key_header = str(credentials["api_key_name"])
        self._api_key = str(credentials["api_key_value"])
        self._attempts = attempts
        # Straight to loopback, whatever proxy the environment names.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._last_send = 0.0

    def forward(self, events: list[dict[str, Any]]) -> ForwardResult:
        """Each event POSTed whole, at most the destination's rate, 429s and 5xx tried again."""
        result = ForwardResult()
        for event in events:
            status = 0
            for attempt in range(self._attempts):
                if attempt:
                    time.sleep(0.05 * attempt)
                status = self.post(event)
                result.attempts += 1
                if status not in RETRIED_STATUSES:
                    break
            if 200 <= status < 300:
                result.delivered += 1
            else:
                result.failed.append((str((event.get("detail") or {}).get("id")), status))
        return result

    def post(self, event: dict[str, Any], *, api_key: str | None = None) -> int:
        """One request as EventBridge sends it (``api_key``: another key than the connection's);
        returns the status (0: no answer)."""
        wait = self._last_send + self._interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_send = time.monotonic()
        request = urllib.request.Request(  # noqa: S310 - the destination's own endpoint, http(s) only
            self.endpoint,
            data=json.dumps(event, separators=(",", ":")).encode(),
            method=self.method,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                self.api_key_header: self._api_key if api_key is None else api_key,
            },
        )
        try:
            with self._opener.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0
