"""LISTINGS_ITEM_STATUS_CHANGE over fakes: the stored listing is Amazon's answer, versioned by its own time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.domain.credentials import MarketplaceParticipation, SellerMarketplaces
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.notifications import parse_notification
from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import MalformedResponse
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.notifications_factory import listings_status_change
from tests.support.fakes import FakeClock, FakeListingStore, FakeSellerDirectory, FakeTransport, response
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
def use_case(directory, spapi, store, clock) -> ListingStatusUseCase:
    return ListingStatusUseCase(directory, spapi, store, clock=clock)


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


# -- events without a marketplace ----------------------------------------------------------------------

CANADA = "A2EUQ1WTGCTBG2"
MEXICO = "A1AM78C64UM0Y8"


def marketplaces_known(
    directory: FakeSellerDirectory,
    clock: FakeClock,
    *marketplace_ids: str,
    not_participating: tuple[str, ...] = (),
    age: timedelta = timedelta(0),
) -> None:
    """The seller directory already holds Amazon's answer, from ``age`` ago."""
    directory.marketplaces[(SELLER, Region.NA)] = SellerMarketplaces(
        tuple(MarketplaceParticipation(m, m not in not_participating) for m in marketplace_ids),
        datetime.fromtimestamp(clock(), UTC) - age,
    )


def asked_marketplaces(emulator: SpApiEmulator) -> list[list[str]]:
    """The marketplaceIds of each getListingsItem request, in order."""
    return [
        request.query["marketplaceIds"][0].split(",")
        for request in emulator.requests
        if request.operation == "getListingsItem"
    ]


def test_given_a_seller_whose_marketplaces_are_unknown_when_an_event_has_no_marketplace_then_they_are_fetched_and_the_listing_stored_in_each(
    emulator, directory, use_case, store
) -> None:
    emulator.set_marketplaces(SELLER, [MARKETPLACE, CANADA])
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_0800)
    emulator.set_listing(SELLER, SKU, CANADA, status=["DISCOVERABLE"], last_updated=T_0900)

    result = use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert result == {
        "sku_key": SKU,
        "marketplace_id": None,
        "marketplaces": {MARKETPLACE: "written", CANADA: "written"},
        "outcome": "written",
    }
    assert emulator.calls["getMarketplaceParticipations"] == 1
    assert asked_marketplaces(emulator) == [[MARKETPLACE, CANADA]]  # one call for both
    known = directory.marketplaces[(SELLER, Region.NA)]
    assert [p.marketplace_id for p in known.participations] == [MARKETPLACE, CANADA]
    us, ca = store.listings[KEY], store.listings[(SELLER, CANADA, SKU)]
    assert (us["status"], us["last_updated"]) == (["BUYABLE"], T_0800)
    assert (ca["status"], ca["last_updated"]) == (["DISCOVERABLE"], T_0900)
    assert us["notification_id"] == ca["notification_id"] == "n-listing-1"
    assert [offer["marketplaceId"] for offer in ca["offers"]] == [CANADA]  # its own offer only


def test_given_known_marketplaces_when_the_listing_is_in_one_then_only_that_one_is_stored_without_asking_for_marketplaces(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, CANADA)
    emulator.set_listing(SELLER, SKU, CANADA, status=["BUYABLE"], last_updated=T_0800)

    result = use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert result["marketplaces"] == {MARKETPLACE: "not_listed", CANADA: "written"}
    assert list(store.listings) == [(SELLER, CANADA, SKU)]
    assert emulator.calls["getMarketplaceParticipations"] == 0


def test_given_marketplaces_where_the_seller_cannot_list_when_an_event_has_no_marketplace_then_they_are_not_asked_for(
    emulator, directory, clock, use_case
) -> None:
    # Not participating, another region's (the call goes to the seller's region), not Amazon's.
    directory.marketplaces[(SELLER, Region.NA)] = SellerMarketplaces(
        (
            MarketplaceParticipation(MARKETPLACE, True),
            MarketplaceParticipation(MEXICO, False),
            MarketplaceParticipation(UK, True),
            MarketplaceParticipation("A6W85IYQ5WB1C", True),
            MarketplaceParticipation(CANADA, True),
        ),
        datetime.fromtimestamp(clock(), UTC),
    )
    emulator.set_listing(SELLER, SKU, MARKETPLACE, last_updated=T_0800)

    use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert asked_marketplaces(emulator) == [[MARKETPLACE, CANADA]]


