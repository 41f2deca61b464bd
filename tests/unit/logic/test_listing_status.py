"""LISTINGS_ITEM_STATUS_CHANGE over fakes: the stored listing is Amazon's answer, versioned by its own time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.errors import InvalidNotificationError, SellerCredentialsError, UnknownSellerError
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.notifications import parse_notification
from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
from sellerstream.spapi.errors import MalformedResponse
from sellerstream_local.notifications_factory import listings_status_change
from tests.support.fakes import FakeListingStore, FakeTransport, response
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.unit.logic.conftest import SELLER

MARKETPLACE = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
SKU = "NLS-SHOES-03"
KEY = (SELLER, MARKETPLACE, SKU)
T_0800 = datetime(2026, 9, 1, 8, tzinfo=UTC)
T_0900 = datetime(2026, 9, 1, 9, tzinfo=UTC)
T_1000 = datetime(2026, 9, 1, 10, tzinfo=UTC)


def plenty() -> float:
    return 300.0


def notification(
    status: list[str],
    changed_at: datetime = T_0900,
    *,
    seller_id: str = SELLER,
    sku: str = SKU,
    asin: str | None = None,
    marketplace_id: str | None = MARKETPLACE,
    notification_id: str = "n-listing-1",
) -> ListingsItemStatusChangeNotification:
    document = listings_status_change(
        seller_id=seller_id, sku=sku, status=status, changed_at=changed_at, notification_id=notification_id
    )
    if marketplace_id is None:
        del document["Payload"]["MarketplaceId"]
    else:
        document["Payload"]["MarketplaceId"] = marketplace_id
    if asin is not None:
        document["Payload"]["Asin"] = asin
    parsed = parse_notification(json.dumps(document))
    assert isinstance(parsed, ListingsItemStatusChangeNotification)
    return parsed


def listings_answer(*summaries: dict[str, Any], **item: Any) -> dict[str, Any]:
    """A getListingsItem answer with these summaries (Amazon's shape)."""
    return {"sku": SKU, "summaries": list(summaries), **item}


def summary(marketplace_id: str = MARKETPLACE, **values: Any) -> dict[str, Any]:
    return {
        "marketplaceId": marketplace_id,
        "asin": "B0SUMMARY1",
        "status": ["BUYABLE"],
        "itemName": "Running shoe",
        "lastUpdatedDate": "2026-09-01T09:00:00Z",
        **values,
    }


@pytest.fixture
def store() -> FakeListingStore:
    return FakeListingStore()


@pytest.fixture
def use_case(directory, spapi, store) -> ListingStatusUseCase:
    return ListingStatusUseCase(directory, spapi, store)


def test_given_a_listing_amazon_knows_when_its_status_changes_then_its_answer_is_stored(
    emulator, directory, spapi, make_runner, clock
) -> None:
    emulator.set_listing(
        SELLER,
        "SKU-1",
        marketplace_id=MARKETPLACE,
        status=["BUYABLE"],
        last_updated=datetime(2026, 9, 1, tzinfo=UTC),
    )
    store = FakeListingStore()
    runner = make_runner(ListingStatusUseCase(directory, spapi, store), catalog.consumer("listings").accepts)
    body = json.dumps(
        listings_status_change(
            seller_id=SELLER,
            sku="SKU-1",
            status=["BUYABLE"],
            changed_at=datetime(2026, 9, 1, tzinfo=UTC),
            marketplace_id=MARKETPLACE,
        )
    )

    result = runner.run(sqs_event(body), FakeLambdaContext(clock))

    [outcome] = result.outcomes
    assert outcome.outcome == "applied" and outcome.result["outcome"] == "written"
    assert store.listings[(SELLER, MARKETPLACE, "SKU-1")]["status"] == ["BUYABLE"]


def test_given_a_notification_unlike_amazons_answer_when_applied_then_every_attribute_is_the_answers_and_the_notification_provenance(
    emulator, use_case, store
) -> None:
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_0800, asin="B0ANSWERED")

    result = use_case.apply(notification(["BUYABLE", "DISCOVERABLE"], asin="BT6RZ7JM4H"), plenty)

    assert result == {
        "sku_key": SKU,
        "marketplace_id": MARKETPLACE,
        "outcome": "written",
        "last_updated": "2026-09-01T08:00:00.000000Z",
    }
    stored = store.listings[KEY]
    assert stored["last_updated"] == T_0800 and stored["deleted"] is False
    assert stored["status"] == ["BUYABLE"] == stored["summary"]["status"]
    assert stored["asin"] == "B0ANSWERED"
    assert stored["issues"] == [] and stored["offers"]
    assert stored["quantity"] == stored["fulfillment_availability"][0]["quantity"]
    assert stored["notification_id"] == "n-listing-1"
    assert stored["notification"]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert stored["notification"]["asin"] == "BT6RZ7JM4H"


