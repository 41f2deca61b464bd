"""SP-API access: a client per seller on the rate budget every container of the account shares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sellerstream.config import SpApiSettings
from sellerstream.logic.order_drainer import GET_ORDER
from sellerstream.logic.order_search import SEARCH_ORDERS
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.spapi import defaults
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import LwaAuthError, SpApiNotFound, SpApiThrottled
from sellerstream.spapi.orders import OrdersApi
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.in_process import IN_PROCESS_BASE_URL
from tests.support.fakes import FakeClock, FakeRateBudgets, FakeSellerDirectory
from tests.unit.logic.conftest import APP, LWA_PATH, SELLER

ORDER = "123-4567890-1234567"
OTHER_SELLER = "A2SELLERUNIT"


@pytest.fixture(autouse=True)
def fresh_process_caches() -> Iterator[None]:
    defaults.reset()
    yield
    defaults.reset()


def settings() -> SpApiSettings:
    return SpApiSettings.of(
        accounts_table_name="unused",
        lwa_app_secret_id="unused",
        seller_secret_prefix="unused/",
        spapi_endpoint_override=IN_PROCESS_BASE_URL,
        lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
    )


def test_given_a_seller_when_its_client_calls_then_it_speaks_for_that_seller_only(
    emulator: SpApiEmulator, spapi: SpApiAccess, directory: FakeSellerDirectory, clock: FakeClock
) -> None:
    directory.add(OTHER_SELLER)
    emulator.register_seller(OTHER_SELLER, f"Atzr|{OTHER_SELLER}")
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=datetime(2026, 9, 1, tzinfo=UTC))
    own = OrdersApi(spapi.client_for(directory.sellers[SELLER], lambda: 30.0))
    other = OrdersApi(spapi.client_for(directory.sellers[OTHER_SELLER], lambda: 30.0))

    assert own.get_order(ORDER)["orderId"] == ORDER
    with pytest.raises(SpApiNotFound):
        other.get_order(ORDER)  # Amazon shows a seller only its own orders


def test_given_a_budgets_port_when_a_client_calls_then_the_call_draws_on_the_accounts_shared_budget(
    emulator: SpApiEmulator,
    spapi: SpApiAccess,
    directory: FakeSellerDirectory,
    budgets: FakeRateBudgets,
) -> None:
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=datetime(2026, 9, 1, tzinfo=UTC))
    shared = budgets.for_account(APP[0], Region.NA.value)
    burst = shared.tokens_of(SELLER, GET_ORDER)

    OrdersApi(spapi.client_for(directory.sellers[SELLER], lambda: 30.0)).get_order(ORDER)

    assert spapi.rate_budget(directory.sellers[SELLER]) is shared
    assert shared.tokens_of(SELLER, GET_ORDER) == pytest.approx(burst - 1)


def test_given_sellers_in_two_regions_then_their_calls_draw_on_budgets_of_their_own_region(
    spapi: SpApiAccess, directory: FakeSellerDirectory, budgets: FakeRateBudgets
) -> None:
    european = directory.add("A3SELLERUNITEU", region=Region.EU)

    assert spapi.rate_budget(european) is budgets.for_account(APP[0], Region.EU.value)
    assert spapi.rate_budget(european) is not spapi.rate_budget(directory.sellers[SELLER])


def test_given_no_budgets_port_when_budgets_are_asked_for_then_every_access_of_the_process_shares_one(
    directory: FakeSellerDirectory,
) -> None:
    first = SpApiAccess(settings(), directory)
    second = SpApiAccess(settings(), directory)
    seller = directory.sellers[SELLER]
    budget = first.rate_budget(seller)
    while budget.next_slot_in(SELLER, SEARCH_ORDERS) <= 0:
        budget.acquire(SELLER, SEARCH_ORDERS, max_wait=0.0)

    # searchOrders refills one call in about three minutes: the burst spent through one is spent for both.
    assert second.rate_budget(seller).next_slot_in(SELLER, SEARCH_ORDERS) > 60.0


def test_given_lwa_refused_a_seller_when_asked_then_the_refusal_is_known_until_it_is_worth_asking_again(
    emulator: SpApiEmulator, spapi: SpApiAccess, directory: FakeSellerDirectory, clock: FakeClock
) -> None:
    seller = directory.sellers[SELLER]
    emulator.revoke_seller(SELLER)
    assert spapi.refused(seller) is None  # nothing known before the first exchange

    with pytest.raises(LwaAuthError):
        OrdersApi(spapi.client_for(seller, lambda: 30.0)).get_order(ORDER)

    refusal = spapi.refused(seller)
    assert isinstance(refusal, LwaAuthError) and refusal.code == "invalid_grant"
    clock.sleep(timedelta(hours=1).total_seconds())
    assert spapi.refused(seller) is None


def test_given_lwa_refused_a_seller_when_asked_then_its_secrets_are_read_afresh_next_time(
    emulator: SpApiEmulator, spapi: SpApiAccess, directory: FakeSellerDirectory
) -> None:
    # Given: a seller whose refresh token LWA refused (secrets are cached for an hour)
    seller = directory.sellers[SELLER]
    emulator.revoke_seller(SELLER)
    with pytest.raises(LwaAuthError):
        OrdersApi(spapi.client_for(seller, lambda: 30.0)).get_order(ORDER)
    assert directory.forgotten == []

    # When: the refusal is known
    spapi.refused(seller)

    # Then: the directory reads the seller's (and the app's) secrets afresh at their next use
    assert directory.forgotten == [SELLER]


def test_given_lwa_refusing_a_sellers_region_when_called_then_that_region_is_recorded_deauthorised(
    emulator: SpApiEmulator, spapi: SpApiAccess, directory: FakeSellerDirectory
) -> None:
    # Given: a seller in NA and EU whose NA authorisation was revoked
    directory.add(SELLER, region=Region.EU, refresh_token="Atzr|eu-token")
    emulator.register_seller(SELLER, "Atzr|eu-token")
    seller = directory.sellers[SELLER]
    emulator.revoke_seller(SELLER)

    # When: its NA client calls twice (the second refusal is the remembered one)
    for _ in range(2):
        with pytest.raises(LwaAuthError):
            OrdersApi(spapi.client_for(seller, lambda: 30.0)).get_order(ORDER)

    # Then: NA alone is recorded as refused (status shows it), with LWA's code, once
    assert list(directory.refusals) == [(SELLER, Region.NA)]
    assert directory.refusals[(SELLER, Region.NA)][0] == "LWA invalid_grant"


def test_given_no_transport_of_its_own_when_a_refusal_is_asked_for_then_the_process_token_cache_answers_without_a_call(
    directory: FakeSellerDirectory,
) -> None:
    assert SpApiAccess(settings(), directory).refused(directory.sellers[SELLER]) is None


def test_given_amazon_throttling_a_call_when_it_answers_429_then_each_is_logged_with_its_operation_and_the_budget_emptied(
    emulator: SpApiEmulator,
    spapi: SpApiAccess,
    directory: FakeSellerDirectory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.set_order(ORDER, seller_id=SELLER, last_updated=datetime(2026, 9, 1, tzinfo=UTC))
    emulator.fail_next("getOrder", 429, count=10)
    seller = directory.sellers[SELLER]

    with pytest.raises(SpApiThrottled):
        OrdersApi(spapi.client_for(seller, lambda: 30.0)).get_order(ORDER)

    throttled = [record for record in caplog.records if record.getMessage() == "sp-api throttled (429)"]
    assert len(throttled) == emulator.throttled["getOrder"] > 0
    assert all(getattr(record, "operation", None) == "getOrder" for record in throttled)
    assert spapi.rate_budget(seller).next_slot_in(SELLER, GET_ORDER) > 0
