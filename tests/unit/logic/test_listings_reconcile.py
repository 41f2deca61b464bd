"""Listings reconciliation over fakes: searchListingsItems pages (the emulator) repair what listing
notifications never brought, in each of the seller's marketplaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream.domain.credentials import MarketplaceParticipation, SellerMarketplaces
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import BacklogWindow
from sellerstream.errors import UnknownSellerError
from sellerstream.logic.listings_reconcile import (
    SEARCH_LISTINGS,
    ListingsReconcileResult,
    ListingsReconcileUseCase,
    MarketplaceListingsResult,
)
from sellerstream.logic.order_search import SEARCH_SETTLE_SECONDS
from sellerstream.logic.reconcile import (
    RECONCILED_SOURCE,
    STOPPED_ELSEWHERE,
    STOPPED_ERROR,
    STOPPED_RATE_BUDGET,
    STOPPED_TIME,
    ReconcileRequest,
    ReconcileRequestError,
    ReconcileResult,
    ReconcileUseCase,
    handle,
)
from sellerstream.spapi.endpoints import Region
from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import (
    FakeClock,
    FakeListingStore,
    FakeOrderStore,
    FakeRateBudgets,
    FakeSearchWindows,
    FakeSellerDirectory,
    FakeTransport,
    response,
)
from tests.unit.logic.conftest import APP, SELLER

US = "ATVPDKIKX0DER"
CANADA = "A2EUQ1WTGCTBG2"
OTHER_SELLER = "A2OTHERSELLER"
OVERLAP_SECONDS = 900
FIRST_WINDOW_SECONDS = 6 * 3600


def plenty() -> float:
    return 300.0


def now_of(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def key_of(marketplace_id: str, seller: str = SELLER) -> str:
    return f"RECONCILE_LISTINGS#{APP[0]}#{seller}#na#{marketplace_id}"


@pytest.fixture
def store() -> FakeListingStore:
    return FakeListingStore()


@pytest.fixture
def checkpoints(clock: FakeClock) -> FakeSearchWindows:
    return FakeSearchWindows(clock)


@pytest.fixture
def reconciler(directory, spapi, store, checkpoints, clock) -> ListingsReconcileUseCase:
    return ListingsReconcileUseCase(
        directory,
        spapi,
        store,
        checkpoints,
        overlap_seconds=OVERLAP_SECONDS,
        first_window_seconds=FIRST_WINDOW_SECONDS,
        clock=clock,
    )


def listings_updated(
    emulator: SpApiEmulator,
    clock: FakeClock,
    prefix: str,
    count: int,
    *,
    minutes_ago: int,
    marketplace_id: str = US,
    seller: str = SELLER,
    step: timedelta = timedelta(seconds=1),
) -> list[str]:
    """``count`` listings Amazon holds, updated ``step`` apart from ``minutes_ago`` on."""
    first = now_of(clock) - timedelta(minutes=minutes_ago)
    skus = [f"{prefix}-{index:04d}" for index in range(count)]
    for index, sku in enumerate(skus):
        emulator.set_listing(seller, sku, marketplace_id, last_updated=first + index * step)
    return skus


def stored_at(store: FakeListingStore, sku: str, marketplace_id: str = US, seller: str = SELLER) -> Any:
    listing = store.listings.get((seller, marketplace_id, sku))
    return listing["last_updated"] if listing else None


def marketplaces_known(
    directory: FakeSellerDirectory,
    clock: FakeClock,
    *ids: str,
    age: timedelta = timedelta(0),
    seller: str = SELLER,
) -> None:
    directory.marketplaces[(seller, Region.NA)] = SellerMarketplaces(
        tuple(MarketplaceParticipation(m, True) for m in ids), now_of(clock) - age
    )


def spend_listings_budget(budgets: FakeRateBudgets, clock: FakeClock, seconds: float = 60.0) -> None:
    """Other callers take the seller's searchListingsItems slots for the next ``seconds`` (they wait
    for them in their own processes: the clock is put back)."""
    budget = budgets.for_account(APP[0], "na")
    start = clock.now
    while clock.now + budget.next_slot_in(SELLER, SEARCH_LISTINGS) < start + seconds:
        budget.acquire(SELLER, SEARCH_LISTINGS, max_wait=seconds)
    clock.now = start
    clock.slept.clear()


# -- one seller's window ---------------------------------------------------------------------------


def test_given_missing_older_and_newer_listings_when_reconciled_then_missing_and_older_refreshed_newer_left_alone(
    emulator, clock, reconciler, store
) -> None:
    missing, older, newer = listings_updated(emulator, clock, "SKU", 3, minutes_ago=60)
    t = now_of(clock) - timedelta(minutes=60)
    store.put_if_newer(ListingRecord(SELLER, US, older, t - timedelta(hours=2), {"source": "notification"}))
    store.put_if_newer(
        ListingRecord(SELLER, US, newer, t + timedelta(minutes=30), {"source": "notification"})
    )

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), None, plenty)

    assert result.complete and result.stopped is None
    [us] = result.marketplaces
    assert (us.marketplace_id, us.pages, us.listings_seen, us.listings_refreshed, us.calls) == (
        US,
        1,
        3,
        2,
        1,
    )
    assert stored_at(store, missing) == t
    assert stored_at(store, older) == t + timedelta(seconds=1)
    assert stored_at(store, newer) == t + timedelta(minutes=30)
    refreshed = store.listings[(SELLER, US, missing)]
    assert refreshed["source"] == RECONCILED_SOURCE and refreshed["status"] and refreshed["offers"]
    assert store.listings[(SELLER, US, newer)]["source"] == "notification"


def test_given_listings_outside_the_window_or_of_others_when_reconciled_then_only_the_window_is_stored(
    emulator, clock, reconciler, store
) -> None:
    [inside] = listings_updated(emulator, clock, "IN", 1, minutes_ago=30)
    [before] = listings_updated(emulator, clock, "OLD", 1, minutes_ago=300)
    [theirs] = listings_updated(emulator, clock, "THEIRS", 1, minutes_ago=30, seller=OTHER_SELLER)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    assert result.as_dict()["listings_seen"] == 1
    assert stored_at(store, inside) is not None
    assert stored_at(store, before) is None and stored_at(store, theirs, seller=OTHER_SELLER) is None


def test_given_45_listings_when_reconciled_then_three_pages_of_20_store_each_and_the_window_is_done(
    emulator, clock, reconciler, store, checkpoints
) -> None:
    skus = listings_updated(emulator, clock, "PAGE", 45, minutes_ago=120)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=3), None, plenty)

    answer = result.as_dict()
    assert (answer["pages"], answer["calls"], answer["listings_refreshed"]) == (3, 3, 45)
    assert all(stored_at(store, sku) is not None for sku in skus)
    [(key, window)] = checkpoints.windows.items()
    assert key.startswith(key_of(US) + "#")  # by hand: the window's bounds in its key
    assert (window.done, window.pages) == (True, 3)


def test_given_a_seller_whose_marketplaces_are_unknown_when_reconciled_then_fetched_and_each_has_its_own_checkpoint(
    emulator, directory, clock, reconciler, store, checkpoints
) -> None:
    emulator.set_marketplaces(SELLER, [US, CANADA])
    [ours] = listings_updated(emulator, clock, "US", 1, minutes_ago=30)
    [theirs] = listings_updated(emulator, clock, "CA", 1, minutes_ago=30, marketplace_id=CANADA)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    assert result.marketplaces_refreshed and result.complete
    assert [m.marketplace_id for m in result.marketplaces] == [US, CANADA]
    assert stored_at(store, ours) is not None and stored_at(store, theirs, CANADA) is not None
    assert stored_at(store, ours, CANADA) is None
    assert sorted(key.split("#")[4] for key in checkpoints.windows) == sorted([US, CANADA])
    assert [p.marketplace_id for p in directory.marketplaces[(SELLER, Region.NA)].participations] == [
        US,
        CANADA,
    ]


def test_given_a_seller_who_lists_nowhere_when_reconciled_then_complete_without_a_search(
    emulator, directory, clock, reconciler
) -> None:
    directory.marketplaces[(SELLER, Region.NA)] = SellerMarketplaces(
        (MarketplaceParticipation(US, False),), now_of(clock)
    )

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    assert result.complete and result.marketplaces == []
    assert emulator.sp_api_calls() == {}


def test_given_the_budget_spent_when_reconciled_then_it_stops_at_its_checkpoint_and_the_same_window_resumes(
    emulator, directory, clock, reconciler, store, budgets
) -> None:
    marketplaces_known(directory, clock, US)
    skus = listings_updated(emulator, clock, "BUDGET", 30, minutes_ago=60)
    since, until = now_of(clock) - timedelta(hours=2), now_of(clock) - timedelta(minutes=10)
    spend_listings_budget(budgets, clock)

    first = reconciler.reconcile(SELLER, since, until, plenty)

    assert (first.complete, first.stopped, first.as_dict()["calls"]) == (False, STOPPED_RATE_BUDGET, 0)
    resume = first.as_dict()["resume_in_seconds"]
    assert resume is not None and 0 < resume <= 61

    clock.now += resume
    second = reconciler.reconcile(SELLER, since, until, plenty)

    assert second.complete and second.as_dict()["pages"] == 2
    assert all(stored_at(store, sku) is not None for sku in skus)


def test_given_amazon_throttles_with_no_time_to_retry_when_reconciled_then_it_stops_for_the_budget(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US)
    [sku] = listings_updated(emulator, clock, "THROTTLED", 1, minutes_ago=30)
    emulator.fail_next("searchListingsItems", 429, count=10, code="QuotaExceeded")

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, lambda: 10.0)

    assert (result.complete, result.stopped) == (False, STOPPED_RATE_BUDGET)
    assert stored_at(store, sku) is None


def test_given_too_little_time_left_when_reconciled_then_it_stops_before_a_call(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    [sku] = listings_updated(emulator, clock, "LATE", 1, minutes_ago=30)
    since = now_of(clock) - timedelta(hours=1)

    stopped = reconciler.reconcile(SELLER, since, None, lambda: 6.0)
    resumed = reconciler.reconcile(SELLER, since, None, plenty)

    # The first marketplace stops for time; the others wait for the same reason.
    assert [(m.marketplace_id, m.stopped) for m in stopped.marketplaces] == [(US, STOPPED_TIME)]
    assert resumed.complete and stored_at(store, sku) is not None
    assert emulator.calls["searchListingsItems"] == 2  # one per marketplace


def test_given_a_window_another_run_holds_when_reconciled_then_it_is_not_paged_twice(
    emulator, directory, clock, reconciler, checkpoints
) -> None:
    marketplaces_known(directory, clock, US)
    listings_updated(emulator, clock, "HELD", 3, minutes_ago=30)
    since = now_of(clock) - timedelta(hours=1)
    reconciler.reconcile(SELLER, since, None, lambda: 6.0)  # opens the window, stops before a page
    [(key, window)] = checkpoints.windows.items()
    assert checkpoints.claim(key, window, 60) is not None  # another container leases it

    result = reconciler.reconcile(SELLER, since, None, plenty)

    assert [(m.stopped, m.pages) for m in result.marketplaces] == [(STOPPED_ELSEWHERE, 0)]
    assert emulator.calls["searchListingsItems"] == 0


def test_given_a_finished_window_when_run_again_by_hand_then_every_marketplace_is_paged_again(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    [sku] = listings_updated(emulator, clock, "AGAIN", 1, minutes_ago=30)
    since, until = now_of(clock) - timedelta(hours=1), now_of(clock) - timedelta(minutes=5)
    first = reconciler.reconcile(SELLER, since, until, plenty)
    del store.listings[(SELLER, US, sku)]  # lost since

    again = reconciler.reconcile(SELLER, since, until, plenty)

    assert first.complete and again.complete and again.as_dict()["listings_refreshed"] == 1
    assert emulator.calls["searchListingsItems"] == 4


def test_given_a_window_finished_in_one_marketplace_only_when_run_again_then_only_the_other_is_paged(
    emulator, directory, clock, reconciler, store, checkpoints
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    [theirs] = listings_updated(emulator, clock, "CA", 1, minutes_ago=30, marketplace_id=CANADA)
    since, until = now_of(clock) - timedelta(hours=1), now_of(clock) - timedelta(minutes=5)
    bounds = f"#{since.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{until.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
    # Another run holds the Canadian window for a minute.
    checkpoints.start(key_of(CANADA) + bounds, after=since, before=until, previous=None, lease_seconds=60)
    first = reconciler.reconcile(SELLER, since, until, plenty)
    assert [(m.marketplace_id, m.complete, m.stopped) for m in first.marketplaces] == [
        (US, True, None),
        (CANADA, False, STOPPED_ELSEWHERE),
    ]

    clock.now += 61
    second = reconciler.reconcile(SELLER, since, until, plenty)

    assert second.complete and stored_at(store, theirs, CANADA) is not None
    assert [(m.marketplace_id, m.pages) for m in second.marketplaces] == [(US, 0), (CANADA, 1)]
    assert emulator.calls["searchListingsItems"] == 2


def test_given_more_listings_than_amazon_pages_through_when_reconciled_then_the_rest_follow_from_the_newest_seen(
    emulator, directory, clock, reconciler, store, checkpoints
) -> None:
    marketplaces_known(directory, clock, US)
    emulator.listings.search_limit = 30  # Amazon's 1000, scaled down
    skus = listings_updated(emulator, clock, "MANY", 75, minutes_ago=120)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=3), None, plenty)

    assert result.complete
    assert all(stored_at(store, sku) is not None for sku in skus)
    [window] = checkpoints.windows.values()
    assert window.done


def test_given_more_listings_than_amazon_pages_through_updated_at_one_moment_then_the_window_ends(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US)
    emulator.listings.search_limit = 30
    skus = listings_updated(emulator, clock, "SAME", 45, minutes_ago=60, step=timedelta(0))

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), None, plenty)

    assert result.complete  # what Amazon cannot page to is left to notifications
    assert sum(stored_at(store, sku) is not None for sku in skus) == 30


def test_given_unusable_listings_on_a_page_when_reconciled_then_they_are_skipped_and_the_rest_stored(
    directory, clock, make_spapi, store, checkpoints
) -> None:
    marketplaces_known(directory, clock, US)
    good = {
        "sku": "GOOD-1",
        "summaries": [
            {"marketplaceId": US, "status": ["BUYABLE"], "lastUpdatedDate": "2026-09-21T10:00:00Z"}
        ],
    }
    page = {
        "numberOfResults": 5,
        "items": [
            good,
            {"summaries": good["summaries"]},  # no SKU
            {"sku": "X" * 300, "summaries": good["summaries"]},  # too long to be a key
            {"sku": "NO-VERSION", "summaries": [{"marketplaceId": US, "status": []}]},
            {"sku": "ELSEWHERE", "summaries": [{**good["summaries"][0], "marketplaceId": CANADA}]},
        ],
    }
    reconciler = ListingsReconcileUseCase(
        directory, make_spapi(FakeTransport([response(200, page)])), store, checkpoints, clock=clock
    )

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    answer = result.as_dict()
    assert (answer["listings_seen"], answer["listings_refreshed"], answer["complete"]) == (1, 1, True)
    assert list(store.listings) == [(SELLER, US, "GOOD-1")]


def test_given_until_within_two_minutes_of_now_when_reconciled_then_capped_like_the_orders(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US)
    [settled] = listings_updated(emulator, clock, "SETTLED", 1, minutes_ago=10)
    [recent] = listings_updated(emulator, clock, "RECENT", 1, minutes_ago=1)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), now_of(clock), plenty)

    assert result.until == (now_of(clock) - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)
    assert stored_at(store, settled) is not None and stored_at(store, recent) is None


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (timedelta(seconds=60), None),
        (timedelta(hours=1), timedelta(hours=2)),
    ],
    ids=["within-the-settle-time", "inverted"],
)
def test_given_an_empty_or_inverted_window_when_reconciled_then_a_typed_error_and_no_call(
    emulator, clock, reconciler, since: timedelta, until: timedelta | None
) -> None:
    with pytest.raises(ReconcileRequestError, match="nothing to reconcile"):
        reconciler.reconcile(SELLER, now_of(clock) - since, now_of(clock) - until if until else None, plenty)

    assert emulator.sp_api_calls() == {}


def test_given_times_without_an_offset_or_an_unknown_seller_when_reconciled_then_refused_before_a_call(
    emulator, clock, reconciler
) -> None:
    with pytest.raises(ReconcileRequestError, match="offset"):
        reconciler.reconcile(SELLER, datetime(2026, 9, 20, 8), None, plenty)
    with pytest.raises(UnknownSellerError):
        reconciler.reconcile("A9UNKNOWNSELLER", now_of(clock) - timedelta(hours=1), None, plenty)

    assert emulator.sp_api_calls() == {}


# -- the schedule -----------------------------------------------------------------------------------


def test_given_scheduled_runs_then_each_marketplace_starts_where_its_last_ended_minus_the_overlap(
    emulator, directory, clock, reconciler, store, checkpoints
) -> None:
    emulator.set_marketplaces(SELLER, [US, CANADA])
    [early] = listings_updated(emulator, clock, "EARLY", 1, minutes_ago=300)

    first = reconciler.reconcile_scheduled(SELLER, plenty)

    assert first.complete and first.marketplaces_refreshed
    assert first.until - first.since == timedelta(seconds=FIRST_WINDOW_SECONDS)
    assert stored_at(store, early) is not None
    assert set(checkpoints.windows) == {key_of(US), key_of(CANADA)}

    clock.now += 3600
    [later] = listings_updated(emulator, clock, "LATER", 1, minutes_ago=30, marketplace_id=CANADA)
    second = reconciler.reconcile_scheduled(SELLER, plenty)

    assert second.since == first.until - timedelta(seconds=OVERLAP_SECONDS)
    assert second.complete and not second.marketplaces_refreshed
    assert second.as_dict()["listings_refreshed"] == 1 and stored_at(store, later, CANADA) is not None
    assert checkpoints.windows[key_of(CANADA)].before == second.until


def test_given_a_scheduled_run_already_up_to_now_when_run_again_then_nothing_is_asked(
    emulator, directory, clock, reconciler
) -> None:
    marketplaces_known(directory, clock, US)
    reconciler.reconcile_scheduled(SELLER, plenty)
    calls = emulator.calls["searchListingsItems"]

    again = reconciler.reconcile_scheduled(SELLER, plenty)

    assert again.complete and emulator.calls["searchListingsItems"] == calls


def test_given_marketplaces_known_for_over_a_day_when_scheduled_then_refreshed_at_most_once_a_day(
    emulator, directory, clock, reconciler
) -> None:
    marketplaces_known(directory, clock, US, age=timedelta(hours=23))
    emulator.set_marketplaces(SELLER, [US, CANADA])

    within_a_day = reconciler.reconcile_scheduled(SELLER, plenty)
    clock.now += 2 * 3600
    after_a_day = reconciler.reconcile_scheduled(SELLER, plenty)
    clock.now += 3600
    an_hour_later = reconciler.reconcile_scheduled(SELLER, plenty)

    assert [m.marketplace_id for m in within_a_day.marketplaces] == [US]
    assert after_a_day.marketplaces_refreshed and not an_hour_later.marketplaces_refreshed
    assert [m.marketplace_id for m in after_a_day.marketplaces] == [US, CANADA]
    assert emulator.calls["getMarketplaceParticipations"] == 1


def test_given_the_marketplaces_refresh_failing_when_scheduled_then_the_known_ones_are_reconciled(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US, age=timedelta(days=2))
    [sku] = listings_updated(emulator, clock, "KNOWN", 1, minutes_ago=30)
    emulator.fail_next("getMarketplaceParticipations", 400, code="InvalidInput")

    result = reconciler.reconcile_scheduled(SELLER, plenty)

    assert result.complete and not result.marketplaces_refreshed
    assert stored_at(store, sku) is not None


def test_given_no_marketplaces_and_amazon_refusing_them_when_scheduled_then_the_sellers_failure_is_its_result(
    emulator, reconciler, store
) -> None:
    emulator.fail_next("getMarketplaceParticipations", 400, code="InvalidInput")

    result = reconciler.reconcile_scheduled(SELLER, plenty)

    assert (result.complete, result.stopped, result.error) == (False, STOPPED_ERROR, "SpApiClientError")
    assert result.as_dict()["marketplaces"] == [] and store.listings == {}


def test_given_one_marketplace_failing_when_scheduled_then_the_others_still_are(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA)
    [theirs] = listings_updated(emulator, clock, "CA", 1, minutes_ago=30, marketplace_id=CANADA)
    emulator.fail_next("searchListingsItems", 400, code="InvalidInput")  # the US's call

    result = reconciler.reconcile_scheduled(SELLER, plenty)

    by_marketplace = {m.marketplace_id: m for m in result.marketplaces}
    assert (by_marketplace[US].stopped, by_marketplace[US].error) == (STOPPED_ERROR, "SpApiClientError")
    assert by_marketplace[CANADA].complete and not result.complete
    assert stored_at(store, theirs, CANADA) is not None


def test_given_a_scheduled_window_left_unfinished_when_the_next_run_comes_then_it_is_finished_first_and_the_rest_wait(
    emulator, directory, clock, reconciler, store
) -> None:
    marketplaces_known(directory, clock, US, CANADA, age=timedelta(hours=-3))  # known past every run
    reconciler.reconcile_scheduled(SELLER, plenty)  # both marketplaces reconciled up to now
    clock.now += 3600
    skus = listings_updated(emulator, clock, "UNFINISHED", 30, minutes_ago=30)
    emulator.set_rate_plan("searchListingsItems", rate=0.001, burst=1)  # Amazon allows one page now

    first = reconciler.reconcile_scheduled(SELLER, plenty)

    # The budget is the seller's, not a marketplace's: Canada waits for the next run too.
    assert [(m.marketplace_id, m.pages, m.stopped) for m in first.marketplaces] == [
        (US, 1, STOPPED_RATE_BUDGET)
    ]
    assert not first.complete

    emulator.set_rate_plan("searchListingsItems", rate=5.0, burst=5)
    clock.now += 3600
    second = reconciler.reconcile_scheduled(SELLER, plenty)

    assert second.complete and second.since == first.since  # the unfinished window first, then on
    assert [m.marketplace_id for m in second.marketplaces] == [US, CANADA]
    assert all(stored_at(store, sku) is not None for sku in skus)


class WindowTakenOverWhilePaging(FakeSearchWindows):
    """Another run claims the window (this run's lease having lapsed) while this one stores a page."""

    def advance(
        self, key: str, window: BacklogWindow, *, next_token: str | None, orders_stored: int
    ) -> BacklogWindow | None:
        stored = self.windows[key]
        self.windows[key] = stored._replace(version=stored.version + 1, lease_until=self._clock() + 60)
        return super().advance(key, window, next_token=next_token, orders_stored=orders_stored)


def test_given_the_window_taken_over_while_a_page_is_stored_when_reconciled_then_it_stops_without_moving_it(
    emulator, directory, spapi, store, clock
) -> None:
    marketplaces_known(directory, clock, US)
    listings_updated(emulator, clock, "TAKEN", 30, minutes_ago=60)
    checkpoints = WindowTakenOverWhilePaging(clock)
    reconciler = ListingsReconcileUseCase(directory, spapi, store, checkpoints, clock=clock)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), None, plenty)

    [us] = result.marketplaces
    assert (us.pages, us.stopped, us.complete) == (1, STOPPED_ELSEWHERE, False)
    [window] = checkpoints.windows.values()
    assert (window.pages, window.next_token, window.done) == (0, None, False)  # the other run's to move


