"""The emulator is as strict as Amazon: PII withheld by order state and token, unknown or other
sellers' ids not found, subscriptions validated."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.unit.emulator.test_emulator import call, token_for

ORDERS = {
    "Pending": "111-0000000-0000001",
    "Unshipped": "111-0000000-0000002",
    "Canceled": "111-0000000-0000003",
}
OTHERS_ORDER = "222-0000000-0000001"


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0) as running:
        running.register_seller("A1SELLER", "Atzr|rt-1")
        running.register_seller("A2OTHER", "Atzr|rt-2")
        for status, order_id in ORDERS.items():
            running.set_order(order_id, seller_id="A1SELLER", status=status)
        running.set_order(OTHERS_ORDER, seller_id="A2OTHER", status="Unshipped")
        running.set_listing("A2OTHER", "THEIR-SKU", "ATVPDKIKX0DER")
        running.add_report("R-OTHER", rows=1, owner="A2OTHER")
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    return str(token_for(emulator)[1]["access_token"])


def post(emulator: SpApiEmulator, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        emulator.base_url + path,
        data=json.dumps(body).encode(),
        headers={"x-amz-access-token": token, "content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def rdt(emulator: SpApiEmulator, token: str, path: str, elements: list[str]) -> str:
    status, body = post(
        emulator,
        "/tokens/2021-03-01/restrictedDataToken",
        token,
        {"restrictedResources": [{"method": "GET", "path": path, "dataElements": elements}]},
    )
    assert status == 200 and body["expiresIn"] == 3600
    return str(body["restrictedDataToken"])


@pytest.mark.parametrize(
    ("status", "has_pii"), [("Pending", False), ("Unshipped", True), ("Canceled", False)]
)
def test_given_order_state_when_fetched_with_buyer_and_recipient_then_pii_only_once_unshipped(
    emulator: SpApiEmulator, token: str, status: str, has_pii: bool
) -> None:
    _, _, body = call(
        emulator, f"/orders/2026-01-01/orders/{ORDERS[status]}?includedData=BUYER,RECIPIENT", token
    )

    assert ("buyer" in body["order"], "recipient" in body["order"]) == (has_pii, has_pii)


def test_given_pending_order_when_v0_items_fetched_then_prices_omitted(
    emulator: SpApiEmulator, token: str
) -> None:
    _, _, pending = call(emulator, f"/orders/v0/orders/{ORDERS['Pending']}/orderItems", token)
    _, _, unshipped = call(emulator, f"/orders/v0/orders/{ORDERS['Unshipped']}/orderItems", token)

    assert all("ItemPrice" not in item for item in pending["payload"]["OrderItems"])
    assert all("ItemPrice" in item for item in unshipped["payload"]["OrderItems"])


def test_given_no_rdt_when_v0_pii_operations_called_then_403_and_get_order_has_no_pii(
    emulator: SpApiEmulator, token: str
) -> None:
    order_id = ORDERS["Unshipped"]
    for path in (f"/orders/v0/orders/{order_id}/address", f"/orders/v0/orders/{order_id}/buyerInfo"):
        status, _, body = call(emulator, path, token)
        assert status == 403 and "Restricted Data Token" in body["errors"][0]["details"]
    _, _, order = call(emulator, f"/orders/v0/orders/{order_id}", token)
    assert not {"BuyerInfo", "ShippingAddress"} & set(order["payload"])


def test_given_rdt_then_it_opens_only_its_resources_and_data_elements(
    emulator: SpApiEmulator, token: str
) -> None:
    address_only = rdt(emulator, token, "/orders/v0/orders/{orderId}", ["shippingAddress"])
    order_id = ORDERS["Unshipped"]

    _, _, order = call(emulator, f"/orders/v0/orders/{order_id}", address_only)
    status, _, _ = call(emulator, f"/orders/v0/orders/{order_id}/orderItems", address_only)
    _, _, pending = call(emulator, f"/orders/v0/orders/{ORDERS['Pending']}", address_only)

    assert "ShippingAddress" in order["payload"] and "BuyerInfo" not in order["payload"]
    assert status == 403  # not a resource the token was created for
    assert "ShippingAddress" not in pending["payload"]  # still withheld while Pending


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"restrictedResources": []},
        {"restrictedResources": [{"method": "FETCH", "path": "/orders/v0/orders"}]},
        {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["ssn"]}]},
    ],
)
def test_given_bad_rdt_request_then_400(emulator: SpApiEmulator, token: str, body: dict[str, Any]) -> None:
    assert post(emulator, "/tokens/2021-03-01/restrictedDataToken", token, body)[0] == 400


def test_given_other_sellers_or_unknown_ids_then_not_found_or_refused(
    emulator: SpApiEmulator, token: str
) -> None:
    assert call(emulator, f"/orders/2026-01-01/orders/{OTHERS_ORDER}", token)[0] == 404
    assert call(emulator, f"/orders/v0/orders/{OTHERS_ORDER}", token)[0] == 404
    assert call(emulator, "/orders/2026-01-01/orders/333-0000000-0000009", token)[0] == 404
    listing = "/listings/2021-08-01/items/{seller}/{sku}?marketplaceIds=ATVPDKIKX0DER"
    assert call(emulator, listing.format(seller="A2OTHER", sku="THEIR-SKU"), token)[0] == 403
    assert call(emulator, listing.format(seller="A1SELLER", sku="NEVER-LISTED"), token)[0] == 404
    assert call(emulator, "/reports/2021-06-30/reports/R-OTHER", token)[0] == 404
    _, _, search = call(emulator, "/orders/2026-01-01/orders?lastUpdatedAfter=2000-01-01T00:00:00Z", token)
    assert {order["orderId"] for order in search["orders"]} == set(ORDERS.values())


def test_given_subscription_with_unknown_type_or_wrong_payload_version_then_400(
    emulator: SpApiEmulator, token: str
) -> None:
    grantless = str(
        token_for(emulator, grant_type="client_credentials", scope="sellingpartnerapi::notifications")[1][
            "access_token"
        ]
    )
    _, destination = post(
        emulator,
        "/notifications/v1/destinations",
        grantless,
        {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:123456789012:q"}}},
    )
    destination_id = destination["payload"]["destinationId"]
    subscribe = "/notifications/v1/subscriptions/"

    assert (
        post(
            emulator,
            subscribe + "ORDER_CHANGED",
            token,
            {"payloadVersion": "1.0", "destinationId": destination_id},
        )[0]
        == 400
    )
    assert (
        post(
            emulator,
            subscribe + "ORDER_CHANGE",
            token,
            {"payloadVersion": "2020-09-04", "destinationId": destination_id},
        )[0]
        == 400
    )
    assert (
        post(
            emulator,
            subscribe + "REPORT_PROCESSING_FINISHED",
            token,
            {"payloadVersion": "1.0", "destinationId": destination_id},
        )[0]
        == 400
    )
    assert (
        post(
            emulator,
            subscribe + "ORDER_CHANGE",
            token,
            {"payloadVersion": "1.0", "destinationId": destination_id},
        )[0]
        == 200
    )
