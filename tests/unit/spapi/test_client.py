"""The SP-API client against a scripted transport: retries, refresh, typed errors, time budget."""

from __future__ import annotations

import contextlib
import json
import logging
import random

import pytest

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.client import (
    GRANTLESS_SELLER_KEY,
    SAFETY_MARGIN_SECONDS,
    USER_AGENT,
    SellerContext,
    SpApiClient,
)
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import (
    LwaAuthError,
    MalformedResponse,
    RateBudgetExhausted,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.ratelimit import RateLimiter, RatePlan
from tests.support.fakes import (
    FakeClock,
    FakeTransport,
    amazon_error,
    lwa_token,
    response,
    timeout_error,
)
from tests.unit.spapi.conftest import CREDENTIALS, SECRETS, MakeClient

ORDER_PATH = "/orders/2026-01-01/orders/123-4567890-1234567"
# The bucket a 2026-01-01 getOrder is metered in (v0 getOrder has its own).
GET_ORDER = "orders/2026-01-01:getOrder"
NA_HOST = "https://sellingpartnerapi-na.amazon.com"
SCOPE = "sellingpartnerapi::notifications"
EXPIRED = amazon_error(
    403,
    "Unauthorized",
    "Access to requested resource is denied.",
    "The access token you provided has expired.",
)


class RecordingObserver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.throttles: list[str] = []

    def on_call(self, operation: str, status: int | None, latency_ms: float) -> None:
        assert latency_ms >= 0
        self.calls.append((operation, status))

    def on_throttled(self, operation: str) -> None:
        self.throttles.append(operation)


@pytest.fixture
def longest_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full jitter always draws its upper bound: the worst case for the time budget."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


# -- the request on the wire ---------------------------------------------------------------------


def test_given_success_when_requested_then_json_request_id_and_headers(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"order": {"orderId": "x"}}, {"x-amzn-RequestId": "rid-9"})]

    result = make_client().request(
        "getOrder", "GET", ORDER_PATH, query={"includedData": ["BUYER", "RECIPIENT"]}
    )

    assert (result.status, result.body, result.request_id) == (200, {"order": {"orderId": "x"}}, "rid-9")
    [sent] = transport.requests
    assert sent.method == "GET" and sent.body is None
    assert sent.url == f"{NA_HOST}{ORDER_PATH}?includedData=BUYER%2CRECIPIENT"
    assert sent.headers["x-amz-access-token"] == "Atza|token-1"
    assert sent.headers["user-agent"] == USER_AGENT == "SellerStream/0.1 (Language=Python/3.11)"
    assert sent.headers["accept"] == "application/json"
    assert "content-type" not in sent.headers


def test_given_query_values_when_requested_then_lists_csv_and_empty_lists_omitted(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {})]

    make_client().request(
        "getOrders",
        "GET",
        "/orders/v0/orders",
        query={
            "MarketplaceIds": ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"),
            "OrderStatuses": [],
            "NextToken": "a+b/c=",
        },
    )

    assert transport.requests[0].url == (
        f"{NA_HOST}/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER%2CA2EUQ1WTGCTBG2&NextToken=a%2Bb%2Fc%3D"
    )


def test_given_body_when_requested_then_json_with_content_type(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"payload": {}})]

    make_client().request(
        "createSubscription", "POST", "/notifications/v1/subscriptions/ORDER_CHANGE", body={"a": 1}
    )

    [sent] = transport.requests
    assert json.loads(sent.body or b"") == {"a": 1}
    assert sent.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("options", "host"),
    [
        ({}, NA_HOST),
        ({"seller": SellerContext("S", "rt", Region.EU)}, "https://sellingpartnerapi-eu.amazon.com"),
        (
            {"seller": SellerContext("S", "rt", Region.FE), "sandbox": True},
            "https://sandbox.sellingpartnerapi-fe.amazon.com",
        ),
        ({"base_url_override": "http://127.0.0.1:8123/"}, "http://127.0.0.1:8123"),
    ],
)
def test_given_region_sandbox_or_override_when_requested_then_that_host(
    make_client: MakeClient, transport: FakeTransport, options: dict[str, object], host: str
) -> None:
    transport.script = [response(200, {})]

    make_client(**options).request("getOrder", "GET", ORDER_PATH)

    assert transport.requests[0].url == host + ORDER_PATH


