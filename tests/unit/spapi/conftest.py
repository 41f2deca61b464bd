from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sellerstream.spapi.auth import LwaCredentials, LwaTokenProvider
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.ratelimit import RateLimiter
from tests.support.fakes import FakeClock, FakeTransport

CREDENTIALS = LwaCredentials("amzn1.application-oa2-client.test", "client-secret-value")
SELLER = SellerContext("A1SELLER", "Atzr|refresh-token-value", Region.NA)
LWA_URL = "https://api.amazon.com/auth/o2/token"
# Every string that must never reach a log line or an error message.
SECRETS = ("Atza|token-1", "refresh-token-value", "client-secret-value")

MakeClient = Callable[..., SpApiClient]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep)


@pytest.fixture
def make_client(clock: FakeClock, transport: FakeTransport, limiter: RateLimiter) -> MakeClient:
    """A client on the fake transport and clock; ``remaining`` seconds left in the invocation."""

    def make(remaining: float = 25.0, **overrides: Any) -> SpApiClient:
        deadline = clock.now + remaining
        options: dict[str, Any] = {
            "credentials": CREDENTIALS,
            "seller": SELLER,
            "transport": transport,
            "token_provider": LwaTokenProvider(transport, clock=clock),
            "rate_limiter": limiter,
            "remaining_time": lambda: deadline - clock.now,
            "sleep": clock.sleep,
            "clock": clock,
        }
        options.update(overrides)
        return SpApiClient(**options)

    return make
