"""The emulator's Notifications API per SP-API region, as at Amazon: each regional endpoint (``/na``,
``/eu``, ``/fe``) has its own destinations and subscriptions; a subscription is per (seller, region,
notification type) with its own id; an EventBridge destination creates its region's partner event
source, each region's with a name of its own; a path without a prefix is North America's.

Called in process on a fake clock, without rate plans (what is under test is where things live).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.notifications import partner_event_source
from tests.support.fakes import FakeClock
from tests.support.spapi_models import response_validator
from tests.unit.emulator.test_regions import START, access_token, grantless_token

SELLER = "A1REGIONSELLER"
NA_TOKEN, EU_TOKEN = "Atzr|notifications-na", "Atzr|notifications-eu"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:sellerstream-orders"
DESTINATIONS = "/notifications/v1/destinations"
ORDER_CHANGE = catalog.ORDER_CHANGE.name
ORDER_CHANGE_VERSION = catalog.ORDER_CHANGE.subscription.payload_version  # type: ignore[union-attr]


def subscriptions_path(notification_type: str = ORDER_CHANGE) -> str:
    return f"/notifications/v1/subscriptions/{notification_type}"


@pytest.fixture
def emulator() -> SpApiEmulator:
    """A seller that authorised the application in North America and in Europe."""
    emulator = SpApiEmulator(clock=FakeClock(START), rate_limits=False)
    emulator.register_seller(SELLER, NA_TOKEN, region="na")
    emulator.register_seller(SELLER, EU_TOKEN, region="eu")
    return emulator


def send(
    emulator: SpApiEmulator, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    payload = json.dumps(body).encode() if body is not None else b""
    status, _, answer = emulator.handle(method, path, {"x-amz-access-token": token}, payload)
    assert isinstance(answer, bytes)
    return status, json.loads(answer) if answer else None


def sqs_destination(name: str = "sellerstream-orders") -> dict[str, Any]:
    return {"name": name, "resourceSpecification": {"sqs": {"arn": QUEUE_ARN}}}


def eventbridge_destination(name: str = "sellerstream-eventbridge") -> dict[str, Any]:
    return {
        "name": name,
        "resourceSpecification": {"eventBridge": {"region": "us-east-1", "accountId": ACCOUNT}},
    }


def create_destination(emulator: SpApiEmulator, prefix: str, spec: dict[str, Any]) -> dict[str, Any]:
    status, body = send(emulator, "POST", f"{prefix}{DESTINATIONS}", grantless_token(emulator), spec)
    assert status == 200, body
    payload: dict[str, Any] = body["payload"]
    return payload


def subscribe(
    emulator: SpApiEmulator, prefix: str, refresh_token: str, destination_id: str
) -> tuple[int, Any]:
    return send(
        emulator,
        "POST",
        f"{prefix}{subscriptions_path()}",
        access_token(emulator, refresh_token),
        {"payloadVersion": ORDER_CHANGE_VERSION, "destinationId": destination_id},
    )


def test_given_a_destination_created_on_europes_endpoint_then_only_europe_lists_and_finds_it(
    emulator: SpApiEmulator,
) -> None:
    # Given: a destination created on Europe's endpoint
    created = create_destination(emulator, "/eu", sqs_destination())
    grantless = grantless_token(emulator)

    # When: each endpoint lists its destinations and is asked for it by id
    listed = {
        prefix or "none": send(emulator, "GET", f"{prefix}{DESTINATIONS}", grantless)[1]["payload"]
        for prefix in ("/na", "/eu", "/fe", "")
    }
    found = {
        prefix: send(emulator, "GET", f"{prefix}{DESTINATIONS}/{created['destinationId']}", grantless)[0]
        for prefix in ("/na", "/eu")
    }

    # Then: Europe's lists and finds it, in Amazon's shape; the others (no prefix: NA) do not
    assert listed == {"/na": [], "/eu": [created], "/fe": [], "none": []}
    response_validator("notifications.json", "GetDestinationsResponse").validate({"payload": listed["/eu"]})
    assert found == {"/na": 404, "/eu": 200}
    assert emulator.notifications.destinations_in("EU") == {created["destinationId"]: created}
    assert emulator.destinations == {}


def test_given_a_destination_of_another_region_when_deleted_there_then_404_and_it_stays(
    emulator: SpApiEmulator,
) -> None:
    # Given: a destination on Europe's endpoint
    created = create_destination(emulator, "/eu", sqs_destination())
    grantless = grantless_token(emulator)

    # When: North America's endpoint, then Europe's, is asked to delete it
    on_na = send(emulator, "DELETE", f"/na{DESTINATIONS}/{created['destinationId']}", grantless)[0]
    on_eu = send(emulator, "DELETE", f"/eu{DESTINATIONS}/{created['destinationId']}", grantless)[0]

    # Then: only its own region's endpoint deletes it
    assert (on_na, on_eu) == (404, 200)
    assert emulator.notifications.destinations_in("eu") == {}


def test_given_the_same_queue_in_two_regions_when_destinations_created_then_one_each_no_conflict(
    emulator: SpApiEmulator,
) -> None:
    # Given / When: the same queue made a destination on North America's and on Europe's endpoint,
    # then again on Europe's
    in_na = create_destination(emulator, "/na", sqs_destination())
    in_eu = create_destination(emulator, "/eu", sqs_destination())
    again = send(emulator, "POST", f"/eu{DESTINATIONS}", grantless_token(emulator), sqs_destination())

    # Then: one destination in each region, each with its own id; a second in one region conflicts
    assert in_na["destinationId"] != in_eu["destinationId"]
    assert in_na["resource"] == in_eu["resource"]
    assert again[0] == 409 and again[1]["errors"][0]["code"] == "Conflict"


@pytest.mark.parametrize(
    ("region", "suffix"), [("na", ""), ("eu", "-eu"), ("fe", "-fe")], ids=["na", "eu", "fe"]
)
def test_given_an_eventbridge_destination_in_a_region_then_that_regions_partner_event_source_is_named(
    emulator: SpApiEmulator, region: str, suffix: str
) -> None:
    # Given / When: the account's EventBridge destination created on a region's endpoint
    created = create_destination(emulator, f"/{region}", eventbridge_destination())

    # Then: the region's partner event source (North America's named as it always was)
    expected = f"aws.partner/sellingpartnerapi.amazon.com/{ACCOUNT}/sellerstream-eventbridge{suffix}"
    assert created["resource"]["eventBridge"] == {
        "name": expected,
        "region": "us-east-1",
        "accountId": ACCOUNT,
    }
    assert partner_event_source(ACCOUNT, "sellerstream-eventbridge", region.upper()) == expected
    response_validator("notifications.json", "CreateDestinationResponse").validate({"payload": created})


def test_given_eventbridge_destinations_in_every_region_then_each_source_has_a_name_of_its_own(
    emulator: SpApiEmulator,
) -> None:
    # Given / When: the account's EventBridge destination in each region, and once without a prefix
    names = [
        create_destination(emulator, f"/{region}", eventbridge_destination())["resource"]["eventBridge"][
            "name"
        ]
        for region in ("na", "eu", "fe")
    ]
    unprefixed = send(emulator, "POST", DESTINATIONS, grantless_token(emulator), eventbridge_destination())

    # Then: three sources, three names; without a prefix is North America's (already there: 409)
    assert len(set(names)) == 3
    assert unprefixed[0] == 409


def test_given_a_seller_in_two_regions_when_subscribed_in_each_then_two_subscriptions_with_their_own_ids(
    emulator: SpApiEmulator,
) -> None:
    # Given: a destination on each region's endpoint
    na_destination = create_destination(emulator, "/na", sqs_destination())["destinationId"]
    eu_destination = create_destination(emulator, "/eu", sqs_destination())["destinationId"]

    # When: the seller subscribes to the same type in each region with that region's token
    in_na = subscribe(emulator, "/na", NA_TOKEN, na_destination)
    in_eu = subscribe(emulator, "/eu", EU_TOKEN, eu_destination)

    # Then: two subscriptions, each with its own id, each found on its own region's endpoint only
    assert (in_na[0], in_eu[0]) == (200, 200)
    na_subscription, eu_subscription = in_na[1]["payload"], in_eu[1]["payload"]
    assert na_subscription["subscriptionId"] != eu_subscription["subscriptionId"]
    assert (na_subscription["destinationId"], eu_subscription["destinationId"]) == (
        na_destination,
        eu_destination,
    )
    by_type = {
        region: send(emulator, "GET", f"/{region}{subscriptions_path()}", access_token(emulator, token))
        for region, token in (("na", NA_TOKEN), ("eu", EU_TOKEN))
    }
    assert by_type["na"] == (200, {"payload": na_subscription})
    assert by_type["eu"] == (200, {"payload": eu_subscription})
    assert emulator.notifications.subscriptions_in("na") == {(SELLER, ORDER_CHANGE): na_subscription}
    assert emulator.notifications.subscriptions_in("eu") == {(SELLER, ORDER_CHANGE): eu_subscription}
    grantless = grantless_token(emulator)
    eu_id = eu_subscription["subscriptionId"]
    assert send(emulator, "GET", f"/na{subscriptions_path()}/{eu_id}", grantless)[0] == 404
    assert send(emulator, "GET", f"/eu{subscriptions_path()}/{eu_id}", grantless) == (
        200,
        {"payload": eu_subscription},
    )


def test_given_a_subscription_in_europe_when_subscribed_again_there_then_conflict_and_none_in_the_far_east(
    emulator: SpApiEmulator,
) -> None:
    # Given: the seller subscribed in Europe
    eu_destination = create_destination(emulator, "/eu", sqs_destination())["destinationId"]
    assert subscribe(emulator, "/eu", EU_TOKEN, eu_destination)[0] == 200

    # When: it subscribes there again, and North America is asked for its subscription
    again = subscribe(emulator, "/eu", EU_TOKEN, eu_destination)
    in_na = send(emulator, "GET", f"/na{subscriptions_path()}", access_token(emulator, NA_TOKEN))

    # Then: Europe's second is a conflict; North America has none
    assert again[0] == 409 and again[1]["errors"][0]["code"] == "Conflict"
    assert in_na[0] == 404


def test_given_a_destination_of_north_america_when_europe_subscribes_to_it_then_unknown_destination(
    emulator: SpApiEmulator,
) -> None:
    # Given: a destination on North America's endpoint only
    na_destination = create_destination(emulator, "/na", sqs_destination())["destinationId"]

    # When: the seller subscribes on Europe's endpoint with it
    status, body = subscribe(emulator, "/eu", EU_TOKEN, na_destination)

    # Then: refused as Amazon refuses a destination it does not know there
    assert status == 400
    assert body["errors"][0] == {"code": "InvalidInput", "message": "Unknown destinationId.", "details": ""}
    assert emulator.notifications.subscriptions_in("eu") == {}


def test_given_subscriptions_in_two_regions_when_europes_is_deleted_then_north_americas_stays(
    emulator: SpApiEmulator,
) -> None:
    # Given: the seller subscribed in North America and in Europe
    na_destination = create_destination(emulator, "/na", sqs_destination())["destinationId"]
    eu_destination = create_destination(emulator, "/eu", sqs_destination())["destinationId"]
    na_id = subscribe(emulator, "/na", NA_TOKEN, na_destination)[1]["payload"]["subscriptionId"]
    eu_id = subscribe(emulator, "/eu", EU_TOKEN, eu_destination)[1]["payload"]["subscriptionId"]
    grantless = grantless_token(emulator)

    # When: Europe's id is deleted on North America's endpoint, then on Europe's
    on_na = send(emulator, "DELETE", f"/na{subscriptions_path()}/{eu_id}", grantless)[0]
    on_eu = send(emulator, "DELETE", f"/eu{subscriptions_path()}/{eu_id}", grantless)[0]

    # Then: only Europe's endpoint deletes it; North America's subscription stays
    assert (on_na, on_eu) == (404, 200)
    assert emulator.notifications.subscriptions_in("eu") == {}
    assert [s["subscriptionId"] for s in emulator.notifications.subscriptions_in("na").values()] == [na_id]


def test_given_no_region_prefix_then_the_calls_are_north_americas(emulator: SpApiEmulator) -> None:
    # Given / When: a destination and a subscription created without a region prefix
    destination = create_destination(emulator, "", sqs_destination())
    status, body = subscribe(emulator, "", NA_TOKEN, destination["destinationId"])

    # Then: both are North America's: listed and found on /na, and what ``destinations`` and
    # ``subscriptions`` hold (as before regions); Europe has neither
    assert status == 200
    grantless = grantless_token(emulator)
    assert send(emulator, "GET", f"/na{DESTINATIONS}", grantless)[1]["payload"] == [destination]
    in_na = send(emulator, "GET", f"/na{subscriptions_path()}", access_token(emulator, NA_TOKEN))
    assert in_na == (200, body)
    assert emulator.destinations == {destination["destinationId"]: destination}
    assert emulator.subscriptions == {(SELLER, ORDER_CHANGE): body["payload"]}
    assert emulator.notifications.destinations_in("eu") == {}
    assert emulator.notifications.subscriptions_in("eu") == {}
