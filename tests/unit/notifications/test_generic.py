"""Any other type Amazon sends, read through Amazon's JSON Schema of it: every example Amazon ships
is read and keyed; what the schema requires or types is enforced; what Amazon may add is not."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sellerstream import catalog
from sellerstream.notifications.generic import GenericNotification
from sellerstream.notifications.schema_check import SchemaError, schema

ROOT = Path(__file__).resolve().parents[3]
# Amazon's examples, and where Amazon ships none (FBA inventory) one assembled from its schema.
EXAMPLES = (ROOT / "local" / "sellerstream_local" / "amazon" / "examples" / "notifications",)


def example(type_name: str) -> dict[str, Any]:
    [path] = sorted(path for folder in EXAMPLES for path in folder.glob(f"{type_name}.*.json"))
    return copy.deepcopy(json.loads(path.read_text()))


GENERIC = [message_type.name for message_type in catalog.GENERIC_TYPES]


@pytest.mark.parametrize("type_name", GENERIC)
def test_given_amazons_example_when_read_then_its_entities_are_keyed(type_name: str) -> None:
    notification = GenericNotification.model_validate(example(type_name))

    entities = notification.entities()

    assert notification.notification_type == type_name
    assert entities, "every example names at least one entity"
    stored = catalog.generic_type(type_name).stored  # type: ignore[union-attr]
    for entity in entities:
        expected = [name for name, _ in (*stored.parent_key, *stored.key)] or ["notification_id"]
        assert list(entity.key) == expected and all(entity.key.values())
        assert entity.version.tzinfo is not None
    if stored.seller is not None:  # the path leads to a value (Amazon's examples hold placeholders)
        first = notification.payload[stored.each][0] if stored.each else {}
        values = [value_at(document, stored.seller) for document in (notification.payload, first)]
        assert any(isinstance(value, str) and value for value in values)


def test_given_an_offer_change_when_read_then_keyed_by_marketplace_asin_condition_at_its_own_time() -> None:
    notification = GenericNotification.model_validate(example("ANY_OFFER_CHANGED"))

    [entity] = notification.entities()

    assert entity.key == {"marketplace_id": "ATVPDKIKX0DER", "asin": "123", "item_condition": "New"}
    assert entity.version == datetime(2020, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)
    assert notification.seller_id == "A3TH9S8BH6GOGM"


def test_given_a_list_payload_when_read_then_one_entity_per_element() -> None:
    document = example("ITEM_SALES_EVENT_CHANGE")
    changes = document["payload"]["itemSalesEventChanges"]
    changes.append({**changes[0], "asin": "B00000SECOND"})

    entities = GenericNotification.model_validate(document).entities()

    assert len(entities) == len(changes) and entities[-1].key["asin"] == "B00000SECOND"
    assert entities[0].key["asin"] == changes[0]["asin"]


def test_given_a_type_naming_no_seller_when_read_then_the_subscription_decides() -> None:
    notification = GenericNotification.model_validate(example("ITEM_PRODUCT_TYPE_CHANGE"))

    assert notification.seller_id is None and notification.subscription_id


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["Payload"]["AnyOfferChangedNotification"].pop("SellerId"), "SellerId: required"),
        (
            lambda d: d["Payload"]["AnyOfferChangedNotification"]["OfferChangeTrigger"].update(ASIN=123),
            "ASIN: expected string",
        ),
        (lambda d: d.update(Payload=[]), "Payload: expected object"),
        (lambda d: d["NotificationMetadata"].update(NotificationId="has spaces and #"), "NotificationId"),
    ],
)
def test_given_what_the_schema_forbids_when_read_then_refused_naming_the_path_not_the_value(
    change: Any, problem: str
) -> None:
    document = example("ANY_OFFER_CHANGED")
    change(document)

    with pytest.raises(ValidationError) as refused:
        GenericNotification.model_validate(document)

    assert problem in str(refused.value)
    assert "A3TH9S8BH6GOGM" not in str(refused.value)


def test_given_what_amazon_may_add_when_read_then_accepted() -> None:
    document = example("ANY_OFFER_CHANGED")
    offer = document["Payload"]["AnyOfferChangedNotification"]
    offer["NewField"] = {"anything": [1, 2]}
    offer["OfferChangeTrigger"]["OfferChangeType"] = "A_VALUE_AMAZON_ADDED"
    document["NewTopLevel"] = True

    [entity] = GenericNotification.model_validate(document).entities()

    assert entity.data["AnyOfferChangedNotification"]["NewField"] == {"anything": [1, 2]}


@pytest.mark.parametrize("bad", ["", "x" * 300, "\ud800"])
def test_given_a_key_part_that_cannot_be_stored_when_keyed_then_refused(bad: str) -> None:
    document = example("FULFILLMENT_ORDER_STATUS")
    document["Payload"]["FulfillmentOrderStatusNotification"]["SellerFulfillmentOrderId"] = bad

    notification = GenericNotification.model_validate(document)

    with pytest.raises(ValueError, match="SellerFulfillmentOrderId"):
        notification.entities()


def test_given_every_schema_the_catalog_names_when_loaded_then_readable_and_the_unreadable_ones_are_left_out() -> (
    None
):
    for message_type in catalog.GENERIC_TYPES:
        assert message_type.schema is not None
        schema(message_type.schema)
    with pytest.raises(SchemaError, match="points nowhere"):
        schema("ShipmentTrackingMilestoneChangedNotification.json")
    names = {message_type.name for message_type in catalog.GENERIC_TYPES}
    assert not names & {"SHIPMENT_TRACKING_MILESTONE_CHANGED", "B2B_ANY_OFFER_CHANGED"}


def value_at(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document
