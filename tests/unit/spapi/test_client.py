"""The SP-API client against a scripted transport: retries, refresh, typed errors, time budget."""

from __future__ import annotations

import logging

import pytest

from sellerstream.spapi.errors import (
    LwaAuthError,
    MalformedResponse,
    RateBudgetExhausted,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.ratelimit import RateLimiter, RatePlan
from tests.support.fakes import FakeClock, FakeTransport, amazon_error, response, timeout_error
from tests.unit.spapi.conftest import CREDENTIALS, SELLER

ORDER_PATH = "/orders/2026-01-01/orders/123-4567890-1234567"


def test_given_success_when_requested_then_json_and_request_id_and_headers_sent(
    make_client, transport
) -> None:
    transport.script = [response(200, {"order": {"orderId": "x"}}, {"x-amzn-RequestId": "rid-9"})]

    result = make_client().request(
        "getOrder", "GET", ORDER_PATH, query={"includedData": ["BUYER", "RECIPIENT"]}
    )

    assert result.body == {"order": {"orderId": "x"}}
    assert result.request_id == "rid-9"
    [sent] = transport.requests
    assert sent.url == f"https://sellingpartnerapi-na.amazon.com{ORDER_PATH}?includedData=BUYER%2CRECIPIENT"
    assert sent.headers["x-amz-access-token"] == "Atza|token-1"
    assert sent.headers["user-agent"].startswith("SellerStream/")


def test_given_429_then_200_when_requested_then_retried_after_backoff_and_bucket_drained(
    make_client, transport, clock
) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    transport.script = [
        amazon_error(429, "QuotaExceeded"),
        response(200, {"ok": True}, {"x-amzn-RateLimit-Limit": "2"}),
    ]

    result = make_client(rate_limiter=limiter).request("getOrder", "GET", ORDER_PATH)

    assert result.body == {"ok": True}
    assert len(transport.requests) == 2
    assert limiter.rate_of("A1SELLER", "getOrder") == 2.0


def test_given_persistent_5xx_when_requested_then_typed_error_after_max_attempts(
    make_client, transport
) -> None:
    transport.script = [amazon_error(503, "ServiceUnavailable", request_id=f"r{i}") for i in range(4)]

    with pytest.raises(SpApiServerError) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 4
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (
        503,
        "ServiceUnavailable",
        "r3",
    )
    assert "getOrder" in str(caught.value) and "r3" in str(caught.value)


def test_given_throttled_every_time_when_requested_then_throttled_error(make_client, transport) -> None:
    transport.script = [amazon_error(429, "QuotaExceeded") for _ in range(4)]

    with pytest.raises(SpApiThrottled):
        make_client().request("getOrder", "GET", ORDER_PATH)


def test_given_little_time_left_when_backoff_would_overrun_then_raises_without_sleeping_past_deadline(
    make_client, transport, clock
) -> None:
    transport.script = [amazon_error(500, "InternalFailure") for _ in range(4)]
    client = make_client(remaining=3.2, base_backoff=1.0, max_backoff=1.0)

    with pytest.raises(SpApiServerError):
        client.request("getOrder", "GET", ORDER_PATH)

    assert sum(clock.slept) < 3.2


def test_given_empty_bucket_and_short_deadline_when_requested_then_budget_exhausted_without_sleeping(
    make_client, transport, clock
) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"getOrder": RatePlan(0.5, 1)})
    transport.script = [response(200, {"first": True})]
    client = make_client(remaining=5.0, rate_limiter=limiter)
    client.request("getOrder", "GET", ORDER_PATH)

    with pytest.raises(RateBudgetExhausted) as caught:
        make_client(remaining=4.0, rate_limiter=limiter).request("getOrder", "GET", ORDER_PATH)

    assert clock.slept == []
    assert len(transport.requests) == 1
    assert caught.value.retriable


def test_given_bucket_refills_within_deadline_when_requested_then_waits_then_calls(
    make_client, transport, clock
) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"getOrder": RatePlan(0.5, 1)})
    transport.script = [response(200, {}), response(200, {})]
    client = make_client(remaining=25.0, rate_limiter=limiter)

    client.request("getOrder", "GET", ORDER_PATH)
    client.request("getOrder", "GET", ORDER_PATH)

    assert clock.slept == [pytest.approx(2.0)]