def test_given_a_deletion_without_a_marketplace_when_amazon_still_lists_it_in_one_then_stored_there_and_flagged_deleted_elsewhere(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, CANADA)
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_0800)
    emulator.set_listing(SELLER, SKU, CANADA, status=["BUYABLE"], last_updated=T_0800)
    use_case.apply(notification(["BUYABLE"], T_0800, marketplace_id=None, notification_id="n-listed"), plenty)
    emulator.delete_listing(SELLER, SKU, CANADA)

    result = use_case.apply(
        notification(["DELETED"], T_1000, marketplace_id=None, notification_id="n-deleted"), plenty
    )

    assert result["marketplaces"] == {MARKETPLACE: "stale", CANADA: "written"}
    assert result["deleted"] == [CANADA]
    assert store.listings[KEY]["deleted"] is False and store.listings[KEY]["notification_id"] == "n-listed"
    canada = store.listings[(SELLER, CANADA, SKU)]
    assert canada["deleted"] is True and canada["deleted_at"] == T_1000
    assert canada["status"] == ["DELETED"] and canada["asin"]  # what was known before is kept


def test_given_a_listing_amazon_knows_nowhere_when_an_event_has_no_marketplace_then_flagged_deleted_in_each(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, CANADA)

    result = use_case.apply(notification(["DISCOVERABLE"], T_0900, marketplace_id=None), plenty)

    assert (result["outcome"], result["deleted"]) == ("written", [MARKETPLACE, CANADA])
    assert all(store.listings[(SELLER, m, SKU)]["deleted"] for m in (MARKETPLACE, CANADA))
    assert emulator.calls["getMarketplaceParticipations"] == 0  # what is known is recent


def test_given_old_marketplaces_and_a_listing_found_nowhere_when_the_seller_joined_another_then_it_is_stored_there(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, age=timedelta(hours=2))
    emulator.set_marketplaces(SELLER, [MARKETPLACE, CANADA])
    emulator.set_listing(SELLER, SKU, CANADA, status=["BUYABLE"], last_updated=T_0800)

    result = use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert result["marketplaces"] == {MARKETPLACE: "not_listed", CANADA: "written"}
    assert list(store.listings) == [(SELLER, CANADA, SKU)]  # not flagged deleted in the US
    assert asked_marketplaces(emulator) == [[MARKETPLACE], [MARKETPLACE, CANADA]]
    assert [p.marketplace_id for p in directory.marketplaces[(SELLER, Region.NA)].participations] == [
        MARKETPLACE,
        CANADA,
    ]


def test_given_old_marketplaces_and_a_listing_found_nowhere_when_nothing_changed_then_no_second_listing_call(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, age=timedelta(hours=2))

    result = use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert result["deleted"] == [MARKETPLACE] and store.listings[KEY]["deleted"] is True
    assert emulator.calls["getMarketplaceParticipations"] == 1
    assert emulator.calls["getListingsItem"] == 1


@pytest.mark.parametrize("age", [timedelta(0), timedelta(hours=2)], ids=["recent", "old"])
def test_given_a_seller_who_lists_nowhere_when_an_event_has_no_marketplace_then_applied_with_nothing_stored(
    emulator, directory, clock, use_case, store, age: timedelta
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, not_participating=(MARKETPLACE,), age=age)
    emulator.set_marketplaces(SELLER, [MARKETPLACE], not_participating=[MARKETPLACE])

    result = use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert result == {"sku_key": SKU, "marketplace_id": None, "marketplaces": {}, "outcome": "no_marketplace"}
    assert store.listings == {} and emulator.calls["getListingsItem"] == 0
    # Old knowledge is checked again once; recent knowledge is trusted.
    assert emulator.calls["getMarketplaceParticipations"] == (1 if age else 0)


