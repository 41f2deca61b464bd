"""FEED_PROCESSING_FINISHED's model against Amazon's two examples and its schema.

Strict on what the schema requires and on the ids' shapes; lenient on what it does not require
(``sellerId``, ``resultFeedDocumentId``), on fields Amazon adds and on statuses it adds (the schema
contract checks the same for every consumed type).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from sellerstream.notifications.feed_processing_finished import FeedProcessingFinishedNotification
from tests.support.spapi_models import load_json

SELLER_EXAMPLE = "examples/notifications/FEED_PROCESSING_FINISHED.schema-example-1.json"
VENDOR_EXAMPLE = "examples/notifications/FEED_PROCESSING_FINISHED.schema-example-2.json"
SCHEMA = "schemas/notifications/FeedProcessingFinishedNotification.json"
PAYLOAD = ("payload", "feedProcessingFinishedNotification")


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_json(SCHEMA)
    return schema


def amazon(path: str = SELLER_EXAMPLE) -> dict[str, Any]:
    return copy.deepcopy(load_json(path))


def parsed(document: dict[str, Any]) -> FeedProcessingFinishedNotification:
    return FeedProcessingFinishedNotification.model_validate_json(json.dumps(document))


def accepts(document: dict[str, Any]) -> bool:
    try:
        parsed(document)
    except ValidationError:
        return False
    return True


def details(document: dict[str, Any]) -> dict[str, Any]:
    node: Any = document
    for step in PAYLOAD:
        node = node[step]
    assert isinstance(node, dict)
    return node


def field_paths(document: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from field_paths(value, (*prefix, key))


def without(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node: Any = copied
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return copied


# -- Amazon's examples -----------------------------------------------------------------------------


def test_given_amazons_seller_example_when_parsed_then_every_field_read() -> None:
    document = amazon()
    jsonschema.Draft7Validator(_schema()).validate(document)

    notification = parsed(document)

    feed = notification.payload.feed
    assert (
        notification.notification_type,
        notification.notification_version,
        notification.payload_version,
    ) == (
        "FEED_PROCESSING_FINISHED",
        "2020-09-04",
        "2020-09-04",
    )
    assert (feed.seller_id, feed.account_id, feed.feed_id, feed.feed_type, feed.processing_status) == (
        "A3TH9S8BH6GOGM",
        "amzn1.merchant.o.A3TH9S8BH6GOGM",
        "53347018456",
        "POST_PRODUCT_DATA",
        "DONE",
    )
    assert (
        feed.result_feed_document_id == "amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.URUTI57URI9BMZ"
    )
    assert notification.seller_id == "A3TH9S8BH6GOGM"
    assert notification.event_time == datetime(2020, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)
    assert notification.notification_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert notification.subscription_id == "subscription-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746"


def test_given_amazons_vendor_example_when_parsed_then_no_seller_id_and_the_vendor_account() -> None:
    document = amazon(VENDOR_EXAMPLE)
    jsonschema.Draft7Validator(_schema()).validate(document)

    notification = parsed(document)

    assert notification.seller_id is None
    assert notification.payload.feed.account_id == "amzn1.vg.6213651"


@pytest.mark.parametrize("example", [SELLER_EXAMPLE, VENDOR_EXAMPLE])
def test_given_one_field_removed_when_parsed_then_the_model_agrees_with_amazons_schema(example: str) -> None:
    document = amazon(example)
    validator = jsonschema.Draft7Validator(_schema())
    disagreements = []

    for path in field_paths(document):
        mutated = without(document, path)
        if accepts(mutated) != validator.is_valid(mutated):
            disagreements.append("/".join(path))

    assert disagreements == []


# -- what Amazon may change without a new version --------------------------------------------------


def test_given_a_vendors_seller_id_null_as_the_schema_says_it_may_be_then_accepted() -> None:
    document = amazon(VENDOR_EXAMPLE)
    details(document)["sellerId"] = None

    assert parsed(document).seller_id is None


@pytest.mark.parametrize("status", ["CANCELLED", "FATAL", "ADDED_LATER"])
def test_given_another_or_a_new_processing_status_then_kept_as_amazon_sent_it(status: str) -> None:
    document = amazon()
    details(document)["processingStatus"] = status
    del details(document)["resultFeedDocumentId"]

    feed = parsed(document).payload.feed

    assert (feed.processing_status, feed.result_feed_document_id) == (status, None)


@pytest.mark.parametrize("where", [(), ("payload",), PAYLOAD, ("notificationMetadata",)])
def test_given_a_field_amazon_adds_later_then_the_same_notification(where: tuple[str, ...]) -> None:
    document = amazon()
    node: Any = document
    for step in where:
        node = node[step]
    node["fieldAmazonAddsLater"] = {"nested": [1, "two", None]}

    assert parsed(document) == parsed(amazon())


def test_given_a_done_feed_without_its_document_id_then_accepted_for_getfeed_to_name_it() -> None:
    document = amazon()
    del details(document)["resultFeedDocumentId"]

    assert parsed(document).payload.feed.result_feed_document_id is None


def test_given_amazons_sandbox_ids_then_accepted() -> None:
    document = amazon()
    details(document)["feedId"] = "feedId1"
    details(document)["resultFeedDocumentId"] = "0356cf79-b8b0-4226-b4b9-0ee058ea5760"

    feed = parsed(document).payload.feed

    assert (feed.feed_id, feed.result_feed_document_id) == ("feedId1", "0356cf79-b8b0-4226-b4b9-0ee058ea5760")


# -- strictness --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("feedId", 53347018456),  # a number is not the string Amazon sends
        ("feedId", "533#47018456"),  # our key separator
        ("feedId", "53347/018456"),
        ("feedId", ""),
        ("feedId", "9" * 65),
        ("resultFeedDocumentId", "amzn1.tortuga.3/../x"),
        ("resultFeedDocumentId", "amzn1..tortuga"),
        ("accountId", "A3TH9S8BH6GOGM"),  # not an account id
        ("sellerId", "a3th9s8bh6gogm"),
        ("feedType", "POST PRODUCT DATA"),
        ("processingStatus", "DONE\n"),
        ("processingStatus", None),
    ],
)
def test_given_a_field_of_the_wrong_shape_then_refused(field: str, value: Any) -> None:
    document = amazon()
    details(document)[field] = value

    assert not accepts(document)


def test_given_another_notification_type_then_refused() -> None:
    document = amazon()
    document["notificationType"] = "REPORT_PROCESSING_FINISHED"

    assert not accepts(document)


def test_given_pascal_case_envelope_names_then_refused() -> None:
    document = amazon()
    document["NotificationType"] = document.pop("notificationType")

    assert not accepts(document)
