"""LWA tokens: cached per grant, refreshed before expiry, one refresh at a time."""

from __future__ import annotations

import threading
import time

import pytest

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.errors import LwaAuthError, SpApiServerError
from sellerstream.spapi.transport import HttpRequest, HttpResponse
from tests.support.fakes import FakeClock, FakeTransport, lwa_token, response
from tests.unit.spapi.conftest import CREDENTIALS, LWA_URL


def test_given_cached_token_when_asked_again_then_no_second_call() -> None:
    transport, clock = FakeTransport(), FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)

    first = provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-1")
    clock.now += 3000
    second = provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-1")

    assert first == second
    assert len(transport.lwa_requests) == 1


def test_given_token_within_a_minute_of_expiry_when_asked_then_refreshed() -> None:
    transport, clock = FakeTransport(lwa=[lwa_token("Atza|one"), lwa_token("Atza|two")]), FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-1")

    clock.now += 3600 - 59

    assert provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-1") == "Atza|two"


def test_given_two_sellers_when_asked_then_one_token_each() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|a"), lwa_token("Atza|b")])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    assert provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-a") == "Atza|a"
    assert provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt-b") == "Atza|b"


def test_given_threads_racing_for_one_key_when_asked_then_one_lwa_call() -> None:
    calls: list[HttpRequest] = []

    class SlowTransport:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            calls.append(request)
            time.sleep(0.05)
            return lwa_token()

    provider = LwaTokenProvider(SlowTransport())
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt")
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert results == ["Atza|token-1"] * 8


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client", "unauthorized_client"])
def test_given_lwa_refuses_when_asked_then_terminal_error_without_secrets(error: str) -> None:
    transport = FakeTransport(lwa=[response(400 if error == "invalid_grant" else 401, {"error": error})])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    with pytest.raises(LwaAuthError) as caught:
        provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="Atzr|secret-refresh")

    assert caught.value.code == error
    assert "secret-refresh" not in str(caught.value) and CREDENTIALS.client_secret not in str(caught.value)
    assert "client-secret-value" not in repr(CREDENTIALS)


def test_given_lwa_outage_when_asked_then_retriable_error() -> None:
    provider = LwaTokenProvider(FakeTransport(lwa=[response(503, b"")]), clock=FakeClock())

    with pytest.raises(SpApiServerError) as caught:
        provider.access_token(CREDENTIALS, token_url=LWA_URL, refresh_token="rt")

    assert caught.value.retriable


def test_given_invalidated_token_when_asked_then_fetched_again() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|one"), lwa_token("Atza|two")])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    provider.access_token(CREDENTIALS, token_url=LWA_URL, scope="sellingpartnerapi::notifications")

    provider.invalidate(CREDENTIALS, token_url=LWA_URL, scope="sellingpartnerapi::notifications")

    assert (
        provider.access_token(CREDENTIALS, token_url=LWA_URL, scope="sellingpartnerapi::notifications")
        == "Atza|two"
    )
