"""Stand-ins behind the ports: the SP-API client's transport and clock, scripted, and an in-memory
fake of every port in ``sellerstream.ports`` (with the semantics of its AWS adapter)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, NamedTuple

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import ClientError

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
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredOrderItems, StoredPackage
from sellerstream.domain.reports import (
    COMPLETE,
    IN_PROGRESS,
    ReportProgress,
    ReportRows,
    lookup_column,
    lookup_value_accepted,
    progress_of,
)
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region
from sellerstream.spapi.ratelimit import RateLimiter
from sellerstream.spapi.transport import HttpRequest, HttpResponse, TransportError
from sellerstream.timestamps import sortable_timestamp

Responder = Callable[[HttpRequest], HttpResponse]


def response(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    return HttpResponse(status, {name.lower(): value for name, value in (headers or {}).items()}, raw)


def lwa_token(token: str = "Atza|token-1", expires_in: int = 3600) -> HttpResponse:
    return response(200, {"access_token": token, "token_type": "bearer", "expires_in": expires_in})


def amazon_error(
    status: int, code: str, message: str = "", details: str = "", request_id: str = "req-1"
) -> HttpResponse:
    return response(
        status,
        {"errors": [{"code": code, "message": message, "details": details}]},
        {"x-amzn-RequestId": request_id},
    )


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeTransport:
    """Answers LWA token requests with ``lwa`` and SP-API requests from a script, in order."""

    def __init__(
        self, script: list[HttpResponse | Exception] | None = None, lwa: list[HttpResponse] | None = None
    ):
        self.script = list(script or [])
        self.lwa = list(lwa or [])
        self.default_lwa = lwa_token()
        self.requests: list[HttpRequest] = []
        self.lwa_requests: list[HttpRequest] = []
        self.timeouts: list[float] = []

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        if request.url.endswith("/auth/o2/token"):
            self.lwa_requests.append(request)
            return self.lwa.pop(0) if self.lwa else self.default_lwa
        self.requests.append(request)
        self.timeouts.append(timeout)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def timeout_error() -> TransportError:
    return TransportError("timed out after 10.0s", timed_out=True)


# -- in-memory fakes of every port (sellerstream.ports), with the adapters' semantics -------------


class SentMessage(NamedTuple):
    body: str
    attributes: dict[str, dict[str, str]]
    delay_seconds: int = 0

    def attribute(self, name: str) -> str | None:
        value = self.attributes.get(name)
        return value.get("StringValue") if value else None


class FakeMessageQueue:
    """A consumer's queue and DLQ: what was sent where. ``failing`` makes every send raise it.

    Like SQS, it refuses (``InvalidParameterValue``) an attribute without a value, more than ten
    attributes and a delay past 900 seconds: a copy the real queue would refuse must fail here too."""

    def __init__(self) -> None:
        self.deferred: list[SentMessage] = []
        self.continued: list[SentMessage] = []
        self.dead_letters: list[SentMessage] = []
        self.failing: Exception | None = None
        self._serial = itertools.count(1)

    def defer(self, body: str, attributes: Mapping[str, Mapping[str, str]], *, delay_seconds: int) -> str:
        return self._send(self.deferred, SentMessage(body, _attributes(attributes), delay_seconds))

    def continue_later(self, body: str, attributes: Mapping[str, Mapping[str, str]]) -> str:
        return self._send(self.continued, SentMessage(body, _attributes(attributes)))

    def dead_letter(self, body: str, attributes: Mapping[str, Mapping[str, str]]) -> str:
        return self._send(self.dead_letters, SentMessage(body, _attributes(attributes)))

    def _send(self, sent: list[SentMessage], message: SentMessage) -> str:
        _check_sendable(message)
        if self.failing is not None:
            raise self.failing
        sent.append(message)
        return f"fake-message-{next(self._serial)}"


def _attributes(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    return {name: dict(value) for name, value in attributes.items()}


MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds
MAX_MESSAGE_ATTRIBUTES = 10  # SQS's limit per message


def _check_sendable(message: SentMessage) -> None:
    if not 0 <= message.delay_seconds <= MAX_DELAY_SECONDS:
        raise _invalid_parameter(f"DelaySeconds {message.delay_seconds} is not between 0 and 900")
    if len(message.attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise _invalid_parameter(f"{len(message.attributes)} message attributes: at most 10")
    for name, value in message.attributes.items():
        if not value.get("StringValue"):
            raise _invalid_parameter(f"message attribute {name!r} must contain a non-empty value")


def _invalid_parameter(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "InvalidParameterValue", "Message": message}}, "SendMessage")


class FakeSellerDirectory:
    """Sellers with credentials per region, subscriptions routed to them, their marketplaces per
    region; a seller in ``refused`` has an unusable secret (``SellerCredentialsError``), one absent
    is unknown (``UnknownSellerError``). Marketplaces are written only over an older answer, as in
    DynamoDB. ``sellers`` gives each seller's first region."""

    def __init__(self, app: LwaCredentials | None = None) -> None:
        self.app = app or LwaCredentials("amzn1.application-oa2-client.fake", "fake-client-secret")
        self.regions: dict[str, dict[Region, SellerCredentials]] = {}
        self.routes: dict[str, str] = {}
        self.route_regions: dict[str, Region] = {}
        self.refused: set[str] = set()
        self.marketplaces: dict[tuple[str, Region], SellerMarketplaces] = {}
        self.marketplace_saves: list[str] = []  # the seller of every write, in order
        self.forgotten: list[str] = []  # sellers whose credentials are to be read afresh
        self.refusals: dict[tuple[str, Region], tuple[str, datetime]] = {}

    @property
    def sellers(self) -> dict[str, SellerCredentials]:
        return {seller: next(iter(regions.values())) for seller, regions in self.regions.items() if regions}

    def add(
        self, seller_key: str, *, region: Region = Region.NA, refresh_token: str | None = None
    ) -> SellerCredentials:
        credentials = SellerCredentials(seller_key, refresh_token or f"Atzr|{seller_key}", region)
        regions = {**self.regions.get(seller_key, {}), region: credentials}
        self.regions[seller_key] = {kept: regions[kept] for kept in Region if kept in regions}
        return credentials

    def lwa_app(self) -> LwaCredentials:
        return self.app

    def for_notification(
        self, *, seller_id: str | None, subscription_id: str, marketplace_id: str | None = None
    ) -> SellerCredentials:
        seller_key = seller_id or self.routes.get(subscription_id)
        if seller_key is None:
            raise UnknownSellerError(
                f"no seller id in the notification and subscription {subscription_id!r} is unknown"
            )
        if seller_key in self.refused:
            raise SellerCredentialsError(f"the secret of seller {seller_key!r} has no refresh_token")
        regions = self.regions.get(seller_key)
        if not regions:
            raise UnknownSellerError(f"no credentials for seller {seller_key!r}")
        region = (
            MARKETPLACE_REGIONS.get(marketplace_id or "")
            or self.route_regions.get(subscription_id)
            or next(iter(regions))
        )
        if region not in regions:
            raise UnknownSellerError(f"seller {seller_key!r} has no credentials in {region.name}")
        return regions[region]

    def for_seller(self, seller_key: str, region: Region | None = None) -> SellerCredentials:
        regions = self.regions_of(seller_key)
        found = next((c for c in regions if region is None or c.region is region), None)
        if found is None:
            raise UnknownSellerError(f"seller {seller_key!r} has no credentials in {region}")
        return found

    def regions_of(self, seller_key: str) -> tuple[SellerCredentials, ...]:
        if seller_key in self.refused:
            raise SellerCredentialsError(f"the secret of seller {seller_key!r} has no refresh_token")
        if not self.regions.get(seller_key):
            raise UnknownSellerError(f"no credentials for seller {seller_key!r}")
        return tuple(self.regions[seller_key].values())

    def forget(self, seller_key: str) -> None:
        self.forgotten.append(seller_key)

    def known_sellers(self) -> list[str]:
        return sorted(seller for seller, regions in self.regions.items() if regions)

    def save_seller(self, seller_key: str, *, refresh_token: str, region: Region) -> tuple[str, str]:
        had = self.regions.get(seller_key, {})
        action = "created" if not had else "updated" if region in had else "added"
        self.add(seller_key, region=region, refresh_token=refresh_token)
        self.refusals.pop((seller_key, region), None)
        return f"sellerstream/seller/{seller_key}", action

    def remove_region(self, seller_key: str, region: Region) -> bool:
        return self.regions.get(seller_key, {}).pop(region, None) is not None

    def route_subscription(self, subscription_id: str, seller_id: str, region: Region | None = None) -> None:
        self.routes[subscription_id] = seller_id
        if region is not None:
            self.route_regions[subscription_id] = region

    def routed_sellers(self) -> set[str]:
        return set(self.routes.values())

    def marketplaces_of(self, seller_key: str, region: Region) -> SellerMarketplaces | None:
        return self.marketplaces.get((seller_key, region))

    def save_marketplaces(self, seller_key: str, region: Region, marketplaces: SellerMarketplaces) -> bool:
        stored = self.marketplaces.get((seller_key, region))
        if stored is not None and stored.refreshed_at >= marketplaces.refreshed_at:
            return False
        self.marketplaces[(seller_key, region)] = marketplaces
        self.marketplace_saves.append(seller_key)
        return True

    def mark_refused(self, seller_key: str, region: Region, *, reason: str, at: datetime) -> None:
        self.refusals.setdefault((seller_key, region), (reason, at))

    def refusals_of(self, seller_key: str) -> dict[Region, tuple[str, datetime]]:
        return {region: found for (seller, region), found in self.refusals.items() if seller == seller_key}


