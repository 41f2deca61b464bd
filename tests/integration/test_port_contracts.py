"""Every port keeps the same promises in memory and on AWS: each contract runs against the fake the
use cases' tests rely on (``tests/support/fakes.py``) and against its AWS adapter on moto.

A port that cannot read back what it stored (a put without a get) is observed through a probe: the
fake's memory, or the adapter's item as DynamoDB holds it. The assertions are the same for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.utils import unix_time_millis

from sellerstream import aws, catalog
from sellerstream.adapters.app_secret import DynamoDBClientSecretStates
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.dynamo import from_attribute_map
from sellerstream.adapters.feeds import DynamoDBFeedStore
from sellerstream.adapters.listings import DynamoDBListingStore, listing_key
from sellerstream.adapters.notifications import DynamoDBNotificationStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.adapters.queue import SqsMessageQueue
from sellerstream.adapters.reports import DynamoDBReportStore, ReportRowReader, ReportRowWriter
from sellerstream.domain.credentials import ClientSecretState
from sellerstream.domain.feeds import NO_DOCUMENT, PARSED, UNREADABLE, FeedRecord
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.notifications import NotificationRecord
from sellerstream.domain.orders import (
    BacklogWindow,
    BucketState,
    DrainLease,
    OrderRecord,
    PendingChange,
    SellerAccount,
    WriteOutcome,
)
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredPackage
from sellerstream.domain.reports import COMPLETE, IN_PROGRESS, RawDocument, ReportRows
from sellerstream.ports import (
    ClientSecretStates,
    FeedStore,
    ListingStore,
    MessageQueue,
    NotificationStore,
    OrderStore,
    PackageStore,
    PendingOrders,
    ReportStore,
    RowStore,
    SearchWindows,
)
from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.resources import create_catalog_tables, create_queue, create_table
from tests.support.fakes import (
    FakeClientSecretStates,
    FakeClock,
    FakeFeedStore,
    FakeListingStore,
    FakeMessageQueue,
    FakeNotificationStore,
    FakeOrderStore,
    FakePackageStore,
    FakePendingOrders,
    FakeReportStore,
    FakeRowStore,
    FakeSearchWindows,
)

SELLER = "A1SELLERCONTRACT"
OTHER_SELLER = "A2SELLERCONTRACT"
ORDER = "111-0000000-0000001"
MARKETPLACE = "ATVPDKIKX0DER"
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ON_DYNAMODB = ["fake", "dynamodb"]


class AwsAccount(NamedTuple):
    dynamodb: Any
    sqs: Any
    tables: dict[str, str]  # by role (catalog)

    def item(self, role: str, key: dict[str, str]) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(
            TableName=self.tables[role], Key={name: {"S": value} for name, value in key.items()}
        ).get("Item")
        return from_attribute_map(found) if found else None


@pytest.fixture
def aws_account() -> Iterator[AwsAccount]:
    """The stack's tables on moto, declared as the stack declares them (the catalog)."""
    with mock_aws():
        aws.reset_clients()
        dynamodb = boto3.client("dynamodb")
        yield AwsAccount(dynamodb, boto3.client("sqs"), create_catalog_tables(dynamodb))
    aws.reset_clients()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_790_000_000.0)


def as_stored(value: Any) -> Any:
    """A value as a probe shows it: times as the adapters store them (sortable strings)."""
    return sortable_timestamp(value) if isinstance(value, datetime) else value


# -- OrderStore -------------------------------------------------------------------------------------


class Orders(NamedTuple):
    store: OrderStore
    order: Callable[[str, str], dict[str, Any] | None]  # what is stored of the order, PII aside
    pii: Callable[[str, str], dict[str, Any] | None]  # the order's buyer and recipient data


@pytest.fixture(params=ON_DYNAMODB)
def orders(request: pytest.FixtureRequest) -> Orders:
    if request.param == "fake":
        fake = FakeOrderStore()
        return Orders(
            fake,
            lambda seller, order: (
                dict(fake.orders[(seller, order)].attributes) if (seller, order) in fake.orders else None
            ),
            lambda seller, order: fake.pii.get((seller, order)),
        )
    account: AwsAccount = request.getfixturevalue("aws_account")
    return Orders(
        DynamoDBOrderStore(account.tables["orders"]),
        lambda seller, order: account.item("orders", {"pk": f"SELLER#{seller}", "sk": f"ORDER#{order}"}),
        lambda seller, order: account.item("orders", {"pk": f"SELLER#{seller}", "sk": f"PII#ORDER#{order}"}),
    )


def order(
    last_updated: datetime,
    status: str,
    *,
    pii: dict[str, Any] | None = None,
    seller_id: str = SELLER,
    order_id: str = ORDER,
) -> OrderRecord:
    # The attributes repeat the ids, as the order records the use cases build do.
    return OrderRecord(
        seller_id,
        order_id,
        last_updated,
        {"seller_id": seller_id, "order_id": order_id, "order_status": status},
        pii=pii,
        pii_expires_at=last_updated + timedelta(days=30) if pii else None,
    )


def test_given_no_order_when_one_is_written_then_it_is_stored_with_its_last_update(orders: Orders) -> None:
    outcome = orders.store.put_if_newer(order(T0, "Unshipped"))

    assert outcome is WriteOutcome.WRITTEN
    stored = orders.order(SELLER, ORDER)
    assert stored is not None and stored["order_status"] == "Unshipped"
    assert orders.store.last_updated_of([(SELLER, ORDER)]) == {(SELLER, ORDER): T0}


def test_given_a_newer_order_stored_when_an_older_state_arrives_then_it_is_refused(orders: Orders) -> None:
    orders.store.put_if_newer(order(T0 + MINUTE, "Shipped"))

    outcome = orders.store.put_if_newer(order(T0, "Unshipped"))

    assert outcome is WriteOutcome.STALE
    assert (orders.order(SELLER, ORDER) or {})["order_status"] == "Shipped"
    assert orders.store.last_updated_of([(SELLER, ORDER)]) == {(SELLER, ORDER): T0 + MINUTE}


def test_given_an_order_stored_when_the_same_state_arrives_again_then_it_is_refused(orders: Orders) -> None:
    orders.store.put_if_newer(order(T0, "Unshipped"))

    assert orders.store.put_if_newer(order(T0, "Unshipped")) is WriteOutcome.STALE


def test_given_an_order_stored_when_a_newer_state_arrives_then_it_replaces_it(orders: Orders) -> None:
    orders.store.put_if_newer(order(T0, "Unshipped"))

    outcome = orders.store.put_if_newer(order(T0 + MINUTE, "Shipped"))

    assert outcome is WriteOutcome.WRITTEN
    assert (orders.order(SELLER, ORDER) or {})["order_status"] == "Shipped"


def test_given_pii_arriving_in_parts_when_orders_are_written_then_each_part_is_kept_until_replaced(
    orders: Orders,
) -> None:
    orders.store.put_if_newer(order(T0, "Unshipped", pii={"buyer": {"name": "B1"}}))
    orders.store.put_if_newer(order(T0 + MINUTE, "Unshipped", pii={"recipient": {"city": "Seattle"}}))
    orders.store.put_if_newer(order(T0 + 2 * MINUTE, "Shipped", pii={"buyer": {"name": "B2"}}))
    orders.store.put_if_newer(order(T0 + 3 * MINUTE, "Canceled"))  # Amazon withholds PII again

    pii = orders.pii(SELLER, ORDER) or {}
    assert pii["buyer"] == {"name": "B2"}
    assert pii["recipient"] == {"city": "Seattle"}
    stored = orders.order(SELLER, ORDER) or {}
    assert stored["order_status"] == "Canceled" and "buyer" not in stored and "recipient" not in stored


def test_given_a_newer_order_stored_when_an_older_one_brings_pii_then_the_pii_is_not_written_either(
    orders: Orders,
) -> None:
    orders.store.put_if_newer(order(T0 + MINUTE, "Shipped", pii={"buyer": {"name": "newer"}}))

    outcome = orders.store.put_if_newer(order(T0, "Unshipped", pii={"buyer": {"name": "older"}}))

    assert outcome is WriteOutcome.STALE
    assert (orders.pii(SELLER, ORDER) or {})["buyer"] == {"name": "newer"}


def test_given_some_orders_stored_when_their_last_updates_are_asked_then_absent_ones_are_left_out(
    orders: Orders,
) -> None:
    orders.store.put_if_newer(order(T0, "Unshipped"))
    orders.store.put_if_newer(order(T0 + MINUTE, "Shipped", order_id="111-0000000-0000002"))
    orders.store.put_if_newer(order(T0 + 2 * MINUTE, "Shipped", seller_id=OTHER_SELLER))

    found = orders.store.last_updated_of(
        [
            (SELLER, ORDER),
            (SELLER, "111-0000000-0000002"),
            (SELLER, "111-0000000-0000003"),
            (SELLER, ORDER),  # asked twice: answered once
        ]
    )

    assert found == {(SELLER, ORDER): T0, (SELLER, "111-0000000-0000002"): T0 + MINUTE}


@pytest.mark.parametrize("orders", ["fake", "dynamodb"], indirect=True)
def test_given_an_order_whose_attributes_omit_its_ids_when_stored_then_its_last_update_is_found(
    orders: Orders,
) -> None:
    orders.store.put_if_newer(OrderRecord(SELLER, ORDER, T0, {"order_status": "Unshipped"}))

    assert orders.store.last_updated_of([(SELLER, ORDER)]) == {(SELLER, ORDER): T0}


