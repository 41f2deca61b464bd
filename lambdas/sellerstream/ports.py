"""The ports: what the use cases need from the world, as interfaces.

``sellerstream.adapters`` implements each on AWS (DynamoDB, S3, SQS, Secrets Manager); the tests'
fakes implement each in memory (``tests/support/fakes.py``). The SP-API client sits behind its own
port, ``spapi.transport.Transport``, and the shared rate budget behind ``spapi.ratelimit.RateBudget``.
A use case is given its ports; it never builds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import IO, Any, Protocol

from sellerstream.domain.credentials import ClientSecretState, SellerCredentials, SellerMarketplaces
from sellerstream.domain.events import OutgoingEvent
from sellerstream.domain.feeds import FeedOutcome, FeedRecord
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
from sellerstream.domain.packages import StoredOrderItems, StoredPackage
from sellerstream.domain.reports import ReportProgress, ReportRows
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.ratelimit import RateBudget

# SQS message attributes in SendMessage's shape: {"name": {"DataType": ..., "StringValue": ...}}.
MessageAttributes = Mapping[str, Mapping[str, str]]


class MessageQueue(Protocol):
    """A consumer's own queue and its dead-letter queue. Each send returns the new message's id
    once the message is stored: only then may the record it copies be reported done."""

    def defer(self, body: str, attributes: MessageAttributes, *, delay_seconds: int) -> str:
        """A copy of a record back on the queue, visible after ``delay_seconds`` (at most 900)."""

    def continue_later(self, body: str, attributes: MessageAttributes) -> str:
        """A continuation of a long job (a large report) on the queue, for the next invocation."""

    def dead_letter(self, body: str, attributes: MessageAttributes) -> str:
        """A copy of a record no retry can cure, on the dead-letter queue, with its reason."""


class SellerDirectory(Protocol):
    """The application's LWA credentials and each seller's: whose notification it is, with which
    refresh token, in which SP-API region, in which marketplaces. A seller authorises the application
    once per region (North America, Europe, Far East) and so has one refresh token per region.
    Owns the accounts table's subscription and seller items and the secrets."""

    def lwa_app(self) -> LwaCredentials: ...

    def for_notification(
        self, *, seller_id: str | None, subscription_id: str, marketplace_id: str | None = None
    ) -> SellerCredentials:
        """The seller's credentials in the notification's region: its marketplace's; else the one
        its subscription was created in (each region's subscriptions are its own); else the seller's
        only region, or its first (NA, EU, FE). Raises ``UnknownSellerError`` (no such seller, no
        credentials in the marketplace's region, or a subscription routed nowhere) or
        ``SellerCredentialsError`` (the seller's secret is unusable)."""

    def for_seller(self, seller_key: str, region: Region | None = None) -> SellerCredentials:
        """A known seller's credentials in ``region`` (None: its first region)."""

    def regions_of(self, seller_key: str) -> tuple[SellerCredentials, ...]:
        """The seller's credentials in each region it authorised, in region order (NA, EU, FE)."""

    def forget(self, seller_key: str) -> None:
        """The seller's credentials and the app's are read afresh at their next use: LWA refused
        what this container holds, and the seller (or the app) may have been re-authorised since."""

    def known_sellers(self) -> list[str]:
        """Every seller with credentials, in order."""

    def save_seller(self, seller_key: str, *, refresh_token: str, region: Region) -> tuple[str, str]:
        """Stores the seller's refresh token for ``region``, keeping its other regions, and clears
        the region's refusal; returns the secret's name and ``created``, ``added`` (a region more)
        or ``updated`` (a new token for a region it had)."""

    def remove_region(self, seller_key: str, region: Region) -> bool:
        """Forgets the seller's credentials in ``region`` (its last region: the seller); False: it
        had none there."""

    def route_subscription(self, subscription_id: str, seller_id: str, region: Region | None = None) -> None:
        """Notifications of ``subscription_id`` are ``seller_id``'s, in ``region`` (None: unknown)."""

    def routed_sellers(self) -> set[str]:
        """Every seller some subscription is routed to."""

    def marketplaces_of(self, seller_key: str, region: Region) -> SellerMarketplaces | None:
        """The seller's marketplaces as Amazon's endpoint of ``region`` last said (None: never asked)."""

    def save_marketplaces(self, seller_key: str, region: Region, marketplaces: SellerMarketplaces) -> bool:
        """Stores what Amazon said unless a later answer is stored already; True if written."""

    def mark_refused(self, seller_key: str, region: Region, *, reason: str, at: datetime) -> None:
        """LWA refused the seller's refresh token for ``region`` (deauthorised): shown by ``status``
        until a new token is saved for the region."""

    def refusals_of(self, seller_key: str) -> dict[Region, tuple[str, datetime]]:
        """Each region whose token LWA refused, with the reason and when it was first seen."""


