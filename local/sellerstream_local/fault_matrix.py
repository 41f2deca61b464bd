"""The fault matrix: ORDER_CHANGE traffic through the real batch processing and use case, with faults
injected at every boundary, on the virtual clock of ``simulation``; the invariants are measured
from what the store and the emulator record, never from the product's own logs.

Injected: SP-API 429s, 5xx, timeouts, connection resets (after the request was served: the answer
is lost) and malformed (truncated) bodies; ``invalid_grant`` for one seller whose authorisation is
withdrawn for a while and then renewed (a new refresh token in its secret); DynamoDB throttling and
internal errors on every call; a container killed between the SP-API callback and the order's
write (its batch is never acknowledged: the records return after the visibility timeout, and the
idempotency records it left in progress are taken over once its deadline passed); duplicates
(the same NotificationId delivered again), reordered deliveries (a change delivered after a later
change of the same order), poison bodies, and notifications Amazon never delivers (dropped before
the queue: only reconciliation repairs those).

Measured:

- ``lost``: delivered valid notifications whose change the stored order does not include at the end.
- ``applied_twice``: successful writes of an order state already stored (the same ``last_updated``).
- ``regressed``: successful writes that stored an older state over a newer one.
- ``poison`` / ``poison_dead_lettered``: poison bodies published / found in the dead-letter queue
  (copied by the function with a reason, or redriven by the queue).
- ``valid_dead_lettered``: valid notifications found in the dead-letter queue.
- ``stale_orders``: orders whose stored state is older than Amazon's latest (what reconciliation
  must repair); ``not_repaired`` is the same count after reconciliation.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws, catalog, wiring
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.adapters.waiting import DynamoDBWaitingNotifications
from sellerstream.config import OrderChangeSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.spapi.transport import HttpRequest, HttpResponse, TransportError
from sellerstream.timestamps import parse_sortable
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.server import Faults
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.resources import create_table
from sellerstream_local.simulation import (
    SimulatedDynamoDB,
    SimulatedSecrets,
    SimulatedSqs,
    VirtualTime,
    invoke_batch,
    powertools_on,
    quiet_function_logs,
)

START = 1_790_000_000.0  # the simulation's epoch (2026-09-21)
CHANGE_WINDOW_SECONDS = 3600.0  # Amazon's changes happen within the first hour
CONTAINERS = 5
BATCH_SIZE = 10
FUNCTION_TIMEOUT = 30.0
CALL_LATENCY = 0.15  # virtual seconds per HTTP call
INVOCATION_OVERHEAD = 0.05
RECORD_OVERHEAD = 0.005
COLD_START_SECONDS = 1.0
LONG_POLL = 20.0
MIN_POLL = 0.05
# Virtual time after which the run stops even if messages remain (they then count as lost).
GIVE_UP_AFTER_SECONDS = 3 * 24 * 3600.0
LWA_ID, LWA_SECRET = "amzn1.application-oa2-client.faultmatrix", "fault-matrix-secret"
LWA_PATH = "/auth/o2/token"


class ProcessKilled(BaseException):
    """The container died (out of memory, a crash, Lambda's timeout): nothing after it runs.

    A BaseException, so that no ``except Exception`` in the product or Powertools handles it: the
    batch is never acknowledged and idempotency records stay in progress, as after a real kill."""


@dataclass(frozen=True)
class FaultRates:
    duplicates: float = 0.20  # share of notifications delivered a second time
    reordered: float = 0.20  # share delivered after a later change of the same order
    poison: float = 0.01  # share of the notifications that are poison
    dropped: float = 0.05  # share of valid notifications Amazon never delivers
    spapi_throttles: float = 0.03  # injected 429s per HTTP call (besides the rate plans' own)
    spapi_server_errors: float = 0.03  # 503s per SP-API call (the emulator's faults)
    spapi_malformed: float = 0.01  # truncated 200 bodies per SP-API call
    timeouts: float = 0.01  # no answer within the timeout, per HTTP call
    connection_resets: float = 0.01  # served, then the connection dropped, per HTTP call
    dynamodb_throttles: float = 0.01  # per DynamoDB call
    dynamodb_errors: float = 0.005  # InternalServerError per DynamoDB call
    kills: float = 0.005  # per order write: the container dies just before it
    revoked_at: float = 600.0  # one seller withdraws the authorisation (seconds after the start)
    reauthorised_at: float = 2400.0  # and renews it with a new refresh token


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


@dataclass(order=True)
class _Event:
    at: float
    serial: int
    kind: str = field(compare=False)  # "change", "deliver", "revoke", "reauthorise"
    change: Change | None = field(default=None, compare=False)
    body: str = field(default="", compare=False)


@dataclass
class Workload:
    sellers: list[str]
    revoked_seller: str
    changes: list[Change]
    poison: list[str]  # bodies
    events: list[_Event]


@dataclass
class Outcome:
    figures: dict[str, int]
    injected: Counter[str]
    stale_before_reconciliation: int
    reconciled: bool
    notifications: int
    deliveries: int
    orders: int
    still_queued: int
    receives: int
    sp_api_calls: dict[str, int]
    revoked_lwa_exchanges: int
    revoked_seller_receives: int  # receives of its messages while its authorisation was withdrawn
    revoked_seller_notifications: int  # its notifications received meanwhile
    virtual_seconds: float
    wall_seconds: float


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
    make_access: Callable[[], Any]  # a SpApiAccess on the simulation's clock and emulator
    make_directory: Callable[[], Any]  # the seller directory
    make_order_store: Callable[[], Any]  # the order store on the orders table


Reconcile = Callable[[World], dict[str, Any] | None]


# -- the workload --------------------------------------------------------------------------------


def build_workload(notifications: int, seed: int, rates: FaultRates = FaultRates()) -> Workload:

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
        again = rng.uniform(0, 5) if rng.random() < 0.3 else rng.uniform(30, 1800)
        events.append(
            _Event(publish_at[change.notification_id] + again, next(serials), "deliver", change, change.body)
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


class FaultyDynamoDB(SimulatedDynamoDB):
    """``SimulatedDynamoDB`` that throttles and fails on some calls, kills the container just before
    some order writes, and records every order state written (for ``regressed`` and ``applied_twice``)."""

    def __init__(self, rng: random.Random, rates: FaultRates, injected: Counter[str]) -> None:
        super().__init__()
        self._rng = rng
        self._rates = rates
        self._injected = injected
        self.orders_table = ""
        self.enabled = False
        self.killed: set[int] = set()  # threads of containers that died (until they start again)
        self.regressed = 0
        self.applied_twice = 0
        self.order_writes = 0

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

    def get_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("GetItem")
        return super().get_item(TableName, Key, **options)

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self._maybe_fail("BatchGetItem")
        return super().batch_get_item(RequestItems)

    def put_item(self, TableName: str, Item: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("PutItem")
        return super().put_item(TableName, Item, **options)

    def update_item(
        self, TableName: str, Key: dict[str, Any], UpdateExpression: str, **options: Any
    ) -> dict[str, Any]:
        self._maybe_fail("UpdateItem")
        return super().update_item(TableName, Key, UpdateExpression, **options)

    def delete_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self._maybe_fail("DeleteItem")
        return super().delete_item(TableName, Key, **options)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self._maybe_fail("TransactWriteItems")
        writes = [self._order_put(entry) for entry in TransactItems]
        order_writes = [write for write in writes if write is not None]
        if order_writes and self.enabled and self._rng.random() < self._rates.kills:
            # Between the callback (its answer is in hand) and the write: the container dies.
            self._injected["kills"] += 1
            self.killed.add(threading.get_ident())
            raise ProcessKilled
        before = {key: self._stored_last_updated(key) for key, _ in order_writes}
        result = super().transact_write_items(TransactItems)
        for key, written in order_writes:
            self.order_writes += 1
            previous = before[key]
            if previous is not None and written < previous:
                self.regressed += 1
            elif previous is not None and written == previous:
                self.applied_twice += 1
        return result

    def _order_put(self, entry: dict[str, Any]) -> tuple[tuple[tuple[str, Any], ...], str] | None:
        put = entry.get("Put")
        if put is None or put["TableName"] != self.orders_table:
            return None
        item = put["Item"]
        if not item["sk"]["S"].startswith("ORDER#"):
            return None
        return self._key(self.orders_table, item), str(item["last_updated"]["S"])

    def _stored_last_updated(self, key: tuple[tuple[str, Any], ...]) -> str | None:
        item = self._items[self.orders_table].get(key)
        return None if item is None else str(item["last_updated"]["S"])


class _SqsRouter:
    """The product's two SQS calls, routed by queue URL to the orders queue or its DLQ."""

    def __init__(self, queue: SimulatedSqs, dead_letters: SimulatedSqs) -> None:
        self._queues = {queue.queue.url: queue, dead_letters.queue.url: dead_letters}
        self._queue = queue

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int = 0,
        MessageAttributes: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, str]:
        return self._queues[QueueUrl].send_message(
            QueueUrl=QueueUrl,
            MessageBody=MessageBody,
            DelaySeconds=DelaySeconds,
            MessageAttributes=MessageAttributes,
        )


