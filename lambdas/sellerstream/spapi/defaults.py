"""Per-container singletons: one transport, one LWA token cache, one set of rate buckets."""

from __future__ import annotations

from functools import cache

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.ratelimit import RateLimiter
from sellerstream.spapi.tokens import restricted_data_tokens
from sellerstream.spapi.transport import Transport, UrllibTransport


@cache
def transport() -> Transport:
    return UrllibTransport()


@cache
def token_provider() -> LwaTokenProvider:
    return LwaTokenProvider(transport())


@cache
def rate_limiter() -> RateLimiter:
    return RateLimiter()


def reset() -> None:
    """Local mode and tests start each run with an empty token cache and full buckets."""
    transport.cache_clear()
    token_provider.cache_clear()
    rate_limiter.cache_clear()
    restricted_data_tokens.clear()
