"""Error messages: one clear line with operation, status, code and request id."""

from __future__ import annotations

import pytest

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


def test_given_all_fields_when_printed_then_one_line_with_each() -> None:
    error = SpApiServerError(
        "getOrder", "server error", status=503, code="ServiceUnavailable", request_id="r-1"
    )

    assert str(error) == "getOrder: server error status=503 code=ServiceUnavailable request_id=r-1"
    assert (error.operation, error.status, error.code, error.request_id) == (
        "getOrder",
        503,
        "ServiceUnavailable",
        "r-1",
    )


def test_given_multi_line_or_long_message_when_printed_then_one_bounded_line() -> None:
    error = SpApiClientError("getOrder", "first\nsecond\r\n" + "x" * 1000, status=400)

    assert "\n" not in str(error) and "\r" not in str(error)
    assert len(error.message) <= 200


@pytest.mark.parametrize(
    ("error_type", "retriable"),
    [
        (SpApiThrottled, True),
        (SpApiServerError, True),
        (SpApiTimeout, True),
        (MalformedResponse, True),
        (SpApiNotFound, False),
        (SpApiClientError, False),
        (SpApiAccessDenied, False),
        (LwaAuthError, False),
    ],
)
def test_retriable_flags(error_type: type[SpApiError], retriable: bool) -> None:
    assert error_type("op", "m").retriable is retriable


def test_given_budget_exhausted_then_retriable_with_the_wait_needed() -> None:
    error = RateBudgetExhausted("searchOrders", "rate budget exhausted", wait_needed=178.6)

    assert error.retriable and error.wait_needed == 178.6 and error.status is None
    assert str(error).startswith("searchOrders: rate budget exhausted")
