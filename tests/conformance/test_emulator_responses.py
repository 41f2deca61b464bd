"""The emulator's answers validated against Amazon's models, strictly: no key the model does not
define, every date-time RFC 3339, error bodies (403, 404, 400, 429) in Amazon's ErrorList shape."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.spapi_models import strict_response_validator
from tests.unit.emulator.test_emulator import call, token_for

SELLER = "A1SELLER"
ORDER = "123-4567890-1234567"
PENDING = "123-4567890-7654321"
ORDERS_2026, ORDERS_V0 = "orders_2026-01-01.json", "ordersV0.json"


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0, seed=3) as running:
        running.register_seller(SELLER, "Atzr|rt-1")
        running.set_order(ORDER, seller_id=SELLER, status="Shipped", last_updated="2025-10-02T10:00:00Z")
        running.set_order(PENDING, seller_id=SELLER, status="Pending", last_updated="2025-10-02T11:00:00Z")
        running.set_listing(SELLER, "SKU-1", "ATVPDKIKX0DER")
        running.set_listing(SELLER, "SKU-1", "A2EUQ1WTGCTBG2")
        running.set_listing(SELLER, "SKU-2", "ATVPDKIKX0DER")
        running.set_marketplaces(
            SELLER, ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], not_participating=["A2EUQ1WTGCTBG2"]
        )
        running.add_report("R-1", rows=3, owner=SELLER)
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    return str(token_for(emulator)[1]["access_token"])


def rdt(emulator: SpApiEmulator, token: str, path: str, elements: list[str]) -> str:
    body = {"restrictedResources": [{"method": "GET", "path": path, "dataElements": elements}]}
    request = urllib.request.Request(
        emulator.base_url + "/tokens/2021-03-01/restrictedDataToken",
        data=json.dumps(body).encode(),
        headers={"x-amz-access-token": token, "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        reply = json.loads(answer.read())
    strict_response_validator("tokens_2021-03-01.json", "CreateRestrictedDataTokenResponse").validate(reply)
    return str(reply["restrictedDataToken"])


def ok(emulator: SpApiEmulator, path: str, token: str) -> Any:
    status, _, body = call(emulator, path, token)
    assert status == 200, body
    return body


@pytest.mark.parametrize(
    ("path", "model", "definition"),
    [
        (
            f"/orders/2026-01-01/orders/{ORDER}?includedData=BUYER,RECIPIENT,FULFILLMENT,PROCEEDS",
            ORDERS_2026,
            "GetOrderResponse",
        ),
        (
            f"/orders/2026-01-01/orders/{PENDING}?includedData=BUYER,RECIPIENT",
            ORDERS_2026,
            "GetOrderResponse",
        ),
        (
            "/orders/2026-01-01/orders?lastUpdatedAfter=2025-01-01T00:00:00Z&includedData=BUYER",
            ORDERS_2026,
            "SearchOrdersResponse",
        ),
        (f"/orders/v0/orders/{ORDER}", ORDERS_V0, "GetOrderResponse"),
        (f"/orders/v0/orders/{PENDING}/orderItems", ORDERS_V0, "GetOrderItemsResponse"),
        (
            "/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2025-01-01T00:00:00Z",
            ORDERS_V0,
            "GetOrdersResponse",
        ),
        (
            "/listings/2021-08-01/items/A1SELLER/SKU-1?marketplaceIds=ATVPDKIKX0DER&includedData=summaries,offers,issues,fulfillmentAvailability",
            "listingsItems_2021-08-01.json",
            "Item",
        ),
        ("/reports/2021-06-30/reports/R-1", "reports_2021-06-30.json", "Report"),
        (
            "/listings/2021-08-01/items/A1SELLER/SKU-1?marketplaceIds=ATVPDKIKX0DER,A2EUQ1WTGCTBG2"
            "&includedData=summaries,offers,issues,fulfillmentAvailability,attributes",
            "listingsItems_2021-08-01.json",
            "Item",
        ),
        (
            "/listings/2021-08-01/items/A1SELLER?marketplaceIds=ATVPDKIKX0DER&pageSize=1"
            "&lastUpdatedAfter=2000-01-01T00:00:00Z&includedData=summaries,offers,issues,fulfillmentAvailability",
            "listingsItems_2021-08-01.json",
            "ItemSearchResults",
        ),
        ("/sellers/v1/marketplaceParticipations", "sellers.json", "GetMarketplaceParticipationsResponse"),
        # North America's regional endpoint answers in the same shapes.
        (
            f"/na/orders/2026-01-01/orders/{ORDER}?includedData=BUYER,RECIPIENT",
            ORDERS_2026,
            "GetOrderResponse",
        ),
        (f"/na/orders/v0/orders/{ORDER}", ORDERS_V0, "GetOrderResponse"),
        ("/na/reports/2021-06-30/reports/R-1", "reports_2021-06-30.json", "Report"),
    ],
)
def test_given_operation_when_answered_then_strictly_valid_for_amazons_model(
    emulator: SpApiEmulator, token: str, path: str, model: str, definition: str
) -> None:
    strict_response_validator(model, definition).validate(ok(emulator, path, token))


def test_given_rdt_when_address_and_buyer_info_fetched_then_strictly_valid(
    emulator: SpApiEmulator, token: str
) -> None:
    address_token = rdt(emulator, token, "/orders/v0/orders/{orderId}/address", ["shippingAddress"])
    buyer_token = rdt(emulator, token, "/orders/v0/orders/{orderId}/buyerInfo", ["buyerInfo"])

    address = ok(emulator, f"/orders/v0/orders/{ORDER}/address", address_token)
    buyer = ok(emulator, f"/orders/v0/orders/{ORDER}/buyerInfo", buyer_token)

    strict_response_validator(ORDERS_V0, "GetOrderAddressResponse").validate(address)
    strict_response_validator(ORDERS_V0, "GetOrderBuyerInfoResponse").validate(buyer)
    assert address["payload"]["ShippingAddress"]["City"] and buyer["payload"]["BuyerEmail"]


def test_given_rdt_for_get_order_then_v0_order_carries_pii_and_stays_valid(
    emulator: SpApiEmulator, token: str
) -> None:
    order_token = rdt(emulator, token, "/orders/v0/orders/{orderId}", ["buyerInfo", "shippingAddress"])

    order = ok(emulator, f"/orders/v0/orders/{ORDER}", order_token)["payload"]

    strict_response_validator(ORDERS_V0, "Order").validate(order)
    assert order["BuyerInfo"]["BuyerEmail"] and order["ShippingAddress"]["PostalCode"]


@pytest.mark.parametrize(
    ("path", "status", "model"),
    [
        (f"/orders/2026-01-01/orders/{ORDER}?includedData=NOPE", 400, ORDERS_2026),
        ("/orders/2026-01-01/orders/999-0000000-0000000", 404, ORDERS_2026),
        (f"/orders/v0/orders/{ORDER}/address", 403, ORDERS_V0),
        ("/reports/2021-06-30/reports/unknown", 404, "reports_2021-06-30.json"),
        # A North American token on Europe's endpoint, and a US order asked there.
        (f"/eu/orders/2026-01-01/orders/{ORDER}", 403, ORDERS_2026),
        ("/eu/reports/2021-06-30/reports/R-1", 403, "reports_2021-06-30.json"),
    ],
)
def test_given_error_when_answered_then_body_is_amazons_error_list(
    emulator: SpApiEmulator, token: str, path: str, status: int, model: str
) -> None:
    answered, headers, body = call(emulator, path, token)

    assert answered == status
    definition = "ErrorList" if model != ORDERS_V0 else "GetOrderAddressResponse"
    strict_response_validator(model, definition).validate(body)
    assert body["errors"] and "x-amzn-requestid" in headers


def test_given_throttled_when_answered_then_429_body_is_an_error_list() -> None:
    with SpApiEmulator(time_scale=1.0) as limited:
        limited.register_seller(SELLER, "Atzr|rt-1")
        limited.set_order(ORDER, seller_id=SELLER)
        limited.set_rate_plan("getOrder", rate=0.001, burst=1)
        access = str(token_for(limited)[1]["access_token"])
        call(limited, f"/orders/2026-01-01/orders/{ORDER}", access)

        status, _, body = call(limited, f"/orders/2026-01-01/orders/{ORDER}", access)

    assert status == 429
    strict_response_validator(ORDERS_2026, "ErrorList").validate(body)
    assert body["errors"][0]["code"] == "QuotaExceeded"


@pytest.mark.parametrize(
    "document",
    [
        {
            "order": {
                "orderId": ORDER,
                "createdTime": "2025-10-01",
                "lastUpdatedTime": "2025-10-01T00:00:00Z",
                "programs": [],
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A"},
                "orderItems": [],
            }
        },
        {
            "order": {
                "orderId": ORDER,
                "createdTime": "2025-10-01T00:00:00Z",
                "lastUpdatedTime": "2025-10-01T00:00:00Z",
                "programs": [],
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A"},
                "orderItems": [],
                "buyerPhone": "x",
            }
        },
    ],
)
def test_given_bad_date_or_unknown_key_then_strict_validator_rejects(document: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        strict_response_validator(ORDERS_2026, "GetOrderResponse").validate(document)
