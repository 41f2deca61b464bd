"""UrllibTransport against a loopback HTTP server: answers of any status, no redirects, failures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sellerstream.spapi.transport import HttpRequest, HttpResponse, TransportError, UrllibTransport

RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        Handler.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path.startswith("/slow"):
            RELEASE.wait(5)  # the client has given up by now: nothing to answer
            self.close_connection = True
            return
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
        payload = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Amzn-RequestId", "req-loop")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer
    do_DELETE = _answer


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    RELEASE.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


def test_given_2xx_when_sent_then_status_body_and_case_insensitive_headers(server: str) -> None:
    request = HttpRequest(
        "POST", server + "/ok?x=1", {"x-amz-access-token": "Atza|t", "accept": "a/b"}, b"{}"
    )

    answer = UrllibTransport().send(request, timeout=5)

    assert (answer.status, answer.body) == (200, b'{"ok": true}')
    assert answer.header("X-AMZN-REQUESTID") == answer.header("x-amzn-requestid") == "req-loop"
    [(method, path, headers, body)] = Handler.seen
    assert (method, path, body) == ("POST", "/ok?x=1", b"{}")
    assert headers["x-amz-access-token"] == "Atza|t" and headers["accept"] == "a/b"


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500, 503])
def test_given_non_2xx_when_sent_then_a_response_not_an_exception(server: str, status: int) -> None:
    answer = UrllibTransport().send(HttpRequest("GET", f"{server}/status/{status}"), timeout=5)

    assert (answer.status, answer.body, answer.header("x-amzn-requestid")) == (
        status,
        b'{"ok": true}',
        "req-loop",
    )


def test_given_redirect_when_sent_then_not_followed(server: str) -> None:
    answer = UrllibTransport().send(
        HttpRequest("GET", server + "/redirect", {"x-amz-access-token": "Atza|t"}), timeout=5
    )

    assert answer.status == 302
    assert [path for _, path, _, _ in Handler.seen] == ["/redirect"]


def test_given_slow_server_when_sent_then_timed_out_transport_error(server: str) -> None:
    with pytest.raises(TransportError) as caught:
        UrllibTransport().send(HttpRequest("GET", server + "/slow"), timeout=0.2)

    assert caught.value.timed_out


def test_given_nothing_listening_when_sent_then_transport_error_not_timed_out() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: the connection is refused.

    with pytest.raises(TransportError) as caught:
        UrllibTransport().send(HttpRequest("GET", f"http://127.0.0.1:{port}/"), timeout=2)

    assert not caught.value.timed_out


def test_given_mixed_case_headers_when_response_built_then_lookups_ignore_case() -> None:
    answer = HttpResponse(200, {"X-Amzn-RateLimit-Limit": "0.5"}, b"")

    assert answer.header("x-amzn-ratelimit-limit") == "0.5"
    assert answer.headers == {"x-amzn-ratelimit-limit": "0.5"}


def test_given_request_when_printed_then_headers_and_body_hidden() -> None:
    text = repr(HttpRequest("POST", "https://h/p", {"x-amz-access-token": "Atza|secret"}, b"client_secret=s"))

    assert "Atza|secret" not in text and "client_secret" not in text