def test_given_too_little_time_for_the_next_marketplace_when_scheduled_then_it_waits_for_the_next_run(
    emulator, directory, clock, reconciler
) -> None:
    marketplaces_known(directory, clock, US, CANADA)

    result = reconciler.reconcile_scheduled(SELLER, lambda: 6.0)

    assert [(m.marketplace_id, m.stopped) for m in result.marketplaces] == [(US, STOPPED_TIME)]
    assert emulator.calls["searchListingsItems"] == 0


# -- with the orders: the reconcile function ---------------------------------------------------------


@pytest.fixture
def orders_and_listings(directory, spapi, checkpoints, clock, reconciler) -> ReconcileUseCase:
    return ReconcileUseCase(
        directory,
        spapi,
        FakeOrderStore(),
        checkpoints,
        overlap_seconds=OVERLAP_SECONDS,
        first_window_seconds=FIRST_WINDOW_SECONDS,
        clock=clock,
        listings=reconciler,
    )


def test_given_every_seller_reconciled_then_each_has_its_listings_after_its_orders(
    emulator, directory, clock, orders_and_listings, store
) -> None:
    emulator.register_seller(OTHER_SELLER, f"Atzr|{OTHER_SELLER}")
    directory.add(OTHER_SELLER)
    [ours] = listings_updated(emulator, clock, "OURS", 1, minutes_ago=30)
    [theirs] = listings_updated(emulator, clock, "THEIRS", 1, minutes_ago=30, seller=OTHER_SELLER)

    answer = handle(orders_and_listings, {}, plenty)

    by_seller = {result["seller_id"]: result for result in answer["sellers"]}
    assert set(by_seller) == {SELLER, OTHER_SELLER}
    assert all(result["complete"] and result["listings"]["complete"] for result in by_seller.values())
    assert by_seller[SELLER]["listings"]["listings_refreshed"] == 1
    assert stored_at(store, ours) is not None and stored_at(store, theirs, seller=OTHER_SELLER) is not None


