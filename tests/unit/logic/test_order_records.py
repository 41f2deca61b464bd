"""Amazon's order responses (both API versions) as the stored record."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from sellerstream.logic.order_records import OrderResponseError, from_orders_2026, from_orders_v0
from tests.support.spapi_models import load_json, load_model


def amazon_2026_order() -> dict:
    operation = load_model("orders_2026-01-01.json")["paths"]["/orders/2026-01-01/orders/{orderId}"]["get"]
    return copy.deepcopy(operation["responses"]["200"]["examples"]["application/json"]["order"])


def test_given_2026_order_when_converted_then_pii_split_off_with_expiry() -> None:
    order = amazon_2026_order()

    record = from_orders_2026("A1", order)

    assert record.order_id == order["orderId"]
    assert record.last_updated == datetime(2024, 12, 25, 16, 30, tzinfo=UTC)
    assert record.attributes["order_status"] == "SHIPPED"
    assert record.attributes["marketplace_id"] == "A1F83G8C2ARO7P"
    assert record.attributes["item_count"] == len(order["orderItems"])
    assert "buyer" not in record.attributes["order"] and "recipient" not in record.attributes["order"]
    assert record.pii is not None and set(record.pii) == {"buyer", "recipient"}
    # 21 days after the latest promised delivery: with DynamoDB's two days to delete it and the
    # table's 7 days of backups, gone everywhere within 30 (Amazon's Data Protection Policy).
    assert record.pii_expires_at == datetime(2024, 12, 30, 23, 59, 59, tzinfo=UTC) + timedelta(days=21)


def test_given_2026_order_without_buyer_data_when_converted_then_no_pii_item() -> None:
    order = amazon_2026_order()
    del order["buyer"], order["recipient"]

    record = from_orders_2026("A1", order)

    assert record.pii is None and record.pii_expires_at is None


def test_given_2026_order_without_last_update_when_converted_then_typed_error() -> None:
    order = amazon_2026_order()
    del order["lastUpdatedTime"]

    with pytest.raises(OrderResponseError, match="lastUpdatedTime"):
        from_orders_2026("A1", order)


@pytest.mark.parametrize("moment", ["2024-12-25 16:30:00", "2024-12-25T16:30:00", "2024-12-25", 1735144200])
def test_given_2026_order_with_a_timestamp_that_is_not_rfc3339_when_converted_then_typed_error(
    moment: object,
) -> None:
    order = amazon_2026_order()
    order["lastUpdatedTime"] = moment

    with pytest.raises(OrderResponseError, match="unreadable timestamp"):
        from_orders_2026("A1", order)


def test_given_2026_order_with_an_offset_timestamp_when_converted_then_stored_in_utc() -> None:
    order = amazon_2026_order()
    order["lastUpdatedTime"] = "2024-12-25T18:30:00.1234567+02:00"

    record = from_orders_2026("A1", order)

    assert record.last_updated == datetime(2024, 12, 25, 16, 30, 0, 123456, tzinfo=UTC)


def test_given_v0_order_when_converted_then_status_in_2026_vocabulary() -> None:
    order = load_json("examples/api-responses/orders-getOrder.json")["payload"]
    items = load_json("examples/api-responses/orders-getOrderItems.json")["payload"]["OrderItems"]

    record = from_orders_v0("A1", order, items)

    assert record.attributes["order_status"] == "UNSHIPPED"
    assert record.attributes["fulfilled_by"] == "MERCHANT"
    assert record.attributes["source_api"] == "orders/v0"
    assert record.last_updated == datetime(2025, 10, 16, 12, 10, tzinfo=UTC)
    assert record.attributes["items"] == items
    assert record.pii is None


def test_given_v0_order_with_buyer_info_when_converted_then_buyer_info_is_pii() -> None:
    order = load_json("examples/api-responses/orders-getOrder.json")["payload"]
    order["BuyerInfo"] = load_json("examples/api-responses/orders-getOrderBuyerInfo.json")["payload"]

    record = from_orders_v0("A1", order, [])

    assert "BuyerInfo" not in record.attributes["order"]
    assert record.pii is not None and "BuyerInfo" in record.pii
    assert record.pii_expires_at == datetime(2025, 10, 15, 14, 22, 33, tzinfo=UTC) + timedelta(days=51)


def test_given_2026_order_with_buyer_data_and_no_delivery_window_when_converted_then_pii_expires_after_assumed_delivery() -> (
    None
):
    order = amazon_2026_order()
    order["fulfillment"].pop("deliverByWindow", None)

    record = from_orders_2026("A1", order)

    created = datetime.fromisoformat(order["createdTime"].replace("Z", "+00:00"))
    # Delivery assumed within 30 days of purchase, buyer data kept 21 days after that.
    assert record.pii_expires_at == created + timedelta(days=51)


@pytest.mark.parametrize("missing", ["orderId", "createdTime"])
def test_given_2026_order_without_its_id_or_creation_when_converted_then_typed_error(missing: str) -> None:
    order = amazon_2026_order()
    order[missing] = ""

    with pytest.raises(OrderResponseError, match=missing):
        from_orders_2026("A1", order)


def test_given_v0_order_fulfilled_by_amazon_with_an_address_when_converted_then_address_is_pii_until_after_delivery() -> (
    None
):
    order = load_json("examples/api-responses/orders-getOrder.json")["payload"]
    order["FulfillmentChannel"] = "AFN"
    order["ShippingAddress"] = {"Name": "Maria Garcia", "City": "Seattle", "CountryCode": "US"}
    order["LatestDeliveryDate"] = "2025-10-20T23:59:59Z"

    record = from_orders_v0("A1", order, [])

    assert record.attributes["fulfilled_by"] == "AMAZON"
    assert "ShippingAddress" not in record.attributes["order"]
    assert record.pii == {"ShippingAddress": order["ShippingAddress"]}
    assert record.pii_expires_at == datetime(2025, 10, 20, 23, 59, 59, tzinfo=UTC) + timedelta(days=21)


def test_given_v0_order_with_a_status_outside_the_known_ones_when_converted_then_kept_as_amazon_spells_it() -> (
    None
):
    order = load_json("examples/api-responses/orders-getOrder.json")["payload"]
    order["OrderStatus"] = "PendingPickUp"

    record = from_orders_v0("A1", order, [])

    assert record.attributes["order_status"] == "PendingPickUp"


@pytest.mark.parametrize("missing", ["AmazonOrderId", "PurchaseDate", "OrderStatus", "LastUpdateDate"])
def test_given_v0_order_without_a_required_field_when_converted_then_typed_error(missing: str) -> None:
    order = load_json("examples/api-responses/orders-getOrder.json")["payload"]
    del order[missing]

    with pytest.raises(OrderResponseError, match=missing):
        from_orders_v0("A1", order, [])
