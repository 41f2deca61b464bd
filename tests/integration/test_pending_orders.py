"""The pending orders and their drainer's lease on DynamoDB (``DynamoDBPendingOrders``), against moto,
on the table as the catalog declares it."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws, catalog
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders, PendingOrdersWriteError
from sellerstream.domain.orders import BucketState, DrainLease, PendingChange, SellerAccount
from sellerstream_local.resources import create_catalog_tables

ACCOUNT = SellerAccount("A1SELLERPENDING", "na")
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
NOW = 1_790_000_000.0
LEASE_SECONDS = 60.0
GET_ORDER = "orders/2026-01-01:getOrder"
SPENT = {GET_ORDER: BucketState(1_790_000_123.25, 0.5, True)}
WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


class Account:
    """The catalog's tables on moto, the adapter on the pending orders table, and the calls it made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dynamodb = boto3.client("dynamodb")
        self.table = create_catalog_tables(self.dynamodb)[catalog.PENDING_ORDERS_TABLE.role]
        self.sleeps: list[float] = []
        self.store = DynamoDBPendingOrders(self.table, sleep=self.sleeps.append)
        self.writes: list[str] = []
        client = aws.client("dynamodb")
        for name in WRITES:
            monkeypatch.setattr(client, name, self._counted(name, getattr(client, name)))

    def _counted(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(**request: Any) -> Any:
            self.writes.append(name)
            return call(**request)

        return counted

    def lease_item(self, account: SellerAccount = ACCOUNT) -> dict[str, Any] | None:
        key = {"pk": {"S": f"{account.seller_id}#{account.region}"}, "sk": {"S": "LEASE"}}
        found: dict[str, Any] | None = self.dynamodb.get_item(TableName=self.table, Key=key).get("Item")
        return found


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mock_aws():
        aws.reset_clients()
        yield Account(monkeypatch)
    aws.reset_clients()


def change(order: int, seconds: int, notification: str | None = None) -> PendingChange:
    order_id = f"111-0000000-{order:07d}"
    return PendingChange(order_id, T0 + timedelta(seconds=seconds), notification or f"n-{order}-{seconds}")


def take(account: Account, owner: str, *, now: float = NOW) -> DrainLease | None:
    return account.store.take_lease(ACCOUNT, owner, now=now, until=now + LEASE_SECONDS)


# -- entries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "page_items", "queries"),
    [(25, None, 1), (100, None, 1), (100, 7, 5), (12, 5, 3)],
    ids=["limit-25", "limit-100", "limit-100-pages-of-7", "limit-12-pages-of-5"],
)
def test_given_30_changes_added_in_any_order_when_the_oldest_are_asked_then_they_come_oldest_first(
    account: Account, monkeypatch: pytest.MonkeyPatch, limit: int, page_items: int | None, queries: int
) -> None:
    # Given 30 changes of as many orders, added shuffled (more than one BatchWriteItem)
    changes = [change(order, seconds=10 * order) for order in range(30)]
    account.store.add(ACCOUNT, random.Random(7).sample(changes, len(changes)))
    # (DynamoDB ends a page at 1 MB read: with page_items, pages shorter than asked)
    client = aws.client("dynamodb")
    query = client.query
    requests: list[dict[str, Any]] = []

    def paged(**request: Any) -> Any:
        requests.append(request)
        return query(**{**request, "Limit": min(request["Limit"], page_items or request["Limit"])})

    monkeypatch.setattr(client, "query", paged)

    # When the oldest are asked
    oldest = account.store.oldest(ACCOUNT, limit)

    # Then the oldest `limit` of them, oldest first, each as it was added
    assert oldest == changes[:limit]
    assert all(entry.changed.tzinfo is not None for entry in oldest)
    assert account.writes.count("batch_write_item") == 2  # 25 + 5
    # And read strongly consistent, following the pages where a page ends early
    assert all(request["ConsistentRead"] for request in requests)
    assert len(requests) == queries


def test_given_the_same_change_added_twice_then_it_is_one_entry(account: Account) -> None:
    # Given one change, twice in one call and again in another
    twice = change(1, seconds=0)
    account.store.add(ACCOUNT, [twice, twice])
    account.store.add(ACCOUNT, [twice])

    # Then one entry
    assert account.store.oldest(ACCOUNT, 10) == [twice]


def test_given_several_changes_of_one_order_when_one_is_removed_then_the_others_stay(
    account: Account,
) -> None:
    # Given an order changed twice and another order changed at the same second as the first change
    first, second, other = change(1, seconds=0), change(1, seconds=30), change(2, seconds=0)
    account.store.add(ACCOUNT, [second, other, first])

    # When the first change is served
    account.store.remove(ACCOUNT, [first])

    # Then the order's later change and the other order's stay, oldest first
    assert account.store.oldest(ACCOUNT, 10) == [other, second]
    account.store.remove(ACCOUNT, [first])  # again: nothing to forget, no error
    assert account.store.oldest(ACCOUNT, 10) == [other, second]


@pytest.mark.parametrize(
    "other",
    [SellerAccount(ACCOUNT.seller_id, "eu"), SellerAccount("A2SELLERPENDING", ACCOUNT.region)],
    ids=["other-region", "other-seller"],
)
def test_given_entries_and_a_lease_of_one_account_then_another_account_sees_neither(
    account: Account, other: SellerAccount
) -> None:
    # Given an account with entries and its lease held
    account.store.add(ACCOUNT, [change(1, seconds=0)])
    assert take(account, "container-a") is not None

    # Then the other account has no entry and its own free lease
    assert account.store.oldest(other, 10) == []
    taken = account.store.take_lease(other, "container-b", now=NOW, until=NOW + LEASE_SECONDS)
    assert taken == DrainLease("container-b", NOW + LEASE_SECONDS, 1, {})
    # And removing the other account's entry leaves this one's
    account.store.remove(other, [change(1, seconds=0)])
    assert account.store.oldest(ACCOUNT, 10) == [change(1, seconds=0)]


def test_given_dynamodb_leaving_items_unprocessed_a_while_then_they_are_sent_again(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB leaves every item of the first two requests unprocessed (throttled)
    client = aws.client("dynamodb")
    batch_write_item = client.batch_write_item
    refusals = [2]

    def throttled(**request: Any) -> Any:
        if refusals[0]:
            refusals[0] -= 1
            return {"UnprocessedItems": request["RequestItems"]}
        return batch_write_item(**request)

    monkeypatch.setattr(client, "batch_write_item", throttled)

    # When changes are added
    account.store.add(ACCOUNT, [change(1, seconds=0), change(2, seconds=1)])

    # Then they are stored after two short waits
    assert account.store.oldest(ACCOUNT, 10) == [change(1, seconds=0), change(2, seconds=1)]
    assert len(account.sleeps) == 2 and all(0 <= wait <= 1 for wait in account.sleeps)


@pytest.mark.parametrize("operation", ["add", "remove"], ids=["add", "remove"])
def test_given_dynamodb_leaving_items_unprocessed_every_time_then_the_caller_is_told(
    account: Account, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    # Given DynamoDB leaves every item unprocessed
    client = aws.client("dynamodb")
    monkeypatch.setattr(client, "batch_write_item", lambda **r: {"UnprocessedItems": r["RequestItems"]})

    # When changes are added or removed, then the caller learns they are not (a typed, transient error)
    with pytest.raises(PendingOrdersWriteError, match="unprocessed"):
        getattr(account.store, operation)(ACCOUNT, [change(1, seconds=0)])


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
