"""The rate budget shared by every container (DynamoDB conditional writes), against moto.

Each ``SharedRateBudget`` plays one container: it keeps its own cache of what it last saw, and
only the table is shared.
"""

from __future__ import annotations

import os
import threading
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.rate_budget import SPARE_TOKENS, SharedRateBudget
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import RatePlan, SlotUse
from sellerstream_local.moto_server import SerializedMotoServer
from tests.support.fakes import FakeClock

TABLE = "rate-budget"
KEY = "BUCKET#app#A1SELLER#na#orders/2026-01-01:getOrder"
OPERATION = "orders/2026-01-01:getOrder"
PLAN = {"getOrder": RatePlan(0.5, 30)}
BURST = 30 - SPARE_TOKENS  # one token stays unscheduled: it absorbs network jitter


def create_table() -> None:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def table() -> Iterator[None]:
    with mock_aws():
        aws.reset_clients()
        create_table()
        yield
    aws.reset_clients()


def container(
    clock: FakeClock, plans: dict[str, RatePlan] | None = None, *, confirmed: bool = True
) -> SharedRateBudget:
    """A container's budget; by default it has already seen Amazon's rate header confirm the plan."""
    budget = SharedRateBudget(TABLE, clock=clock, sleep=clock.sleep, plans=plans or PLAN)
    if confirmed:
        budget.observe_limit_header(KEY, OPERATION, str((plans or PLAN)["getOrder"].rate))
    return budget


def test_given_a_fresh_bucket_when_reserving_then_the_burst_at_once_then_one_slot_per_interval(
    table: None,
) -> None:
    clock = FakeClock()

    reservation = container(clock).reserve(KEY, OPERATION, BURST + 3, first_within=0.0, last_within=60.0)

    assert reservation.slots[:BURST] == (clock.now,) * BURST
    assert reservation.slots[BURST:] == (clock.now + 2.0, clock.now + 4.0, clock.now + 6.0)
    assert reservation.next_slot_in == pytest.approx(8.0)


def test_given_a_plan_amazon_has_not_confirmed_when_reserving_then_slots_only_within_the_first_wait(
    table: None,
) -> None:
    clock = FakeClock()

    guessed = container(clock, confirmed=False).reserve(
        KEY, OPERATION, BURST + 3, first_within=0.0, last_within=60.0
    )

    assert guessed.slots == (clock.now,) * BURST


def test_given_one_container_spent_the_burst_when_a_cold_container_reserves_then_it_gets_no_burst(
    table: None,
) -> None:
    clock = FakeClock()
    container(clock).reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)
    cold = container(clock)

    reservation = cold.reserve(KEY, OPERATION, 10, first_within=0.0, last_within=30.0)

    assert reservation.granted == 0
    assert reservation.next_slot_in == pytest.approx(2.0)


def test_given_two_containers_when_both_reserve_then_their_slots_never_overlap(table: None) -> None:
    clock = FakeClock()
    first, second = container(clock), container(clock)
    first.reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)  # the burst

    a = first.reserve(KEY, OPERATION, 3, first_within=10.0, last_within=30.0)
    b = second.reserve(KEY, OPERATION, 3, first_within=10.0, last_within=30.0)

    assert a.slots == (clock.now + 2.0, clock.now + 4.0, clock.now + 6.0)
    assert b.slots == (clock.now + 8.0, clock.now + 10.0, clock.now + 12.0)


def test_given_a_429_seen_by_one_container_when_another_reserves_then_the_bucket_is_empty_for_both(
    table: None,
) -> None:
    clock = FakeClock()
    seen, other = container(clock), container(clock)
    other.reserve(KEY, OPERATION, 1, first_within=0.0, last_within=0.0)

    seen.on_throttled(KEY, OPERATION)
    clock.now += 1.0

    assert other.reserve(KEY, OPERATION, 1, first_within=0.5, last_within=0.5).granted == 0
    clock.now += 1.0
    assert other.reserve(KEY, OPERATION, 1, first_within=0.0, last_within=0.0).granted == 1


def test_given_the_rate_header_when_observed_then_every_container_uses_it_and_equal_rates_cost_no_write(
    table: None,
) -> None:
    clock = FakeClock()
    learner, other = container(clock), container(clock)
    learner.reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)

    learner.observe_limit_header(KEY, OPERATION, "10")
    writes = learner.writes
    learner.observe_limit_header(KEY, OPERATION, "10.0")  # the same rate again: nothing to write

    assert learner.writes == writes
    reservation = other.reserve(KEY, OPERATION, 2, first_within=1.0, last_within=1.0)
    assert reservation.slots == (clock.now + 0.1, clock.now + 0.2)


