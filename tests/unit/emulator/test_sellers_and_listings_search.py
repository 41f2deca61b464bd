"""The emulator's Sellers API (a seller's marketplaces), getListingsItem for several marketplaces and
searchListingsItems, in Amazon's shapes. Called in process on a fake clock."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import FakeClock
from tests.support.spapi_models import response_validator
from tests.unit.emulator.test_rate_plans_and_search import SELLER, get, make_emulator, token

START = 1_790_000_000.0
US, CANADA, UK = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P"
SELLERS_MODEL, LISTINGS_MODEL = "sellers.json", "listingsItems_2021-08-01.json"
T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)


@pytest.fixture
def emulator() -> SpApiEmulator:
    return make_emulator(FakeClock(START))


@pytest.fixture
def access(emulator: SpApiEmulator) -> str:
    return token(emulator)


def participations(emulator: SpApiEmulator, access: str) -> list[dict[str, Any]]:
    status, _, body = get(emulator, "/sellers/v1/marketplaceParticipations", access)
    assert status == 200, body
    response_validator(SELLERS_MODEL, "GetMarketplaceParticipationsResponse").validate(body)
    return list(body["payload"])


def search(emulator: SpApiEmulator, access: str, **query: str) -> tuple[int, Any]:
    status, _, body = get(emulator, f"/listings/2021-08-01/items/{SELLER}", access, **query)
    if status == 200:
        response_validator(LISTINGS_MODEL, "ItemSearchResults").validate(body)
    return status, body


def listed(
    emulator: SpApiEmulator, count: int, *, marketplace_id: str = US, prefix: str = "SKU"
) -> list[str]:
    """``count`` listings updated a minute apart from T0 on."""
    skus = [f"{prefix}-{index}" for index in range(count)]
    for index, sku in enumerate(skus):
        emulator.set_listing(SELLER, sku, marketplace_id, last_updated=T0 + timedelta(minutes=index))
    return skus


# -- Sellers API --------------------------------------------------------------------------------------


def test_given_a_registered_seller_when_its_marketplaces_are_asked_then_the_us_in_amazons_shape(
    emulator: SpApiEmulator, access: str
) -> None:
    [entry] = participations(emulator, access)

    assert entry["marketplace"]["id"] == US and entry["marketplace"]["countryCode"] == "US"
    assert entry["marketplace"]["domainName"] == "www.amazon.com"
    assert entry["participation"] == {"isParticipating": True, "hasSuspendedListings": False}


def test_given_marketplaces_set_when_asked_then_each_with_its_participation(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.set_marketplaces(SELLER, [US, CANADA, UK], not_participating=[UK])

    answer = participations(emulator, access)

    assert [(e["marketplace"]["id"], e["participation"]["isParticipating"]) for e in answer] == [
        (US, True),
        (CANADA, True),
        (UK, False),
    ]
    assert [e["marketplace"]["defaultCurrencyCode"] for e in answer] == ["USD", "CAD", "GBP"]
    assert emulator.marketplaces_of(SELLER) == (US, CANADA)
    assert emulator.marketplaces_of("A2OTHER") == (US,)


def test_given_a_marketplace_the_emulator_does_not_know_when_set_then_refused(
    emulator: SpApiEmulator,
) -> None:
    with pytest.raises(ValueError, match="A6W85IYQ5WB1C"):
        emulator.set_marketplaces(SELLER, [US, "A6W85IYQ5WB1C"])


def test_given_a_grantless_caller_when_marketplaces_are_asked_then_403(emulator: SpApiEmulator) -> None:
    form = b"grant_type=client_credentials&scope=sellingpartnerapi::notifications&client_id=a&client_secret=s"
    _, _, body = emulator.handle("POST", "/auth/o2/token", {}, form)
    assert isinstance(body, bytes)

    status, _, answer = get(
        emulator, "/sellers/v1/marketplaceParticipations", json.loads(body)["access_token"]
    )

    assert status == 403
    response_validator(SELLERS_MODEL, "GetMarketplaceParticipationsResponse").validate(answer)


# -- getListingsItem in several marketplaces ----------------------------------------------------------


def test_given_a_listing_in_two_marketplaces_when_both_are_asked_then_a_summary_and_an_offer_for_each(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.set_listing(SELLER, "SKU-1", US, last_updated=T0)
    emulator.set_listing(
        SELLER, "SKU-1", CANADA, status=["DISCOVERABLE"], last_updated=T0 + timedelta(hours=1)
    )

    status, _, item = get(
        emulator,
        f"/listings/2021-08-01/items/{SELLER}/SKU-1",
        access,
        marketplaceIds=f"{US},{UK},{CANADA}",
        includedData="summaries,offers,attributes",
    )

    assert status == 200
    response_validator(LISTINGS_MODEL, "Item").validate(item)
    assert [(s["marketplaceId"], s["status"]) for s in item["summaries"]] == [
        (US, ["BUYABLE", "DISCOVERABLE"]),
        (CANADA, ["DISCOVERABLE"]),
    ]
    assert [o["marketplaceId"] for o in item["offers"]] == [US, CANADA]
    assert [o["price"]["currencyCode"] for o in item["offers"]] == ["USD", "CAD"]
    assert [a["marketplace_id"] for a in item["attributes"]["item_name"]] == [US, CANADA]


def test_given_a_listing_in_none_of_the_marketplaces_asked_when_fetched_then_404(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.set_listing(SELLER, "SKU-1", UK)
    emulator.set_listing(SELLER, "SKU-1", CANADA)
    emulator.delete_listing(SELLER, "SKU-1", CANADA)

    status, _, _ = get(
        emulator, f"/listings/2021-08-01/items/{SELLER}/SKU-1", access, marketplaceIds=f"{US},{CANADA}"
    )

    assert status == 404


# -- searchListingsItems ------------------------------------------------------------------------------


def test_given_listings_when_searched_oldest_first_in_pages_then_each_once_in_order_with_the_total(
    emulator: SpApiEmulator, access: str
) -> None:
    skus = listed(emulator, 5)
    query = {"marketplaceIds": US, "sortBy": "lastUpdatedDate", "sortOrder": "ASC", "pageSize": "2"}

    found, token_, pages = [], None, 0
    while True:
        status, body = search(emulator, access, **query, **({"pageToken": token_} if token_ else {}))
        assert status == 200 and body["numberOfResults"] == 5
        found += [item["sku"] for item in body["items"]]
        pages += 1
        token_ = body.get("pagination", {}).get("nextToken")
        if token_ is None:
            break

    assert (found, pages) == (skus, 3)


def test_given_no_sort_asked_when_searched_then_newest_update_first_ten_a_page(
    emulator: SpApiEmulator, access: str
) -> None:
    skus = listed(emulator, 12)

    status, body = search(emulator, access, marketplaceIds=US)

    assert status == 200
    assert [item["sku"] for item in body["items"]] == list(reversed(skus))[:10]
    assert set(body["items"][0]) == {"sku", "summaries"}


def test_given_a_window_when_searched_then_listings_updated_in_it_inclusive_of_this_seller_and_marketplace(
    emulator: SpApiEmulator, access: str
) -> None:
    skus = listed(emulator, 5)
    listed(emulator, 2, marketplace_id=CANADA, prefix="CA")
    emulator.set_listing("A2OTHER", "THEIRS", US, last_updated=T0 + timedelta(minutes=2))
    emulator.delete_listing(SELLER, skus[2], US)

    status, body = search(
        emulator,
        access,
        marketplaceIds=US,
        lastUpdatedAfter=(T0 + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        lastUpdatedBefore=(T0 + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        sortOrder="ASC",
    )

    assert status == 200
    assert [item["sku"] for item in body["items"]] == [skus[1], skus[3]]


def test_given_listings_created_in_a_window_when_searched_by_creation_then_only_those(
    emulator: SpApiEmulator, access: str
) -> None:
    listed(emulator, 3)

    status, body = search(emulator, access, marketplaceIds=US, createdAfter="2030-01-01T00:00:00Z")
    _, every = search(emulator, access, marketplaceIds=US, createdBefore="2030-01-01T00:00:00Z", sortBy="sku")

    assert (status, body["numberOfResults"], body["items"]) == (200, 0, [])
    assert [item["sku"] for item in every["items"]] == ["SKU-2", "SKU-1", "SKU-0"]  # sku, descending


def test_given_more_listings_than_the_search_pages_through_then_the_total_counts_all_and_the_pages_stop(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.listings.search_limit = 3  # Amazon's 1000, scaled down
    listed(emulator, 5)

    first = search(emulator, access, marketplaceIds=US, pageSize="2", sortOrder="ASC")[1]
    second = search(
        emulator,
        access,
        marketplaceIds=US,
        pageSize="2",
        sortOrder="ASC",
        pageToken=first["pagination"]["nextToken"],
    )[1]

    assert (first["numberOfResults"], second["numberOfResults"]) == (5, 5)
    assert [item["sku"] for item in second["items"]] == ["SKU-2"] and "pagination" not in second


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ({}, "marketplaceIds"),
        ({"marketplaceIds": f"{US},{CANADA}"}, "marketplaceIds"),
        ({"marketplaceIds": US, "pageSize": "21"}, "pageSize"),
        ({"marketplaceIds": US, "pageSize": "ten"}, "pageSize"),
        ({"marketplaceIds": US, "sortBy": "price"}, "sortBy"),
        ({"marketplaceIds": US, "sortOrder": "UP"}, "sortOrder"),
        ({"marketplaceIds": US, "lastUpdatedAfter": "yesterday"}, "lastUpdatedAfter"),
        ({"marketplaceIds": US, "includedData": "summaries,everything"}, "includedData"),
        ({"marketplaceIds": US, "pageToken": "not-a-token"}, "pageToken"),
    ],
)
def test_given_a_request_amazon_refuses_when_searched_then_400_with_amazons_error_list(
    emulator: SpApiEmulator, access: str, query: dict[str, str], complaint: str
) -> None:
    status, body = search(emulator, access, **query)

    assert status == 400
    response_validator(LISTINGS_MODEL, "ErrorList").validate(body)
    assert complaint in body["errors"][0]["message"]


def test_given_a_page_token_when_sent_with_other_filters_then_400(
    emulator: SpApiEmulator, access: str
) -> None:
    listed(emulator, 3)
    first = search(emulator, access, marketplaceIds=US, pageSize="1")[1]
    forged = base64.urlsafe_b64decode(first["pagination"]["nextToken"].encode())
    assert json.loads(forged)["offset"] == 1

    status, body = search(
        emulator,
        access,
        marketplaceIds=US,
        pageSize="1",
        sortOrder="ASC",
        pageToken=first["pagination"]["nextToken"],
    )

    assert status == 400 and "filters" in body["errors"][0]["message"]


def test_given_another_sellers_id_when_searched_then_403(emulator: SpApiEmulator, access: str) -> None:
    status, _, _ = get(emulator, "/listings/2021-08-01/items/A2OTHER", access, marketplaceIds=US)

    assert status == 403