# -- ListingStore -----------------------------------------------------------------------------------

SKU = "SKU/ü#1"  # a SKU may hold any character


class Listings(NamedTuple):
    store: ListingStore
    listing: Callable[[str, str, str], dict[str, Any] | None]


@pytest.fixture(params=ON_DYNAMODB)
def listings(request: pytest.FixtureRequest) -> Listings:
    if request.param == "fake":
        fake = FakeListingStore()

        def stored_in_memory(seller: str, marketplace: str, sku: str) -> dict[str, Any] | None:
            found = fake.listings.get((seller, marketplace, sku))
            return {name: as_stored(value) for name, value in found.items()} if found is not None else None

        return Listings(fake, stored_in_memory)
    account: AwsAccount = request.getfixturevalue("aws_account")
    return Listings(
        DynamoDBListingStore(account.tables["listings"]),
        lambda seller, marketplace, sku: account.item("listings", listing_key(seller, marketplace, sku)),
    )


def listing(last_updated: datetime, **attributes: Any) -> ListingRecord:
    return ListingRecord(
        SELLER, MARKETPLACE, SKU, last_updated, {"status": ["BUYABLE"], "asin": "B000000001", **attributes}
    )


def test_given_no_listing_when_one_is_written_then_it_is_stored_not_deleted(listings: Listings) -> None:
    assert listings.store.put_if_newer(listing(T0, title="Mug")) is WriteOutcome.WRITTEN

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert (stored["title"], stored["status"], stored["deleted"]) == ("Mug", ["BUYABLE"], False)
    assert stored["last_updated"] == sortable_timestamp(T0)


def test_given_a_listing_stored_when_an_older_or_the_same_version_arrives_then_it_is_refused(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0, title="new"))

    assert listings.store.put_if_newer(listing(T0 - MINUTE, title="old")) is WriteOutcome.STALE
    assert listings.store.put_if_newer(listing(T0, title="same")) is WriteOutcome.STALE
    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["title"] == "new"


def test_given_a_listing_stored_when_a_newer_version_arrives_then_it_replaces_the_whole_listing(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0, title="Mug", colour="red"))

    assert listings.store.put_if_newer(listing(T0 + MINUTE, title="Big mug")) is WriteOutcome.WRITTEN

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["title"] == "Big mug" and "colour" not in stored


def test_given_a_listing_stored_when_it_is_deleted_then_it_is_flagged_and_its_history_stays(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0, title="Mug"))

    outcome = listings.store.mark_deleted(
        SELLER, MARKETPLACE, SKU, as_of=T0 + MINUTE, attributes={"status": ["DELETED"], "note": None}
    )

    assert outcome is WriteOutcome.WRITTEN
    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert (stored["deleted"], stored["status"]) == (True, ["DELETED"])
    assert stored["deleted_at"] == stored["last_updated"] == sortable_timestamp(T0 + MINUTE)
    assert (stored["title"], stored["asin"]) == ("Mug", "B000000001")
    assert "note" not in stored  # unknown now: nothing is written for it


def test_given_a_listing_with_a_value_when_a_deletion_does_not_know_it_then_the_value_stays(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0, title="Mug", fulfillment="MFN"))

    listings.store.mark_deleted(
        SELLER, MARKETPLACE, SKU, as_of=T0 + MINUTE, attributes={"status": ["DELETED"], "fulfillment": None}
    )

    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["fulfillment"] == "MFN"


def test_given_a_newer_listing_stored_when_an_older_deletion_arrives_then_it_is_refused(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0 + MINUTE, title="Mug"))

    outcome = listings.store.mark_deleted(
        SELLER, MARKETPLACE, SKU, as_of=T0, attributes={"status": ["DELETED"]}
    )

    assert outcome is WriteOutcome.STALE
    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["deleted"] is False


def test_given_an_unknown_listing_when_it_is_deleted_then_a_tombstone_is_stored(listings: Listings) -> None:
    outcome = listings.store.mark_deleted(
        SELLER, MARKETPLACE, SKU, as_of=T0, attributes={"status": ["DELETED"]}
    )

    assert outcome is WriteOutcome.WRITTEN
    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert (stored["deleted"], stored["last_updated"]) == (True, sortable_timestamp(T0))


def test_given_a_deleted_listing_when_it_is_listed_again_later_then_it_is_no_longer_deleted(
    listings: Listings,
) -> None:
    listings.store.mark_deleted(SELLER, MARKETPLACE, SKU, as_of=T0, attributes={"status": ["DELETED"]})

    assert listings.store.put_if_newer(listing(T0 - MINUTE)) is WriteOutcome.STALE
    assert listings.store.put_if_newer(listing(T0 + MINUTE)) is WriteOutcome.WRITTEN
    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["deleted"] is False


def test_given_a_listing_in_one_marketplace_when_another_is_written_then_each_is_kept(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0, title="US"))
    other = ListingRecord(SELLER, "A1F83G8C2ARO7P", SKU, T0 - MINUTE, {"title": "UK"})

    assert listings.store.put_if_newer(other) is WriteOutcome.WRITTEN
    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["title"] == "US"
    assert (listings.listing(SELLER, "A1F83G8C2ARO7P", SKU) or {})["title"] == "UK"


# -- SearchWindows ----------------------------------------------------------------------------------

WINDOW = "BACKLOG#app#A1SELLERCONTRACT#NA"
LEASE = 60.0


@pytest.fixture(params=ON_DYNAMODB)
def windows(request: pytest.FixtureRequest, clock: FakeClock) -> SearchWindows:
    if request.param == "fake":
        return FakeSearchWindows(clock=clock)
    account: AwsAccount = request.getfixturevalue("aws_account")
    return DynamoDBSearchWindows(account.tables["rate_budget"], clock=clock)


def start(windows: SearchWindows, previous: BacklogWindow | None = None) -> BacklogWindow | None:
    return windows.start(WINDOW, after=T0 - 60 * MINUTE, before=T0, previous=previous, lease_seconds=LEASE)


def test_given_no_window_when_one_is_started_then_it_is_stored_leased_to_its_starter(
    windows: SearchWindows, clock: FakeClock
) -> None:
    started = start(windows)

    assert started == BacklogWindow(T0 - 60 * MINUTE, T0, None, False, 1, clock() + LEASE, 0, 0)
    assert windows.load(WINDOW) == started
    assert windows.load("BACKLOG#app#OTHER#NA") is None


def test_given_a_window_started_elsewhere_when_another_container_starts_one_then_it_gets_none(
    windows: SearchWindows,
) -> None:
    first = start(windows)

    assert start(windows) is None
    assert windows.load(WINDOW) == first


def test_given_a_leased_window_when_claimed_then_none_until_its_lease_expires(
    windows: SearchWindows, clock: FakeClock
) -> None:
    started = start(windows)
    assert started is not None

    assert windows.claim(WINDOW, started, LEASE) is None
    clock.now += LEASE + 1
    claimed = windows.claim(WINDOW, started, LEASE)

    assert claimed is not None
    assert (claimed.version, claimed.lease_until) == (2, clock() + LEASE)
    assert windows.load(WINDOW) == claimed


def test_given_two_containers_that_read_a_free_window_when_both_claim_then_only_the_first_gets_it(
    windows: SearchWindows, clock: FakeClock
) -> None:
    started = start(windows)
    assert started is not None
    clock.now += LEASE + 1
    seen_by_both = windows.load(WINDOW)
    assert seen_by_both is not None

    first = windows.claim(WINDOW, seen_by_both, LEASE)
    second = windows.claim(WINDOW, seen_by_both, LEASE)

    assert first is not None and second is None
    assert windows.load(WINDOW) == first


