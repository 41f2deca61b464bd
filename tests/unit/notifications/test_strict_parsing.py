"""The parser refuses what Amazon never sends, with a typed error, and accepts what Amazon does send."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from sellerstream.errors import InvalidNotificationError, PoisonMessageError
from sellerstream.notifications import (
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
    ReportProcessingFinishedNotification,
    parse_notification,
)
from tests.unit.notifications.test_envelope import ORDER_CHANGE, eventbridge_event

LISTING: dict[str, Any] = {
    "NotificationVersion": "1.0",
    "NotificationType": "LISTINGS_ITEM_STATUS_CHANGE",
    "PayloadVersion": "1.0",
    "EventTime": "2021-02-03T18:59:30.194Z",
    "Payload": {
        "SellerId": "A3AYAZLIQ7AX77",
        "MarketplaceId": "ATVPDKIKX0DER",
        "Asin": "BT6RZ7JM4H",
        "Sku": "NLS-SHOES-03",
        "CreatedDate": "2021-02-03T18:50:26.196Z",
        "Status": ["BUYABLE", "DISCOVERABLE"],
    },
    "NotificationMetadata": {
        "ApplicationId": "amzn1.sellerapps.app.f108f511-eeac-46a6-b125-bcb752069ed0",
        "SubscriptionId": "93b098e1-c42-2f45-93a1-78910a6a8369",
        "PublishTime": "2021-02-03T18:59:30.194Z",
        "NotificationId": "8e009934-da2c-4f9c-9bc7-93f23b7e1f60",
    },
}
REPORT: dict[str, Any] = {
    "notificationVersion": "2020-09-04",
    "notificationType": "REPORT_PROCESSING_FINISHED",
    "payloadVersion": "2020-09-04",
    "eventTime": "2020-07-14T03:35:13.214Z",
    "payload": {
        "reportProcessingFinishedNotification": {
            "sellerId": "A3TH9S8BH6GOGM",
            "accountId": "amzn1.merchant.o.A3TH9S8BH6GOGM",
            "reportId": "54517018502",
            "reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA",
            "processingStatus": "DONE",
            "reportDocumentId": "amzn1.spdoc.1.4.na.52d7591e-de2b-4d70-8fb1-0923856f9d59.T2OL05CQTET8D2.3211",
        }
    },
    "notificationMetadata": {
        "applicationId": "amzn1.sellerapps.app.aacccfff-4455-4b7c-4422-664ecacdd336",
        "subscriptionId": "subscription-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        "publishTime": "2020-07-13T19:42:04.284Z",
        "notificationId": "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
    },
}
ORDER = ("Payload", "OrderChangeNotification")
REPORT_DETAILS = ("payload", "reportProcessingFinishedNotification")

# Every id field that reaches a key, a secret name or a log line, by document.
ID_FIELDS: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    (ORDER_CHANGE, (*ORDER, "SellerId")),
    (ORDER_CHANGE, (*ORDER, "AmazonOrderId")),
    (ORDER_CHANGE, (*ORDER, "Summary", "MarketplaceId")),
    (ORDER_CHANGE, ("NotificationMetadata", "NotificationId")),
    (ORDER_CHANGE, ("NotificationMetadata", "SubscriptionId")),
    (LISTING, ("Payload", "SellerId")),
    (LISTING, ("Payload", "MarketplaceId")),
    (LISTING, ("Payload", "Asin")),
    (REPORT, (*REPORT_DETAILS, "sellerId")),
    (REPORT, (*REPORT_DETAILS, "accountId")),
    (REPORT, (*REPORT_DETAILS, "reportId")),
    (REPORT, (*REPORT_DETAILS, "reportDocumentId")),
    (REPORT, ("notificationMetadata", "notificationId")),
    (REPORT, ("notificationMetadata", "subscriptionId")),
]
HOSTILE_VALUES = {
    "key separator": "A3TH9S8BH6GOGM#MARKETPLACE#ATVPDKIKX0DER",
    "slash": "A3TH9S8BH6GOGM/x",
    "parent path": "../A3TH9S8BH6GOGM",
    "NUL": "A3TH9S8BH6GOGM\x00",
    "control": "A3TH9S8\nBH6GOGM",
    "bidi override": "A3TH9S8\u202eBH6GOGM",
    "zero width": "A3TH9S8\u200bBH6GOGM",
    "surrounding spaces": " A3TH9S8BH6GOGM ",
    "10 KB": "A" * 10_240,
    "empty": "",
    "number": 54517018502,
}


def with_value(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def without(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node = changed
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return changed


def rejected(document: Any) -> InvalidNotificationError:
    with pytest.raises(InvalidNotificationError) as caught:
        parse_notification(document if isinstance(document, str) else json.dumps(document))
    return caught.value


@pytest.mark.parametrize(
    ("document", "path"),
    ID_FIELDS,
    ids=lambda value: "/".join(value[-2:]) if isinstance(value, tuple) else "",
)
@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_given_an_id_of_the_wrong_shape_when_parsed_then_rejected_without_echoing_it(
    document: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    error = rejected(with_value(document, path, value))

    assert path[-1] in error.detail
    if isinstance(value, str) and value:
        assert value not in error.detail and value not in str(error.notification_id)


@pytest.mark.parametrize(
    ("document", "path", "value"),
    [
        (ORDER_CHANGE, (*ORDER, "AmazonOrderId"), "902-1845936-5435065"),
        (ORDER_CHANGE, (*ORDER, "AmazonOrderId"), "D01-1234567-1234567"),
        (ORDER_CHANGE, (*ORDER, "AmazonOrderId"), "TEST_CASE_200"),
        (ORDER_CHANGE, (*ORDER, "Summary", "MarketplaceId"), "A1F83G8C2ARO7P"),
        (ORDER_CHANGE, (*ORDER, "Summary", "MarketplaceId"), "AMEN7PMS3EDWL"),
        (ORDER_CHANGE, ("NotificationMetadata", "SubscriptionId"), "TEST_CASE_200_SUBSCRIPTION_ID"),
        (REPORT, (*REPORT_DETAILS, "reportId"), "ID323"),
        (REPORT, (*REPORT_DETAILS, "reportDocumentId"), "0356cf79-b8b0-4226-b4b9-0ee058ea5760"),
        (
            REPORT,
            (*REPORT_DETAILS, "reportDocumentId"),
            "amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.REP4567URI9BMZ",
        ),
        (REPORT, (*REPORT_DETAILS, "accountId"), "amzn1.vg.6213651"),
    ],
)
def test_given_amazons_own_id_forms_when_parsed_then_accepted(
    document: dict[str, Any], path: tuple[str, ...], value: str
) -> None:
    parse_notification(json.dumps(with_value(document, path, value)))


@pytest.mark.parametrize(
    "sku", ["A#B", "SKU/../1", " spaced ", "\u202ebidi\u200b", "nul\x00", "ünïcödé-✓", "x" * 40]
)
def test_given_a_sku_of_any_characters_when_parsed_then_kept_as_sent(sku: str) -> None:
    notification = parse_notification(json.dumps(with_value(LISTING, ("Payload", "Sku"), sku)))

    assert isinstance(notification, ListingsItemStatusChangeNotification)
    assert notification.payload.sku == sku


@pytest.mark.parametrize("sku", ["", "x" * 256, "é" * 128, "lone \\ud800 surrogate"])
def test_given_a_sku_that_cannot_be_a_key_when_parsed_then_rejected(sku: str) -> None:
    body = json.dumps(with_value(LISTING, ("Payload", "Sku"), "__SKU__")).replace("__SKU__", sku)

    assert "Sku" in rejected(body).detail


@pytest.mark.parametrize(
    "moment",
    [
        "2020-01-11T00:09:53",  # naive
        "2020-01-11",
        "2020-01-11 00:09:53Z",
        "2020-01-11T00:09:53.109+0000",  # ISO 8601 basic offset, not RFC 3339
        "1578701393",
        1578701393,
        1578701393.109,
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1994-12-31T23:59:59Z",
        "2020-02-30T00:00:00Z",
        "2020-01-11T24:00:00Z",
        "2020-01-11T00:09:60Z",
        "2020-01-11T00:09:53+24:00",
        "\uff12\uff10\uff12\uff10-01-11T00:09:53Z",  # fullwidth digits
        None,
    ],
)
def test_given_a_timestamp_that_is_not_rfc3339_with_an_offset_when_parsed_then_rejected(moment: Any) -> None:
    assert "EventTime" in rejected(with_value(ORDER_CHANGE, ("EventTime",), moment)).detail


@pytest.mark.parametrize(
    ("moment", "utc"),
    [
        ("2020-01-11T00:09:53.109Z", "2020-01-11T00:09:53.109000+00:00"),
        ("2020-01-11T05:39:53+05:30", "2020-01-11T00:09:53+00:00"),
        ("2020-01-11t00:09:53z", "2020-01-11T00:09:53+00:00"),
        ("2020-01-11T00:09:53.123456789-00:00", "2020-01-11T00:09:53.123456+00:00"),
    ],
)
def test_given_rfc3339_timestamps_when_parsed_then_read_as_utc(moment: str, utc: str) -> None:
    notification = parse_notification(json.dumps(with_value(ORDER_CHANGE, ("EventTime",), moment)))

    assert notification.event_time.isoformat() == utc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((*ORDER, "Summary", "OrderItems", 0, "Quantity"), "10_0"),
        ((*ORDER, "Summary", "OrderItems", 0, "Quantity"), "10"),
        ((*ORDER, "Summary", "OrderItems", 0, "Quantity"), 10.5),
        ((*ORDER, "Summary", "OrderItems", 0, "Quantity"), True),
        ((*ORDER, "Summary", "OrderItems", 0, "IsBuyerRequestedCancel"), "yes"),
        ((*ORDER, "Summary", "OrderItems", 0, "IsBuyerRequestedCancel"), 1),
        ((*ORDER, "Summary", "OrderStatus"), 3),
        (("NotificationVersion",), 1.0),
    ],
)
def test_given_a_value_of_another_type_when_parsed_then_not_coerced(
    path: tuple[Any, ...], value: Any
) -> None:
    assert str(path[-1]) in rejected(with_value(ORDER_CHANGE, path, value)).detail


def test_given_python_field_names_instead_of_amazons_when_parsed_then_rejected() -> None:
    document = copy.deepcopy(ORDER_CHANGE)
    order = document["Payload"]["OrderChangeNotification"]
    order["seller_id"] = order.pop("SellerId")

    assert "SellerId" in rejected(document).detail


def test_given_a_continuation_key_in_an_amazon_body_when_parsed_then_the_body_is_itself() -> None:
    other = with_value(ORDER_CHANGE, (*ORDER, "SellerId"), "A1OTHERSELLER99")
    other["NotificationMetadata"]["NotificationId"] = "n-other"
    document = {**ORDER_CHANGE, "sellerstreamContinuation": {"part": 1, "notification": other}}

    notification = parse_notification(json.dumps(document))

    assert isinstance(notification, OrderChangeNotification)
    assert (notification.notification_id, notification.seller_id) == ("n-1", "A3TH9S8BH6GOGM")


def test_given_eventbridge_keys_added_to_an_amazon_body_when_parsed_then_the_body_is_itself() -> None:
    other = copy.deepcopy(LISTING)
    document = {**ORDER_CHANGE, "detail-type": "x", "source": "aws.partner/x", "detail": other}

    assert parse_notification(json.dumps(document)).notification_id == "n-1"


@pytest.mark.parametrize(
    "extra",
    [
        {"replay-name": "listings-outage-replay"},
        {"account": "123456789012"},
        {"a-key-aws-adds-later": {"x": 1}},
    ],
    ids=["replayed-from-an-archive", "account", "a-future-key"],
)
def test_given_an_eventbridge_event_with_keys_beyond_the_required_when_parsed_then_its_detail_is_read(
    extra: dict[str, Any],
) -> None:
    event = {**eventbridge_event(LISTING), **extra}

    assert (
        parse_notification(json.dumps(event)).notification_id
        == LISTING["NotificationMetadata"]["NotificationId"]
    )


def test_given_an_eventbridge_event_without_account_when_parsed_then_accepted() -> None:
    event = eventbridge_event(LISTING)
    assert "account" not in event

    assert (
        parse_notification(json.dumps(event)).notification_id
        == LISTING["NotificationMetadata"]["NotificationId"]
    )


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda nested: nested, id="body"),
        pytest.param(
            lambda nested: json.dumps(ORDER_CHANGE)[:-1] + f', "Ignored": {nested}}}', id="ignored-field"
        ),
        pytest.param(
            lambda nested: json.dumps(eventbridge_event("__D__")).replace('"__D__"', nested),
            id="eventbridge-detail",
        ),
        pytest.param(
            lambda nested: json.dumps(
                eventbridge_event(json.dumps(ORDER_CHANGE)[:-1] + f', "X": {nested}}}')
            ),
            id="eventbridge-detail-string",
        ),
        pytest.param(
            lambda nested: json.dumps(json.dumps(ORDER_CHANGE)[:-1] + f', "X": {nested}}}'),
            id="double-encoded",
        ),
    ],
)
@pytest.mark.parametrize(
    "hostile",
    [pytest.param(deep(100_000), id="nested-100000"), pytest.param("1" * 5_000, id="5000-digit-integer")],
)
def test_given_hostile_json_anywhere_when_parsed_then_typed_poison_error(
    make_body: Callable[[str], str], hostile: str
) -> None:
    with pytest.raises(PoisonMessageError) as caught:
        parse_notification(make_body(hostile))

    assert caught.value.reason == "invalid_notification"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_given_non_json_number_literals_when_parsed_then_rejected(literal: str) -> None:
    body = json.dumps(ORDER_CHANGE).replace('"Quantity": 2', f'"Quantity": {literal}')

    rejected(body)


def test_given_thousands_of_bad_list_items_when_rejected_then_error_names_only_the_first() -> None:
    document = with_value(ORDER_CHANGE, (*ORDER, "Summary", "OrderItems"), [{}] * 20_000)

    error = rejected(document)

    assert "OrderItems.0" in error.detail and "OrderItems.1." not in error.detail
    assert len(error.detail) < 1_000


def test_given_a_done_report_without_its_document_when_parsed_then_rejected() -> None:
    error = rejected(without(REPORT, (*REPORT_DETAILS, "reportDocumentId")))

    assert "reportDocumentId" in error.detail
    assert error.notification_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert error.seller_id == "A3TH9S8BH6GOGM"


@pytest.mark.parametrize("status", ["CANCELLED", "FATAL"])
def test_given_other_reports_without_a_document_when_parsed_then_accepted(status: str) -> None:
    document = with_value(
        without(REPORT, (*REPORT_DETAILS, "reportDocumentId")), (*REPORT_DETAILS, "processingStatus"), status
    )

    notification = parse_notification(json.dumps(document))

    assert isinstance(notification, ReportProcessingFinishedNotification)
    assert notification.payload.report.report_document_id is None


def test_given_a_hostile_notification_id_when_rejected_then_no_id_reported() -> None:
    document = with_value(ORDER_CHANGE, ("NotificationMetadata", "NotificationId"), "n-1\n" + "x" * 10_000)

    assert rejected(document).notification_id is None


def test_given_a_hostile_notification_type_when_rejected_then_not_echoed() -> None:
    from sellerstream.errors import UnknownNotificationTypeError

    with pytest.raises(UnknownNotificationTypeError) as caught:
        parse_notification(json.dumps({**ORDER_CHANGE, "NotificationType": "X\u202e" + "Y" * 5_000}))

    assert "Y" * 100 not in caught.value.detail and caught.value.notification_type is None