def test_given_unused_slots_of_the_latest_reservation_when_released_then_the_next_reservation_gets_them(
    table: None,
) -> None:
    clock = FakeClock()
    owner, other = container(clock), container(clock)
    other.reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)  # the burst, spent elsewhere
    owner.reserve(KEY, OPERATION, 5, first_within=10.0, last_within=20.0)
    owner.acquire(KEY, OPERATION, max_wait=5.0)  # one slot used: four unused

    owner.release(KEY, OPERATION)

    assert other.reserve(KEY, OPERATION, 1, first_within=10.0, last_within=10.0).slots == (clock.now + 2.0,)


def test_given_someone_reserved_after_us_when_releasing_then_our_unused_slots_still_serve_the_next_reservation(
    table: None,
) -> None:
    clock = FakeClock()
    owner, later = container(clock), container(clock)
    later.reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)  # the burst, spent elsewhere
    owner.reserve(KEY, OPERATION, 5, first_within=10.0, last_within=20.0)  # +2 .. +10
    later.reserve(KEY, OPERATION, 1, first_within=20.0, last_within=20.0)  # +12: after ours

    owner.release(KEY, OPERATION)

    # Handed-back slots first, in time order, then fresh ones after the last reserved (+12).
    assert later.reserve(KEY, OPERATION, 6, first_within=20.0, last_within=20.0).slots == tuple(
        clock.now + offset for offset in (2.0, 4.0, 6.0, 8.0, 10.0, 14.0)
    )


def test_given_pooled_slots_when_acquiring_then_sleeps_until_each_and_refuses_one_past_the_deadline(
    table: None,
) -> None:
    clock = FakeClock()
    budget = container(clock)
    container(clock).reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)  # the burst, elsewhere
    budget.reserve(KEY, OPERATION, 2, first_within=5.0, last_within=5.0)
    start = clock.now

    budget.acquire(KEY, OPERATION, max_wait=10.0)
    budget.acquire(KEY, OPERATION, max_wait=10.0)
    with pytest.raises(RateBudgetExhausted) as caught:
        budget.acquire(KEY, OPERATION, max_wait=1.0)

    assert clock.slept == [pytest.approx(2.0), pytest.approx(2.0)]
    assert clock.now == pytest.approx(start + 4.0)
    assert caught.value.wait_needed == pytest.approx(2.0)


@pytest.fixture
def server() -> Iterator[str]:
    """moto as a server answering one request at a time (DynamoDB's conditional writes are atomic)."""
    saved = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL",)}
    with SerializedMotoServer() as moto_server:
        # moto keeps its state in this process, whatever server serves it: start from nothing.
        reset = urllib.request.Request(f"{moto_server.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=30).close()
        os.environ["AWS_ENDPOINT_URL"] = moto_server.endpoint
        aws.reset_clients()
        create_table()
        yield moto_server.endpoint
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    aws.reset_clients()


def test_given_many_containers_taking_at_once_when_the_bucket_holds_a_burst_then_never_more_than_the_burst(
    server: str,
) -> None:
    # No refill (the clock stands still): whatever is granted beyond the burst would be a double grant.
    plans = {"getOrder": RatePlan(0.0001, 10 + SPARE_TOKENS)}
    clock = FakeClock()
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def taker() -> None:
        budget = container(clock, plans)
        start.wait()
        total = 0
        # Each loses its condition at most once per write that wins (five at most before the burst is
        # gone), so no taker runs out of write attempts.
        for _ in range(3):
            total += budget.reserve(KEY, OPERATION, 2, first_within=0.0, last_within=0.0).granted
        with lock:
            granted.append(total)

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(granted) == 10


ORDERS = {f"111-0000000-00000{index:02d}": None for index in range(3)}


def spend_the_burst(clock: FakeClock) -> None:
    """Another container used the burst: every new slot is one interval (2 s) after the last."""
    container(clock).reserve(KEY, OPERATION, BURST, first_within=0.0, last_within=0.0)


def test_given_a_slot_held_for_an_order_when_its_record_comes_back_in_another_container_then_sent_in_it(
    table: None,
) -> None:
    clock = FakeClock()
    spend_the_burst(clock)
    order = next(iter(ORDERS))
    held = container(clock).reserve_for(KEY, OPERATION, {order: None}, send_within=1.0, hold_within=60.0)
    clock.now += held.slots[0].in_seconds - 1.0  # back a second before the slot
    other = container(clock)

    taken = other.reserve_for(KEY, OPERATION, {order: None}, send_within=3.0, hold_within=60.0)
    twice = container(clock).reserve_for(KEY, OPERATION, {order: None}, send_within=3.0, hold_within=60.0)

    assert held.slots[0].use is SlotUse.HELD
    assert (taken.slots[0].use, taken.slots[0].in_seconds) == (SlotUse.SEND, pytest.approx(1.0))
    assert twice.slots[0].use is SlotUse.ELSEWHERE  # a second copy of it waits for that call
    # The held slot was the order's: taking it reserved nothing new.
    assert taken.next_slot_in == pytest.approx(held.next_slot_in - held.slots[0].in_seconds + 1.0)


def test_given_named_slots_when_stored_then_every_container_reads_the_claims_back(table: None) -> None:
    clock = FakeClock()
    spend_the_burst(clock)
    first = container(clock)
    first.reserve_for(KEY, OPERATION, ORDERS, send_within=2.0, hold_within=60.0)  # one sent, two held

    state = container(clock)
    state.reserve(KEY, OPERATION, 1, first_within=0.0, last_within=0.0)  # a cold container reads the item
    seen = state.seen_state(KEY)

    assert seen is not None
    assert [(name, claim.held) for name, claim in sorted(seen.claims.items())] == [
        (name, index > 0) for index, name in enumerate(sorted(ORDERS))
    ]
    written = first.seen_state(KEY)
    assert written is not None
    assert {name: repr(claim) for name, claim in seen.claims.items()} == {
        name: repr(claim) for name, claim in written.claims.items()
    }  # to the last bit: what a container caches is what the next one reads


def put_spent_bucket(clock: FakeClock, **attributes: dict[str, object]) -> None:
    """Given an item an earlier version wrote: the burst spent, and ``attributes`` as it stored them."""
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": KEY},
            "tat": {"N": str(clock.now + 58.0)},
            "rate": {"N": "0.5"},
            "burst": {"N": "30"},
            "confirmed": {"BOOL": True},
            "version": {"N": "7"},
            **attributes,
        },
    )