# -- the run -------------------------------------------------------------------------------------


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
def _quiet_logs(quiet: bool) -> Iterator[None]:
    if not quiet:
        yield
        return
    with quiet_function_logs():
        yield


def run(  # noqa: PLR0915 - one scenario, read top to bottom
    notifications: int = 10_000,
    seed: int = 7,
    *,
    rates: FaultRates = FaultRates(),
    reconcile: Reconcile | None = None,
    quiet: bool = True,
) -> Outcome:
    """One run of the matrix on a fresh emulator, queue, tables and clock."""

    started = time.monotonic()
    workload = build_workload(notifications, seed, rates)
    rng = random.Random(seed + 1)
    injected: Counter[str] = Counter()
    clock = VirtualTime(START)
    emulator = SpApiEmulator(
        clock=clock.time,
        seed=seed,
        faults=Faults(error_rate=rates.spapi_server_errors, malformed_rate=rates.spapi_malformed),
    )
    emulator.register_app(LWA_ID, LWA_SECRET)
    consumer = catalog.consumer("orders")
    queue = SimulatedSqs(
        clock,
        name="orders",
        visibility_timeout=consumer.sizing.visibility_timeout_seconds,
        max_receive_count=catalog.MAX_RECEIVE_COUNT,
    )
    dead_letters = SimulatedSqs(clock, name="orders-dlq", visibility_timeout=30, max_receive_count=10**6)
    dynamodb = FaultyDynamoDB(rng, rates, injected)
    tables = {
        "orders_table_name": create_table(dynamodb, "orders", "pk", "sk", None),
        "idempotency_table_name": create_table(dynamodb, "idempotency", "id", None, None),
        "accounts_table_name": create_table(dynamodb, "accounts", "pk", None, None),
        "rate_budget_table_name": create_table(dynamodb, "rate-budget", "pk", None, None),
    }
    dynamodb.orders_table = tables["orders_table_name"]
    secrets = {"lwa": json.dumps({"client_id": LWA_ID, "client_secret": LWA_SECRET})}
    for seller in workload.sellers:
        secrets[f"sellers/{seller}"] = json.dumps({"refresh_token": f"Atzr|{seller}", "region": "NA"})
        emulator.register_seller(seller, f"Atzr|{seller}")
    transport = FaultyTransport(InProcessTransport(emulator), clock, rng, rates, injected)
    settings = OrderChangeSettings.of(
        **tables,
        lwa_app_secret_id="lwa",  # noqa: S106 - a secret's name
        seller_secret_prefix="sellers/",  # noqa: S106
        spapi_endpoint_override=IN_PROCESS_BASE_URL,
        lwa_endpoint_override=f"{IN_PROCESS_BASE_URL}{LWA_PATH}",
        queue_url=queue.queue.url,
        dead_letter_queue_url=dead_letters.queue.url,
    )
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "order-change",
        "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    state = {"publishing": True, "next": START, "revoked_receives": 0}
    revoked = workload.revoked_seller
    revoked_waiting: set[str] = set()

    def publisher() -> None:
        for event in workload.events:
            state["next"] = event.at
            clock.sleep(event.at - clock.now)
            if event.kind == "change" and event.change is not None:
                change = event.change
                emulator.set_order(
                    change.order_id,
                    seller_id=change.seller,
                    last_updated=datetime.fromtimestamp(change.changed, UTC),
                    status="Unshipped",
                )
            elif event.kind == "deliver":
                queue.send(event.body)
            elif event.kind == "revoke":
                transport.revoked_token = f"Atzr|{revoked}"
                emulator.revoke_seller(revoked)
            elif event.kind == "reauthorise":
                renewed = f"Atzr|{revoked}-renewed"
                emulator.register_seller(revoked, renewed)
                secrets[f"sellers/{revoked}"] = json.dumps({"refresh_token": renewed, "region": "NA"})
        state["publishing"] = False
        state["next"] = float("inf")

    def finished() -> bool:
        return (not state["publishing"] and queue.empty()) or clock.now - START > GIVE_UP_AFTER_SECONDS

    def make_directory() -> AwsSellerDirectory:
        return AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
        )

    def make_access(directory: AwsSellerDirectory | None = None) -> SpApiAccess:
        return SpApiAccess(
            settings,
            directory or make_directory(),
            budgets=SharedRateBudget(
                settings.rate_budget_table_name or "", clock=clock.time, sleep=clock.sleep
            ),
            transport=transport,
            clock=clock.time,
            sleep=clock.sleep,
        )

    def cold_start() -> BatchRunner:
        directory = make_directory()
        shared = settings.rate_budget_table_name or ""
        use_case = OrderChangeUseCase(
            directory,
            make_access(directory),
            DynamoDBOrderStore(settings.orders_table_name),
            backlog=DynamoDBSearchWindows(shared, clock=clock.time),
            waiting=DynamoDBWaitingNotifications(shared, clock=clock.time),
            clock=clock.time,
        )
        return wiring.batch_runner(consumer, settings, use_case, clock=clock.time)

    def container() -> None:
        while not finished():
            try:
                serve(cold_start())
            except ProcessKilled:
                dynamodb.killed.discard(threading.get_ident())
                clock.sleep(COLD_START_SECONDS)  # Lambda starts another container

    def serve(runner: BatchRunner) -> None:
        while not finished():
            messages = queue.receive(BATCH_SIZE)
            if not messages:
                available = queue.next_available() or float("inf")
                wake = min(available, state["next"], clock.now + LONG_POLL)
                clock.sleep(max(wake - clock.now, MIN_POLL))
                continue
            clock.sleep(INVOCATION_OVERHEAD + RECORD_OVERHEAD * len(messages))
            for message in messages:
                if (
                    revoked in message.body
                    and START + rates.revoked_at <= clock.now < START + rates.reauthorised_at
                ):
                    state["revoked_receives"] += 1
                    revoked_waiting.add(message.notification_id or message.message_id)
            invoke_batch(clock, queue, messages, runner, timeout_seconds=FUNCTION_TIMEOUT)

    real_client = aws.client
    services: dict[str, Any] = {
        "sqs": _SqsRouter(queue, dead_letters),
        "dynamodb": dynamodb,
        "secretsmanager": SimulatedSecrets(secrets),
    }
    reconciliation: dict[str, Any] | None = None
    with _environment(environment), _quiet_logs(quiet), powertools_on(clock):
        aws.reset_clients()
        aws.client = services.__getitem__  # type: ignore[assignment]
        try:
            dynamodb.enabled = True
            clock.start("publisher", publisher)
            for index in range(CONTAINERS):
                clock.start(f"container-{index}", container)
            clock.run()
            dynamodb.enabled = transport.enabled = False
            delivered_until = clock.now
            stale_before = _stale_orders(workload, dynamodb, settings.orders_table_name)
            if reconcile is not None:
                world = World(
                    clock=clock,
                    settings=settings,
                    emulator=emulator,
                    dynamodb=dynamodb,
                    sellers=list(workload.sellers),
                    since=datetime.fromtimestamp(START - 60, UTC),
                    until=datetime.fromtimestamp(delivered_until, UTC),
                    make_access=make_access,
                    make_directory=make_directory,
                    make_order_store=lambda: DynamoDBOrderStore(settings.orders_table_name),
                )
                reconciliation = reconcile(world)
        finally:
            aws.client = real_client
            aws.reset_clients()
    return _outcome(
        workload,
        queue,
        dead_letters,
        dynamodb,
        emulator,
        transport,
        settings.orders_table_name,
        injected,
        stale_before=stale_before,
        reconciled=reconciliation is not None,
        revoked_receives=int(state["revoked_receives"]),
        revoked_notifications=len(revoked_waiting),
        virtual_seconds=delivered_until - START,
        wall_seconds=time.monotonic() - started,
    )


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


