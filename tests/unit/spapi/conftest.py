from __future__ import annotations

import pytest

from sellerstream.spapi.auth import LwaCredentials, LwaTokenProvider
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.ratelimit import RateLimiter
from tests.support.fakes import FakeClock, FakeTransport

CREDENTIALS = LwaCredentials("amzn1.application-oa2-client.test", "client-secret-value")
SELLER = SellerContext("A1SELLER", "Atzr|refresh-token-value", Region.NA)
LWA_URL = "https://api.amazon.com/auth/o2/token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def make_client(clock: FakeClock, transport: FakeTransport):
    def make(remaining: float = 25.0, **overrides) -> SpApiClient:
        deadline = clock.now + remaining
        options = {
            "credentials": CREDENTIALS,
            "seller": SELLER,
            "transport": transport,
            "token_provider": LwaTokenProvider(transport, clock=clock),
            "rate_limiter": RateLimiter(clock=clock, sleep=clock.sleep),
            "remaining_time": lambda: deadline - clock.now,
            "sleep": clock.sleep,
            "clock": clock,
        }
        options.update(overrides)
        return SpApiClient(**options)

    return make
