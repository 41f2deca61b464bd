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
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import RatePlan
from sellerstream_local.moto_server import SerializedMotoServer
from tests.support.fakes import FakeClock

TABLE = "rate-budget"
KEY = "BUCKET#app#A1SELLER#na#orders/2026-01-01:getOrder"
OPERATION = "orders/2026-01-01:getOrder"
PLAN = {"getOrder": RatePlan(0.5, 30)}
BURST = 29  # at once: a second of the burst (the 30th token's first half) absorbs network jitter
LAST_TOKEN = 1.0  # after the burst, the 30th token: its spare second past


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


def sends(budget: SharedRateBudget, clock: FakeClock, count: int, max_wait: float = 60.0) -> list[float]:
    """Takes ``count`` slots one after the other: when each call would be sent."""
    times = []
    for _ in range(count):
        budget.acquire(KEY, OPERATION, max_wait=max_wait)
        times.append(clock.now)
    return times


def spend_the_burst(clock: FakeClock) -> None:
    """Another container used the burst: every new slot is one interval (2 s) after the last."""
    sends(container(clock), clock, BURST, max_wait=0.0)


def test_given_a_fresh_bucket_when_taking_slots_then_the_burst_at_once_then_one_slot_per_interval(
    table: None,
) -> None:
    clock = FakeClock()
    start = clock.now
    budget = container(clock)

    sent = sends(budget, clock, BURST + 3)

    assert sent[:BURST] == [start] * BURST
    assert sent[BURST:] == [
        pytest.approx(start + LAST_TOKEN),
        pytest.approx(start + LAST_TOKEN + 2.0),
        pytest.approx(start + LAST_TOKEN + 4.0),
    ]
    assert clock.slept == [pytest.approx(LAST_TOKEN), pytest.approx(2.0), pytest.approx(2.0)]
    assert budget.next_slot_in(KEY, OPERATION) == pytest.approx(2.0)
    # (keeping the burst: when every slot taken has refilled, the last one sent 4 s after the 30th)
    assert budget.next_slot_in(KEY, OPERATION, keep_burst=True) == pytest.approx(
        2.0 * (BURST + 3) - (LAST_TOKEN + 4.0)
    )


def test_given_one_slot_taken_elsewhere_when_a_cold_container_keeps_the_burst_then_it_waits_for_the_refill(
    table: None,
) -> None:
    # Given another container took one slot (the bucket is one short of full)
    clock = FakeClock()
    sends(container(clock), clock, 1, max_wait=0.0)
    cold = container(clock)

    # When a container that never saw the bucket takes a slot keeping the burst, with no wait
    with pytest.raises(RateBudgetExhausted) as caught:
        cold.acquire(KEY, OPERATION, max_wait=0.0, keep_burst=True)

    # Then nothing is taken: the bucket as stored (not the full one it would assume) is one slot
    # (2 s) from full; a caller not keeping the burst takes a slot at once
    assert caught.value.wait_needed == pytest.approx(2.0)
    assert cold.acquire(KEY, OPERATION, max_wait=0.0) == 0.0


def test_given_one_container_spent_the_burst_when_a_cold_container_takes_a_slot_then_it_gets_no_burst(
    table: None,
) -> None:
    clock = FakeClock()
    spend_the_burst(clock)
    cold = container(clock)

    with pytest.raises(RateBudgetExhausted) as caught:
        cold.acquire(KEY, OPERATION, max_wait=0.0)

    assert caught.value.wait_needed == pytest.approx(LAST_TOKEN)
    assert clock.slept == []


def test_given_two_containers_taking_in_turn_then_their_slots_never_overlap(table: None) -> None:
    clock = FakeClock()
    start = clock.now
    first, second = container(clock), container(clock)
    spend_the_burst(clock)

    sent = []
    for budget in (first, second, first, second):
        budget.acquire(KEY, OPERATION, max_wait=10.0)
        sent.append(clock.now)

    assert sent == [pytest.approx(start + LAST_TOKEN + offset) for offset in (0.0, 2.0, 4.0, 6.0)]


