"""Use cases over fakes: every port in memory, SP-API through the emulator in process, a fake clock.

No moto, no sockets: each test builds the use case it tests from these fixtures, exactly as a
composition root (``sellerstream.wiring``) builds it from the AWS adapters.
"""

from __future__ import annotations

from typing import Any

import pytest

from sellerstream.config import SpApiSettings
from sellerstream.logic.batch import BatchPolicy, BatchRunner, NotificationUseCase
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from tests.support.fakes import (
    FakeClock,
    FakeMessageQueue,
    FakePersistenceLayer,
    FakeRateBudgets,
    FakeSellerDirectory,
)

SELLER = "A1SELLERUNIT"
APP = ("amzn1.application-oa2-client.unit", "unit-client-secret")
LWA_PATH = "/auth/o2/token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_790_000_000.0)


@pytest.fixture
def emulator(clock: FakeClock) -> SpApiEmulator:
    emulator = SpApiEmulator(clock=clock)
    emulator.register_app(*APP)
    emulator.register_seller(SELLER, f"Atzr|{SELLER}")
    return emulator


@pytest.fixture
def directory() -> FakeSellerDirectory:
    from sellerstream.spapi.auth import LwaCredentials

    directory = FakeSellerDirectory(LwaCredentials(*APP))
    directory.add(SELLER)
    return directory


@pytest.fixture
def budgets(clock: FakeClock) -> FakeRateBudgets:
    return FakeRateBudgets(clock=clock, sleep=clock.sleep)


@pytest.fixture
def spapi(
    emulator: SpApiEmulator, directory: FakeSellerDirectory, budgets: FakeRateBudgets, clock: FakeClock
) -> SpApiAccess:
    """SP-API access as the functions have it, on the emulator in process and the fake clock."""
    settings = SpApiSettings.of(
        accounts_table_name="unused",
        lwa_app_secret_id="unused",
        seller_secret_prefix="unused/",
        spapi_endpoint_override=IN_PROCESS_BASE_URL,
        lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
    )
    return SpApiAccess(
        settings,
        directory,
        budgets=budgets,
        transport=InProcessTransport(emulator),
        clock=clock,
        sleep=clock.sleep,
    )


@pytest.fixture
def queue() -> FakeMessageQueue:
    return FakeMessageQueue()


@pytest.fixture
def make_runner(queue: FakeMessageQueue, clock: FakeClock) -> Any:
    """A batch runner over a use case, with idempotency in memory and the fake queue."""

    def make(use_case: NotificationUseCase, accepts: frozenset[str], **options: Any) -> BatchRunner:
        return BatchRunner(
            use_case,
            accepts=accepts,
            queue=queue,
            persistence=options.pop("persistence", FakePersistenceLayer()),
            policy=options.pop("policy", BatchPolicy()),
            clock=clock,
            **options,
        )

    return make


@pytest.fixture
def log_lines() -> Any:
    """What the functions' logger writes during the test, as one parsed JSON object per line: the
    log is how an operator learns what became of a record, so some tests read it."""
    import io
    import json
    import logging

    from sellerstream.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line]

    yield lines
    if previous is not None:
        handler.setStream(previous)


@pytest.fixture
def make_spapi(directory: FakeSellerDirectory, budgets: FakeRateBudgets, clock: FakeClock) -> Any:
    """SP-API access over another transport: a scripted one, for answers the emulator never gives."""
    from sellerstream.spapi.transport import Transport

    def make(transport: Transport) -> SpApiAccess:
        settings = SpApiSettings.of(
            accounts_table_name="unused",
            lwa_app_secret_id="unused",
            seller_secret_prefix="unused/",
            spapi_endpoint_override=IN_PROCESS_BASE_URL,
            lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
        )
        return SpApiAccess(
            settings, directory, budgets=budgets, transport=transport, clock=clock, sleep=clock.sleep
        )

    return make


@pytest.fixture
def report_downloads(emulator: SpApiEmulator, monkeypatch: pytest.MonkeyPatch) -> SpApiEmulator:
    """Report documents downloaded from the emulator in process: the presigned URL's GET without a
    socket, answered as the real download answers (403 for an expired URL)."""
    import io
    import urllib.parse
    from pathlib import Path

    from sellerstream.spapi import reports as reports_api
    from sellerstream.spapi.errors import DocumentUrlExpired, SpApiServerError

    def open_document(
        url: str,
        timeout: float = reports_api.DOWNLOAD_TIMEOUT_SECONDS,
        *,
        operation: str = "reportDocumentDownload",
    ) -> reports_api.DocumentDownload:
        status, headers, payload = emulator.handle("GET", urllib.parse.urlsplit(url).path, {}, b"")
        if status in (400, 403):
            raise DocumentUrlExpired(operation, "document URL refused or expired", status=status)
        if status != 200:
            raise SpApiServerError(operation, "document download failed", status=status)
        body = payload.read_bytes() if isinstance(payload, Path) else payload
        return reports_api.DocumentDownload(io.BytesIO(body), headers.get("content-type"))

    monkeypatch.setattr(reports_api, "open_document", open_document)
    return emulator