def test_given_lwa_url_override_when_requested_then_token_fetched_there(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.script = [response(200, {})]
    emulator_lwa = "http://127.0.0.1:8123/auth/o2/token"

    make_client(lwa_token_url=emulator_lwa).request("getOrder", "GET", ORDER_PATH)

    assert [r.url for r in transport.lwa_requests] == [emulator_lwa]


def test_given_empty_2xx_body_when_requested_then_empty_object(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, b"")]

    assert make_client().request("deleteDestination", "DELETE", "/notifications/v1/destinations/d").body == {}


# -- throttling and the rate limiter -------------------------------------------------------------


def test_given_429_then_200_when_requested_then_success_after_backoff_and_limiter_drained(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock, limiter: RateLimiter
) -> None:
    observer = RecordingObserver()
    transport.script = [
        amazon_error(429, "QuotaExceeded", request_id="r1"),
        response(200, {"ok": True}, {"x-amzn-RequestId": "r2"}),
    ]

    result = make_client(observer=observer).request("getOrder", "GET", ORDER_PATH)

    assert result.body == {"ok": True}
    assert len(transport.requests) == 2
    # A backoff, then the wait for one token of an emptied 0.5/s bucket: 2 s in all.
    assert len(clock.slept) == 2
    assert sum(clock.slept) == pytest.approx(2.0)
    assert limiter.tokens_of("A1SELLER", GET_ORDER) == pytest.approx(0.0)
    assert observer.throttles == ["getOrder"]
    assert observer.calls == [("getOrder", 429), ("getOrder", 200)]


def test_given_throttled_every_time_when_requested_then_throttled_error_after_max_attempts(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [amazon_error(429, "QuotaExceeded", request_id=f"r{i}") for i in range(4)]

    with pytest.raises(SpApiThrottled) as caught:
        make_client(remaining=60.0).request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 4
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (429, "QuotaExceeded", "r3")
    assert caught.value.retriable


def test_given_429_and_bucket_slower_than_remaining_time_when_requested_then_throttled_not_slept(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.script = [amazon_error(429, "QuotaExceeded")]

    # searchOrders refills one token every 178 s: more than this invocation has.
    with pytest.raises(SpApiThrottled):
        make_client(remaining=25.0).request("searchOrders", "GET", "/orders/2026-01-01/orders")

    assert len(transport.requests) == 1
    assert sum(clock.slept) < 25.0 - SAFETY_MARGIN_SECONDS


def test_given_429_and_token_wait_using_the_last_of_the_time_when_retrying_then_throttled(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock, longest_backoff: None
) -> None:
    transport.script = [amazon_error(429, "QuotaExceeded"), response(200, {})]

    # 0.25 s backoff, then 1.75 s for a token of the emptied 0.5/s bucket: nothing left to send with.
    with pytest.raises(SpApiThrottled):
        make_client(remaining=SAFETY_MARGIN_SECONDS + 2.0).request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 1
    assert sum(clock.slept) == pytest.approx(2.0)


def test_given_empty_bucket_and_short_deadline_when_requested_then_budget_exhausted_without_sleeping(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"getOrder": RatePlan(0.5, 1)})
    transport.script = [response(200, {"first": True})]
    make_client(remaining=5.0, rate_limiter=limiter).request("getOrder", "GET", ORDER_PATH)

    # One token takes 2 s; 4 s remain, minus the safety margin: 1 s.
    with pytest.raises(RateBudgetExhausted) as caught:
        make_client(remaining=4.0, rate_limiter=limiter).request("getOrder", "GET", ORDER_PATH)

    assert clock.slept == []
    assert len(transport.requests) == 1
    assert len(transport.lwa_requests) == 1  # no token fetched for a call that was not made
    assert caught.value.retriable and caught.value.wait_needed == pytest.approx(2.0)


def test_given_bucket_refills_within_deadline_when_requested_then_waits_then_calls(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"getOrder": RatePlan(0.5, 1)})
    transport.script = [response(200, {}), response(200, {})]
    client = make_client(remaining=25.0, rate_limiter=limiter)

    client.request("getOrder", "GET", ORDER_PATH)
    client.request("getOrder", "GET", ORDER_PATH)

    assert clock.slept == [pytest.approx(2.0)]


@pytest.mark.parametrize("status", [200, 404])
def test_given_rate_limit_header_when_answered_then_limiter_learns_the_rate(
    make_client: MakeClient, transport: FakeTransport, limiter: RateLimiter, status: int
) -> None:
    transport.script = [
        response(status, {"errors": [{"code": "NotFound"}]}, {"X-Amzn-RateLimit-Limit": "2.5"})
    ]

    with contextlib.suppress(SpApiNotFound):
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert limiter.rate_of("A1SELLER", GET_ORDER) == 2.5