class FakeOrderStore:
    """Orders by (seller, order), written only over an older last-update time (the PII part by part)."""

    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], OrderRecord] = {}
        self.pii: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[OrderRecord] = []  # every successful write, in order
        self.refused = 0  # conditional writes that found the same or a newer state

    def put_if_newer(self, record: OrderRecord) -> WriteOutcome:
        key = (record.seller_id, record.order_id)
        stored = self.orders.get(key)
        if stored is not None and stored.last_updated >= record.last_updated:
            self.refused += 1
            return WriteOutcome.STALE
        self.orders[key] = record
        if record.pii:
            self.pii[key] = {**self.pii.get(key, {}), **record.pii}
        self.writes.append(record)
        return WriteOutcome.WRITTEN

    def last_updated_of(self, orders: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        return {key: self.orders[key].last_updated for key in orders if key in self.orders}


class FakeListingStore:
    def __init__(self) -> None:
        self.listings: dict[tuple[str, str, str], dict[str, Any]] = {}

    def put_if_newer(self, record: ListingRecord) -> WriteOutcome:
        key = (record.seller_id, record.marketplace_id, record.sku)
        if not self._newer(key, record.last_updated):
            return WriteOutcome.STALE
        self.listings[key] = {
            **_without_nones(record.attributes),
            "last_updated": record.last_updated,
            "deleted": False,
        }
        return WriteOutcome.WRITTEN

    def mark_deleted(
        self, seller_id: str, marketplace_id: str, sku: str, *, as_of: datetime, attributes: dict[str, Any]
    ) -> WriteOutcome:
        key = (seller_id, marketplace_id, sku)
        if not self._newer(key, as_of):
            return WriteOutcome.STALE
        kept = self.listings.get(key, {})
        self.listings[key] = {
            **kept,
            **_without_nones(attributes),  # as DynamoDB: a value not known now leaves the stored one
            "last_updated": as_of,
            "deleted": True,
            "deleted_at": as_of,
        }
        return WriteOutcome.WRITTEN

    def _newer(self, key: tuple[str, str, str], last_updated: datetime) -> bool:
        stored = self.listings.get(key)
        return stored is None or stored["last_updated"] < last_updated

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
        stored = self.listings.get((seller_id, marketplace_id, sku))
        if stored is None or stored["deleted"] or stored["last_updated"] != version:
            return WriteOutcome.STALE
        read_at = stored.get("issues_as_of", stored.get("stored_at"))
        observed = sortable_timestamp(observed_at)
        if read_at is not None and read_at >= observed:
            return WriteOutcome.STALE
        stored.update({**_without_nones(attributes), "issues": issues, "issues_as_of": observed})
        return WriteOutcome.WRITTEN

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
        outcomes: dict[str, WriteOutcome] = {}
        moment = sortable_timestamp(as_of)
        for marketplace_id in dict.fromkeys(marketplace_ids):
            stored = self.listings.get((seller_id, marketplace_id, sku))
            if stored is None or stored["deleted"]:
                continue
            entries = dict(stored.get("mfn_quantity") or {})
            known = [stored.get("stored_at"), sortable_timestamp(stored["last_updated"])]
            known.append((entries.get(channel) or {}).get("as_of"))
            if any(seen is not None and seen >= moment for seen in known):
                outcomes[marketplace_id] = WriteOutcome.STALE
                continue
            availability = [dict(entry) for entry in stored.get("fulfillment_availability") or []]
            mine = [entry for entry in availability if entry.get("fulfillmentChannelCode") == channel]
            if mine:
                mine[0]["quantity"] = quantity
            else:
                availability.append({"fulfillmentChannelCode": channel, "quantity": quantity})
            entries[channel] = {"quantity": quantity, "as_of": moment, "notification_id": notification_id}
            stored.update(
                fulfillment_availability=availability,
                quantity=sum(
                    entry["quantity"]
                    for entry in availability
                    if isinstance(entry.get("quantity"), int) and not isinstance(entry["quantity"], bool)
                ),
                mfn_quantity=entries,
                quantity_updated_at=max(stored.get("quantity_updated_at") or moment, moment),
            )
            outcomes[marketplace_id] = WriteOutcome.WRITTEN
        return outcomes


def _without_nones(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in attributes.items() if value is not None}


class FakeReportStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.saves: list[dict[str, Any]] = []

    def progress(self, seller_key: str, report_id: str) -> ReportProgress | None:
        record = self.records.get((seller_key, report_id))
        return progress_of(record) if record is not None else None

    def save(self, seller_key: str, report_id: str, record: dict[str, Any]) -> bool:
        stored = self.records.get((seller_key, report_id))
        if stored is not None and stored.get("ingestion_status") == COMPLETE:
            return False
        self.records[(seller_key, report_id)] = dict(record)
        self.saves.append(dict(record))
        return True

    def checkpoint(self, seller_key: str, report_id: str, fields: dict[str, Any]) -> bool:
        stored = self.records.get((seller_key, report_id))
        if stored is not None and "ingestion_status" in stored:
            further = int(stored.get("rows_written", 0)) > int(fields.get("rows_written", 0))
            if stored["ingestion_status"] != IN_PROGRESS or further:
                return False
        merged = {**(stored or {}), **{name: value for name, value in fields.items() if value is not None}}
        self.records[(seller_key, report_id)] = merged
        self.saves.append(dict(merged))
        return True


class FakeRowStore:
    """A report's rows as the row store keeps them: blocks (a ``write`` each, stored whole or not at
    all) and lookups (value -> row indexes, each written row once per write of its lookups), both by
    (seller, report id). ``failing_after``: the block that would take the stored rows past N raises
    its error; ``lookups_failing``: writing lookups raises it (the blocks stay stored)."""

    def __init__(self, bucket: str = "fake-reports") -> None:
        self.bucket = bucket
        self.rows: dict[tuple[str, str], dict[int, Any]] = {}  # rows of the stored blocks, by index
        self.lookups: dict[tuple[str, str], dict[str, list[int]]] = {}
        self.layouts: list[ReportRows] = []
        self.failing_after: tuple[int, Exception] | None = None
        self.lookups_failing: Exception | None = None

    @contextlib.contextmanager
    def open(self, layout: ReportRows) -> Iterator[FakeRowBatches]:
        self.layouts.append(layout)
        batches = FakeRowBatches(self, layout)
        yield batches
        batches.flush()

    def location(self, seller_key: str, report_id: str) -> dict[str, str]:
        return {"bucket": self.bucket, "prefix": f"rows/{seller_key}/{report_id}/"}

    def found(self, seller_key: str, report_id: str, value: str) -> list[int]:
        """The row indexes a lookup of ``value`` finds (each once, as the reader counts them)."""
        return sorted(set(self.lookups.get((seller_key, report_id), {}).get(value, [])))


class FakeRowBatches:
    """Writes blocks in order, at once; gathers their lookups until ``flush`` or ``settle``."""

    def __init__(self, store: FakeRowStore, layout: ReportRows) -> None:
        self._store = store
        self._layout = layout
        self._rows = store.rows.setdefault((layout.seller_key, layout.report_id), {})
        self._lookups = store.lookups.setdefault((layout.seller_key, layout.report_id), {})
        self._gathered: list[tuple[str, int]] = []
        self._blocks = 0  # rows stored in blocks by this writer
        self.stored = 0  # rows whose blocks and lookups are stored

    def write(self, start: int, rows: list[Any]) -> None:
        limit = self._store.failing_after
        if limit is not None and len(self._rows) + len(rows) > limit[0]:
            raise limit[1]
        for index, row in enumerate(rows, start):
            self._rows[index] = row
            value = self._value(row)
            if value:
                self._gathered.append((value, index))
        self._blocks += len(rows)

    def _value(self, row: Any) -> str:
        lookup = self._layout.lookup or (
            lookup_column(self._layout.report_type, list(row)) if isinstance(row, dict) else None
        )
        if lookup is None:
            return ""
        if isinstance(row, str):
            cells = row.split("\t")
            column = (
                self._layout.columns.index(lookup[0]) if lookup[0] in self._layout.columns else len(cells)
            )
            return cells[column] if column < len(cells) else ""
        value = row.get(lookup[0])
        return str(value) if isinstance(value, str | int) and lookup_value_accepted(str(value)) else ""

    def flush(self) -> None:
        if self._store.lookups_failing is not None:
            raise self._store.lookups_failing
        for value, index in self._gathered:
            self._lookups.setdefault(value, []).append(index)
        self._gathered = []
        self.stored = self._blocks

    def settle(self) -> int:
        with contextlib.suppress(Exception):
            self.flush()
        return self.stored


class FakeDocument:
    def __init__(self, body: bytes, content_type: str | None) -> None:
        self.body: IO[bytes] = io.BytesIO(body)
        self.content_type = content_type
        self.size = len(body)


class FakeDocumentStore:
    def __init__(self, bucket: str = "fake-reports") -> None:
        self.bucket = bucket
        self.objects: dict[str, tuple[bytes, str | None]] = {}

    def exists(self, key: str) -> bool:
        return key in self.objects

    def upload(self, key: str, stream: IO[bytes], *, content_type: str | None) -> None:
        self.objects[key] = (stream.read(), content_type)

    def open(self, key: str) -> FakeDocument:
        body, content_type = self.objects[key]
        return FakeDocument(body, content_type)


class FakePackageStore:
    def __init__(self) -> None:
        self.packages: dict[tuple[str, str, str], StoredPackage] = {}
        self.orders: dict[tuple[str, str], StoredOrderItems] = {}

    def packages_of(self, seller_id: str, order_id: str) -> list[StoredPackage]:
        return [
            p
            for (seller, order, _), p in sorted(self.packages.items())
            if (seller, order) == (seller_id, order_id)
        ]

    def order_items(self, seller_id: str, order_id: str) -> StoredOrderItems | None:
        return self.orders.get((seller_id, order_id))

    def put(self, package: StoredPackage, *, expected_version: int | None) -> None:
        key = (package.seller_id, package.order_id, package.package_reference_id)
        stored = self.packages.get(key)
        if (stored.version if stored else None) != expected_version:
            raise ConcurrentPackageUpdateError(f"package {package.package_reference_id} changed meanwhile")
        self.packages[key] = package


class FakeSearchWindows:
    """searchOrders windows by key; every change conditional on the version read, as in DynamoDB."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.windows: dict[str, BacklogWindow] = {}
        self._clock = clock

    def load(self, key: str) -> BacklogWindow | None:
        return self.windows.get(key)

    def start(
        self,
        key: str,
        *,
        after: datetime,
        before: datetime,
        previous: BacklogWindow | None,
        lease_seconds: float,
    ) -> BacklogWindow | None:
        window = BacklogWindow(
            after,
            before,
            None,
            False,
            (previous.version if previous else 0) + 1,
            self._clock() + lease_seconds,
            0,
            0,
        )
        return self._put(key, window, previous)

    def claim(self, key: str, window: BacklogWindow, lease_seconds: float) -> BacklogWindow | None:
        if window.done or window.leased(self._clock()):
            return None
        return self._put(
            key,
            window._replace(version=window.version + 1, lease_until=self._clock() + lease_seconds),
            window,
        )

    def advance(
        self, key: str, window: BacklogWindow, *, next_token: str | None, orders_stored: int
    ) -> BacklogWindow | None:
        advanced = window._replace(
            next_token=next_token,
            done=next_token is None,
            version=window.version + 1,
            lease_until=0.0,
            pages=window.pages + 1,
            orders=window.orders + orders_stored,
        )
        return self._put(key, advanced, window)

    def release(self, key: str, window: BacklogWindow) -> None:
        self._put(key, window._replace(version=window.version + 1, lease_until=0.0), window)

    def _put(self, key: str, window: BacklogWindow, previous: BacklogWindow | None) -> BacklogWindow | None:
        stored = self.windows.get(key)
        if (stored.version if stored else None) != (previous.version if previous else None):
            return None
        self.windows[key] = window
        return window


class FakePendingOrders:
    """Pending orders per account, one entry per order (its newest change wins), the least recently
    changed first, and each account's drainer lease (conditional on the version read, as in
    DynamoDB)."""

    def __init__(self) -> None:
        self.entries: dict[SellerAccount, dict[str, PendingChange]] = {}
        self.leases: dict[SellerAccount, DrainLease] = {}
        self.writes = 0  # entries put or deleted, and lease writes

    def add(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        entries = self.entries.setdefault(account, {})
        for change in changes:
            kept = entries.get(change.order_id)
            # The newer change wins; of the same change, the one with more failed fetches counted.
            if kept is None or (kept.changed, kept.attempts) < (change.changed, change.attempts):
                entries[change.order_id] = change
                self.writes += 1

    def oldest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        entries = self.entries.get(account, {}).values()
        return sorted(entries, key=lambda change: (change.changed, change.order_id))[:limit]

    def newest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        entries = self.entries.get(account, {}).values()
        return sorted(entries, key=lambda change: (change.changed, change.order_id), reverse=True)[:limit]

    def remove(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        entries = self.entries.get(account, {})
        for change in changes:
            kept = entries.get(change.order_id)
            if kept is not None and kept.changed <= change.changed:
                del entries[change.order_id]
                self.writes += 1

    def pending(self, account: SellerAccount) -> list[tuple[str, datetime]]:
        """(order id, change) of every entry, least recently changed first: what a test asserts on."""
        return [(change.order_id, change.changed) for change in self.oldest(account, 1_000_000)]

    def take_lease(
        self, account: SellerAccount, owner: str, *, now: float, until: float, resuming: bool = False
    ) -> DrainLease | None:
        held = self.leases.get(account)
        if held is not None and held.until > now and (held.owner or not resuming):
            return None  # held, or resting until its drain request comes
        self.writes += 1
        lease = DrainLease(
            owner,
            until,
            (held.version if held else 0) + 1,
            dict(held.buckets) if held else {},
            expired_until=held.until if held is not None and held.owner else None,
        )
        self.leases[account] = lease
        return lease

    def release_lease(
        self,
        account: SellerAccount,
        lease: DrainLease,
        buckets: Mapping[str, BucketState],
        *,
        resting_until: float = 0.0,
    ) -> None:
        held = self.leases.get(account)
        if held is None or held.owner != lease.owner or held.version != lease.version:
            return
        self.writes += 1
        self.leases[account] = DrainLease("", resting_until, lease.version + 1, dict(buckets))


class FakeRateBudgets:
    """An in-memory budget per (application, region), on the given clock."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.budgets: dict[tuple[str, str], RateLimiter] = {}

    def for_account(self, application_id: str, region: str) -> RateLimiter:
        key = (application_id, region)
        if key not in self.budgets:
            self.budgets[key] = RateLimiter(clock=self._clock, sleep=self._sleep)
        return self.budgets[key]