def test_given_a_sellers_orders_failing_when_every_seller_is_reconciled_then_its_listings_still_are(
    emulator, clock, orders_and_listings, store
) -> None:
    [sku] = listings_updated(emulator, clock, "STILL", 1, minutes_ago=30)
    emulator.fail_next("searchOrders", 400, code="InvalidInput")

    [result] = orders_and_listings.reconcile_all(plenty)

    assert (result.stopped, result.error) == (STOPPED_ERROR, "SpApiClientError")
    assert result.listings is not None and result.listings.complete
    assert stored_at(store, sku) is not None


def test_given_a_sellers_listings_failing_when_every_seller_is_reconciled_then_its_orders_are_not_lost(
    emulator, orders_and_listings
) -> None:
    emulator.fail_next("getMarketplaceParticipations", 400, code="InvalidInput")

    [result] = orders_and_listings.reconcile_all(plenty)

    assert result.complete
    assert result.listings is not None and result.listings.error == "SpApiClientError"
    assert result.as_dict()["listings"]["stopped"] == STOPPED_ERROR


def test_given_an_operators_listings_event_when_handled_then_one_sellers_listings_window(
    emulator, clock, orders_and_listings, store
) -> None:
    [sku] = listings_updated(emulator, clock, "BYHAND", 1, minutes_ago=90)

    answer = handle(orders_and_listings, {"seller_id": SELLER, "since": "2h", "listings": True}, plenty)

    [result] = answer["sellers"]
    assert (result["seller_id"], result["listings_refreshed"], result["complete"]) == (SELLER, 1, True)
    assert result["since"] == (now_of(clock) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [m["marketplace_id"] for m in result["marketplaces"]] == [US]
    assert stored_at(store, sku) is not None and emulator.calls["searchOrders"] == 0


def test_given_an_operators_orders_event_when_handled_then_its_answer_has_no_listings(
    emulator, orders_and_listings
) -> None:
    answer = handle(orders_and_listings, {"seller_id": SELLER, "since": "2h"}, plenty)

    [result] = answer["sellers"]
    assert "listings" not in result and "orders_refreshed" in result
    assert emulator.calls["searchListingsItems"] == 0


def test_given_a_function_without_listings_when_asked_for_listings_then_refused_before_a_call(
    emulator, directory, spapi, checkpoints, clock
) -> None:
    orders_only = ReconcileUseCase(directory, spapi, FakeOrderStore(), checkpoints, clock=clock)

    with pytest.raises(ReconcileRequestError, match="does not reconcile listings"):
        handle(orders_only, {"seller_id": SELLER, "since": "2h", "listings": True}, plenty)

    assert emulator.sp_api_calls() == {}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"seller_id": SELLER, "since": "6h", "listings": True},
            ReconcileRequest(SELLER, "6h", listings=True),
        ),
        ({"seller_id": SELLER, "since": "6h", "listings": False}, ReconcileRequest(SELLER, "6h")),
    ],
)
def test_given_a_listings_event_when_read_then_the_request_it_names(
    event: dict[str, Any], expected: ReconcileRequest
) -> None:
    assert ReconcileRequest.from_event(event) == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"listings": True}, "one seller's reconciliation only"),
        ({"seller_id": SELLER, "since": "6h", "listings": "yes"}, "listings must be true or false"),
    ],
)
def test_given_an_invalid_listings_event_when_read_then_refused(event: object, message: str) -> None:
    with pytest.raises(ReconcileRequestError, match=message):
        ReconcileRequest.from_event(event)


