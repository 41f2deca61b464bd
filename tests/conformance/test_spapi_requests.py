"""Every request our SP-API client sends is valid for Amazon's OpenAPI model of that operation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import RateLimiter
from sellerstream.spapi.transport import HttpRequest, HttpResponse
from tests.support.fakes import FakeClock, FakeTransport, response
from tests.support.spapi_models import validate_http_request, validate_request
from tests.unit.spapi.conftest import CREDENTIALS, SELLER

ORDER_ID = "123-4567890-1234567"
SINCE = datetime(2025, 10, 1, tzinfo=UTC)
HOST = "https://sellingpartnerapi-na.amazon.com"
GOOD_HEADERS = {
    "x-amz-access-token": "Atza|t",
    "user-agent": "SellerStream/0.1",
    "accept": "application/json",
}


def orders_api(script: list[HttpResponse | Exception]) -> tuple[OrdersApi, FakeTransport]:
    client, transport = client_and_transport(script)
    return OrdersApi(client), transport


def check(model: str, request: HttpRequest) -> str:
    return validate_http_request(model, request.method, request.url, request.headers, request.body)


def test_given_get_order_2026_with_default_included_data_then_valid_for_model() -> None:
    api, transport = orders_api([response(200, {"order": {"orderId": ORDER_ID}})])

    api.get_order(ORDER_ID)

    [request] = transport.requests
    assert check("orders_2026-01-01.json", request) == "getOrder"
    assert "includedData=BUYER%2CRECIPIENT%2CFULFILLMENT" in request.url


def test_given_get_order_2026_with_every_included_data_value_then_valid_for_model() -> None:
    from sellerstream.spapi.orders import INCLUDED_DATA_VALUES

    api, transport = orders_api([response(200, {"order": {"orderId": ORDER_ID}})])

    api.get_order(ORDER_ID, included_data=sorted(INCLUDED_DATA_VALUES))

    assert check("orders_2026-01-01.json", transport.requests[0]) == "getOrder"


def test_given_search_orders_with_two_pages_then_both_requests_valid() -> None:
    api, transport = orders_api(
        [
            response(200, {"orders": [{"orderId": "a"}], "pagination": {"nextToken": "tok+/="}}),
            response(200, {"orders": [{"orderId": "b"}]}),
        ]
    )

    orders = list(
        api.search_orders(
            last_updated_after=SINCE, marketplace_ids=["ATVPDKIKX0DER"], included_data=["BUYER", "PACKAGES"]
        )
    )

    assert [order["orderId"] for order in orders] == ["a", "b"]
    assert [check("orders_2026-01-01.json", r) for r in transport.requests] == ["searchOrders"] * 2
    assert "paginationToken=tok%2B%2F%3D" in transport.requests[1].url


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
    operations = [check("ordersV0.json", r) for r in transport.requests]
    assert operations == ["getOrder", "getOrderItems", "getOrderItems"]
    assert transport.requests[2].url.endswith("/orderItems?NextToken=n")


def test_given_v0_get_orders_over_two_pages_then_requests_valid() -> None:
    api, transport = orders_api(
        [
            response(200, {"payload": {"Orders": [{"AmazonOrderId": "a"}], "NextToken": "n2"}}),
            response(200, {"payload": {"Orders": []}}),
        ]
    )

    list(api.get_orders_v0(last_updated_after=SINCE, marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]))

    assert [check("ordersV0.json", r) for r in transport.requests] == ["getOrders", "getOrders"]


@pytest.mark.parametrize(
    ("model", "method", "url", "headers", "body"),
    [
        # enum of an array element
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders/{ORDER_ID}?includedData=BUYERS",
            None,
            None,
        ),
        # lower-case enum value
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders/{ORDER_ID}?includedData=buyer",
            None,
            None,
        ),
        # array sent as repeated parameters instead of csv
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders/{ORDER_ID}?includedData=BUYER&includedData=RECIPIENT",
            None,
            None,
        ),
        # empty csv element
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders?lastUpdatedAfter=2025-10-01T00:00:00Z&marketplaceIds=A,",
            None,
            None,
        ),
        # undeclared query parameter
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders/{ORDER_ID}?include=BUYER",
            None,
            None,
        ),
        # v0 parameter name on the 2026 API
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders?LastUpdatedAfter=2025-10-01T00:00:00Z",
            None,
            None,
        ),
        # date-time without a time
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders?lastUpdatedAfter=2025-10-01",
            None,
            None,
        ),
        # integer that is not one
        (
            "orders_2026-01-01.json",
            "GET",
            f"{HOST}/orders/2026-01-01/orders?lastUpdatedAfter=2025-10-01T00:00:00Z&maxResultsPerPage=many",
            None,
            None,
        ),
        # no such path
        ("orders_2026-01-01.json", "GET", f"{HOST}/orders/2026-01-01/order", None, None),
        # wrong method
        ("orders_2026-01-01.json", "POST", f"{HOST}/orders/2026-01-01/orders/{ORDER_ID}", None, None),
        # required MarketplaceIds missing
        (
            "ordersV0.json",
            "GET",
            f"{HOST}/orders/v0/orders?LastUpdatedAfter=2025-10-01T00:00:00Z",
            None,
            None,
        ),
        # more than 50 marketplaces
        (
            "ordersV0.json",
            "GET",
            f"{HOST}/orders/v0/orders?MarketplaceIds=" + ",".join(f"M{i}" for i in range(51)),
            None,
            None,
        ),
        # NextToken is a query parameter of getOrderItems, not a path segment
        ("ordersV0.json", "GET", f"{HOST}/orders/v0/orders/{ORDER_ID}/orderItems/next", None, None),
        # no access token
        (
            "ordersV0.json",
            "GET",
            f"{HOST}/orders/v0/orders/{ORDER_ID}",
            {"user-agent": "u", "accept": "application/json"},
            None,
        ),
        # accept a type the operation does not produce
        (
            "ordersV0.json",
            "GET",
            f"{HOST}/orders/v0/orders/{ORDER_ID}",
            {**GOOD_HEADERS, "accept": "text/html"},
            None,
        ),
        # body on an operation that takes none
        ("ordersV0.json", "GET", f"{HOST}/orders/v0/orders/{ORDER_ID}", None, b"{}"),
        # body missing its required field
        (
            "notifications.json",
            "POST",
            f"{HOST}/notifications/v1/subscriptions/ORDER_CHANGE",
            None,
            b'{"payloadVersion": "1.0"}',
        ),
        # body of the wrong content type
        (
            "notifications.json",
            "POST",
            f"{HOST}/notifications/v1/subscriptions/ORDER_CHANGE",
            {**GOOD_HEADERS, "content-type": "text/plain"},
            b'{"payloadVersion": "1.0", "destinationId": "d"}',
        ),
    ],
)
def test_given_bad_request_then_validator_rejects_it(
    model: str, method: str, url: str, headers: dict[str, str] | None, body: bytes | None
) -> None:
    headers = headers if headers is not None else {**GOOD_HEADERS, "content-type": "application/json"}

    with pytest.raises(AssertionError):
        validate_http_request(model, method, url, headers, body)


def test_given_good_request_then_validator_accepts_it() -> None:
    url = f"{HOST}/orders/2026-01-01/orders?lastUpdatedAfter=2025-10-01T00:00:00Z&marketplaceIds=A,B&maxResultsPerPage=5"

    assert validate_http_request("orders_2026-01-01.json", "GET", url, GOOD_HEADERS) == "searchOrders"
    assert validate_request("orders_2026-01-01.json", "GET", url) == "searchOrders"


def client_and_transport(script: list[HttpResponse | Exception]) -> tuple[SpApiClient, FakeTransport]:
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
    assert check("listingsItems_2021-08-01.json", request) == "getListingsItem"
    assert "/items/A1SELLER/A%2FB%201?" in request.url


def test_given_a_listing_fetched_in_several_marketplaces_and_a_search_over_two_pages_then_valid_for_model() -> (
    None
):
    from sellerstream.spapi.listings import ListingsApi

    client, transport = client_and_transport(
        [
            response(200, {"sku": "A/B 1"}),
            response(
                200, {"numberOfResults": 2, "items": [{"sku": "a"}], "pagination": {"nextToken": "t+/="}}
            ),
            response(200, {"numberOfResults": 2, "items": [{"sku": "b"}]}),
        ]
    )
    api = ListingsApi(client)

    api.get_listings_item("A1SELLER", "A/B 1", ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    first = api.search_listings_items_page(
        "A1SELLER",
        "ATVPDKIKX0DER",
        last_updated_after=SINCE,
        last_updated_before=datetime(2025, 10, 2, tzinfo=UTC),
    )
    api.search_listings_items_page(
        "A1SELLER",
        "ATVPDKIKX0DER",
        last_updated_after=SINCE,
        last_updated_before=datetime(2025, 10, 2, tzinfo=UTC),
        page_token=first.next_token,
    )

    operations = [check("listingsItems_2021-08-01.json", r) for r in transport.requests]
    assert operations == ["getListingsItem", "searchListingsItems", "searchListingsItems"]


def test_given_marketplace_participations_asked_then_valid_for_model() -> None:
    from sellerstream.spapi.sellers import SellersApi

    client, transport = client_and_transport([response(200, {"payload": []})])

    SellersApi(client).get_marketplace_participations()

    [request] = transport.requests
    assert check("sellers.json", request) == "getMarketplaceParticipations"


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

    operations = [check("reports_2021-06-30.json", r) for r in transport.requests]
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

    operations = [check("notifications.json", r) for r in transport.requests]
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


@pytest.mark.parametrize(
    "carrier", [{"carrierCode": "UPS"}, {"carrierCode": "Other", "carrierName": "Local Courier"}]
)
def test_given_shipment_request_when_confirmed_then_the_request_is_valid_for_amazons_model(
    carrier: dict[str, str],
) -> None:
    from sellerstream.logic.shipments import confirm_shipment_body
    from sellerstream.notifications.shipment_request import parse_shipment_request
    from tests.support.spapi_models import strict_request_validator

    shipment = {
        "requestId": "req-1",
        "sellerId": "A3TH9S8BH6GOGM",
        "marketplaceId": "ATVPDKIKX0DER",
        "amazonOrderId": ORDER_ID,
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-11-30T15:00:00+01:00",
        "shippingMethod": "Ground",
        **carrier,
    }
    request = parse_shipment_request(json.dumps({"shipment": shipment}))
    api, transport = orders_api([response(204, b"")])

    api.confirm_shipment(ORDER_ID, confirm_shipment_body(request, "1", {"OIID34853450": 2}))

    [sent] = transport.requests
    assert check("ordersV0.json", sent) == "confirmShipment"
    body = json.loads(sent.body or b"")
    strict_request_validator("ordersV0.json", "ConfirmShipmentRequest").validate(body)
    assert body["packageDetail"]["shipDate"] == "2026-11-30T14:00:00.000Z"
