"""LWA tokens: cached per grant, refreshed a minute before expiry, one refresh at a time."""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse

import pytest

from sellerstream.spapi.auth import REFUSED_GRANT_MEMORY_SECONDS, LwaCredentials, LwaTokenProvider
from sellerstream.spapi.errors import (
    LwaAuthError,
    MalformedResponse,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.transport import HttpRequest, HttpResponse
from tests.support.fakes import FakeClock, FakeTransport, lwa_token, response, timeout_error
from tests.unit.spapi.conftest import CREDENTIALS, LWA_URL

SCOPE = "sellingpartnerapi::notifications"


def form_of(request: HttpRequest) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl((request.body or b"").decode()))


def test_given_refresh_token_when_asked_then_refresh_token_grant_posted_as_form() -> None:
    transport = FakeTransport()
    provider = LwaTokenProvider(transport, clock=FakeClock())

    token = provider.access_token(CREDENTIALS, refresh_token="Atzr|rt-1")

    [request] = transport.lwa_requests
    assert token == "Atza|token-1"
    assert (request.method, request.url) == ("POST", LWA_URL)
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert form_of(request) == {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|rt-1",
        "client_id": CREDENTIALS.client_id,
        "client_secret": CREDENTIALS.client_secret,
    }


def test_given_scope_when_asked_then_client_credentials_grant_without_refresh_token() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|grantless")])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    assert provider.access_token(CREDENTIALS, scope=SCOPE) == "Atza|grantless"

    form = form_of(transport.lwa_requests[0])
    assert (form["grant_type"], form["scope"]) == ("client_credentials", SCOPE)
    assert "refresh_token" not in form


def test_given_token_url_in_constructor_when_asked_then_that_endpoint_used() -> None:
    transport = FakeTransport()
    provider = LwaTokenProvider(transport, "http://127.0.0.1:9/auth/o2/token", clock=FakeClock())

    provider.access_token(CREDENTIALS, refresh_token="rt")

    assert transport.lwa_requests[0].url == "http://127.0.0.1:9/auth/o2/token"


def test_given_neither_refresh_token_nor_scope_when_asked_then_value_error_and_no_call() -> None:
    transport = FakeTransport()

    with pytest.raises(ValueError):
        LwaTokenProvider(transport, clock=FakeClock()).access_token(CREDENTIALS)

    assert transport.lwa_requests == []


def test_given_cached_token_when_asked_again_then_reused_without_second_call() -> None:
    transport, clock = FakeTransport(), FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)

    first = provider.access_token(CREDENTIALS, refresh_token="rt-1")
    clock.now += 3000
    second = provider.access_token(CREDENTIALS, refresh_token="rt-1")

    assert first == second
    assert len(transport.lwa_requests) == 1


@pytest.mark.parametrize(("elapsed", "expected"), [(3600 - 61, "Atza|one"), (3600 - 59, "Atza|two")])
def test_given_token_near_expiry_when_asked_then_refreshed_only_within_the_last_minute(
    elapsed: float, expected: str
) -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|one"), lwa_token("Atza|two")])
    clock = FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    provider.access_token(CREDENTIALS, refresh_token="rt-1")

    clock.now += elapsed

    assert provider.access_token(CREDENTIALS, refresh_token="rt-1") == expected


def test_given_short_lived_token_when_asked_then_its_own_lifetime_is_used() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|one", expires_in=120), lwa_token("Atza|two")])
    clock = FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    provider.access_token(CREDENTIALS, refresh_token="rt")

    clock.now += 61

    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|two"


def test_given_two_sellers_and_a_scope_when_asked_then_one_token_each() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|a"), lwa_token("Atza|b"), lwa_token("Atza|g")])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    assert provider.access_token(CREDENTIALS, refresh_token="rt-a") == "Atza|a"
    assert provider.access_token(CREDENTIALS, refresh_token="rt-b") == "Atza|b"
    assert provider.access_token(CREDENTIALS, scope=SCOPE) == "Atza|g"
    assert provider.access_token(CREDENTIALS, refresh_token="rt-a") == "Atza|a"
    assert len(transport.lwa_requests) == 3


