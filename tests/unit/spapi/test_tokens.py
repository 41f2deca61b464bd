"""Restricted Data Tokens: requested once per seller and reused, sent instead of the LWA token,
and an application Amazon refuses one still stores orders (without buyer data)."""

from __future__ import annotations

import json

from sellerstream.spapi.orders import V0_ORDER_PII, OrdersApi
from sellerstream.spapi.tokens import RestrictedDataTokens
from tests.support.fakes import FakeClock, FakeTransport, amazon_error, response
from tests.support.spapi_models import validate_http_request
from tests.unit.spapi.conftest import MakeClient

ORDER = "123-4567890-1234567"
RDT = "Atz.sprdt|token-value"


def test_given_two_orders_when_fetched_with_pii_then_one_rdt_serves_both_and_replaces_the_lwa_token(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.script = [
        response(200, {"restrictedDataToken": RDT, "expiresIn": 3600}),
        response(200, {"payload": {"AmazonOrderId": ORDER, "BuyerInfo": {"BuyerEmail": "b@x"}}}),
        response(200, {"payload": {"AmazonOrderId": ORDER}}),
    ]
    tokens = RestrictedDataTokens(clock=clock)
    api = OrdersApi(make_client())

    order = api.get_order_v0_with_pii(ORDER, tokens)
    api.get_order_v0_with_pii(ORDER, tokens)

    token_request, first, second = transport.requests
    assert json.loads(token_request.body or b"{}") == {
        "restrictedResources": [
            {
                "method": "GET",
                "path": "/orders/v0/orders/{orderId}",
                "dataElements": ["buyerInfo", "shippingAddress"],
            }
        ]
    }
    assert first.headers["x-amz-access-token"] == second.headers["x-amz-access-token"] == RDT
    assert order["BuyerInfo"]["BuyerEmail"] == "b@x"
    check = validate_http_request
    assert (
        check("tokens_2021-03-01.json", "POST", token_request.url, token_request.headers, token_request.body)
        == "createRestrictedDataToken"
    )
    assert check("ordersV0.json", "GET", first.url, first.headers) == "getOrder"


def test_given_rdt_near_expiry_then_renewed(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.script = [
        response(200, {"restrictedDataToken": RDT, "expiresIn": 3600}),
        response(200, {"restrictedDataToken": RDT + "-2", "expiresIn": 3600}),
    ]
    tokens = RestrictedDataTokens(clock=clock)
    client = make_client(remaining=10_000.0)

    assert tokens.token(client, V0_ORDER_PII) == RDT
    clock.now += 3600 - 30  # inside the renewal minute
    assert tokens.token(client, V0_ORDER_PII) == RDT + "-2"


def test_given_app_without_pii_role_then_order_fetched_without_rdt_and_refusal_remembered(
    make_client: MakeClient, transport: FakeTransport, clock: FakeClock
) -> None:
    transport.script = [
        amazon_error(403, "Unauthorized", "Access to requested resource is denied."),
        amazon_error(403, "Unauthorized", "Access to requested resource is denied."),
        response(200, {"payload": {"AmazonOrderId": ORDER}}),
        response(200, {"payload": {"AmazonOrderId": ORDER}}),
    ]
    tokens = RestrictedDataTokens(clock=clock)
    api = OrdersApi(make_client())

    api.get_order_v0_with_pii(ORDER, tokens)
    api.get_order_v0_with_pii(ORDER, tokens)

    operations = [request.url.rsplit("/", 1)[-1] for request in transport.requests]
    assert (
        operations.count("restrictedDataToken") == 2
    )  # the first refusal, once retried with a fresh LWA token
    assert all(r.headers["x-amz-access-token"].startswith("Atza|") for r in transport.requests[2:])