def test_given_an_event_without_a_marketplace_for_an_unknown_seller_then_unknown_seller_before_any_call(
    emulator, use_case, store
) -> None:
    with pytest.raises(UnknownSellerError):
        use_case.apply(notification(["BUYABLE"], seller_id="AUNKNOWNSELLER1", marketplace_id=None), plenty)

    assert emulator.sp_api_calls() == {} and store.listings == {}


def test_given_an_event_without_a_marketplace_through_the_runner_then_applied_never_dead_lettered(
    emulator, directory, spapi, make_runner, clock, queue
) -> None:
    emulator.set_listing(SELLER, SKU, MARKETPLACE, last_updated=T_0800)
    store = FakeListingStore()
    runner = make_runner(
        ListingStatusUseCase(directory, spapi, store, clock=clock), catalog.consumer("listings").accepts
    )
    document = listings_status_change(seller_id=SELLER, sku=SKU, status=["BUYABLE"], changed_at=T_0900)
    del document["Payload"]["MarketplaceId"]

    [outcome] = runner.run(sqs_event(json.dumps(document)), FakeLambdaContext(clock)).outcomes

    assert (outcome.outcome, outcome.result["outcome"]) == ("applied", "written")
    assert queue.dead_letters == [] and KEY in store.listings


def test_given_amazon_throttles_the_marketplaces_call_when_an_event_has_no_marketplace_then_deferred_not_dead_lettered(
    emulator, directory, spapi, make_runner, clock, queue
) -> None:
    emulator.fail_next("getMarketplaceParticipations", 429, count=20, code="QuotaExceeded")
    runner = make_runner(
        ListingStatusUseCase(directory, spapi, FakeListingStore(), clock=clock),
        catalog.consumer("listings").accepts,
    )
    document = listings_status_change(seller_id=SELLER, sku=SKU, status=["BUYABLE"], changed_at=T_0900)
    del document["Payload"]["MarketplaceId"]

    [outcome] = runner.run(sqs_event(json.dumps(document)), FakeLambdaContext(clock)).outcomes

    assert outcome.outcome == "deferred" and queue.dead_letters == []
    assert SELLER not in directory.marketplaces


@pytest.mark.parametrize(
    "answer",
    [
        listings_answer(summary(MARKETPLACE), summary(CANADA, lastUpdatedDate=None)),
        listings_answer(summary(UK)),
        listings_answer(),
    ],
    ids=["a-summary-without-its-version", "only-other-marketplaces", "no-summary"],
)
def test_given_an_unusable_answer_for_several_marketplaces_when_applied_then_malformed_and_nothing_stored(
    directory, clock, make_spapi, store, answer: dict[str, Any]
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, CANADA)
    use_case = ListingStatusUseCase(
        directory, make_spapi(FakeTransport([response(200, answer)])), store, clock=clock
    )

    with pytest.raises(MalformedResponse, match="getListingsItem"):
        use_case.apply(notification(["BUYABLE"], marketplace_id=None), plenty)

    assert store.listings == {}


def test_given_a_newer_listing_stored_in_one_marketplace_when_an_event_has_no_marketplace_then_only_the_other_is_written(
    emulator, directory, clock, use_case, store
) -> None:
    marketplaces_known(directory, clock, MARKETPLACE, CANADA)
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated=T_1000)
    use_case.apply(notification(["BUYABLE"], notification_id="n-us"), plenty)
    emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[], last_updated=T_0800)
    emulator.set_listing(SELLER, SKU, CANADA, status=[], last_updated=T_0800)

    result = use_case.apply(notification([], marketplace_id=None, notification_id="n-all"), plenty)

    assert result["marketplaces"] == {MARKETPLACE: "stale", CANADA: "written"}
    assert store.listings[KEY]["notification_id"] == "n-us"
    assert store.listings[(SELLER, CANADA, SKU)]["notification_id"] == "n-all"
