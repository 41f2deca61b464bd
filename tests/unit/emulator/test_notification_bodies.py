"""The notifications the emulator (and local mode's factory) send are Amazon's: each valid for
Amazon's schema, named and versioned like Amazon's example of it; subscriptions are accepted for
the types Amazon's schemas give an example of."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from sellerstream_local import notifications_factory as factory
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.vendored import NOTIFICATION_EXAMPLES
from tests.support.amazon_fixtures import schema
from tests.support.fakes import FakeClock
from tests.unit.emulator.test_rate_plans_and_search import SELLER, make_emulator, token

AT = datetime(2026, 11, 27, 9, 30, 15, 250000, tzinfo=UTC)
ORDER = "123-4567890-1234567"

BUILT: dict[str, Callable[[], dict[str, Any]]] = {
    "ORDER_CHANGE.schema-example-1.json": lambda: factory.order_change(
        seller_id=SELLER,
        order_id=ORDER,
        status="Shipped",
        changed_at=AT,
        items=[{"OrderItemId": "OI-1", "SellerSKU": "SKU-1", "Quantity": 2}],
    ),
    "LISTINGS_ITEM_STATUS_CHANGE.schema-example-1.json": lambda: factory.listings_status_change(
        seller_id=SELLER, sku="SKU-1", status=["BUYABLE"], changed_at=AT
    ),
    "REPORT_PROCESSING_FINISHED.schema-example-1.json": lambda: factory.report_processing_finished(
        report_id="R-1",
        status="DONE",
        finished_at=AT,
        seller_id=SELLER,
        account_id=f"amzn1.merchant.o.{SELLER}",
        document_id="amzn1.spdoc.1.4.na.1",
    ),
    "REPORT_PROCESSING_FINISHED.schema-example-2.json": lambda: factory.report_processing_finished(
        report_id="R-2", status="CANCELLED", finished_at=AT, seller_id=None, account_id="amzn1.vg.6213651"
    ),
    "APPLICATION_OAUTH_CLIENT_NEW_SECRET.sample-1.json": lambda: factory.application_oauth_client_new_secret(
        client_id="amzn1.application-oa2-client.1",
        new_client_secret="amzn1.oa2-cs.v1.2",
        sent_at=AT,
        new_secret_expires_at=AT + timedelta(days=180),
        old_secret_expires_at=AT + timedelta(days=7),
    ),
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY.sample-1.json": lambda: (
        factory.application_oauth_client_secret_expiry(
            client_id="amzn1.application-oa2-client.1", expires_at=AT + timedelta(days=3), sent_at=AT
        )
    ),
}


def amazon_example(file_name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((NOTIFICATION_EXAMPLES / file_name).read_text(encoding="utf-8"))
    return document


def envelope(document: dict[str, Any]) -> dict[str, Any]:
    """The type and versions, whatever the casing."""
    wanted = ("notificationtype", "notificationversion", "payloadversion")
    return {key.lower(): value for key, value in document.items() if key.lower() in wanted}


def metadata(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        value for key, value in document.items() if key.lower() == "notificationmetadata"
    )
    return found


def keys(node: Any) -> Any:
    """A document's structure: its keys, nested (list items by their first one)."""
    if isinstance(node, dict):
        return {key: keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [keys(node[0])] if node else []
    return None


@pytest.mark.parametrize("example", sorted(BUILT))
def test_given_a_notification_the_emulator_builds_then_named_versioned_and_enveloped_as_amazons_example(
    example: str,
) -> None:
    built, amazon = BUILT[example](), amazon_example(example)

    assert envelope(built) == envelope(amazon)
    assert list(built) == list(amazon)  # the envelope's keys, spelled and ordered as Amazon's
    assert list(metadata(built)) == list(metadata(amazon))


@pytest.mark.parametrize("example", [name for name in sorted(BUILT) if ".schema-example-" in name])
def test_given_a_notification_the_emulator_builds_then_valid_for_amazons_schema(example: str) -> None:
    built = BUILT[example]()
    notification_type = envelope(built)["notificationtype"]
    amazon_schema = schema(notification_type)
    if notification_type == "LISTINGS_ITEM_STATUS_CHANGE":
        # Amazon's schema has a typo in its type enum; real traffic and its own example omit the D.
        amazon_schema["properties"]["NotificationType"]["enum"].append(notification_type)

    jsonschema.validators.validator_for(amazon_schema)(amazon_schema).validate(built)


@pytest.mark.parametrize("example", [name for name in sorted(BUILT) if ".sample-" in name])
def test_given_an_application_notification_the_emulator_builds_then_shaped_as_amazons_sample(
    example: str,
) -> None:
    assert keys(BUILT[example]()) == keys(amazon_example(example))


def test_given_a_field_amazons_example_lacks_when_building_then_refused() -> None:
    with pytest.raises(ValueError, match="example lacks"):
        factory.order_change(
            seller_id=SELLER,
            order_id=ORDER,
            status="Shipped",
            changed_at=AT,
            items=[{"OrderItemId": "OI-1", "SellerSKU": "SKU-1", "Quantity": 1, "GiftWrap": True}],
        )


def test_given_a_built_notification_when_changed_by_its_caller_then_the_next_one_is_unaffected() -> None:
    first = factory.order_change(seller_id=SELLER, order_id=ORDER, status="Shipped", changed_at=AT)
    first["NotificationType"] = "SOMETHING_ELSE"
    first["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"].clear()

    second = factory.order_change(seller_id=SELLER, order_id=ORDER, status="Shipped", changed_at=AT)

    assert (
        second["NotificationType"] == amazon_example("ORDER_CHANGE.schema-example-1.json")["NotificationType"]
    )
    assert len(second["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"]) == 1


# -- subscriptions -------------------------------------------------------------------------------


def subscribe(emulator: SpApiEmulator, notification_type: str, payload_version: str) -> int:
    grantless = grantless_token(emulator)
    spec = {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:q"}}}
    status, _, body = emulator.handle(
        "POST", "/notifications/v1/destinations", {"x-amz-access-token": grantless}, json.dumps(spec).encode()
    )
    assert status == 200 and isinstance(body, bytes)
    destination_id = json.loads(body)["payload"]["destinationId"]
    request = {"payloadVersion": payload_version, "destinationId": destination_id}
    return emulator.handle(
        "POST",
        f"/notifications/v1/subscriptions/{notification_type}",
        {"x-amz-access-token": token(emulator)},
        json.dumps(request).encode(),
    )[0]


def grantless_token(emulator: SpApiEmulator) -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications", "client_id": "a"}
    ).encode()
    _, _, body = emulator.handle("POST", "/auth/o2/token", {}, form)
    assert isinstance(body, bytes)
    return str(json.loads(body)["access_token"])


SCHEMA_EXAMPLES = sorted(path.name for path in NOTIFICATION_EXAMPLES.glob("*.schema-example-*.json"))
SAMPLES = sorted(path.name for path in NOTIFICATION_EXAMPLES.glob("*.sample-*.json"))


@pytest.mark.parametrize("example", SCHEMA_EXAMPLES)
def test_given_a_type_amazons_schemas_give_an_example_of_when_subscribed_then_accepted_with_its_version(
    example: str,
) -> None:
    versions = envelope(amazon_example(example))

    status = subscribe(make_emulator(FakeClock()), versions["notificationtype"], versions["payloadversion"])

    assert status == 200


@pytest.mark.parametrize("example", SAMPLES)
def test_given_an_application_notification_type_when_a_seller_subscribes_then_400(example: str) -> None:
    versions = envelope(amazon_example(example))

    status = subscribe(make_emulator(FakeClock()), versions["notificationtype"], versions["payloadversion"])

    assert status == 400


def test_given_a_sellers_notification_type_when_registered_as_the_applications_then_refused() -> None:
    emulator = make_emulator(FakeClock())
    for sample in SAMPLES:
        emulator.register_app_notifications(envelope(amazon_example(sample))["notificationtype"], print)

    with pytest.raises(ValueError, match="not an application notification"):
        emulator.register_app_notifications("ORDER_CHANGE", print)
