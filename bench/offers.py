"""ANY_OFFER_CHANGED through the deployed path: what a million of them cost, and how fast one goes.

The stream (``--notifications N`` over ``--asins K``, ``--seed S``): one seller's (Amazon's example,
``local/sellerstream_local/amazon/examples/notifications/ANY_OFFER_CHANGED.schema-example-1.json``)
K ASINs, each listed in the US and in some of Canada (40 %) and Mexico (20 %), each in the New
condition and some also Used (25 %) or Collectible (5 %): one entity per (marketplace, ASIN,
condition), as the catalog keys the type. Each ASIN has 1 to ``--offers`` competing offers
(Amazon lists the top 20), each a copy of the example's offer with its own seller and prices; the
Summary is the example's, in the marketplace's currency. Changes come at 50 a second (Poisson, one
large seller's "thousands a minute"); a change picks its entity in proportion to its offers (each
competitor's repricing is a change) times a Zipf popularity (exponent 0.8), and its
TimeOfOfferChange is its time. Delivery (assumed; Amazon publishes no figure): each notification
arrives a lognormal delay after its change (median 1 s, p95 5 s), so one entity's changes seconds
apart arrive partly out of order; 1 % arrive twice (the same NotificationId, the copy 0 to 60 s
later), as SQS's at-least-once delivery gives.

The path, in process on moto (``LocalPipeline``: the stack's queues, tables, streams and bus): the
bodies are sent to the offers queue in their delivery order; a stand-in for Lambda's SQS event
source mapping receives 10 at a time until it holds the catalog's batch (``AnyOfferChanged``: 100),
invokes the offers consumer's real handler (the catalog's ``sellerstream.handlers.offers.lambda_handler``)
with the batch, and deletes what it applied, 10 a DeleteMessageBatch. Then the real change-events
publisher reads the notifications table's change stream (``LocalStreamPoller``: batches of 100, the
deployed mapping's filter; its reads answered by moto's backend in process, ``InProcessStreams``)
and puts "Any Offer Changed" on SellerStream's bus, whose rule delivers to local mode's subscriber
queue. Every AWS call the functions (and the mapping's stand-in) make is counted through botocore's
event hooks (``before-parameter-build`` and ``after-call``), never guessed. The run checks that
each entity holds its newest change.

What is measured, and how it becomes a bill (us-east-1 list prices: ``prices()`` below):

- Lambda duration. The handler's wall and CPU time per batch here, minus moto's (the time inside
  moto's request stubber: the server's work, which on AWS is a network wait) and minus this bench's
  own hooks. The function's own CPU time is scaled to 256 MB (Lambda gives a function CPU in
  proportion to its memory, one vCPU at 1,769 MB: ``bench/prices.py``'s ``LAMBDA_FULL_VCPU_MB``;
  this machine's core taken as fast as a Graviton's), and each AWS call adds
  ``AWS_CALL_SECONDS`` (5 ms, assumed: DynamoDB's "single-digit milliseconds"; no figure is
  published), and each invocation Lambda's own 10 ms (``fault_matrix.EVENTS_LATENCY``). The
  ``ms_per_notification`` figures are the handler's time here per batch divided by its size
  (median and 95th percentile over the batches, the first, a cold container, left out);
  ``lambda_ms_per_notification`` the same at 256 MB, by the model above. The bill takes the warm
  invocations' seconds per record for every record (a container's first invocation is rare).
- DynamoDB write request units, per write the handler made: the item's size by DynamoDB's rules
  (names and values in UTF-8, numbers one byte per two significant digits plus one, 3 bytes per
  list or map and 1 per element), rounded up per KB, the larger of the item before and after; a
  write whose condition failed consumes the same (the Developer Guide, "DynamoDB read and write
  operations": the larger of the existing item and the one attempted, at least 1). The idempotency
  records (Powertools: a conditional PutItem when a notification starts, an UpdateItem when done,
  and only a failed PutItem for a duplicate) are counted the same way, from the calls made.
- SQS requests, each billed per 64 KB of payload started: Amazon's SendMessage of each delivery
  (the queue owner pays for them), the mapping's ReceiveMessage calls that returned messages (its
  idle long polls are a fixed cost, not a per-notification one) and its DeleteMessageBatch calls.
- The publisher: its invocations, its duration by the same model (PutEvents calls at
  ``EVENTS_LATENCY.put_median``, 20 ms), and PutEvents entries, each billed per 64 KB started
  (Time, Source, DetailType, Detail). DynamoDB Streams reads by Lambda are free.
- CloudWatch Logs: the bytes both functions log (Powertools' JSON lines at INFO, as deployed),
  at $0.50 per GB ingested. Left out: Lambda's own platform lines, EMF metrics and X-Ray traces
  (per invocation: a hundredth of a notification's), storage and KMS (fixed, not per notification),
  and the targets of the events (``bench/events.py`` prices them per destination).

The dollars per million notifications are the run's costs divided by its distinct notifications
(what the duplicates cost is in them). Also measured, as a ratio so that it compares across
machines: the handler's time per notification against a bare loop over the same bodies (in batches
of 100) that only parses each body as JSON and makes one boto3 ``put_item`` (the body as a string)
into the same moto table; the same ratio of the function's own CPU time, moto's left out.

Prints the stream, outcomes, time per notification, requests and write units per notification
and the dollars per million notifications with their breakdown. ``--json`` prints one object
with ``usd_per_million_notifications``, ``breakdown``, ``ms_per_notification_p50``,
``ms_per_notification_p95``, ``stored``, ``unchanged``, ``events``, ``dead_lettered``,
``write_units_per_notification``, ``prices`` and more. The same seed gives the same stream and
counts (the times vary). About 75 s for the default 1,500 notifications on a 2-core machine
(moto's DynamoDB takes some 20 ms per 10 KB item written), 22 s for 500.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import importlib
import io
import json
import math
import os
import random
import statistics
import string
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from aws_meter import item_size, value_size, write_units
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodbstreams.models import dynamodbstreams_backends
from prices import AS_OF, LAMBDA_FULL_VCPU_MB, PRICES

from sellerstream import catalog
from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.pipeline import LOCAL_REGION, LocalPipeline
from sellerstream_local.poller import LocalLambdaContext, function_environment
from sellerstream_local.runtime_reset import reset_runtime
from sellerstream_local.streams import LocalStreamPoller, stream_sources

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (
    ROOT
    / "local"
    / "sellerstream_local"
    / "amazon"
    / "examples"
    / "notifications"
    / f"{catalog.ANY_OFFER_CHANGED.name}.schema-example-1.json"
)
CONSUMER = catalog.consumer("offers")
PUBLISHER = catalog.CHANGE_EVENTS_PUBLISHER

# -- prices: bench/prices.py's one table ----------------------------------------------------------
PRICES_AS_OF = AS_OF


def prices() -> dict[str, float]:
    """The one price table every bench bills with (``bench/prices.py``)."""
    return dict(PRICES)


def shared_model() -> tuple[int, Any]:
    """bench/prices.py's vCPU memory and fault_matrix's publisher latencies (imported late: the
    runtime's Powertools metrics read their namespace when first imported, after local mode set
    the environment)."""
    from sellerstream_local.fault_matrix import EVENTS_LATENCY

    return LAMBDA_FULL_VCPU_MB, EVENTS_LATENCY


# -- the stream's model ----------------------------------------------------------------------------
SELLER = "A3TH9S8BH6GOGM"  # Amazon's example's seller
MARKETPLACES = (  # (id, currency, share of the ASINs listed there)
    ("ATVPDKIKX0DER", "USD", 1.0),
    ("A2EUQ1WTGCTBG2", "CAD", 0.4),
    ("A1AM78C64UM0Y8", "MXN", 0.2),
)
CONDITIONS = (("New", 1.0), ("Used", 0.25), ("Collectible", 0.05))
CHANGES_PER_SECOND = 50.0
ZIPF_EXPONENT = 0.8
DELIVERY_MEDIAN_SECONDS, DELIVERY_P95_SECONDS = 1.0, 5.0
DUPLICATE_SHARE, DUPLICATE_LATER_SECONDS = 0.01, 60.0
START = datetime(2026, 7, 8, 14, 0, tzinfo=UTC)

# -- the duration model ----------------------------------------------------------------------------
AWS_CALL_SECONDS = 0.005  # one in-region DynamoDB (or SQS) call from Lambda: assumed
MEMORY_GB = CONSUMER.sizing.memory_mb / 1024
PUBLISHER_MEMORY_GB = PUBLISHER.sizing.memory_mb / 1024
CHUNK = 64 * 1024  # SQS requests and EventBridge events are billed per 64 KB started
TIME_FIELD_BYTES = 14  # an event's Time counts 14 bytes towards its billed size
SQS_MAX_RECEIVE = 10
# Powertools says so when a batch of 100 flushed its metrics on the 100th value (EMF's limit) and
# none is left for the end of the invocation: nothing is lost.
warnings.filterwarnings("ignore", message="No application metrics to publish")


# -- the stream ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entity:
    marketplace: str
    currency: str
    asin: str
    condition: str
    offers: int


@dataclass(frozen=True)
class Delivery:
    at: float  # seconds after START the message reaches the queue
    notification_id: str
    entity: Entity
    changed_at: datetime
    body: str
    duplicate: bool = False


def asin(rng: random.Random) -> str:
    return "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def seller_id(rng: random.Random) -> str:
    return "A" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=13))


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entities(asins: int, max_offers: int, rng: random.Random) -> list[Entity]:
    found = []
    for _ in range(asins):
        name, offers = asin(rng), rng.randint(1, max_offers)
        for marketplace, currency, share in MARKETPLACES:
            if rng.random() >= share:
                continue
            for condition, condition_share in CONDITIONS:
                if rng.random() < condition_share:
                    found.append(Entity(marketplace, currency, name, condition, offers))
    return found


def money(amount: float, currency: str) -> dict[str, Any]:
    return {"Amount": round(amount, 2), "CurrencyCode": currency}


def render(
    template: dict[str, Any], entity: Entity, changed_at: datetime, notification_id: str, rng: random.Random
) -> str:
    """Amazon's example for one change of ``entity``: its key, time, id, offers and currency."""
    document = copy.deepcopy(template)
    document["EventTime"] = rfc3339(changed_at)
    metadata = document["NotificationMetadata"]
    metadata["NotificationId"] = notification_id
    metadata["PublishTime"] = rfc3339(changed_at + timedelta(milliseconds=rng.randint(50, 500)))
    payload = document["Payload"]["AnyOfferChangedNotification"]
    payload["SellerId"] = SELLER
    payload["OfferChangeTrigger"].update(
        MarketplaceId=entity.marketplace,
        ASIN=entity.asin,
        ItemCondition=entity.condition,
        TimeOfOfferChange=rfc3339(changed_at),
        OfferChangeType="Internal" if rng.random() < 0.1 else "External",
    )
    summary = payload["Summary"]

    def recurrency(value: Any) -> None:  # the example's amounts, in the marketplace's currency
        if isinstance(value, dict):
            if "CurrencyCode" in value:
                value.update(money(value["Amount"] * rng.uniform(0.8, 1.2), entity.currency))
            for inner in value.values():
                recurrency(inner)
        elif isinstance(value, list):
            for inner in value:
                recurrency(inner)

    recurrency(summary)
    [offer] = payload["Offers"]
    base = rng.uniform(8, 80)
    offers = []
    for _ in range(entity.offers):
        one = copy.deepcopy(offer)
        one["SellerId"] = seller_id(rng)
        one["SubCondition"] = (
            rng.choice(("New", "Mint", "VeryGood", "Good")) if entity.condition != "New" else "New"
        )
        one["SellerFeedbackRating"] = {
            "FeedbackCount": rng.randint(0, 90_000),
            "SellerPositiveFeedbackRating": rng.randint(70, 100),
        }
        one["ListingPrice"] = money(base * rng.uniform(0.9, 1.3), entity.currency)
        one["Shipping"] = money(rng.choice((0.0, 0.0, 3.99, 5.49)), entity.currency)
        one["IsFulfilledByAmazon"] = rng.random() < 0.6
        offers.append(one)
    payload["Offers"] = offers
    return json.dumps(document)


