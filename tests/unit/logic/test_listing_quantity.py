"""LISTINGS_ITEM_MFN_QUANTITY_CHANGE over fakes: a stored listing's seller-fulfilled quantity, from the
notification alone, when the event is newer than what the listing knows of that quantity; the
listing's version (Amazon's lastUpdatedDate) never moves."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.errors import UnknownSellerError
from sellerstream.logic.listing_issues import ListingIssuesUseCase
from sellerstream.logic.listing_quantity import ListingQuantityUseCase, region_marketplaces
from sellerstream.logic.listing_status import listing_attributes
from sellerstream.notifications.listings_item_issues_change import ListingsItemIssuesChangeNotification
from sellerstream.notifications.listings_item_mfn_quantity_change import (
    ListingsItemMfnQuantityChangeNotification,
)
from sellerstream.spapi.endpoints import Region
from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.emulator.vendored import NOTIFICATION_EXAMPLES
from tests.support.fakes import FakeClock, FakeListingStore
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.unit.logic.conftest import SELLER
from tests.unit.notifications.test_envelope import eventbridge_event

US = "ATVPDKIKX0DER"
CANADA = "A2EUQ1WTGCTBG2"
UK = "A1F83G8C2ARO7P"
SKU = "NLS-SHOES-03"
KEY = (SELLER, US, SKU)
VERSION = datetime(2026, 9, 1, 8, tzinfo=UTC)  # the stored listing's lastUpdatedDate
READ = datetime(2026, 9, 1, 9, tzinfo=UTC)  # when that version was read (stored_at)
EXAMPLE = json.loads(
    (NOTIFICATION_EXAMPLES / "LISTINGS_ITEM_MFN_QUANTITY_CHANGE.schema-example-1.json").read_text(
        encoding="utf-8"
    )
)
MFN_TYPE = catalog.LISTINGS_ITEM_MFN_QUANTITY_CHANGE


def plenty() -> float:
    return 300.0


def at(minutes: int) -> datetime:
    """Minutes after the stored version was read."""
    return READ + timedelta(minutes=minutes)


def document(
    changed_at: datetime,
    quantity: int,
    *,
    channel: str = "DEFAULT",
    seller_id: str = SELLER,
    sku: str = SKU,
    notification_id: str | None = None,
) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["EventTime"] = changed_at.isoformat().replace("+00:00", "Z")
    body["NotificationMetadata"]["NotificationId"] = notification_id or f"n-{channel}-{quantity}"
    body["Payload"].update(SellerId=seller_id, Sku=sku, FulfillmentChannelCode=channel, Quantity=quantity)
    return body


def notification(
    changed_at: datetime, quantity: int, **options: Any
) -> ListingsItemMfnQuantityChangeNotification:
    return ListingsItemMfnQuantityChangeNotification.model_validate(document(changed_at, quantity, **options))


def stored_listing(
    store: FakeListingStore,
    marketplace_id: str = US,
    *,
    version: datetime = VERSION,
    read_at: datetime = READ,
    availability: list[dict[str, Any]] | None = None,
    seller_id: str = SELLER,
) -> None:
    """A listing as a getListingsItem callback stores it (its read at ``read_at``)."""
    item = {
        "sku": SKU,
        "issues": [],
        "offers": [{"marketplaceId": marketplace_id, "offerType": "B2C"}],
        "fulfillmentAvailability": availability
        if availability is not None
        else [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}],
    }
    summary = {
        "marketplaceId": marketplace_id,
        "status": ["BUYABLE"],
        "lastUpdatedDate": sortable_timestamp(version),
    }
    record = ListingRecord(
        seller_id,
        marketplace_id,
        SKU,
        version,
        {
            "notification_id": "n-read",
            "stored_at": sortable_timestamp(read_at),
            **listing_attributes(item, summary),
        },
    )
    assert store.put_if_newer(record) is WriteOutcome.WRITTEN


@pytest.fixture
def store() -> FakeListingStore:
    return FakeListingStore()


@pytest.fixture
def use_case(directory, store) -> ListingQuantityUseCase:
    return ListingQuantityUseCase(directory, store)


def test_given_a_stored_listing_when_a_newer_quantity_arrives_then_the_channel_and_the_quantity_say_it(
    use_case, store
) -> None:
    stored_listing(store)
    before = copy.deepcopy(store.listings[KEY])

    result = use_case.apply(notification(at(5), 99, notification_id="n-99"), plenty)

    assert result == {
        "sku_key": SKU,
        "fulfillment_channel_code": "DEFAULT",
        "quantity": 99,
        "event_time": sortable_timestamp(at(5)),
        "marketplaces": {US: "written"},
        "outcome": "written",
    }
    stored = store.listings[KEY]
    assert stored["fulfillment_availability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 99}]
    assert stored["quantity"] == 99
    assert stored["mfn_quantity"] == {
        "DEFAULT": {"quantity": 99, "as_of": sortable_timestamp(at(5)), "notification_id": "n-99"}
    }
    assert stored["quantity_updated_at"] == sortable_timestamp(at(5))
    quantity_fields = {"fulfillment_availability", "quantity", "mfn_quantity", "quantity_updated_at"}
    assert {n: v for n, v in stored.items() if n not in quantity_fields} == {
        n: v for n, v in before.items() if n not in quantity_fields
    }
    assert stored["last_updated"] == VERSION  # the version is still Amazon's


@pytest.mark.parametrize(
    "changed_at",
    [READ - timedelta(minutes=1), READ, VERSION - timedelta(hours=1)],
    ids=["before-the-read", "at-the-read", "before-the-version"],
)
def test_given_a_quantity_from_before_the_stored_read_when_it_arrives_then_nothing_changes(
    use_case, store, changed_at: datetime
) -> None:
    stored_listing(store)
    before = copy.deepcopy(store.listings[KEY])

    result = use_case.apply(notification(changed_at, 1), plenty)

    assert (result["outcome"], result["marketplaces"]) == ("stale", {US: "stale"})
    assert store.listings[KEY] == before


def test_given_a_quantity_stored_when_the_same_event_arrives_again_then_nothing_changes(
    use_case, store
) -> None:
    stored_listing(store)
    use_case.apply(notification(at(5), 99), plenty)
    before = copy.deepcopy(store.listings[KEY])

    again = use_case.apply(notification(at(5), 99), plenty)
    same_time = use_case.apply(notification(at(5), 42, notification_id="n-other"), plenty)

    assert again["outcome"] == same_time["outcome"] == "stale"
    assert store.listings[KEY] == before


def test_given_events_out_of_order_when_applied_then_the_newest_quantity_stays(use_case, store) -> None:
    stored_listing(store)

    newer = use_case.apply(notification(at(10), 7), plenty)
    older = use_case.apply(notification(at(5), 30), plenty)

    assert (newer["outcome"], older["outcome"]) == ("written", "stale")
    assert store.listings[KEY]["quantity"] == 7
    assert store.listings[KEY]["mfn_quantity"]["DEFAULT"]["as_of"] == sortable_timestamp(at(10))


def test_given_two_channels_when_each_changes_then_each_channel_has_its_own_time_and_the_quantity_sums_them(
    use_case, store
) -> None:
    stored_listing(
        store,
        availability=[
            {"fulfillmentChannelCode": "DEFAULT", "quantity": 5},
            {"fulfillmentChannelCode": "AMAZON_NA"},  # Amazon's channel: no seller quantity
        ],
    )

    first = use_case.apply(notification(at(10), 3, channel="DEFAULT"), plenty)
    # Older than DEFAULT's event, but the first news of this channel since the read.
    second = use_case.apply(notification(at(5), 4, channel="REGIONAL_WAREHOUSE"), plenty)

    assert (first["outcome"], second["outcome"]) == ("written", "written")
    stored = store.listings[KEY]
    assert stored["fulfillment_availability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 3},
        {"fulfillmentChannelCode": "AMAZON_NA"},
        {"fulfillmentChannelCode": "REGIONAL_WAREHOUSE", "quantity": 4},
    ]
    assert stored["quantity"] == 7
    assert set(stored["mfn_quantity"]) == {"DEFAULT", "REGIONAL_WAREHOUSE"}
    assert stored["quantity_updated_at"] == sortable_timestamp(at(10))  # the latest applied


def test_given_the_sku_stored_in_several_marketplaces_then_each_of_the_sellers_region_gets_the_quantity(
    use_case, store
) -> None:
    stored_listing(store, US)
    stored_listing(store, CANADA, read_at=at(20))  # read after the event: already knows it
    stored_listing(store, UK)  # another region's marketplace: not this seller's listings
    uk_before = copy.deepcopy(store.listings[(SELLER, UK, SKU)])

    result = use_case.apply(notification(at(10), 12), plenty)

    assert result["marketplaces"] == {US: "written", CANADA: "stale"}
    assert result["outcome"] == "written"
    assert store.listings[KEY]["quantity"] == 12 and store.listings[(SELLER, CANADA, SKU)]["quantity"] == 5
    assert store.listings[(SELLER, UK, SKU)] == uk_before


def test_given_a_seller_of_another_region_then_its_regions_marketplaces_are_the_ones_looked_at(
    directory, store
) -> None:
    directory.add("A2EUSELLER", region=Region.EU)
    stored_listing(store, UK, seller_id="A2EUSELLER")
    stored_listing(store, US, seller_id="A2EUSELLER")

    result = ListingQuantityUseCase(directory, store).apply(
        notification(at(10), 8, seller_id="A2EUSELLER"), plenty
    )

    assert result["marketplaces"] == {UK: "written"}
    assert UK in region_marketplaces(Region.EU) and US not in region_marketplaces(Region.EU)


def test_given_no_listing_of_the_sku_stored_when_its_quantity_changes_then_none_is_created(
    use_case, store
) -> None:
    result = use_case.apply(notification(at(10), 12), plenty)

    assert (result["outcome"], result["marketplaces"]) == ("not_stored", {})
    assert store.listings == {}


def test_given_a_listing_flagged_deleted_when_its_quantity_changes_then_it_is_left_alone(
    use_case, store
) -> None:
    stored_listing(store)
    store.mark_deleted(SELLER, US, SKU, as_of=at(1), attributes={"status": ["DELETED"]})
    before = copy.deepcopy(store.listings[KEY])

    result = use_case.apply(notification(at(10), 12), plenty)

    assert result["outcome"] == "not_stored"
    assert store.listings[KEY] == before


def test_given_a_quantity_newer_than_the_next_version_when_that_version_arrives_then_it_still_replaces_the_listing(
    emulator, directory, spapi, use_case, store
) -> None:
    # The quantity's time is later than the next version's lastUpdatedDate: were it the listing's
    # version, that version (read later still) would be refused.
    stored_listing(store)
    use_case.apply(notification(at(60), 99), plenty)
    next_version = VERSION + timedelta(minutes=30)
    emulator.listings.set_listing(SELLER, SKU, US, last_updated=next_version, quantity=40)
    issues = ListingIssuesUseCase(directory, spapi, store, clock=FakeClock(at(90).timestamp()))

    result = issues.apply(_issues_change(), plenty)

    assert result["outcome"] == "written"
    stored = store.listings[KEY]
    assert stored["last_updated"] == next_version and stored["quantity"] == 40
    assert "mfn_quantity" not in stored and "quantity_updated_at" not in stored
    # A quantity from before that read is older than what the listing now says.
    assert use_case.apply(notification(at(70), 1), plenty)["outcome"] == "stale"
    assert use_case.apply(notification(at(95), 2), plenty)["outcome"] == "written"
    assert store.listings[KEY]["last_updated"] == next_version


def test_given_a_seller_without_credentials_when_its_quantity_changes_then_unknown_seller_and_nothing_written(
    use_case, store
) -> None:
    stored_listing(store, seller_id="AUNKNOWNSELLER1")
    before = copy.deepcopy(store.listings)

    with pytest.raises(UnknownSellerError):
        use_case.apply(notification(at(10), 12, seller_id="AUNKNOWNSELLER1"), plenty)

    assert store.listings == before


def test_given_the_type_in_the_catalog_when_delivered_through_eventbridge_then_applied_by_the_runner(
    directory, store, make_runner, clock, queue, monkeypatch
) -> None:
    stored_listing(store)
    runner = make_runner(ListingQuantityUseCase(directory, store), frozenset({MFN_TYPE.name}))
    body = json.dumps(eventbridge_event(document(at(10), 12)))

    [outcome] = runner.run(sqs_event(body), FakeLambdaContext(clock)).outcomes

    assert (outcome.outcome, outcome.result["outcome"]) == ("applied", "written")
    assert queue.dead_letters == [] and store.listings[KEY]["quantity"] == 12


def test_given_amazons_example_when_applied_then_its_quantity_lands_on_the_sellers_listing(
    directory, store
) -> None:
    directory.add("AXXXXXXXXXXXXX")
    stored_listing(
        store,
        seller_id="AXXXXXXXXXXXXX",
        version=datetime(2021, 2, 1, tzinfo=UTC),
        read_at=datetime(2021, 2, 2, tzinfo=UTC),
    )

    result = ListingQuantityUseCase(directory, store).apply(
        ListingsItemMfnQuantityChangeNotification.model_validate(EXAMPLE), plenty
    )

    assert result["marketplaces"] == {US: "written"}
    assert store.listings[("AXXXXXXXXXXXXX", US, SKU)]["quantity"] == 99


def _issues_change() -> ListingsItemIssuesChangeNotification:
    """An issues change of the listing (Amazon's example of payload 1.0, made this seller's)."""
    body = json.loads(
        (NOTIFICATION_EXAMPLES / "LISTINGS_ITEM_ISSUES_CHANGE.schema-example-1.json").read_text(
            encoding="utf-8"
        )
    )
    body["Payload"].update(SellerId=SELLER, Sku=SKU, MarketplaceId=US)
    return ListingsItemIssuesChangeNotification.model_validate(body)
