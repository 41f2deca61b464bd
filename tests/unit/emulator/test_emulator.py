"""The SP-API emulator speaks Amazon's shapes, enforces rate plans and injects faults on request."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.emulator import Faults, SpApiEmulator
from tests.support.spapi_models import response_validator

ORDER = "123-4567890-1234567"


def call(
    emulator: SpApiEmulator, path: str, token: str | None, data: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    url = emulator.lwa_token_url if data is not None else emulator.base_url + path
    request = urllib.request.Request(url, data=data, headers={"x-amz-access-token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status, headers, body = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
    try:
        return status, {k.lower(): v for k, v in headers.items()}, json.loads(body)
    except ValueError:
        return status, {k.lower(): v for k, v in headers.items()}, body


def token_for(emulator: SpApiEmulator, refresh_token: str = "Atzr|rt-1", **form: str) -> tuple[int, Any]:
    fields = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": "app",
        "client_secret": "s",
    }
    fields.update(form)
    status, _, body = call(emulator, "", None, urllib.parse.urlencode(fields).encode())
    return status, body


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0, seed=1) as running:
        running.register_app("app", "s")
        running.register_seller("A1SELLER", "Atzr|rt-1")
        running.set_order(ORDER, seller_id="A1SELLER", status="Shipped")
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    status, body = token_for(emulator)
    assert status == 200
    return str(body["access_token"])


def test_given_registered_seller_when_token_requested_then_bearer_for_an_hour(
    emulator: SpApiEmulator,
) -> None:
    status, body = token_for(emulator)

    assert status == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")


def test_given_unknown_refresh_token_or_client_when_token_requested_then_lwa_errors(
    emulator: SpApiEmulator,
) -> None:
    status, body = token_for(emulator, "Atzr|unknown")
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = token_for(emulator, client_secret="wrong")
    assert (status, body["error"]) == (401, "invalid_client")


def test_given_client_credentials_with_scope_when_token_requested_then_grantless_token(
    emulator: SpApiEmulator,
) -> None:
    status, body = token_for(
        emulator, grant_type="client_credentials", scope="sellingpartnerapi::notifications"
    )

    assert status == 200 and body["access_token"].startswith("Atza|")


def test_given_no_or_unknown_token_when_calling_then_403(emulator: SpApiEmulator) -> None:
    for token in (None, "Atza|forged"):
        status, headers, body = call(emulator, f"/orders/2026-01-01/orders/{ORDER}", token)
        assert status == 403
        assert body["errors"][0]["code"] == "Unauthorized"
        assert "x-amzn-requestid" in headers


def test_given_order_2026_when_fetched_then_valid_for_amazons_model_and_filtered_by_included_data(
    emulator: SpApiEmulator, token: str
) -> None:
    status, headers, full = call(
        emulator,
        f"/orders/2026-01-01/orders/{ORDER}?includedData=BUYER,RECIPIENT,FULFILLMENT,PROCEEDS",
        token,
    )
    _, _, bare = call(emulator, f"/orders/2026-01-01/orders/{ORDER}", token)

    assert status == 200
    response_validator("orders_2026-01-01.json", "GetOrderResponse").validate(full)
    response_validator("orders_2026-01-01.json", "GetOrderResponse").validate(bare)
    assert {"buyer", "recipient", "fulfillment", "proceeds"} <= set(full["order"])
    assert not {"buyer", "recipient", "fulfillment", "proceeds"} & set(bare["order"])
    assert float(headers["x-amzn-ratelimit-limit"]) == pytest.approx(0.5 * 100)


def test_given_order_v0_when_fetched_then_valid_and_consistent_with_2026(
    emulator: SpApiEmulator, token: str
) -> None:
    _, _, v0 = call(emulator, f"/orders/v0/orders/{ORDER}", token)
    _, _, new = call(emulator, f"/orders/2026-01-01/orders/{ORDER}", token)
    items: list[dict[str, Any]] = []
    path = f"/orders/v0/orders/{ORDER}/orderItems"
    pages = 0
    while True:
        _, _, page = call(emulator, path, token)
        response_validator("ordersV0.json", "GetOrderItemsResponse").validate(page)
        items.extend(page["payload"]["OrderItems"])
        pages += 1
        next_token = page["payload"].get("NextToken")
        if not next_token:
            break
        path = f"/orders/v0/orders/{ORDER}/orderItems?NextToken={urllib.parse.quote(next_token)}"

    response_validator("ordersV0.json", "GetOrderResponse").validate(v0)
    assert v0["payload"]["LastUpdateDate"] == new["order"]["lastUpdatedTime"]
    assert [i["OrderItemId"] for i in items] == [i["orderItemId"] for i in new["order"]["orderItems"]]
    assert pages == (len(items) + 1) // 2


def test_given_same_id_and_seed_when_fetched_twice_then_identical_and_other_seed_differs(token: str) -> None:
    bodies = []
    for seed in (1, 1, 2):
        with SpApiEmulator(seed=seed) as other:
            other.register_seller("A1SELLER", "Atzr|rt-1")
            other.set_order(ORDER, seller_id="A1SELLER")
            _, body = token_for(other)
            bodies.append(call(other, f"/orders/v0/orders/{ORDER}", body["access_token"])[2])

    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


def test_given_set_order_when_fetched_then_overrides_apply(emulator: SpApiEmulator, token: str) -> None:
    emulator.set_order(
        "222-0000000-0000001", seller_id="A1SELLER", last_updated="2025-12-01T10:00:00Z", status="Canceled"
    )

    _, _, body = call(
        emulator, "/orders/2026-01-01/orders/222-0000000-0000001?includedData=FULFILLMENT", token
    )

    assert body["order"]["lastUpdatedTime"] == "2025-12-01T10:00:00Z"
    assert body["order"]["fulfillment"]["fulfillmentStatus"] == "CANCELLED"


def test_given_bad_ids_missing_orders_and_bad_included_data_then_amazon_errors(
    emulator: SpApiEmulator, token: str
) -> None:
    emulator.mark_missing("333-0000000-0000001")

    assert call(emulator, "/orders/2026-01-01/orders/not-an-id", token)[0] == 400
    assert call(emulator, "/orders/2026-01-01/orders/333-0000000-0000001", token)[0] == 404
    status, _, body = call(emulator, f"/orders/2026-01-01/orders/{ORDER}?includedData=EVERYTHING", token)
    assert (status, body["errors"][0]["code"]) == (400, "InvalidInput")


def test_given_small_burst_when_exceeded_then_429_then_recovers_after_refill() -> None:
    with SpApiEmulator(time_scale=10.0) as limited:
        limited.register_seller("A1SELLER", "Atzr|rt-1")
        limited.set_order(ORDER, seller_id="A1SELLER")
        limited.set_rate_plan("getOrder", rate=1.0, burst=2)
        token = token_for(limited)[1]["access_token"]
        statuses = [call(limited, f"/orders/v0/orders/{ORDER}", token)[0] for _ in range(3)]
        time.sleep(0.15)  # 1/s x time scale 10: one token per 0.1 s
        after = call(limited, f"/orders/v0/orders/{ORDER}", token)

        assert statuses == [200, 200, 429]
        assert after[0] == 200 and after[1]["x-amzn-ratelimit-limit"] == "10"
        assert limited.throttled["getOrder"] == 1 and limited.calls["getOrder"] == 4


def test_given_faults_when_injected_then_errors_and_malformed_bodies() -> None:
    with SpApiEmulator() as faulty:
        faulty.register_seller("A1SELLER", "Atzr|rt-1")
        faulty.set_order(ORDER, seller_id="A1SELLER")
        token = token_for(faulty)[1]["access_token"]
        faulty.fail_next("getOrder", 500)
        assert call(faulty, f"/orders/v0/orders/{ORDER}", token)[0] == 500
        faulty.faults = Faults(error_rate=1.0, error_status=503)
        assert call(faulty, f"/orders/v0/orders/{ORDER}", token)[0] == 503
        faulty.faults = Faults(malformed_rate=1.0)
        status, _, body = call(faulty, f"/orders/v0/orders/{ORDER}", token)
        assert status == 200 and isinstance(body, bytes)


def test_given_expired_tokens_when_calling_then_403_says_expired() -> None:
    with SpApiEmulator() as expiring:
        expiring.register_seller("A1SELLER", "Atzr|rt-1")
        token = token_for(expiring)[1]["access_token"]
        expiring.expire_access_tokens()

        status, _, body = call(expiring, f"/orders/v0/orders/{ORDER}", token)

        assert status == 403 and "expired" in body["errors"][0]["details"]