# -- server errors, timeouts, malformed answers, and the time budget -----------------------------


def test_given_persistent_5xx_when_requested_then_typed_error_after_max_attempts(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock, longest_backoff: None
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
    assert "getOrder" in str(caught.value) and "r3" in str(caught.value) and "503" in str(caught.value)
    assert clock.slept == [0.25, 0.5, 1.0]  # exponential caps, drawn at their maximum


def test_given_max_attempts_two_when_5xx_then_two_calls(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [amazon_error(500, "InternalFailure") for _ in range(2)]

    with pytest.raises(SpApiServerError):
        make_client(max_attempts=2).request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 2


def test_given_backoff_capped_when_many_attempts_then_no_sleep_above_max_backoff(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock, longest_backoff: None
) -> None:
    transport.script = [amazon_error(500, "InternalFailure") for _ in range(8)]

    with pytest.raises(SpApiServerError):
        make_client(remaining=600.0, max_attempts=8, max_backoff=2.0).request("getOrder", "GET", ORDER_PATH)

    assert clock.slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("remaining", [3.05, 3.3, 4.0, 5.0, 7.5, 12.0])
def test_given_little_time_left_when_retrying_then_never_sleeps_past_remaining_time(
    make_client: MakeClient,
    transport: FakeTransport,
    clock: FakeClock,
    longest_backoff: None,
    remaining: float,
) -> None:
    transport.script = [amazon_error(500, "InternalFailure") for _ in range(4)]
    client = make_client(remaining=remaining, base_backoff=1.0, max_backoff=8.0)

    with pytest.raises(SpApiServerError):
        client.request("getOrder", "GET", ORDER_PATH)

    assert sum(clock.slept) < remaining - SAFETY_MARGIN_SECONDS
    assert all(t <= remaining - SAFETY_MARGIN_SECONDS for t in transport.timeouts)


def test_given_no_time_left_when_requested_then_timeout_without_any_call(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    with pytest.raises(SpApiTimeout) as caught:
        make_client(remaining=SAFETY_MARGIN_SECONDS - 0.5).request("getOrder", "GET", ORDER_PATH)

    assert transport.requests == [] and transport.lwa_requests == [] and clock.slept == []
    assert caught.value.retriable


def test_given_timeouts_when_requested_then_retried_and_timeout_capped_by_remaining_time(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    observer = RecordingObserver()
    transport.script = [timeout_error(), response(200, {})]

    make_client(remaining=8.0, observer=observer).request("getOrder", "GET", ORDER_PATH)

    assert transport.timeouts[0] == pytest.approx(8.0 - SAFETY_MARGIN_SECONDS)
    assert observer.calls == [("getOrder", None), ("getOrder", 200)]


def test_given_plenty_of_time_when_requested_then_request_timeout_applies(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {})]

    make_client(remaining=600.0, request_timeout=7.0).request("getOrder", "GET", ORDER_PATH)

    assert transport.timeouts == [7.0]


def test_given_only_timeouts_when_requested_then_typed_timeout(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [timeout_error() for _ in range(4)]

    with pytest.raises(SpApiTimeout):
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 4


def test_given_408_when_requested_then_retried_as_a_timeout(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(408, b""), response(200, {"ok": 1})]

    assert make_client().request("getOrder", "GET", ORDER_PATH).body == {"ok": 1}


def test_given_malformed_2xx_body_when_requested_then_retried_then_malformed_response(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [
        response(200, b'{"order": {"orderId": "12', {"x-amzn-RequestId": "m0"}),
        response(200, b"<html>", {"x-amzn-RequestId": "m1"}),
        response(200, b"not json", {"x-amzn-RequestId": "m2"}),
        response(200, b"\xff\xfe", {"x-amzn-RequestId": "m3"}),
    ]

    with pytest.raises(MalformedResponse) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.requests) == 4
    assert (caught.value.status, caught.value.request_id) == (200, "m3")


def test_given_malformed_then_good_body_when_requested_then_good_one_returned(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, b"<html>"), response(200, {"order": {}})]

    assert make_client().request("getOrder", "GET", ORDER_PATH).body == {"order": {}}


# -- access tokens ---------------------------------------------------------------------------------


def test_given_token_cached_when_two_calls_then_one_lwa_call(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {}), response(200, {})]
    client = make_client()

    client.request("getOrder", "GET", ORDER_PATH)
    client.request("getOrder", "GET", ORDER_PATH)

    assert len(transport.lwa_requests) == 1


def test_given_expired_token_403_when_requested_then_refreshes_once_and_succeeds(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.lwa = [lwa_token("Atza|old"), lwa_token("Atza|new")]
    transport.script = [EXPIRED, response(200, {"ok": 1})]

    assert make_client().request("getOrder", "GET", ORDER_PATH).body == {"ok": 1}

    assert len(transport.lwa_requests) == 2
    assert [r.headers["x-amz-access-token"] for r in transport.requests] == ["Atza|old", "Atza|new"]


def test_given_403_after_refresh_when_requested_then_access_denied(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [EXPIRED, amazon_error(403, "Unauthorized", "Access to requested resource is denied.")]

    with pytest.raises(SpApiAccessDenied) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.lwa_requests) == 2
    assert len(transport.requests) == 2
    assert (caught.value.status, caught.value.code, caught.value.retriable) == (403, "Unauthorized", False)


def test_given_403_unrelated_to_the_token_when_requested_then_access_denied_without_refresh(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [amazon_error(403, "AccessDenied", "Role is missing.")]

    with pytest.raises(SpApiAccessDenied):
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert len(transport.lwa_requests) == 1 and len(transport.requests) == 1


def test_given_invalid_grant_when_requested_then_terminal_lwa_error_not_retried(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.lwa = [response(400, {"error": "invalid_grant", "error_description": "revoked"})]

    with pytest.raises(LwaAuthError) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert caught.value.code == "invalid_grant" and not caught.value.retriable
    assert len(transport.lwa_requests) == 1
    assert transport.requests == [] and clock.slept == []
    for secret in SECRETS:
        assert secret not in str(caught.value)


def test_given_lwa_outage_then_recovery_when_requested_then_retried_and_succeeds(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.lwa = [response(503, b""), lwa_token("Atza|ok")]
    transport.script = [response(200, {"ok": 1})]

    assert make_client().request("getOrder", "GET", ORDER_PATH).body == {"ok": 1}

    assert transport.requests[0].headers["x-amz-access-token"] == "Atza|ok"


def test_given_grantless_scope_when_requested_then_client_credentials_token_and_own_bucket(
    clock: FakeClock,
) -> None:
    transport = FakeTransport([response(200, {"payload": []})], lwa=[lwa_token("Atza|grantless")])
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    client = SpApiClient(
        credentials=CREDENTIALS,
        seller=None,
        transport=transport,
        token_provider=LwaTokenProvider(transport, clock=clock),
        rate_limiter=limiter,
        sleep=clock.sleep,
        clock=clock,
    )

    client.request("getDestinations", "GET", "/notifications/v1/destinations", grantless_scope=SCOPE)

    [token_request] = transport.lwa_requests
    assert b"grant_type=client_credentials" in (token_request.body or b"")
    assert b"scope=sellingpartnerapi%3A%3Anotifications" in (token_request.body or b"")
    assert b"refresh_token" not in (token_request.body or b"")
    assert transport.requests[0].headers["x-amz-access-token"] == "Atza|grantless"
    assert limiter.tokens_of(GRANTLESS_SELLER_KEY, "notifications/v1:getDestinations") == pytest.approx(4.0)


def test_given_no_seller_when_seller_call_requested_then_value_error(clock: FakeClock) -> None:
    client = SpApiClient(
        credentials=CREDENTIALS,
        seller=None,
        transport=FakeTransport(),
        token_provider=LwaTokenProvider(FakeTransport(), clock=clock),
        rate_limiter=RateLimiter(clock=clock),
        sleep=clock.sleep,
        clock=clock,
    )

    with pytest.raises(ValueError):
        client.request("getOrder", "GET", ORDER_PATH)


# -- typed errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (404, "NotFound", SpApiNotFound),
        (400, "InvalidInput", SpApiClientError),
        (413, "RequestEntityTooLarge", SpApiClientError),
        (415, "UnsupportedMediaType", SpApiClientError),
        (401, "Unauthenticated", SpApiAccessDenied),
    ],
)
def test_given_4xx_when_requested_then_typed_error_at_once(
    make_client: MakeClient,
    transport: FakeTransport,
    clock: FakeClock,
    status: int,
    code: str,
    error_type: type[SpApiError],
) -> None:
    transport.script = [amazon_error(status, code, "Invalid input", request_id="rq")] * 2

    with pytest.raises(error_type) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert (caught.value.status, caught.value.code, caught.value.request_id) == (status, code, "rq")
    assert not caught.value.retriable
    assert len(transport.requests) <= 2 and clock.slept == []  # 401 may refresh the token once


def test_given_error_without_amazon_error_list_when_raised_then_status_still_typed(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(404, b"<html>Not Found</html>")]

    with pytest.raises(SpApiNotFound) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    assert caught.value.code is None and "html" not in str(caught.value)


def test_given_every_error_type_then_it_is_an_sp_api_error() -> None:
    for error_type in (
        SpApiThrottled,
        SpApiServerError,
        SpApiNotFound,
        SpApiClientError,
        SpApiAccessDenied,
        SpApiTimeout,
        MalformedResponse,
        LwaAuthError,
    ):
        assert issubclass(error_type, SpApiError)
    assert issubclass(RateBudgetExhausted, SpApiError)


# -- what reaches logs and messages ----------------------------------------------------------------


def test_given_error_body_with_buyer_data_when_raised_then_message_is_one_line_without_body(
    make_client: MakeClient, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport.script = [
        response(
            400,
            {
                "errors": [{"code": "InvalidInput", "message": "bad\ninput", "details": ""}],
                "buyerEmail": "b@x.com",
                "postalCode": "98101",
            },
            {"x-amzn-RequestId": "rq-7"},
        )
    ]

    with pytest.raises(SpApiClientError) as caught:
        make_client().request("getOrder", "GET", ORDER_PATH)

    message = str(caught.value)
    assert "\n" not in message
    for part in ("getOrder", "400", "InvalidInput", "rq-7"):
        assert part in message
    for leaked in ("b@x.com", "98101", *SECRETS):
        assert leaked not in message and leaked not in caplog.text


def test_given_debug_logging_when_calls_retry_and_succeed_then_one_line_each_without_secrets(
    make_client: MakeClient, transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport.lwa = [lwa_token("Atza|token-1"), lwa_token("Atza|token-1")]
    transport.script = [
        timeout_error(),
        EXPIRED,
        amazon_error(503, "ServiceUnavailable", request_id="r503"),
        response(200, {"payload": {"BuyerEmail": "buyer@example.com"}}, {"x-amzn-RequestId": "r200"}),
    ]

    make_client().request(
        "getOrders",
        "GET",
        "/orders/v0/orders",
        query={"BuyerEmail": "buyer@example.com", "MarketplaceIds": ["M"]},
    )

    call_lines = [r for r in caplog.records if r.name == "sellerstream.spapi.client"]
    assert len(call_lines) == 4
    final = call_lines[-1].getMessage()
    for part in ("getOrders", "status=200", "request_id=r200", "attempt=3", "latency_ms="):
        assert part in final
    assert "r503" in caplog.text
    for leaked in ("buyer@example.com", "buyer%40example.com", *SECRETS):
        assert leaked not in caplog.text


@pytest.mark.parametrize(
    "throttle_headers",
    [{"x-amzn-ErrorType": "TooManyRequestsException"}, {"x-amzn-RateLimit-Limit": "0.5"}],
    ids=["gateway shape, no rate", "with rate"],
)
def test_given_either_shape_of_429_when_answered_then_the_bucket_is_emptied_and_a_known_rate_kept(
    make_client: MakeClient, transport: FakeTransport, limiter: RateLimiter, throttle_headers: dict[str, str]
) -> None:
    transport.script = [
        response(200, {"ok": True}, {"x-amzn-RateLimit-Limit": "2.5"}),
        response(
            429,
            {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]},
            throttle_headers,
        ),
        response(200, {"ok": True}),
    ]
    client = make_client()

    client.request("getOrder", "GET", ORDER_PATH)
    client.request("getOrder", "GET", ORDER_PATH)

    rate = float(throttle_headers.get("x-amzn-RateLimit-Limit", "2.5"))
    assert limiter.rate_of("A1SELLER", GET_ORDER) == rate
    assert limiter.tokens_of("A1SELLER", GET_ORDER) == pytest.approx(0.0, abs=1.0)


def test_given_v0_and_2026_getorder_when_called_then_each_draws_from_its_own_bucket(
    make_client: MakeClient, transport: FakeTransport, limiter: RateLimiter
) -> None:
    transport.script = [response(200, {}), response(200, {})]
    client = make_client()

    client.request("getOrder", "GET", ORDER_PATH)
    client.request("getOrder", "GET", "/orders/v0/orders/123-4567890-1234567")

    assert limiter.tokens_of("A1SELLER", GET_ORDER) == pytest.approx(29.0)
    assert limiter.tokens_of("A1SELLER", "orders/v0:getOrder") == pytest.approx(29.0)
