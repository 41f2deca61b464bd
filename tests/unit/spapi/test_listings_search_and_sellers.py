"""searchListingsItems, getListingsItem for several marketplaces and getMarketplaceParticipations:
what is asked, what they return, and broken answers."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

import pytest

from sellerstream.spapi.errors import MalformedResponse
from sellerstream.spapi.listings import ListingsApi, ListingsPage
from sellerstream.spapi.sellers import SellersApi
from tests.support.fakes import FakeTransport, response
from tests.unit.spapi.conftest import MakeClient

AFTER, BEFORE = datetime(2026, 9, 21, 8, tzinfo=UTC), datetime(2026, 9, 21, 9, 30, tzinfo=UTC)


def query_of(transport: FakeTransport, index: int = 0) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(transport.requests[index].url).query)


def test_given_a_window_when_a_page_is_searched_then_oldest_update_first_20_a_page_with_the_callbacks_data(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"numberOfResults": 1, "items": [{"sku": "A"}]})]

    page = ListingsApi(make_client()).search_listings_items_page(
        "A1SELLER", "ATVPDKIKX0DER", last_updated_after=AFTER, last_updated_before=BEFORE
    )

    assert page == ListingsPage([{"sku": "A"}], None, 1)
    assert query_of(transport) == {
        "marketplaceIds": ["ATVPDKIKX0DER"],
        "includedData": ["summaries,issues,offers,fulfillmentAvailability"],
        "lastUpdatedAfter": ["2026-09-21T08:00:00Z"],
        "lastUpdatedBefore": ["2026-09-21T09:30:00Z"],
        "sortBy": ["lastUpdatedDate"],
        "sortOrder": ["ASC"],
        "pageSize": ["20"],
    }


def test_given_a_next_token_when_the_next_page_is_searched_then_sent_with_the_same_filters(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [
        response(200, {"numberOfResults": 2, "items": [{"sku": "A"}], "pagination": {"nextToken": "t+/="}}),
        response(200, {"numberOfResults": 2, "items": [{"sku": "B"}]}),
    ]
    api = ListingsApi(make_client())

    first = api.search_listings_items_page(
        "A1SELLER", "M", last_updated_after=AFTER, last_updated_before=BEFORE
    )
    second = api.search_listings_items_page(
        "A1SELLER", "M", last_updated_after=AFTER, last_updated_before=BEFORE, page_token=first.next_token
    )

    assert (first.next_token, second.next_token) == ("t+/=", None)
    assert query_of(transport, 1)["pageToken"] == ["t+/="]
    assert {k: v for k, v in query_of(transport, 1).items() if k != "pageToken"} == query_of(transport, 0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"items": [{"sku": "A"}, "junk"], "pagination": {"nextToken": ""}},
            ListingsPage([{"sku": "A"}], None, 1),
        ),
        ({"numberOfResults": True, "items": [], "pagination": "x"}, ListingsPage([], None, 0)),
    ],
    ids=["no-count-and-an-empty-token", "a-count-that-is-no-number"],
)
def test_given_an_answer_with_odd_parts_when_searched_then_read_leniently(
    make_client: MakeClient, transport: FakeTransport, body: dict[str, object], expected: ListingsPage
) -> None:
    transport.script = [response(200, body)]

    page = ListingsApi(make_client()).search_listings_items_page(
        "A1SELLER", "M", last_updated_after=AFTER, last_updated_before=BEFORE
    )

    assert page == expected


@pytest.mark.parametrize("body", [{"numberOfResults": 0}, {"items": {"sku": "A"}}, ["items"]])
def test_given_an_answer_without_an_items_list_when_searched_then_malformed(
    make_client: MakeClient, transport: FakeTransport, body: object
) -> None:
    transport.script = [response(200, body)]

    with pytest.raises(MalformedResponse, match="searchListingsItems"):
        ListingsApi(make_client()).search_listings_items_page(
            "A1SELLER", "M", last_updated_after=AFTER, last_updated_before=BEFORE
        )


def test_given_several_marketplaces_when_a_listing_is_fetched_then_one_request_names_them_all(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, {"sku": "A"}), response(200, {"sku": "A"})]
    api = ListingsApi(make_client())

    api.get_listings_item("A1SELLER", "A", ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    api.get_listings_item("A1SELLER", "A", "ATVPDKIKX0DER")

    assert query_of(transport, 0)["marketplaceIds"] == ["ATVPDKIKX0DER,A2EUQ1WTGCTBG2"]
    assert query_of(transport, 1)["marketplaceIds"] == ["ATVPDKIKX0DER"]


def test_given_participations_when_asked_then_amazons_payload_entries(
    make_client: MakeClient, transport: FakeTransport
) -> None:
    entry = {"marketplace": {"id": "ATVPDKIKX0DER"}, "participation": {"isParticipating": True}}
    transport.script = [response(200, {"payload": [entry, "junk"]})]

    assert SellersApi(make_client()).get_marketplace_participations() == [entry]
    assert transport.requests[0].url.endswith("/sellers/v1/marketplaceParticipations")


@pytest.mark.parametrize("body", [{}, {"payload": {"marketplace": {}}}, {"errors": []}])
def test_given_participations_without_a_payload_list_when_asked_then_malformed(
    make_client: MakeClient, transport: FakeTransport, body: object
) -> None:
    transport.script = [response(200, body)]

    with pytest.raises(MalformedResponse, match="getMarketplaceParticipations"):
        SellersApi(make_client()).get_marketplace_participations()
