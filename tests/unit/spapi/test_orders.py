"""Orders API 2026-01-01 and v0 over a scripted transport: paths, pagination, required fields."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sellerstream.spapi.errors import MalformedResponse, SpApiClientError, SpApiNotFound
from sellerstream.spapi.orders import DEFAULT_INCLUDED_DATA, OrdersApi
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, RatePlan
from tests.support.fakes import FakeTransport, amazon_error, response
from tests.unit.spapi.conftest import MakeClient

ORDER_ID = "123-4567890-1234567"
SINCE = datetime(2025, 10, 1, 12, 30, tzinfo=UTC)
US = "ATVPDKIKX0DER"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


@pytest.fixture
def api(make_client: MakeClient) -> OrdersApi:
    return OrdersApi(make_client(remaining=float("inf")))


# -- 2026-01-01 ------------------------------------------------------------------------------------


def test_given_order_when_fetched_then_order_object_with_default_included_data(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"order": {"orderId": ORDER_ID}})]

    assert api.get_order(ORDER_ID) == {"orderId": ORDER_ID}

    [request] = transport.requests
    assert path_of(request.url) == f"/orders/2026-01-01/orders/{ORDER_ID}"
    assert query_of(request.url) == {"includedData": ",".join(DEFAULT_INCLUDED_DATA)}
    assert DEFAULT_INCLUDED_DATA == ("BUYER", "RECIPIENT", "FULFILLMENT")


def test_given_no_included_data_when_fetched_then_no_query(api: OrdersApi, transport: FakeTransport) -> None:
    transport.script = [response(200, {"order": {}})]

    api.get_order(ORDER_ID, included_data=())

    assert "?" not in transport.requests[0].url


def test_given_unknown_included_data_when_fetched_then_value_error_before_any_call(
    api: OrdersApi, transport: FakeTransport
) -> None:
    with pytest.raises(ValueError):
        api.get_order(ORDER_ID, included_data=("BUYERS",))

    assert transport.requests == []


def test_given_order_id_with_reserved_characters_when_fetched_then_escaped_in_path(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"order": {}})]

    api.get_order("a/b?c", included_data=())

    assert transport.requests[0].url.endswith("/orders/2026-01-01/orders/a%2Fb%3Fc")


@pytest.mark.parametrize("body", [{}, {"order": None}, {"order": []}, [], {"errors": []}])
def test_given_answer_without_order_when_fetched_then_malformed(
    api: OrdersApi, transport: FakeTransport, body: object
) -> None:
    transport.script = [response(200, body, {"x-amzn-RequestId": "rq"})]

    with pytest.raises(MalformedResponse) as caught:
        api.get_order(ORDER_ID)

    assert (caught.value.operation, caught.value.request_id) == ("getOrder", "rq")


def test_given_unknown_order_when_fetched_then_not_found(api: OrdersApi, transport: FakeTransport) -> None:
    transport.script = [amazon_error(404, "NotFound")]

    with pytest.raises(SpApiNotFound):
        api.get_order(ORDER_ID)


def test_given_two_pages_when_searching_then_every_order_and_same_filters_with_token(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [
        response(200, {"orders": [{"orderId": "a"}, {"orderId": "b"}], "pagination": {"nextToken": "t+1/="}}),
        response(200, {"orders": [{"orderId": "c"}]}),
    ]

    orders = list(
        api.search_orders(
            last_updated_after=SINCE, marketplace_ids=[US], included_data=["BUYER"], max_results_per_page=2
        )
    )

    assert [order["orderId"] for order in orders] == ["a", "b", "c"]
    first, second = (query_of(r.url) for r in transport.requests)
    assert first == {
        "lastUpdatedAfter": "2025-10-01T12:30:00Z",
        "maxResultsPerPage": "2",
        "marketplaceIds": US,
        "includedData": "BUYER",
    }
    # Amazon: the next page repeats every other parameter with the same values.
    assert second == {**first, "paginationToken": "t+1/="}
    assert {path_of(r.url) for r in transport.requests} == {"/orders/2026-01-01/orders"}


def test_given_non_utc_timestamp_when_searching_then_sent_in_utc(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"orders": []})]
    tokyo = timezone(timedelta(hours=9))

    list(api.search_orders(last_updated_after=datetime(2025, 10, 2, 0, 0, tzinfo=tokyo)))

    assert query_of(transport.requests[0].url)["lastUpdatedAfter"] == "2025-10-01T15:00:00Z"


def test_given_naive_timestamp_when_searching_then_value_error(api: OrdersApi) -> None:
    with pytest.raises(ValueError):
        list(api.search_orders(last_updated_after=datetime(2025, 10, 1)))


@pytest.mark.parametrize("size", [0, 101])
def test_given_page_size_outside_amazons_range_when_searching_then_value_error(
    api: OrdersApi, size: int
) -> None:
    with pytest.raises(ValueError):
        list(api.search_orders(last_updated_after=SINCE, max_results_per_page=size))


def test_given_search_answer_without_orders_list_when_searching_then_malformed(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"pagination": {}})]

    with pytest.raises(MalformedResponse):
        list(api.search_orders(last_updated_after=SINCE))


def test_given_repeated_pagination_token_when_searching_then_malformed_instead_of_looping(
    api: OrdersApi, transport: FakeTransport
) -> None:
    page = response(200, {"orders": [{"orderId": "a"}], "pagination": {"nextToken": "same"}})
    transport.script = [page, page, page]

    with pytest.raises(MalformedResponse):
        list(api.search_orders(last_updated_after=SINCE))

    assert len(transport.requests) == 2


# -- v0 --------------------------------------------------------------------------------------------


def test_given_v0_order_when_fetched_then_payload(api: OrdersApi, transport: FakeTransport) -> None:
    transport.script = [response(200, {"payload": {"AmazonOrderId": ORDER_ID}})]

    assert api.get_order_v0(ORDER_ID) == {"AmazonOrderId": ORDER_ID}

    assert transport.requests[0].url.endswith(f"/orders/v0/orders/{ORDER_ID}")


@pytest.mark.parametrize("body", [{}, {"payload": None}, {"errors": [{"code": "x"}]}])
def test_given_v0_answer_without_payload_when_fetched_then_malformed(
    api: OrdersApi, transport: FakeTransport, body: object
) -> None:
    transport.script = [response(200, body)]

    with pytest.raises(MalformedResponse):
        api.get_order_v0(ORDER_ID)


def test_given_two_pages_of_items_when_fetched_then_all_items_once_in_order(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [
        response(
            200,
            {
                "payload": {
                    "AmazonOrderId": ORDER_ID,
                    "OrderItems": [{"OrderItemId": "1"}, {"OrderItemId": "2"}],
                    "NextToken": "page-2",
                }
            },
        ),
        response(
            200,
            {
                "payload": {
                    "AmazonOrderId": ORDER_ID,
                    "OrderItems": [{"OrderItemId": "2"}, {"OrderItemId": "3"}],
                }
            },
        ),
    ]

    items = api.get_order_items_v0(ORDER_ID)

    assert [item["OrderItemId"] for item in items] == ["1", "2", "3"]
    first, second = transport.requests
    assert path_of(first.url) == path_of(second.url) == f"/orders/v0/orders/{ORDER_ID}/orderItems"
    assert query_of(first.url) == {} and query_of(second.url) == {"NextToken": "page-2"}


def test_given_items_answer_without_items_list_when_fetched_then_malformed(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"payload": {"AmazonOrderId": ORDER_ID}})]

    with pytest.raises(MalformedResponse):
        api.get_order_items_v0(ORDER_ID)


def test_given_non_string_next_token_when_fetching_items_then_malformed(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"payload": {"OrderItems": [], "NextToken": 7}})]

    with pytest.raises(MalformedResponse):
        api.get_order_items_v0(ORDER_ID)


def test_given_two_pages_of_v0_orders_when_listed_then_marketplaces_repeated_with_token(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [
        response(200, {"payload": {"Orders": [{"AmazonOrderId": "a"}], "NextToken": "n2"}}),
        response(200, {"payload": {"Orders": [{"AmazonOrderId": "b"}]}}),
    ]

    orders = list(api.get_orders_v0(last_updated_after=SINCE, marketplace_ids=[US, "A2EUQ1WTGCTBG2"]))

    assert [order["AmazonOrderId"] for order in orders] == ["a", "b"]
    first, second = (query_of(r.url) for r in transport.requests)
    assert first == {"MarketplaceIds": f"{US},A2EUQ1WTGCTBG2", "LastUpdatedAfter": "2025-10-01T12:30:00Z"}
    assert second == {"MarketplaceIds": f"{US},A2EUQ1WTGCTBG2", "NextToken": "n2"}


def test_given_no_marketplace_when_listing_v0_orders_then_value_error(api: OrdersApi) -> None:
    with pytest.raises(ValueError):
        list(api.get_orders_v0(last_updated_after=SINCE, marketplace_ids=[]))


def test_given_too_many_marketplaces_when_listing_then_value_error(api: OrdersApi) -> None:
    with pytest.raises(ValueError):
        list(api.get_orders_v0(last_updated_after=SINCE, marketplace_ids=[f"M{i}" for i in range(51)]))


# -- confirmShipment -----------------------------------------------------------------------------


def test_given_shipment_when_confirmed_then_posted_as_json_and_amazons_request_id_returned(
    api: OrdersApi, transport: FakeTransport
) -> None:
    request = {"marketplaceId": US, "packageDetail": {"packageReferenceId": "1", "carrierCode": "UPS"}}
    transport.script = [response(204, b"", {"x-amzn-RequestId": "rq-204"})]

    assert api.confirm_shipment(ORDER_ID, request) == "rq-204"

    [sent] = transport.requests
    assert (sent.method, path_of(sent.url)) == ("POST", f"/orders/v0/orders/{ORDER_ID}/shipmentConfirmation")
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.body or b"") == request


def test_given_amazon_refuses_shipment_when_confirmed_then_client_error_with_amazons_code(
    api: OrdersApi, transport: FakeTransport
) -> None:
    transport.script = [amazon_error(400, "InvalidInput", "Invalid Input", request_id="rq-400")]

    with pytest.raises(SpApiClientError) as caught:
        api.confirm_shipment(ORDER_ID, {"marketplaceId": US, "packageDetail": {}})

    assert (caught.value.status, caught.value.code, caught.value.request_id) == (
        400,
        "InvalidInput",
        "rq-400",
    )


def test_given_default_plans_then_confirm_shipment_is_amazons_two_per_second_burst_ten() -> None:
    assert DEFAULT_RATE_PLANS["confirmShipment"] == RatePlan(2.0, 10)