def test_given_a_late_notification_whose_callback_answers_a_newer_state_when_applied_then_the_newer_state_is_stored(
    emulator, use_case, store
) -> None:
    # Amazon already holds the 09:00 state (no status) when the 08:00 notification's callback runs.
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[], last_updated=T_0900)

    use_case.apply(notification(["BUYABLE", "DISCOVERABLE"], T_0800, notification_id="n-0800"), plenty)
    later = use_case.apply(notification([], T_0900, notification_id="n-0900"), plenty)

    stored = store.listings[KEY]
    assert stored["status"] == [] and stored["last_updated"] == T_0900
    assert stored["issues"]  # Amazon says why it is neither buyable nor discoverable
    assert stored["notification_id"] == "n-0800"  # the write that stored this version
    assert later["outcome"] == "stale"


def test_given_a_newer_listing_stored_when_amazon_answers_an_older_state_then_it_is_not_overwritten(
    emulator, use_case, store
) -> None:
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_1000)
    use_case.apply(notification(["BUYABLE"], notification_id="n-new"), plenty)
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[], last_updated=T_0800)

    result = use_case.apply(notification([], notification_id="n-old"), plenty)

    assert result["outcome"] == "stale"
    assert store.listings[KEY]["notification_id"] == "n-new"
    assert store.listings[KEY]["status"] == ["BUYABLE"]


def test_given_a_stored_listing_when_deleted_then_flagged_with_what_was_known_kept_and_no_call(
    emulator, use_case, store
) -> None:
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_0800, asin="B0KNOWN001")
    use_case.apply(notification(["BUYABLE"], T_0800), plenty)
    calls = emulator.calls["getListingsItem"]

    result = use_case.apply(notification(["DELETED"], T_1000, notification_id="n-deleted"), plenty)

    assert result == {"sku_key": SKU, "marketplace_id": MARKETPLACE, "outcome": "written", "deleted": True}
    assert emulator.calls["getListingsItem"] == calls
    stored = store.listings[KEY]
    assert stored["deleted"] is True and stored["status"] == ["DELETED"]
    assert stored["deleted_at"] == T_1000 == stored["last_updated"]
    assert stored["asin"] == "B0KNOWN001"  # what was known before is still there
    assert stored["notification_id"] == "n-deleted"


def test_given_a_deletion_older_than_the_stored_listing_when_applied_then_the_listing_stays(
    emulator, use_case, store
) -> None:
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_1000)
    use_case.apply(notification(["BUYABLE"], T_1000), plenty)

    result = use_case.apply(notification(["DELETED"], T_0800), plenty)

    assert (result["outcome"], result["deleted"]) == ("stale", True)
    assert store.listings[KEY]["deleted"] is False and store.listings[KEY]["status"] == ["BUYABLE"]


def test_given_amazon_answers_404_when_applied_then_the_listing_is_flagged_deleted(
    emulator, use_case, store
) -> None:
    emulator.delete_listing(SELLER, SKU, MARKETPLACE)

    result = use_case.apply(notification(["DISCOVERABLE"], T_0900), plenty)

    assert (result["outcome"], result["deleted"]) == ("written", True)
    stored = store.listings[KEY]
    assert stored["deleted"] is True and stored["status"] == ["DELETED"]
    assert stored["deleted_at"] == T_0900
    assert stored["notification"]["status"] == ["DISCOVERABLE"]


def test_given_no_marketplace_id_when_applied_then_invalid_with_no_call_and_nothing_stored(
    emulator, use_case, store
) -> None:
    with pytest.raises(InvalidNotificationError, match="MarketplaceId") as raised:
        use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert raised.value.notification_id == "n-listing-1"
    assert emulator.calls["getListingsItem"] == 0 and store.listings == {}


