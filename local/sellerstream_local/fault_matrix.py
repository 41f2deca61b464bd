"""The fault matrix: every consumer's traffic through the real batch processing and use cases, with
faults injected at every boundary, on the virtual clock of ``simulation``; the invariants are
measured per consumer from what the stores and the emulator hold, never from the product's logs.

Four consumers run at once, each on its own queue, DLQ and containers (the catalog's sizing: batch
size, concurrency, timeout and visibility timeout), built as the functions build them
(``catalog.consumer(kind)``, ``wiring.batch_runner``, ``wiring.order_change.orders_runner``) on the
simulation's clock, tables and emulator:

- ``orders``: ORDER_CHANGE notifications (about 2.5 changes per order). A notification is
  acknowledged once its change is an entry of the seller's pending set (no idempotency records);
  one drainer per seller and region, holding the seller's lease, fetches the pending orders oldest
  first with getOrder (and searchOrders pages for settled backlogs); a drain that outlasts its
  invocation, or waits for a refused seller's renewal, goes on through a drain request on the
  orders queue (delayed up to 900 s). The lane runs until its queue is empty and its pending set
  drained (entries nothing is left to drain are reported as ``pending_left``).
- ``listings``: LISTINGS_ITEM_STATUS_CHANGE notifications as EventBridge's rule delivers them to
  SQS (the notification in the event's ``detail``), getListingsItem; about 2.5 status changes per
  SKU, a tenth of the SKUs deleted at the end, some SKUs holding characters a key must encode.
- ``reports``: REPORT_PROCESSING_FINISHED notifications, getReport and getReportDocument, the
  document's download (``reports.open_document`` pointed at the emulator in process), the raw copy
  and the row blocks in a simulated S3, the lookups in the rows table; DONE reports (some long
  enough to continue over several invocations), FATAL and CANCELLED ones, gzip or plain, UTF-8 or
  Cp1252.
- ``fulfillment``: the seller's shipment requests, confirmShipment; whole orders and split ones,
  packages the seller names or the product numbers, tracking updates hours later, orders stored
  with their items or not.

Injected: SP-API 429s, 5xx, timeouts, connection resets (after the request was served: the answer
is lost) and malformed (truncated) bodies; document downloads that time out, fail, expire or drop
part-way; S3 errors; ``invalid_grant`` for one seller whose authorisation is withdrawn for a while
and then renewed (a new refresh token in its secret); DynamoDB throttling, internal errors and
batch writes left partly unprocessed; containers killed just before a consumer's write (between
the SP-API answer and the store: a table, the raw copy, a copy back on the queue, an order change's
pending entry), just after it (the effect stored, the batch not acknowledged), and after the
invocation returned but before the event source mapping deleted its records: the records return
after the visibility timeout, and idempotency records left in progress are taken over once their
deadline passed. The orders' drainer is killed while it holds a seller's lease, between SP-API's
answer and the order's write and between the orders' writes and their entries' removal (the lease
then lapses with its invocation, the batch that took it comes back); a drain request's SendMessage
fails (the invocation then raises, and its whole batch comes back after the visibility timeout, as
for any invocation whose handler raised: counted in ``invocation_errors``). Duplicates (the
same notification or request delivered again), reordered deliveries (a change delivered after a
later change of the same order or SKU, an order's first package after its second), poison bodies
(at least three per consumer, of kinds no retry can cure), and ORDER_CHANGE notifications Amazon
never delivers (dropped before the queue: only reconciliation repairs those). A report has no
order to keep with others: its duplicates come at once or late, some while its later parts run.

Measured per consumer (``by_consumer``) and summed:

- ``lost``: delivered valid messages whose effect is not in the store at the end. Orders: the
  stored order older than the change (whether its entry was drained, is still pending, or was
  dead-lettered). Listings: the stored listing older than the change, or the SKU's stored state
  not Amazon's latest (its status, or deleted). Reports: a DONE report not complete with every row
  of its document, or with a row its SKU's lookup does not find (exactly it, once), a FATAL or
  CANCELLED one not recorded. Shipments: a request whose package Amazon does not hold or the store
  lacks, or a package whose tracking number at Amazon or in the store is not its latest request's.
- ``applied_twice``: an order or listing state written over the same state; a report completed
  again, or a row stored more than once (in two blocks); a package Amazon or the store holds twice
  (under two references), or one nobody asked for.
- ``regressed``: an older order or listing state written over a newer one; a report's record moved
  back (complete to in progress, fewer rows); a package confirmed with Amazon, or stored, with an
  earlier request's tracking number after a later one's.
- ``poison`` / ``poison_dead_lettered``: poison bodies published / found in the dead-letter queue
  (copied by the function with a reason, or redriven by the queue; for the orders, also a poison
  notification whose change a drain request in the DLQ carries).
- ``valid_dead_lettered``: valid messages found in the dead-letter queue. Orders: also each valid
  notification whose change a drain request in the DLQ carries (the drainer's dead letter of an
  order no retry can fetch), and any drain request without orders (never expected there).
- ``not_repaired``: orders whose stored state is older than Amazon's latest after reconciliation
  (before it when no reconciliation runs); the other consumers lose nothing before their queue.

Besides (``Outcome``): the orders' pending entries left at the end (``pending_left``), their
``lost`` before reconciliation repaired what it could (``orders_lost_before_reconciliation``), and
the invocations whose handler raised, by consumer, error and the product's frame
(``invocation_errors``). A product that loops without ever waiting on the virtual clock stops the
run with ``ClockStalled``, saying where it loops.

SellerStream's own events come out of the tables' change streams, as deployed: the simulated
DynamoDB keeps a stream for each table the catalog streams (``catalog.streamed_tables``), and once
the consumers (and reconciliation) are done, the real ``ChangeEventsUseCase`` reads each stream as
Lambda's event source mapping would have while they ran (``simulation.serve_stream``: one shard per
table, each record readable from its stored time plus the stream's delay, the deployed filter,
batches of 100 within a 1 s window, retries from the record the function names), onto a
simulated bus (``simulation.SimulatedEventBus``) that throttles entries, fails calls, loses answers
and has short outages; the publisher's container is killed right after a PutEvents call that took
events and between an invocation's end and Lambda's checkpoint (the batch is then read again
whole). Nothing the publisher does feeds back into the tables, so reading the streams after the
consumers' run gives the deliveries reading them alongside would. An independent subscriber gets
every event the bus took, in the order of the calls, and is judged against what the tables stored
(their write history, the streams' records, read by rules of this module and not the product's):
an applied change is an entity's write that stored a newer version than the one it replaced (an
order's or listing's ``last_updated``, a package's ``version``, a report's ``ingestion_status``
moving to COMPLETE or FAILED, its version the time recorded with it). Per consumer whose writes
they are:

- ``events_missing``: applied changes no delivered event announces.
- ``events_duplicate_ids``: deliveries of an id already delivered (allowed, counted), and
  ``events_duplicate_ids_unequal``: those whose detail differs from the first delivery's.
- ``events_regressed``: a new id whose version is older than one already delivered for its entity.
- ``events_spurious``: events announcing no applied change (or one another id already announced).

A run is the same run for the same seed: the product's own jitter is drawn from it too. Given a
``Journal``, a run also records every receive of every message (what became of it, and where a
container died), to tell why a message was lost or dead-lettered.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gzip
import io
import json
import math
import os
import random
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final, Protocol

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from sellerstream import aws, catalog, wiring
from sellerstream.adapters.dynamo import from_attribute_map, to_attribute_map
from sellerstream.adapters.events import stored_changes
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.adapters.pending_orders import ENTRY_PREFIX
from sellerstream.adapters.queue import SqsMessageQueue
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.report_documents import S3DocumentStore
from sellerstream.adapters.reports import DynamoDBReportStore, ReportRowWriter
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.config import QueueSettings, ReportFinishedSettings
from sellerstream.domain.events import OutgoingEvent
from sellerstream.domain.reports import COMPLETE, FAILED
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.change_events import ChangeEventsUseCase
from sellerstream.logic.drain_request import DRAIN_KEY
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.logic.report_finished import ReportFinishedUseCase
from sellerstream.logic.shipments import ShipmentUseCase
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.shipment_request import parse_shipment_delivery
from sellerstream.spapi import reports as reports_api
from sellerstream.spapi.errors import DocumentUrlExpired, SpApiServerError, SpApiTimeout
from sellerstream.spapi.transport import HttpRequest, HttpResponse, TransportError
from sellerstream.timestamps import parse_sortable, sortable_timestamp
from sellerstream.wiring import order_change as order_change_wiring
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.charsets import codec_for
from sellerstream_local.emulator.reports import FLAT_FILE_COLUMNS, write_flat_file
from sellerstream_local.emulator.server import Faults
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import (
    as_body,
    listings_status_change,
    order_change,
    report_processing_finished,
    shipment_request,
)
from sellerstream_local.resources import LOCAL_EVENT_SOURCE, create_catalog_table
from sellerstream_local.runtime_reset import reset_runtime
from sellerstream_local.simulation import (
    BusCounts,
    BusFaults,
    Delivery,
    LatencyModel,
    ShardCounts,
    SimulatedDynamoDB,
    SimulatedEventBus,
    SimulatedS3,
    SimulatedSecrets,
    SimulatedSqs,
    StreamRecord,
    VirtualTime,
    invoke_batch,
    powertools_on,
    quiet_function_logs,
    serve_stream,
)

START = 1_790_000_000.0  # the simulation's epoch (2026-09-21)
CHANGE_WINDOW_SECONDS = 3600.0  # Amazon's changes happen within the first hour
CALL_LATENCY = 0.15  # virtual seconds per HTTP call
INVOCATION_OVERHEAD = 0.05
RECORD_OVERHEAD = 0.005
COLD_START_SECONDS = 1.0
LONG_POLL = 20.0
MIN_POLL = 0.05
# Virtual time after which the run stops even if messages remain (they then count as lost).
GIVE_UP_AFTER_SECONDS = 3 * 24 * 3600.0
# The orders lane stops when its queue stayed empty this long with entries still pending: nothing
# is left to drain them (they are reported, and their changes count as lost unless stored).
STRANDED_AFTER_SECONDS = 900.0
# Wall seconds the virtual clock may stand still while a participant runs before the run calls it
# a busy loop (every wait of the product, an SP-API call's latency included, moves the clock).
STALL_SECONDS = 300.0
LWA_ID, LWA_SECRET = "amzn1.application-oa2-client.faultmatrix", "fault-matrix-secret"
LWA_PATH = "/auth/o2/token"
APP_SECRET_ID = "lwa"  # noqa: S105 - a secret's name
SELLER_SECRET_PREFIX = "sellers/"  # noqa: S105 - a prefix of secrets' names
MARKETPLACE = "ATVPDKIKX0DER"

# The consumers (the catalog's kinds) and what each one's figures hold.
ORDERS, LISTINGS, REPORTS, FULFILLMENT = "orders", "listings", "reports", "fulfillment"
KINDS: Final = (ORDERS, LISTINGS, REPORTS, FULFILLMENT)
# What the subscriber of SellerStream's bus measures (per consumer whose writes the events announce).
EVENT_FIGURES: Final = (
    "events_missing",
    "events_duplicate_ids",
    "events_duplicate_ids_unequal",
    "events_regressed",
    "events_spurious",
)
FIGURES: Final = (
    "lost",
    "applied_twice",
    "regressed",
    "poison",
    "poison_dead_lettered",
    "valid_dead_lettered",
    "not_repaired",
    *EVENT_FIGURES,
)
# The fewest poison bodies a consumer gets, so that a small run meets several kinds.
MIN_POISON = 3

LISTING_STATUSES: Final = (("BUYABLE", "DISCOVERABLE"), ("DISCOVERABLE",), ())
LISTING_DELETED = "DELETED"
DELETED_SKUS = 0.1  # share of the SKUs with more than one change whose last change deletes them

REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"
DONE, FATAL, CANCELLED = "DONE", "FATAL", "CANCELLED"
# A report longer than this continues in the next invocation (the setting bounds each part).
REPORT_ROWS_PER_INVOCATION = 1000
LONG_REPORTS = 0.3  # share of DONE reports of 1,000 to 3,000 rows (the rest: 20 to 400)
FATAL_MESSAGE = "Report processing failed: the requested date range holds no data."
# A report writes its rows in blocks and its lookups in dozens of batches: each is a write a
# container may die around, at this share of the per-write rate (else nearly every long report
# would meet a kill).
ROW_BATCH_KILL_SHARE = 0.1

SPLIT_ORDERS = 0.5  # share of the orders of several items shipped as two packages
TRACKING_UPDATES = 0.3  # share of the packages whose tracking number changes hours later
STORED_ORDERS = 0.7  # share of the orders stored with their items (the order consumer saw them)
UPDATE_AFTER_SECONDS = (2 * 3600.0, 3 * 3600.0)

# From a stored write to its event at a target, and how Lambda reads a stream: the model
# ``bench/events.py`` declares (each value's source is in its docstring).
EVENTS_LATENCY: Final = LatencyModel(
    propagation_median=0.1,  # DynamoDB Streams: "near-real time", no figure published
    propagation_p95=0.4,
    poll_interval=0.25,  # Lambda polls a DynamoDB stream's shards 4 times a second
    batch_size=catalog.CHANGE_EVENTS_PUBLISHER.sizing.batch_size,
    batching_window=float(catalog.CHANGE_EVENTS_PUBLISHER.sizing.batching_window_seconds),
    invocation_overhead=0.01,
    seconds_per_record=0.0025,  # the publisher's own work at 256 MB (bench/events.py measures it)
    cold_start=0.6,  # the handler's import and wiring (docs/development.md, "Cold start")
    put_median=0.02,
    put_p95=0.06,
    delivery_median=0.05,
    delivery_p95=0.12,
    max_record_age=float(catalog.CHANGE_EVENTS_PUBLISHER.max_record_age_seconds),
)


class ProcessKilled(BaseException):
    """The container died (out of memory, a crash, Lambda's timeout): nothing after it runs.

    A BaseException, so that no ``except Exception`` in the product or Powertools handles it: the
    batch is never acknowledged and idempotency records stay in progress, as after a real kill."""


class ClockStalled(BaseException):
    """A participant ran on without ever waiting on the virtual clock: a busy loop, which would
    spin in Lambda until the invocation's time ran out and never ends on the virtual clock. Raised
    in that participant (then by the run) with where it looped."""


@dataclass(frozen=True)
class FaultRates:
    """How often each fault is injected.

    The AWS faults (``s3_errors``, ``dynamodb_throttles``, ``dynamodb_errors``) reach the product as
    they are: the simulated clients stand in for boto3's whole client, retries included, so each
    rate is that of an error that outlived boto3's standard retries (``sellerstream.aws``: 4
    attempts, within a retry quota that an outage drains). Drawn per call and independently, they are
    far above what calm days show and about what a throttled partition, an S3 prefix answering
    SlowDown or a regional hiccup does to a consumer making many calls: the product must come
    through them without losing or dead-lettering anything, every consumer alike. (Modelling the
    retries with independent draws instead would leave about rate**4 per call: nothing a run ever
    meets, and nothing of the product's own handling of AWS errors tested.)
    """

    duplicates: float = 0.20  # share of notifications delivered a second time
    reordered: float = 0.20  # share delivered after a later change of the same order (or SKU)
    poison: float = 0.01  # share of the notifications that are poison
    dropped: float = 0.05  # share of valid ORDER_CHANGE notifications Amazon never delivers
    spapi_throttles: float = 0.03  # injected 429s per HTTP call (besides the rate plans' own)
    spapi_server_errors: float = 0.03  # 503s per SP-API call (the emulator's faults)
    spapi_malformed: float = 0.01  # truncated 200 bodies per SP-API call
    timeouts: float = 0.01  # no answer within the timeout, per HTTP call
    connection_resets: float = 0.01  # served, then the connection dropped, per HTTP call
    download_failures: float = 0.04  # per document download: a timeout, a 503, an expired URL or a reset
    s3_errors: float = 0.005  # per S3 call
    dynamodb_throttles: float = 0.01  # per DynamoDB call
    dynamodb_errors: float = 0.005  # InternalServerError per DynamoDB call
    dynamodb_unprocessed: float = 0.02  # BatchWriteItem calls that leave part of the batch unprocessed
    kills: float = 0.005  # per consumer write: the container dies just before it
    kills_after_write: float = 0.005  # per consumer write: the container dies just after it
    kills_before_acknowledging: float = 0.002  # per invocation: dies before its records are deleted
    # The orders' drainer, while it holds a seller's lease: it dies between getOrder's (or a page's)
    # answer and the order's write, or between the orders' writes and their entries' removal.
    lease_kills_before_write: float = 0.005  # per order write made under a drain lease
    lease_kills_before_removal: float = 0.002  # per removal of a served entry (one DeleteItem)
    drain_requests_lost: float = 0.05  # per drain request sent to the orders queue: SendMessage fails
    # SellerStream's bus (PutEvents answers; the product retries a call 3 times within an invocation).
    event_throttles: float = 0.02  # per entry: ThrottlingException
    event_internal_failures: float = 0.01  # per entry: InternalFailure
    event_call_failures: float = 0.01  # per PutEvents call: it fails, nothing taken
    event_lost_answers: float = 0.005  # per call: every entry taken, the answer lost
    event_outages_per_hour: float = 3.0  # seconds-long spells of the account's PutEvents quota spent
    publisher_kills_after_put: float = 0.005  # per PutEvents call that took events: dies right after
    publisher_kills_before_checkpoint: float = 0.005  # per invocation: dies before Lambda checkpoints
    revoked_at: float = 600.0  # one seller withdraws the authorisation (seconds after the start)
    reauthorised_at: float = 2400.0  # and renews it with a new refresh token


@dataclass(frozen=True)
class Traffic:
    """How many messages each consumer gets (poison included)."""

    orders: int = 10_000
    listings: int = 5_000
    reports: int = 200
    shipments: int = 2_000
    # Share of the orders whose packages the seller names (packageReferenceId); the product numbers
    # the others.
    named_packages: float = 0.5

    @classmethod
    def of(cls, notifications: int) -> Traffic:
        """``notifications`` ORDER_CHANGE notifications and the other consumers in the defaults' proportion."""
        return cls(
            orders=notifications,
            listings=notifications // 2,
            reports=max(MIN_POISON + 1, notifications // 50),
            shipments=notifications // 5,
        )


@dataclass
class Change:
    """One change of an order in Amazon's view, and the notification announcing it."""

    seller: str
    order_id: str
    changed: float  # whole seconds
    notification_id: str
    body: str = ""
    dropped: bool = False
    reordered: bool = False
    duplicated: bool = False


@dataclass
class ListingChange:
    """One change of a listing in Amazon's view, and the notification announcing it."""

    seller: str
    sku: str
    changed: float  # whole seconds: Amazon's lastUpdatedDate (or the deletion's event time)
    status: tuple[str, ...]
    deleted: bool
    notification_id: str
    body: str = ""
    last: bool = False  # the SKU's latest change
    reordered: bool = False
    duplicated: bool = False


@dataclass
class Report:
    """A report Amazon finished, and the notification saying so."""

    seller: str
    report_id: str
    status: str
    document_id: str | None
    rows: int
    compressed: bool
    charset: str
    finished: float
    notification_id: str
    body: str = ""
    duplicated: bool = False


@dataclass
class ShipmentOrder:
    seller: str
    order_id: str
    items: dict[str, int]  # order item id -> quantity ordered
    stored: bool  # in the orders table with its items


@dataclass
class Shipment:
    """One shipment request of the seller's systems: a package of an order, or its tracking update."""

    order: ShipmentOrder
    package: int  # the package's place among its order's packages
    items: dict[str, int]  # what the package ships
    reference: str | None  # the seller's packageReferenceId (None: the product numbers it)
    tracking: str
    request_id: str
    update: bool
    body: str = ""
    reordered: bool = False
    duplicated: bool = False


@dataclass(order=True)
class _Event:
    at: float
    serial: int
    kind: str = field(compare=False)  # "change", "listing", "deliver", "revoke", "reauthorise"
    change: Change | ListingChange | None = field(default=None, compare=False)
    body: str = field(default="", compare=False)
    lane: str = field(default=ORDERS, compare=False)  # the consumer a delivery goes to


@dataclass
class Workload:
    sellers: list[str]
    revoked_seller: str
    changes: list[Change]
    poison: list[str]  # bodies
    events: list[_Event]


@dataclass
class ListingsWorkload:
    changes: list[ListingChange]
    poison: list[str]
    events: list[_Event]


@dataclass
class ReportsWorkload:
    reports: list[Report]
    poison: list[str]
    events: list[_Event]


@dataclass
class ShipmentsWorkload:
    orders: list[ShipmentOrder]  # every order a request names, poison's too
    requests: list[Shipment]  # the valid ones
    poison: list[str]
    events: list[_Event]


@dataclass
class ConsumerTraffic:
    notifications: int  # messages published (valid and poison), each once
    deliveries: int  # including duplicates
    receives: int
    still_queued: int


@dataclass
class Outcome:
    figures: dict[str, int]  # summed over the consumers
    by_consumer: dict[str, dict[str, int]]
    consumers: dict[str, ConsumerTraffic]
    injected: Counter[str]
    stale_before_reconciliation: int
    reconciled: bool
    notifications: int
    deliveries: int
    orders: int
    still_queued: int
    receives: int
    sp_api_calls: dict[str, int]
    containers: int
    reconfirmations: int  # confirmShipment calls Amazon accepted again for a request it had accepted
    revoked_lwa_exchanges: int
    revoked_seller_receives: int  # receives of its messages while its authorisation was withdrawn
    revoked_seller_notifications: int  # its messages received meanwhile
    virtual_seconds: float
    wall_seconds: float
    journal: Journal | None = None  # when the run was asked to keep one
    events: EventsOutcome | None = None
    # Orders' pending entries left at the end (none once every drain is done), and the invocations
    # whose handler raised, by consumer, exception and the product's frame it came through.
    pending_left: int = 0
    invocation_errors: Counter[str] = field(default_factory=Counter)
    # The orders' ``lost`` before reconciliation ran: what the consumer itself left undone (``lost``
    # is measured at the end, after reconciliation repaired what it could).
    orders_lost_before_reconciliation: int = 0


@dataclass
class EventsOutcome:
    """What the change streams, the publisher and the bus did, and what the subscriber saw."""

    stream_records: int  # records of the streamed tables' streams
    applied: int  # applied changes (what the subscriber is owed an event for)
    deliveries: int  # events the subscriber got, duplicates included
    dead_lettered: int  # events the publisher put on its DLQ (EventBridge refused them for good)
    latencies: list[float]  # per applied change announced: stored until first delivered (seconds)
    killed_writes: int  # applied changes whose writer's container died right after the write
    killed_writes_announced: int  # of those, the ones the subscriber got an event for
    bus: BusCounts
    shards: ShardCounts
    outages: int  # spells of PutEvents throttling injected
    publisher_seconds: float  # virtual seconds from the first stored change to the last delivery


@dataclass
class World:
    """What a reconciliation run needs after delivery: the simulation's clock, tables and clients."""

    clock: VirtualTime
    settings: Any
    emulator: Any
    dynamodb: Any
    sellers: list[str]
    since: datetime
    until: datetime
    make_access: Callable[..., Any]  # a SpApiAccess on the simulation's clock and emulator
    make_directory: Callable[[], Any]  # the seller directory
    make_order_store: Callable[[], Any]  # the order store on the orders table


Reconcile = Callable[[World], dict[str, Any] | None]


@dataclass(frozen=True)
class Receive:
    """One receive of a message: what became of it (a ``RecordOutcome``'s outcome), or ``killed``."""

    at: float  # virtual seconds since the start
    message_id: str
    receive_count: int
    part: str | None  # a report continuation's part
    outcome: str
    reason: str | None = None
    detail: str | None = None
    result: dict[str, Any] | None = None  # the use case's summary, when applied


@dataclass
class Journal:
    """Every receive of every message of a run, by consumer and by the id the message is known by
    (a notification's or a shipment request's): ``run(journal=...)`` fills it, to tell why a
    message was lost or dead-lettered. ``dead_lettered``: the valid messages found in each DLQ;
    ``pending``: the orders' pending entries left at the end."""

    receives: defaultdict[str, defaultdict[str, list[Receive]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    dead_lettered: dict[str, set[str]] = field(default_factory=dict)
    # The orders' pending entries left at the end: (account, its key, the notification id).
    pending: list[tuple[str, str, str]] = field(default_factory=list)

    def applied(self, kind: str, at: float, messages: list[Any], outcomes: list[Any]) -> None:
        for message, outcome in zip(messages, outcomes, strict=True):
            self._add(
                kind,
                message,
                at,
                outcome.outcome,
                outcome.reason,
                outcome.detail,
                dict(outcome.result) if outcome.result is not None else None,
            )

    def killed(self, kind: str, at: float, messages: list[Any], where: str) -> None:
        for message in messages:
            self._add(kind, message, at, "killed", None, where, None)

    def failed(self, kind: str, at: float, messages: list[Any], where: str) -> None:
        """The invocation raised: none of its records was acknowledged (``where``: what and where)."""
        reason, _, frame = where.partition(" in ")
        for message in messages:
            self._add(kind, message, at, "failed", reason, f"in {frame}", None)

    def struggled(self, kind: str, failures: int = 3) -> dict[str, list[Receive]]:
        """The messages of ``kind`` dead-lettered, or received ``failures`` times without being done."""
        return {
            key: receives
            for key, receives in self.receives[kind].items()
            if key in self.dead_lettered.get(kind, set())
            or sum(receive.outcome in ("retry", "killed", "failed") for receive in receives) >= failures
        }

    def _add(
        self,
        kind: str,
        message: Any,
        at: float,
        outcome: str,
        reason: str | None,
        detail: str | None,
        result: dict[str, Any] | None,
    ) -> None:
        part = message.attributes.get("sellerstream-continuation-part", {}).get("StringValue")
        self.receives[kind][_journal_key(message.body, message.message_id)].append(
            Receive(
                at - START, message.message_id, message.receive_count, part, outcome, reason, detail, result
            )
        )


def _kept_and_journaled(
    results: list[Any], journal: Journal | None, kind: str, at: float, messages: list[Any], result: Any
) -> None:
    results.append(result)
    if journal is not None:
        _journal_result(journal, kind, at, messages, result)


def _journal_result(journal: Journal, kind: str, at: float, messages: list[Any], result: Any) -> None:
    journal.applied(kind, at, messages, result.outcomes)


def _where_killed(error: BaseException) -> str:
    """The product's innermost frame when the container died (the simulation's own frames left out):
    where it first died, when a ``finally`` of the product called on and met its death again."""
    while isinstance(error.__context__, ProcessKilled):
        error = error.__context__
    frame = _product_frame(error)
    return f"killed in {frame}" if frame else "killed before acknowledging"


def _where_failed(error: BaseException) -> str:
    """What an invocation raised (an AWS error with its code), and the product's innermost frame."""
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    kind = f"{type(error).__name__}({code})" if code else type(error).__name__
    return f"{kind} in {_product_frame(error) or 'the simulation'}"


def _product_frame(error: BaseException) -> str | None:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if "/sellerstream/" in frame.filename.replace("\\", "/")
    ]
    if not frames:
        return None
    frame = frames[-1]
    return f"{frame.filename.rsplit('/sellerstream/', 1)[-1]}:{frame.lineno} {frame.name}"


# -- the workloads -------------------------------------------------------------------------------


def build_workload(notifications: int, seed: int, rates: FaultRates = FaultRates()) -> Workload:
    """ORDER_CHANGE traffic, and the seller whose authorisation is withdrawn for a while."""

    rng = random.Random(seed)
    poison_count = max(1, round(notifications * rates.poison))
    valid = notifications - poison_count
    seller_count = max(2, min(10, valid // 100))
    sellers = [f"A{index:02d}FAULTMATRIX" for index in range(seller_count)]
    revoked = sellers[1]
    orders = max(1, int(valid / 2.5))
    per_order = [1] * orders
    for _ in range(valid - orders):
        per_order[rng.randrange(orders)] += 1
    changes: list[Change] = []
    siblings: list[list[Change]] = []
    for index, count in enumerate(per_order):
        seller = sellers[index % seller_count]
        order_id = f"{100 + index % 900}-{index:07d}-{rng.randint(1_000_000, 9_999_999)}"
        moment = float(int(rng.uniform(0, CHANGE_WINDOW_SECONDS - 600)))
        of_order: list[Change] = []
        for _ in range(count):
            of_order.append(Change(seller, order_id, START + moment, ""))
            moment += float(rng.randint(2, 600))  # Amazon's times are whole seconds: keep them apart
        changes.extend(of_order)
        siblings.append(of_order)
    firsts = {id(of_order[0]) for of_order in siblings}
    for serial, change in enumerate(changes):
        change.notification_id = f"fm-{serial:07d}"
        status = "Unshipped" if id(change) in firsts else "Shipped"
        document = order_change(
            seller_id=change.seller,
            order_id=change.order_id,
            status=status,
            changed_at=datetime.fromtimestamp(change.changed, UTC),
            notification_id=change.notification_id,
        )
        change.body = as_body(document)
    for change in rng.sample(changes, round(valid * rates.dropped)):
        change.dropped = True
    delivered = [change for change in changes if not change.dropped]
    publish_at = {change.notification_id: change.changed + rng.uniform(1, 10) for change in changes}
    followed = [
        (change, of_order[position + 1])
        for of_order in siblings
        for position, change in enumerate(of_order[:-1])
        if not change.dropped
    ]
    for change, later in rng.sample(followed, min(len(followed), round(notifications * rates.reordered))):
        change.reordered = True
        publish_at[change.notification_id] = publish_at[later.notification_id] + rng.uniform(1, 300)
    events: list[_Event] = []
    serials = iter(range(10**9))
    for change in changes:
        events.append(_Event(change.changed, next(serials), "change", change))
    for change in delivered:
        events.append(
            _Event(publish_at[change.notification_id], next(serials), "deliver", change, change.body)
        )
    for change in rng.sample(delivered, min(len(delivered), round(notifications * rates.duplicates))):
        change.duplicated = True
        events.append(
            _Event(
                publish_at[change.notification_id] + _again(rng),
                next(serials),
                "deliver",
                change,
                change.body,
            )
        )
    poison = [_poison_body(index, rng, sellers) for index in range(poison_count)]
    for body in poison:
        events.append(
            _Event(START + rng.uniform(0, CHANGE_WINDOW_SECONDS), next(serials), "deliver", None, body)
        )
    events.append(_Event(START + rates.revoked_at, next(serials), "revoke"))
    events.append(_Event(START + rates.reauthorised_at, next(serials), "reauthorise"))
    events.sort()
    return Workload(sellers, revoked, changes, poison, events)


def _again(rng: random.Random) -> float:
    """How long after its first delivery a duplicate arrives: at once, or much later."""
    return rng.uniform(0, 5) if rng.random() < 0.3 else rng.uniform(30, 1800)


def _poison_body(index: int, rng: random.Random, sellers: list[str]) -> str:
    """A body no retry can cure, of one of the kinds Amazon's shapes rule out; each one unique."""

    notification_id = f"poison-{index:05d}"
    document = order_change(
        seller_id=rng.choice(sellers),
        order_id=f"999-{index:07d}-0000001",
        status="Unshipped",
        changed_at=datetime.fromtimestamp(START, UTC),
        notification_id=notification_id,
    )
    change = document["Payload"]["OrderChangeNotification"]
    kind = index % 8
    if kind == 0:
        return f"not json {notification_id}"
    if kind == 1:
        return as_body(document)[:-7]  # truncated
    if kind == 2:
        del change["AmazonOrderId"]
    elif kind == 3:
        change["SellerId"] = f"X#MARKETPLACE#{index}"
    elif kind == 4:
        document["EventTime"] = "2026-09-21T00:00:00"  # naive
        change["OrderChangeTrigger"]["TimeOfOrderChange"] = None
    elif kind == 5:
        document["NotificationType"] = "ORDER_EXPLODED"
    elif kind == 6:
        change["SellerId"] = f"AUNKNOWN{index:05d}"  # the shape of a seller, but no credentials
    else:
        change["AmazonOrderId"] = f"../{index}"
    return as_body(document)


def _sku(index: int) -> str:
    """Most SKUs are plain; some hold what a key must encode (Amazon allows any character)."""
    if index % 9 == 4:
        return f"Blue Shirt/XL #{index}"
    if index % 9 == 7:
        return f"Größe 42 - 100% {index}"
    return f"FM-SKU-{index:06d}"


def _eventbridge(document: dict[str, Any], rng: random.Random, at: float) -> str:
    """The SQS body EventBridge's rule delivers: the notification is the event's ``detail``."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "detail-type": str(document.get("NotificationType")),
            "source": LOCAL_EVENT_SOURCE,
            "account": "123456789012",
            "time": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": document,
        }
    )


def build_listings(
    notifications: int, seed: int, sellers: list[str], rates: FaultRates = FaultRates()
) -> ListingsWorkload:
    """LISTINGS_ITEM_STATUS_CHANGE traffic: status changes of SKUs, some deleted at the end."""

    rng = random.Random(f"{seed}:listings")
    poison_count = min(notifications, max(MIN_POISON, round(notifications * rates.poison)))
    valid = notifications - poison_count
    skus = max(1, int(valid / 2.5)) if valid else 0
    per_sku = [1] * skus
    for _ in range(valid - skus):
        per_sku[rng.randrange(skus)] += 1
    changes: list[ListingChange] = []
    siblings: list[list[ListingChange]] = []
    for index, count in enumerate(per_sku):
        seller, sku = sellers[index % len(sellers)], _sku(index)
        moment = float(int(rng.uniform(0, CHANGE_WINDOW_SECONDS - 600)))
        deleted_at_end = count > 1 and rng.random() < DELETED_SKUS
        of_sku: list[ListingChange] = []
        for position in range(count):
            deleted = deleted_at_end and position == count - 1
            status = () if deleted else rng.choice(LISTING_STATUSES)
            of_sku.append(ListingChange(seller, sku, START + moment, status, deleted, ""))
            moment += float(rng.randint(2, 600))
        of_sku[-1].last = True
        changes.extend(of_sku)
        siblings.append(of_sku)
    for serial, change in enumerate(changes):
        change.notification_id = f"fm-listing-{serial:07d}"
        document = listings_status_change(
            seller_id=change.seller,
            sku=change.sku,
            status=[LISTING_DELETED] if change.deleted else list(change.status),
            changed_at=datetime.fromtimestamp(change.changed, UTC),
            marketplace_id=MARKETPLACE,
            notification_id=change.notification_id,
        )
        change.body = _eventbridge(document, rng, change.changed)
    publish_at = {change.notification_id: change.changed + rng.uniform(1, 10) for change in changes}
    followed = [
        (change, of_sku[position + 1]) for of_sku in siblings for position, change in enumerate(of_sku[:-1])
    ]
    for change, later in rng.sample(followed, min(len(followed), round(notifications * rates.reordered))):
        change.reordered = True
        publish_at[change.notification_id] = publish_at[later.notification_id] + rng.uniform(1, 300)
    events: list[_Event] = []
    serials = iter(range(10**9))
    for change in changes:
        events.append(_Event(change.changed, next(serials), "listing", change))
        events.append(
            _Event(
                publish_at[change.notification_id], next(serials), "deliver", change, change.body, LISTINGS
            )
        )
    for change in rng.sample(changes, min(len(changes), round(notifications * rates.duplicates))):
        change.duplicated = True
        at = publish_at[change.notification_id] + _again(rng)
        events.append(_Event(at, next(serials), "deliver", change, change.body, LISTINGS))
    poison = [_listing_poison(index, rng, sellers) for index in range(poison_count)]
    for body in poison:
        at = START + rng.uniform(0, CHANGE_WINDOW_SECONDS)
        events.append(_Event(at, next(serials), "deliver", None, body, LISTINGS))
    events.sort()
    return ListingsWorkload(changes, poison, events)


def _listing_poison(index: int, rng: random.Random, sellers: list[str]) -> str:
    notification_id = f"poison-listing-{index:05d}"
    changed_at = datetime.fromtimestamp(START, UTC)
    document = listings_status_change(
        seller_id=rng.choice(sellers),
        sku=f"POISON-{index}",
        status=["BUYABLE"],
        changed_at=changed_at,
        marketplace_id=MARKETPLACE,
        notification_id=notification_id,
    )
    payload = document["Payload"]
    kind = index % 8
    if kind == 0:
        return f"not json {notification_id}"
    if kind == 1:
        return _eventbridge(document, rng, START)[:-9]  # truncated
    if kind == 2:
        del payload["Sku"]
    elif kind == 3:
        payload["SellerId"] = f"X#MARKETPLACE#{index}"
    elif kind == 4:
        payload["SellerId"] = f"AUNKNOWN{index:05d}"  # the shape of a seller, but no credentials
    elif kind == 5:
        payload["Sku"] = f"{index}-" + "X" * 300  # longer than a SKU can be
    elif kind == 6:
        payload["Status"] = "BUYABLE"  # a list in Amazon's schema
    else:
        # Another consumer's type on this queue (a rule matching too much).
        document = order_change(
            seller_id=payload["SellerId"],
            order_id=f"998-{index:07d}-0000001",
            status="Unshipped",
            changed_at=changed_at,
            notification_id=notification_id,
        )
    return _eventbridge(document, rng, START)


def _with_notification_id(document: dict[str, Any], notification_id: str) -> dict[str, Any]:
    """The notification with its id set, in its envelope's own spelling."""
    metadata = next(value for key, value in document.items() if key.lower() == "notificationmetadata")
    key = next(name for name in metadata if name.lower() == "notificationid")
    metadata[key] = notification_id
    return document


def build_reports(
    notifications: int, seed: int, sellers: list[str], rates: FaultRates = FaultRates()
) -> ReportsWorkload:
    """REPORT_PROCESSING_FINISHED traffic: DONE reports (some longer than one invocation's share),
    FATAL and CANCELLED ones."""

    rng = random.Random(f"{seed}:reports")
    poison_count = min(notifications, max(MIN_POISON, round(notifications * rates.poison)))
    reports: list[Report] = []
    for index in range(notifications - poison_count):
        roll = rng.random()
        status = DONE if roll < 0.8 else FATAL if roll < 0.9 else CANCELLED
        rows = 0
        if status == DONE:
            rows = rng.randint(1_000, 3_000) if rng.random() < LONG_REPORTS else rng.randint(20, 400)
        report = Report(
            seller=sellers[index % len(sellers)],
            report_id=f"{60_000_000_000 + seed * 100_000 + index}",
            status=status,
            document_id=None if status == CANCELLED else f"amzn1.spdoc.1.4.na.fm{seed}-{index:06d}",
            rows=rows,
            compressed=rng.random() < 0.7,
            charset="Cp1252" if rng.random() < 0.2 else "UTF-8",
            finished=START + float(int(rng.uniform(0, CHANGE_WINDOW_SECONDS))),
            notification_id=f"fm-report-{index:07d}",
        )
        report.body = _report_body(
            report.seller,
            report.report_id,
            status,
            report.document_id,
            report.finished,
            report.notification_id,
        )
        reports.append(report)
    events: list[_Event] = []
    serials = iter(range(10**9))
    publish_at = {report.notification_id: report.finished + rng.uniform(1, 10) for report in reports}
    for report in reports:
        events.append(
            _Event(publish_at[report.notification_id], next(serials), "deliver", None, report.body, REPORTS)
        )
    for report in rng.sample(reports, min(len(reports), round(len(reports) * rates.duplicates))):
        report.duplicated = True
        at = publish_at[report.notification_id] + _again(rng)
        events.append(_Event(at, next(serials), "deliver", None, report.body, REPORTS))
    poison = [_report_poison(index, rng, sellers) for index in range(poison_count)]
    for body in poison:
        events.append(
            _Event(
                START + rng.uniform(0, CHANGE_WINDOW_SECONDS), next(serials), "deliver", None, body, REPORTS
            )
        )
    events.sort()
    return ReportsWorkload(reports, poison, events)


def _report_body(
    seller: str, report_id: str, status: str, document_id: str | None, finished: float, notification_id: str
) -> str:
    document = report_processing_finished(
        report_id=report_id,
        status=status,
        finished_at=datetime.fromtimestamp(finished, UTC),
        seller_id=seller,
        account_id=f"amzn1.merchant.o.{seller}",
        document_id=document_id,
        report_type=REPORT_TYPE,
    )
    return as_body(_with_notification_id(document, notification_id))


def _report_poison(index: int, rng: random.Random, sellers: list[str]) -> str:
    notification_id = f"poison-report-{index:05d}"
    seller = rng.choice(sellers)
    report_id, document_id = f"9{index:010d}", f"amzn1.spdoc.1.4.na.poison-{index:06d}"
    document = json.loads(_report_body(seller, report_id, DONE, document_id, START, notification_id))
    report = document["payload"]["reportProcessingFinishedNotification"]
    kind = index % 7
    if kind == 0:
        return f"not json {notification_id}"
    if kind == 1:
        return as_body(document)[:-11]  # truncated
    if kind == 2:
        del report["reportDocumentId"]  # DONE names its document
    elif kind == 3:
        report["sellerId"] = f"X#MARKETPLACE#{index}"
    elif kind == 4:
        report["sellerId"] = f"AUNKNOWN{index:05d}"
    elif kind == 5:
        pass  # a report Amazon never made: getReport answers 404
    else:
        del report["processingStatus"]
    return as_body(document)


def build_shipments(
    requests: int,
    seed: int,
    sellers: list[str],
    rates: FaultRates = FaultRates(),
    *,
    named_packages: float = Traffic.named_packages,
) -> ShipmentsWorkload:
    """The seller's shipment requests: a package per order or two, some updated hours later."""

    rng = random.Random(f"{seed}:shipments")
    poison_count = min(requests, max(MIN_POISON, round(requests * rates.poison)))
    valid = requests - poison_count
    orders: list[ShipmentOrder] = []
    planned: list[Shipment] = []
    publish_at: dict[str, float] = {}
    pairs: list[tuple[Shipment, Shipment]] = []  # an order's two packages' first requests
    serials = iter(range(10**9))
    while len(planned) < valid:
        order = _shipment_order(
            len(orders), rng, sellers[len(orders) % len(sellers)], rng.random() < STORED_ORDERS
        )
        orders.append(order)
        firsts = _plan_shipments(order, rng, serials, planned, publish_at, named_packages)
        if len(firsts) == 2:
            pairs.append((firsts[0], firsts[1]))
    # The first package's request after the second's: references the product numbers change hands.
    for first, second in rng.sample(pairs, min(len(pairs), round(valid * rates.reordered / 2))):
        first.reordered = True
        publish_at[first.request_id] = publish_at[second.request_id] + rng.uniform(1, 120)
    events = [
        _Event(publish_at[request.request_id], next(serials), "deliver", None, request.body, FULFILLMENT)
        for request in planned
    ]
    for request in rng.sample(planned, min(len(planned), round(len(planned) * rates.duplicates))):
        request.duplicated = True
        at = publish_at[request.request_id] + _again(rng)
        events.append(_Event(at, next(serials), "deliver", None, request.body, FULFILLMENT))
    poison: list[str] = []
    for position in range(poison_count):
        kind = position % 8
        order = _shipment_order(len(orders), rng, rng.choice(sellers), stored=kind in (4, 5))
        orders.append(order)
        poison.append(_shipment_poison(position, kind, order))
        at = START + rng.uniform(0, CHANGE_WINDOW_SECONDS)
        events.append(_Event(at, next(serials), "deliver", None, poison[-1], FULFILLMENT))
    events.sort()
    return ShipmentsWorkload(orders, planned, poison, events)


def _plan_shipments(
    order: ShipmentOrder,
    rng: random.Random,
    serials: Iterator[int],
    planned: list[Shipment],
    publish_at: dict[str, float],
    named_packages: float,
) -> list[Shipment]:
    """An order's requests (added to ``planned``, when to publish each to ``publish_at``): the whole
    order in one package or split in two, within minutes; each package's first request is returned."""
    ordered = list(order.items.items())
    packages = [order.items]
    if len(ordered) > 1 and rng.random() < SPLIT_ORDERS:
        cut = rng.randint(1, len(ordered) - 1)
        packages = [dict(ordered[:cut]), dict(ordered[cut:])]
    named = rng.random() < named_packages
    shipped_at = START + rng.uniform(0, CHANGE_WINDOW_SECONDS)
    firsts: list[Shipment] = []
    for position, items in enumerate(packages):
        # A request for the whole of a stored order may leave its items out.
        name_items = not (items == order.items and order.stored and rng.random() < 0.5)
        reference = str(position + 1) if named else None
        at = shipped_at + position * rng.uniform(0, 120)
        first = _shipment(
            order, position, items, reference, next(serials), update=False, name_items=name_items, at=at
        )
        planned.append(first)
        firsts.append(first)
        publish_at[first.request_id] = at
        if rng.random() < TRACKING_UPDATES:
            later = at + rng.uniform(*UPDATE_AFTER_SECONDS)
            update = _shipment(
                order, position, items, reference, next(serials), update=True, name_items=name_items, at=later
            )
            planned.append(update)
            publish_at[update.request_id] = later
    return firsts


def _shipment_order(index: int, rng: random.Random, seller: str, stored: bool) -> ShipmentOrder:
    order_id = f"{200 + index % 700}-{rng.randint(1_000_000, 9_999_999)}-{index:07d}"
    items = {f"{rng.randint(10**13, 10**14 - 1)}": rng.randint(1, 3) for _ in range(rng.randint(1, 3))}
    return ShipmentOrder(seller, order_id, items, stored)


def _shipment(
    order: ShipmentOrder,
    position: int,
    items: dict[str, int],
    reference: str | None,
    serial: int,
    *,
    update: bool,
    name_items: bool,
    at: float,
) -> Shipment:
    request_id, tracking = f"fm-shipment-{serial:07d}", f"1ZFM{serial:010d}"
    body = shipment_request(
        seller_id=order.seller,
        order_id=order.order_id,
        tracking_number=tracking,
        carrier_code="FedEx" if update else "UPS",
        shipped_at=datetime.fromtimestamp(at - 600, UTC),
        request_id=request_id,
        marketplace_id=MARKETPLACE,
        package_reference_id=reference,
        items=items if name_items else None,
    )
    return Shipment(order, position, items, reference, tracking, request_id, update, as_body(body))


def _shipment_poison(position: int, kind: int, order: ShipmentOrder) -> str:
    item, quantity = next(iter(order.items.items()))
    document = shipment_request(
        seller_id=order.seller,
        order_id=order.order_id,
        tracking_number=f"POISON{position:06d}",
        shipped_at=datetime.fromtimestamp(START, UTC),
        request_id=f"poison-shipment-{position:05d}",
        marketplace_id=MARKETPLACE,
        items={item: quantity},
    )
    request = document["shipment"]
    if kind == 0:
        return f"not json poison-shipment-{position:05d}"
    if kind == 1:
        request["trackingNo"] = request["trackingNumber"]  # a field the format does not have
    elif kind == 2:
        del request["trackingNumber"]
    elif kind == 3:
        request["orderItems"][0]["quantity"] = 0
    elif kind == 4:
        request["orderItems"] = [{"orderItemId": "99999999999999", "quantity": 1}]  # not the stored order's
    elif kind == 5:
        request["orderItems"][0]["quantity"] = quantity + 1  # more than the stored order holds
    elif kind == 6:
        # The order is not stored: Amazon refuses an item it does not have (400).
        request["orderItems"] = [{"orderItemId": "99999999999999", "quantity": 1}]
    else:
        request["carrierCode"] = "Other"  # without the carrierName Amazon then needs
    return as_body(document)


# -- injected faults -----------------------------------------------------------------------------


class FaultyTransport:
    """The emulator in process, with latency on the virtual clock, 429s, timeouts and resets."""

    def __init__(
        self, inner: Any, clock: VirtualTime, rng: random.Random, rates: FaultRates, injected: Counter[str]
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._rng = rng
        self._rates = rates
        self._injected = injected
        self.enabled = True
        self.revoked_token: str | None = None
        self.revoked_exchanges = 0

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        self._clock.sleep(CALL_LATENCY)
        if self.revoked_token is not None and urllib.parse.urlsplit(request.url).path == LWA_PATH:
            form = urllib.parse.parse_qs((request.body or b"").decode())
            if form.get("refresh_token") == [self.revoked_token]:
                self.revoked_exchanges += 1
        if not self.enabled:
            response: HttpResponse = self._inner.send(request, timeout)
            return response
        rates, roll = self._rates, self._rng.random()
        if roll < rates.timeouts:
            self._injected["timeouts"] += 1
            self._clock.sleep(max(timeout - CALL_LATENCY, 0.0))
            raise TransportError("timed out", timed_out=True)
        roll -= rates.timeouts
        if roll < rates.connection_resets:
            self._injected["connection_resets"] += 1
            self._inner.send(request, timeout)  # served by Amazon; the answer never arrives
            raise TransportError("connection reset by peer", timed_out=False)
        roll -= rates.connection_resets
        if roll < rates.spapi_throttles and urllib.parse.urlsplit(request.url).path != LWA_PATH:
            self._injected["spapi_throttles"] += 1
            body = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}
            return HttpResponse(429, {"content-type": "application/json"}, json.dumps(body).encode())
        response = self._inner.send(request, timeout)
        return response


class _DroppedConnection(io.RawIOBase):
    """A download whose connection drops part-way: its first bytes, then a reset."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data = data
        self._position = 0
        self._cut = cut

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._cut:
            raise ConnectionResetError("connection reset by peer")
        size = min(len(buffer), self._cut - self._position)
        buffer[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


class FaultyDownloads:
    """``reports.open_document`` pointed at the emulator in process: the presigned URL's GET without
    a socket, answered (and failed) as the real download is, on the virtual clock."""

    def __init__(
        self,
        emulator: SpApiEmulator,
        clock: VirtualTime,
        rng: random.Random,
        rates: FaultRates,
        injected: Counter[str],
    ) -> None:
        self._emulator = emulator
        self._clock = clock
        self._rng = rng
        self._rates = rates
        self._injected = injected
        self.enabled = True

    def open_document(
        self,
        url: str,
        timeout: float = reports_api.DOWNLOAD_TIMEOUT_SECONDS,
        *,
        operation: str = "reportDocumentDownload",
    ) -> reports_api.DocumentDownload:
        self._clock.sleep(CALL_LATENCY)
        fault = None
        if self.enabled and self._rng.random() < self._rates.download_failures:
            fault = self._rng.choice(
                ("download_timeouts", "download_errors", "download_expired", "download_resets")
            )
            self._injected[fault] += 1
        if fault == "download_timeouts":
            self._clock.sleep(timeout)
            raise SpApiTimeout(operation, "document download failed: TimeoutError")
        if fault == "download_errors":
            raise SpApiServerError(operation, "document download failed", status=503)
        if fault == "download_expired":  # the URL outlived its five minutes
            raise DocumentUrlExpired(operation, "document URL refused or expired", status=403)
        status, headers, payload = self._emulator.handle("GET", urllib.parse.urlsplit(url).path, {}, b"")
        if status in (400, 403):
            raise DocumentUrlExpired(operation, "document URL refused or expired", status=status)
        if status != 200:
            raise SpApiServerError(operation, "document download failed", status=status)
        data = payload if isinstance(payload, bytes) else payload.read_bytes()
        body: Any = io.BytesIO(data)
        if fault == "download_resets":
            # Buffered as an HTTP response is: a read asks for more until it has what it was asked
            # for, so the reset reaches the reader rather than a short read.
            body = io.BufferedReader(_DroppedConnection(data, self._rng.randrange(max(len(data), 1))))
        return reports_api.DocumentDownload(body, headers.get("content-type"))


class FaultyS3(SimulatedS3):
    """``SimulatedS3`` failing some calls as S3 does (an upload fails as boto3's transfer reports it);
    a container may die around an upload (a report's raw copy), as ``dies`` decides."""

    def __init__(
        self, rng: random.Random, rates: FaultRates, injected: Counter[str], dies: FaultyDynamoDB
    ) -> None:
        super().__init__()
        self._rng = rng
        self._rates = rates
        self._injected = injected
        self._dies = dies
        self.enabled = False

    def _fails(self) -> bool:
        if self.enabled and self._rng.random() < self._rates.s3_errors:
            self._injected["s3_errors"] += 1
            return True
        return False

    def upload_fileobj(
        self, Fileobj: Any, Bucket: str, Key: str, ExtraArgs: dict[str, Any] | None = None, **options: Any
    ) -> None:
        if self._fails():
            raise S3UploadFailedError(
                f"Failed to upload to {Bucket}/{Key}: An error occurred (InternalError) when calling the "
                "UploadPart operation: We encountered an internal error. Please try again."
            )
        self._dies.die_before()
        super().upload_fileobj(Fileobj, Bucket, Key, ExtraArgs, **options)
        self._dies.die_after()

    def put_object(
        self, Bucket: str, Key: str, Body: bytes, ContentType: str | None = None, **options: Any
    ) -> dict[str, Any]:
        # A report's row block: one of the writes a container may die around, like a lookup batch.
        self._maybe_fail("PutObject")
        self._dies.die_before(ROW_BATCH_KILL_SHARE)
        result = super().put_object(Bucket, Key, Body, ContentType, **options)
        self._dies.die_after(ROW_BATCH_KILL_SHARE)
        return result

    def get_object(self, Bucket: str, Key: str, **options: Any) -> dict[str, Any]:
        self._maybe_fail("GetObject")
        return super().get_object(Bucket, Key, **options)

    def head_object(self, Bucket: str, Key: str, **options: Any) -> dict[str, Any]:
        self._maybe_fail("HeadObject")
        return super().head_object(Bucket, Key, **options)

    def _maybe_fail(self, operation: str) -> None:
        if self._fails():
            error = {
                "Code": "InternalError",
                "Message": "We encountered an internal error. Please try again.",
            }
            raise ClientError({"Error": error}, operation)


class FaultyDynamoDB(SimulatedDynamoDB):
    """``SimulatedDynamoDB`` that throttles and fails on some calls, kills the container just before or
    just after some of a consumer's writes, and records what each write replaced (for ``regressed``
    and ``applied_twice``): orders and listings by their last-update time, a report's record by its
    progress, a package by its version.

    ``tables`` names the tables whose writes are a consumer's (by the catalog's table roles)."""

    def __init__(self, rng: random.Random, rates: FaultRates, injected: Counter[str]) -> None:
        super().__init__()
        self._rng = rng
        self._rates = rates
        self._injected = injected
        self.tables: dict[str, str] = {}
        self.enabled = False
        self.killed: set[int] = set()  # threads of containers that died (until they start again)
        # The drain leases (pending orders partitions) each live container holds, by thread.
        self.leases: defaultdict[int, set[str]] = defaultdict(set)
        self.writes: Counter[str] = Counter()  # by consumer
        self.regressed: Counter[str] = Counter()
        self.applied_twice: Counter[str] = Counter()
        self.package_writes: list[tuple[str, str, str]] = []  # (order id, reference, tracking number)
        # The stream records of each write right after which the container died.
        self.killed_after: list[StreamRecord] = []
        self._marks: dict[str, int] = {}  # each stream's length before the write under way

    def _maybe_fail(self, operation: str) -> None:
        if threading.get_ident() in self.killed:
            raise ProcessKilled  # a dead container makes no more calls
        if not self.enabled:
            return
        roll = self._rng.random()
        if roll < self._rates.dynamodb_throttles:
            self._injected["dynamodb_throttles"] += 1
            code = (
                "ThrottlingException"
                if operation == "TransactWriteItems"
                else "ProvisionedThroughputExceededException"
            )
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, operation)
        if roll < self._rates.dynamodb_throttles + self._rates.dynamodb_errors:
            self._injected["dynamodb_errors"] += 1
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "Internal server error"}}, operation
            )

    def die_before(self, share: float = 1.0) -> None:
        """Maybe the container dies now, just before a consumer's write (of any store): between the answer
        in hand (SP-API's, or the rows read) and the write."""
        self._marks = {table: len(records) for table, records in self.streams.items()}
        if self.enabled and self._rng.random() < self._rates.kills * share:
            self._injected["kills"] += 1
            self._die()

    def die_after(self, share: float = 1.0) -> None:
        """Maybe the container dies now, just after a consumer's write: stored, never acknowledged."""
        if self.enabled and self._rng.random() < self._rates.kills_after_write * share:
            self._injected["kills_after_write"] += 1
            for table, records in self.streams.items():
                self.killed_after.extend(records[self._marks.get(table, len(records)) :])
            self._die()

    def _die(self) -> None:
        self.killed.add(threading.get_ident())
        self.leases.pop(threading.get_ident(), None)  # held in the table until they expire
        raise ProcessKilled

    @property
    def rates(self) -> FaultRates:
        return self._rates

    def holds_lease(self) -> bool:
        """Whether this container holds a seller's drain lease (taken, not released yet)."""
        return bool(self.leases.get(threading.get_ident()))

    def die_holding_lease(self, fault: str, rate: float) -> None:
        """Maybe the container dies now, while it holds a drain lease (``fault``: where, counted)."""
        if self.holds_lease() and self.injects(fault, rate):
            self._die()

    def injects(self, fault: str, rate: float) -> bool:
        """Whether ``fault`` is injected now (drawn at ``rate``, and counted)."""
        if self.enabled and self._rng.random() < rate:
            self._injected[fault] += 1
            return True
        return False

    def get_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("GetItem")
        return super().get_item(TableName, Key, **options)

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self._maybe_fail("BatchGetItem")
        return super().batch_get_item(RequestItems)

    def query(self, TableName: str, KeyConditionExpression: str, **options: Any) -> dict[str, Any]:
        self._maybe_fail("Query")
        return super().query(TableName, KeyConditionExpression, **options)

    def put_item(self, TableName: str, Item: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("PutItem")
        consumer = self._consumer_of(TableName, Item)
        if consumer is None:
            return super().put_item(TableName, Item, **options)
        if consumer == ORDERS:  # the drainer's write: SP-API's answer in hand, the entries still pending
            self.die_holding_lease("lease_kills_before_write", self._rates.lease_kills_before_write)
        self.die_before()
        key = self._key(TableName, Item)
        before = self._items[TableName].get(key)
        result = super().put_item(TableName, Item, **options)
        self._record(consumer, before, self._items[TableName][key])
        self.die_after()
        return result

    def update_item(
        self, TableName: str, Key: dict[str, Any], UpdateExpression: str, **options: Any
    ) -> dict[str, Any]:
        self._maybe_fail("UpdateItem")
        if (
            TableName == self.tables.get(catalog.PENDING_ORDERS_TABLE.role)
            and Key["sk"]["S"].startswith(ENTRY_PREFIX)
            and ":attempts" not in options.get("ExpressionAttributeValues", {})
        ):
            # An intake's entry is its notification's effect: acknowledged once written.
            self.die_before()
            result = super().update_item(TableName, Key, UpdateExpression, **options)
            self.die_after()
            return result
        consumer = self._consumer_of(TableName, Key)
        if consumer is None:
            result = super().update_item(TableName, Key, UpdateExpression, **options)
            if TableName == self.tables.get(catalog.PENDING_ORDERS_TABLE.role):
                self._leased(Key, UpdateExpression)
            return result
        if consumer == ORDERS:
            self.die_holding_lease("lease_kills_before_write", self._rates.lease_kills_before_write)
        self.die_before()
        key = self._key(TableName, Key)
        before = self._items[TableName].get(key)
        result = super().update_item(TableName, Key, UpdateExpression, **options)
        self._record(consumer, before, self._items[TableName][key])
        self.die_after()
        return result

    def delete_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("DeleteItem")
        if TableName == self.tables.get(catalog.PENDING_ORDERS_TABLE.role):
            # The drainer removes a served entry after the order's write, under its lease.
            self.die_holding_lease("lease_kills_before_removal", self._rates.lease_kills_before_removal)
        return super().delete_item(TableName, Key, **options)

    def batch_write_item(
        self, RequestItems: dict[str, list[dict[str, Any]]], **options: Any
    ) -> dict[str, Any]:
        self._maybe_fail("BatchWriteItem")
        rows = self.tables.get(catalog.REPORT_ROWS_TABLE.role) in RequestItems
        if rows:
            self.die_before(ROW_BATCH_KILL_SHARE)
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        if self.enabled and self._rng.random() < self._rates.dynamodb_unprocessed:
            # DynamoDB took part of the batch (a hot partition): the rest comes back to be sent again.
            self._injected["dynamodb_unprocessed"] += 1
            taken: dict[str, list[dict[str, Any]]] = {}
            for table, requests in RequestItems.items():
                cut = self._rng.randrange(len(requests))
                taken[table], unprocessed[table] = requests[:cut], requests[cut:]
            RequestItems = {table: requests for table, requests in taken.items() if requests}
        if RequestItems:
            super().batch_write_item(RequestItems, **options)
        if rows:
            self.die_after(ROW_BATCH_KILL_SHARE)
        return {"UnprocessedItems": unprocessed}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self._maybe_fail("TransactWriteItems")
        return super().transact_write_items(TransactItems)

    def _leased(self, key: dict[str, Any], expression: str) -> None:
        """Follows the drain leases this container takes (``SET #owner``) and releases (``REMOVE
        #owner``): a conditional write that failed raised before here."""
        partition = str(key["pk"]["S"])
        if expression.startswith("SET #owner"):
            self.leases[threading.get_ident()].add(partition)
        elif "REMOVE #owner" in expression:
            self.leases[threading.get_ident()].discard(partition)

    def _consumer_of(self, table: str, item: dict[str, Any]) -> str | None:
        """The consumer whose effect a write to this item is (None: not a consumer's effect)."""
        tables = self.tables
        if table == tables.get(catalog.ORDERS_TABLE.role) and item["sk"]["S"].startswith("ORDER#"):
            return ORDERS
        if table == tables.get(catalog.LISTINGS_TABLE.role):
            return LISTINGS
        if table == tables.get(catalog.REPORTS_TABLE.role):
            return REPORTS
        if table == tables.get(catalog.ORDERS_TABLE.role) and item["sk"]["S"].startswith("PACKAGE#"):
            return FULFILLMENT
        return None

    def _record(self, consumer: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        self.writes[consumer] += 1
        if consumer == FULFILLMENT:
            # Which request's package each write stored: its order is the workload's to judge.
            self.package_writes.append(
                (
                    _text(after, "order_id"),
                    _text(after, "package_reference_id"),
                    _text(after, "tracking_number"),
                )
            )
        if before is None:
            return
        if consumer == REPORTS:
            if _text(before, "ingestion_status") == COMPLETE:
                target = (
                    self.applied_twice if _text(after, "ingestion_status") == COMPLETE else self.regressed
                )
                target[consumer] += 1
            elif _number(after, "rows_written") < _number(before, "rows_written"):
                self.regressed[consumer] += 1
            return
        if consumer == FULFILLMENT:
            if _number(after, "version") <= _number(before, "version"):
                self.regressed[consumer] += 1
            return
        written, previous = _text(after, "last_updated"), _text(before, "last_updated")
        if written < previous:
            self.regressed[consumer] += 1
        elif written == previous:
            self.applied_twice[consumer] += 1


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


class _InlineExecutor(Executor):
    """Writes a report's row batches as they are handed over, in the invocation's own thread: the
    simulation runs one participant at a time and draws its faults in that order, so the writer's
    threads would make a run depend on the host's scheduling."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


class _SqsRouter:
    """The product's SQS call, routed by queue URL to a consumer's queue or its DLQ. A copy of a
    record put back on its own queue (deferred, a report's continuation, an orders drain request) is
    a write too: the container may die just before or just after it, as ``dies`` decides. A drain
    request's SendMessage fails at ``drain_requests_lost`` (SQS's 500, after boto3's retries)."""

    def __init__(
        self, queues: list[SimulatedSqs], dead_letters: list[SimulatedSqs], dies: FaultyDynamoDB
    ) -> None:
        self._queues = {queue.queue.url: queue for queue in [*queues, *dead_letters]}
        self._own = {queue.queue.url for queue in queues}
        self._dies = dies

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int = 0,
        MessageAttributes: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, str]:
        own = QueueUrl in self._own
        if own:
            self._dies.die_before()
            rate = self._dies.rates.drain_requests_lost
            if _drain_request(MessageBody) is not None and self._dies.injects("drain_requests_lost", rate):
                error = {"Code": "InternalError", "Message": "We encountered an internal error."}
                raise ClientError({"Error": error}, "SendMessage")
        sent = self._queues[QueueUrl].send_message(
            QueueUrl=QueueUrl,
            MessageBody=MessageBody,
            DelaySeconds=DelaySeconds,
            MessageAttributes=MessageAttributes,
        )
        if own:
            self._dies.die_after()
        return sent


# -- SellerStream's events: the streams, the publisher, the bus and its subscriber ---------------


class _EventDeadLetters:
    """The publisher's DLQ: each event EventBridge refused for good, with its reason."""

    def __init__(self) -> None:
        self.events: list[tuple[OutgoingEvent, str]] = []

    def dead_letter(self, event: OutgoingEvent, reason: str) -> None:
        self.events.append((event, reason))


@dataclass
class Published:
    """What the publisher put on the bus: the subscriber's deliveries, in the order of the calls."""

    deliveries: list[Delivery]
    bus: BusCounts
    shards: ShardCounts
    dead_lettered: int
    outages: int
    injected: Counter[str]
    # The function's own CPU time here (Lambda's event to the use case's outcome; the bus's excluded).
    function_cpu_seconds: float = 0.0


def publish_events(
    dynamodb: SimulatedDynamoDB,
    tables: dict[str, str],
    *,
    seed: int,
    rates: FaultRates = FaultRates(),
    latency: LatencyModel = EVENTS_LATENCY,
    start: float = START,
) -> Published:
    """The streamed tables' change streams (all written already) through the real publisher, as
    Lambda's event source mapping feeds it, onto a simulated bus with ``rates``' faults; on a clock
    of its own from ``start``. ``tables``: the tables' names by role. Runs within the functions'
    environment (``function_environment``, or ``run``'s own)."""
    from sellerstream.observability import metrics  # noqa: PLC0415 - once the run's environment is set

    clock = VirtualTime(start)
    rng = random.Random(f"{seed}:events")
    streamed = catalog.streamed_tables()
    names = {table.role: tables[table.role] for table in streamed}
    roles = {name: role for role, name in names.items()}
    written = [record.stored_at for name in names.values() for record in dynamodb.streams.get(name, [])[-1:]]
    outages = _outages(rng, start, max(written, default=start) + 60.0, rates.event_outages_per_hour)
    injected: Counter[str] = Counter()

    def die_after_put() -> None:
        if rng.random() < rates.publisher_kills_after_put:
            injected["publisher_kills_after_put"] += 1
            raise ProcessKilled

    faults = BusFaults(
        entry_throttles=rates.event_throttles,
        entry_internal_failures=rates.event_internal_failures,
        call_failures=rates.event_call_failures,
        lost_answers=rates.event_lost_answers,
        outages=outages,
    )
    bus = SimulatedEventBus(
        clock, rng, source=catalog.EVENT_SOURCE, faults=faults, latency=latency, after_put=die_after_put
    )
    dead_letters = _EventDeadLetters()
    shards = ShardCounts()
    cpu = {"function": 0.0}

    def shard(table: catalog.Table) -> None:
        name = names[table.role]
        arn, keys, prefixes = (
            dynamodb.stream_arn(name),
            dynamodb.key_names(name),
            catalog.sort_prefixes(table),
        )
        sort_key = table.sort_key or "sk"
        use_case = ChangeEventsUseCase(bus, dead_letters, table_names=names, sleep=clock.sleep)

        def passes(record: StreamRecord) -> bool:  # the deployed mapping's filter (catalog.stream_filters)
            return record.event_name != "REMOVE" and record.sort_key(sort_key).startswith(prefixes)

        def invoke(batch: list[StreamRecord]) -> str | None:  # the handler, on Lambda's event
            event = {"Records": [record.lambda_record(arn, keys) for record in batch]}
            started, on_bus = time.thread_time(), bus.counts.cpu_seconds
            try:
                outcome = use_case.publish(stored_changes(event, roles))
            finally:
                metrics.clear_metrics()
                cpu["function"] += time.thread_time() - started - (bus.counts.cpu_seconds - on_bus)
            if rng.random() < rates.publisher_kills_before_checkpoint:
                injected["publisher_kills_before_checkpoint"] += 1
                raise ProcessKilled  # published, never checkpointed: the batch is read again whole
            return outcome.retry_from

        serve_stream(
            clock,
            dynamodb.streams.get(name, []),
            invoke,
            latency=latency,
            rng=rng,
            passes=passes,
            dies=(ProcessKilled,),
            counts=shards,
        )

    for table in streamed:
        clock.start(f"stream-{table.role}", functools.partial(shard, table))
    clock.run()
    injected["event_outages"] = len(outages)
    return Published(
        bus.deliveries, bus.counts, shards, len(dead_letters.events), len(outages), injected, cpu["function"]
    )


def _outages(
    rng: random.Random, start: float, end: float, per_hour: float
) -> tuple[tuple[float, float], ...]:
    """Spells of 2 to 20 seconds in which PutEvents throttles most entries, ``per_hour`` on average."""
    spells: list[tuple[float, float]] = []
    at = start
    while per_hour > 0:
        at += rng.expovariate(per_hour / 3600.0)
        if at >= end:
            break
        spells.append((at, at + rng.uniform(2.0, 20.0)))
    return tuple(spells)


# The fields that key each event's entity: in its detail's ``key``, and in the stored item.
_DETAIL_KEYS: Final = {
    catalog.ORDER_CHANGED.detail_type: ("seller_id", "order_id"),
    catalog.LISTING_CHANGED.detail_type: ("seller_id", "marketplace_id", "sku"),
    catalog.REPORT_READY.detail_type: ("seller_id", "report_id"),
    catalog.SHIPMENT_CONFIRMED.detail_type: ("seller_id", "order_id", "package_reference_id"),
}
_ITEM_KEYS: Final = {**_DETAIL_KEYS, catalog.REPORT_READY.detail_type: ("seller_key", "report_id")}
# The consumer whose writes each event announces.
_KIND_OF: Final = {event.detail_type: kind for kind in KINDS for event in catalog.consumer(kind).emits}

Version = str | int
Entity = tuple[str, ...]


@dataclass(frozen=True)
class AppliedChange:
    """A write that stored a newer version of an entity: what the subscriber is owed an event for."""

    kind: str  # the consumer whose writes the entity's events announce
    entity: Entity  # (detail-type, key values...)
    version: Version
    stored_at: float
    sequence: str  # the write's stream record


def applied_changes(dynamodb: SimulatedDynamoDB, tables: dict[str, str]) -> list[AppliedChange]:
    """Every applied change, from the streamed tables' write history (their streams' records), by
    this module's rules rather than the publisher's: an order's or listing's ``last_updated`` newer
    than the item held before, a package's ``version`` higher, a report's ``ingestion_status``
    moving to COMPLETE or FAILED (its version: ``completed_at``, or ``recorded_at`` for a report
    without rows to ingest; ``failed_at``)."""
    declared = [(event.table.role, event.sort_prefix, event.detail_type) for event in catalog.change_events()]
    applied: list[AppliedChange] = []
    for table in catalog.streamed_tables():
        sort_key = table.sort_key or "sk"
        for record in dynamodb.streams.get(tables[table.role], []):
            if record.new_image is None:
                continue
            sk = record.sort_key(sort_key)
            detail_type = next(
                (kind for role, prefix, kind in declared if role == table.role and sk.startswith(prefix)),
                None,
            )
            if detail_type is None:
                continue
            version = _applied_version(detail_type, record.old_image, record.new_image)
            if version is None:
                continue
            entity = (
                detail_type,
                *(str(_scalar(record.new_image, name)) for name in _ITEM_KEYS[detail_type]),
            )
            applied.append(
                AppliedChange(_KIND_OF[detail_type], entity, version, record.stored_at, record.sequence)
            )
    return applied


def _applied_version(detail_type: str, old: dict[str, Any] | None, new: dict[str, Any]) -> Version | None:
    """The version the write stored, if newer than the one it replaced (else None)."""
    if detail_type == catalog.SHIPMENT_CONFIRMED.detail_type:
        revision = int(_scalar(new, "version") or 1)
        return revision if old is None or int(_scalar(old, "version") or 1) < revision else None
    if detail_type == catalog.REPORT_READY.detail_type:
        status = _scalar(new, "ingestion_status")
        if status not in (COMPLETE, FAILED) or (
            old is not None and _scalar(old, "ingestion_status") == status
        ):
            return None
        recorded = (
            "failed_at" if status == FAILED else "completed_at" if "completed_at" in new else "recorded_at"
        )
        return str(_scalar(new, recorded) or "")
    version = _scalar(new, "last_updated")
    previous = _scalar(old, "last_updated") if old is not None else None
    if not isinstance(version, str) or (isinstance(previous, str) and previous >= version):
        return None
    return version


def _scalar(item: dict[str, Any], name: str) -> Any:
    """A typed attribute's value as stored ({"S": "x"} -> "x", {"N": "3"} -> "3"); None when absent."""
    typed = item.get(name)
    return next(iter(typed.values())) if typed else None


@dataclass
class EventVerdict:
    figures: dict[str, dict[str, int]]  # EVENT_FIGURES by consumer
    # Per applied change announced: from stored until its event was first delivered (seconds).
    latency: dict[tuple[Entity, Version], float]

    @property
    def latencies(self) -> list[float]:
        return list(self.latency.values())

    @property
    def announced(self) -> set[tuple[Entity, Version]]:
        return set(self.latency)


def judge_events(applied: list[AppliedChange], deliveries: list[Delivery]) -> EventVerdict:
    """The subscriber's figures: its deliveries, in the order it got them, against the applied changes."""
    owed: dict[tuple[Entity, Version], AppliedChange] = {}
    for change in applied:
        owed.setdefault((change.entity, change.version), change)
    figures = {kind: dict.fromkeys(EVENT_FIGURES, 0) for kind in KINDS}
    seen: dict[str, str] = {}  # event id -> its detail (canonical JSON) as first delivered
    announced: dict[tuple[Entity, Version], float] = {}  # -> stored until delivered
    newest: dict[Entity, Version] = {}
    for delivery in deliveries:
        event = json.loads(delivery.body)
        detail_type = str(event.get("detail-type"))
        detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
        counted = figures.setdefault(_KIND_OF.get(detail_type, "unknown"), dict.fromkeys(EVENT_FIGURES, 0))
        event_id, canonical = str(detail.get("id")), json.dumps(detail, sort_keys=True)
        if event_id in seen:
            counted["events_duplicate_ids"] += 1
            counted["events_duplicate_ids_unequal"] += seen[event_id] != canonical
            continue
        seen[event_id] = canonical
        raw_key = detail.get("key")
        key: dict[str, Any] = raw_key if isinstance(raw_key, dict) else {}
        entity = (detail_type, *(str(key.get(name)) for name in _DETAIL_KEYS.get(detail_type, ())))
        version: Any = detail.get("version")
        due = owed.get((entity, version))
        if due is None or (entity, version) in announced:
            counted["events_spurious"] += 1
        else:
            announced[(entity, version)] = delivery.at - due.stored_at
        if entity in newest and _older(version, newest[entity]):
            counted["events_regressed"] += 1
        else:
            newest[entity] = version
    for target, change in owed.items():
        if target not in announced:
            figures[change.kind]["events_missing"] += 1
    return EventVerdict(figures, announced)


def _older(version: Any, than: Any) -> bool:
    try:
        return bool(version < than)
    except TypeError:
        return str(version) < str(than)


def percentile(values: list[float], share: float) -> float:
    """The smallest value with at least ``share`` of the values at or below it (0.0 when none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def events_outcome(
    dynamodb: FaultyDynamoDB | SimulatedDynamoDB, tables: dict[str, str], published: Published
) -> tuple[EventsOutcome, EventVerdict]:
    applied = applied_changes(dynamodb, tables)
    verdict = judge_events(applied, published.deliveries)
    killed = {record.sequence for record in getattr(dynamodb, "killed_after", [])}
    after_kill = [change for change in applied if change.sequence in killed]
    records = sum(len(dynamodb.streams.get(tables[table.role], [])) for table in catalog.streamed_tables())
    stored = [change.stored_at for change in applied]
    delivered = [delivery.at for delivery in published.deliveries]
    return (
        EventsOutcome(
            stream_records=records,
            applied=len(applied),
            deliveries=len(published.deliveries),
            dead_lettered=published.dead_lettered,
            latencies=verdict.latencies,
            killed_writes=len(after_kill),
            killed_writes_announced=sum(
                (change.entity, change.version) in verdict.latency for change in after_kill
            ),
            bus=published.bus,
            shards=published.shards,
            outages=published.outages,
            publisher_seconds=max(delivered, default=0.0) - min(stored, default=0.0),
        ),
        verdict,
    )


# -- the run -------------------------------------------------------------------------------------


@dataclass
class _Lane:
    """One consumer: its queue and DLQ, its settings, how a container starts, what it is sent."""

    consumer: catalog.Consumer
    queue: SimulatedSqs
    dead_letters: SimulatedSqs
    settings: Any
    cold_start: Callable[[], BatchRunner] = field(init=False)
    deliveries: deque[float] = field(default_factory=deque)  # when its next messages are published


# The functions' environment in a run (no AWS account is ever reached: every client is simulated).
ENVIRONMENT: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "fault-matrix",
    "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


@contextlib.contextmanager
def function_environment(quiet: bool = True) -> Iterator[None]:
    """The functions' environment variables (``ENVIRONMENT``), their logs silenced when ``quiet``,
    and the runtime's caches reset before and after: what ``run`` sets up, for other runs of the
    product's code on the simulation (``publish_events``)."""
    with _environment(ENVIRONMENT), _quiet_logs(quiet):
        reset_runtime()
        try:
            yield
        finally:
            reset_runtime()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_logs(quiet: bool, stream: IO[str] | None = None) -> Iterator[None]:
    if not quiet:
        yield
        return
    with quiet_function_logs(stream):
        yield


@contextlib.contextmanager
def _watchdog(clock: VirtualTime, stall_seconds: float | None = None) -> Iterator[list[str]]:
    """Watches the virtual clock from a thread of its own (not a participant): when it stood still
    for ``stall_seconds`` of wall time, the participant running meanwhile is in a busy loop. Where
    it loops is written to stderr and kept (the list given), and ``ClockStalled`` raised in it."""
    stop = threading.Event()
    stalls: list[str] = []
    stall_seconds = STALL_SECONDS if stall_seconds is None else stall_seconds

    def watch() -> None:
        seen, since = clock.now, time.monotonic()
        while not stop.wait(min(10.0, stall_seconds / 4)):
            if clock.now != seen:
                seen, since = clock.now, time.monotonic()
                continue
            running = _running_participant() if time.monotonic() - since >= stall_seconds else None
            if running is None:
                continue
            ident, name, stack = running
            stalls.append(
                f"the virtual clock stood still at {clock.now - START:.1f} s for {stall_seconds:.0f} wall "
                f"seconds: {name} runs on without waiting on it, in\n{stack}"
            )
            sys.stderr.write(f"fault matrix: {stalls[-1]}\n")
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(ClockStalled))
            since = time.monotonic()

    watcher = threading.Thread(target=watch, name="fault-matrix-watchdog", daemon=True)
    watcher.start()
    try:
        yield stalls
    finally:
        stop.set()
        watcher.join()


def _running_participant() -> tuple[int, str, str] | None:
    """The participant running now (every other one waits on its lock in the clock's ``sleep`` or
    before its start): its thread id, name and stack."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        name = names.get(ident, "")
        if not name.startswith((*KINDS, "publisher")):
            continue
        if frame.f_code.co_name in ("sleep", "participant") and frame.f_code.co_filename.endswith(
            "simulation.py"
        ):
            continue
        return ident, name, "".join(traceback.format_stack(frame)[-12:])
    return None


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """The product's own jitter (retry backoff, deferral delays) drawn from ``seed``: a run is then
    the same run every time. The interpreter's generator is given back as it was."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


@contextlib.contextmanager
def _downloads_from(downloads: FaultyDownloads) -> Iterator[None]:
    real = reports_api.open_document
    reports_api.open_document = downloads.open_document
    try:
        yield
    finally:
        reports_api.open_document = real


def run(  # noqa: PLR0915 - one scenario, read top to bottom
    notifications: int = 10_000,
    seed: int = 7,
    *,
    traffic: Traffic | None = None,
    rates: FaultRates = FaultRates(),
    reconcile: Reconcile | None = None,
    quiet: bool = True,
    journal: Journal | None = None,
    latency: LatencyModel = EVENTS_LATENCY,
    observer: Any = None,
) -> Outcome:
    """One run of the matrix on a fresh emulator, queues, tables and clock: ``notifications``
    ORDER_CHANGE notifications and the other consumers' traffic in proportion, or ``traffic``;
    ``journal`` (if given) is told every receive; ``latency``: how the change streams reach the bus
    (and the subscriber). ``observer`` (``bench/cost.py``'s meter), if given, wraps the AWS clients
    and is told each invocation (its consumer, virtual seconds, records, acknowledged records) and
    receives the functions' log lines (``log_stream``) and metrics (``metrics``)."""

    started = time.monotonic()
    traffic = traffic or Traffic.of(notifications)
    workload = build_workload(traffic.orders, seed, rates)
    listings = build_listings(traffic.listings, seed, workload.sellers, rates)
    reports = build_reports(traffic.reports, seed, workload.sellers, rates)
    shipments = build_shipments(
        traffic.shipments, seed, workload.sellers, rates, named_packages=traffic.named_packages
    )
    rng = random.Random(seed + 1)
    injected: Counter[str] = Counter()
    clock = VirtualTime(START)
    emulator = SpApiEmulator(
        clock=clock.time,
        seed=seed,
        faults=Faults(error_rate=rates.spapi_server_errors, malformed_rate=rates.spapi_malformed),
    )
    emulator.register_app(LWA_ID, LWA_SECRET)
    dynamodb = FaultyDynamoDB(rng, rates, injected)
    dynamodb.clock = clock.time
    s3 = FaultyS3(rng, rates, injected, dynamodb)
    for table in catalog.TABLES:
        dynamodb.tables[table.role] = create_catalog_table(dynamodb, table)
    tables = dynamodb.tables
    for table in catalog.streamed_tables():
        dynamodb.update_table(
            TableName=tables[table.role],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    bucket = "sellerstream-fault-matrix-reports"
    secrets = {APP_SECRET_ID: json.dumps({"client_id": LWA_ID, "client_secret": LWA_SECRET})}
    for seller in workload.sellers:
        secrets[f"{SELLER_SECRET_PREFIX}{seller}"] = json.dumps(
            {"refresh_token": f"Atzr|{seller}", "region": "NA"}
        )
        emulator.register_seller(seller, f"Atzr|{seller}")
    _amazon_reports(emulator, reports)
    _shipment_orders(emulator, dynamodb, tables[catalog.ORDERS_TABLE.role], shipments)
    transport = FaultyTransport(InProcessTransport(emulator), clock, rng, rates, injected)
    downloads = FaultyDownloads(emulator, clock, rng, rates, injected)
    common = {
        "idempotency_table_name": tables[catalog.IDEMPOTENCY_TABLE.role],
        "accounts_table_name": tables[catalog.ACCOUNTS_TABLE.role],
        "rate_budget_table_name": tables[catalog.RATE_BUDGET_TABLE.role],
        "lwa_app_secret_id": APP_SECRET_ID,
        "seller_secret_prefix": SELLER_SECRET_PREFIX,
        "spapi_endpoint_override": IN_PROCESS_BASE_URL,
        "lwa_endpoint_override": f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
    }
    lanes: dict[str, _Lane] = {}
    for kind in KINDS:
        consumer = catalog.consumer(kind)
        queue = SimulatedSqs(
            clock,
            name=kind,
            visibility_timeout=consumer.sizing.visibility_timeout_seconds,
            max_receive_count=catalog.MAX_RECEIVE_COUNT,
        )
        dead_letters = SimulatedSqs(clock, name=f"{kind}-dlq", visibility_timeout=30, max_receive_count=10**6)
        own: dict[str, Any] = {"queue_url": queue.queue.url, "dead_letter_queue_url": dead_letters.queue.url}
        declared = consumer.settings.fields()
        table_names = {f"{role}_table_name": name for role, name in tables.items()}
        own.update({name: value for name, value in table_names.items() if name in declared})
        if kind == REPORTS:
            own.update(reports_bucket_name=bucket, report_max_rows_per_invocation=REPORT_ROWS_PER_INVOCATION)
        settings: QueueSettings = consumer.settings.of(**{**own, **common})  # type: ignore[assignment]
        lanes[kind] = _Lane(consumer, queue, dead_letters, settings)
    events = sorted([*workload.events, *listings.events, *reports.events, *shipments.events])
    for event in events:
        if event.kind == "deliver":
            lanes[event.lane].deliveries.append(event.at)
    state = {"revoked_receives": 0}
    invocation_errors: Counter[str] = Counter()
    revoked = workload.revoked_seller
    revoked_waiting: set[str] = set()

    def publisher() -> None:
        for event in events:
            clock.sleep(event.at - clock.now)
            if event.kind == "change" and isinstance(event.change, Change):
                change = event.change
                emulator.set_order(
                    change.order_id,
                    seller_id=change.seller,
                    last_updated=datetime.fromtimestamp(change.changed, UTC),
                    status="Unshipped",
                )
            elif event.kind == "listing" and isinstance(event.change, ListingChange):
                listing = event.change
                if listing.deleted:
                    emulator.delete_listing(listing.seller, listing.sku, MARKETPLACE)
                else:
                    emulator.set_listing(
                        listing.seller,
                        listing.sku,
                        MARKETPLACE,
                        status=list(listing.status),
                        last_updated=datetime.fromtimestamp(listing.changed, UTC),
                    )
            elif event.kind == "deliver":
                lane = lanes[event.lane]
                lane.deliveries.popleft()
                lane.queue.send(event.body)
            elif event.kind == "revoke":
                transport.revoked_token = f"Atzr|{revoked}"
                emulator.revoke_seller(revoked)
            elif event.kind == "reauthorise":
                renewed = f"Atzr|{revoked}-renewed"
                emulator.register_seller(revoked, renewed)
                secrets[f"{SELLER_SECRET_PREFIX}{revoked}"] = json.dumps(
                    {"refresh_token": renewed, "region": "NA"}
                )

    pending_table = tables[catalog.PENDING_ORDERS_TABLE.role]
    idle_since: dict[str, float] = {}  # per lane: since when its queue is empty, entries left pending

    def finished(lane: _Lane) -> bool:
        """Whether the lane is done: every message published and deleted; for the orders, every
        pending entry drained too. The orders queue holds a drain request (delayed up to 900 s for a
        seller whose token was refused) while a seller's drain goes on past an invocation, and an
        invocation's own records until it ends, so an empty queue with entries left means nothing
        will drain them any more: the lane stops when that lasted ``STRANDED_AFTER_SECONDS``."""
        if clock.now - START > GIVE_UP_AFTER_SECONDS:
            return True
        kind = lane.consumer.kind
        if lane.deliveries or not lane.queue.empty():
            idle_since.pop(kind, None)
            return False
        if kind != ORDERS or not pending_entries(dynamodb, pending_table):
            return True
        return clock.now - idle_since.setdefault(kind, clock.now) > STRANDED_AFTER_SECONDS

    def make_directory() -> AwsSellerDirectory:
        return AwsSellerDirectory(
            accounts_table=tables[catalog.ACCOUNTS_TABLE.role],
            app_secret_id=APP_SECRET_ID,
            seller_secret_prefix=SELLER_SECRET_PREFIX,
        )

    def make_access(directory: AwsSellerDirectory | None = None, settings: Any = None) -> SpApiAccess:
        return SpApiAccess(
            settings or lanes[ORDERS].settings,
            directory or make_directory(),
            budgets=SharedRateBudget(
                tables[catalog.RATE_BUDGET_TABLE.role], clock=clock.time, sleep=clock.sleep
            ),
            transport=transport,
            clock=clock.time,
            sleep=clock.sleep,
        )

    def orders_runner() -> BatchRunner:
        # As the function builds it (its intake, the drainer, the drain requests on its queue).
        lane = lanes[ORDERS]
        directory = make_directory()
        return order_change_wiring.orders_runner(
            lane.settings,
            directory,
            make_access(directory, lane.settings),
            clock=clock.time,
            sleep=clock.sleep,
        )

    def listings_runner() -> BatchRunner:
        lane = lanes[LISTINGS]
        directory = make_directory()
        use_case = ListingStatusUseCase(
            directory,
            make_access(directory, lane.settings),
            DynamoDBListingStore(lane.settings.listings_table_name),
            clock=clock.time,
        )
        return wiring.batch_runner(lane.consumer, lane.settings, use_case, clock=clock.time)

    def reports_runner() -> BatchRunner:
        lane = lanes[REPORTS]
        settings: ReportFinishedSettings = lane.settings
        directory = make_directory()
        use_case = ReportFinishedUseCase(
            directory,
            make_access(directory, settings),
            DynamoDBReportStore(settings.reports_table_name),
            ReportRowWriter(
                settings.reports_bucket_name,
                settings.report_rows_table_name,
                sleep=clock.sleep,
                executor_factory=lambda workers: _InlineExecutor(),
            ),
            S3DocumentStore(settings.reports_bucket_name),
            SqsMessageQueue(settings.queue_url, settings.dead_letter_queue_url),
            rows_retention_days=settings.report_rows_retention_days,
            max_rows_per_invocation=settings.report_max_rows_per_invocation,
            default_charset=settings.report_default_charset,
        )
        return wiring.batch_runner(lane.consumer, settings, use_case, clock=clock.time)

    def shipments_runner() -> BatchRunner:
        lane = lanes[FULFILLMENT]
        directory = make_directory()
        use_case = ShipmentUseCase(
            directory,
            make_access(directory, lane.settings),
            DynamoDBPackageStore(lane.settings.orders_table_name),
        )
        return wiring.batch_runner(
            lane.consumer, lane.settings, use_case, parse=parse_shipment_delivery, clock=clock.time
        )

    lanes[ORDERS].cold_start = orders_runner
    lanes[LISTINGS].cold_start = listings_runner
    lanes[REPORTS].cold_start = reports_runner
    lanes[FULFILLMENT].cold_start = shipments_runner

    def die_before_acknowledging() -> None:
        if dynamodb.enabled and rng.random() < rates.kills_before_acknowledging:
            injected["kills_before_acknowledging"] += 1
            raise ProcessKilled

    def container(lane: _Lane) -> None:
        while not finished(lane):
            try:
                serve(lane, lane.cold_start())
            except ProcessKilled:
                dynamodb.killed.discard(threading.get_ident())
                clock.sleep(COLD_START_SECONDS)  # Lambda starts another container
            finally:
                dynamodb.leases.pop(threading.get_ident(), None)

    def serve(lane: _Lane, runner: BatchRunner) -> None:
        sizing = lane.consumer.sizing
        while not finished(lane):
            messages = lane.queue.receive(sizing.batch_size)
            if not messages:
                available = lane.queue.next_available() or float("inf")
                upcoming = lane.deliveries[0] if lane.deliveries else float("inf")
                wake = min(available, upcoming, clock.now + LONG_POLL)
                clock.sleep(max(wake - clock.now, MIN_POLL))
                continue
            begun = clock.now
            clock.sleep(INVOCATION_OVERHEAD + RECORD_OVERHEAD * len(messages))
            if START + rates.revoked_at <= clock.now < START + rates.reauthorised_at:
                for message in messages:
                    if revoked in message.body:
                        state["revoked_receives"] += 1
                        revoked_waiting.add(_message_key(message.body) or message.message_id)
            invoked_at = clock.now
            results: list[Any] = []
            on_result = functools.partial(
                _kept_and_journaled, results, journal, lane.consumer.kind, invoked_at, messages
            )
            try:
                invoke_batch(
                    clock,
                    lane.queue,
                    messages,
                    runner,
                    timeout_seconds=float(sizing.timeout_seconds),
                    before_acknowledging=die_before_acknowledging,
                    on_result=on_result,
                    metrics_sink=observer.metrics if observer else None,
                )
            except ProcessKilled as killed:
                if journal is not None:
                    journal.killed(lane.consumer.kind, invoked_at, messages, _where_killed(killed))
                if observer:
                    observer.invoked(lane.consumer.kind, clock.now - begun, len(messages), 0)
                raise
            except Exception as error:
                # The handler raised (an orders drain request not sent fails its batch): Lambda reports
                # the invocation failed and the mapping deletes none of its records, all visible again
                # after the visibility timeout. The container lives on.
                where = _where_failed(error)
                invocation_errors[f"{lane.consumer.kind}: {where}"] += 1
                if journal is not None:
                    journal.failed(lane.consumer.kind, invoked_at, messages, where)
                if observer:
                    observer.invoked(lane.consumer.kind, clock.now - begun, len(messages), 0)
                continue
            finally:
                dynamodb.leases.pop(threading.get_ident(), None)  # a lease ends with its invocation
            if observer:
                done = sum(1 for outcome in results[0].outcomes if outcome.done) if results else 0
                observer.invoked(lane.consumer.kind, clock.now - begun, len(messages), done)

    services: dict[str, Any] = {
        "sqs": _SqsRouter(
            [lane.queue for lane in lanes.values()], [lane.dead_letters for lane in lanes.values()], dynamodb
        ),
        "dynamodb": dynamodb,
        "secretsmanager": SimulatedSecrets(secrets),
        "s3": s3,
    }
    real_client = aws.client
    reconciliation: dict[str, Any] | None = None
    with (
        _environment(ENVIRONMENT),
        _quiet_logs(quiet, observer.log_stream if observer else None),
        powertools_on(clock),
        _seeded(seed),
        _downloads_from(downloads),
    ):
        reset_runtime()
        aws.client = (observer.wrap(services) if observer else services).__getitem__  # type: ignore[assignment]
        try:
            dynamodb.enabled = s3.enabled = True
            clock.start("publisher", publisher)
            for lane in lanes.values():
                for index in range(lane.consumer.sizing.max_concurrency):
                    clock.start(f"{lane.consumer.kind}-{index}", functools.partial(container, lane))
            with _watchdog(clock) as stalls:
                try:
                    clock.run()
                except ClockStalled:
                    raise ClockStalled(stalls[0] if stalls else "the virtual clock stood still") from None
            dynamodb.enabled = s3.enabled = transport.enabled = downloads.enabled = False
            delivered_until = clock.now
            pending_left = pending_entries(dynamodb, pending_table)
            if journal is not None:
                journal.pending = [
                    (item["pk"]["S"], item["sk"]["S"], item["notification_id"]["S"])
                    for item in dynamodb.stored_items(pending_table)
                    if item["sk"]["S"].startswith(ENTRY_PREFIX)
                ]
            stale_before = _stale_orders(workload, dynamodb, tables[catalog.ORDERS_TABLE.role])
            lost_before = _lost_orders(workload, _stored(dynamodb, tables[catalog.ORDERS_TABLE.role]))
            if reconcile is not None:
                world = World(
                    clock=clock,
                    settings=lanes[ORDERS].settings,
                    emulator=emulator,
                    dynamodb=dynamodb,
                    sellers=list(workload.sellers),
                    since=datetime.fromtimestamp(START - 60, UTC),
                    until=datetime.fromtimestamp(delivered_until, UTC),
                    make_access=make_access,
                    make_directory=make_directory,
                    make_order_store=lambda: DynamoDBOrderStore(tables[catalog.ORDERS_TABLE.role]),
                )
                reconciliation = reconcile(world)
            published = publish_events(dynamodb, tables, seed=seed, rates=rates, latency=latency)
        finally:
            aws.client = real_client
            reset_runtime()
    stale_after = (
        _stale_orders(workload, dynamodb, tables[catalog.ORDERS_TABLE.role])
        if reconciliation is not None
        else stale_before
    )
    letters = {kind: _dead_letter_messages(lane) for kind, lane in lanes.items()}
    if journal is not None:
        valid = {
            ORDERS: {change.notification_id for change in workload.changes},
            LISTINGS: {change.notification_id for change in listings.changes},
            REPORTS: {report.notification_id for report in reports.reports},
            FULFILLMENT: {request.request_id for request in shipments.requests},
        }
        poison = {
            ORDERS: workload.poison,
            LISTINGS: listings.poison,
            REPORTS: reports.poison,
            FULFILLMENT: shipments.poison,
        }
        for kind in lanes:
            bodies, ids = [m.body for m in letters[kind]], [m.message_id for m in letters[kind]]
            journal.dead_lettered[kind] = dead_lettered(bodies, poison[kind], valid[kind], ids)[1]
    by_consumer = {
        ORDERS: order_figures(
            workload,
            dynamodb,
            tables[catalog.ORDERS_TABLE.role],
            [message.body for message in letters[ORDERS]],
            stale_after,
            [message.message_id for message in letters[ORDERS]],
        ),
        LISTINGS: listing_figures(
            listings, dynamodb, tables[catalog.LISTINGS_TABLE.role], _dead_letters(lanes[LISTINGS])
        ),
        REPORTS: report_figures(
            reports,
            dynamodb,
            s3,
            tables[catalog.REPORTS_TABLE.role],
            tables[catalog.REPORT_ROWS_TABLE.role],
            _dead_letters(lanes[REPORTS]),
        ),
        FULFILLMENT: shipment_figures(
            shipments,
            dynamodb,
            tables[catalog.ORDERS_TABLE.role],
            emulator.orders,
            _dead_letters(lanes[FULFILLMENT]),
        ),
    }
    events_out, verdict = events_outcome(dynamodb, tables, published)
    for kind, figures in verdict.figures.items():
        by_consumer.setdefault(kind, {}).update(figures)
    injected.update(published.injected)
    injected["event_throttles"] = published.bus.errors["ThrottlingException"]
    injected["event_internal_failures"] = published.bus.errors["InternalFailure"]
    injected["event_call_failures"] = published.bus.failed_calls
    injected["event_lost_answers"] = published.bus.lost_answers
    messages = {
        ORDERS: len(workload.changes) + len(workload.poison),
        LISTINGS: len(listings.changes) + len(listings.poison),
        REPORTS: len(reports.reports) + len(reports.poison),
        FULFILLMENT: len(shipments.requests) + len(shipments.poison),
    }
    consumers = {
        kind: ConsumerTraffic(
            notifications=messages[kind],
            deliveries=sum(1 for event in events if event.kind == "deliver" and event.lane == kind),
            receives=lane.queue.receives,
            still_queued=lane.queue.queue.live,
        )
        for kind, lane in lanes.items()
    }
    injected["spapi_rate_plan_throttles"] = sum(emulator.throttled.values())
    injected["duplicates"] = (
        sum(change.duplicated for change in workload.changes)
        + sum(change.duplicated for change in listings.changes)
        + sum(report.duplicated for report in reports.reports)
        + sum(request.duplicated for request in shipments.requests)
    )
    injected["reordered"] = (
        sum(change.reordered for change in workload.changes)
        + sum(change.reordered for change in listings.changes)
        + sum(request.reordered for request in shipments.requests)
    )
    injected["dropped"] = sum(change.dropped for change in workload.changes)
    emulator.stop()  # its report documents' files
    return Outcome(
        figures={name: sum(figures.get(name, 0) for figures in by_consumer.values()) for name in FIGURES},
        by_consumer=by_consumer,
        consumers=consumers,
        injected=injected,
        stale_before_reconciliation=stale_before,
        reconciled=reconciliation is not None,
        notifications=sum(lane.notifications for lane in consumers.values()),
        deliveries=sum(lane.deliveries for lane in consumers.values()),
        orders=len(_latest(workload)),
        still_queued=sum(lane.still_queued for lane in consumers.values()),
        receives=sum(lane.receives for lane in consumers.values()),
        sp_api_calls=dict(emulator.sp_api_calls()),
        containers=sum(lane.consumer.sizing.max_concurrency for lane in lanes.values()),
        reconfirmations=_reconfirmations(shipments, emulator.orders),
        revoked_lwa_exchanges=transport.revoked_exchanges,
        revoked_seller_receives=int(state["revoked_receives"]),
        revoked_seller_notifications=len(revoked_waiting),
        virtual_seconds=delivered_until - START,
        wall_seconds=time.monotonic() - started,
        journal=journal,
        events=events_out,
        pending_left=pending_left,
        invocation_errors=invocation_errors,
        orders_lost_before_reconciliation=lost_before,
    )


def _amazon_reports(emulator: SpApiEmulator, workload: ReportsWorkload) -> None:
    """Amazon's side of the reports: each finished, with its document, before its notification."""
    for report in workload.reports:
        emulator.add_report(
            report.report_id,
            report_type=REPORT_TYPE,
            status=report.status,
            document_id=report.document_id,
            rows=report.rows,
            compress=report.compressed,
            charset=report.charset,
            fatal_message=FATAL_MESSAGE,
            owner=report.seller,
        )


def _shipment_orders(
    emulator: SpApiEmulator, dynamodb: SimulatedDynamoDB, orders_table: str, workload: ShipmentsWorkload
) -> None:
    """The orders the requests ship: Amazon's, and (most of them) as the order consumer stored them."""
    ordered_at = datetime.fromtimestamp(START - 2 * 86_400, UTC)
    updated_at = datetime.fromtimestamp(START - 86_400, UTC)
    for order in workload.orders:
        emulator.set_order(
            order.order_id,
            seller_id=order.seller,
            status="Unshipped",
            marketplace_id=MARKETPLACE,
            last_updated=updated_at,
            purchase_date=ordered_at,
            items=[{"order_item_id": item, "quantity": quantity} for item, quantity in order.items.items()],
        )
        if order.stored:
            item = {
                "pk": f"SELLER#{order.seller}",
                "sk": f"ORDER#{order.order_id}",
                "seller_id": order.seller,
                "order_id": order.order_id,
                "marketplace_id": MARKETPLACE,
                "order_status": "UNSHIPPED",
                "last_updated": sortable_timestamp(updated_at),
                "items": [
                    {"orderItemId": item, "quantityOrdered": quantity}
                    for item, quantity in order.items.items()
                ],
            }
            dynamodb.put_item(TableName=orders_table, Item=to_attribute_map(item))


# -- what the stores and the emulator hold -------------------------------------------------------


def _stored(dynamodb: SimulatedDynamoDB, orders_table: str) -> dict[tuple[str, str], float]:

    stored: dict[tuple[str, str], float] = {}
    for item in dynamodb.stored_items(orders_table):
        if item["sk"]["S"].startswith("ORDER#"):
            key = (item["seller_id"]["S"], item["order_id"]["S"])
            stored[key] = parse_sortable(item["last_updated"]["S"]).timestamp()
    return stored


def _latest(workload: Workload) -> dict[tuple[str, str], float]:
    latest: dict[tuple[str, str], float] = {}
    for change in workload.changes:
        key = (change.seller, change.order_id)
        latest[key] = max(latest.get(key, 0.0), change.changed)
    return latest


def _stale_orders(workload: Workload, dynamodb: SimulatedDynamoDB, orders_table: str) -> int:
    stored = _stored(dynamodb, orders_table)
    return sum(1 for key, latest in _latest(workload).items() if stored.get(key, 0.0) < latest)


def _dead_letter_messages(lane: _Lane) -> list[Any]:
    """Every message that reached the lane's DLQ: the function's copies (with reasons; an orders
    drain request carrying the orders no retry can fetch) and the queue's redrive (as received)."""
    return [entry[3] for entry in lane.dead_letters.queue.available] + list(lane.queue.queue.dead_letters)


def _dead_letters(lane: _Lane) -> list[str]:
    """Every body that reached the lane's DLQ."""
    return [message.body for message in _dead_letter_messages(lane)]


def dead_lettered(
    letters: list[str], poison: list[str], valid: set[str], ids: list[str] | None = None
) -> tuple[set[str], set[str]]:
    """The poison bodies, and the keys of the valid messages (or of their effects), found among a
    DLQ's ``letters`` (``valid``: the ids of the consumer's valid messages; ``ids``: the letters'
    message ids, naming a drain request without orders).

    An orders drain request carrying orders is the drainer's dead letter of those orders' changes:
    each valid notification whose change it carries is dead-lettered, a poison one (a fault that
    made its order unfetchable for good) is that poison dead-lettered. A drain request without
    orders is never expected there: it is counted as a valid message dead-lettered."""
    poisoned = set(poison)
    poison_of = {key: body for body in poison for key in [_message_key(body)] if key is not None}
    found_poison: set[str] = set()
    found_valid: set[str] = set()
    for index, body in enumerate(letters):
        if body in poisoned:
            found_poison.add(body)
            continue
        drain = _drain_request(body)
        if drain is None:
            key = _message_key(body)
            if key in valid:
                found_valid.add(str(key))
            continue
        if not drain.notification_ids:
            found_valid.add(f"drain {drain.seller}#{drain.region} {ids[index] if ids else index}")
        for notification_id in drain.notification_ids:
            if notification_id in poison_of:
                found_poison.add(poison_of[notification_id])
            else:
                found_valid.add(notification_id)
    return found_poison, found_valid


def letter_figures(
    letters: list[str], poison: list[str], valid: set[str], ids: list[str] | None = None
) -> dict[str, int]:
    """``poison``, ``poison_dead_lettered`` and ``valid_dead_lettered`` of a consumer whose DLQ holds
    ``letters`` (``dead_lettered``)."""
    found_poison, found_valid = dead_lettered(letters, poison, valid, ids)
    return {
        "poison": len(set(poison)),
        "poison_dead_lettered": len(found_poison),
        "valid_dead_lettered": len(found_valid),
    }


def _lost_orders(workload: Workload, stored: dict[tuple[str, str], float]) -> int:
    """Delivered changes the stored orders do not hold (the stored order older than the change)."""
    delivered = [change for change in workload.changes if not change.dropped]
    return sum(
        1 for change in delivered if stored.get((change.seller, change.order_id), 0.0) < change.changed
    )


def order_figures(
    workload: Workload,
    dynamodb: FaultyDynamoDB,
    orders_table: str,
    letters: list[str],
    stale_after: int,
    ids: list[str] | None = None,
) -> dict[str, int]:
    """A delivered change is lost when the stored order is older than it, whether its entry was
    drained, is still pending, or went to the DLQ (then it is also dead-lettered)."""
    valid = {change.notification_id for change in workload.changes}
    return {
        "lost": _lost_orders(workload, _stored(dynamodb, orders_table)),
        "applied_twice": dynamodb.applied_twice[ORDERS],
        "regressed": dynamodb.regressed[ORDERS],
        **letter_figures(letters, workload.poison, valid, ids),
        "not_repaired": stale_after,
    }


def listing_figures(
    workload: ListingsWorkload, dynamodb: FaultyDynamoDB, listings_table: str, letters: list[str]
) -> dict[str, int]:
    stored: dict[tuple[str, str], tuple[float, bool, tuple[str, ...]]] = {}
    for item in dynamodb.stored_items(listings_table):
        stored[(item["seller_id"]["S"], item["sku"]["S"])] = (
            parse_sortable(item["last_updated"]["S"]).timestamp(),
            bool(item.get("deleted", {}).get("BOOL", False)),
            tuple(value["S"] for value in item.get("status", {}).get("L", [])),
        )
    lost = 0
    for change in workload.changes:
        found = stored.get((change.seller, change.sku))
        if found is None or found[0] < change.changed:
            lost += 1
        elif change.last and (
            found[0] != change.changed
            or found[1] != change.deleted
            or (not change.deleted and found[2] != change.status)
        ):
            lost += 1  # the SKU's stored state is not Amazon's latest
    return {
        "lost": lost,
        "applied_twice": dynamodb.applied_twice[LISTINGS],
        "regressed": dynamodb.regressed[LISTINGS],
        **letter_figures(letters, workload.poison, {change.notification_id for change in workload.changes}),
        "not_repaired": 0,
    }


def report_lines(report: Report) -> list[str]:
    """The rows of a DONE report's document, as Amazon generated them (the header left out)."""
    codec = codec_for(report.charset)
    document = io.BytesIO()
    write_flat_file(document, report.rows, FLAT_FILE_COLUMNS, codec)
    return document.getvalue().decode(codec).splitlines()[1:]


def report_figures(
    workload: ReportsWorkload,
    dynamodb: FaultyDynamoDB,
    s3: SimulatedS3,
    reports_table: str,
    rows_table: str,
    letters: list[str],
) -> dict[str, int]:
    records = {
        str(record["report_id"]): record
        for record in map(from_attribute_map, dynamodb.stored_items(reports_table))
    }
    # Each report's stored rows (its blocks' lines, the header left out) and what its lookups find.
    rows: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for (_, key), (body, _) in s3.objects.items():
        if key.startswith(catalog.REPORT_ROWS_PREFIX):
            rows[key.split("/")[2]].update(gzip.decompress(body).decode().splitlines()[1:])
    found: defaultdict[str, defaultdict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for item in dynamodb.stored_items(rows_table):
        if item["pk"]["S"].startswith("LOOKUP#"):
            lookups = found[item["pk"]["S"].split("#")[2]]
            for entry in item["entries"]["S"].split("\n"):
                value, _, index = entry.partition("\t")
                lookups[value].add(int(index))
    lost, twice = 0, dynamodb.applied_twice[REPORTS]
    for report in workload.reports:
        record = records.get(report.report_id) or {}
        recorded = (
            record.get("ingestion_status") == COMPLETE and record.get("processing_status") == report.status
        )
        if report.status != DONE:
            lost += not recorded or (
                report.status == FATAL and FATAL_MESSAGE not in str(record.get("error_summary"))
            )
            continue
        expected = report_lines(report)
        stored = rows.get(report.report_id, Counter())
        # A row stored more than once (in two blocks), or one the document does not hold.
        document = set(expected)
        twice += sum(count - 1 if line in document else count for line, count in stored.items())
        complete = recorded and int(record.get("row_count", -1)) == report.rows
        lookups = found[report.report_id]
        unfindable = any(
            lookups.get(line.split("\t", 1)[0]) != {index} for index, line in enumerate(expected)
        )
        lost += not complete or unfindable or any(stored[line] < 1 for line in expected)
    return {
        "lost": lost,
        "applied_twice": twice,
        "regressed": dynamodb.regressed[REPORTS],
        **letter_figures(letters, workload.poison, {report.notification_id for report in workload.reports}),
        "not_repaired": 0,
    }


class AmazonShipments(Protocol):
    """What Amazon holds of the shipments (the emulator's Orders API)."""

    packages: dict[str, dict[str, dict[str, int]]]  # order id -> package reference -> items
    shipment_confirmations: list[dict[str, Any]]  # every confirmShipment body accepted, in order


def _amazon_confirmations(amazon: AmazonShipments, workload: ShipmentsWorkload) -> list[tuple[str, str, str]]:
    """(order id, reference, tracking number) of every confirmation Amazon accepted, in order."""
    order_of = {request.tracking: request.order.order_id for request in workload.requests}
    confirmations = []
    for body in amazon.shipment_confirmations:
        detail = body["packageDetail"]
        tracking = str(detail["trackingNumber"])
        if tracking in order_of:
            confirmations.append((order_of[tracking], str(detail["packageReferenceId"]), tracking))
    return confirmations


def _reconfirmations(workload: ShipmentsWorkload, amazon: AmazonShipments) -> int:
    accepted = Counter(tracking for _, _, tracking in _amazon_confirmations(amazon, workload))
    return sum(count - 1 for count in accepted.values() if count > 1)


def _regressions(writes: list[tuple[str, str, str]], order: dict[str, int]) -> int:
    """Writes of a package (in the order they happened) that put an earlier request's tracking number
    over a later one's (``order``: each tracking number's place among its package's requests)."""
    latest: dict[tuple[str, str], int] = {}
    regressed = 0
    for order_id, reference, tracking in writes:
        place, key = order.get(tracking, -1), (order_id, reference)
        if place < latest.get(key, -1):
            regressed += 1
        latest[key] = max(place, latest.get(key, -1))
    return regressed


def shipment_figures(
    workload: ShipmentsWorkload,
    dynamodb: FaultyDynamoDB,
    orders_table: str,
    amazon: AmazonShipments,
    letters: list[str],
) -> dict[str, int]:
    confirmations = _amazon_confirmations(amazon, workload)
    amazon_tracking = {(order_id, reference): tracking for order_id, reference, tracking in confirmations}
    stored: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in dynamodb.stored_items(orders_table):
        if item["sk"]["S"].startswith("PACKAGE#"):
            package = from_attribute_map(item)
            package["items"] = {
                str(entry["order_item_id"]): int(entry["quantity"]) for entry in package["order_items"]
            }
            stored[str(package["order_id"])].append(package)
    packages: defaultdict[tuple[str, int], list[Shipment]] = defaultdict(list)
    for request in workload.requests:
        packages[(request.order.order_id, request.package)].append(request)
    lost = twice = 0
    wanted: defaultdict[str, list[dict[str, int]]] = defaultdict(list)
    for (order_id, _), requests in packages.items():
        items = requests[0].items
        wanted[order_id].append(items)
        at_amazon = [
            reference for reference, held in amazon.packages.get(order_id, {}).items() if held == items
        ]
        in_store = [package for package in stored.get(order_id, []) if package["items"] == items]
        if not at_amazon or not in_store:
            lost += len(requests)
            continue
        twice += len(at_amazon) - 1 + len(in_store) - 1
        # The package as its latest request left it (its tracking number), at Amazon and in the store.
        latest = requests[-1].tracking
        lost += (amazon_tracking.get((order_id, at_amazon[0])) != latest) + (
            in_store[0]["tracking_number"] != latest
        )
    # A package nobody asked for (an order's items split otherwise): shipped twice in part.
    for order_id, wanted_items in wanted.items():
        twice += sum(1 for held in amazon.packages.get(order_id, {}).values() if held not in wanted_items)
        twice += sum(1 for package in stored.get(order_id, []) if package["items"] not in wanted_items)
    place = {
        request.tracking: position
        for requests in packages.values()
        for position, request in enumerate(requests)
    }
    regressed = _regressions(confirmations, place) + _regressions(dynamodb.package_writes, place)
    return {
        "lost": lost,
        "applied_twice": twice + dynamodb.applied_twice[FULFILLMENT],
        "regressed": regressed + dynamodb.regressed[FULFILLMENT],
        **letter_figures(letters, workload.poison, {request.request_id for request in workload.requests}),
        "not_repaired": 0,
    }


@dataclass(frozen=True)
class DrainLetter:
    """An orders drain request as this module reads its body (``logic.drain_request``'s format)."""

    seller: str
    region: str
    notification_ids: tuple[str, ...]  # of the orders it carries (none: "go on draining")


def _drain_request(body: str) -> DrainLetter | None:
    """The drain request a body holds, or None when it holds none (a notification, or poison)."""
    if DRAIN_KEY not in body[:64]:
        return None
    try:
        request = json.loads(body)[DRAIN_KEY]
        orders = request.get("orders") or []
        return DrainLetter(
            str(request["sellerId"]),
            str(request["region"]),
            tuple(str(order["notificationId"]) for order in orders),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _journal_key(body: str, message_id: str) -> str:
    """What the journal knows a message by: its notification's or request's id, or for an orders
    drain request its seller and the message (each drain request is a message of its own)."""
    drain = _drain_request(body)
    if drain is not None:
        return f"drain {drain.seller}#{drain.region} {message_id}"
    return _message_key(body) or message_id


def pending_entries(dynamodb: SimulatedDynamoDB, pending_table: str) -> int:
    """The orders' pending entries (the drainers' leases left out)."""
    return sum(1 for item in dynamodb.stored_items(pending_table) if item["sk"]["S"].startswith(ENTRY_PREFIX))


def _message_key(body: str) -> str | None:
    """The id a message is known by: a notification's id (inside an EventBridge event too), or a
    shipment request's."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("detail"), dict):
        document = document["detail"]
    shipment = document.get("shipment")
    if isinstance(shipment, dict):
        return str(shipment.get("requestId"))
    for key, value in document.items():
        if key.lower() == "notificationmetadata" and isinstance(value, dict):
            for name, found in value.items():
                if name.lower() == "notificationid":
                    return str(found)
    return None