class OrderStore(Protocol):
    def put_if_newer(self, record: OrderRecord) -> WriteOutcome:
        """Stores the order unless the store holds the same or a newer state (Amazon's last update)."""

    def last_updated_of(self, orders: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """The last-update time of each stored (seller id, order id); absent ones are left out. It may
        lag (show an older time, or none), never run ahead."""


class PendingOrders(Protocol):
    """Per seller and region: the orders whose change is not stored yet, one entry per order (its
    newest change), and the lease of the one drainer that fetches them. Every container's intake
    adds; only the lease's holder fetches and removes."""

    def add(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        """Durably records each change unless its order has a newer one pending (the newest change
        wins; the same change again changes nothing, unless it carries a failed fetch's count)."""

    def oldest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        """Up to ``limit`` entries, the orders that changed least recently first."""

    def newest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        """Up to ``limit`` entries, the orders that changed most recently first."""

    def remove(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        """Forgets these orders' entries, each unless its order has a change newer than the one
        given (the state stored, or the change dead-lettered)."""

    def take_lease(
        self, account: SellerAccount, owner: str, *, now: float, until: float, resuming: bool = False
    ) -> DrainLease | None:
        """The lease for ``owner`` until ``until`` when nobody holds it or its holder's ``until`` has
        passed (then ``expired_until`` says until when it may have spent); None when it is held. A
        lease released to rest is free only to a drain request (``resuming``) until its rest ends."""

    def release_lease(
        self,
        account: SellerAccount,
        lease: DrainLease,
        buckets: Mapping[str, BucketState],
        *,
        resting_until: float = 0.0,
    ) -> None:
        """Frees the lease and leaves the buckets for the next holder (nothing if it was lost); with
        ``resting_until``, intakes leave it to the drain request due then."""


class ListingStore(Protocol):
    def put_if_newer(self, record: ListingRecord) -> WriteOutcome: ...

    def mark_deleted(
        self, seller_id: str, marketplace_id: str, sku: str, *, as_of: datetime, attributes: dict[str, Any]
    ) -> WriteOutcome:
        """Flags the listing deleted as of ``as_of`` (a tombstone if unknown); its history stays."""

    def refresh_issues(
        self,
        seller_id: str,
        marketplace_id: str,
        sku: str,
        *,
        version: datetime,
        observed_at: datetime,
        issues: list[Any],
        attributes: dict[str, Any],
    ) -> WriteOutcome:
        """Replaces the issues of the stored listing with Amazon's as read at ``observed_at``, when
        the listing stored is that same version of Amazon's (``last_updated`` is ``version``: Amazon
        leaves ``lastUpdatedDate`` alone when only the issues change), is not deleted, and its issues
        were read before ``observed_at`` (``issues_as_of``, else its version's ``stored_at``).
        ``issues_as_of`` becomes ``observed_at`` and ``attributes`` are merged in (a None value is
        not written); nothing else changes, ``last_updated`` least of all. Otherwise STALE, and
        nothing changes (another version, deleted, absent, or issues read as late or later)."""

    def update_mfn_quantity(
        self,
        seller_id: str,
        sku: str,
        marketplace_ids: Sequence[str],
        *,
        channel: str,
        quantity: int,
        as_of: datetime,
        notification_id: str,
    ) -> dict[str, WriteOutcome]:
        """Sets the seller-fulfilled quantity of ``channel`` to ``quantity`` as of ``as_of`` in each
        listing of the SKU stored (and not deleted) in ``marketplace_ids``: the channel's entry of
        ``fulfillment_availability`` (added when missing), ``quantity`` (the channels' sum, as a
        full read gives it), ``mfn_quantity[channel]`` (``quantity``, ``as_of``, ``notification_id``)
        and ``quantity_updated_at`` (the latest ``as_of`` applied). A listing whose quantity of the
        channel is known as of ``as_of`` or later (its ``mfn_quantity[channel]``, else when its
        version was read: ``stored_at``, at least ``last_updated``) is left alone (STALE).
        ``last_updated`` never changes: a quantity never makes a listing look like a newer version
        of Amazon's. The outcome of each marketplace holding such a listing; others left out."""


class ReportStore(Protocol):
    def progress(self, seller_key: str, report_id: str) -> ReportProgress | None:
        """What the report's record says about its ingestion so far (None: no record)."""

    def save(self, seller_key: str, report_id: str, record: dict[str, Any]) -> bool:
        """Writes the report's whole record (its ingestion's checkpoint included) unless the stored
        one is COMPLETE already (another part or an earlier run finished it): then False, and
        nothing changes, so a finished report is finished once."""

    def checkpoint(self, seller_key: str, report_id: str, fields: dict[str, Any]) -> bool:
        """Merges ``fields`` (an interrupted part's checkpoint, with ``ingestion_status`` and
        ``rows_written``) into the report's record, creating it if absent, unless the record is no
        longer in progress or another part counted more rows: then False, and nothing changes."""


class RowBatchWriter(Protocol):
    """One report's rows in flight: ``write`` queues a block of rows from an index (each call one
    block; blocks follow each other, all of one size but the last); ``flush`` waits until every
    block so far is stored and then writes their lookups; leaving the context flushes (unless it
    is left by an error). ``stored`` counts the rows durable without a gap from the first write's
    index: their blocks and their lookups stored."""

    def write(self, start: int, rows: list[Any]) -> None: ...

    def flush(self) -> None: ...

    @property
    def stored(self) -> int: ...

    def settle(self) -> int:
        """After a failure: writes the lookups of the rows whose blocks are stored without a gap and
        returns ``stored`` (what a checkpoint may count); when those lookups cannot be written, only
        the rows already durable count. Never raises."""


class RowStore(Protocol):
    def open(self, layout: ReportRows) -> AbstractContextManager[RowBatchWriter]: ...

    def location(self, seller_key: str, report_id: str) -> dict[str, str]:
        """Where a report's row blocks are: ``bucket`` and key ``prefix``."""


class StoredDocument(Protocol):
    body: IO[bytes]  # read in chunks, then close
    content_type: str | None
    size: int


class DocumentStore(Protocol):
    """Raw copies of report documents, exactly as Amazon served them."""

    @property
    def bucket(self) -> str: ...

    def exists(self, key: str) -> bool: ...

    def upload(self, key: str, stream: IO[bytes], *, content_type: str | None) -> None: ...

    def open(self, key: str) -> StoredDocument: ...


class PackageStore(Protocol):
    def packages_of(self, seller_id: str, order_id: str) -> list[StoredPackage]:
        """The order's packages, as last written (a decision is taken on them)."""

    def order_items(self, seller_id: str, order_id: str) -> StoredOrderItems | None: ...

    def put(self, package: StoredPackage, *, expected_version: int | None) -> None:
        """Writes the package if it is still as read (absent when ``expected_version`` is None);
        raises ``ConcurrentPackageUpdateError`` otherwise."""


class SearchWindows(Protocol):
    """Search windows shared by every container, one per key (a reconciliation checkpoint); every
    change is conditional on the version it was read at and
    returns None when another container changed the window first."""

    def load(self, key: str) -> BacklogWindow | None: ...

    def start(
        self,
        key: str,
        *,
        after: datetime,
        before: datetime,
        previous: BacklogWindow | None,
        lease_seconds: float,
    ) -> BacklogWindow | None: ...

    def claim(self, key: str, window: BacklogWindow, lease_seconds: float) -> BacklogWindow | None: ...

    def advance(
        self, key: str, window: BacklogWindow, *, next_token: str | None, orders_stored: int
    ) -> BacklogWindow | None: ...

    def release(self, key: str, window: BacklogWindow) -> None: ...


class RateBudgets(Protocol):
    """The rate budget an application's calls in a region draw from (Amazon meters each seller and
    operation within it)."""

    def for_account(self, application_id: str, region: str) -> RateBudget: ...


class AppSecret(Protocol):
    """The application's LWA client id and secret, read without a cache (a read-modify-write)."""

    def read(self) -> dict[str, Any]: ...

    def client_id(self) -> str: ...

    def replace_client_secret(self, current: dict[str, Any], client_secret: Any) -> None:
        """Writes ``current`` (as just read) with the new client secret (a ``SecretStr``)."""


class ClientSecretStates(Protocol):
    """What is known about the application's client secret; every write is conditional on the
    times it records, so a late notice never rolls a newer state back."""

    def get(self, client_id: str) -> ClientSecretState | None: ...

    def record_expiry_notice(
        self, client_id: str, *, expires_at: datetime, reason: str | None, notice_time: datetime
    ) -> bool: ...

    def record_new_secret(
        self,
        client_id: str,
        *,
        expires_at: datetime | None,
        updated_at: datetime,
        previous_expires_at: datetime | None,
    ) -> bool: ...

    def claim_rotation(
        self, client_id: str, *, expires_at: datetime, notice_time: datetime, now: datetime, until: datetime
    ) -> bool:
        """Records "rotation requested at ``now`` for the secret expiring at ``expires_at``", held
        until ``until`` (the attempt's deadline), unless one for a later expiry is recorded, one for
        that expiry finished or is still held, or a secret newer than the notice (``notice_time``)
        is stored; True if recorded."""

    def finish_rotation(
        self, client_id: str, *, expires_at: datetime, requested_at: datetime, outcome: str
    ) -> bool:
        """The claimed rotation's outcome ("requested": Amazon accepted; "refused"), kept for good:
        no later notice of that expiry asks again. False if the claim is no longer this attempt's."""

    def release_rotation(self, client_id: str, *, expires_at: datetime, requested_at: datetime) -> bool:
        """Gives this attempt's claim up (the call failed and may succeed later): a retry may claim at
        once. False if the claim is no longer this attempt's."""


class EventBus(Protocol):
    """SellerStream's own event bus."""

    def put(self, events: Sequence[OutgoingEvent]) -> list[str | None]:
        """One PutEvents call (at most 10 events, 256 KB): for each event, None when the bus took
        it, else EventBridge's error code for it. Raises when the call itself failed (none taken)."""


class EventDeadLetters(Protocol):
    def dead_letter(self, event: OutgoingEvent, reason: str) -> None:
        """The whole event, with why EventBridge refused it, where an operator finds it."""


class OrderPii(Protocol):
    def pii_of(self, seller_id: str, order_id: str) -> dict[str, Any] | None:
        """The order's buyer and recipient data as stored (None: none, or expired)."""


class NotificationStore(Protocol):
    def put_if_newer(self, record: NotificationRecord) -> WriteOutcome:
        """Stores the entity's state unless the store holds one of the same or a later change."""


class FeedStore(Protocol):
    """Feeds' records, one per seller and feed, each written once per processing outcome."""

    def outcome_of(self, seller_key: str, feed_id: str) -> FeedOutcome | None:
        """What the feed's stored record came to (None: no record)."""

    def put_if_newer(self, record: FeedRecord) -> WriteOutcome:
        """Stores the record, its per-message results with it (however many), unless the stored
        record has the same outcome or came from a newer notification: then STALE, and nothing
        changes (a redelivery, a duplicate or an older notification)."""