def test_given_two_applications_with_one_refresh_token_when_asked_then_separate_tokens() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|app1"), lwa_token("Atza|app2")])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    other_app = LwaCredentials("amzn1.application-oa2-client.other", "other-secret")

    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|app1"
    assert provider.access_token(other_app, refresh_token="rt") == "Atza|app2"


def test_given_threads_racing_for_one_key_when_asked_then_one_lwa_call() -> None:
    calls: list[HttpRequest] = []
    start = threading.Barrier(8)

    class SlowTransport:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            calls.append(request)
            time.sleep(0.05)  # long enough for every other thread to queue on the key's lock
            return lwa_token()

    provider = LwaTokenProvider(SlowTransport())
    results: list[str] = []

    def worker() -> None:
        start.wait()
        results.append(provider.access_token(CREDENTIALS, refresh_token="rt"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert results == ["Atza|token-1"] * 8


def test_given_threads_for_different_sellers_when_asked_then_not_serialised_behind_each_other() -> None:
    inside = threading.Event()
    release = threading.Event()

    class BlockingTransport:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            if b"rt-slow" in (request.body or b""):
                inside.set()
                release.wait(5)
            return lwa_token()

    provider = LwaTokenProvider(BlockingTransport())
    slow = threading.Thread(target=lambda: provider.access_token(CREDENTIALS, refresh_token="rt-slow"))
    slow.start()
    assert inside.wait(5)

    # While the slow seller's refresh is in flight, another seller's token still comes back.
    assert provider.access_token(CREDENTIALS, refresh_token="rt-fast") == "Atza|token-1"
    release.set()
    slow.join()


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, "invalid_grant"), (401, "invalid_client"), (400, "unauthorized_client"), (400, "invalid_scope")],
)
def test_given_lwa_refuses_when_asked_then_terminal_error_with_code_and_no_secrets(
    status: int, error: str
) -> None:
    transport = FakeTransport(lwa=[response(status, {"error": error, "error_description": "nope"})])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    with pytest.raises(LwaAuthError) as caught:
        provider.access_token(CREDENTIALS, refresh_token="Atzr|secret-refresh")

    assert (caught.value.code, caught.value.status, caught.value.retriable) == (error, status, False)
    assert len(transport.lwa_requests) == 1
    message = str(caught.value)
    assert error in message and "lwaToken" in message
    assert "secret-refresh" not in message and CREDENTIALS.client_secret not in message


def test_given_refresh_token_refused_when_asked_again_soon_then_refused_from_memory_without_an_exchange() -> (
    None
):
    transport = FakeTransport(lwa=[response(400, {"error": "invalid_grant"}), lwa_token("Atza|new")])
    clock = FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    with pytest.raises(LwaAuthError):
        provider.access_token(CREDENTIALS, refresh_token="rt")
    clock.now += REFUSED_GRANT_MEMORY_SECONDS - 1

    with pytest.raises(LwaAuthError) as caught:
        provider.access_token(CREDENTIALS, refresh_token="rt")

    assert (caught.value.code, caught.value.status) == ("invalid_grant", 400)
    assert len(transport.lwa_requests) == 1


def test_given_refresh_token_refused_when_the_memory_lapsed_then_lwa_asked_again() -> None:
    transport = FakeTransport(lwa=[response(400, {"error": "invalid_grant"}), lwa_token("Atza|new")])
    clock = FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    with pytest.raises(LwaAuthError):
        provider.access_token(CREDENTIALS, refresh_token="rt")
    clock.now += REFUSED_GRANT_MEMORY_SECONDS

    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|new"