class FakeAppSecret:
    def __init__(
        self, client_id: str = "amzn1.application-oa2-client.fake", client_secret: str = "old-secret"
    ) -> None:
        self.document: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret}
        self.versions = 1

    def read(self) -> dict[str, Any]:
        return dict(self.document)

    def client_id(self) -> str:
        return str(self.document["client_id"])

    def replace_client_secret(self, current: dict[str, Any], client_secret: Any) -> None:
        self.document = {**current, "client_secret": client_secret.get_secret_value()}
        self.versions += 1


class RotationRecord(NamedTuple):
    """The rotation an expiry notice asked for, as the accounts table keeps it beside the state."""

    expires_at: datetime
    requested_at: datetime
    held_until: datetime | None  # None: given up
    outcome: str | None = None


class FakeClientSecretStates:
    """What is known of the client secret, by client id; writes conditional on the times, as in DynamoDB."""

    def __init__(self) -> None:
        self.states: dict[str, ClientSecretState] = {}
        self.rotations: dict[str, RotationRecord] = {}

    def get(self, client_id: str) -> ClientSecretState | None:
        return self.states.get(client_id)

    def record_expiry_notice(
        self, client_id: str, *, expires_at: datetime, reason: str | None, notice_time: datetime
    ) -> bool:
        known = self.states.get(client_id) or ClientSecretState(client_id)
        if (known.secret_updated_at and known.secret_updated_at >= notice_time) or (
            known.expiry_notice_at and known.expiry_notice_at >= notice_time
        ):
            return False
        self.states[client_id] = known._replace(
            expires_at=expires_at,
            expires_at_source="expiry_notice",
            expiry_notice_at=notice_time,
            expiry_reason=reason,
        )
        return True

    def record_new_secret(
        self,
        client_id: str,
        *,
        expires_at: datetime | None,
        updated_at: datetime,
        previous_expires_at: datetime | None,
    ) -> bool:
        known = self.states.get(client_id) or ClientSecretState(client_id)
        if known.secret_updated_at and known.secret_updated_at >= updated_at:
            return False
        self.states[client_id] = known._replace(
            expires_at=expires_at,
            expires_at_source="new_secret" if expires_at else None,
            secret_updated_at=updated_at,
            previous_secret_expires_at=previous_expires_at,
            expiry_reason=None,
        )
        return True

    def claim_rotation(
        self, client_id: str, *, expires_at: datetime, notice_time: datetime, now: datetime, until: datetime
    ) -> bool:
        known = self.states.get(client_id)
        if known is not None and known.secret_updated_at and known.secret_updated_at >= notice_time:
            return False
        recorded = self.rotations.get(client_id)
        if recorded is not None and (
            recorded.expires_at > expires_at
            or (
                recorded.expires_at == expires_at
                and (
                    recorded.outcome is not None
                    or (recorded.held_until is not None and recorded.held_until >= now)
                )
            )
        ):
            return False
        self.rotations[client_id] = RotationRecord(expires_at, now, until)
        if known is None:
            self.states[client_id] = ClientSecretState(client_id)
        return True

    def finish_rotation(
        self, client_id: str, *, expires_at: datetime, requested_at: datetime, outcome: str
    ) -> bool:
        recorded = self.rotations.get(client_id)
        if recorded is None or (recorded.expires_at, recorded.requested_at) != (expires_at, requested_at):
            return False
        self.rotations[client_id] = recorded._replace(outcome=outcome)
        return True

    def release_rotation(self, client_id: str, *, expires_at: datetime, requested_at: datetime) -> bool:
        recorded = self.rotations.get(client_id)
        if (
            recorded is None
            or (recorded.expires_at, recorded.requested_at) != (expires_at, requested_at)
            or recorded.outcome is not None
        ):
            return False
        self.rotations[client_id] = recorded._replace(held_until=None)
        return True


