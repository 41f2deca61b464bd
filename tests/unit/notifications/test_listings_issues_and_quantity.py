"""LISTINGS_ITEM_ISSUES_CHANGE (payload versions 1.0 and 2023-12-13) and LISTINGS_ITEM_MFN_QUANTITY_CHANGE
read as they arrive (an EventBridge event on the queue) by their models: Amazon's examples parse;
ids and types are strict. (What Amazon may change in them without a new version is the schema
contract's: ``tests/conformance/test_schema_contract.py`` runs it on every consumed type.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.errors import InvalidNotificationError, UnsupportedPayloadVersionError
from sellerstream.notifications import parse_notification
from sellerstream.notifications.listings_item_issues_change import (
    ListingsItemIssuesChangeNotification,
)
from sellerstream.notifications.listings_item_mfn_quantity_change import (
    ListingsItemMfnQuantityChangeNotification,
)
from sellerstream.notifications.schema_check import SCHEMA_DIRECTORY
from tests.conformance.test_schema_contract import delivered

EXAMPLES = Path(__file__).resolve().parents[3] / "local" / "sellerstream_local" / "amazon" / "examples"
ISSUES = catalog.LISTINGS_ITEM_ISSUES_CHANGE
MFN_QUANTITY = catalog.LISTINGS_ITEM_MFN_QUANTITY_CHANGE


def schema(name: str) -> dict[str, Any]:
    return _json(SCHEMA_DIRECTORY / name)


def _json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


ISSUES_1_0 = _json(EXAMPLES / "notifications" / "LISTINGS_ITEM_ISSUES_CHANGE.schema-example-1.json")
ISSUES_2023_12_13 = _json(
    EXAMPLES / "notifications" / "LISTINGS_ITEM_ISSUES_CHANGE.2023-12-13.schema-example-1.json"
)
MFN = _json(EXAMPLES / "notifications" / "LISTINGS_ITEM_MFN_QUANTITY_CHANGE.schema-example-1.json")


def parsed(document: dict[str, Any], message_type: catalog.MessageType = ISSUES) -> Any:
    """The notification as its consumer gets it: inside an EventBridge event, on the queue."""
    return parse_notification(delivered(message_type, document))


def changed(document: dict[str, Any], **payload: Any) -> dict[str, Any]:
    """A copy with these payload fields set (None: left out)."""
    copied = copy.deepcopy(document)
    for name, value in payload.items():
        if value is None:
            copied["Payload"].pop(name, None)
        else:
            copied["Payload"][name] = value
    return copied


# -- Amazon's examples -----------------------------------------------------------------------------


def test_given_amazons_issues_example_of_payload_1_0_when_parsed_then_read_as_amazon_wrote_it() -> None:
    notification = parsed(ISSUES_1_0)

    assert isinstance(notification, ListingsItemIssuesChangeNotification)
    assert (notification.payload_version, notification.seller_id) == ("1.0", "AXXXXXXXXXXXXX")
    payload = notification.payload
    assert (payload.marketplace_id, payload.asin, payload.sku) == (
        "ATVPDKIKX0DER",
        "BT6RZ7JM4H",
        "NLS-SHOES-03",
    )
    assert payload.severities == ["ERROR", "WARNING"]
    assert payload.enforcement_actions == ["SEARCH_SUPPRESSED"]
    assert notification.notification_id == "8e009934-da2c-4f9c-9bc7-93f23b7e1f60"


def test_given_amazons_issues_example_of_payload_2023_12_13_when_parsed_then_every_enforcement_is_kept() -> (
    None
):
    notification = parsed(ISSUES_2023_12_13)

    assert isinstance(notification, ListingsItemIssuesChangeNotification)
    assert notification.payload_version == "2023-12-13"
    assert notification.payload.enforcement_actions == [
        "SEARCH_SUPPRESSED",
        "LISTING_SUPPRESSED",
        "ATTRIBUTE_SUPPRESSED",
        "CATALOG_ITEM_REMOVED",
    ]


def test_given_the_extracted_2023_12_13_example_then_it_is_the_schemas_own() -> None:
    assert schema("ListingsItemIssuesChangeNotification_2023-12-13.json")["examples"][0] == ISSUES_2023_12_13
    assert schema("ListingsItemIssuesChangeNotification.json")["examples"][0] == ISSUES_1_0
    assert schema("ListingsItemMfnQuantityChange.json")["examples"][0] == MFN


def test_given_amazons_mfn_quantity_example_when_parsed_then_the_channels_quantity_as_of_the_event() -> None:
    notification = parsed(MFN, MFN_QUANTITY)

    assert isinstance(notification, ListingsItemMfnQuantityChangeNotification)
    payload = notification.payload
    assert (payload.seller_id, payload.sku) == ("AXXXXXXXXXXXXX", "NLS-SHOES-03")
    assert (payload.fulfillment_channel_code, payload.quantity) == ("DEFAULT", 99)
    assert notification.event_time.isoformat() == "2021-02-03T18:59:30.194000+00:00"


def test_given_the_examples_sent_to_an_sqs_destination_then_the_same_notifications() -> None:
    # Amazon delivers these types through EventBridge only; a body without the event reads the same.
    assert parse_notification(json.dumps(ISSUES_2023_12_13)) == parsed(ISSUES_2023_12_13)
    assert parse_notification(json.dumps(MFN)) == parsed(MFN, MFN_QUANTITY)


# -- payload versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "2023-12-13"])
def test_given_an_issues_payload_version_the_model_reads_when_parsed_then_accepted(version: str) -> None:
    assert parsed({**ISSUES_1_0, "PayloadVersion": version}).payload_version == version


@pytest.mark.parametrize(
    ("document", "entry"),
    [
        ({**ISSUES_1_0, "PayloadVersion": "2099-01-01"}, ISSUES),
        ({**MFN, "PayloadVersion": "2.0"}, MFN_QUANTITY),
    ],
    ids=["issues", "mfn-quantity"],
)
def test_given_a_payload_version_the_model_does_not_read_when_parsed_then_parked(
    document: dict[str, Any], entry: catalog.MessageType
) -> None:
    with pytest.raises(UnsupportedPayloadVersionError):
        parsed(document, entry)


# -- strict on ids and types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"SellerId": "not a seller"},
        {"SellerId": None},
        {"Sku": ""},
        {"Sku": None},
        {"Sku": 12345},
        {"MarketplaceId": "atvpdkikx0der"},
        {"MarketplaceId": 1},
        {"Asin": "B0-SHORT"},
        {"Severities": None},
        {"Severities": "ERROR"},
        {"Severities": ["ERROR", "has space"]},
        {"Severities": [1]},
        {"EnforcementActions": "SEARCH_SUPPRESSED"},
        {"EnforcementActions": ["SEARCH SUPPRESSED"]},
    ],
    ids=lambda payload: "-".join(f"{name}={value!r}" for name, value in payload.items()),
)
def test_given_an_issues_payload_with_a_wrong_id_or_type_when_parsed_then_refused(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(InvalidNotificationError):
        parsed(changed(ISSUES_2023_12_13, **payload))


@pytest.mark.parametrize(
    "payload",
    [
        {"SellerId": "axxxxxxxxxxxxx"},
        {"Sku": "x" * 300},
        {"Sku": None},
        {"FulfillmentChannelCode": None},
        {"FulfillmentChannelCode": "has space"},
        {"FulfillmentChannelCode": ""},
        {"Quantity": None},
        {"Quantity": "99"},
        {"Quantity": 99.0},
        {"Quantity": True},
        {"Quantity": -1},
        {"Quantity": 2**31},
    ],
    ids=lambda payload: "-".join(f"{name}={value!r}" for name, value in payload.items()),
)
def test_given_an_mfn_quantity_payload_with_a_wrong_id_or_type_when_parsed_then_refused(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(InvalidNotificationError):
        parsed(changed(MFN, **payload), MFN_QUANTITY)


@pytest.mark.parametrize("quantity", [0, 2**31 - 1])
def test_given_the_bounds_of_a_quantity_when_parsed_then_accepted(quantity: int) -> None:
    assert parsed(changed(MFN, Quantity=quantity), MFN_QUANTITY).payload.quantity == quantity


@pytest.mark.parametrize("channel", ["DEFAULT", "AMAZON_NA", "WAREHOUSE-2.EAST"])
def test_given_a_fulfillment_channel_code_amazon_may_use_when_parsed_then_kept(channel: str) -> None:
    assert (
        parsed(changed(MFN, FulfillmentChannelCode=channel), MFN_QUANTITY).payload.fulfillment_channel_code
        == channel
    )


def test_given_severities_none_when_parsed_then_a_listing_without_issues() -> None:
    notification = parsed(changed(ISSUES_2023_12_13, Severities=["NONE"], EnforcementActions=[]))

    assert notification.payload.severities == ["NONE"] and notification.payload.enforcement_actions == []


@pytest.mark.parametrize(
    ("document", "entry"),
    [
        ({**ISSUES_1_0, "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"}, MFN_QUANTITY),
        ({**MFN, "NotificationType": "LISTINGS_ITEM_ISSUES_CHANGE"}, ISSUES),
    ],
    ids=["issues-body-as-quantity", "quantity-body-as-issues"],
)
def test_given_one_types_body_under_the_others_name_when_parsed_then_refused(
    document: dict[str, Any], entry: catalog.MessageType
) -> None:
    with pytest.raises(InvalidNotificationError):
        parsed(document, entry)