def test_given_refresh_token_refused_when_the_seller_reauthorised_then_its_new_token_asked_at_once() -> None:
    transport = FakeTransport(lwa=[response(400, {"error": "invalid_grant"}), lwa_token("Atza|new")])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    with pytest.raises(LwaAuthError):
        provider.access_token(CREDENTIALS, refresh_token="Atzr|old")

    assert provider.access_token(CREDENTIALS, refresh_token="Atzr|renewed") == "Atza|new"


def test_given_client_refused_when_asked_again_then_asked_again_since_only_refused_grants_are_remembered() -> (
    None
):
    transport = FakeTransport(lwa=[response(401, {"error": "invalid_client"}), lwa_token("Atza|new")])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    with pytest.raises(LwaAuthError):
        provider.access_token(CREDENTIALS, refresh_token="rt")

    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|new"


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (response(503, b""), SpApiServerError),
        (response(500, {"error": "server_error"}), SpApiServerError),
        (response(429, {"error": "too_many_requests"}), SpApiThrottled),
        (response(200, {"token_type": "bearer"}), MalformedResponse),
        (response(200, b"<html>"), MalformedResponse),
    ],
)
def test_given_lwa_outage_or_odd_answer_when_asked_then_retriable_error(
    answer: HttpResponse, error_type: type[Exception]
) -> None:
    provider = LwaTokenProvider(FakeTransport(lwa=[answer]), clock=FakeClock())

    with pytest.raises(error_type) as caught:
        provider.access_token(CREDENTIALS, refresh_token="rt")

    assert getattr(caught.value, "retriable", False)


def test_given_lwa_unreachable_when_asked_then_timeout_error() -> None:
    class Unreachable:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            raise timeout_error()

    with pytest.raises(SpApiTimeout):
        LwaTokenProvider(Unreachable(), clock=FakeClock()).access_token(CREDENTIALS, refresh_token="rt")


def test_given_unusable_expires_in_when_cached_then_an_hour_is_assumed() -> None:
    odd = response(200, {"access_token": "Atza|odd", "expires_in": "soon"})
    transport = FakeTransport(lwa=[odd, lwa_token("Atza|two")])
    clock = FakeClock()
    provider = LwaTokenProvider(transport, clock=clock)
    provider.access_token(CREDENTIALS, refresh_token="rt")

    clock.now += 3000

    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|odd"


def test_given_invalidated_token_when_asked_then_fetched_again_and_other_keys_kept() -> None:
    transport = FakeTransport(lwa=[lwa_token("Atza|one"), lwa_token("Atza|seller"), lwa_token("Atza|two")])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    provider.access_token(CREDENTIALS, scope=SCOPE)
    provider.access_token(CREDENTIALS, refresh_token="rt")

    provider.invalidate(CREDENTIALS, scope=SCOPE)

    assert provider.access_token(CREDENTIALS, scope=SCOPE) == "Atza|two"
    assert provider.access_token(CREDENTIALS, refresh_token="rt") == "Atza|seller"


def test_given_debug_logging_when_tokens_fetched_and_refused_then_no_secret_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = FakeTransport(lwa=[lwa_token("Atza|issued-token"), response(400, {"error": "invalid_grant"})])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    provider.access_token(CREDENTIALS, refresh_token="Atzr|refresh-secret")
    with pytest.raises(LwaAuthError):
        provider.access_token(CREDENTIALS, refresh_token="Atzr|other-refresh-secret")

    assert "lwa token" in caplog.text
    for secret in ("Atza|issued-token", "refresh-secret", CREDENTIALS.client_secret):
        assert secret not in caplog.text


def test_given_credentials_and_provider_when_printed_then_no_secret() -> None:
    provider = LwaTokenProvider(FakeTransport(), clock=FakeClock())
    provider.access_token(CREDENTIALS, refresh_token="Atzr|refresh-secret")

    for text in (repr(CREDENTIALS), repr(provider), repr(provider.__dict__)):
        assert CREDENTIALS.client_secret not in text
        assert "refresh-secret" not in text