def test_given_containers_taking_for_a_minute_then_never_more_than_the_plan_allows(table: None) -> None:
    clock = FakeClock()
    start = clock.now
    containers = [container(clock) for _ in range(3)]
    sent: list[float] = []

    for index in range(BURST + 30):
        containers[index % 3].acquire(KEY, OPERATION, max_wait=10.0)
        sent.append(clock.now)

    # The burst (a second spare), then one every 2 s; in any 10 s, the burst and five more at most.
    assert sent[-1] == pytest.approx(start + LAST_TOKEN + 58.0)
    for index, at in enumerate(sent):
        assert len([other for other in sent[index:] if other - at <= 10.0]) <= BURST + 5


def test_given_a_429_seen_by_one_container_when_another_takes_a_slot_then_the_bucket_is_empty_for_both(
    table: None,
) -> None:
    clock = FakeClock()
    seen, other = container(clock), container(clock)
    other.acquire(KEY, OPERATION, max_wait=0.0)

    seen.on_throttled(KEY, OPERATION)
    clock.now += 1.0

    with pytest.raises(RateBudgetExhausted) as caught:
        other.acquire(KEY, OPERATION, max_wait=0.5)
    assert caught.value.wait_needed == pytest.approx(1.0)
    clock.now += 1.0
    assert other.acquire(KEY, OPERATION, max_wait=0.0) == 0.0


def test_given_the_rate_header_when_observed_then_every_container_uses_it_and_equal_rates_cost_no_write(
    table: None,
) -> None:
    clock = FakeClock()
    learner, other = container(clock), container(clock)
    sends(learner, clock, BURST, max_wait=0.0)

    learner.observe_limit_header(KEY, OPERATION, "10")
    writes = learner.writes
    learner.observe_limit_header(KEY, OPERATION, "10.0")  # the same rate again: nothing to write

    assert learner.writes == writes
    other.acquire(KEY, OPERATION, max_wait=1.0)
    other.acquire(KEY, OPERATION, max_wait=1.0)
    assert clock.slept == [pytest.approx(0.1), pytest.approx(0.1)]


def test_given_a_slot_further_than_the_deadline_when_acquiring_then_refused_without_sleeping(
    table: None,
) -> None:
    clock = FakeClock()
    budget = container(clock)
    spend_the_burst(clock)
    start = clock.now

    budget.acquire(KEY, OPERATION, max_wait=10.0)
    budget.acquire(KEY, OPERATION, max_wait=10.0)
    with pytest.raises(RateBudgetExhausted) as caught:
        budget.acquire(KEY, OPERATION, max_wait=1.0)

    assert clock.slept == [pytest.approx(LAST_TOKEN), pytest.approx(2.0)]
    assert clock.now == pytest.approx(start + LAST_TOKEN + 2.0)
    assert caught.value.wait_needed == pytest.approx(2.0)


def test_given_an_item_an_earlier_version_wrote_with_claims_when_used_then_only_its_bucket_counts(
    table: None,
) -> None:
    clock = FakeClock()
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": KEY},
            "tat": {"N": str(clock.now + 59.0)},  # the burst spent, and a second more
            "rate": {"N": "0.5"},
            "burst": {"N": "30"},
            "confirmed": {"BOOL": True},
            "version": {"N": "7"},
            "returned_slots": {"L": [{"N": str(clock.now + 1.0)}]},
            "returned_until": {"L": [{"N": str(clock.now + 20.0)}]},
            "slot_claims": {"S": f"{int(clock.now)};111-0000000-0000001,40000,0,1,"},
        },
    )

    waited = container(clock, confirmed=False).acquire(KEY, OPERATION, max_wait=5.0)

    assert waited == pytest.approx(2.0)  # the next fresh slot: the handed-back one at +1 is not used
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": KEY}})["Item"]
    assert set(stored) == {"pk", "tat", "rate", "burst", "confirmed", "version", "expires_at"}
    assert stored["version"] == {"N": "8"}


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
    plans = {"getOrder": RatePlan(0.0001, 7)}  # six at once: a second of the seventh stays spare
    clock = FakeClock()
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def taker() -> None:
        budget = container(clock, plans)
        start.wait()
        total = 0
        # A write loses its condition only to a write that wins (six at most: one per token), so
        # no taker runs out of write attempts.
        for _ in range(3):
            try:
                budget.acquire(KEY, OPERATION, max_wait=0.0)
                total += 1
            except RateBudgetExhausted as refused:
                assert "contended" not in str(refused)
        with lock:
            granted.append(total)

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 8 and sum(granted) == 6