def stream(notifications: int, asins: int, max_offers: int, seed: int) -> tuple[list[Delivery], list[Entity]]:
    """The deliveries, in the order they reach the queue."""
    rng = random.Random(seed)
    template = json.loads(EXAMPLE.read_text())
    listed = entities(asins, max_offers, rng)
    popularity = {
        name: 1 / rank**ZIPF_EXPONENT for rank, name in enumerate(sorted({e.asin for e in listed}), 1)
    }
    weights = [popularity[entity.asin] * entity.offers for entity in listed]
    sigma = math.log(DELIVERY_P95_SECONDS / DELIVERY_MEDIAN_SECONDS) / 1.6449
    deliveries: list[Delivery] = []
    at = 0.0
    for entity in rng.choices(listed, weights=weights, k=notifications):
        at += rng.expovariate(CHANGES_PER_SECOND)
        changed_at = START + timedelta(milliseconds=round(at * 1000))  # Amazon's times: milliseconds
        notification_id = uuid_of(rng)
        body = render(template, entity, changed_at, notification_id, rng)
        arrives = at + DELIVERY_MEDIAN_SECONDS * math.exp(rng.gauss(0.0, sigma))
        deliveries.append(Delivery(arrives, notification_id, entity, changed_at, body))
        if rng.random() < DUPLICATE_SHARE:
            later = arrives + rng.uniform(0.0, DUPLICATE_LATER_SECONDS)
            deliveries.append(Delivery(later, notification_id, entity, changed_at, body, duplicate=True))
    deliveries.sort(key=lambda delivery: delivery.at)
    return deliveries, listed


