"""Shipment requests (the fulfillment queue's format): strict, closed, Amazon's rules, typed poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream.errors import PoisonMessageError
from sellerstream.notifications.shipment_request import (
    SHIPMENT_REQUEST,
    InvalidShipmentRequestError,
    parse_shipment_delivery,
    parse_shipment_request,
)

SELLER = "A1SELLERSTREAMT"
ORDER = "902-1106328-1059050"


def shipment(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "requestId": "req-0001",
        "sellerId": SELLER,
        "marketplaceId": "ATVPDKIKX0DER",
        "amazonOrderId": ORDER,
        "carrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-11-30T15:00:00.000Z",
        "orderItems": [{"orderItemId": "79039765272157", "quantity": 1}],
    }
    request.update(changes)
    return {key: value for key, value in request.items() if value is not None}


def body(**changes: Any) -> str:
    return json.dumps({"shipment": shipment(**changes)})


def refusal(text: str) -> InvalidShipmentRequestError:
    with pytest.raises(InvalidShipmentRequestError) as caught:
        parse_shipment_request(text)
    return caught.value


def test_given_complete_request_when_parsed_then_typed_fields_and_keyed_by_its_request_id() -> None:
    delivery = parse_shipment_delivery(body(packageReferenceId="2", shippingMethod="UPS Ground"))

    request = delivery.notification
    assert (request.seller_id, request.amazon_order_id, request.package_reference_id) == (SELLER, ORDER, "2")
    assert request.ship_date == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert request.items_by_id() == {"79039765272157": 1}
    assert (request.notification_type, request.notification_id) == (SHIPMENT_REQUEST, "req-0001")
    assert delivery.idempotency_key == f"{SHIPMENT_REQUEST}#req-0001"


def test_given_no_order_items_when_parsed_then_none_meaning_every_item_of_the_stored_order() -> None:
    assert parse_shipment_request(body(orderItems=None)).items_by_id() is None


@pytest.mark.parametrize("missing", ["carrierCode", "trackingNumber", "shipDate", "requestId", "sellerId"])
def test_given_required_field_missing_when_parsed_then_refused_naming_it(missing: str) -> None:
    document = shipment()
    del document[missing]

    error = refusal(json.dumps({"shipment": document}))

    assert missing in error.detail
    assert error.reason == "invalid_shipment_request"


def test_given_carrier_other_without_name_when_parsed_then_refused_as_amazons_model_says() -> None:
    error = refusal(body(carrierCode="Other"))

    assert "carrierName is required" in error.detail
    assert parse_shipment_request(body(carrierCode="Other", carrierName="Local Courier")).carrier_name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trackingNo": "1Z"}, "trackingNo"),  # a misspelt field is not ignored
        ({"shipDate": "2026-11-30T15:00:00"}, "shipDate"),  # no offset
        ({"shipDate": "11/30/2026"}, "shipDate"),
        ({"orderItems": [{"orderItemId": "1", "quantity": "1"}]}, "quantity"),  # a string for an integer
        ({"orderItems": [{"orderItemId": "1", "quantity": 0}]}, "quantity"),
        ({"orderItems": []}, "orderItems"),
        ({"packageReferenceId": "0"}, "packageReferenceId"),  # Amazon: positive numbers only
        ({"packageReferenceId": "PKG-1"}, "packageReferenceId"),
        ({"packageReferenceId": 1}, "packageReferenceId"),
        ({"amazonOrderId": "902-1106328"}, "amazonOrderId"),
        ({"sellerId": "seller#1"}, "sellerId"),
        ({"trackingNumber": "1Z\n999"}, "trackingNumber"),
        ({"SellerId": SELLER}, "SellerId"),  # Amazon-like camelCase names only
    ],
)
def test_given_malformed_field_when_parsed_then_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    assert field in refusal(body(**changes)).detail


def test_given_item_named_twice_when_parsed_then_refused() -> None:
    items = [{"orderItemId": "1", "quantity": 1}, {"orderItemId": "1", "quantity": 2}]

    assert "more than once" in refusal(body(orderItems=items)).detail


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        json.dumps({"shipment": "x"}),
        "[" * 100_000,
        json.dumps({"Shipment": shipment()}),
    ],
)
def test_given_body_that_is_no_shipment_request_when_parsed_then_poison(text: str) -> None:
    with pytest.raises(PoisonMessageError):
        parse_shipment_request(text)


def test_given_invalid_request_when_refused_then_ids_of_the_right_shape_kept_and_values_never_echoed() -> (
    None
):
    error = refusal(body(trackingNumber="secret\u2028tracking"))

    assert (error.notification_id, error.seller_id, error.notification_type) == (
        "req-0001",
        SELLER,
        SHIPMENT_REQUEST,
    )
    assert "secret" not in error.detail


def test_given_continuation_attribute_when_parsed_then_refused() -> None:
    with pytest.raises(InvalidShipmentRequestError):
        parse_shipment_delivery(body(), continuation_part="1")
