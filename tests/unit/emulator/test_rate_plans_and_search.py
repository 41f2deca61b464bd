"""The emulator meters like Amazon (per API operation, both 429 shapes) and searches orders like Amazon.

Called in process on a fake clock: refills and the two-minute rule are exact, nothing sleeps.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import FakeClock
from tests.support.spapi_models import response_validator

START = 1_790_000_000.0
SELLER = "A1SELLER"
ORDER = "123-4567890-1234567"


def make_emulator(clock: FakeClock, **options: Any) -> SpApiEmulator:
    emulator = SpApiEmulator(clock=clock, **options)
    emulator.register_seller(SELLER, "Atzr|seller")
    emulator.register_seller("A2OTHER", "Atzr|other")
    # The seller's order the getOrder calls ask for, updated long before any search window.
    emulator.set_order(
        ORDER, seller_id=SELLER, last_updated=datetime.fromtimestamp(START, UTC) - timedelta(days=30)
    )
    return emulator


def token(emulator: SpApiEmulator, refresh_token: str = "Atzr|seller") -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "a",
            "client_secret": "s",
        }
    ).encode()
    _, _, body = emulator.handle("POST", "/auth/o2/token", {}, form)
    assert isinstance(body, bytes)
    return str(json.loads(body)["access_token"])


def get(
    emulator: SpApiEmulator, path: str, access_token: str, **query: str
) -> tuple[int, dict[str, str], Any]:
    target = path + ("?" + urllib.parse.urlencode(query) if query else "")
    status, headers, body = emulator.handle("GET", target, {"x-amz-access-token": access_token}, b"")
    assert isinstance(body, bytes)
    return status, {name.lower(): value for name, value in headers.items()}, json.loads(body)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def test_given_v0_and_2026_getorder_when_called_then_each_has_its_own_bucket(clock: FakeClock) -> None:
    emulator = make_emulator(clock)
    emulator.set_rate_plan("getOrder", rate=0.5, burst=1)
    access = token(emulator)

    statuses = [
        get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0],
        get(emulator, f"/orders/v0/orders/{ORDER}", access)[0],
        get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0],
        get(emulator, f"/orders/v0/orders/{ORDER}", access)[0],
    ]

    assert statuses == [200, 200, 429, 429]
    assert emulator.calls_by_api == {"orders/2026-01-01:getOrder": 2, "orders/v0:getOrder": 2}


@pytest.mark.parametrize(
    ("share", "with_header"),
    [(0.0, [False] * 4), (1.0, [True] * 4), (0.5, [False, True, False, True])],
)
def test_given_a_share_of_429s_with_the_rate_header_when_throttling_then_both_shapes_as_configured(
    clock: FakeClock, share: float, with_header: list[bool]
) -> None:
    emulator = make_emulator(clock, rate_header_on_throttle=share)
    emulator.set_rate_plan("getOrder", rate=0.5, burst=1)
    access = token(emulator)
    get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)

    answers = [get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access) for _ in range(4)]

    assert [status for status, _, _ in answers] == [429] * 4
    assert ["x-amzn-ratelimit-limit" in headers for _, headers, _ in answers] == with_header
    for _, headers, body in answers:
        # The gateway's shape names the error type instead; the body is Amazon's QuotaExceeded either way.
        assert ("x-amzn-errortype" in headers) != ("x-amzn-ratelimit-limit" in headers)
        assert body["errors"][0]["code"] == "QuotaExceeded"


def test_given_a_spent_bucket_when_the_clock_moves_one_interval_then_one_call_is_allowed(
    clock: FakeClock,
) -> None:
    emulator = make_emulator(clock)
    emulator.set_rate_plan("getOrder", rate=0.5, burst=1)
    access = token(emulator)
    get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)

    clock.now += 2.0

    assert get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0] == 200
    assert get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0] == 429


# -- searchOrders ----------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded(clock: FakeClock, count: int) -> tuple[SpApiEmulator, datetime]:
    emulator = make_emulator(clock)
    base = datetime.fromtimestamp(START, UTC) - timedelta(hours=1)
    for index in range(count):
        emulator.set_order(
            f"123-0000000-{index:07d}",
            seller_id=SELLER,
            last_updated=base + timedelta(minutes=index),
            status="Unshipped",  # Amazon shares buyer data from Unshipped on
        )
    emulator.set_order("999-0000000-0000000", seller_id="A2OTHER", last_updated=base)
    return emulator, base


def search(emulator: SpApiEmulator, access: str, **query: str) -> tuple[int, Any]:
    status, _, body = get(emulator, "/orders/2026-01-01/orders", access, **query)
    return status, body


def test_given_a_window_when_searching_then_only_the_callers_orders_updated_within_it(
    clock: FakeClock,
) -> None:
    emulator, base = seeded(clock, 10)

    status, body = search(
        emulator,
        token(emulator),
        lastUpdatedAfter=iso(base + timedelta(minutes=2)),
        lastUpdatedBefore=iso(base + timedelta(minutes=5)),
    )

    assert status == 200
    assert [order["orderId"] for order in body["orders"]] == [f"123-0000000-{i:07d}" for i in (2, 3, 4, 5)]
    assert "pagination" not in body and body["lastUpdatedBefore"] == iso(base + timedelta(minutes=5))


def test_given_more_orders_than_a_page_when_paging_then_each_order_once_and_included_data_may_change(
    clock: FakeClock,
) -> None:
    emulator, base = seeded(clock, 7)
    access = token(emulator)
    window = {"lastUpdatedAfter": iso(base), "lastUpdatedBefore": iso(base + timedelta(minutes=30))}

    _, first = search(emulator, access, **window, maxResultsPerPage="3", includedData="BUYER")
    _, second = search(
        emulator, access, **window, maxResultsPerPage="3", paginationToken=first["pagination"]["nextToken"]
    )
    _, third = search(
        emulator, access, **window, maxResultsPerPage="3", paginationToken=second["pagination"]["nextToken"]
    )

    ids = [order["orderId"] for page in (first, second, third) for order in page["orders"]]
    assert ids == [f"123-0000000-{i:07d}" for i in range(7)]
    assert "pagination" not in third
    assert "buyer" in first["orders"][0] and "buyer" not in second["orders"][0]


def test_given_a_token_with_other_filters_when_paging_then_rejected(clock: FakeClock) -> None:
    emulator, base = seeded(clock, 5)
    access = token(emulator)
    _, first = search(emulator, access, lastUpdatedAfter=iso(base), maxResultsPerPage="2")

    status, body = search(
        emulator,
        access,
        lastUpdatedAfter=iso(base + timedelta(minutes=1)),
        paginationToken=first["pagination"]["nextToken"],
    )

    assert status == 400 and body["errors"][0]["code"] == "InvalidInput"


@pytest.mark.parametrize(
    "query",
    [
        {},  # neither createdAfter nor lastUpdatedAfter
        {"createdAfter": "2026-09-21T10:00:00Z", "lastUpdatedAfter": "2026-09-21T10:00:00Z"},
        {"lastUpdatedAfter": "2026-09-21T10:00:00Z", "createdBefore": "2026-09-21T11:00:00Z"},
        {"lastUpdatedAfter": "2026-09-21T10:00:00Z", "lastUpdatedBefore": "2026-09-21T09:00:00Z"},
        {"lastUpdatedAfter": "2026-09-21T10:00:00Z", "maxResultsPerPage": "101"},
        {"lastUpdatedAfter": "2026-09-21T10:00:00Z", "fulfillmentStatuses": "LOST"},
    ],
)
def test_given_parameters_amazon_refuses_when_searching_then_400(
    clock: FakeClock, query: dict[str, str]
) -> None:
    emulator, _ = seeded(clock, 1)

    status, body = search(emulator, token(emulator), **query)

    assert status == 400 and body["errors"][0]["code"] == "InvalidInput"


def test_given_an_upper_bound_within_the_last_two_minutes_when_searching_then_400(clock: FakeClock) -> None:
    emulator, base = seeded(clock, 1)
    now = datetime.fromtimestamp(START, UTC)

    too_recent = search(
        emulator,
        token(emulator),
        lastUpdatedAfter=iso(base),
        lastUpdatedBefore=iso(now - timedelta(seconds=60)),
    )
    settled = search(
        emulator,
        token(emulator),
        lastUpdatedAfter=iso(base),
        lastUpdatedBefore=iso(now - timedelta(seconds=125)),
    )

    assert too_recent[0] == 400 and settled[0] == 200


def test_given_searchorders_plan_when_called_past_its_burst_then_429_and_getorder_unaffected(
    clock: FakeClock,
) -> None:
    emulator, base = seeded(clock, 1)
    access = token(emulator)

    statuses = [search(emulator, access, lastUpdatedAfter=iso(base))[0] for _ in range(21)]

    assert statuses == [200] * 20 + [429]
    assert get(emulator, f"/orders/2026-01-01/orders/{ORDER}", access)[0] == 200
    clock.now += 1 / 0.0056 + 0.01
    assert search(emulator, access, lastUpdatedAfter=iso(base))[0] == 200


def test_given_a_search_page_when_answered_then_valid_for_amazons_model(clock: FakeClock) -> None:
    emulator, base = seeded(clock, 3)

    _, body = search(
        emulator,
        token(emulator),
        lastUpdatedAfter=iso(base),
        maxResultsPerPage="2",
        includedData="BUYER,RECIPIENT,FULFILLMENT",
    )

    response_validator("orders_2026-01-01.json", "SearchOrdersResponse").validate(body)
    assert len(body["orders"]) == 2 and body["pagination"]["nextToken"]
