"""Amazon's own Python SDK (amzn-sp-api) and python-amazon-sp-api, pointed at the emulator, read its
answers: what a real client would make of them. Both are development dependencies only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator

spapi = pytest.importorskip("spapi")
sp_api = pytest.importorskip("sp_api")

SELLER = "A1SELLER"
REFRESH_TOKEN = "Atzr|sdk-refresh"
CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.sdk", "sdk-secret"
ORDER = "123-4567890-1234567"
MARKETPLACE = "ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0, seed=5) as running:
        running.register_app(CLIENT_ID, CLIENT_SECRET)
        running.register_seller(SELLER, REFRESH_TOKEN)
        running.set_order(ORDER, seller_id=SELLER, status="Unshipped", last_updated="2025-10-02T10:00:00Z")
        running.set_listing(SELLER, "SKU-1", MARKETPLACE)
        running.add_report("R-1", rows=3, owner=SELLER)
        yield running


@pytest.fixture(scope="module")
def amazon_sdk(emulator: SpApiEmulator) -> Any:
    from spapi.auth.credentials import SPAPIConfig
    from spapi.client import SPAPIClient

    config = SPAPIConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN, region="NA"
    )
    return SPAPIClient(config, oauth_endpoint=emulator.lwa_token_url, endpoint=emulator.base_url).api_client


def test_given_amazons_sdk_when_reading_orders_listings_reports_and_tokens_then_models_filled(
    emulator: SpApiEmulator, amazon_sdk: Any
) -> None:
    from spapi.api.listings_items_v2021_08_01.listings_api import ListingsApi
    from spapi.api.orders_v0.orders_v0_api import OrdersV0Api
    from spapi.api.orders_v2026_01_01.get_order_api import GetOrderApi
    from spapi.api.orders_v2026_01_01.search_orders_api import SearchOrdersApi
    from spapi.api.reports_v2021_06_30.reports_api import ReportsApi
    from spapi.api.tokens_v2021_03_01.tokens_api import TokensApi

    order = (
        GetOrderApi(amazon_sdk).get_order(ORDER, included_data=["BUYER", "RECIPIENT", "FULFILLMENT"]).order
    )
    found = SearchOrdersApi(amazon_sdk).search_orders(last_updated_after="2025-01-01T00:00:00Z").orders
    v0 = OrdersV0Api(amazon_sdk).get_order(ORDER).payload
    items = OrdersV0Api(amazon_sdk).get_order_items(ORDER).payload.order_items
    listed = (
        OrdersV0Api(amazon_sdk).get_orders([MARKETPLACE], last_updated_after="2025-01-01T00:00:00Z").payload
    )
    listing = ListingsApi(amazon_sdk).get_listings_item(
        SELLER, "SKU-1", [MARKETPLACE], included_data=["summaries", "offers"]
    )
    report = ReportsApi(amazon_sdk).get_report("R-1")
    document = ReportsApi(amazon_sdk).get_report_document(report.report_document_id)
    token = TokensApi(amazon_sdk).create_restricted_data_token(
        {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]}
    )

    assert order.order_id == ORDER and order.buyer.buyer_email and order.recipient.delivery_address.city
    assert [o.order_id for o in found] == [ORDER]
    assert v0.amazon_order_id == ORDER and v0.order_status == "Unshipped" and items
    assert [o.amazon_order_id for o in listed.orders] == [ORDER]
    assert listing.sku == "SKU-1" and listing.summaries[0].marketplace_id == MARKETPLACE
    assert report.processing_status == "DONE" and document.url.startswith(emulator.base_url)
    assert token.restricted_data_token.startswith("Atz.sprdt|") and token.expires_in == 3600


def test_given_amazons_sdk_when_order_unknown_then_api_exception_404(amazon_sdk: Any) -> None:
    from spapi.api.orders_v2026_01_01.get_order_api import GetOrderApi
    from spapi.rest import ApiException

    with pytest.raises(ApiException) as raised:
        GetOrderApi(amazon_sdk).get_order("999-0000000-0000000")

    assert raised.value.status == 404


def python_amazon_sp_api(emulator: SpApiEmulator, api: Any, **options: Any) -> Any:
    from sp_api.auth import AccessTokenClient
    from sp_api.base import Marketplaces

    host = emulator.base_url.removeprefix("http://")

    class LocalLwa(AccessTokenClient):  # type: ignore[misc]
        scheme = "http://"

    LocalLwa.host = host
    client = api(
        marketplace=Marketplaces.US,
        refresh_token=REFRESH_TOKEN,
        credentials={"lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET},
        auth_token_client_class=LocalLwa,
        **options,
    )
    client.endpoint = emulator.base_url
    return client


def test_given_python_amazon_sp_api_when_reading_orders_and_pii_with_an_rdt_then_payloads_read(
    emulator: SpApiEmulator,
) -> None:
    from sp_api.api import Orders, Tokens

    tokens = python_amazon_sp_api(emulator, Tokens)
    rdt = tokens.create_restricted_data_token(
        restrictedResources=[
            {
                "method": "GET",
                "path": "/orders/v0/orders/{orderId}/address",
                "dataElements": ["shippingAddress"],
            },
            {"method": "GET", "path": "/orders/v0/orders/{orderId}/buyerInfo", "dataElements": ["buyerInfo"]},
        ]
    ).payload["restrictedDataToken"]
    orders = python_amazon_sp_api(emulator, Orders)
    restricted = python_amazon_sp_api(emulator, Orders, restricted_data_token=rdt)

    order = orders.get_order(ORDER).payload
    address = restricted.get_order_address(ORDER).payload
    buyer = restricted.get_order_buyer_info(ORDER).payload

    assert order["AmazonOrderId"] == ORDER and "ShippingAddress" not in order
    assert address["ShippingAddress"]["City"] and buyer["BuyerEmail"]
