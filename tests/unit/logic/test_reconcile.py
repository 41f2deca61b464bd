"""Reconciliation over fakes: searchOrders pages (the emulator) repair what notifications never brought."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream.domain.orders import BacklogWindow, OrderRecord
from sellerstream.errors import SellerStreamError, UnknownSellerError
from sellerstream.logic.order_search import SEARCH_ORDERS, SEARCH_SETTLE_SECONDS
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
    parse_moment,
)
from sellerstream.spapi.endpoints import Region
from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import (
    FakeClock,
    FakeOrderStore,
    FakeRateBudgets,
    FakeSearchWindows,
    FakeSellerDirectory,
)
from tests.unit.logic.conftest import APP, SELLER

OTHER_SELLER = "A2OTHERSELLER"
OVERLAP_SECONDS = 900
FIRST_WINDOW_SECONDS = 6 * 3600
SCHEDULE_KEY = f"RECONCILE#{APP[0]}#{SELLER}#na"
SEARCH_INTERVAL_SECONDS = 1 / 0.0056  # Amazon's searchOrders plan: one request every ~179 s


def plenty() -> float:
    return 300.0


def now_of(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


@pytest.fixture
def store() -> FakeOrderStore:
    return FakeOrderStore()


@pytest.fixture
def checkpoints(clock: FakeClock) -> FakeSearchWindows:
    return FakeSearchWindows(clock)


@pytest.fixture
def reconciler(directory, spapi, store, checkpoints, clock) -> ReconcileUseCase:
    return ReconcileUseCase(
        directory,
        spapi,
        store,
        checkpoints,
        overlap_seconds=OVERLAP_SECONDS,
        first_window_seconds=FIRST_WINDOW_SECONDS,
        clock=clock,
    )


def orders_updated(
    emulator: SpApiEmulator,
    clock: FakeClock,
    prefix: str,
    count: int,
    *,
    minutes_ago: int,
    seller: str = SELLER,
) -> list[str]:
    """``count`` orders Amazon holds, updated a second apart from ``minutes_ago`` on."""
    first = now_of(clock) - timedelta(minutes=minutes_ago)
    orders = [f"{prefix}-0000000-{index:07d}" for index in range(count)]
    for index, order in enumerate(orders):
        emulator.set_order(order, seller_id=seller, last_updated=first + timedelta(seconds=index))
    return orders


def stored_at(store: FakeOrderStore, order: str, seller: str = SELLER) -> datetime | None:
    record = store.orders.get((seller, order))
    return record.last_updated if record else None


def spend_search_budget(budgets: FakeRateBudgets, seller: str = SELLER) -> None:
    """Other callers take every searchOrders slot the seller has now (the burst of 20)."""
    budget = budgets.for_account(APP[0], "na")
    for _ in range(20):
        budget.acquire(seller, SEARCH_ORDERS, max_wait=0.0)


def add_seller(emulator: SpApiEmulator, directory: FakeSellerDirectory, seller: str) -> None:
    emulator.register_seller(seller, f"Atzr|{seller}")
    directory.add(seller)


# -- one seller's window ---------------------------------------------------------------------------


def test_given_missing_older_and_newer_orders_when_reconciled_then_missing_and_older_refreshed_newer_left_alone(
    emulator, clock, reconciler, store
) -> None:
    missing, older, newer = orders_updated(emulator, clock, "301", 3, minutes_ago=60)
    t = now_of(clock) - timedelta(minutes=60)
    store.put_if_newer(OrderRecord(SELLER, older, t - timedelta(hours=2), {"source": "notification"}))
    store.put_if_newer(OrderRecord(SELLER, newer, t + timedelta(minutes=30), {"source": "notification"}))

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), None, plenty)

    assert (result.pages, result.orders_seen, result.orders_refreshed, result.calls) == (1, 3, 2, 1)
    assert result.complete and result.stopped is None
    assert stored_at(store, missing) == t
    assert stored_at(store, older) == t + timedelta(seconds=1)
    assert stored_at(store, newer) == t + timedelta(minutes=30)
    assert store.orders[(SELLER, missing)].attributes["source"] == RECONCILED_SOURCE
    assert store.orders[(SELLER, newer)].attributes["source"] == "notification"


def test_given_orders_outside_the_window_when_reconciled_then_only_the_window_is_stored(
    emulator, clock, reconciler, store
) -> None:
    [inside] = orders_updated(emulator, clock, "302", 1, minutes_ago=30)
    [before] = orders_updated(emulator, clock, "303", 1, minutes_ago=300)
    [others] = orders_updated(emulator, clock, "304", 1, minutes_ago=30, seller=OTHER_SELLER)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    assert result.orders_seen == 1
    assert stored_at(store, inside) is not None
    assert stored_at(store, before) is None
    assert stored_at(store, others, seller=OTHER_SELLER) is None


def test_given_250_orders_when_reconciled_then_three_pages_store_every_order_and_the_window_is_done(
    emulator, clock, reconciler, store, checkpoints
) -> None:
    orders = orders_updated(emulator, clock, "305", 250, minutes_ago=120)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=3), None, plenty)

    assert (result.pages, result.calls, result.orders_seen, result.orders_refreshed) == (3, 3, 250, 250)
    assert emulator.calls["searchOrders"] == 3
    assert all(stored_at(store, order) is not None for order in orders)
    [window] = checkpoints.windows.values()
    assert (window.done, window.pages, window.orders) == (True, 3, 250)


def test_given_the_budget_spent_mid_window_when_reconciled_then_it_stops_at_its_checkpoint_and_resumes_there(
    emulator, clock, reconciler, store, budgets
) -> None:
    orders = orders_updated(emulator, clock, "306", 250, minutes_ago=120)
    since, until = now_of(clock) - timedelta(hours=3), now_of(clock) - timedelta(minutes=10)
    spend_search_budget(budgets)
    clock.now += 200  # one slot refilled

    first = reconciler.reconcile(SELLER, since, until, plenty)

    assert (first.pages, first.complete, first.stopped) == (1, False, STOPPED_RATE_BUDGET)
    assert first.resume_in_seconds is not None and 0 < first.resume_in_seconds <= SEARCH_INTERVAL_SECONDS
    assert sum(stored_at(store, order) is not None for order in orders) == 100

    # Before the first run's lease would have lapsed: a stopped run leaves its window free.
    clock.now += first.resume_in_seconds
    second = reconciler.reconcile(SELLER, since, until, plenty)
    clock.now += SEARCH_INTERVAL_SECONDS
    third = reconciler.reconcile(SELLER, since, until, plenty)

    assert (second.pages, second.stopped) == (1, STOPPED_RATE_BUDGET)
    assert (third.pages, third.complete) == (1, True)
    assert emulator.calls["searchOrders"] == 3  # resumed from its token: no page read twice
    assert all(stored_at(store, order) is not None for order in orders)


def test_given_no_search_slot_soon_when_reconciled_then_no_call_and_told_when_to_resume(
    emulator, clock, reconciler, budgets
) -> None:
    orders_updated(emulator, clock, "307", 1, minutes_ago=30)
    spend_search_budget(budgets)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), None, plenty)

    assert (result.pages, result.calls, result.stopped) == (0, 0, STOPPED_RATE_BUDGET)
    assert result.resume_in_seconds == pytest.approx(SEARCH_INTERVAL_SECONDS, abs=1)
    assert emulator.calls["searchOrders"] == 0


def test_given_amazon_throttles_and_no_time_to_wait_for_a_slot_when_reconciled_then_it_stops_for_the_budget(
    emulator, clock, reconciler, store
) -> None:
    [order] = orders_updated(emulator, clock, "308", 1, minutes_ago=30)
    since = now_of(clock) - timedelta(hours=1)
    emulator.fail_next("searchOrders", 429, code="QuotaExceeded")

    result = reconciler.reconcile(SELLER, since, None, lambda: 60.0)

    assert (result.pages, result.complete, result.stopped) == (0, False, STOPPED_RATE_BUDGET)
    assert result.resume_in_seconds is not None and result.resume_in_seconds > 60
    assert stored_at(store, order) is None

    clock.now += result.resume_in_seconds
    resumed = reconciler.reconcile(SELLER, since, None, plenty)

    assert resumed.complete and stored_at(store, order) is not None


def test_given_too_little_time_left_when_reconciled_then_it_stops_before_a_call_and_the_window_waits(
    emulator, clock, reconciler, store
) -> None:
    [order] = orders_updated(emulator, clock, "309", 1, minutes_ago=30)
    since = now_of(clock) - timedelta(hours=1)

    stopped = reconciler.reconcile(SELLER, since, None, lambda: 5.0)
    resumed = reconciler.reconcile(SELLER, since, None, plenty)

    assert (stopped.stopped, stopped.pages, stopped.complete) == (STOPPED_TIME, 0, False)
    assert resumed.complete and resumed.pages == 1
    assert emulator.calls["searchOrders"] == 1
    assert stored_at(store, order) is not None


def test_given_a_window_another_run_holds_when_reconciled_then_it_is_not_paged_twice(
    emulator, clock, reconciler, checkpoints
) -> None:
    orders_updated(emulator, clock, "310", 5, minutes_ago=30)
    since = now_of(clock) - timedelta(hours=1)
    reconciler.reconcile(SELLER, since, None, lambda: 5.0)  # opens the window, stops before a page
    [(key, window)] = checkpoints.windows.items()
    assert checkpoints.claim(key, window, 60) is not None  # another container leases it

    result = reconciler.reconcile(SELLER, since, None, plenty)

    assert (result.stopped, result.pages, result.complete) == (STOPPED_ELSEWHERE, 0, False)
    assert emulator.calls["searchOrders"] == 0


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
    orders_updated(emulator, clock, "311", 150, minutes_ago=60)
    checkpoints = WindowTakenOverWhilePaging(clock)
    reconciler = ReconcileUseCase(directory, spapi, store, checkpoints, clock=clock)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), None, plenty)

    assert (result.pages, result.stopped, result.complete) == (1, STOPPED_ELSEWHERE, False)
    [window] = checkpoints.windows.values()
    assert (window.pages, window.next_token, window.done) == (0, None, False)  # the other run's to move


def test_given_a_finished_window_when_reconciled_again_by_hand_then_it_is_paged_again(
    emulator, clock, reconciler, store
) -> None:
    [order] = orders_updated(emulator, clock, "312", 1, minutes_ago=30)
    since, until = now_of(clock) - timedelta(hours=1), now_of(clock) - timedelta(minutes=5)
    first = reconciler.reconcile(SELLER, since, until, plenty)
    del store.orders[(SELLER, order)]  # lost since (restored from an old backup)

    again = reconciler.reconcile(SELLER, since, until, plenty)

    assert first.complete and again.complete and again.orders_refreshed == 1
    assert emulator.calls["searchOrders"] == 2
    assert stored_at(store, order) is not None


def test_given_until_within_two_minutes_of_now_when_reconciled_then_capped_at_the_settle_rule(
    emulator, clock, reconciler, store
) -> None:
    [settled] = orders_updated(emulator, clock, "313", 1, minutes_ago=10)
    [recent] = orders_updated(emulator, clock, "314", 1, minutes_ago=1)

    result = reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=1), now_of(clock), plenty)

    assert result.until == (now_of(clock) - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)
    assert stored_at(store, settled) is not None
    assert stored_at(store, recent) is None  # the next window holds it
    assert emulator.throttled.get("searchOrders", 0) == 0


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (timedelta(seconds=60), None),  # inside the settle margin: nothing to ask for yet
        (timedelta(hours=1), timedelta(hours=2)),  # inverted
    ],
)
def test_given_a_window_that_is_empty_or_inverted_when_reconciled_then_a_typed_error_and_no_call(
    emulator, clock, reconciler, since: timedelta, until: timedelta | None
) -> None:
    now = now_of(clock)

    with pytest.raises(ReconcileRequestError, match="nothing to reconcile"):
        reconciler.reconcile(SELLER, now - since, now - until if until else None, plenty)

    assert emulator.calls["searchOrders"] == 0


def test_given_times_without_an_offset_when_reconciled_then_refused(reconciler, clock) -> None:
    naive = now_of(clock).replace(tzinfo=None)

    with pytest.raises(ReconcileRequestError, match="time zone"):
        reconciler.reconcile(SELLER, naive - timedelta(hours=1), None, plenty)
    with pytest.raises(ReconcileRequestError, match="time zone"):
        reconciler.reconcile(SELLER, now_of(clock) - timedelta(hours=2), naive - timedelta(hours=1), plenty)


def test_given_an_unknown_seller_when_reconciled_then_unknown_seller_and_no_call(
    emulator, clock, reconciler
) -> None:
    with pytest.raises(UnknownSellerError):
        reconciler.reconcile("A9UNKNOWNSELLER", now_of(clock) - timedelta(hours=1), None, plenty)

    assert emulator.calls["searchOrders"] == 0


# -- the schedule ----------------------------------------------------------------------------------


def test_given_no_checkpoint_when_scheduled_then_the_first_window_reaches_back_its_configured_length(
    emulator, clock, reconciler, store, checkpoints
) -> None:
    [inside] = orders_updated(emulator, clock, "320", 1, minutes_ago=5 * 60)
    [too_old] = orders_updated(emulator, clock, "321", 1, minutes_ago=7 * 60)

    result = reconciler.reconcile_scheduled(SELLER, plenty)

    assert result.complete and result.until == reconciler.latest_until()
    assert result.until - result.since == timedelta(seconds=FIRST_WINDOW_SECONDS)
    assert stored_at(store, inside) is not None and stored_at(store, too_old) is None
    window = checkpoints.load(SCHEDULE_KEY)
    assert window is not None and window.done and window.before == result.until


def test_given_scheduled_runs_then_each_starts_where_the_last_ended_minus_the_overlap(
    emulator, clock, reconciler, store
) -> None:
    first = reconciler.reconcile_scheduled(SELLER, plenty)
    clock.now += 3600
    [later] = orders_updated(emulator, clock, "322", 1, minutes_ago=30)

    second = reconciler.reconcile_scheduled(SELLER, plenty)

    assert second.since == first.until - timedelta(seconds=OVERLAP_SECONDS)
    assert second.complete and second.orders_refreshed == 1
    assert stored_at(store, later) is not None


def test_given_a_scheduled_run_already_up_to_the_settle_limit_when_run_again_then_nothing_is_asked(
    emulator, reconciler
) -> None:
    first = reconciler.reconcile_scheduled(SELLER, plenty)

    again = reconciler.reconcile_scheduled(SELLER, plenty)

    assert again.complete and (again.pages, again.calls) == (0, 0)
    assert again.since == again.until == first.until
    assert emulator.calls["searchOrders"] == 1


def test_given_a_scheduled_window_left_unfinished_when_the_next_run_comes_then_it_is_finished_first(
    emulator, clock, reconciler, store, budgets
) -> None:
    orders = orders_updated(emulator, clock, "323", 150, minutes_ago=120)
    spend_search_budget(budgets)
    clock.now += 200
    first = reconciler.reconcile_scheduled(SELLER, plenty)
    assert (first.complete, first.pages, first.stopped) == (False, 1, STOPPED_RATE_BUDGET)

    clock.now += 3600  # the next run: the budget has refilled
    [later] = orders_updated(emulator, clock, "324", 1, minutes_ago=10)
    second = reconciler.reconcile_scheduled(SELLER, plenty)

    assert second.complete and second.stopped is None
    assert second.since == first.since  # the unfinished window first, then on to now
    assert second.until == reconciler.latest_until()
    assert second.pages == 2  # the unfinished window's last page, then the new window's one
    assert all(stored_at(store, order) is not None for order in [*orders, later])


def test_given_the_scheduled_window_held_by_another_run_when_scheduled_then_it_stops_without_a_call(
    emulator, clock, reconciler, checkpoints
) -> None:
    now = now_of(clock)
    held = checkpoints.start(
        SCHEDULE_KEY,
        after=now - timedelta(hours=3),
        before=now - timedelta(hours=1),
        previous=None,
        lease_seconds=60,
    )
    assert held is not None

    result = reconciler.reconcile_scheduled(SELLER, plenty)

    assert (result.stopped, result.pages, result.complete) == (STOPPED_ELSEWHERE, 0, False)
    assert emulator.calls["searchOrders"] == 0


# -- every seller ------------------------------------------------------------------------------------


def test_given_one_seller_failing_when_every_seller_is_reconciled_then_it_is_counted_and_the_others_still_are(
    emulator, directory, clock, reconciler, store
) -> None:
    add_seller(emulator, directory, OTHER_SELLER)
    [theirs] = orders_updated(emulator, clock, "330", 1, minutes_ago=30, seller=OTHER_SELLER)
    [ours] = orders_updated(emulator, clock, "331", 1, minutes_ago=30)
    emulator.fail_next("searchOrders", 400, code="InvalidInput")  # the first seller's (A1...) call

    results = reconciler.reconcile_all(plenty)

    by_seller = {result.seller_id: result for result in results}
    assert set(by_seller) == {SELLER, OTHER_SELLER}
    assert (by_seller[SELLER].stopped, by_seller[SELLER].error) == (STOPPED_ERROR, "SpApiClientError")
    assert by_seller[OTHER_SELLER].complete
    assert stored_at(store, theirs, seller=OTHER_SELLER) is not None
    assert stored_at(store, ours) is None

    # The failed run let go of its window: the next run picks it up at once.
    [retried, _] = sorted(reconciler.reconcile_all(plenty), key=lambda result: result.seller_id)
    assert retried.seller_id == SELLER and retried.complete
    assert stored_at(store, ours) is not None


def test_given_a_seller_who_withdrew_the_authorisation_when_every_seller_is_reconciled_then_the_others_still_are(
    emulator, directory, clock, reconciler, store
) -> None:
    add_seller(emulator, directory, OTHER_SELLER)
    [theirs] = orders_updated(emulator, clock, "332", 1, minutes_ago=30, seller=OTHER_SELLER)
    emulator.revoke_seller(SELLER)

    results = reconciler.reconcile_all(plenty)

    by_seller = {result.seller_id: result for result in results}
    assert (by_seller[SELLER].stopped, by_seller[SELLER].error) == (STOPPED_ERROR, "LwaAuthError")
    assert by_seller[OTHER_SELLER].complete
    assert stored_at(store, theirs, seller=OTHER_SELLER) is not None


def test_given_a_seller_in_two_regions_when_every_seller_is_reconciled_then_each_region_from_its_own_checkpoint(
    emulator, directory, clock, reconciler, checkpoints
) -> None:
    # Given: the seller authorised in NA and in EU
    directory.add(SELLER, region=Region.EU, refresh_token="Atzr|eu")
    emulator.register_seller(SELLER, "Atzr|eu")

    # When: every seller is reconciled
    results = reconciler.reconcile_all(plenty)

    # Then: one result per region, each done, each with a checkpoint of its own
    assert [(result.seller_id, result.region, result.complete) for result in results] == [
        (SELLER, "NA", True),
        (SELLER, "EU", True),
    ]
    assert sorted(key.rsplit("#", 1)[1] for key in checkpoints.windows) == ["eu", "na"]


def test_given_no_time_left_when_every_seller_is_reconciled_then_none_is_started(
    emulator, reconciler
) -> None:
    assert reconciler.reconcile_all(lambda: 5.0) == []
    assert emulator.calls["searchOrders"] == 0


# -- the function's event ----------------------------------------------------------------------------


def test_given_the_schedules_empty_event_when_handled_then_every_known_seller_is_reconciled(
    emulator, directory, clock, reconciler
) -> None:
    add_seller(emulator, directory, OTHER_SELLER)

    answer = handle(reconciler, {}, plenty)

    assert sorted(result["seller_id"] for result in answer["sellers"]) == [SELLER, OTHER_SELLER]
    assert all(result["complete"] for result in answer["sellers"])


def test_given_an_operators_event_when_handled_then_one_sellers_window_with_durations(
    emulator, clock, reconciler, store
) -> None:
    [order] = orders_updated(emulator, clock, "340", 1, minutes_ago=90)
    [later] = orders_updated(emulator, clock, "341", 1, minutes_ago=20)

    answer = handle(reconciler, {"seller_id": SELLER, "since": "2h", "until": "30m"}, plenty)

    [result] = answer["sellers"]
    assert (result["seller_id"], result["orders_refreshed"], result["complete"]) == (SELLER, 1, True)
    assert result["since"] == (now_of(clock) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["until"] == (now_of(clock) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stored_at(store, order) is not None and stored_at(store, later) is None


@pytest.mark.parametrize(
    "event",
    [
        {"seller_id": SELLER},
        {"since": "6h"},
        {"until": "1h"},
        {"seller_id": SELLER, "since": "yesterday"},
        {"seller_id": SELLER, "since": "2026-09-20T00:00:00"},  # no offset
        {"seller_id": SELLER, "since": "6h", "extra": 1},
        {"seller_id": SELLER, "since": 6},
        {"seller_id": "A9UNKNOWNSELLER", "since": "6h"},
        [],
        "{}",
    ],
)
def test_given_a_bad_event_when_handled_then_a_typed_error_and_no_call(
    emulator, reconciler, event: object
) -> None:
    with pytest.raises(SellerStreamError):
        handle(reconciler, event, plenty)

    assert emulator.calls["searchOrders"] == 0


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({}, ReconcileRequest()),
        ({"seller_id": None}, ReconcileRequest()),
        ({"seller_id": SELLER, "since": "6h"}, ReconcileRequest(SELLER, "6h")),
        (
            {"seller_id": SELLER, "since": "2026-09-20T00:00:00Z", "until": "1h"},
            ReconcileRequest(SELLER, "2026-09-20T00:00:00Z", "1h"),
        ),
    ],
)
def test_given_a_valid_event_when_read_then_the_request_it_names(
    event: dict[str, Any], expected: ReconcileRequest
) -> None:
    assert ReconcileRequest.from_event(event) == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("not an object", "JSON object"),
        ({"seller": SELLER}, "unknown keys"),
        ({"seller_id": 1, "since": "6h"}, "seller_id must be a string"),
        ({"seller_id": SELLER, "since": ["6h"]}, "since must be a string"),
        ({"seller_id": SELLER}, "both seller_id and since"),
        ({"since": "6h"}, "both seller_id and since"),
        ({"until": "1h"}, "one seller's reconciliation only"),
    ],
)
def test_given_an_invalid_event_when_read_then_refused_with_what_is_wrong(
    event: object, message: str
) -> None:
    with pytest.raises(ReconcileRequestError, match=message):
        ReconcileRequest.from_event(event)


# -- moments and results -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW - timedelta(minutes=90)),
        ("6h", NOW - timedelta(hours=6)),
        (" 2d ", NOW - timedelta(days=2)),
        ("2026-11-27T08:00:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
        ("2026-11-27t08:00:00z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
        ("2026-11-27T09:00:00+01:00", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    ],
)
def test_given_a_time_or_a_duration_when_parsed_then_the_moment_it_names(
    text: str, expected: datetime
) -> None:
    assert parse_moment(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "neither an RFC 3339 time"),
        ("6w", "neither an RFC 3339 time"),
        ("h", "neither an RFC 3339 time"),
        ("2026-11-27T08:00:00", "needs a date, a time and an offset"),
        ("2026-11-27 08:00:00Z", "needs a date, a time and an offset"),
    ],
)
def test_given_neither_a_full_time_nor_a_duration_when_parsed_then_refused(text: str, message: str) -> None:
    with pytest.raises(ReconcileRequestError, match=message):
        parse_moment(text, NOW)


def test_given_a_result_when_rendered_then_times_are_rfc3339_in_utc() -> None:
    result = ReconcileResult(
        seller_id=SELLER,
        since=datetime(2026, 11, 27, 9, 0, tzinfo=UTC).astimezone(),
        until=datetime(2026, 11, 27, 10, 0, 30, 500, tzinfo=UTC),
    )

    rendered = result.as_dict()

    assert (rendered["since"], rendered["until"]) == ("2026-11-27T09:00:00Z", "2026-11-27T10:00:30Z")