def test_given_a_claimed_window_when_a_page_is_recorded_then_it_advances_and_its_lease_is_released(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None

    advanced = windows.advance(WINDOW, started, next_token="page-2", orders_stored=100)

    assert advanced is not None
    assert (advanced.next_token, advanced.done, advanced.version) == ("page-2", False, 2)
    assert (advanced.pages, advanced.orders, advanced.lease_until) == (1, 100, 0.0)
    assert windows.load(WINDOW) == advanced


def test_given_the_last_page_when_recorded_then_the_window_is_done_and_cannot_be_claimed(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None
    middle = windows.advance(WINDOW, started, next_token="page-2", orders_stored=100)
    assert middle is not None

    done = windows.advance(WINDOW, middle, next_token=None, orders_stored=7)

    assert done is not None and done.done and (done.pages, done.orders, done.next_token) == (2, 107, None)
    assert windows.load(WINDOW) == done
    assert windows.claim(WINDOW, done, LEASE) is None


def test_given_a_window_changed_elsewhere_when_a_stale_version_is_advanced_then_none_and_nothing_changes(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None
    current = windows.advance(WINDOW, started, next_token="page-2", orders_stored=100)

    assert windows.advance(WINDOW, started, next_token="page-9", orders_stored=1) is None
    assert windows.load(WINDOW) == current


def test_given_a_claimed_window_when_released_then_anyone_may_claim_it_at_once(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None

    windows.release(WINDOW, started)

    released = windows.load(WINDOW)
    assert released is not None and (released.version, released.lease_until) == (2, 0.0)
    assert windows.claim(WINDOW, released, LEASE) is not None


def test_given_a_window_changed_elsewhere_when_a_stale_version_is_released_then_nothing_changes(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None
    current = windows.advance(WINDOW, started, next_token="page-2", orders_stored=3)

    windows.release(WINDOW, started)

    assert windows.load(WINDOW) == current


def test_given_a_done_window_when_the_next_one_is_started_on_it_then_it_follows_its_version(
    windows: SearchWindows,
) -> None:
    started = start(windows)
    assert started is not None
    done = windows.advance(WINDOW, started, next_token=None, orders_stored=3)
    assert done is not None

    following = windows.start(WINDOW, after=T0, before=T0 + 60 * MINUTE, previous=done, lease_seconds=LEASE)

    assert following is not None and (following.version, following.after, following.pages) == (3, T0, 0)
    assert (
        windows.start(WINDOW, after=T0, before=T0 + 60 * MINUTE, previous=done, lease_seconds=LEASE) is None
    )


# -- PackageStore -----------------------------------------------------------------------------------


@pytest.fixture(params=ON_DYNAMODB)
def packages(request: pytest.FixtureRequest) -> PackageStore:
    if request.param == "fake":
        return FakePackageStore()
    account: AwsAccount = request.getfixturevalue("aws_account")
    return DynamoDBPackageStore(account.tables["orders"])


def package(
    reference: str = "1", *, order_id: str = ORDER, version: int = 1, tracking: str = "1Z001"
) -> StoredPackage:
    return StoredPackage(
        seller_id=SELLER,
        order_id=order_id,
        package_reference_id=reference,
        marketplace_id=MARKETPLACE,
        carrier_code="UPS",
        carrier_name=None,
        shipping_method="Ground",
        tracking_number=tracking,
        ship_date="2026-09-01T12:00:00Z",
        items={"item-2": 1, "item-1": 2},
        confirmed_at="2026-09-01T12:00:05Z",
        updated_at="2026-09-01T12:00:05Z",
        amazon_request_id="amzn-request-1",
        request_id="request-1",
        version=version,
    )


def test_given_no_package_when_a_new_one_is_put_then_it_is_the_orders_package(packages: PackageStore) -> None:
    packages.put(package("1"), expected_version=None)

    assert packages.packages_of(SELLER, ORDER) == [package("1")]


def test_given_a_package_when_another_request_puts_it_as_new_then_it_is_refused_and_kept(
    packages: PackageStore,
) -> None:
    packages.put(package("1"), expected_version=None)

    with pytest.raises(ConcurrentPackageUpdateError):
        packages.put(package("1", tracking="1Z999"), expected_version=None)

    assert packages.packages_of(SELLER, ORDER) == [package("1")]


def test_given_a_package_when_updated_at_the_version_read_then_the_update_is_stored(
    packages: PackageStore,
) -> None:
    packages.put(package("1"), expected_version=None)

    packages.put(package("1", version=2, tracking="1Z002"), expected_version=1)

    assert packages.packages_of(SELLER, ORDER) == [package("1", version=2, tracking="1Z002")]


def test_given_a_package_changed_meanwhile_when_updated_at_an_older_version_then_it_is_refused(
    packages: PackageStore,
) -> None:
    packages.put(package("1"), expected_version=None)
    packages.put(package("1", version=2, tracking="1Z002"), expected_version=1)

    with pytest.raises(ConcurrentPackageUpdateError):
        packages.put(package("1", version=2, tracking="1Z003"), expected_version=1)

    assert packages.packages_of(SELLER, ORDER)[0].tracking_number == "1Z002"


def test_given_no_package_when_an_update_expects_one_then_it_is_refused(packages: PackageStore) -> None:
    with pytest.raises(ConcurrentPackageUpdateError):
        packages.put(package("1", version=2), expected_version=1)

    assert packages.packages_of(SELLER, ORDER) == []


def test_given_packages_of_several_orders_when_one_orders_are_read_then_only_its_own_in_reference_order(
    packages: PackageStore,
) -> None:
    similar_order = f"{ORDER}0"  # an id that begins with the other's
    for reference, order_id in (("2", ORDER), ("1", similar_order), ("1", ORDER)):
        packages.put(package(reference, order_id=order_id), expected_version=None)

    assert [p.package_reference_id for p in packages.packages_of(SELLER, ORDER)] == ["1", "2"]
    assert [p.order_id for p in packages.packages_of(SELLER, similar_order)] == [similar_order]
    assert packages.packages_of(OTHER_SELLER, ORDER) == []


def test_given_an_order_not_stored_when_its_items_are_asked_then_none(packages: PackageStore) -> None:
    assert packages.order_items(SELLER, ORDER) is None


# -- ClientSecretStates -----------------------------------------------------------------------------

CLIENT = "amzn1.application-oa2-client.contract"


@pytest.fixture(params=ON_DYNAMODB)
def secret_states(request: pytest.FixtureRequest) -> ClientSecretStates:
    if request.param == "fake":
        return FakeClientSecretStates()
    account: AwsAccount = request.getfixturevalue("aws_account")
    return DynamoDBClientSecretStates(account.tables["accounts"])


def notice(
    states: ClientSecretStates, at: datetime, expires: datetime, reason: str | None = "ROTATE"
) -> bool:
    return states.record_expiry_notice(CLIENT, expires_at=expires, reason=reason, notice_time=at)


def new_secret(
    states: ClientSecretStates, at: datetime, expires: datetime | None, previous: datetime | None = None
) -> bool:
    return states.record_new_secret(CLIENT, expires_at=expires, updated_at=at, previous_expires_at=previous)


def test_given_nothing_known_when_asked_then_no_state(secret_states: ClientSecretStates) -> None:
    assert secret_states.get(CLIENT) is None


def test_given_nothing_known_when_an_expiry_notice_arrives_then_it_is_what_is_known(
    secret_states: ClientSecretStates,
) -> None:
    assert notice(secret_states, T0, T0 + timedelta(days=7), "PERIODIC_ROTATION")

    assert secret_states.get(CLIENT) == ClientSecretState(
        CLIENT,
        expires_at=T0 + timedelta(days=7),
        expiry_notice_at=T0,
        expiry_reason="PERIODIC_ROTATION",
        expires_at_source="expiry_notice",
    )


def test_given_a_notice_known_when_an_older_or_as_old_notice_arrives_then_it_is_refused(
    secret_states: ClientSecretStates,
) -> None:
    notice(secret_states, T0, T0 + timedelta(days=7))
    known = secret_states.get(CLIENT)

    assert not notice(secret_states, T0 - MINUTE, T0 + timedelta(days=1))
    assert not notice(secret_states, T0, T0 + timedelta(days=2))
    assert secret_states.get(CLIENT) == known


def test_given_a_notice_known_when_a_new_secret_arrives_then_it_replaces_the_expiry_and_clears_the_reason(
    secret_states: ClientSecretStates,
) -> None:
    notice(secret_states, T0, T0 + timedelta(days=7))

    assert new_secret(secret_states, T0 + MINUTE, T0 + timedelta(days=365), previous=T0 + timedelta(days=7))

    assert secret_states.get(CLIENT) == ClientSecretState(
        CLIENT,
        expires_at=T0 + timedelta(days=365),
        secret_updated_at=T0 + MINUTE,
        expiry_notice_at=T0,
        previous_secret_expires_at=T0 + timedelta(days=7),
        expiry_reason=None,
        expires_at_source="new_secret",
    )


def test_given_a_new_secret_known_when_a_notice_from_before_it_arrives_late_then_it_is_refused(
    secret_states: ClientSecretStates,
) -> None:
    new_secret(secret_states, T0, T0 + timedelta(days=365))
    known = secret_states.get(CLIENT)

    assert not notice(secret_states, T0 - MINUTE, T0 + timedelta(days=7))
    assert not notice(secret_states, T0, T0 + timedelta(days=7))
    assert secret_states.get(CLIENT) == known


def test_given_a_new_secret_known_when_a_later_notice_arrives_then_it_is_recorded_for_that_secret(
    secret_states: ClientSecretStates,
) -> None:
    new_secret(secret_states, T0, T0 + timedelta(days=365))

    assert notice(secret_states, T0 + MINUTE, T0 + timedelta(days=30))

    state = secret_states.get(CLIENT)
    assert state is not None
    assert (state.expires_at, state.expires_at_source, state.secret_updated_at) == (
        T0 + timedelta(days=30),
        "expiry_notice",
        T0,
    )


def test_given_a_new_secret_known_when_an_older_or_as_old_new_secret_arrives_then_it_is_refused(
    secret_states: ClientSecretStates,
) -> None:
    new_secret(secret_states, T0, T0 + timedelta(days=365))
    known = secret_states.get(CLIENT)

    assert not new_secret(secret_states, T0 - MINUTE, T0 + timedelta(days=100))
    assert not new_secret(secret_states, T0, T0 + timedelta(days=100))
    assert secret_states.get(CLIENT) == known


def test_given_an_expiry_known_when_a_new_secret_without_an_expiry_arrives_then_none_is_known(
    secret_states: ClientSecretStates,
) -> None:
    notice(secret_states, T0, T0 + timedelta(days=7), "ROTATE")

    assert new_secret(secret_states, T0 + MINUTE, None)

    state = secret_states.get(CLIENT)
    assert state is not None
    assert (state.expires_at, state.expires_at_source, state.expiry_reason) == (None, None, None)
    assert state.previous_secret_expires_at is None


# -- ReportStore ------------------------------------------------------------------------------------

REPORT = "50001020304"


@pytest.fixture(params=ON_DYNAMODB)
def reports(request: pytest.FixtureRequest) -> ReportStore:
    if request.param == "fake":
        return FakeReportStore()
    account: AwsAccount = request.getfixturevalue("aws_account")
    return DynamoDBReportStore(account.tables["reports"])


def test_given_no_report_record_when_its_progress_is_asked_then_none(reports: ReportStore) -> None:
    assert reports.progress(SELLER, REPORT) is None


def test_given_a_saved_checkpoint_when_its_progress_is_asked_then_it_says_where_to_resume(
    reports: ReportStore,
) -> None:
    reports.save(
        SELLER,
        REPORT,
        {
            "ingestion_status": IN_PROGRESS,
            "report": {"reportId": REPORT, "processingStatus": "DONE"},
            "raw_document": {"key": f"reports/{SELLER}/{REPORT}.gz", "compressed": True},
            "rows_written": 12_000,
            "parts": 2,
            "first_started_at": "2026-09-01T12:00:00Z",
            "ingest_seconds": 41.5,
            "row_blocks": {"bucket": "reports", "prefix": f"rows/{SELLER}/{REPORT}/"},
            "rows_expire_at": 1_795_000_000,
        },
    )

    progress = reports.progress(SELLER, REPORT)

    assert progress is not None
    assert (progress.status, progress.complete) == (IN_PROGRESS, False)
    assert progress.details is not None and progress.details["processingStatus"] == "DONE"
    assert progress.raw_document == RawDocument(f"reports/{SELLER}/{REPORT}.gz", True)
    assert (progress.rows_written, progress.parts, progress.ingest_seconds) == (12_000, 2, 41.5)
    assert (progress.first_started_at, progress.rows_expire_at) == ("2026-09-01T12:00:00Z", 1_795_000_000)


def test_given_a_saved_checkpoint_when_the_record_is_saved_again_then_the_new_record_is_the_whole_record(
    reports: ReportStore,
) -> None:
    reports.save(SELLER, REPORT, {"ingestion_status": IN_PROGRESS, "rows_written": 500, "parts": 1})

    reports.save(SELLER, REPORT, {"ingestion_status": COMPLETE, "parts": 2})

    progress = reports.progress(SELLER, REPORT)
    assert progress is not None and progress.complete
    assert (progress.rows_written, progress.parts, progress.raw_document) == (0, 2, None)


@pytest.mark.parametrize("late", [IN_PROGRESS, COMPLETE, "FAILED"])
def test_given_a_complete_report_when_a_late_part_saves_then_refused_and_the_record_stays(
    reports: ReportStore, late: str
) -> None:
    assert reports.save(SELLER, REPORT, {"ingestion_status": COMPLETE, "row_count": 900, "parts": 3})

    saved = reports.save(SELLER, REPORT, {"ingestion_status": late, "rows_written": 400, "parts": 2})

    progress = reports.progress(SELLER, REPORT)
    assert saved is False
    assert progress is not None and progress.complete and progress.parts == 3


def test_given_no_report_record_when_an_interrupted_part_checkpoints_then_the_record_is_created(
    reports: ReportStore,
) -> None:
    created = reports.checkpoint(
        SELLER,
        REPORT,
        {"ingestion_status": IN_PROGRESS, "rows_written": 0, "parts": 1, "stalled_parts": 1, "unknown": None},
    )

    progress = reports.progress(SELLER, REPORT)
    assert created and progress is not None
    assert (progress.status, progress.rows_written, progress.parts, progress.stalled_parts) == (
        IN_PROGRESS,
        0,
        1,
        1,
    )


def test_given_a_saved_checkpoint_when_an_interrupted_part_checkpoints_then_what_it_did_not_learn_stays(
    reports: ReportStore,
) -> None:
    reports.save(
        SELLER,
        REPORT,
        {
            "ingestion_status": IN_PROGRESS,
            "raw_document": {"key": f"reports/{SELLER}/{REPORT}.gz", "compressed": True},
            "rows_written": 1_000,
            "parts": 1,
            "rows_expire_at": 1_795_000_000,
        },
    )

    merged = reports.checkpoint(
        SELLER,
        REPORT,
        {"ingestion_status": IN_PROGRESS, "rows_written": 1_600, "parts": 2, "stalled_parts": 0},
    )

    progress = reports.progress(SELLER, REPORT)
    assert merged and progress is not None
    assert (progress.rows_written, progress.parts, progress.stalled_parts) == (1_600, 2, 0)
    assert progress.raw_document == RawDocument(f"reports/{SELLER}/{REPORT}.gz", True)
    assert progress.rows_expire_at == 1_795_000_000


@pytest.mark.parametrize(
    ("stored", "rows_written"),
    [
        ({"ingestion_status": COMPLETE, "rows_written": 300, "row_count": 300, "parts": 2}, 300),
        ({"ingestion_status": IN_PROGRESS, "rows_written": 2_000, "parts": 3}, 1_000),
    ],
    ids=["complete", "further_along"],
)
def test_given_a_record_finished_or_further_along_when_a_late_part_checkpoints_then_refused_and_unchanged(
    reports: ReportStore, stored: dict[str, Any], rows_written: int
) -> None:
    reports.save(SELLER, REPORT, stored)

    merged = reports.checkpoint(
        SELLER, REPORT, {"ingestion_status": IN_PROGRESS, "rows_written": rows_written, "parts": 2}
    )

    progress = reports.progress(SELLER, REPORT)
    assert not merged and progress is not None
    assert (progress.status, progress.rows_written, progress.parts) == (
        stored["ingestion_status"],
        stored["rows_written"],
        stored["parts"],
    )


def test_given_reports_of_two_sellers_with_one_id_when_saved_then_each_seller_has_its_own(
    reports: ReportStore,
) -> None:
    reports.save(SELLER, REPORT, {"ingestion_status": COMPLETE})
    reports.save(OTHER_SELLER, REPORT, {"ingestion_status": IN_PROGRESS})

    mine, theirs = reports.progress(SELLER, REPORT), reports.progress(OTHER_SELLER, REPORT)
    assert mine is not None and mine.status == COMPLETE
    assert theirs is not None and theirs.status == IN_PROGRESS


# -- RowStore ---------------------------------------------------------------------------------------

ROWS_BUCKET = "contract-reports"
ROWS = ReportRows(
    SELLER, REPORT, "GET_MERCHANT_LISTINGS_ALL_DATA", 1_795_000_000, ("sku", "SKU"), ("sku", "name")
)


class RowStores(NamedTuple):
    store: RowStore
    found: Callable[[str], int]  # how many rows a lookup of the value finds


@pytest.fixture(params=["fake", "s3+dynamodb"])
def row_stores(request: pytest.FixtureRequest) -> RowStores:
    if request.param == "fake":
        fake = FakeRowStore(ROWS_BUCKET)
        return RowStores(fake, lambda value: len(fake.found(SELLER, REPORT, value)))
    account: AwsAccount = request.getfixturevalue("aws_account")
    boto3.client("s3").create_bucket(Bucket=ROWS_BUCKET)
    reader = ReportRowReader(account.tables["report_rows"], ROWS_BUCKET)
    return RowStores(
        ReportRowWriter(ROWS_BUCKET, account.tables["report_rows"]),
        lambda value: len(reader.find(SELLER, REPORT, value)),
    )


def block(start: int, count: int = 1_000) -> list[str]:
    return [f"SKU-{index}\tname {index}" for index in range(start, start + count)]


def test_given_blocks_written_when_the_part_ends_then_every_row_counts_and_is_found_once(
    row_stores: RowStores,
) -> None:
    with row_stores.store.open(ROWS) as batches:
        batches.write(0, block(0))
        batches.write(1_000, block(1_000, 300))

    assert batches.stored == 1_300
    assert [row_stores.found(f"SKU-{index}") for index in (0, 999, 1_299)] == [1, 1, 1]
    assert row_stores.store.location(SELLER, REPORT) == {
        "bucket": ROWS_BUCKET,
        "prefix": f"rows/{SELLER}/{REPORT}/",
    }


def test_given_a_part_left_by_an_error_when_settled_then_its_stored_blocks_count_once_findable(
    row_stores: RowStores,
) -> None:
    with pytest.raises(RuntimeError), row_stores.store.open(ROWS) as batches:
        batches.write(0, block(0))
        batches.write(1_000, block(1_000))
        raise RuntimeError("the document's download broke")

    assert batches.stored == 0 and row_stores.found("SKU-5") == 0  # not findable: not counted
    assert batches.settle() == 2_000 and row_stores.found("SKU-1999") == 1


def test_given_a_part_redone_from_the_same_row_then_each_row_is_found_once(row_stores: RowStores) -> None:
    for _ in range(2):  # the first attempt died before its checkpoint
        with row_stores.store.open(ROWS) as batches:
            batches.write(0, block(0))

    assert batches.stored == 1_000 and row_stores.found("SKU-10") == 1


# -- MessageQueue -----------------------------------------------------------------------------------


class Received(NamedTuple):
    body: str
    attributes: dict[str, tuple[str, str]]  # name -> (data type, value)


class Queues(NamedTuple):
    queue: MessageQueue
    visible: Callable[[], list[Received]]  # what a consumer of the queue would receive now
    dead_letters: Callable[[], list[Received]]  # what the DLQ holds
    wait: Callable[[int], None]  # time passes, in seconds


@pytest.fixture(params=["fake", "sqs"])
def queues(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Queues:
    elapsed = [0]

    def wait(seconds: int) -> None:
        elapsed[0] += seconds

    if request.param == "fake":
        fake = FakeMessageQueue()

        def received(sent: list[Any]) -> list[Received]:
            return [
                Received(
                    m.body, {name: (a["DataType"], a["StringValue"]) for name, a in m.attributes.items()}
                )
                for m in sent
            ]

        return Queues(
            fake,
            # Every message was sent at the start: visible once its delay has passed.
            lambda: received([m for m in fake.deferred + fake.continued if m.delay_seconds <= elapsed[0]]),
            lambda: received(fake.dead_letters),
            wait,
        )
    account: AwsAccount = request.getfixturevalue("aws_account")
    local = create_queue(account.sqs, "sellerstream-contract", visibility_timeout_seconds=30)
    # moto's SQS keeps time with this function: moving it forward lets a delay pass without waiting.
    monkeypatch.setattr(
        "moto.sqs.models.unix_time_millis", lambda *args: unix_time_millis(*args) + elapsed[0] * 1000
    )

    def receive(url: str) -> list[Received]:
        messages = account.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        return [
            Received(
                m["Body"],
                {
                    name: (a["DataType"], a["StringValue"])
                    for name, a in (m.get("MessageAttributes") or {}).items()
                },
            )
            for m in messages
        ]

    return Queues(
        SqsMessageQueue(local.url, local.dlq_url),
        lambda: receive(local.url),
        lambda: receive(local.dlq_url),
        wait,
    )


BODY = '{"NotificationType": "REPORT_PROCESSING_FINISHED"}'
ATTRIBUTES = {
    "sellerstream-source-message-id": {"DataType": "String", "StringValue": "m-from-amazon"},
    "sellerstream-throttle-deferrals": {"DataType": "Number", "StringValue": "2"},
}


def test_given_a_record_deferred_then_its_copy_is_on_the_queue_only_after_its_delay(queues: Queues) -> None:
    copy_id = queues.queue.defer(BODY, ATTRIBUTES, delay_seconds=120)

    assert copy_id
    assert queues.visible() == []
    queues.wait(120)
    assert queues.visible() == [
        Received(
            BODY,
            {
                "sellerstream-source-message-id": ("String", "m-from-amazon"),
                "sellerstream-throttle-deferrals": ("Number", "2"),
            },
        )
    ]
    assert queues.dead_letters() == []


def test_given_a_long_job_continued_then_its_message_is_on_the_queue_at_once_with_its_part(
    queues: Queues,
) -> None:
    part = {"sellerstream-continuation-part": {"DataType": "Number", "StringValue": "3"}}

    assert queues.queue.continue_later(BODY, part)

    assert queues.visible() == [Received(BODY, {"sellerstream-continuation-part": ("Number", "3")})]
    assert queues.dead_letters() == []


def test_given_a_record_dead_lettered_then_its_copy_is_on_the_dead_letter_queue_saying_why(
    queues: Queues,
) -> None:
    reason = {"sellerstream-reason": {"DataType": "String", "StringValue": "invalid_notification"}}

    assert queues.queue.dead_letter(BODY, {**ATTRIBUTES, **reason})

    [copy] = queues.dead_letters()
    assert copy.body == BODY
    assert copy.attributes["sellerstream-reason"] == ("String", "invalid_notification")
    assert copy.attributes["sellerstream-source-message-id"] == ("String", "m-from-amazon")
    assert queues.visible() == []


def test_given_several_sends_then_each_returns_its_own_message_id(queues: Queues) -> None:
    ids = [
        queues.queue.defer(BODY, ATTRIBUTES, delay_seconds=1),
        queues.queue.continue_later(BODY, ATTRIBUTES),
        queues.queue.dead_letter(BODY, ATTRIBUTES),
    ]

    assert all(ids) and len(set(ids)) == 3


@pytest.mark.parametrize(
    "queues",
    [
        "fake",
        pytest.param(
            "sqs",
            marks=pytest.mark.xfail(
                strict=True, reason="moto's SQS accepts an empty attribute value, which SQS refuses"
            ),
        ),
    ],
    indirect=True,
)
def test_given_an_attribute_without_a_value_when_sent_then_the_send_is_refused(queues: Queues) -> None:
    empty = {"sellerstream-seller-id": {"DataType": "String", "StringValue": ""}}

    sends: list[Callable[[], str]] = [
        lambda: queues.queue.defer(BODY, empty, delay_seconds=1),
        lambda: queues.queue.continue_later(BODY, empty),
        lambda: queues.queue.dead_letter(BODY, empty),
    ]
    for send in sends:
        with pytest.raises(ClientError) as refused:
            send()
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"

    queues.wait(1)
    assert queues.visible() == [] and queues.dead_letters() == []


@pytest.mark.parametrize(
    "queues",
    [
        "fake",
        pytest.param(
            "sqs",
            marks=pytest.mark.xfail(
                strict=True, reason="moto's SQS accepts more than ten attributes, SQS does not"
            ),
        ),
    ],
    indirect=True,
)
def test_given_more_than_ten_attributes_when_sent_then_the_send_is_refused(queues: Queues) -> None:
    eleven = {f"sellerstream-a{n}": {"DataType": "String", "StringValue": "x"} for n in range(11)}

    with pytest.raises(ClientError):
        queues.queue.dead_letter(BODY, eleven)

    assert queues.dead_letters() == []


def test_given_a_delay_past_sqs_limit_when_deferred_then_the_send_is_refused(queues: Queues) -> None:
    with pytest.raises(ClientError) as refused:
        queues.queue.defer(BODY, ATTRIBUTES, delay_seconds=901)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    queues.wait(901)
    assert queues.visible() == []


# -- NotificationStore ------------------------------------------------------------------------------


@pytest.fixture(params=ON_DYNAMODB)
def notification_store(request: pytest.FixtureRequest) -> Iterator[NotificationStore]:
    if request.param == "fake":
        yield FakeNotificationStore()
        return
    table = catalog.NOTIFICATIONS_TABLE
    with mock_aws():
        aws.reset_clients()
        name = create_table(
            boto3.client("dynamodb"),
            table.local_name,
            table.partition_key,
            table.sort_key,
            table.ttl_attribute,
        )
        yield DynamoDBNotificationStore(name)
    aws.reset_clients()


def offer(version: datetime, *, asin: str = "B00000OFFER", seller: str = SELLER) -> NotificationRecord:
    return NotificationRecord(
        notification_type="ANY_OFFER_CHANGED",
        seller_key=seller,
        key={"marketplace_id": MARKETPLACE, "asin": asin, "item_condition": "New#Used/50%"},
        version=version,
        notification_id=f"n-{version.timestamp():.0f}",
        data={"AnyOfferChangedNotification": {"Summary": {"TotalOfferCount": 3}}},
        expires_at=version + timedelta(days=7),
    )


def test_given_an_entity_stored_when_an_older_or_equal_change_comes_then_unchanged_and_a_newer_one_wins(
    notification_store: NotificationStore,
) -> None:
    assert notification_store.put_if_newer(offer(T0 + MINUTE)) == WriteOutcome.WRITTEN

    assert notification_store.put_if_newer(offer(T0 + MINUTE)) == WriteOutcome.STALE
    assert notification_store.put_if_newer(offer(T0)) == WriteOutcome.STALE
    assert notification_store.put_if_newer(offer(T0 + 2 * MINUTE)) == WriteOutcome.WRITTEN


def test_given_entities_of_two_keys_or_two_sellers_when_stored_then_each_is_its_own(
    notification_store: NotificationStore,
) -> None:
    assert notification_store.put_if_newer(offer(T0 + MINUTE)) == WriteOutcome.WRITTEN

    assert notification_store.put_if_newer(offer(T0, asin="B00000OTHER")) == WriteOutcome.WRITTEN
    assert notification_store.put_if_newer(offer(T0, seller=OTHER_SELLER)) == WriteOutcome.WRITTEN


# -- FeedStore --------------------------------------------------------------------------------------

FEED = "53347018456"


class Feeds(NamedTuple):
    store: FeedStore
    read: Callable[[str, str], FeedRecord | None]  # the feed's record as stored, with its results
    items: Callable[[], int]  # items the store holds (the adapter's result chunks count apart)


@pytest.fixture(params=ON_DYNAMODB)
def feeds(request: pytest.FixtureRequest) -> Feeds:
    if request.param == "fake":
        fake = FakeFeedStore()
        return Feeds(fake, lambda seller, feed: fake.records.get((seller, feed)), lambda: len(fake.records))
    account: AwsAccount = request.getfixturevalue("aws_account")
    # The catalog's table once the feeds consumer is wired; until then one declared the same way.
    name = account.tables.get("feeds") or create_table(
        account.dynamodb, "sellerstream-feeds", "pk", "sk", "expires_at", stream=True
    )
    # Small chunks, so a few hundred results span several items as a large report's do.
    store = DynamoDBFeedStore(name, chunk_bytes=16 * 1024)
    return Feeds(
        store, store.read, lambda: int(account.dynamodb.scan(TableName=name, Select="COUNT")["Count"])
    )


def feed_record(
    event_time: datetime,
    report_status: str = PARSED,
    *,
    processing_status: str = "DONE",
    results: int = 2,
    seller: str = SELLER,
) -> FeedRecord:
    return FeedRecord(
        seller_key=seller,
        feed_id=FEED,
        event_time=event_time,
        processing_status=processing_status,
        report_status=report_status,
        attributes={
            "feed_type": "POST_PRODUCT_DATA",
            "recorded_at": sortable_timestamp(event_time),
            "summary": {"messages_processed": results, "messages_with_error": results},
        },
        results=tuple(
            {
                "message_id": index + 1,
                "severity": "ERROR",
                "code": "8560",
                "message": f"problem {index} é",
                "sku": f"S-{index}",
            }
            for index in range(results)
        ),
        expires_at=1_800_000_000,
    )


def test_given_no_feed_record_when_its_outcome_is_asked_then_none(feeds: Feeds) -> None:
    assert feeds.store.outcome_of(SELLER, FEED) is None


def test_given_a_feed_stored_then_its_outcome_record_and_results_read_back_in_order(feeds: Feeds) -> None:
    record = feed_record(T0, results=600)  # several items' worth on DynamoDB

    assert feeds.store.put_if_newer(record) == WriteOutcome.WRITTEN

    outcome = feeds.store.outcome_of(SELLER, FEED)
    assert outcome is not None and (outcome.event_time, outcome.outcome) == (T0, "DONE/PARSED")
    stored = feeds.read(SELLER, FEED)
    assert stored is not None
    assert stored.results == record.results
    assert stored.attributes["summary"] == record.attributes["summary"]
    assert (stored.processing_status, stored.report_status, stored.expires_at) == (
        "DONE",
        PARSED,
        1_800_000_000,
    )


def test_given_a_feed_stored_when_the_same_outcome_comes_again_or_later_then_refused_and_unchanged(
    feeds: Feeds,
) -> None:
    assert feeds.store.put_if_newer(feed_record(T0)) == WriteOutcome.WRITTEN
    items = feeds.items()

    assert feeds.store.put_if_newer(feed_record(T0, results=3)) == WriteOutcome.STALE
    assert feeds.store.put_if_newer(feed_record(T0 + MINUTE, results=3)) == WriteOutcome.STALE

    stored = feeds.read(SELLER, FEED)
    assert stored is not None and len(stored.results) == 2 and stored.event_time == T0
    assert feeds.items() == items  # a refused write leaves no results behind


def test_given_a_feed_stored_when_an_older_notification_brings_another_outcome_then_refused(
    feeds: Feeds,
) -> None:
    assert feeds.store.put_if_newer(feed_record(T0 + MINUTE)) == WriteOutcome.WRITTEN

    older = feed_record(T0, processing_status="FATAL", report_status=NO_DOCUMENT, results=0)
    assert feeds.store.put_if_newer(older) == WriteOutcome.STALE

    outcome = feeds.store.outcome_of(SELLER, FEED)
    assert outcome is not None and outcome.outcome == "DONE/PARSED"


def test_given_an_unreadable_report_recorded_when_read_after_a_fix_then_the_new_outcome_replaces_it(
    feeds: Feeds,
) -> None:
    assert feeds.store.put_if_newer(feed_record(T0, UNREADABLE, results=0)) == WriteOutcome.WRITTEN
    items = feeds.items()

    assert feeds.store.put_if_newer(feed_record(T0, PARSED, results=400)) == WriteOutcome.WRITTEN
    assert feeds.store.put_if_newer(feed_record(T0, PARSED, results=5)) == WriteOutcome.STALE

    stored = feeds.read(SELLER, FEED)
    assert stored is not None and stored.report_status == PARSED and len(stored.results) == 400
    # Replaced by a shorter set: no results of the replaced outcome stay behind.
    assert feeds.store.put_if_newer(feed_record(T0 + MINUTE, UNREADABLE, results=0)) == WriteOutcome.WRITTEN
    assert feeds.items() == items


def test_given_feeds_of_two_sellers_with_one_id_when_stored_then_each_seller_has_its_own(
    feeds: Feeds,
) -> None:
    assert feeds.store.put_if_newer(feed_record(T0, results=1)) == WriteOutcome.WRITTEN
    assert feeds.store.put_if_newer(feed_record(T0, results=3, seller=OTHER_SELLER)) == WriteOutcome.WRITTEN

    mine, theirs = feeds.read(SELLER, FEED), feeds.read(OTHER_SELLER, FEED)
    assert mine is not None and theirs is not None
    assert (len(mine.results), len(theirs.results)) == (1, 3)


def test_given_the_feeds_table_then_only_a_feeds_head_is_an_event_item(aws_account: AwsAccount) -> None:
    name = aws_account.tables.get("feeds") or create_table(
        aws_account.dynamodb, "sellerstream-feeds", "pk", "sk", "expires_at", stream=True
    )
    DynamoDBFeedStore(name, chunk_bytes=1024).put_if_newer(feed_record(T0, results=50))

    keys = [item["sk"]["S"] for item in aws_account.dynamodb.scan(TableName=name)["Items"]]

    assert [key for key in keys if key.startswith("FEED#")] == [f"FEED#{FEED}"]
    assert len(keys) > 2 and all(
        key.startswith(f"RESULTS#{FEED}#") for key in keys if not key.startswith("FEED#")
    )


# -- ListingStore: the issues and the MFN quantity of a stored version -------------------------------

ISSUE = {"code": "18027", "message": "Missing image", "severity": "ERROR", "categories": ["MISSING_IMAGE"]}


def read_listing(last_updated: datetime, read_at: datetime, **attributes: Any) -> ListingRecord:
    """A listing as a getListingsItem callback stores it: one version, read at ``read_at``."""
    read = {
        "stored_at": sortable_timestamp(read_at),
        "issues": [],
        "fulfillment_availability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}],
        "quantity": 5,
    }
    return listing(last_updated, **{**read, **attributes})


def refresh(
    listings: Listings, version: datetime, observed_at: datetime, *issues: dict[str, Any]
) -> WriteOutcome:
    return listings.store.refresh_issues(
        SELLER,
        MARKETPLACE,
        SKU,
        version=version,
        observed_at=observed_at,
        issues=list(issues),
        attributes={"issues_notification": {"notification_id": f"n-{observed_at:%H%M}"}, "unknown": None},
    )


def mfn(
    listings: Listings,
    as_of: datetime,
    quantity: int,
    channel: str = "DEFAULT",
    marketplaces: tuple[str, ...] = (MARKETPLACE,),
) -> dict[str, WriteOutcome]:
    return listings.store.update_mfn_quantity(
        SELLER,
        SKU,
        marketplaces,
        channel=channel,
        quantity=quantity,
        as_of=as_of,
        notification_id=f"n-{quantity}",
    )


def test_given_a_stored_version_when_its_issues_are_read_again_later_then_only_the_issues_change(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0 + MINUTE, title="Mug"))
    before = listings.listing(SELLER, MARKETPLACE, SKU) or {}

    outcome = refresh(listings, T0, T0 + 2 * MINUTE, ISSUE)

    assert outcome is WriteOutcome.WRITTEN
    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert (stored["issues"], stored["issues_as_of"]) == ([ISSUE], sortable_timestamp(T0 + 2 * MINUTE))
    assert stored["issues_notification"] == {"notification_id": "n-1202"} and "unknown" not in stored
    refreshed = {"issues", "issues_as_of", "issues_notification"}
    assert {n: v for n, v in stored.items() if n not in refreshed} == {
        n: v for n, v in before.items() if n not in refreshed
    }


def test_given_issues_read_at_some_time_when_a_read_as_old_or_older_comes_then_it_is_refused(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0 + 2 * MINUTE))

    assert refresh(listings, T0, T0 + MINUTE, ISSUE) is WriteOutcome.STALE  # before the version's read
    assert refresh(listings, T0, T0 + 2 * MINUTE, ISSUE) is WriteOutcome.STALE  # at it
    assert refresh(listings, T0, T0 + 4 * MINUTE, ISSUE) is WriteOutcome.WRITTEN
    assert refresh(listings, T0, T0 + 3 * MINUTE) is WriteOutcome.STALE  # an earlier read, late
    assert refresh(listings, T0, T0 + 4 * MINUTE) is WriteOutcome.STALE
    assert (listings.listing(SELLER, MARKETPLACE, SKU) or {})["issues"] == [ISSUE]


@pytest.mark.parametrize("version", [T0 - MINUTE, T0 + MINUTE], ids=["older", "newer"])
def test_given_another_version_stored_when_issues_of_a_version_are_refreshed_then_refused(
    listings: Listings, version: datetime
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0))
    before = listings.listing(SELLER, MARKETPLACE, SKU)

    assert refresh(listings, version, T0 + 5 * MINUTE, ISSUE) is WriteOutcome.STALE
    assert listings.listing(SELLER, MARKETPLACE, SKU) == before


def test_given_no_listing_or_a_deleted_one_when_issues_are_refreshed_then_refused_and_none_created(
    listings: Listings,
) -> None:
    assert refresh(listings, T0, T0 + MINUTE, ISSUE) is WriteOutcome.STALE
    assert listings.listing(SELLER, MARKETPLACE, SKU) is None

    listings.store.mark_deleted(SELLER, MARKETPLACE, SKU, as_of=T0, attributes={"status": ["DELETED"]})

    assert refresh(listings, T0, T0 + MINUTE, ISSUE) is WriteOutcome.STALE
    assert "issues" not in (listings.listing(SELLER, MARKETPLACE, SKU) or {})


def test_given_a_version_without_its_read_time_when_issues_are_refreshed_then_written(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0))

    assert refresh(listings, T0, T0, ISSUE) is WriteOutcome.WRITTEN


def test_given_refreshed_issues_when_a_newer_version_arrives_then_it_replaces_them_with_its_own(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0))
    refresh(listings, T0, T0 + 5 * MINUTE, ISSUE)

    assert listings.store.put_if_newer(read_listing(T0 + MINUTE, T0 + 2 * MINUTE)) is WriteOutcome.WRITTEN

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["issues"] == [] and "issues_as_of" not in stored and "issues_notification" not in stored


def test_given_a_stored_version_when_a_later_mfn_quantity_comes_then_the_channel_and_quantity_change_not_the_version(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0 + MINUTE, title="Mug"))
    before = listings.listing(SELLER, MARKETPLACE, SKU) or {}

    outcomes = mfn(listings, T0 + 2 * MINUTE, 99)

    assert outcomes == {MARKETPLACE: WriteOutcome.WRITTEN}
    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["fulfillment_availability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 99}]
    assert stored["quantity"] == 99
    assert stored["mfn_quantity"] == {
        "DEFAULT": {"quantity": 99, "as_of": sortable_timestamp(T0 + 2 * MINUTE), "notification_id": "n-99"}
    }
    assert stored["quantity_updated_at"] == sortable_timestamp(T0 + 2 * MINUTE)
    assert stored["last_updated"] == sortable_timestamp(T0)
    changed = {
        "fulfillment_availability",
        "quantity",
        "mfn_quantity",
        "quantity_updated_at",
        "quantity_revision",
    }
    assert {n: v for n, v in stored.items() if n not in changed} == {
        n: v for n, v in before.items() if n not in changed
    }


def test_given_a_stored_version_when_an_mfn_quantity_as_old_as_its_read_or_older_comes_then_refused(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0 + 2 * MINUTE))
    before = listings.listing(SELLER, MARKETPLACE, SKU)

    assert mfn(listings, T0 + MINUTE, 1) == {MARKETPLACE: WriteOutcome.STALE}
    assert mfn(listings, T0 + 2 * MINUTE, 1) == {MARKETPLACE: WriteOutcome.STALE}
    assert listings.listing(SELLER, MARKETPLACE, SKU) == before


