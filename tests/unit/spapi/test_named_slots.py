"""Named slots: a slot per order, held for a waiting record, sent once, and never beyond Amazon's bucket.

The last test plays many random histories (records back early, on time, late, twice or never; slots
unused and handed back) against a model of Amazon's own token bucket and checks that no call would
ever be throttled.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

import pytest

from sellerstream.spapi.ratelimit import Gcra, NamedSlot, RateLimiter, RatePlan, SlotUse
from tests.support.fakes import FakeClock

PLAN = RatePlan(1.0, 6)  # one call a second, a burst of six (five scheduled: one spare)
SPARE = 1
NOW = 1000.0


def bucket(*, spent: bool = True) -> Gcra:
    """A confirmed bucket; ``spent``: its burst already used, so every new slot is one interval apart."""
    state = Gcra.full(PLAN, NOW, SPARE)
    state.confirmed = True
    if spent:
        state.reserve(NOW, PLAN.burst - SPARE, NOW, NOW)
    return state


def names(*orders: str, basis: float | None = None) -> dict[str, float | None]:
    return dict.fromkeys(orders, basis)


def reserve(state: Gcra, now: float, *orders: str, send: float = 3.0, hold: float = 60.0) -> list[NamedSlot]:
    outcomes, _ = state.reserve_named(
        now, names(*orders), send_by=now + send, hold_by=now + hold, max_held=100
    )
    return outcomes


def uses(outcomes: list[NamedSlot]) -> list[SlotUse]:
    return [outcome.use for outcome in outcomes]


def test_given_orders_when_reserved_then_sent_within_the_wait_held_beyond_and_none_past_the_horizon() -> None:
    state = bucket()

    outcomes = reserve(state, NOW, "a", "b", "c", "d", "e", send=2.0, hold=4.0)

    assert uses(outcomes) == [SlotUse.SEND, SlotUse.SEND, SlotUse.HELD, SlotUse.HELD, SlotUse.NONE]
    assert [outcome.in_seconds for outcome in outcomes[:4]] == [1.0, 2.0, 3.0, 4.0]
    assert state.claims["c"].held and not state.claims["a"].held


def test_given_a_held_slot_when_its_record_comes_back_before_it_then_sent_in_it_without_a_new_slot() -> None:
    state = bucket()
    reserve(state, NOW, "a", send=0.0)  # held at +1
    tat = state.tat

    outcome = reserve(state, NOW + 0.5, "a")[0]

    assert (outcome.use, outcome.at) == (SlotUse.SEND, NOW + 1.0)
    assert state.tat == tat  # no new slot was taken for it


def test_given_a_held_slot_when_two_copies_come_back_then_one_sends_and_the_other_waits_for_it() -> None:
    state = bucket()
    reserve(state, NOW, "a", send=0.0)

    first = reserve(state, NOW + 0.5, "a")[0]
    second = reserve(state, NOW + 0.6, "a")[0]

    assert (first.use, second.use) == (SlotUse.SEND, SlotUse.ELSEWHERE)
    assert second.in_seconds == pytest.approx(0.4)  # the other container's slot, from now


def test_given_an_order_being_sent_when_the_caller_knows_a_newer_state_then_that_call_is_over() -> None:
    state = bucket()
    state.reserve_named(NOW, names("a", basis=None), send_by=NOW + 3, hold_by=NOW + 60, max_held=100)

    stored_since, _ = state.reserve_named(
        NOW + 1.5, names("a", basis=NOW - 60), send_by=NOW + 4.5, hold_by=NOW + 60, max_held=100
    )

    assert uses(stored_since) == [SlotUse.SEND]  # its state was stored meanwhile: a new call, a new slot


def test_given_a_held_slot_when_its_record_comes_back_late_then_sent_within_its_late_window() -> None:
    state = bucket()
    reserve(state, NOW, "a", send=0.0)  # held at +1; late window: half the tolerance (4 s)

    late = reserve(state, NOW + 1.0 + 1.9, "a")[0]

    assert (late.use, late.at, late.until) == (SlotUse.SEND, NOW + 1.0, NOW + 3.0)


def test_given_a_held_slot_whose_record_is_late_when_another_order_reserves_then_it_sends_in_it() -> None:
    state = bucket()
    reserve(state, NOW, "a", "b", send=0.0)  # held at +1 and +2
    tat = state.tat

    taken = reserve(state, NOW + 1.5, "c")[0]

    assert (taken.use, taken.at) == (SlotUse.SEND, NOW + 1.0)  # late, in the slot nobody came for
    assert "a" not in state.claims and state.tat == tat  # no new slot
    assert reserve(state, NOW + 1.6, "a")[0].at == NOW + 3.0  # "a", late: a new slot


def test_given_a_held_slot_past_its_late_window_when_pruned_then_forgotten() -> None:
    state = bucket()
    reserve(state, NOW, "a", send=0.0)

    state.prune(NOW + 1.0 + 2.1)

    assert "a" not in state.claims


def test_given_unused_slots_when_handed_back_then_ahead_ones_and_late_ones_in_their_window_serve_the_next() -> (
    None
):
    state = bucket()
    granted = state.reserve_slots(NOW, 3, NOW + 3.0, NOW + 3.0)  # +1, +2, +3
    tat = state.tat

    state.hand_back([at for at, _ in granted], NOW + 1.5, dict(granted))

    assert state.reserve(NOW + 1.5, 4, NOW + 4.0, NOW + 4.0) == [NOW + 1.0, NOW + 2.0, NOW + 3.0, NOW + 4.0]
    assert state.tat == pytest.approx(tat + 1.0)  # only the fourth is new


def test_given_a_burst_slot_when_it_passes_unused_then_nobody_may_send_in_it_late() -> None:
    state = bucket(spent=False)
    granted = state.reserve_slots(NOW, 1, NOW, NOW)

    state.hand_back([at for at, _ in granted], NOW + 0.5, dict(granted))

    assert state.returned == []


def test_given_amazons_plan_unconfirmed_when_orders_are_reserved_then_only_the_burst_is_sent_and_none_held() -> (
    None
):
    state = Gcra.full(PLAN, NOW, SPARE)

    outcomes = reserve(state, NOW, *"abcdefg")

    assert uses(outcomes) == [SlotUse.SEND] * 5 + [SlotUse.NONE] * 2


def test_given_held_slots_when_amazon_answers_429_then_they_are_dropped_and_no_window_is_left() -> None:
    state = bucket()
    reserve(state, NOW, "a", "b", send=1.0)  # "a" sent at +1, "b" held at +2

    state.empty(NOW + 0.5)

    assert list(state.claims) == ["a"] and state.claims["a"].until == state.claims["a"].at


def test_given_a_limiter_when_a_claimed_order_is_not_sent_then_its_claim_goes_and_its_slot_serves_others() -> (
    None
):
    clock = FakeClock(NOW)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": PLAN})
    limiter.observe_limit_header("S", "op", "1")
    for _ in range(PLAN.burst):  # the burst spent (the in-memory bucket keeps no spare token)
        limiter.acquire("S", "op", max_wait=0.0)
    limiter.reserve_for("S", "op", names("a"), send_within=3.0, hold_within=60.0)

    limiter.release("S", "op", ["a"])  # stored meanwhile by someone else: no call

    again = limiter.reserve_for("S", "op", names("b", "a"), send_within=3.0, hold_within=60.0)
    assert [(slot.use, slot.in_seconds) for slot in again.slots] == [(SlotUse.SEND, 1.0), (SlotUse.SEND, 2.0)]


@dataclass
class AmazonBucket:
    """Amazon's token bucket for one operation: full at the start, refilled at ``rate`` up to ``burst``."""

    burst: int
    rate: float
    tokens: float
    updated: float

    def call(self, at: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (at - self.updated) * self.rate)
        self.updated = at
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@pytest.mark.parametrize("seed", range(200))
def test_given_random_histories_of_held_late_twice_and_unused_slots_then_amazon_never_throttles(
    seed: int,
) -> None:
    rng = random.Random(seed)
    plan = RatePlan(rng.choice([0.5, 1.0, 2.0]), rng.choice([3, 5, 10]))
    interval = 1.0 / plan.rate
    state = Gcra.full(plan, 0.0, SPARE)
    state.confirmed = True
    amazon = AmazonBucket(plan.burst, plan.rate, float(plan.burst), 0.0)
    # One timeline of (time, sequence, kind, order, slot, until). "record": a notification of the
    # order is planned (a first delivery, or a copy back for its held slot: early, on time, late,
    # twice or never); "send": the container calls in its slot, or finds the order stored meanwhile
    # and hands the slot back.
    events: list[tuple[float, int, str, str, float, float]] = []
    sequence = 0

    def at_time(time: float, kind: str, order: str, slot: float = 0.0, until: float = 0.0) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (time, sequence, kind, order, slot, until))

    arrival = 0.0
    for index in range(rng.randint(20, 60)):
        if rng.random() < 0.1:
            arrival += rng.uniform(0.0, 3 * plan.burst * interval)  # idle: Amazon's bucket refills
        arrival += rng.expovariate(rng.choice([0.5, 2.0, 6.0]) * plan.rate)
        at_time(arrival, "record", f"o{index}")
    calls = 0
    while events:
        now, _, kind, order, slot, until = heapq.heappop(events)
        if kind == "send":
            if rng.random() < 0.15:
                state.hand_back([slot], now, {slot: until})
                state.release_claim(order)
            else:
                calls += 1
                assert amazon.call(now), f"429 at {now:.2f} for the slot at {slot:.2f} (seed {seed})"
            continue
        outcome = state.reserve_named(
            now, {order: None}, send_by=now + 3 * interval, hold_by=now + 40 * interval, max_held=20
        )[0][0]
        if outcome.use is SlotUse.SEND:
            assert outcome.at is not None
            at_time(max(outcome.at, now), "send", order, outcome.at, outcome.until)
        elif outcome.use is SlotUse.HELD:
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                early_or_late = rng.choice([-2.5, -1.0, -0.2, 0.3, 1.5, 4.0, 20.0, 60.0]) * interval
                at_time(max(now + outcome.in_seconds + early_or_late, now + 0.01), "record", order)
        elif outcome.use is SlotUse.NONE:
            at_time(now + max(outcome.in_seconds, interval) + rng.random() * 5 * interval, "record", order)
        # ELSEWHERE: another container's call for the order serves this record.
    assert calls > 0


def test_given_pooled_slots_with_late_windows_when_each_is_used_then_the_pool_forgets_them() -> None:
    clock = FakeClock(NOW)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, plans={"op": PLAN})
    limiter.observe_limit_header("S", "op", "1")
    for _ in range(PLAN.burst):
        limiter.acquire("S", "op", max_wait=0.0)

    limiter.reserve("S", "op", 3, first_within=5.0, last_within=5.0)  # ahead: each with a late window
    for _ in range(3):
        limiter.acquire("S", "op", max_wait=5.0)

    assert limiter._pool("S", "op").until == {}  # a long-lived container keeps nothing of used slots
