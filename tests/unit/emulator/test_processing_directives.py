"""The emulator's createSubscription checks a ``processingDirective`` against Amazon's Notifications
model as strictly as its own: refused with Amazon's 400 InvalidInput error shape, otherwise stored
and returned by getSubscription and getSubscriptionById, as Amazon does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.vendored import model
from tests.support.spapi_models import response_validator
from tests.unit.emulator.test_emulator import token_for
from tests.unit.emulator.test_listings_reports_notifications import send

SELLER = "A1SELLER"
PAYLOAD_VERSIONS = {"REPORT_PROCESSING_FINISHED": "2020-09-04", "FEED_PROCESSING_FINISHED": "2020-09-04"}
SUBSCRIPTIONS = "/notifications/v1/subscriptions/"
ORDER_FILTER = {
    "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "orderChangeTypes": ["OrderStatusChange", "DeliveryTipChange"],
        "marketplaceIds": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
    }
}
OFFER_FILTER = {
    "eventFilter": {
        "eventFilterType": "ANY_OFFER_CHANGED",
        "aggregationSettings": {"aggregationTimePeriod": "TenMinutes"},
        "marketplaceIds": ["A1PA6795UKMFR9"],
    }
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    # Refusals are what is under test, not createSubscription's rate plan (1/s, burst 5).
    with SpApiEmulator(rate_limits=False) as running:
        running.register_seller(SELLER, "Atzr|rt-1")
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    return str(token_for(emulator)[1]["access_token"])


@pytest.fixture(scope="module")
def grantless(emulator: SpApiEmulator) -> str:
    body = token_for(emulator, grant_type="client_credentials", scope="sellingpartnerapi::notifications")[1]
    return str(body["access_token"])


@pytest.fixture(scope="module")
def destination_id(emulator: SpApiEmulator, grantless: str) -> str:
    spec = {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:123456789012:q"}}}
    return str(
        send(emulator, "POST", "/notifications/v1/destinations", grantless, spec)[1]["payload"][
            "destinationId"
        ]
    )


def subscribe(
    emulator: SpApiEmulator, token: str, destination_id: str, notification_type: str, directive: Any
) -> tuple[int, Any]:
    version = PAYLOAD_VERSIONS.get(notification_type, "1.0")
    body = {"payloadVersion": version, "destinationId": destination_id, "processingDirective": directive}
    return send(emulator, "POST", SUBSCRIPTIONS + notification_type, token, body)


def test_given_the_model_then_the_filter_types_are_its_eventfiltertype_values() -> None:
    [inline] = [
        part
        for part in model("notifications.json")["definitions"]["EventFilter"]["allOf"]
        if "$ref" not in part
    ]

    assert inline["properties"]["eventFilterType"]["enum"] == [
        "ANY_OFFER_CHANGED",
        "ORDER_CHANGE",
        "SHIPMENT_TRACKING_MILESTONE_CHANGED",
    ]


def test_given_valid_directives_when_subscribed_then_stored_and_returned_by_type_and_by_id(
    emulator: SpApiEmulator, token: str, grantless: str, destination_id: str
) -> None:
    for notification_type, directive in (("ORDER_CHANGE", ORDER_FILTER), ("ANY_OFFER_CHANGED", OFFER_FILTER)):
        status, created = subscribe(emulator, token, destination_id, notification_type, directive)
        subscription_id = created["payload"]["subscriptionId"]
        by_type = send(emulator, "GET", SUBSCRIPTIONS + notification_type, token)[1]
        by_id = send(emulator, "GET", f"{SUBSCRIPTIONS}{notification_type}/{subscription_id}", grantless)[1]

        assert status == 200
        response_validator("notifications.json", "CreateSubscriptionResponse").validate(created)
        response_validator("notifications.json", "GetSubscriptionResponse").validate(by_type)
        response_validator("notifications.json", "GetSubscriptionByIdResponse").validate(by_id)
        assert created["payload"]["processingDirective"] == directive
        assert by_type["payload"] == by_id["payload"] == created["payload"]
        assert emulator.subscriptions[(SELLER, notification_type)]["processingDirective"] == directive


@pytest.mark.parametrize("nothing", [None, {}])
def test_given_no_or_an_empty_directive_when_subscribed_then_none_stored(
    emulator: SpApiEmulator, token: str, grantless: str, destination_id: str, nothing: Any
) -> None:
    status, created = subscribe(emulator, token, destination_id, "FEED_PROCESSING_FINISHED", nothing)
    fetched = send(emulator, "GET", SUBSCRIPTIONS + "FEED_PROCESSING_FINISHED", token)[1]
    subscription_id = created["payload"]["subscriptionId"]
    send(emulator, "DELETE", f"{SUBSCRIPTIONS}FEED_PROCESSING_FINISHED/{subscription_id}", grantless)

    assert status == 200
    assert "processingDirective" not in created["payload"]
    assert "processingDirective" not in fetched["payload"]


REFUSED = [
    pytest.param(
        "REPORT_PROCESSING_FINISHED",
        {"eventFilter": {"eventFilterType": "REPORT_PROCESSING_FINISHED"}},
        "is not one of ANY_OFFER_CHANGED, ORDER_CHANGE, SHIPMENT_TRACKING_MILESTONE_CHANGED",
        id="a filter type the model does not list",
    ),
    pytest.param(
        "REPORT_PROCESSING_FINISHED",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE"}},
        "eventFilter is not supported for notificationType REPORT_PROCESSING_FINISHED",
        id="a type that takes no filter",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED"}},
        "eventFilterType ANY_OFFER_CHANGED does not match notificationType ORDER_CHANGE",
        id="a filter type of another notification type",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"orderChangeTypes": ["OrderStatusChange"]}},
        "eventFilterType is required",
        id="no filter type",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["StatusChange"]}},
        "orderChangeTypes[0]: 'StatusChange' is not one of BuyerRequestedChange, DeliveryTipChange, OrderStatusChange",
        id="an unknown order change type",
    ),
    pytest.param(
        "ANY_OFFER_CHANGED",
        {
            "eventFilter": {
                "eventFilterType": "ANY_OFFER_CHANGED",
                "aggregationSettings": {"aggregationTimePeriod": "OneMinute"},
            }
        },
        "aggregationTimePeriod: 'OneMinute' is not one of FiveMinutes, TenMinutes",
        id="an unknown aggregation period",
    ),
    pytest.param(
        "ANY_OFFER_CHANGED",
        {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED", "aggregationSettings": {}}},
        "aggregationSettings: aggregationTimePeriod is required",
        id="aggregation settings without a period",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeType": ["OrderStatusChange"]}},
        "eventFilter: unknown field orderChangeType",
        id="an unknown filter field",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilters": {"eventFilterType": "ORDER_CHANGE"}},
        "processingDirective: unknown field eventFilters",
        id="an unknown directive field",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["AZZZZZZZZZZZZ"]}},
        "invalid marketplaceId AZZZZZZZZZZZZ",
        id="an unknown marketplace",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": "ATVPDKIKX0DER"}},
        "marketplaceIds must be an array",
        id="marketplace ids not a list",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"eventFilter": {"eventFilterType": "ORDER_CHANGE"}, "filterExpression": "x == `y`"},
        "eventFilter and filterExpression are mutually exclusive",
        id="a filter and an expression",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"filterExpression": ""},
        "filterExpression must be 1 to 256 characters long",
        id="an empty expression",
    ),
    pytest.param(
        "ORDER_CHANGE",
        {"filterExpression": "x" * 257},
        "filterExpression must be 1 to 256 characters long",
        id="a long expression",
    ),
    pytest.param(
        "ORDER_CHANGE", ["eventFilter"], "processingDirective must be an object", id="not an object"
    ),
]


@pytest.mark.parametrize(("notification_type", "directive", "message"), REFUSED)
def test_given_a_directive_amazons_model_refuses_when_subscribed_then_400_invalid_input_and_nothing_stored(
    emulator: SpApiEmulator,
    token: str,
    destination_id: str,
    notification_type: str,
    directive: Any,
    message: str,
) -> None:
    before = dict(emulator.subscriptions)

    status, body = subscribe(emulator, token, destination_id, notification_type, directive)

    assert status == 400
    response_validator("notifications.json", "CreateSubscriptionResponse").validate(body)
    [error] = body["errors"]
    assert error["code"] == "InvalidInput"
    assert message in error["message"]
    assert emulator.subscriptions == before