def test_given_a_version_without_its_read_time_when_an_mfn_quantity_comes_then_its_version_time_decides(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(listing(T0))

    assert mfn(listings, T0, 1) == {MARKETPLACE: WriteOutcome.STALE}
    assert mfn(listings, T0 + MINUTE, 2) == {MARKETPLACE: WriteOutcome.WRITTEN}
    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["fulfillment_availability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 2}]


def test_given_a_channels_quantity_stored_when_one_as_old_or_older_comes_then_refused_and_another_channel_is_its_own(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(
        read_listing(
            T0,
            T0,
            fulfillment_availability=[
                {"fulfillmentChannelCode": "DEFAULT", "quantity": 5},
                {"fulfillmentChannelCode": "AMAZON_NA"},
            ],
        )
    )
    assert mfn(listings, T0 + 3 * MINUTE, 7) == {MARKETPLACE: WriteOutcome.WRITTEN}

    assert mfn(listings, T0 + 3 * MINUTE, 8) == {MARKETPLACE: WriteOutcome.STALE}
    assert mfn(listings, T0 + 2 * MINUTE, 9) == {MARKETPLACE: WriteOutcome.STALE}
    assert mfn(listings, T0 + MINUTE, 4, channel="SUPPLY-2") == {MARKETPLACE: WriteOutcome.WRITTEN}

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["fulfillment_availability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 7},
        {"fulfillmentChannelCode": "AMAZON_NA"},
        {"fulfillmentChannelCode": "SUPPLY-2", "quantity": 4},
    ]
    assert stored["quantity"] == 11
    assert stored["quantity_updated_at"] == sortable_timestamp(T0 + 3 * MINUTE)
    assert {channel: entry["quantity"] for channel, entry in stored["mfn_quantity"].items()} == {
        "DEFAULT": 7,
        "SUPPLY-2": 4,
    }


def test_given_marketplaces_with_and_without_the_listing_when_an_mfn_quantity_comes_then_only_live_listings_get_it(
    listings: Listings,
) -> None:
    other, deleted, absent = "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"
    listings.store.put_if_newer(read_listing(T0, T0))
    listings.store.put_if_newer(ListingRecord(SELLER, other, SKU, T0, {"stored_at": sortable_timestamp(T0)}))
    listings.store.mark_deleted(SELLER, deleted, SKU, as_of=T0, attributes={"status": ["DELETED"]})

    outcomes = mfn(listings, T0 + MINUTE, 3, marketplaces=(MARKETPLACE, other, deleted, absent, MARKETPLACE))

    assert outcomes == {MARKETPLACE: WriteOutcome.WRITTEN, other: WriteOutcome.WRITTEN}
    assert (listings.listing(SELLER, other, SKU) or {})["fulfillment_availability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 3}
    ]
    assert "quantity" not in (listings.listing(SELLER, deleted, SKU) or {})
    assert listings.listing(SELLER, absent, SKU) is None


def test_given_an_mfn_quantity_stored_when_a_newer_version_arrives_then_it_replaces_the_quantity_and_is_not_refused(
    listings: Listings,
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0))
    mfn(listings, T0 + 10 * MINUTE, 99)  # later than the next version's lastUpdatedDate

    assert listings.store.put_if_newer(read_listing(T0 + MINUTE, T0 + 20 * MINUTE)) is WriteOutcome.WRITTEN

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert stored["quantity"] == 5 and "mfn_quantity" not in stored
    assert mfn(listings, T0 + 15 * MINUTE, 1) == {MARKETPLACE: WriteOutcome.STALE}


@pytest.mark.parametrize("listings", ["dynamodb"], indirect=True)
def test_given_another_quantity_written_between_the_read_and_the_write_then_the_update_reads_again_and_keeps_both(
    listings: Listings, monkeypatch: pytest.MonkeyPatch
) -> None:
    listings.store.put_if_newer(read_listing(T0, T0))
    client = aws.client("dynamodb")
    update_item = client.update_item
    raced: list[bool] = []

    def racing_update_item(**request: Any) -> Any:
        if not raced:  # another container updates another channel after this one read the item
            raced.append(True)
            monkeypatch.setattr(client, "update_item", update_item)
            mfn(listings, T0 + 2 * MINUTE, 4, channel="SUPPLY-2")
            monkeypatch.setattr(client, "update_item", racing_update_item)
        return update_item(**request)

    monkeypatch.setattr(client, "update_item", racing_update_item)

    assert mfn(listings, T0 + MINUTE, 7) == {MARKETPLACE: WriteOutcome.WRITTEN}

    stored = listings.listing(SELLER, MARKETPLACE, SKU) or {}
    assert raced and set(stored["mfn_quantity"]) == {"DEFAULT", "SUPPLY-2"}
    assert stored["quantity"] == 11 and stored["quantity_revision"] == 2


# -- PendingOrders ----------------------------------------------------------------------------------

DRAIN_ACCOUNT = SellerAccount(SELLER, "na")
DRAIN_NOW = 1_790_000_000.0
DRAIN_LEASE = 60.0
DRAIN_BUCKETS = {"orders/2026-01-01:getOrder": BucketState(1_790_000_123.25, 0.5, True)}


@pytest.fixture(params=ON_DYNAMODB)
def pending(request: pytest.FixtureRequest) -> PendingOrders:
    if request.param == "fake":
        return FakePendingOrders()
    account: AwsAccount = request.getfixturevalue("aws_account")
    return DynamoDBPendingOrders(account.tables[catalog.PENDING_ORDERS_TABLE.role])


def pending_change(order: int, minutes: int, notification_id: str | None = None) -> PendingChange:
    """Order ``111-0000000-<order>`` changed ``minutes`` after T0 (whole seconds, as Amazon says)."""
    return PendingChange(
        f"111-0000000-{order:07d}", T0 + minutes * MINUTE, notification_id or f"n-{order}-{minutes}"
    )


def take_drain(pending: PendingOrders, owner: str, now: float = DRAIN_NOW) -> DrainLease | None:
    return pending.take_lease(DRAIN_ACCOUNT, owner, now=now, until=now + DRAIN_LEASE)


def test_given_orders_changed_in_any_order_then_the_least_recently_changed_come_first_up_to_the_limit(
    pending: PendingOrders,
) -> None:
    # Given orders whose change times are unrelated to their ids, two of them changed the same
    # minute, added over two calls beside the account's lease
    assert take_drain(pending, "container-a") is not None
    pending.add(DRAIN_ACCOUNT, [pending_change(1, 30), pending_change(5, 10), pending_change(3, 20)])
    pending.add(DRAIN_ACCOUNT, [pending_change(2, 10), pending_change(4, 0)])

    # Then the least recently changed first (the same minute: by order), up to the limit, no lease
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [
        pending_change(4, 0),
        pending_change(2, 10),
        pending_change(5, 10),
        pending_change(3, 20),
        pending_change(1, 30),
    ]
    assert pending.oldest(DRAIN_ACCOUNT, 2) == [pending_change(4, 0), pending_change(2, 10)]


def test_given_an_order_changed_several_times_then_its_one_entry_is_its_newest_change(
    pending: PendingOrders,
) -> None:
    # Given an order's newer change, then its older one added late
    pending.add(DRAIN_ACCOUNT, [pending_change(1, 5)])
    pending.add(DRAIN_ACCOUNT, [pending_change(1, 2)])
    # And another order's older and newer changes in one call, either way round
    pending.add(DRAIN_ACCOUNT, [pending_change(2, 1), pending_change(2, 9), pending_change(3, 7)])
    pending.add(DRAIN_ACCOUNT, [pending_change(3, 3)])

    # Then one entry per order, its newest change
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [
        pending_change(1, 5),
        pending_change(3, 7),
        pending_change(2, 9),
    ]
    assert [e.changed for e in pending.newest(DRAIN_ACCOUNT, 1)] == [T0 + 9 * MINUTE]


def test_given_the_same_change_again_then_only_a_failed_fetchs_count_replaces_its_entry(
    pending: PendingOrders,
) -> None:
    # Given a change added twice: one entry
    first = pending_change(1, 0)
    pending.add(DRAIN_ACCOUNT, [first, first])
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [first]

    # When it is added again after a failed fetch, counted and put off
    waiting = first._replace(attempts=3, not_before=DRAIN_NOW + 40.0)
    pending.add(DRAIN_ACCOUNT, [waiting])

    # Then the one entry says so; the same change again as a notification (a duplicate) leaves it,
    # and so does an older change
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [waiting]
    pending.add(DRAIN_ACCOUNT, [first])
    pending.add(DRAIN_ACCOUNT, [pending_change(1, -1)])
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [waiting]
    # While a newer change replaces it, afresh
    newer = pending_change(1, 1)
    pending.add(DRAIN_ACCOUNT, [newer])
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [newer]


def test_given_entries_read_when_removed_then_an_order_changed_since_keeps_its_entry(
    pending: PendingOrders,
) -> None:
    # Given two orders' entries as read, then the first order changed again
    pending.add(DRAIN_ACCOUNT, [pending_change(1, 0), pending_change(2, 1)])
    read = pending.oldest(DRAIN_ACCOUNT, 10)
    again = pending_change(1, 4, "n-again")
    pending.add(DRAIN_ACCOUNT, [again])

    # When both are removed as served
    pending.remove(DRAIN_ACCOUNT, read)

    # Then the order changed since keeps its newest change; the other is gone
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [again]
    # And removing it by that change removes it; again, or an order never added: nothing, no error
    pending.remove(DRAIN_ACCOUNT, [again])
    pending.remove(DRAIN_ACCOUNT, [again, pending_change(9, 0)])
    assert pending.oldest(DRAIN_ACCOUNT, 10) == []


def test_given_pending_orders_then_the_newest_are_the_most_recently_changed_first_and_none_without(
    pending: PendingOrders,
) -> None:
    # Given nothing pending but the lease, held and released
    held = take_drain(pending, "container-a")
    assert held is not None
    pending.release_lease(DRAIN_ACCOUNT, held, DRAIN_BUCKETS)
    # Then there is no newest change
    assert pending.newest(DRAIN_ACCOUNT, 1) == []

    # When orders are pending
    pending.add(DRAIN_ACCOUNT, [pending_change(3, 2), pending_change(1, 8), pending_change(2, 5)])

    # Then the newest change is the most recently changed order's; once that is served, the next's
    assert [e.changed for e in pending.newest(DRAIN_ACCOUNT, 1)] == [T0 + 8 * MINUTE]
    assert pending.newest(DRAIN_ACCOUNT, 10) == pending.oldest(DRAIN_ACCOUNT, 10)[::-1]  # all, newest first
    assert [e.changed for e in pending.newest(DRAIN_ACCOUNT, 2)] == [T0 + 8 * MINUTE, T0 + 5 * MINUTE]
    pending.remove(DRAIN_ACCOUNT, [pending_change(1, 8)])
    assert [e.changed for e in pending.newest(DRAIN_ACCOUNT, 1)] == [T0 + 5 * MINUTE]
    pending.remove(DRAIN_ACCOUNT, pending.oldest(DRAIN_ACCOUNT, 10))
    assert pending.newest(DRAIN_ACCOUNT, 1) == []


@pytest.mark.parametrize(
    "other",
    [SellerAccount(SELLER, "eu"), SellerAccount(OTHER_SELLER, "na")],
    ids=["other-region", "other-seller"],
)
def test_given_entries_and_a_lease_of_one_account_then_another_account_has_its_own(
    pending: PendingOrders, other: SellerAccount
) -> None:
    # Given an account's entry and its lease held
    pending.add(DRAIN_ACCOUNT, [pending_change(1, 0)])
    assert take_drain(pending, "container-a") is not None

    # Then another account has no entry, no newest change, and a free lease of its own
    assert pending.oldest(other, 10) == []
    assert pending.newest(other, 1) == []
    assert pending.take_lease(other, "container-b", now=DRAIN_NOW, until=DRAIN_NOW + DRAIN_LEASE) is not None
    # And its own entry of the same order, older, neither loses to nor removes this account's
    pending.add(other, [pending_change(1, -5)])
    assert pending.oldest(other, 10) == [pending_change(1, -5)]
    pending.remove(other, [pending_change(1, 0)])
    assert pending.oldest(DRAIN_ACCOUNT, 10) == [pending_change(1, 0)]


def test_given_a_held_lease_then_refused_until_its_deadline_then_taken_over_with_its_buckets(
    pending: PendingOrders,
) -> None:
    first = take_drain(pending, "container-a")
    assert first == DrainLease("container-a", DRAIN_NOW + DRAIN_LEASE, 1, {}, expired_until=None)
    pending.release_lease(DRAIN_ACCOUNT, first, DRAIN_BUCKETS)
    held = take_drain(pending, "container-b", now=DRAIN_NOW + 1)
    assert held == DrainLease(
        "container-b", DRAIN_NOW + 1 + DRAIN_LEASE, 3, DRAIN_BUCKETS, expired_until=None
    )

    assert take_drain(pending, "container-c", now=DRAIN_NOW + DRAIN_LEASE) is None
    taken = take_drain(pending, "container-c", now=DRAIN_NOW + DRAIN_LEASE + 2)

    assert taken == DrainLease(
        "container-c",
        DRAIN_NOW + 2 * DRAIN_LEASE + 2,
        4,
        DRAIN_BUCKETS,
        expired_until=DRAIN_NOW + 1 + DRAIN_LEASE,
    )


def test_given_a_lease_taken_over_then_its_former_holder_cannot_release_it(pending: PendingOrders) -> None:
    lost = take_drain(pending, "container-a")
    assert lost is not None
    holder = take_drain(pending, "container-b", now=DRAIN_NOW + DRAIN_LEASE + 1)
    assert holder is not None

    pending.release_lease(DRAIN_ACCOUNT, lost, DRAIN_BUCKETS)  # lost: nothing changes

    assert take_drain(pending, "container-c", now=DRAIN_NOW + DRAIN_LEASE + 2) is None
    pending.release_lease(DRAIN_ACCOUNT, holder, {})  # the holder's own release still counts
    taken = take_drain(pending, "container-c", now=DRAIN_NOW + DRAIN_LEASE + 3)
    assert taken == DrainLease("container-c", DRAIN_NOW + 2 * DRAIN_LEASE + 3, 4, {}, expired_until=None)


def test_given_a_released_lease_then_anyone_takes_it_at_once_with_the_buckets_left(
    pending: PendingOrders,
) -> None:
    held = take_drain(pending, "container-a")
    assert held is not None

    pending.release_lease(DRAIN_ACCOUNT, held, DRAIN_BUCKETS)
    taken = take_drain(pending, "container-b", now=DRAIN_NOW + 1)

    assert taken == DrainLease(
        "container-b", DRAIN_NOW + 1 + DRAIN_LEASE, 3, DRAIN_BUCKETS, expired_until=None
    )


def test_given_a_lease_released_to_rest_then_only_a_drain_request_takes_it_until_the_rest_ends(
    pending: PendingOrders,
) -> None:
    # Given a holder that rests for 40 s (its drain request due then)
    held = take_drain(pending, "container-a")
    assert held is not None
    pending.release_lease(DRAIN_ACCOUNT, held, DRAIN_BUCKETS, resting_until=DRAIN_NOW + 40)

    # Then an intake cannot take it meanwhile; a drain request can, with the buckets as left (the
    # resting holder spent nothing after it let go)
    assert take_drain(pending, "an-intake", now=DRAIN_NOW + 39) is None
    resumed = pending.take_lease(
        DRAIN_ACCOUNT, "a-request", now=DRAIN_NOW + 20, until=DRAIN_NOW + 50, resuming=True
    )
    assert resumed == DrainLease("a-request", DRAIN_NOW + 50, 3, DRAIN_BUCKETS, expired_until=None)

    # And once the rest is over, the lease released to rest again is anyone's
    pending.release_lease(DRAIN_ACCOUNT, resumed, DRAIN_BUCKETS, resting_until=DRAIN_NOW + 60)
    taken = take_drain(pending, "an-intake", now=DRAIN_NOW + 60)
    assert taken == DrainLease(
        "an-intake", DRAIN_NOW + 60 + DRAIN_LEASE, 5, DRAIN_BUCKETS, expired_until=None
    )