def uuid_of(rng: random.Random) -> str:
    hex_digits = f"{rng.getrandbits(128):032x}"
    return f"{hex_digits[:8]}-{hex_digits[8:12]}-4{hex_digits[13:16]}-a{hex_digits[17:20]}-{hex_digits[20:]}"


# -- DynamoDB's item size (bench/aws_meter.py's rules), of items as moto holds them ---------------------
def moto_value_size(value: DynamoType) -> int:
    """``value_size`` of a value as moto holds it (read in place: no copy)."""
    kind, inner = value.type, value.value
    if kind == "L":
        return 3 + sum(1 + moto_value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + moto_value_size(element) for name, element in inner.items())
    if kind == "B" and isinstance(inner, str):
        return len(base64.b64decode(inner))
    return value_size({kind: inner})


def stored_size(table_name: str, key_source: dict[str, Any]) -> int:
    """The size of the item ``key_source`` names as moto holds it now (0: none), read in process."""
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].get_table(table_name)
    hash_key = DynamoType(key_source[table.hash_key_attr])
    range_key = DynamoType(key_source[table.range_key_attr]) if table.range_key_attr else None
    try:
        item = table.get_item(hash_key, range_key)
    except KeyError:
        item = None
    if item is None:
        return 0
    return sum(len(name.encode()) + moto_value_size(value) for name, value in item.attrs.items())


def stored_versions(table_name: str) -> dict[tuple[str, str, str], str]:
    """Each offers entity's stored ``last_updated``, by (marketplace, ASIN, condition), read from
    moto's backend in process (a scan of 10 KB items through moto's serializer takes seconds)."""
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].get_table(table_name)
    versions = {}
    for item in table.all_items():
        attributes = {name: value.to_regular_json() for name, value in item.attrs.items()}
        if attributes.get("notification_type") != {"S": catalog.ANY_OFFER_CHANGED.name}:
            continue
        key = {name: value["S"] for name, value in attributes["key"]["M"].items()}
        versions[(key["marketplace_id"], key["asin"], key["item_condition"])] = attributes["last_updated"][
            "S"
        ]
    return versions


