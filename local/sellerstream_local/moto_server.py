"""moto as a server on loopback, for processes (or threads) that share AWS state.

moto's backends have no locks, and its server answers each HTTP request in a thread of its own: a
conditional write checks its condition, then writes, and two concurrent conditional writes to one
DynamoDB item can both pass their condition (a lost update). DynamoDB itself never lets that happen
(a conditional PutItem, UpdateItem, DeleteItem or TransactWriteItems is atomic), and the shared rate
budget depends on it. So this server answers one request at a time (``serialized``, the default):
every request, not only DynamoDB's writes, because moto's other backends (SQS's queues, S3) are no
safer, and a read then never sees an item half-updated. Connections are still accepted concurrently.

``dynamodb_atomic`` says whether the guard is on (what a bench reports next to its figures);
``serialized=False`` serves moto as it is, for the test that shows the difference
(``tests/unit/local/test_moto_server_atomic.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class OneAtATime:
    """A WSGI middleware answering one request at a time: the whole response is produced under one
    lock, so each request's check and write happen with no other request in between."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class SerializedMotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, serialized: bool = True) -> None:
        self._host = host
        self._port = port
        self._serialized = serialized
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def dynamodb_atomic(self) -> bool:
        """DynamoDB's conditional writes are atomic on this server (the one-at-a-time guard is on)."""
        return self._serialized

    def start(self) -> str:
        """Starts serving; returns the endpoint URL (for AWS_ENDPOINT_URL)."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        moto: WsgiApp = DomainDispatcherApplication(create_backend_app)
        app = OneAtATime(moto) if self._serialized else moto
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        return self.endpoint

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the moto server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SerializedMotoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
