"""searchOrders pages over a window, on the seller's budget, stored with the conditional write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream.domain.orders import OrderRecord
from sellerstream.logic.order_search import (
    SEARCH_PAGE_SIZE,
    fetch_search_page,
    store_search_page,
)
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import RateBudget
from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import FakeClock, FakeOrderStore, FakeSellerDirectory
from tests.unit.logic.conftest import SELLER

NOW = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)


def amazon_order(order_id: str, last_updated: datetime) -> dict[str, Any]:
    """An order of a searchOrders page in Amazon's shape, with what getOrder includes."""
    return {
        "orderId": order_id,
        "createdTime": "2026-09-20T08:00:00Z",
        "lastUpdatedTime": last_updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
        "buyer": {"buyerName": "Maria Garcia", "buyerEmail": "1234567890@marketplace.amazon.com"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [{"orderItemId": "10000000000001", "quantityOrdered": 1}],
    }


@pytest.fixture
def budget(spapi: SpApiAccess, directory: FakeSellerDirectory) -> RateBudget:
    return spapi.rate_budget(directory.sellers[SELLER])


def test_given_a_page_when_stored_then_every_order_is_written_with_its_source_and_each_is_heard_of() -> None:
    store = FakeOrderStore()
    updated = NOW - timedelta(hours=1)
    page = [amazon_order("111-0000000-0000001", updated), amazon_order("111-0000000-0000002", updated)]
    heard: list[tuple[str, datetime]] = []

    stored = store_search_page(
        store,
        SELLER,
        page,
        now=NOW,
        source="reconciliation",
        learn=lambda order, at: heard.append((order, at)),
    )

    assert (stored.seen, stored.refreshed) == (2, 2)
    assert heard == [("111-0000000-0000001", updated), ("111-0000000-0000002", updated)]
    record = store.orders[(SELLER, "111-0000000-0000001")]
    assert record.attributes["source"] == "reconciliation"
    assert record.attributes["stored_at"].startswith("2026-09-21T12:00:00")
    assert record.pii is not None  # buyer data is split off as for getOrder's answers


def test_given_the_table_holds_a_newer_state_when_a_page_repeats_an_older_one_then_it_is_not_regressed() -> (
    None
):
    store = FakeOrderStore()
    newer = NOW - timedelta(minutes=5)
    store.put_if_newer(OrderRecord(SELLER, "111-0000000-0000001", newer, {"order_status": "SHIPPED"}))
    heard: list[str] = []

    stored = store_search_page(
        store,
        SELLER,
        [amazon_order("111-0000000-0000001", newer - timedelta(hours=1))],
        now=NOW,
        source="searchOrders",
        learn=lambda order, _: heard.append(order),
    )

    assert (stored.seen, stored.refreshed) == (1, 0)
    assert heard == ["111-0000000-0000001"]  # what the page showed is known, even when not written
    assert store.orders[(SELLER, "111-0000000-0000001")].last_updated == newer


@pytest.mark.parametrize("order_id", [None, "", "not-an-order-id", "111-0000000-0000001#x", 1110000000000001])
def test_given_an_order_without_a_valid_id_on_a_page_then_it_is_left_out_and_the_others_stored(
    order_id: object, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeOrderStore()
    bad = amazon_order("111-0000000-0000009", NOW)
    bad["orderId"] = order_id
    page = [bad, amazon_order("111-0000000-0000001", NOW)]

    stored = store_search_page(store, SELLER, page, now=NOW, source="searchOrders")

    assert (stored.seen, stored.refreshed) == (1, 1)
    assert list(store.orders) == [(SELLER, "111-0000000-0000001")]
    assert "searchOrders returned an order without a valid id" in caplog.text


def test_given_an_order_without_a_last_update_time_on_a_page_then_it_is_left_out_and_the_others_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FakeOrderStore()
    unusable = amazon_order("111-0000000-0000009", NOW)
    del unusable["lastUpdatedTime"]

    stored = store_search_page(
        store, SELLER, [unusable, amazon_order("111-0000000-0000001", NOW)], now=NOW, source="searchOrders"
    )

    assert (stored.seen, stored.refreshed) == (1, 1)
    assert (SELLER, "111-0000000-0000009") not in store.orders
    assert "searchOrders returned an unusable order" in caplog.text


def test_given_a_window_of_more_than_a_page_when_fetched_then_pages_of_a_hundred_follow_each_other_to_the_end(
    emulator: SpApiEmulator,
    spapi: SpApiAccess,
    directory: FakeSellerDirectory,
    clock: FakeClock,
) -> None:
    now = datetime.fromtimestamp(clock(), UTC).replace(microsecond=0)
    start = now - timedelta(hours=2)
    orders = [f"444-0000000-0000{index:03d}" for index in range(SEARCH_PAGE_SIZE + 20)]
    for index, order_id in enumerate(orders):
        emulator.set_order(order_id, seller_id=SELLER, last_updated=start + timedelta(seconds=index))
    emulator.set_order("444-0000000-0009999", seller_id=SELLER, last_updated=now - timedelta(minutes=30))
    api = OrdersApi(spapi.client_for(directory.sellers[SELLER], lambda: 30.0))
    after, before = start - timedelta(seconds=1), start + timedelta(hours=1)

    first, token = fetch_search_page(api, after=after, before=before, token=None)
    second, last = fetch_search_page(api, after=after, before=before, token=token)

    assert len(first) == SEARCH_PAGE_SIZE and token is not None
    assert [order["orderId"] for order in first + second] == orders  # the window only, each once
    assert last is None
    # What getOrder includes comes with every order: buyer and fulfilment data.
    assert all("fulfillment" in order for order in first)