class FakePersistenceLayer(BasePersistenceLayer):
    """Powertools' idempotency records in memory, with its DynamoDB layer's conditions: a record may be
    written when absent, expired, or in progress past its in-progress expiry."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        try:
            return self.records[idempotency_key]
        except KeyError:
            raise IdempotencyItemNotFoundError from None

    def _put_record(self, data_record: DataRecord) -> None:
        stored = self.records.get(data_record.idempotency_key)
        now = time.time()
        if stored is not None:
            expired = stored.expiry_timestamp is not None and stored.expiry_timestamp < now
            abandoned = (
                stored.status == "INPROGRESS"
                and stored.in_progress_expiry_timestamp is not None
                and stored.in_progress_expiry_timestamp < now * 1000
            )
            if not expired and not abandoned:
                raise IdempotencyItemAlreadyExistsError(old_data_record=stored)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


class FakeEventBus:
    """SellerStream's bus: every PutEvents call and the events it took, in order. ``answers`` scripts
    the next calls: a list of error codes (None: taken) per call, or an exception to raise."""

    def __init__(self) -> None:
        self.calls: list[list[OutgoingEvent]] = []
        self.delivered: list[OutgoingEvent] = []
        self.answers: list[list[str | None] | Exception] = []

    def put(self, events: Sequence[OutgoingEvent]) -> list[str | None]:
        assert 0 < len(events) <= 10, "PutEvents takes 1 to 10 entries"
        self.calls.append(list(events))
        answer = self.answers.pop(0) if self.answers else [None] * len(events)
        if isinstance(answer, Exception):
            raise answer
        codes = list(answer)[: len(events)] + [None] * max(0, len(events) - len(answer))
        self.delivered.extend(event for event, code in zip(events, codes, strict=True) if code is None)
        return codes


class FakeEventDeadLetters:
    def __init__(self) -> None:
        self.events: list[tuple[OutgoingEvent, str]] = []

    def dead_letter(self, event: OutgoingEvent, reason: str) -> None:
        self.events.append((event, reason))


class FakeOrderPii:
    def __init__(self, pii: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.pii = dict(pii or {})

    def pii_of(self, seller_id: str, order_id: str) -> dict[str, Any] | None:
        return self.pii.get((seller_id, order_id))


class FakeNotificationStore:
    """Entities by (type, seller, key), written only over an older change."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str, tuple[tuple[str, str], ...]], NotificationRecord] = {}
        self.refused = 0

    def put_if_newer(self, record: NotificationRecord) -> WriteOutcome:
        key = (record.notification_type, record.seller_key, tuple(record.key.items()))
        stored = self.records.get(key)
        if stored is not None and stored.version >= record.version:
            self.refused += 1
            return WriteOutcome.STALE
        self.records[key] = record
        return WriteOutcome.WRITTEN


class FakeFeedStore:
    """Feeds by (seller, feed), each written once per outcome, never over a newer notification's."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], FeedRecord] = {}
        self.writes: list[FeedRecord] = []  # every successful write, in order
        self.refused = 0

    def outcome_of(self, seller_key: str, feed_id: str) -> FeedOutcome | None:
        stored = self.records.get((seller_key, feed_id))
        if stored is None:
            return None
        return FeedOutcome(stored.event_time, stored.processing_status, stored.report_status)

    def put_if_newer(self, record: FeedRecord) -> WriteOutcome:
        stored = self.records.get((record.seller_key, record.feed_id))
        if stored is not None and (stored.event_time > record.event_time or stored.outcome == record.outcome):
            self.refused += 1
            return WriteOutcome.STALE
        self.records[(record.seller_key, record.feed_id)] = record
        self.writes.append(record)
        return WriteOutcome.WRITTEN
