"""The local pipeline (moto + SP-API emulator + real handler + poller) as a test fixture."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from sellerstream_local.pipeline import LocalPipeline

SELLER = "A1SELLERSTREAMT"


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def pipeline(log_stream: io.StringIO) -> Iterator[LocalPipeline]:
    with LocalPipeline(emulator_time_scale=50.0, log_stream=log_stream) as local:
        local.provision_seller(SELLER, subscription_ids=("sub-orders",))
        yield local
