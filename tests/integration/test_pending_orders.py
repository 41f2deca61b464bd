"""The pending orders and their drainer's lease on DynamoDB (``DynamoDBPendingOrders``), against moto,
on the table as the catalog declares it (its local index ordering the entries by change)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws, catalog
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.domain.orders import BucketState, DrainLease, PendingChange, SellerAccount
from sellerstream_local.resources import create_catalog_tables

ACCOUNT = SellerAccount("A1SELLERPENDING", "na")
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
NOW = 1_790_000_000.0
LEASE_SECONDS = 60.0
GET_ORDER = "orders/2026-01-01:getOrder"
SPENT = {GET_ORDER: BucketState(1_790_000_123.25, 0.5, True)}
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class Account:
    """The catalog's tables on moto, the adapter on the pending orders table, and the DynamoDB calls
    it made (operation and parameters, as sent)."""

    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb")
        self.table = create_catalog_tables(self.dynamodb)[catalog.PENDING_ORDERS_TABLE.role]
        self.store = DynamoDBPendingOrders(self.table)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    @property
    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if name in WRITES]

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def lease_item(self, account: SellerAccount = ACCOUNT) -> dict[str, Any] | None:
        key = {"pk": {"S": f"{account.seller_id}#{account.region}"}, "sk": {"S": "LEASE"}}
        found: dict[str, Any] | None = self.dynamodb.get_item(TableName=self.table, Key=key).get("Item")
        return found


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        aws.reset_clients()
        yield Account()
    aws.reset_clients()


def change(order: int, seconds: int, notification: str | None = None) -> PendingChange:
    order_id = f"111-0000000-{order:07d}"
    return PendingChange(order_id, T0 + timedelta(seconds=seconds), notification or f"n-{order}-{seconds}")


def take(account: Account, owner: str, *, now: float = NOW) -> DrainLease | None:
    return account.store.take_lease(ACCOUNT, owner, now=now, until=now + LEASE_SECONDS)


def least_recently_changed_first(changes: list[PendingChange]) -> list[PendingChange]:
    return sorted(changes, key=lambda entry: (entry.changed, entry.order_id))


# -- entries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "page_items", "queries"),
    [(25, None, 1), (100, None, 1), (100, 7, 5), (12, 5, 3)],
    ids=["limit-25", "limit-100", "limit-100-pages-of-7", "limit-12-pages-of-5"],
)
def test_given_30_orders_changed_in_any_order_when_the_oldest_are_asked_then_the_least_recently_changed_come_first(
    account: Account, monkeypatch: pytest.MonkeyPatch, limit: int, page_items: int | None, queries: int
) -> None:
    # Given 30 orders changed at 10 distinct seconds (three a second), their change times unrelated
    # to their ids, added shuffled beside the account's lease (an item of the same partition)
    changes = [change(order, seconds=10 * (order * 7 % 10)) for order in range(30)]
    assert take(account, "container-a") is not None
    account.store.add(ACCOUNT, random.Random(7).sample(changes, len(changes)))
    # (DynamoDB ends a page at 1 MB read: with page_items, pages shorter than asked)
    client = aws.client("dynamodb")
    query = client.query

    def paged(**request: Any) -> Any:
        return query(**{**request, "Limit": min(request["Limit"], page_items or request["Limit"])})

    monkeypatch.setattr(client, "query", paged)

    # When the oldest are asked
    oldest = account.store.oldest(ACCOUNT, limit)

    # Then the `limit` orders that changed least recently, by change (ties by order), each as added,
    # and never the lease
    assert oldest == least_recently_changed_first(changes)[:limit]
    assert all(entry.changed.tzinfo is not None for entry in oldest)
    # And read strongly consistent on the index, following the pages where a page ends early
    requests = account.requests("Query")
    assert len(requests) == queries
    assert all(
        request["ConsistentRead"] and request["IndexName"] == catalog.PENDING_BY_CHANGE.name
        for request in requests
    )


def test_given_an_order_changed_again_then_its_one_entry_is_its_newest_change_whatever_came_first(
    account: Account,
) -> None:
    # Given an order's newer change (a fetch of it failed once), then its older one added late
    newer = change(1, seconds=60)._replace(attempts=1, not_before=NOW + 30.5)
    account.store.add(ACCOUNT, [newer])
    account.store.add(ACCOUNT, [change(1, seconds=0)])  # loses quietly
    # And two other orders' changes in one call, the older after the newer and the newer after the
    # older
    account.store.add(
        ACCOUNT, [change(2, seconds=90), change(2, seconds=30), change(3, seconds=40), change(3, seconds=100)]
    )
    # And a fourth order's older change, then its newer one
    account.store.add(ACCOUNT, [change(4, seconds=10)])
    account.store.add(ACCOUNT, [change(4, seconds=120)])

    # Then each order has one entry: its newest change, as it was added (attempts included)
    assert account.store.oldest(ACCOUNT, 10) == [
        newer,
        change(2, seconds=90),
        change(3, seconds=100),
        change(4, seconds=120),
    ]


def test_given_the_same_change_added_again_then_it_is_one_entry_replaced_only_by_a_fetchs_count(
    account: Account,
) -> None:
    # Given one change, twice in one call and again in another
    first = change(1, seconds=0)
    account.store.add(ACCOUNT, [first, first])
    account.store.add(ACCOUNT, [first])
    assert account.store.oldest(ACCOUNT, 10) == [first]

    # When a failed fetch records it again, counted and put off
    waiting = first._replace(attempts=2, not_before=NOW + 30.5)
    account.store.add(ACCOUNT, [waiting])

    # Then its one entry is that, as recorded
    assert account.store.oldest(ACCOUNT, 10) == [waiting]
    # And the same change as a notification redelivered changes nothing, and writes nothing
    writes = len(account.writes)
    account.store.add(ACCOUNT, [first])
    assert account.store.oldest(ACCOUNT, 10) == [waiting]
    assert len(account.writes) == writes


def test_given_two_containers_that_read_no_entry_when_the_older_change_lands_last_then_the_newest_is_written_back(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given container A read the order's entry before container B recorded the order's newer change
    newer, older = change(1, seconds=60, notification="n-newer"), change(1, seconds=30)
    account.store.add(ACCOUNT, [newer])
    monkeypatch.setattr(aws.client("dynamodb"), "batch_get_item", lambda **_: {"Responses": {}})
    before = len(account.calls)

    # When A records the older change
    account.store.add(ACCOUNT, [older])

    # Then the newer change is pending, as B recorded it: A replaced it and wrote it back, and
    # neither write had a condition that could fail
    assert account.store.oldest(ACCOUNT, 10) == [newer]
    written = [params for name, params in account.calls[before:] if name in WRITES]
    assert [params["ExpressionAttributeValues"][":changed"]["N"] for params in written] == [
        str(int(older.changed.timestamp())),
        str(int(newer.changed.timestamp())),
    ]
    assert not any("ConditionExpression" in params for params in written)


def test_given_an_entry_removed_between_a_race_s_write_and_its_write_back_then_the_newest_change_is_pending_again(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order's newer change recorded, an older one recorded by a container that read no
    # entry, and the drainer removing the entry (as served at the older change) right after that
    # container's first write
    newer, older = change(1, seconds=60), change(1, seconds=30)
    account.store.add(ACCOUNT, [newer])
    client = aws.client("dynamodb")
    update_item = client.update_item
    monkeypatch.setattr(client, "batch_get_item", lambda **_: {"Responses": {}})

    def then_drained(**request: Any) -> Any:
        replaced = update_item(**request)
        if request["ExpressionAttributeValues"][":changed"]["N"] == str(int(older.changed.timestamp())):
            account.store.remove(ACCOUNT, [older])
        return replaced

    monkeypatch.setattr(client, "update_item", then_drained)

    # When the older change is recorded
    account.store.add(ACCOUNT, [older])

    # Then the newer change is pending again: nobody stored the order at it yet
    assert account.store.oldest(ACCOUNT, 10) == [newer]


def test_given_entries_read_when_removed_then_an_order_changed_since_keeps_its_entry(
    account: Account,
) -> None:
    # Given three orders' entries as the drainer read them, one of them put off after a failed fetch
    account.store.add(ACCOUNT, [change(1, seconds=0), change(2, seconds=5), change(3, seconds=10)])
    account.store.add(ACCOUNT, [change(3, seconds=10)._replace(attempts=1, not_before=NOW + 30.0)])
    read = account.store.oldest(ACCOUNT, 10)
    # And the first order changed again while they were being fetched
    again = change(1, seconds=45)
    account.store.add(ACCOUNT, [again])

    # When all three are removed as served (the put-off one by its change, as the drain knew it)
    account.store.remove(ACCOUNT, [*read[:2], change(3, seconds=10)])

    # Then the order changed since keeps its entry, its newest change; the others are gone
    assert account.store.oldest(ACCOUNT, 10) == [again]
    assert [e.changed for e in account.store.newest(ACCOUNT, 1)] == [again.changed]


def test_given_no_entry_of_an_order_when_it_is_removed_then_nothing_happens_quietly(
    account: Account,
) -> None:
    # Given one order's entry removed already, another order's entry, and the lease held
    served, other = change(1, seconds=0), change(2, seconds=5)
    account.store.add(ACCOUNT, [served, other])
    account.store.remove(ACCOUNT, [served])
    held = take(account, "container-a")
    lease = account.lease_item()

    # When the removed entry and one never added are removed: no error
    account.store.remove(ACCOUNT, [served, change(3, seconds=0)])

    # Then nothing changed: the other order's entry stays, the lease as held
    assert account.store.oldest(ACCOUNT, 10) == [other]
    assert held is not None and account.lease_item() == lease


def test_given_no_entry_then_there_is_no_newest_change_the_lease_not_counted(account: Account) -> None:
    # Given nothing pending
    assert account.store.newest(ACCOUNT, 1) == []

    # When the lease is taken and released with its buckets (an item of the same partition)
    held = take(account, "container-a")
    assert held is not None
    account.store.release_lease(ACCOUNT, held, SPENT)

    # Then still no newest change and no entry: the lease is neither
    assert account.lease_item() is not None
    assert account.store.newest(ACCOUNT, 1) == []
    assert account.store.oldest(ACCOUNT, 10) == []


def test_given_entries_then_the_newest_change_is_of_the_most_recently_changed_order(
    account: Account,
) -> None:
    # Given orders changed at times unrelated to their ids, added shuffled, with the lease held, and
    # one order's older change added after its newest
    changes = [change(order, seconds=10 * (order * 7 % 10)) for order in range(10)]
    assert take(account, "container-a") is not None
    account.store.add(ACCOUNT, random.Random(3).sample(changes, len(changes)))
    newest = max(changes, key=lambda entry: entry.changed)
    account.store.add(ACCOUNT, [change(int(newest.order_id[-7:]), seconds=0)])

    # When the newest change is asked, then it is the most recently changed order's, to the second
    found = next((e.changed for e in account.store.newest(ACCOUNT, 1)), None)
    assert found == newest.changed == T0 + timedelta(seconds=90)
    assert found is not None and found.tzinfo is not None
    # And once that order is served, the next most recent
    account.store.remove(ACCOUNT, [newest])
    assert [e.changed for e in account.store.newest(ACCOUNT, 1)] == [T0 + timedelta(seconds=80)]


@pytest.mark.parametrize(
    "other",
    [SellerAccount(ACCOUNT.seller_id, "eu"), SellerAccount("A2SELLERPENDING", ACCOUNT.region)],
    ids=["other-region", "other-seller"],
)
def test_given_entries_and_a_lease_of_one_account_then_another_account_sees_neither(
    account: Account, other: SellerAccount
) -> None:
    # Given an account with an entry and its lease held
    account.store.add(ACCOUNT, [change(1, seconds=0)])
    assert take(account, "container-a") is not None

    # Then the other account has no entry, no newest change, and its own free lease
    assert account.store.oldest(other, 10) == []
    assert account.store.newest(other, 1) == []
    taken = account.store.take_lease(other, "container-b", now=NOW, until=NOW + LEASE_SECONDS)
    assert taken == DrainLease("container-b", NOW + LEASE_SECONDS, 1, {})
    # And the same order's older change is the other account's own entry, not lost to this one's
    account.store.add(other, [change(1, seconds=-60)])
    assert account.store.oldest(other, 10) == [change(1, seconds=-60)]
    # And removing the other account's entry leaves this one's
    account.store.remove(other, [change(1, seconds=0)])
    assert account.store.oldest(other, 10) == []
    assert account.store.oldest(ACCOUNT, 10) == [change(1, seconds=0)]


def test_given_everything_the_adapter_does_then_each_call_is_one_the_drainers_role_may_make(
    account: Account,
) -> None:
    # When entries are added (several orders in one call), read, their newest change asked, removed,
    # and the lease taken and released
    account.store.add(ACCOUNT, [change(order, seconds=order) for order in range(30)])
    entries = account.store.oldest(ACCOUNT, 30)
    next((e.changed for e in account.store.newest(ACCOUNT, 1)), None)
    account.store.remove(ACCOUNT, entries)
    held = take(account, "container-a")
    assert held is not None
    account.store.release_lease(ACCOUNT, held, SPENT)

    # Then it called DynamoDB only as the drainer's role may (the catalog's grant, every action of
    # it used): single-item writes, never BatchWriteItem (a grant it does not have)
    assert {f"dynamodb:{name}" for name, _ in account.calls} == set(catalog.PENDING_ORDER_DRAINS)
    assert "BatchWriteItem" not in account.writes
    assert account.store.oldest(ACCOUNT, 30) == []


# -- the drainer's lease --------------------------------------------------------------------------------


def test_given_no_lease_when_taken_then_it_is_the_takers_with_no_buckets_and_nothing_expired(
    account: Account,
) -> None:
    taken = take(account, "container-a")

    assert taken == DrainLease("container-a", NOW + LEASE_SECONDS, 1, {}, expired_until=None)
    item = account.lease_item() or {}
    assert (item["owner"]["S"], int(item["version"]["N"])) == ("container-a", 1)


def test_given_a_held_lease_when_another_container_takes_it_then_none_without_any_write(
    account: Account,
) -> None:
    # Given a lease held until NOW + 60
    take(account, "container-a")
    before = account.lease_item()
    writes = len(account.writes)

    # When another container tries before then
    refused = take(account, "container-b", now=NOW + 30)

    # Then it is refused at the cost of a read: no write, nothing changed
    assert refused is None
    assert account.writes[writes:] == []
    assert account.lease_item() == before


def test_given_a_lease_whose_holder_vanished_when_taken_over_then_it_says_until_when_it_was_held(
    account: Account,
) -> None:
    # Given a lease released with buckets, then taken by a container that vanished with it
    first = take(account, "container-a")
    assert first is not None
    account.store.release_lease(ACCOUNT, first, SPENT)
    vanished = take(account, "container-b", now=NOW + 1)
    assert vanished is not None

    # When another container takes it after that holder's deadline
    taken = take(account, "container-c", now=NOW + 1 + LEASE_SECONDS + 1)

    # Then it is the taker's, with the buckets as last released and the vanished holder's deadline
    assert taken == DrainLease(
        "container-c", NOW + 2 + 2 * LEASE_SECONDS, 4, SPENT, expired_until=NOW + 1 + LEASE_SECONDS
    )
    # And the vanished holder, back, cannot release it: nothing changes
    before = account.lease_item()
    account.store.release_lease(ACCOUNT, vanished, {})
    assert account.lease_item() == before
    assert (account.lease_item() or {})["owner"] == {"S": "container-c"}


def test_given_a_released_lease_then_it_is_free_and_the_next_taker_gets_its_buckets_exactly(
    account: Account,
) -> None:
    # Given a lease held until NOW + 60
    held = take(account, "container-a")
    assert held is not None

    # When its owner releases it with its buckets
    account.store.release_lease(ACCOUNT, held, SPENT)

    # Then it is free at once (no owner) and the next taker starts from those buckets
    item = account.lease_item() or {}
    assert "owner" not in item and (float(item["until"]["N"]), int(item["version"]["N"])) == (0.0, 2)
    taken = take(account, "container-b", now=NOW + 1)
    assert taken == DrainLease("container-b", NOW + 1 + LEASE_SECONDS, 3, SPENT, expired_until=None)
    assert taken.buckets[GET_ORDER] == BucketState(1_790_000_123.25, 0.5, True)


def test_given_a_lost_lease_when_released_then_nothing_changes(account: Account) -> None:
    # Given a lease taken over by another container after its holder's deadline
    lost = take(account, "container-a")
    assert lost is not None
    assert take(account, "container-b", now=NOW + LEASE_SECONDS + 1) is not None
    before = account.lease_item()

    # When the old holder releases it
    account.store.release_lease(ACCOUNT, lost, SPENT)

    # Then nothing changes: the new holder keeps it, and its buckets
    assert account.lease_item() == before
    assert take(account, "container-c", now=NOW + LEASE_SECONDS + 2) is None


def test_given_two_containers_racing_for_a_free_lease_then_exactly_one_takes_it(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both containers read the lease free before either writes. moto in-process checks a
    # condition and writes without a lock: writes are serialised here, as DynamoDB's per item are.
    client = aws.client("dynamodb")
    get_item, update_item = client.get_item, client.update_item
    both_read = threading.Barrier(2, timeout=10)
    one_write = threading.Lock()

    def read_then_wait(**request: Any) -> Any:
        found = get_item(**request)
        both_read.wait()
        return found

    def serialised(**request: Any) -> Any:
        with one_write:
            return update_item(**request)

    monkeypatch.setattr(client, "get_item", read_then_wait)
    monkeypatch.setattr(client, "update_item", serialised)
    taken: dict[str, DrainLease | None] = {}

    def racer(owner: str) -> None:
        taken[owner] = take(account, owner)

    # When both take it
    threads = [threading.Thread(target=racer, args=(owner,)) for owner in ("container-a", "container-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one has it, and the item says which
    winners = [owner for owner, lease in taken.items() if lease is not None]
    assert len(taken) == 2 and len(winners) == 1
    item = account.lease_item() or {}
    assert (item["owner"]["S"], int(item["version"]["N"])) == (winners[0], 1)