def test_given_expired_token_403_when_requested_then_refreshes_once_and_succeeds(
    make_client, transport
) -> None:
    expired = amazon_error(
        403,
        "Unauthorized",
        "Access to requested resource is denied.",
        "The access token you provided has expired.",
    )
    transport.script = [expired, response(200, {"ok": 1})]

    make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.lwa_requests) == 2
    assert len(transport.requests) == 2


def test_given_403_after_refresh_when_requested_then_access_denied(make_client, transport) -> None:
    denied = amazon_error(403, "Unauthorized", "Access to requested resource is denied.")
    transport.script = [denied, denied]

    with pytest.raises(SpApiAccessDenied):
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.lwa_requests) == 2


def test_given_invalid_grant_when_requested_then_terminal_lwa_error_not_retried(
    make_client, transport
) -> None:
    transport.lwa = [response(400, {"error": "invalid_grant", "error_description": "revoked"})]

    with pytest.raises(LwaAuthError) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert caught.value.code == "invalid_grant"
    assert len(transport.lwa_requests) == 1
    assert transport.requests == []
    assert "refresh-token-value" not in str(caught.value) and "client-secret-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [(404, "NotFound", SpApiNotFound), (400, "InvalidInput", SpApiClientError)],
)
def test_given_4xx_when_requested_then_typed_error_at_once(
    make_client, transport, status, code, error_type
) -> None:
    transport.script = [amazon_error(status, code, "Invalid input")]

    with pytest.raises(error_type) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert caught.value.code == code
    assert len(transport.requests) == 1


def test_given_malformed_2xx_body_when_requested_then_retried_then_malformed_response(
    make_client, transport
) -> None:
    transport.script = [response(200, b'{"order": {"orderId": "12'), response(200, b"<html>")] + [
        response(200, b"not json") for _ in range(2)
    ]

    with pytest.raises(MalformedResponse):
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 4


def test_given_timeouts_when_requested_then_retried_and_timeout_capped_by_remaining_time(
    make_client, transport
) -> None:
    transport.script = [timeout_error(), response(200, {})]

    make_client(remaining=8.0).request("getOrder", "GET", ORDER_PATH)

    assert transport.timeouts[0] <= 8.0 - 3.0


def test_given_only_timeouts_when_requested_then_typed_timeout(make_client, transport) -> None:
    transport.script = [timeout_error() for _ in range(4)]

    with pytest.raises(SpApiTimeout):
        make_client().request("getOrder", "GET", ORDER_PATH)


def test_given_error_body_with_buyer_data_when_raised_then_message_is_bounded_and_body_not_logged(
    make_client, transport, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    transport.script = [
        response(400, {"errors": [{"code": "InvalidInput", "message": "bad"}], "buyerEmail": "b@x.com"})
    ]

    with pytest.raises(SpApiClientError) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert "b@x.com" not in str(caught.value)
    for secret in ("Atza|token-1", "refresh-token-value", "client-secret-value", "b@x.com"):
        assert secret not in caplog.text


def test_given_grantless_scope_when_requested_then_client_credentials_token_used(clock) -> None:
    from sellerstream.spapi.auth import LwaTokenProvider
    from sellerstream.spapi.client import SpApiClient
    from tests.support.fakes import lwa_token

    transport = FakeTransport([response(200, {"payload": []})], lwa=[lwa_token("Atza|grantless")])
    client = SpApiClient(
        credentials=CREDENTIALS,
        seller=SELLER,
        transport=transport,
        token_provider=LwaTokenProvider(transport, clock=clock),
        rate_limiter=RateLimiter(clock=clock),
        sleep=FakeClock().sleep,
    )

    client.request(
        "getDestinations",
        "GET",
        "/notifications/v1/destinations",
        grantless_scope="sellingpartnerapi::notifications",
    )

    [token_request] = transport.lwa_requests
    assert b"grant_type=client_credentials" in (token_request.body or b"")
    assert b"scope=sellingpartnerapi%3A%3Anotifications" in (token_request.body or b"")
    assert transport.requests[0].headers["x-amz-access-token"] == "Atza|grantless"