def test_given_results_when_rendered_then_times_are_rfc3339_and_counts_add_up() -> None:
    since, until = datetime(2026, 11, 27, 9, tzinfo=UTC), datetime(2026, 11, 27, 10, 0, 30, 500, tzinfo=UTC)
    listings = ListingsReconcileResult(
        SELLER,
        since,
        until,
        [
            MarketplaceListingsResult(
                US, since, until, pages=2, listings_seen=30, listings_refreshed=3, complete=True
            ),
            MarketplaceListingsResult(
                CANADA,
                since,
                until,
                pages=1,
                listings_refreshed=1,
                stopped=STOPPED_RATE_BUDGET,
                resume_in_seconds=4.0,
            ),
        ],
    )

    rendered = ReconcileResult(SELLER, since, until, complete=True, listings=listings).as_dict()

    assert (rendered["since"], rendered["until"]) == ("2026-11-27T09:00:00Z", "2026-11-27T10:00:30Z")
    inner = rendered["listings"]
    assert (inner["pages"], inner["listings_refreshed"], inner["complete"]) == (3, 4, False)
    assert (inner["stopped"], inner["resume_in_seconds"]) == (STOPPED_RATE_BUDGET, 4.0)
    assert inner["marketplaces"][1]["until"] == "2026-11-27T10:00:30Z"
