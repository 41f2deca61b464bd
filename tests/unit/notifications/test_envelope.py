"""Parsing SQS bodies into typed notifications: the three body shapes and the poison cases."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sellerstream.errors import (
    InvalidNotificationError,
    UnknownNotificationTypeError,
    UnsupportedPayloadVersionError,
)
from sellerstream.notifications import (
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
    ReportProcessingFinishedNotification,
    parse_notification,
)

ORDER_CHANGE: dict[str, Any] = {
    "NotificationVersion": "1.0",
    "NotificationType": "ORDER_CHANGE",
    "PayloadVersion": "1.0",
    "EventTime": "2025-01-11T00:09:53.109Z",
    "Payload": {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": "A3TH9S8BH6GOGM",
            "AmazonOrderId": "903-8868176-2219830",
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": None, "ChangeReason": "Order status changed"},
            "Summary": {
                "MarketplaceId": "ATVPDKIKX0DER",
                "OrderStatus": "Unshipped",
                "PurchaseDate": None,
                "DestinationPostalCode": "48110",
                "FulfillmentType": "MFN",
                "OrderType": "StandardOrder",
                "OrderItems": [
                    {"OrderItemId": "OIID1", "SellerSKU": "SKU-1", "SupplySourceId": None, "Quantity": 2}
                ],
            },
        }
    },
    "NotificationMetadata": {
        "ApplicationId": "amzn1.sellerapps.app.x",
        "SubscriptionId": "sub-1",
        "PublishTime": "2025-01-11T00:09:53.109Z",
        "NotificationId": "n-1",
    },
}


def eventbridge_event(detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "ListingsItemStatusChange",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.x",
        "time": "2025-01-11T00:09:53Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps(ORDER_CHANGE), id="raw"),
        pytest.param(json.dumps(json.dumps(ORDER_CHANGE)), id="double-encoded"),
        pytest.param(json.dumps(eventbridge_event(ORDER_CHANGE)), id="eventbridge"),
        pytest.param(json.dumps(eventbridge_event(json.dumps(ORDER_CHANGE))), id="eventbridge-detail-string"),
    ],
)
def test_given_any_body_shape_when_parsed_then_the_same_notification(body: str) -> None:
    notification = parse_notification(body)

    assert isinstance(notification, OrderChangeNotification)
    assert notification.notification_id == "n-1"
    assert notification.seller_id == "A3TH9S8BH6GOGM"
    assert notification.amazon_order_id == "903-8868176-2219830"
    assert notification.payload.order_change.trigger.time_of_order_change is None


def test_given_unknown_extra_fields_when_parsed_then_tolerated() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    document["Brand-New-Field"] = {"x": 1}
    document["Payload"]["OrderChangeNotification"]["Summary"]["FutureField"] = "y"
    document["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = "SomeNewStatus"

    assert parse_notification(json.dumps(document)).notification_id == "n-1"


def test_given_missing_required_field_when_parsed_then_typed_error_names_field_not_values() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    del document["Payload"]["OrderChangeNotification"]["AmazonOrderId"]

    with pytest.raises(InvalidNotificationError) as caught:
        parse_notification(json.dumps(document))

    assert caught.value.notification_id == "n-1"
    assert "AmazonOrderId" in caught.value.detail
    assert caught.value.reason == "invalid_notification"


def test_given_invalid_value_when_parsed_then_error_does_not_echo_buyer_data() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    document["Payload"]["OrderChangeNotification"]["Summary"]["DestinationPostalCode"] = {"zip": "48110"}

    with pytest.raises(InvalidNotificationError) as caught:
        parse_notification(json.dumps(document))

    assert "48110" not in str(caught.value)
    assert "DestinationPostalCode" in caught.value.detail


@pytest.mark.parametrize("body", ["{not json", "", "[1, 2]", '"just a string"', "42"])
def test_given_body_that_is_not_a_json_object_when_parsed_then_invalid_notification(body: str) -> None:
    with pytest.raises(InvalidNotificationError) as caught:
        parse_notification(body)

    assert caught.value.notification_id is None


def test_given_unknown_type_when_parsed_then_unknown_type_error_with_id() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    document["NotificationType"] = "SHIPMENT_TRACKING_MILESTONE_CHANGED"  # Amazon's, not taken

    with pytest.raises(UnknownNotificationTypeError) as caught:
        parse_notification(json.dumps(document))

    assert caught.value.notification_id == "n-1"


def test_given_no_type_when_parsed_then_invalid_notification() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    del document["NotificationType"]

    with pytest.raises(InvalidNotificationError):
        parse_notification(json.dumps(document))


def test_given_listings_with_empty_status_when_parsed_then_empty_list_kept() -> None:
    document = {
        "NotificationVersion": "1.0",
        "NotificationType": "LISTINGS_ITEM_STATUS_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": "2021-02-03T18:59:30.194Z",
        "Payload": {"SellerId": "A3AYAZLIQ7AX77", "Sku": "NLS-SHOES-03", "Status": []},
        "NotificationMetadata": {
            "ApplicationId": "app",
            "SubscriptionId": "sub",
            "PublishTime": "2021-02-03T18:59:30.194Z",
            "NotificationId": "n-2",
        },
    }

    notification = parse_notification(json.dumps(eventbridge_event(document)))

    assert isinstance(notification, ListingsItemStatusChangeNotification)
    assert notification.payload.status == []


def test_given_vendor_report_notification_when_parsed_then_no_seller_id() -> None:
    document = {
        "notificationVersion": "2020-09-04",
        "notificationType": "REPORT_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04",
        "eventTime": "2020-07-14T03:35:13.214Z",
        "payload": {
            "reportProcessingFinishedNotification": {
                "accountId": "amzn1.vg.6213651",
                "reportId": "54517018502",
                "reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA",
                "processingStatus": "DONE",
                "reportDocumentId": "doc-1",
            }
        },
        "notificationMetadata": {
            "applicationId": "app",
            "subscriptionId": "sub-vendor",
            "publishTime": "2020-07-13T19:42:04.284Z",
            "notificationId": "n-3",
        },
    }

    notification = parse_notification(json.dumps(document))

    assert isinstance(notification, ReportProcessingFinishedNotification)
    assert notification.seller_id is None
    assert notification.subscription_id == "sub-vendor"
    assert notification.payload.report.processing_status == "DONE"


def test_given_continuation_when_parsed_then_same_notification_and_part_keyed_apart() -> None:
    from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE, continuation_message, parse_delivery

    original = parse_delivery(json.dumps(ORDER_CHANGE))
    body, attributes = continuation_message(original.notification, 2)
    continued = parse_delivery(body, continuation_part=attributes[CONTINUATION_PART_ATTRIBUTE]["StringValue"])

    assert continued.notification == original.notification
    assert (original.part, continued.part) == (0, 2)
    assert original.idempotency_key == "ORDER_CHANGE#n-1"
    assert continued.idempotency_key == "ORDER_CHANGE#n-1#part-2"
    assert json.loads(body).keys() == ORDER_CHANGE.keys()  # the body is Amazon's shape alone


@pytest.mark.parametrize("part", ["0", "-1", "1.5", "", "x", "1234567", "\u0661"])
def test_given_malformed_continuation_attribute_when_parsed_then_invalid(part: str) -> None:
    from sellerstream.notifications import parse_delivery

    with pytest.raises(InvalidNotificationError):
        parse_delivery(json.dumps(ORDER_CHANGE), continuation_part=part)


# -- versions: a new major version is parked, never guessed at ---------------------------------------


def with_versions(document: dict[str, Any], **versions: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for name, value in versions.items():
        if value is None:
            changed.pop(name, None)
        else:
            changed[name] = value
    return changed


@pytest.mark.parametrize(
    "versions",
    [
        {"PayloadVersion": "1.1"},
        {"NotificationVersion": "1.7"},
        {"PayloadVersion": "1.0", "NotificationVersion": "1.0"},
    ],
    ids=["minor-payload", "minor-envelope", "the-versions-the-model-reads"],
)
def test_given_a_minor_version_when_parsed_then_read_as_the_model_knows_it(versions: dict[str, Any]) -> None:
    notification = parse_notification(json.dumps(with_versions(ORDER_CHANGE, **versions)))

    assert isinstance(notification, OrderChangeNotification)


@pytest.mark.parametrize(
    ("document", "versions", "version"),
    [
        (ORDER_CHANGE, {"PayloadVersion": "2.0"}, "2.0"),
        (ORDER_CHANGE, {"NotificationVersion": "3.0"}, "3.0"),
    ],
    ids=["payload-major", "envelope-major"],
)
def test_given_a_major_version_the_consumer_does_not_read_when_parsed_then_refused_with_its_version_and_ids(
    document: dict[str, Any], versions: dict[str, Any], version: str
) -> None:
    changed = with_versions(document, **versions)
    # A new major version may change what the payload means: it is not even read.
    changed["Payload"] = {"AnythingAtAll": [1, 2, 3]}

    with pytest.raises(UnsupportedPayloadVersionError) as refused:
        parse_notification(json.dumps(changed))

    assert refused.value.reason == "unsupported_payload_version" and refused.value.version == version
    assert (refused.value.notification_id, refused.value.notification_type) == ("n-1", "ORDER_CHANGE")


def test_given_a_dated_payload_version_when_another_date_arrives_then_refused() -> None:
    document = {
        "notificationVersion": "2020-09-04",
        "notificationType": "REPORT_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04",
        "eventTime": "2025-01-11T00:09:53.109Z",
        "payload": {
            "reportProcessingFinishedNotification": {
                "sellerId": "A3TH9S8BH6GOGM",
                "accountId": "amzn1.merchant.o.A3TH9S8BH6GOGM",
                "reportId": "54517018502",
                "reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA",
                "processingStatus": "CANCELLED",
            }
        },
        "notificationMetadata": {
            "applicationId": "amzn1.sellerapps.app.x",
            "subscriptionId": "sub-1",
            "publishTime": "2025-01-11T00:09:53.109Z",
            "notificationId": "n-2",
        },
    }
    assert isinstance(parse_notification(json.dumps(document)), ReportProcessingFinishedNotification)

    with pytest.raises(UnsupportedPayloadVersionError):
        parse_notification(json.dumps({**document, "payloadVersion": "2027-01-01"}))


@pytest.mark.parametrize(
    "version", [2, "", "v1\n", "1.0" * 20, None], ids=["a-number", "empty", "control", "too-long", "left-out"]
)
def test_given_a_malformed_or_missing_version_when_parsed_then_invalid_not_parked(version: Any) -> None:
    # Amazon's schemas require both versions and every example of Amazon's carries them.
    with pytest.raises(InvalidNotificationError, match="PayloadVersion"):
        parse_notification(json.dumps(with_versions(ORDER_CHANGE, PayloadVersion=version)))