# -- counting every call, timing moto ----------------------------------------------------------------
@dataclass
class Clocks:
    wall: float = 0.0
    cpu: float = 0.0

    @contextlib.contextmanager
    def adding(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.thread_time() - cpu


@dataclass
class Tally:
    """Every call by phase (who made it), service and operation, and what DynamoDB and SQS bill."""

    phase: str = "harness"
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    sqs_billed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, operation)
    sqs_messages_received: int = 0
    write_units: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, table role)
    failed_writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    item_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)  # of the items written
    put_events_entries: int = 0
    put_events_failed: int = 0
    put_events_billed: int = 0
    event_bytes: int = 0
    moto: Clocks = field(default_factory=Clocks)
    moto_by_call: dict[tuple[str, str, str], Clocks] = field(default_factory=dict)
    current: tuple[str, str, str] = ("harness", "", "")
    hooks: Clocks = field(default_factory=Clocks)
    roles: dict[str, str] = field(default_factory=dict)  # table name -> role

    @contextlib.contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    def calls_in(self, phase: str, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            count
            for (p, s, o), count in self.calls.items()
            if p == phase and (service is None or s == service) and (operation is None or o == operation)
        )

    # botocore's hooks (registered on boto3's default session: every client made after has them)
    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        with self.hooks.adding():
            service, operation = model.service_model.service_name, model.name
            self.calls[(self.phase, service, operation)] += 1
            self.current = (self.phase, service, operation)
            context["bench_params"] = params
            if service == "dynamodb" and operation in ("PutItem", "UpdateItem") and self.phase != "baseline":
                source = params["Item"] if operation == "PutItem" else params["Key"]
                context["bench_before"] = stored_size(params["TableName"], source)

    def after(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        with self.hooks.adding():
            service, operation = model.service_model.service_name, model.name
            self.current = ("harness", "", "")  # moto's time of a call no hook saw is nobody's
            params = context.get("bench_params", {})
            ok = http_response.status_code < 300
            if service == "sqs":
                self._sqs(operation, params, parsed)
            elif service == "events" and operation == "PutEvents":
                self._put_events(params, parsed)
            elif "bench_before" in context:
                self._write(operation, params, ok, parsed, context["bench_before"])

    def _sqs(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if operation == "SendMessage":
            payload = len(params["MessageBody"].encode())
        elif operation == "SendMessageBatch":
            payload = sum(len(entry["MessageBody"].encode()) for entry in params["Entries"])
        elif operation == "ReceiveMessage":
            messages = parsed.get("Messages", [])
            if not messages:
                return  # an empty receive: the mapping's idle polling, a fixed cost
            self.sqs_messages_received += len(messages)
            payload = sum(len(message["Body"].encode()) for message in messages)
        else:
            payload = 0
        self.sqs_billed[(self.phase, operation)] += max(1, math.ceil(payload / CHUNK))

    def _put_events(self, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        entries = params.get("Entries", [])
        self.put_events_entries += len(entries)
        self.put_events_failed += int(parsed.get("FailedEntryCount", 0))
        for entry, answer in zip(entries, parsed.get("Entries", []), strict=False):
            if "ErrorCode" in answer:
                continue
            size = TIME_FIELD_BYTES + sum(
                len(str(entry.get(name, "")).encode()) for name in ("Source", "DetailType", "Detail")
            )
            size += sum(len(resource.encode()) for resource in entry.get("Resources", []))
            self.event_bytes += size
            self.put_events_billed += math.ceil(size / CHUNK)

    def _write(
        self, operation: str, params: dict[str, Any], ok: bool, parsed: dict[str, Any], before: int
    ) -> None:
        role = self.roles.get(params["TableName"], params["TableName"])
        if operation == "PutItem":
            attempted = item_size(params["Item"])
        else:
            attempted = stored_size(params["TableName"], params["Key"]) if ok else before
        size = max(before, attempted)
        self.write_units[(self.phase, role)] += write_units(size)
        if ok:
            self.item_bytes[(self.phase, role)] += attempted
        elif parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            self.failed_writes[(self.phase, role)] += 1

    def register(self) -> None:
        events = boto3.DEFAULT_SESSION.events
        events.register("before-parameter-build", self.before)
        events.register("after-call", self.after)

    def unregister(self) -> None:
        events = boto3.DEFAULT_SESSION.events
        events.unregister("before-parameter-build", self.before)
        events.unregister("after-call", self.after)


@contextlib.contextmanager
def timing_moto(tally: Tally) -> Iterator[None]:
    """Adds the time spent inside moto's request stubber (the server's side) to the tally's."""
    original = BotocoreStubber.__call__

    def timed(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        by_call = tally.moto_by_call.setdefault(tally.current, Clocks())
        with tally.moto.adding(), by_call.adding():
            return original(self, *args, **kwargs)

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Invocation:
    size: int  # records handed over
    wall: float  # seconds here, this bench's hooks left out
    own_cpu: float  # the function's own CPU seconds (moto's and the hooks' left out)
    aws_calls: int
    put_events_calls: int = 0


def measured(tally: Tally, phase: str, size: int, work: Callable[[], Any]) -> tuple[Any, Invocation]:
    calls_before = tally.calls_in(phase)
    put_events_before = tally.calls_in(phase, "events", "PutEvents")
    moto_cpu, hook_wall, hook_cpu = tally.moto.cpu, tally.hooks.wall, tally.hooks.cpu
    wall, cpu = time.perf_counter(), time.thread_time()
    with tally.in_phase(phase):
        result = work()
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    hooks_wall, hooks_cpu = tally.hooks.wall - hook_wall, tally.hooks.cpu - hook_cpu
    return result, Invocation(
        size=size,
        wall=wall - hooks_wall,
        own_cpu=max(cpu - hooks_cpu - (tally.moto.cpu - moto_cpu), 0.0),
        aws_calls=tally.calls_in(phase) - calls_before,
        put_events_calls=tally.calls_in(phase, "events", "PutEvents") - put_events_before,
    )


def lambda_seconds(
    invocation: Invocation, cpu_scale: float, overhead: float, put_events_seconds: float = 0.0
) -> float:
    """The invocation's billed duration on Lambda, by the model in the docstring."""
    other_calls = invocation.aws_calls - invocation.put_events_calls
    return (
        overhead
        + invocation.own_cpu * cpu_scale
        + other_calls * AWS_CALL_SECONDS
        + invocation.put_events_calls * put_events_seconds
    )


def warm_seconds(invocations: list[Invocation], seconds: Callable[[Invocation], float]) -> float:
    """``seconds`` of every record handed over, at the warm invocations' rate per record."""
    warm = invocations[1:] or invocations
    per_record = sum(seconds(invocation) for invocation in warm) / max(sum(i.size for i in warm), 1)
    return per_record * sum(invocation.size for invocation in invocations)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


class CountingLog(io.StringIO):
    """The functions' log output, as CloudWatch Logs would ingest it: only its size is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


# -- the run -----------------------------------------------------------------------------------------
def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received message as Lambda's event source mapping hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }


def consume(pipeline: LocalPipeline, tally: Tally, log: CountingLog) -> tuple[list[Invocation], Counter[str]]:
    """The offers queue through the real handler, a batch of the catalog's size at a time."""
    from sellerstream.logic import batch  # the runtime: imported once local mode set the environment

    module, _, name = CONSUMER.handler.rpartition(".")  # sellerstream.handlers.offers.lambda_handler
    lambda_handler = getattr(importlib.import_module(module), name)

    queue = pipeline.resources.queues[CONSUMER.kind]
    sqs = boto3.client("sqs", region_name=LOCAL_REGION)  # made after the hooks: counted
    environment = pipeline.function_environment(CONSUMER)
    invocations: list[Invocation] = []
    outcomes: Counter[str] = Counter()
    while True:
        messages: list[dict[str, Any]] = []
        with tally.in_phase("esm"):
            while len(messages) < CONSUMER.sizing.batch_size:
                got = sqs.receive_message(
                    QueueUrl=queue.url,
                    MaxNumberOfMessages=min(SQS_MAX_RECEIVE, CONSUMER.sizing.batch_size - len(messages)),
                    AttributeNames=["All"],
                    WaitTimeSeconds=0,
                ).get("Messages", [])
                if not got:
                    break
                messages.extend(got)
        if not messages:
            return invocations, outcomes
        event = {"Records": [sqs_record(message, queue.arn) for message in messages]}
        context = LocalLambdaContext(
            f"sellerstream-local-{CONSUMER.kind}", CONSUMER.sizing.timeout_seconds, CONSUMER.sizing.memory_mb
        )

        def invoke(event: dict[str, Any] = event, context: LocalLambdaContext = context) -> Any:
            with contextlib.redirect_stdout(log), function_environment(environment):
                return lambda_handler.process(event, context)

        result, invocation = measured(tally, "offers", len(messages), invoke)
        invocations.append(invocation)
        done = set()
        for outcome in result.outcomes:
            if outcome.outcome == batch.APPLIED and outcome.result is not None:
                outcomes["stored"] += int(outcome.result.get("stored", 0))
                outcomes["unchanged"] += int(outcome.result.get("unchanged", 0))
            outcomes[outcome.outcome] += 1
            if outcome.reason:
                outcomes[f"{outcome.outcome}:{outcome.reason}:{(outcome.detail or '')[:120]}"] += 1
            if outcome.done:
                done.add(outcome.message_id)
        finished = [message for message in messages if message["MessageId"] in done]
        with tally.in_phase("esm"):
            for start in range(0, len(finished), SQS_MAX_RECEIVE):
                sqs.delete_message_batch(
                    QueueUrl=queue.url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(finished[start : start + SQS_MAX_RECEIVE])
                    ],
                )


class InProcessStreams:
    """DynamoDB Streams' three calls the mapping's stand-in makes, answered by moto's backend in
    process: the same records, without moto's response serializer, which takes seconds for a batch
    of 100 records with two 10 KB images each. Stream reads by Lambda are free and not measured."""

    def __init__(self) -> None:
        self._backend = dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION]

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": self._backend.describe_stream(StreamArn)}

    def get_shard_iterator(
        self,
        StreamArn: str,
        ShardId: str,
        ShardIteratorType: str,
        SequenceNumber: str | None = None,
    ) -> dict[str, Any]:
        sequence = int(SequenceNumber) if SequenceNumber is not None else None
        iterator = self._backend.get_shard_iterator(StreamArn, ShardId, ShardIteratorType, sequence)  # type: ignore[arg-type]
        return {"ShardIterator": iterator.arn}

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:
        return self._backend.get_records(ShardIterator, Limit)


def publish(pipeline: LocalPipeline, tally: Tally, log: CountingLog) -> tuple[list[Invocation], int]:
    """The notifications table's change stream through the real publisher, batches of 100."""
    module, _, name = PUBLISHER.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    invocations: list[Invocation] = []

    def timed(event: dict[str, Any], context: Any) -> Any:
        result, invocation = measured(
            tally, "publisher", len(event["Records"]), lambda: handler(event, context)
        )
        invocations.append(invocation)
        return result

    change_events = pipeline.resources.change_events
    poller = LocalStreamPoller(
        InProcessStreams(),
        pipeline.sqs,
        stream_sources(pipeline.resources.tables, change_events.streams),
        timed,
        function_name="sellerstream-local-change-events",
        batch_size=PUBLISHER.sizing.batch_size,
        timeout_seconds=PUBLISHER.sizing.timeout_seconds,
        on_failure_queue_url=change_events.dead_letter_queue_url,
        environment=pipeline.function_environment(PUBLISHER),
        output=log,
    )
    while poller.poll_once():
        pass
    return invocations, poller.stats.filtered_out


def baseline(pipeline: LocalPipeline, tally: Tally, bodies: list[str]) -> list[Invocation]:
    """A loop that only parses each body and puts one item, in batches of the consumer's size."""
    dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION)
    table = pipeline.resources.tables[catalog.NOTIFICATIONS_TABLE.role]
    batches = []
    size = CONSUMER.sizing.batch_size
    for start in range(0, len(bodies), size):
        chunk = bodies[start : start + size]

        def loop(chunk: list[str] = chunk) -> None:
            for body in chunk:
                document = json.loads(body)
                dynamodb.put_item(
                    TableName=table,
                    Item={
                        "pk": {"S": "BASELINE"},
                        "sk": {"S": document["NotificationMetadata"]["NotificationId"]},
                        "body": {"S": body},
                    },
                )

        _, invocation = measured(tally, "baseline", len(chunk), loop)
        batches.append(invocation)
    return batches


def measure(notifications: int, asins: int, max_offers: int, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    walls: dict[str, float] = {}

    def lap(name: str) -> None:
        walls[name] = round(time.monotonic() - started - sum(walls.values()), 1)

    deliveries, listed = stream(notifications, asins, max_offers, seed)
    newest: dict[tuple[str, str, str], datetime] = {}
    for delivery in deliveries:
        key = (delivery.entity.marketplace, delivery.entity.asin, delivery.entity.condition)
        newest[key] = max(newest.get(key, delivery.changed_at), delivery.changed_at)
    log = CountingLog()
    tally = Tally()
    with (
        LocalPipeline(
            visibility_timeout_seconds=CONSUMER.sizing.visibility_timeout_seconds, log_stream=log
        ) as pipeline,
        timing_moto(tally),
    ):
        lap("stream")
        tally.roles = {name: role for role, name in pipeline.resources.tables.items()}
        tally.register()
        try:
            reset_runtime()  # the functions' clients are made from now on: with the hooks
            queue = pipeline.resources.queues[CONSUMER.kind]
            sqs = boto3.client("sqs", region_name=LOCAL_REGION)
            with tally.in_phase("amazon"):  # Amazon's sends: one SendMessage per delivery, billed to us
                for delivery in deliveries:
                    sqs.send_message(QueueUrl=queue.url, MessageBody=delivery.body)
            lap("send")
            log.bytes = 0
            consumed, outcomes = consume(pipeline, tally, log)
            consumer_log_bytes, log.bytes = log.bytes, 0
            lap("consume")
            published, filtered = publish(pipeline, tally, log)
            publisher_log_bytes = log.bytes
            lap("publish")
            delivered = [
                event
                for event in pipeline.delivered_events()
                if event["detail-type"] == catalog.ANY_OFFER_CHANGED.stored.detail_type  # type: ignore[union-attr]
            ]
            dead_letters = pipeline.dead_letters()
            publisher_dead_letters = pipeline.change_events_dead_lettered()
            kept = stored_versions(pipeline.resources.tables[catalog.NOTIFICATIONS_TABLE.role])
            lap("check")
            base = baseline(pipeline, tally, [delivery.body for delivery in deliveries])
            lap("baseline")
        finally:
            tally.unregister()
    newest_kept = sum(1 for key, moment in newest.items() if kept.get(key) == sortable_timestamp(moment))
    return figures(
        deliveries=deliveries,
        listed=listed,
        notifications=notifications,
        entities_changed=len(newest),
        newest_kept=newest_kept,
        tally=tally,
        consumed=consumed,
        outcomes=outcomes,
        published=published,
        filtered=filtered,
        events_delivered=len(delivered),
        dead_lettered=len(dead_letters) + publisher_dead_letters,
        log_bytes=(consumer_log_bytes, publisher_log_bytes),
        baseline=base,
        walls=walls,
        settings={"notifications": notifications, "asins": asins, "max_offers": max_offers, "seed": seed},
    )


def figures(
    *,
    deliveries: list[Delivery],
    listed: list[Entity],
    notifications: int,
    entities_changed: int,
    newest_kept: int,
    tally: Tally,
    consumed: list[Invocation],
    outcomes: Counter[str],
    published: list[Invocation],
    filtered: int,
    events_delivered: int,
    dead_lettered: int,
    log_bytes: tuple[int, int],
    baseline: list[Invocation],
    walls: dict[str, float],
    settings: dict[str, Any],
) -> dict[str, Any]:
    millions = notifications / 1e6
    full_vcpu_mb, latency = shared_model()
    cpu_scale = full_vcpu_mb / CONSUMER.sizing.memory_mb
    publisher_cpu_scale = full_vcpu_mb / PUBLISHER.sizing.memory_mb
    overhead = latency.invocation_overhead
    warm = consumed[1:] or consumed  # the first batch is the container's first: left out of the times
    here_ms = [invocation.wall / invocation.size * 1000 for invocation in warm]
    lambda_ms = [
        lambda_seconds(invocation, cpu_scale, overhead) / invocation.size * 1000 for invocation in warm
    ]
    own_cpu_ms = [invocation.own_cpu / invocation.size * 1000 for invocation in warm]
    baseline_ms = [invocation.wall / invocation.size * 1000 for invocation in baseline[1:] or baseline]
    baseline_cpu_ms = [invocation.own_cpu / invocation.size * 1000 for invocation in baseline[1:] or baseline]
    # Billed duration: the warm invocations' seconds per record, for every record handed over (a
    # container's first invocation is rare at this volume; here it would be one in a few dozen).
    consumer_seconds = warm_seconds(consumed, lambda i: lambda_seconds(i, cpu_scale, overhead))
    publisher_seconds = warm_seconds(
        published, lambda i: lambda_seconds(i, publisher_cpu_scale, overhead, latency.put_median)
    )
    units = {role: count for (phase, role), count in tally.write_units.items() if phase == "offers"}
    failed = {role: count for (phase, role), count in tally.failed_writes.items() if phase == "offers"}
    written = {role: count for (phase, role), count in tally.item_bytes.items() if phase == "offers"}
    notification_role, idempotency_role = catalog.NOTIFICATIONS_TABLE.role, catalog.IDEMPOTENCY_TABLE.role
    sqs_billed = {
        operation: count
        for (phase, operation), count in tally.sqs_billed.items()
        if phase in ("amazon", "esm")
    }
    price = prices()

    def per_million(cost: float) -> float:
        return cost / millions

    breakdown = {
        "lambda_requests": per_million(len(consumed) / 1e6 * price["lambda_per_million_requests"]),
        "lambda_duration": per_million(consumer_seconds * MEMORY_GB * price["lambda_per_gb_second_arm64"]),
        "sqs": per_million(sum(sqs_billed.values()) / 1e6 * price["sqs_per_million_64kb_requests"]),
        "dynamodb_writes": per_million(
            sum(units.values()) / 1e6 * price["dynamodb_per_million_write_request_units"]
        ),
        "publisher_lambda": per_million(
            len(published) / 1e6 * price["lambda_per_million_requests"]
            + publisher_seconds * PUBLISHER_MEMORY_GB * price["lambda_per_gb_second_arm64"]
        ),
        "put_events": per_million(
            tally.put_events_billed / 1e6 * price["put_events_per_million_64kb_events"]
        ),
        "cloudwatch_logs": per_million(sum(log_bytes) / 1024**3 * price["cloudwatch_logs_per_gb_ingested"]),
    }
    idempotency_cost = per_million(
        units.get(idempotency_role, 0) / 1e6 * price["dynamodb_per_million_write_request_units"]
    )
    handler_p50, baseline_p50 = statistics.median(here_ms), statistics.median(baseline_ms)
    duplicates = sum(delivery.duplicate for delivery in deliveries)
    received = tally.sqs_messages_received
    return {
        "usd_per_million_notifications": round(sum(breakdown.values()), 4),
        "breakdown": {name: round(value, 4) for name, value in breakdown.items()},
        "idempotency_share_of_dynamodb_writes": round(
            idempotency_cost / max(breakdown["dynamodb_writes"], 1e-12), 3
        ),
        "ms_per_notification_p50": round(handler_p50, 3),
        "ms_per_notification_p95": round(percentile(here_ms, 0.95), 3),
        "lambda_ms_per_notification_p50": round(statistics.median(lambda_ms), 3),
        "lambda_ms_per_notification_p95": round(percentile(lambda_ms, 0.95), 3),
        "own_cpu_ms_per_notification_p50": round(statistics.median(own_cpu_ms), 3),
        "first_batch_ms_per_notification": round(consumed[0].wall / consumed[0].size * 1000, 3),
        "baseline_ms_per_notification_p50": round(baseline_p50, 3),
        "handler_vs_baseline": round(handler_p50 / baseline_p50, 2),
        "baseline_own_cpu_ms_per_notification_p50": round(statistics.median(baseline_cpu_ms), 3),
        "own_cpu_vs_baseline": round(statistics.median(own_cpu_ms) / statistics.median(baseline_cpu_ms), 2),
        "drain_per_second": round(
            CONSUMER.sizing.max_concurrency / max(statistics.median(lambda_ms) / 1000, 1e-9)
        ),
        "notifications": notifications,
        "deliveries": len(deliveries),
        "duplicates_delivered": duplicates,
        "entities": len(listed),
        "entities_changed": entities_changed,
        "newest_kept": newest_kept,
        "stored": outcomes["stored"],
        "unchanged": outcomes["unchanged"],
        "duplicates_skipped": outcomes["duplicate"],
        "retried": outcomes["retry"],
        "deferred": outcomes["deferred"],
        "dead_lettered": dead_lettered,
        "events": tally.put_events_entries - tally.put_events_failed,
        "events_delivered": events_delivered,
        "mean_body_bytes": round(
            sum(len(delivery.body.encode()) for delivery in deliveries) / len(deliveries)
        ),
        "mean_item_bytes": round(written.get(notification_role, 0) / max(outcomes["stored"], 1)),
        "write_units_per_notification": round(sum(units.values()) / notifications, 3),
        "write_units": {
            "notifications_table_per_notification": round(units.get(notification_role, 0) / notifications, 3),
            "idempotency_table_per_notification": round(units.get(idempotency_role, 0) / notifications, 3),
            "failed_conditional_writes": {
                role: failed.get(role, 0) for role in (notification_role, idempotency_role)
            },
        },
        "requests_per_notification": {
            "dynamodb_put_item": round(tally.calls_in("offers", "dynamodb", "PutItem") / notifications, 3),
            "dynamodb_update_item": round(
                tally.calls_in("offers", "dynamodb", "UpdateItem") / notifications, 3
            ),
            "dynamodb_other": round(
                (
                    tally.calls_in("offers", "dynamodb")
                    - tally.calls_in("offers", "dynamodb", "PutItem")
                    - tally.calls_in("offers", "dynamodb", "UpdateItem")
                )
                / notifications,
                3,
            ),
            "sqs_send_by_amazon": round(tally.calls_in("amazon", "sqs", "SendMessage") / notifications, 3),
            "sqs_receive_per_message": round(
                tally.calls_in("esm", "sqs", "ReceiveMessage") / max(received, 1), 3
            ),
            "sqs_delete_per_message": round(
                tally.calls_in("esm", "sqs", "DeleteMessageBatch") / max(received, 1), 3
            ),
            "sqs_by_the_handler": round(tally.calls_in("offers", "sqs") / notifications, 3),
            "sqs_billed_requests": round(sum(sqs_billed.values()) / notifications, 3),
            "put_events_calls": round(tally.calls_in("publisher", "events", "PutEvents") / notifications, 3),
            "billed_events": round(tally.put_events_billed / notifications, 3),
        },
        "invocations": {"offers": len(consumed), "publisher": len(published)},
        "mean_records_per_batch": {
            "offers": round(sum(i.size for i in consumed) / max(len(consumed), 1), 1),
            "publisher": round(sum(i.size for i in published) / max(len(published), 1), 1),
        },
        "stream_records_filtered": filtered,
        "lambda_gb_seconds_per_million": {
            "offers": round(consumer_seconds * MEMORY_GB / millions, 1),
            "publisher": round(publisher_seconds * PUBLISHER_MEMORY_GB / millions, 1),
        },
        "log_bytes_per_notification": {
            "offers": round(log_bytes[0] / notifications),
            "publisher": round(log_bytes[1] / notifications),
        },
        "moto_ms_per_call": {
            f"{phase}:{service}:{operation}": round(
                clocks.wall / max(tally.calls[(phase, service, operation)], 1) * 1000, 2
            )
            for (phase, service, operation), clocks in sorted(tally.moto_by_call.items())
            if phase in ("offers", "publisher", "baseline")
        },
        "outcome_reasons": {name: count for name, count in outcomes.items() if ":" in name},
        "mean_event_bytes": round(
            tally.event_bytes / max(tally.put_events_entries - tally.put_events_failed, 1)
        ),
        "model": {
            "aws_call_seconds": AWS_CALL_SECONDS,
            "invocation_overhead_seconds": overhead,
            "put_events_seconds": latency.put_median,
            "cpu_scale_at_256_mb": round(cpu_scale, 2),
            "changes_per_second": CHANGES_PER_SECOND,
            "delivery_delay_seconds": {"median": DELIVERY_MEDIAN_SECONDS, "p95": DELIVERY_P95_SECONDS},
            "duplicate_share": DUPLICATE_SHARE,
        },
        "sizing": {
            "batch_size": CONSUMER.sizing.batch_size,
            "batching_window_seconds": CONSUMER.sizing.batching_window_seconds,
            "max_concurrency": CONSUMER.sizing.max_concurrency,
            "memory_mb": CONSUMER.sizing.memory_mb,
            "timeout_seconds": CONSUMER.sizing.timeout_seconds,
        },
        "prices": {"as_of": PRICES_AS_OF, "region": "us-east-1", **price},
        **settings,
        "wall_seconds": {"total": round(sum(walls.values()), 1), **walls},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--notifications", type=int, default=1500, help="distinct notifications Amazon sends")
    parser.add_argument("--asins", type=int, default=300, help="the seller's ASINs whose offers change")
    parser.add_argument("--offers", type=int, default=20, help="most offers an ASIN has (Amazon lists 20)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.notifications < 1 or args.asins < 1 or not 1 <= args.offers <= 20:
        parser.error("--notifications and --asins at least 1, --offers 1 to 20")
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    found = measure(args.notifications, args.asins, args.offers, args.seed)
    if args.json:
        print(json.dumps(found))
        return
    report(found)


def report(found: dict[str, Any]) -> None:
    breakdown, requests, units = found["breakdown"], found["requests_per_notification"], found["write_units"]
    sizing, failed = found["sizing"], found["write_units"]["failed_conditional_writes"]
    print(
        f"{catalog.ANY_OFFER_CHANGED.name} through the offers consumer, on moto (seed {found['seed']}): "
        f"{found['notifications']:,} notifications over {found['asins']} ASINs ({found['entities']} "
        f"marketplace/ASIN/condition entities, {found['entities_changed']} of them changed), "
        f"{found['deliveries']:,} deliveries ({found['duplicates_delivered']} duplicates), bodies of "
        f"{found['mean_body_bytes']:,} bytes on average"
    )
    print(
        f"  outcomes: {found['stored']:,} stored, {found['unchanged']:,} unchanged (older than the stored), "
        f"{found['duplicates_skipped']} duplicates skipped, {found['retried']} retried, "
        f"{found['dead_lettered']} dead-lettered; the newest change kept for {found['newest_kept']} of "
        f"{found['entities_changed']} entities; {found['events']:,} events published "
        f"({found['events_delivered']:,} delivered to the subscriber)"
    )
    print(
        f"  the handler here, per notification (batches of {sizing['batch_size']}): p50 "
        f"{found['ms_per_notification_p50']} ms, p95 {found['ms_per_notification_p95']} ms (moto included; the "
        f"first batch {found['first_batch_ms_per_notification']} ms), {found['handler_vs_baseline']}x a bare "
        f"json.loads + put_item loop ({found['baseline_ms_per_notification_p50']} ms); its own CPU "
        f"{found['own_cpu_ms_per_notification_p50']} ms, {found['own_cpu_vs_baseline']}x the loop's "
        f"({found['baseline_own_cpu_ms_per_notification_p50']} ms)"
    )
    print(
        f"  on Lambda, {sizing['memory_mb']} MB arm64 (the model): p50 {found['lambda_ms_per_notification_p50']} ms, "
        f"p95 {found['lambda_ms_per_notification_p95']} ms per notification, "
        f"{found['lambda_gb_seconds_per_million']['offers']:,} GB-s per million; at most "
        f"{sizing['max_concurrency']} batches at once drain about {found['drain_per_second']:,} a second"
    )
    print(
        f"  DynamoDB per notification: {found['write_units_per_notification']} write units = "
        f"{units['notifications_table_per_notification']} (items of {found['mean_item_bytes']:,} bytes) + "
        f"{units['idempotency_table_per_notification']} (idempotency records); "
        f"{requests['dynamodb_put_item']} PutItem + {requests['dynamodb_update_item']} UpdateItem, "
        f"failed conditional writes {failed[catalog.NOTIFICATIONS_TABLE.role]} (notifications) and "
        f"{failed[catalog.IDEMPOTENCY_TABLE.role]} (idempotency)"
    )
    print(
        f"  SQS per message: {requests['sqs_send_by_amazon']} SendMessage by Amazon, "
        f"{requests['sqs_receive_per_message']} ReceiveMessage and {requests['sqs_delete_per_message']} "
        f"DeleteMessageBatch by the mapping: {requests['sqs_billed_requests']} billed requests (64 KB each); "
        f"PutEvents: {requests['put_events_calls']} calls, {requests['billed_events']} billed events "
        f"of {found['mean_event_bytes']:,} bytes; logs: {found['log_bytes_per_notification']['offers']} bytes"
    )
    print(
        f"  per million notifications, {found['prices']['as_of']}: "
        f"${found['usd_per_million_notifications']:.2f} = Lambda requests ${breakdown['lambda_requests']:.3f} "
        f"+ Lambda duration ${breakdown['lambda_duration']:.3f} + SQS ${breakdown['sqs']:.3f} "
        f"+ DynamoDB writes ${breakdown['dynamodb_writes']:.3f} (the idempotency records "
        f"{found['idempotency_share_of_dynamodb_writes']:.0%} of it) + the publisher's Lambda "
        f"${breakdown['publisher_lambda']:.3f} + PutEvents ${breakdown['put_events']:.3f} "
        f"+ CloudWatch Logs ${breakdown['cloudwatch_logs']:.3f}"
    )
    walls = found["wall_seconds"]
    print(
        f"  {walls['total']} s here: "
        + ", ".join(f"{name} {seconds} s" for name, seconds in walls.items() if name != "total")
    )


if __name__ == "__main__":
    main()
