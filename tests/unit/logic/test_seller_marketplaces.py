"""A seller's marketplaces: Amazon's getMarketplaceParticipations read, kept, and where listings can be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream.domain.credentials import MarketplaceParticipation, SellerMarketplaces
from sellerstream.logic.seller_marketplaces import SellerMarketplacesSource, participations_of
from sellerstream.spapi.endpoints import Region
from tests.unit.logic.conftest import SELLER

US, CANADA, MEXICO, UK, GERMANY = (
    "ATVPDKIKX0DER",
    "A2EUQ1WTGCTBG2",
    "A1AM78C64UM0Y8",
    "A1F83G8C2ARO7P",
    "A1PA6795UKMFR9",
)
NOW = datetime(2026, 9, 21, 12, tzinfo=UTC)


def plenty() -> float:
    return 300.0


def entry(marketplace_id: Any, participating: Any = True, **marketplace: Any) -> dict[str, Any]:
    return {
        "marketplace": {"id": marketplace_id, "countryCode": "US", **marketplace},
        "participation": {"isParticipating": participating, "hasSuspendedListings": False},
        "storeName": "Store",
    }


def test_given_amazons_participations_when_read_then_each_marketplace_with_its_participation() -> None:
    payload = [
        entry(US),
        entry(CANADA, False, countryCode="CA"),
        {**entry(MEXICO), "participation": {"isParticipating": True, "hasSuspendedListings": True}},
    ]

    assert participations_of(payload) == (
        MarketplaceParticipation(US, True, "US", False),
        MarketplaceParticipation(CANADA, False, "CA", False),
        MarketplaceParticipation(MEXICO, True, "US", True),
    )


@pytest.mark.parametrize(
    "unusable",
    [
        {"participation": {"isParticipating": True}},
        entry(None),
        entry(""),
        {"marketplace": "US", "participation": {}},
    ],
    ids=["no-marketplace", "null-id", "empty-id", "marketplace-not-an-object"],
)
def test_given_an_entry_without_a_marketplace_id_when_read_then_left_out(unusable: dict[str, Any]) -> None:
    assert participations_of([unusable, entry(US)]) == (MarketplaceParticipation(US, True, "US"),)


@pytest.mark.parametrize(
    ("participating", "expected"), [("true", False), (None, False), (1, False), (True, True)]
)
def test_given_a_participation_that_is_not_true_when_read_then_not_participating(
    participating: Any, expected: bool
) -> None:
    [participation] = participations_of([entry(US, participating)])

    assert participation.participating is expected


def test_given_participations_of_every_kind_then_listings_can_be_in_amazons_of_the_sellers_region_it_takes_part_in() -> (
    None
):
    known = SellerMarketplaces(
        (
            MarketplaceParticipation(CANADA, True),
            MarketplaceParticipation("A6W85IYQ5WB1C", True),  # not one of Amazon's stores
            MarketplaceParticipation(MEXICO, False),
            MarketplaceParticipation(UK, True),
            MarketplaceParticipation(US, True),
            MarketplaceParticipation(US, True),
            MarketplaceParticipation(GERMANY, True),
        ),
        NOW,
    )

    assert known.listing_marketplaces(Region.NA) == (CANADA, US)
    assert known.listing_marketplaces(Region.EU) == (UK, GERMANY)
    assert known.listing_marketplaces(Region.FE) == ()


def test_given_marketplaces_refreshed_a_day_ago_then_older_than_less_than_a_day_only() -> None:
    known = SellerMarketplaces((), NOW - timedelta(days=1))

    assert known.older_than(timedelta(hours=23), NOW)
    assert not known.older_than(timedelta(days=1), NOW)


def test_given_stored_marketplaces_when_known_asked_then_fetched_only_when_missing_or_too_old(
    emulator, directory, spapi, clock
) -> None:
    source = SellerMarketplacesSource(directory, spapi, clock=clock)

    first, fetched_first = source.known(directory.for_seller(SELLER), plenty)
    clock.now += 3600
    cached, fetched_cached = source.known(directory.for_seller(SELLER), plenty, max_age=timedelta(hours=2))
    clock.now += 3600 + 1
    refreshed, fetched_again = source.known(directory.for_seller(SELLER), plenty, max_age=timedelta(hours=2))

    assert (fetched_first, fetched_cached, fetched_again) == (True, False, True)
    assert cached == first and refreshed.refreshed_at > first.refreshed_at
    assert emulator.calls["getMarketplaceParticipations"] == 2
    assert directory.marketplace_saves == [SELLER, SELLER]