def test_given_claims_an_earlier_version_stored_as_a_map_when_read_then_they_hold(table: None) -> None:
    clock = FakeClock()
    order = next(iter(ORDERS))
    held_at = clock.now + 40.0
    put_spent_bucket(
        clock,
        slot_claims={
            "M": {order: {"L": [{"N": str(held_at)}, {"N": str(held_at)}, {"BOOL": True}, {"NULL": True}]}}
        },
    )

    reservation = container(clock).reserve_for(
        KEY, OPERATION, {order: None}, send_within=3.0, hold_within=60.0
    )

    assert [(slot.use, slot.in_seconds) for slot in reservation.slots] == [(SlotUse.HELD, 40.0)]


def test_given_an_item_written_before_named_slots_when_read_then_it_is_used_as_it_is(table: None) -> None:
    clock = FakeClock()
    put_spent_bucket(clock, returned_slots={"L": [{"N": str(clock.now + 1.0)}]})

    reservation = container(clock, confirmed=False).reserve_for(
        KEY, OPERATION, ORDERS, send_within=3.0, hold_within=60.0
    )

    assert [slot.use for slot in reservation.slots] == [SlotUse.SEND, SlotUse.SEND, SlotUse.HELD]
    assert [slot.in_seconds for slot in reservation.slots] == [1.0, 2.0, 4.0]  # the handed-back slot first


def test_given_copies_in_many_containers_at_once_when_they_take_one_held_slot_then_exactly_one_sends(
    server: str,
) -> None:
    clock = FakeClock()
    spend_the_burst(clock)
    order = next(iter(ORDERS))
    held = container(clock).reserve_for(KEY, OPERATION, {order: None}, send_within=0.0, hold_within=60.0)
    clock.now += held.slots[0].in_seconds - 1.0
    uses: list[SlotUse] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def copy() -> None:
        budget = container(clock)
        start.wait()
        outcome = budget.reserve_for(KEY, OPERATION, {order: None}, send_within=3.0, hold_within=60.0)
        with lock:
            uses.append(outcome.slots[0].use)

    threads = [threading.Thread(target=copy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(use.value for use in uses) == ["elsewhere"] * 7 + ["send"]


def test_given_many_containers_naming_the_same_orders_at_once_then_each_order_is_sent_by_one(
    server: str,
) -> None:
    # No refill: a double grant would show as more sends than the burst, or an order sent twice.
    plans = {"getOrder": RatePlan(0.0001, 10 + SPARE_TOKENS)}
    clock = FakeClock()
    orders = [f"222-0000000-00000{index:02d}" for index in range(16)]
    sent: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def taker(offset: int) -> None:
        budget = container(clock, plans)
        start.wait()
        mine = orders[offset:] + orders[:offset]
        for part in (mine[:8], mine[8:]):
            outcome = budget.reserve_for(
                KEY, OPERATION, dict.fromkeys(part), send_within=0.0, hold_within=0.0
            )
            with lock:
                sent.extend(slot.name for slot in outcome.slots if slot.use is SlotUse.SEND)

    threads = [threading.Thread(target=taker, args=(2 * index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sent) == 10 and len(set(sent)) == 10
