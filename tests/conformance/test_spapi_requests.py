"""Every request our SP-API client sends is valid for Amazon's OpenAPI model of that operation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import RateLimiter
from tests.support.fakes import FakeClock, FakeTransport, response
from tests.support.spapi_models import RESEARCH_DATA, validate_request
from tests.unit.spapi.conftest import CREDENTIALS, SELLER

pytestmark = pytest.mark.skipif(not RESEARCH_DATA.is_dir(), reason="Amazon's research data is not present")

ORDER_ID = "123-4567890-1234567"
SINCE = datetime(2025, 10, 1, tzinfo=UTC)


def orders_api(script: list) -> tuple[OrdersApi, FakeTransport]:
    client, transport = client_and_transport(script)
    return OrdersApi(client), transport


def test_given_get_order_2026_with_default_included_data_then_valid_for_model() -> None:
    api, transport = orders_api([response(200, {"order": {"orderId": ORDER_ID}})])

    api.get_order(ORDER_ID)

    [request] = transport.requests
    assert validate_request("orders_2026-01-01.json", request.method, request.url) == "getOrder"
    assert "includedData=BUYER%2CRECIPIENT%2CFULFILLMENT" in request.url


def test_given_search_orders_with_two_pages_then_both_requests_valid() -> None:
    api, transport = orders_api(
        [
            response(200, {"orders": [{"orderId": "a"}], "pagination": {"nextToken": "tok"}}),
            response(200, {"orders": [{"orderId": "b"}]}),
        ]
    )

    orders = list(api.search_orders(last_updated_after=SINCE, marketplace_ids=["ATVPDKIKX0DER"]))

    assert [order["orderId"] for order in orders] == ["a", "b"]
    for request in transport.requests:
        assert validate_request("orders_2026-01-01.json", request.method, request.url) == "searchOrders"


def test_given_v0_get_order_and_paginated_items_then_every_request_valid() -> None:
    api, transport = orders_api(
        [
            response(200, {"payload": {"AmazonOrderId": ORDER_ID}}),
            response(
                200,
                {
                    "payload": {
                        "AmazonOrderId": ORDER_ID,
                        "OrderItems": [{"OrderItemId": "1"}],
                        "NextToken": "n",
                    }
                },
            ),
            response(200, {"payload": {"AmazonOrderId": ORDER_ID, "OrderItems": [{"OrderItemId": "2"}]}}),
        ]
    )

    api.get_order_v0(ORDER_ID)
    items = api.get_order_items_v0(ORDER_ID)

    assert [item["OrderItemId"] for item in items] == ["1", "2"]
    operations = [validate_request("ordersV0.json", r.method, r.url) for r in transport.requests]
    assert operations == ["getOrder", "getOrderItems", "getOrderItems"]


def test_given_v0_get_orders_then_request_valid() -> None:
    api, transport = orders_api([response(200, {"payload": {"Orders": []}})])

    list(api.get_orders_v0(last_updated_after=SINCE, marketplace_ids=["ATVPDKIKX0DER"]))

    assert validate_request("ordersV0.json", "GET", transport.requests[0].url) == "getOrders"


@pytest.mark.parametrize(
    "url",
    [
        f"https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/orders/{ORDER_ID}?includedData=BUYERS",
        f"https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/orders/{ORDER_ID}?include=BUYER",
        "https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/order",
        "https://sellingpartnerapi-na.amazon.com/orders/v0/orders?LastUpdatedAfter=2025-10-01T00:00:00Z",
    ],
)
def test_given_bad_request_then_validator_rejects_it(url: str) -> None:
    model = "ordersV0.json" if "/v0/" in url else "orders_2026-01-01.json"

    with pytest.raises(AssertionError):
        validate_request(model, "GET", url)


def client_and_transport(script: list) -> tuple[SpApiClient, FakeTransport]:
    clock = FakeClock()
    transport = FakeTransport(script)
    client = SpApiClient(
        credentials=CREDENTIALS,
        seller=SELLER,
        transport=transport,
        token_provider=LwaTokenProvider(transport, clock=clock),
        rate_limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        clock=clock,
    )
    return client, transport


def test_given_get_listings_item_with_sku_needing_escapes_then_valid_for_model() -> None:
    from sellerstream.spapi.listings import ListingsApi

    client, transport = client_and_transport([response(200, {"sku": "A/B 1"})])

    ListingsApi(client).get_listings_item("A1SELLER", "A/B 1", "ATVPDKIKX0DER")

    [request] = transport.requests
    assert validate_request("listingsItems_2021-08-01.json", "GET", request.url) == "getListingsItem"
    assert "/items/A1SELLER/A%2FB%201?" in request.url


def test_given_report_calls_then_valid_for_model() -> None:
    from sellerstream.spapi.reports import ReportsApi

    client, transport = client_and_transport(
        [
            response(200, {"processingStatus": "DONE"}),
            response(200, {"url": "https://x", "reportDocumentId": "d"}),
        ]
    )

    ReportsApi(client).get_report("54517018502")
    ReportsApi(client).get_report_document("amzn1.spdoc.1.4.na.abc")

    operations = [validate_request("reports_2021-06-30.json", r.method, r.url) for r in transport.requests]
    assert operations == ["getReport", "getReportDocument"]


def test_given_notifications_calls_then_valid_for_model_including_bodies() -> None:
    from sellerstream.spapi.notifications import NotificationsApi

    client, transport = client_and_transport(
        [
            response(200, {"payload": []}),
            response(200, {"payload": {"destinationId": "d", "name": "n", "resource": {}}}),
            response(
                200, {"payload": {"subscriptionId": "s", "payloadVersion": "1.0", "destinationId": "d"}}
            ),
            response(
                200, {"payload": {"subscriptionId": "s", "payloadVersion": "1.0", "destinationId": "d"}}
            ),
            response(200, {}),
            response(200, {}),
        ]
    )
    api = NotificationsApi(client)

    api.get_destinations()
    api.create_destination("sellerstream-orders", {"sqs": {"arn": "arn:aws:sqs:us-east-1:123456789012:q"}})
    api.get_subscription("ORDER_CHANGE")
    api.create_subscription(
        "ORDER_CHANGE",
        destination_id="d",
        payload_version="1.0",
        processing_directive={
            "eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange"]}
        },
    )
    api.delete_subscription("ORDER_CHANGE", "s")
    api.delete_destination("d")

    operations = [validate_request("notifications.json", r.method, r.url, r.body) for r in transport.requests]
    assert operations == [
        "getDestinations",
        "createDestination",
        "getSubscription",
        "createSubscription",
        "deleteSubscriptionById",
        "deleteDestination",
    ]


def test_given_bad_subscription_body_then_validator_rejects_it() -> None:
    import jsonschema

    url = "https://sellingpartnerapi-na.amazon.com/notifications/v1/subscriptions/ORDER_CHANGE"

    with pytest.raises(jsonschema.ValidationError):
        validate_request("notifications.json", "POST", url, b'{"payloadVersion": "1.0"}')