@pytest.mark.parametrize("status", [["BUYABLE"], ["DELETED"]])
def test_given_a_seller_without_credentials_when_applied_then_unknown_seller_before_anything_is_written(
    emulator, use_case, store, status: list[str]
) -> None:
    with pytest.raises(UnknownSellerError):
        use_case.apply(notification(status, seller_id="AUNKNOWNSELLER1"), plenty)

    assert store.listings == {} and emulator.calls["getListingsItem"] == 0


def test_given_a_seller_whose_secret_is_unusable_when_deleted_then_refused_before_anything_is_written(
    directory, use_case, store
) -> None:
    directory.refused.add(SELLER)

    with pytest.raises(SellerCredentialsError):
        use_case.apply(notification(["DELETED"]), plenty)

    assert store.listings == {}


@pytest.mark.parametrize(
    "answer",
    [
        listings_answer(summary(lastUpdatedDate=None)),
        listings_answer(summary(lastUpdatedDate="2026-09-01 09:00")),
        listings_answer(),
        {"sku": SKU},
    ],
    ids=["no-lastUpdatedDate", "unreadable-lastUpdatedDate", "no-summary", "no-summaries"],
)
def test_given_an_answer_without_amazons_version_of_the_listing_when_applied_then_malformed_and_nothing_stored(
    directory, make_spapi, store, answer: dict[str, Any]
) -> None:
    use_case = ListingStatusUseCase(directory, make_spapi(FakeTransport([response(200, answer)])), store)

    with pytest.raises(MalformedResponse, match="lastUpdatedDate"):
        use_case.apply(notification(["BUYABLE"]), plenty)

    assert store.listings == {}


def test_given_summaries_of_several_marketplaces_when_applied_then_the_notifications_marketplace_is_stored(
    directory, make_spapi, store
) -> None:
    answer = listings_answer(
        summary(UK, status=["DISCOVERABLE"], lastUpdatedDate="2026-09-01T10:00:00Z"),
        summary(MARKETPLACE, status=["BUYABLE"], lastUpdatedDate="2026-09-01T08:00:00Z"),
    )
    use_case = ListingStatusUseCase(directory, make_spapi(FakeTransport([response(200, answer)])), store)

    use_case.apply(notification(["BUYABLE"]), plenty)

    stored = store.listings[KEY]
    assert stored["status"] == ["BUYABLE"] and stored["last_updated"] == T_0800


def test_given_no_summary_of_the_notifications_marketplace_when_applied_then_amazons_first_is_stored(
    directory, make_spapi, store
) -> None:
    answer = listings_answer("not a summary", summary(UK, status=["DISCOVERABLE"]))  # type: ignore[arg-type]
    use_case = ListingStatusUseCase(directory, make_spapi(FakeTransport([response(200, answer)])), store)

    use_case.apply(notification(["DISCOVERABLE"]), plenty)

    assert store.listings[KEY]["status"] == ["DISCOVERABLE"]


@pytest.mark.parametrize(
    ("availability", "quantity"),
    [
        ([], None),
        ([{"fulfillmentChannelCode": "AMAZON_NA"}], None),
        (
            [
                {"fulfillmentChannelCode": "DEFAULT", "quantity": 3},
                {"fulfillmentChannelCode": "X", "quantity": 4},
            ],
            7,
        ),
        ([{"fulfillmentChannelCode": "DEFAULT", "quantity": "3"}, "junk"], None),
    ],
)
def test_given_amazons_fulfillment_availability_when_stored_then_quantity_sums_the_channels_that_give_one(
    directory, make_spapi, store, availability: list[Any], quantity: int | None
) -> None:
    answer = listings_answer(summary(), fulfillmentAvailability=availability)
    use_case = ListingStatusUseCase(directory, make_spapi(FakeTransport([response(200, answer)])), store)

    use_case.apply(notification(["BUYABLE"]), plenty)

    assert store.listings[KEY].get("quantity") == quantity  # absent when Amazon gave none


def test_given_a_sku_with_key_characters_when_stored_then_the_result_names_it_encoded(
    emulator, use_case, store
) -> None:
    emulator.set_listing(SELLER, "A#B/1", MARKETPLACE, last_updated=T_0800)

    result = use_case.apply(notification(["BUYABLE"], sku="A#B/1"), plenty)

    assert result["sku_key"] != "A#B/1" and "#" not in result["sku_key"]
    assert (SELLER, MARKETPLACE, "A#B/1") in store.listings