def _outcome(
    workload: Workload,
    queue: SimulatedSqs,
    dead_letters: SimulatedSqs,
    dynamodb: FaultyDynamoDB,
    emulator: Any,
    transport: FaultyTransport,
    orders_table: str,
    injected: Counter[str],
    *,
    stale_before: int,
    reconciled: bool,
    revoked_receives: int,
    revoked_notifications: int,
    virtual_seconds: float,
    wall_seconds: float,
) -> Outcome:
    stored = _stored(dynamodb, orders_table)
    delivered = [change for change in workload.changes if not change.dropped]
    lost = sum(
        1 for change in delivered if stored.get((change.seller, change.order_id), 0.0) < change.changed
    )
    # Everything that reached a DLQ: the function's copies (with reasons) and the queue's redrive.
    letters = [entry[3].body for entry in dead_letters.queue.available] + [
        message.body for message in queue.queue.dead_letters
    ]
    poison = set(workload.poison)
    valid_ids = {change.notification_id: change for change in workload.changes}
    valid_lettered = {
        notification_id
        for body in letters
        if body not in poison
        for notification_id in [_notification_id(body)]
        if notification_id in valid_ids
    }
    stale_after = _stale_orders(workload, dynamodb, orders_table) if reconciled else stale_before
    figures = {
        "lost": lost,
        "applied_twice": dynamodb.applied_twice,
        "regressed": dynamodb.regressed,
        "poison": len(poison),
        "poison_dead_lettered": len(poison & set(letters)),
        "valid_dead_lettered": len(valid_lettered),
        "not_repaired": stale_after,
    }
    injected = Counter(injected)
    injected["spapi_rate_plan_throttles"] = sum(emulator.throttled.values())
    injected["duplicates"] = sum(1 for change in workload.changes if change.duplicated)
    injected["reordered"] = sum(1 for change in workload.changes if change.reordered)
    injected["dropped"] = sum(1 for change in workload.changes if change.dropped)
    return Outcome(
        figures=figures,
        injected=injected,
        stale_before_reconciliation=stale_before,
        reconciled=reconciled,
        notifications=len(workload.changes) + len(workload.poison),
        deliveries=sum(1 for event in workload.events if event.kind == "deliver"),
        orders=len(_latest(workload)),
        still_queued=queue.queue.live,
        receives=queue.receives,
        sp_api_calls=dict(emulator.sp_api_calls()),
        revoked_lwa_exchanges=transport.revoked_exchanges,
        revoked_seller_receives=revoked_receives,
        revoked_seller_notifications=revoked_notifications,
        virtual_seconds=virtual_seconds,
        wall_seconds=wall_seconds,
    )


def _notification_id(body: str) -> str | None:
    try:
        document = json.loads(body)
        return str(document["NotificationMetadata"]["NotificationId"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
