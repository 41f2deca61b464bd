"""The emulator's regional endpoints: every route under ``/na``, ``/eu`` and ``/fe`` (and without a
prefix, serving every region), tokens of one region refused on another's as Amazon refuses them, each
region serving only its marketplaces' orders, listings, reports and feeds, counted and metered apart.

Called in process on a fake clock: nothing sleeps, refills happen only when a test moves the clock.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS as CLIENT_MARKETPLACE_REGIONS
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.catalog import MARKETPLACE_REGIONS, MARKETPLACES
from sellerstream_local.emulator.server import split_region
from tests.support.fakes import FakeClock

START = 1_790_000_000.0
SELLER = "A1REGIONSELLER"
US, GERMANY, JAPAN = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528"
US_ORDER, GERMAN_ORDER = "111-0000001-0000001", "302-0000002-0000002"
NA_TOKEN, EU_TOKEN = "Atzr|seller-na", "Atzr|seller-eu"
DENIED = {
    "errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]
}


def make_emulator(clock: FakeClock | None = None, **options: Any) -> SpApiEmulator:
    """A seller that authorised the application in North America and in Europe (one refresh token
    each), with an order in the US and one in Germany."""
    emulator = SpApiEmulator(clock=clock or FakeClock(START), **options)
    emulator.register_seller(SELLER, NA_TOKEN, region="na")
    emulator.register_seller(SELLER, EU_TOKEN, region="EU")
    emulator.set_order(US_ORDER, seller_id=SELLER, marketplace_id=US, status="Unshipped")
    emulator.set_order(GERMAN_ORDER, seller_id=SELLER, marketplace_id=GERMANY, status="Unshipped")
    return emulator


def access_token(emulator: SpApiEmulator, refresh_token: str) -> str:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": "a",
        "client_secret": "s",
    }
    status, _, body = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(form).encode())
    assert status == 200 and isinstance(body, bytes)
    return str(json.loads(body)["access_token"])


def grantless_token(emulator: SpApiEmulator) -> str:
    form = {
        "grant_type": "client_credentials",
        "scope": "sellingpartnerapi::notifications",
        "client_id": "a",
        "client_secret": "s",
    }
    _, _, body = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(form).encode())
    assert isinstance(body, bytes)
    return str(json.loads(body)["access_token"])


def call(
    emulator: SpApiEmulator, method: str, path: str, token: str, body: bytes = b""
) -> tuple[int, dict[str, str], Any]:
    status, headers, payload = emulator.handle(method, path, {"x-amz-access-token": token}, body)
    assert isinstance(payload, bytes)
    return status, headers, json.loads(payload) if payload else None


def get(emulator: SpApiEmulator, path: str, token: str) -> tuple[int, Any]:
    status, _, body = call(emulator, "GET", path, token)
    return status, body


def test_given_amazons_marketplace_table_when_compared_then_the_emulator_places_each_marketplace_in_its_region() -> (
    None
):
    # Given: the client's marketplace -> region table (Amazon's documentation) and the emulator's
    client = {marketplace_id: region.value for marketplace_id, region in CLIENT_MARKETPLACE_REGIONS.items()}

    # When / Then: both place every marketplace the emulator knows in the same region
    assert client == MARKETPLACE_REGIONS
    assert set(MARKETPLACE_REGIONS) == set(MARKETPLACES)


@pytest.mark.parametrize(
    ("path", "region", "api_path"),
    [
        ("/na/orders/v0/orders/1", "na", "/orders/v0/orders/1"),
        ("/eu/orders/2026-01-01/orders", "eu", "/orders/2026-01-01/orders"),
        ("/fe/sellers/v1/marketplaceParticipations", "fe", "/sellers/v1/marketplaceParticipations"),
        ("/orders/v0/orders/1", None, "/orders/v0/orders/1"),
        ("/us/orders/v0/orders/1", None, "/us/orders/v0/orders/1"),
        ("/na", None, "/na"),
    ],
    ids=["na", "eu", "fe", "no-prefix", "not-a-region", "prefix-alone"],
)
def test_given_a_path_when_split_then_its_region_prefix_and_the_api_path(
    path: str, region: str | None, api_path: str
) -> None:
    # Given / When: a request path is split
    found = split_region(path)

    # Then: a region prefix is taken off; anything else is the API path as it is
    assert found == (region, api_path)


@pytest.mark.parametrize(
    ("refresh_token", "region", "order", "status"),
    [
        (NA_TOKEN, "na", US_ORDER, 200),
        (EU_TOKEN, "eu", GERMAN_ORDER, 200),
        (NA_TOKEN, "eu", GERMAN_ORDER, 403),
        (EU_TOKEN, "na", US_ORDER, 403),
        (EU_TOKEN, "fe", GERMAN_ORDER, 403),
    ],
    ids=["na-token-on-na", "eu-token-on-eu", "na-token-on-eu", "eu-token-on-na", "eu-token-on-fe"],
)
def test_given_a_sellers_token_of_one_region_when_it_calls_a_regions_endpoint_then_only_its_own_region_answers(
    refresh_token: str, region: str, order: str, status: int
) -> None:
    # Given: the seller's access token from its refresh token of one region
    emulator = make_emulator()
    token = access_token(emulator, refresh_token)

    # When: it asks a region's endpoint for the seller's order there
    answered, headers, body = call(emulator, "GET", f"/{region}/orders/2026-01-01/orders/{order}", token)

    # Then: its own region answers; another region's refuses it as Amazon does (403, Unauthorized)
    assert answered == status
    if status == 403:
        assert body == DENIED
        assert "x-amzn-RequestId" in headers


def test_given_a_token_of_a_region_when_it_calls_a_path_without_a_region_then_every_regions_data_is_served() -> (
    None
):
    # Given: the seller's European token (older callers and tests call paths without a region)
    emulator = make_emulator()
    token = access_token(emulator, EU_TOKEN)

    # When: it asks for both orders on paths without a region
    statuses = [get(emulator, f"/orders/v0/orders/{order}", token)[0] for order in (US_ORDER, GERMAN_ORDER)]

    # Then: a path without a region serves every region
    assert statuses == [200, 200]


def test_given_an_order_of_another_regions_marketplace_when_asked_on_a_region_then_not_found_like_an_unknown_order() -> (
    None
):
    # Given: the seller's North American token
    emulator = make_emulator()
    token = access_token(emulator, NA_TOKEN)

    # When: North America's endpoint is asked for the German order, and for an order that does not exist
    german = get(emulator, f"/na/orders/2026-01-01/orders/{GERMAN_ORDER}", token)
    unknown = get(emulator, "/na/orders/2026-01-01/orders/111-9999999-9999999", token)
    german_v0 = get(emulator, f"/na/orders/v0/orders/{GERMAN_ORDER}/orderItems", token)

    # Then: both are Amazon's 404, the same answer
    assert german == unknown
    assert german[0] == 404 and german[1]["errors"][0]["code"] == "NotFound"
    assert german_v0[0] == 404


@pytest.mark.parametrize(
    ("prefix", "refresh_token", "found"),
    [
        ("/na", NA_TOKEN, [US_ORDER]),
        ("/eu", EU_TOKEN, [GERMAN_ORDER]),
        ("", NA_TOKEN, [US_ORDER, GERMAN_ORDER]),
    ],
    ids=["na", "eu", "no-prefix"],
)
def test_given_orders_in_two_regions_when_searched_on_an_endpoint_then_only_its_regions_orders(
    prefix: str, refresh_token: str, found: list[str]
) -> None:
    # Given: orders in the US and in Germany, updated long before now
    emulator = make_emulator()
    token = access_token(emulator, refresh_token)
    query = urllib.parse.urlencode({"lastUpdatedAfter": "2020-01-01T00:00:00Z"})

    # When: searchOrders and getOrders (v0) are called on the endpoint
    _, search = get(emulator, f"{prefix}/orders/2026-01-01/orders?{query}", token)
    _, v0 = get(
        emulator,
        f"{prefix}/orders/v0/orders?MarketplaceIds={US},{GERMANY}&LastUpdatedAfter=2020-01-01T00:00:00Z",
        token,
    )

    # Then: a region's endpoint lists its marketplaces' orders only; no prefix lists all
    assert sorted(order["orderId"] for order in search["orders"]) == sorted(found)
    assert sorted(order["AmazonOrderId"] for order in v0["payload"]["Orders"]) == sorted(found)


def test_given_listings_in_two_regions_when_read_on_a_region_then_only_its_marketplaces() -> None:
    # Given: one SKU listed in the US and in Germany, another only in Germany
    emulator = make_emulator()
    emulator.set_listing(SELLER, "SKU-BOTH", US)
    emulator.set_listing(SELLER, "SKU-BOTH", GERMANY)
    emulator.set_listing(SELLER, "SKU-DE", GERMANY)
    na, eu = access_token(emulator, NA_TOKEN), access_token(emulator, EU_TOKEN)
    items = f"/listings/2021-08-01/items/{SELLER}"

    # When: the listings are read and searched on each region's endpoint
    both_on_na = get(emulator, f"/na{items}/SKU-BOTH?marketplaceIds={US},{GERMANY}", na)
    german_on_na = get(emulator, f"/na{items}/SKU-DE?marketplaceIds={GERMANY}", na)
    german_on_eu = get(emulator, f"/eu{items}/SKU-DE?marketplaceIds={GERMANY}", eu)
    search_on_na = get(emulator, f"/na{items}?marketplaceIds={GERMANY}", na)
    search_on_eu = get(emulator, f"/eu{items}?marketplaceIds={GERMANY}", eu)

    # Then: a region's endpoint knows its marketplaces' listings only
    assert both_on_na[0] == 200
    assert [summary["marketplaceId"] for summary in both_on_na[1]["summaries"]] == [US]
    assert german_on_na[0] == 404
    assert german_on_eu[0] == 200
    assert (search_on_na[1]["numberOfResults"], search_on_eu[1]["numberOfResults"]) == (0, 2)


@pytest.mark.parametrize(
    ("marketplace_ids", "prefix", "refresh_token", "status", "named"),
    [
        ((GERMANY,), "/eu", EU_TOKEN, 200, [GERMANY]),
        ((GERMANY,), "/na", NA_TOKEN, 404, None),
        ((GERMANY,), "", NA_TOKEN, 200, [GERMANY]),
        (None, "/eu", EU_TOKEN, 200, ["A1F83G8C2ARO7P"]),
        (None, "/na", NA_TOKEN, 200, [US]),
        (None, "", NA_TOKEN, 200, [US]),
    ],
    ids=["german-on-eu", "german-on-na", "german-no-prefix", "any-on-eu", "any-on-na", "any-no-prefix"],
)
def test_given_a_report_and_a_feed_of_a_region_when_read_on_an_endpoint_then_served_in_their_region_only(
    marketplace_ids: tuple[str, ...] | None,
    prefix: str,
    refresh_token: str,
    status: int,
    named: list[str] | None,
) -> None:
    # Given: a report and a feed of the seller's, of German marketplaces or of none in particular
    emulator = make_emulator()
    report_document = emulator.add_report("R-1", rows=2, owner=SELLER, marketplace_ids=marketplace_ids)
    feed_document = emulator.add_feed("F-1", owner=SELLER, marketplace_ids=marketplace_ids)
    token = access_token(emulator, refresh_token)

    # When: each and its document are read on the endpoint
    report = get(emulator, f"{prefix}/reports/2021-06-30/reports/R-1", token)
    report_doc = get(emulator, f"{prefix}/reports/2021-06-30/documents/{report_document}", token)
    feed = get(emulator, f"{prefix}/feeds/2021-06-30/feeds/F-1", token)
    feed_doc = get(emulator, f"{prefix}/feeds/2021-06-30/documents/{feed_document}", token)

    # Then: served where their marketplaces are (anywhere when they name none), not found elsewhere
    assert [report[0], report_doc[0], feed[0], feed_doc[0]] == [status] * 4
    if named is not None:
        assert report[1]["marketplaceIds"] == feed[1]["marketplaceIds"] == named


def test_given_calls_on_each_region_and_without_one_when_counted_then_by_region_in_upper_case() -> None:
    # Given: the seller's tokens of both regions
    emulator = make_emulator()
    na, eu = access_token(emulator, NA_TOKEN), access_token(emulator, EU_TOKEN)

    # When: two calls go to North America, one to Europe (one of them refused), one without a region
    get(emulator, f"/na/orders/v0/orders/{US_ORDER}", na)
    get(emulator, f"/na/orders/2026-01-01/orders/{US_ORDER}", na)
    get(emulator, f"/eu/orders/v0/orders/{GERMAN_ORDER}", na)
    get(emulator, f"/orders/v0/orders/{GERMAN_ORDER}", eu)

    # Then: each region's endpoint counts its own (a path without a region counts in none); the
    # calls by operation count them all, and the requests say where each went
    assert emulator.sp_api_calls_by_region() == {"NA": 2, "EU": 1, "FE": 0}
    assert emulator.sp_api_calls()["getOrder"] == 4
    assert [request.region for request in emulator.requests] == ["na", "na", "eu", None]
    assert emulator.requests[0].path == f"/orders/v0/orders/{US_ORDER}"
    emulator.reset_stats()
    assert emulator.sp_api_calls_by_region() == {"NA": 0, "EU": 0, "FE": 0}


def test_given_a_burst_of_one_when_a_seller_calls_two_regions_then_each_region_has_its_own_bucket() -> None:
    # Given: getOrder's plan cut to a burst of one, and the seller's tokens of both regions
    clock = FakeClock(START)
    emulator = make_emulator(clock)
    emulator.set_rate_plan("orders/v0:getOrder", rate=0.5, burst=1)
    na, eu = access_token(emulator, NA_TOKEN), access_token(emulator, EU_TOKEN)

    # When: the seller's order is asked for in North America twice and in Europe once
    statuses = [
        get(emulator, f"/na/orders/v0/orders/{US_ORDER}", na)[0],
        get(emulator, f"/eu/orders/v0/orders/{GERMAN_ORDER}", eu)[0],
        get(emulator, f"/na/orders/v0/orders/{US_ORDER}", na)[0],
    ]
    clock.now += 2.0  # one token back at 0.5 a second
    again = get(emulator, f"/na/orders/v0/orders/{US_ORDER}", na)[0]

    # Then: Amazon meters per seller, region and operation: Europe's call takes nothing from North America's
    assert statuses == [200, 200, 429]
    assert again == 200


def test_given_a_grantless_token_when_it_calls_a_regions_endpoint_then_served() -> None:
    # Given: a grantless token (no seller, no region)
    emulator = make_emulator()
    token = grantless_token(emulator)

    # When: the notifications' destinations are read in Europe and the Far East
    statuses = [
        get(emulator, f"/{region}/notifications/v1/destinations", token)[0] for region in ("eu", "fe")
    ]

    # Then: a grantless call is any region's
    assert statuses == [200, 200]


def test_given_a_restricted_data_token_created_on_a_region_when_used_on_another_then_refused() -> None:
    # Given: an RDT for the German order's address, created on Europe's endpoint
    emulator = make_emulator()
    eu = access_token(emulator, EU_TOKEN)
    path = f"/orders/v0/orders/{GERMAN_ORDER}/address"
    resources = {
        "restrictedResources": [{"method": "GET", "path": path, "dataElements": ["shippingAddress"]}]
    }
    status, _, created = call(
        emulator, "POST", "/eu/tokens/2021-03-01/restrictedDataToken", eu, json.dumps(resources).encode()
    )
    assert status == 200
    rdt = str(created["restrictedDataToken"])

    # When: it is used on Europe's endpoint and on North America's
    on_eu, on_na = get(emulator, f"/eu{path}", rdt), get(emulator, f"/na{path}", rdt)

    # Then: only its own region's endpoint takes it
    assert on_eu[0] == 200
    assert on_na == (403, DENIED)


def test_given_a_seller_in_two_regions_when_revoked_in_one_then_its_other_region_still_works() -> None:
    # Given: the seller's access tokens of both regions
    emulator = make_emulator()
    na, eu = access_token(emulator, NA_TOKEN), access_token(emulator, EU_TOKEN)

    # When: it removes the application's authorisation in Europe
    emulator.revoke_seller(SELLER, region="eu")

    # Then: Europe's token and refresh token are refused; North America's still work
    assert emulator.seller_regions(SELLER) == ("na",)
    assert get(emulator, f"/eu/orders/v0/orders/{GERMAN_ORDER}", eu)[0] == 403
    assert get(emulator, f"/na/orders/v0/orders/{US_ORDER}", na)[0] == 200
    form = {"grant_type": "refresh_token", "refresh_token": EU_TOKEN, "client_id": "a", "client_secret": "s"}
    status, _, body = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(form).encode())
    assert status == 400 and isinstance(body, bytes) and json.loads(body)["error"] == "invalid_grant"


def test_given_a_region_amazon_does_not_have_when_a_seller_is_registered_then_refused() -> None:
    # Given: an emulator
    emulator = SpApiEmulator(clock=FakeClock(START))

    # When / Then: a seller registered in a region that is not one of SP-API's three is refused
    with pytest.raises(ValueError, match="not an SP-API region"):
        emulator.register_seller(SELLER, "Atzr|x", region="us")
    assert emulator.seller_regions(SELLER) == ()


def test_given_an_order_in_japan_when_asked_on_the_far_east_endpoint_then_served() -> None:
    # Given: the seller authorised in the Far East too, with an order in Japan
    emulator = make_emulator()
    emulator.register_seller(SELLER, "Atzr|seller-fe", region="fe")
    emulator.set_order("503-0000003-0000003", seller_id=SELLER, marketplace_id=JAPAN, status="Unshipped")
    token = access_token(emulator, "Atzr|seller-fe")

    # When: the Far East's endpoint is asked for it, and for the US order
    japanese = get(emulator, "/fe/orders/2026-01-01/orders/503-0000003-0000003", token)[0]
    american = get(emulator, f"/fe/orders/2026-01-01/orders/{US_ORDER}", token)[0]

    # Then: its own region's order only
    assert (japanese, american) == (200, 404)
    assert emulator.seller_regions(SELLER) == ("na", "eu", "fe")
