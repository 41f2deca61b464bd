"""LWA's authorization-code grant (Amazon's authorization workflows): the request Amazon documents,
the refresh token out, LWA's refusals typed, nothing secret in a log line."""

from __future__ import annotations

import logging
import urllib.parse

import pytest

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.errors import LwaAuthError, MalformedResponse, SpApiServerError, SpApiTimeout
from sellerstream.spapi.transport import HttpRequest, HttpResponse
from tests.support.fakes import FakeClock, FakeTransport, response, timeout_error
from tests.unit.spapi.conftest import CREDENTIALS, LWA_URL

CODE = "ANdNAVhyhqirUelHGEHA"
REDIRECT_URI = "https://abc123.execute-api.eu-west-1.amazonaws.com/redirect"
GRANTED = {
    "access_token": "Atza|from-the-code",
    "refresh_token": "Atzr|from-the-code",
    "token_type": "bearer",
    "expires_in": 3600,
}


def form_of(request: HttpRequest) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl((request.body or b"").decode()))


def test_given_a_code_when_exchanged_then_the_authorization_code_grant_is_posted_as_amazon_documents() -> (
    None
):
    # Given: LWA granting a refresh token for the code
    transport = FakeTransport(lwa=[response(200, GRANTED)])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    # When: the code is exchanged
    refresh_token = provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI)

    # Then: one form POST to LWA's token endpoint with grant_type, code, redirect_uri and the
    # application's client id and secret; the seller's refresh token is returned
    [request] = transport.lwa_requests
    assert (request.method, request.url) == ("POST", LWA_URL)
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert request.headers["accept"] == "application/json"
    assert form_of(request) == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT_URI,
        "client_id": CREDENTIALS.client_id,
        "client_secret": CREDENTIALS.client_secret,
    }
    assert refresh_token == "Atzr|from-the-code"


def test_given_a_code_exchanged_when_the_new_refresh_token_is_used_then_its_access_token_is_cached() -> None:
    # Given: a code exchanged (LWA's answer carries an access token too)
    transport = FakeTransport(lwa=[response(200, GRANTED)])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    refresh_token = provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI)

    # When: the seller's first SP-API call asks for an access token
    access_token = provider.access_token(CREDENTIALS, refresh_token=refresh_token)

    # Then: the one from the exchange, without another LWA call
    assert access_token == "Atza|from-the-code"
    assert len(transport.lwa_requests) == 1


def test_given_an_endpoint_override_when_exchanged_then_that_endpoint_is_used() -> None:
    # Given: local mode's LWA endpoint
    transport = FakeTransport(lwa=[response(200, GRANTED)])
    provider = LwaTokenProvider(transport, clock=FakeClock())
    local = "http://127.0.0.1:8080/auth/o2/token"

    # When: exchanged there
    provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI, token_url=local)

    # Then: posted to it
    assert transport.lwa_requests[0].url == local


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_request", "unauthorized_client"])
def test_given_lwa_refuses_the_code_when_exchanged_then_lwa_auth_error_with_its_code(error: str) -> None:
    # Given: LWA refusing the code (reused, expired, another redirect URI)
    body = {"error": error, "error_description": "The request has an invalid grant parameter : code"}
    transport = FakeTransport(lwa=[response(400, body), response(200, GRANTED)])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    # When: exchanged
    with pytest.raises(LwaAuthError) as refused:
        provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI)

    # Then: LWA's error code is kept; the message carries no code or secret
    assert (refused.value.status, refused.value.code) == (400, error)
    assert CODE not in str(refused.value)
    assert CREDENTIALS.client_secret not in str(refused.value)
    # ... and a refusal is not remembered: another code is asked for at once
    assert provider.exchange_authorization_code(CREDENTIALS, code="ANother", redirect_uri=REDIRECT_URI)


def test_given_lwa_answers_without_a_refresh_token_when_exchanged_then_malformed() -> None:
    # Given: a 200 without a refresh token
    transport = FakeTransport(lwa=[response(200, {"access_token": "Atza|only"})])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    # When/Then: refused as malformed
    with pytest.raises(MalformedResponse):
        provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI)


def test_given_lwa_down_or_unreachable_when_exchanged_then_transient_errors() -> None:
    # Given: LWA answering 503, then not at all
    transport = FakeTransport(lwa=[response(503, {})])
    provider = LwaTokenProvider(transport, clock=FakeClock())

    # When/Then: a server error, then a timeout (the transport raising)
    with pytest.raises(SpApiServerError):
        provider.exchange_authorization_code(CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI)

    class Unreachable(FakeTransport):
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            raise timeout_error()

    with pytest.raises(SpApiTimeout):
        LwaTokenProvider(Unreachable(), clock=FakeClock()).exchange_authorization_code(
            CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI
        )


def test_given_an_exchange_when_logged_then_no_code_token_or_secret_appears(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given: debug logging
    caplog.set_level(logging.DEBUG)
    transport = FakeTransport(lwa=[response(200, GRANTED)])

    # When: a code is exchanged
    LwaTokenProvider(transport, clock=FakeClock()).exchange_authorization_code(
        CREDENTIALS, code=CODE, redirect_uri=REDIRECT_URI
    )

    # Then: only the grant type is logged
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "authorization_code" in logged
    for secret in (CODE, CREDENTIALS.client_secret, GRANTED["access_token"], GRANTED["refresh_token"]):
        assert str(secret) not in logged
