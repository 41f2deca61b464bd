"""The emulator's confirmShipment: Amazon's model and sandbox examples, the order's rules, the
order moving to Shipped and its ORDER_CHANGE following."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream.notifications import OrderChangeNotification, parse_notification
from sellerstream_local.emulator import SpApiEmulator
from tests.support.spapi_models import load_model, strict_response_validator
from tests.unit.emulator.test_emulator import token_for

SELLER = "A1SELLER"
# The order and item of Amazon's sandbox examples for confirmShipment.
ORDER = "902-1106328-1059050"
ITEM = "79039765272157"
US = "ATVPDKIKX0DER"


def sandbox_body(status: str) -> dict[str, Any]:
    operation = load_model("ordersV0.json")["paths"]["/orders/v0/orders/{orderId}/shipmentConfirmation"][
        "post"
    ]
    [example] = operation["responses"][status]["x-amzn-api-sandbox"]["static"]
    return copy.deepcopy(example["request"]["parameters"]["body"]["value"])


@pytest.fixture
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0, seed=5) as running:
        running.register_seller(SELLER, "Atzr|rt-1")
        running.register_seller("A2OTHER", "Atzr|rt-2")
        running.set_order(
            ORDER,
            seller_id=SELLER,
            status="Unshipped",
            last_updated="2025-10-02T10:00:00Z",
            items=[{"order_item_id": ITEM, "quantity": 2}],
        )
        yield running


@pytest.fixture
def published(emulator: SpApiEmulator) -> list[str]:
    bodies: list[str] = []
    emulator.register_order_notifications(bodies.append)
    return bodies


def confirm(
    emulator: SpApiEmulator, body: Any, refresh_token: str = "Atzr|rt-1", order: str = ORDER
) -> tuple[int, Any]:
    token = token_for(emulator, refresh_token)[1]["access_token"]
    request = urllib.request.Request(
        f"{emulator.base_url}/orders/v0/orders/{order}/shipmentConfirmation",
        data=json.dumps(body).encode(),
        headers={"x-amz-access-token": token, "content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def package(quantity: int, reference: str = "1", **changes: Any) -> dict[str, Any]:
    body = sandbox_body("204")
    body["packageDetail"]["packageReferenceId"] = reference
    body["packageDetail"]["orderItems"] = [{"orderItemId": ITEM, "quantity": quantity}]
    body["packageDetail"].update(changes)
    body["packageDetail"] = {
        name: value for name, value in body["packageDetail"].items() if value is not None
    }
    return body


def test_given_amazons_sandbox_request_when_confirmed_then_204_partially_shipped_and_order_change_published(
    emulator: SpApiEmulator, published: list[str]
) -> None:
    status, body = confirm(emulator, sandbox_body("204"))  # one of the two ordered

    assert (status, body) == (204, b"")
    state = emulator.catalog.get(ORDER)
    assert state is not None and state.status == "PartiallyShipped"
    [notification_body] = published
    notification = parse_notification(notification_body)
    assert isinstance(notification, OrderChangeNotification)
    assert notification.payload.order_change.summary.order_status == "PartiallyShipped"
    assert notification.payload.order_change.summary.order_items[0].order_item_id == ITEM


def test_given_every_item_shipped_then_order_shipped_and_a_tracking_update_publishes_nothing(
    emulator: SpApiEmulator, published: list[str]
) -> None:
    assert confirm(emulator, package(2))[0] == 204
    state = emulator.catalog.get(ORDER)
    assert state is not None and state.status == "Shipped"

    assert confirm(emulator, package(2, trackingNumber="999"))[0] == 204  # same package, new tracking

    assert len(published) == 1
    assert [sent["packageDetail"]["trackingNumber"] for sent in emulator.orders.shipment_confirmations] == [
        "112345678",
        "999",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (sandbox_body("400"), "shipDate"),  # Amazon's own 400 example: "02/21/2022"
        (package(1, carrierCode="Other", carrierName=None), "carrierName is required"),
        (package(1, reference="PKG"), "packageReferenceId"),
        (package(3), "exceeds the quantity ordered"),
        ({"marketplaceId": US}, "packageDetail"),
        (package(1) | {"marketplaceId": "A1F83G8C2ARO7P"}, "marketplace"),
        (
            {
                **package(1),
                "packageDetail": {
                    **package(1)["packageDetail"],
                    "orderItems": [{"orderItemId": "1", "quantity": 1}],
                },
            },
            "not an item",
        ),
    ],
)
def test_given_invalid_request_then_400_in_amazons_error_shape_and_nothing_changes(
    emulator: SpApiEmulator, published: list[str], body: dict[str, Any], message: str
) -> None:
    status, error = confirm(emulator, body)

    assert status == 400
    strict_response_validator("ordersV0.json", "ConfirmShipmentErrorResponse").validate(error)
    assert message in error["errors"][0]["message"]
    state = emulator.catalog.get(ORDER)
    assert state is not None and state.status == "Unshipped"
    assert published == []


def test_given_package_confirmed_when_sent_again_with_other_items_then_400(emulator: SpApiEmulator) -> None:
    assert confirm(emulator, package(1))[0] == 204

    status, error = confirm(emulator, package(2))

    assert status == 400 and "other order items" in error["errors"][0]["message"]


def test_given_another_sellers_order_then_404(emulator: SpApiEmulator) -> None:
    status, error = confirm(emulator, package(1), refresh_token="Atzr|rt-2")

    assert status == 404 and error["errors"][0]["code"] == "NotFound"


def test_given_cancelled_order_then_400(emulator: SpApiEmulator) -> None:
    emulator.set_order(ORDER, status="Canceled")

    status, error = confirm(emulator, package(1))

    assert status == 400 and "Canceled" in error["errors"][0]["message"]
