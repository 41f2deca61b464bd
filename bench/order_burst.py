"""A burst of one seller's orders through K consumers that share nothing in memory.

400 ORDER_CHANGE notifications over 100 orders of one seller (three changes per order, a quarter
redelivered, all shuffled: duplicates and out-of-order) are drained by K = 1, 4 and 10 consumer
processes, like Lambda containers: each runs the real ORDER_CHANGE handler with its own memory;
they share only AWS (one moto server on loopback: SQS queue + DLQ, DynamoDB tables) and SP-API
(the emulator on loopback, enforcing Amazon's default plans, time-scaled by ``--time-scale``).
The moto server answers one request at a time, so DynamoDB's conditional writes are atomic there
as they are on AWS (``sellerstream_local.moto_server``; moto's own server is not). The naive
baseline in the same run: one getOrder per notification, each container with its own in-memory
buckets (what SellerStream did before the shared budget), at K = 10.

Per run it prints SP-API calls per distinct order, 429s, the drain time divided by the rate-plan
minimum (getOrder: the first ``burst`` orders at once, the rest at ``rate``: ``(orders - burst) /
(rate x scale)`` seconds), orders missing or stale at the end, and dead letters. The changes are
fresh (under two minutes old at the start), so only getOrder can fetch them.

Each consumer process also counts, in the Orders path (``OrdersPathMeter``: botocore hooks on the
session its DynamoDB client comes from; the counts summed over the processes):

- ``contended``: records delayed (deferred or returned to the queue) because a rate budget
  reservation failed for contention ("rate budget contended: too many concurrent writers"), and
  ``contention_failures`` those errors themselves (by the budget's method in
  ``contention_failures_by``), a record delayed or not (a batch whose plan fails is applied
  record by record instead);
- ``conditional_write_failures``: DynamoDB writes that failed their condition
  (ConditionalCheckFailedException; a transaction cancelled for one), every table of the path
  (rate budget, idempotency, orders), and ``conditional_write_failures_per_call``, the same divided
  by the conditional writes made (``conditional_writes``); both by operation, table role and, in
  the rate budget table, kind of item (``conditional_writes_by``, ``conditional_write_failures_by``);
- ``budget_item_bytes_max``: the largest item a write stored in the rate budget table, in bytes as
  DynamoDB sizes items (attribute names and values, ``aws_meter.item_size``).

``--json`` prints one object: {"dynamodb_atomic": true, "runs": [{"consumers", "calls_per_order",
"throttled", "drain_ratio", "lost", "stale", "dead_lettered", "contended", "contention_failures",
"contention_failures_by", "conditional_write_failures", "conditional_write_failures_per_call",
"budget_item_bytes_max", "conditional_writes", "conditional_writes_by",
"conditional_write_failures_by"}, ...], "baseline": {...}}; ``dynamodb_atomic`` says the moto
server's guard was on in every run. Takes 7 to 11 minutes on a shared 2-core machine (the naive
baseline, throttled, is the longest run).

The minimum counts Amazon's whole burst; SellerStream keeps one token of it spare (network jitter),
so its own floor is 71/70 = 1.014x, before its containers (cold, all at once) make their first call.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import multiprocessing
import os
import random
import re
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aws_meter import item_size, value_size

ORDERS = 100
NOTIFICATIONS = 400
SELLER = "A1BURSTSELLER01"
LWA_CLIENT_ID = "amzn1.application-oa2-client.bench"
LWA_CLIENT_SECRET = "bench-secret"  # noqa: S105 - the emulator's local credential
REGION = "us-east-1"
GET_ORDER_PLAN = (0.5, 30)  # Amazon's default getOrder plan: rate per second, burst


# The tables whose items are the shared rate budget (catalog roles): their items' sizes are measured.
BUDGET_TABLE_ROLES = frozenset({"rate_budget"})
# What the rate budget says when its conditional writes keep losing (``SharedRateBudget._update``).
CONTENTION = "rate budget contended"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class OrdersPathCounts:
    """What a run's consumers counted in the Orders path (summed over their processes)."""

    contended: int = 0
    # The rate budget's method a contention error came out of -> how many times.
    contention_failures: Counter[str] = field(default_factory=Counter)
    conditional_writes: Counter[str] = field(default_factory=Counter)  # "<operation> <table role>"
    conditional_write_failures: Counter[str] = field(default_factory=Counter)
    budget_item_bytes_max: int = 0

    @property
    def failures(self) -> int:
        return sum(self.conditional_write_failures.values())

    @property
    def failures_per_call(self) -> float:
        calls = sum(self.conditional_writes.values())
        return round(self.failures / calls, 3) if calls else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "contended": self.contended,
            "contention_failures": dict(self.contention_failures),
            "conditional_writes": dict(self.conditional_writes),
            "conditional_write_failures": dict(self.conditional_write_failures),
            "budget_item_bytes_max": self.budget_item_bytes_max,
        }

    @classmethod
    def merged(cls, parts: list[dict[str, Any]]) -> OrdersPathCounts:
        return cls(
            contended=sum(part["contended"] for part in parts),
            contention_failures=sum((Counter(part["contention_failures"]) for part in parts), Counter()),
            conditional_writes=sum((Counter(part["conditional_writes"]) for part in parts), Counter()),
            conditional_write_failures=sum(
                (Counter(part["conditional_write_failures"]) for part in parts), Counter()
            ),
            budget_item_bytes_max=max((part["budget_item_bytes_max"] for part in parts), default=0),
        )


@dataclass(frozen=True)
class RunResult:
    consumers: int
    calls_per_order: float
    throttled: int
    drain_ratio: float
    lost: int
    stale: int
    dead_lettered: int
    drain_seconds: float
    minimum_seconds: float
    counts: OrdersPathCounts
    dynamodb_atomic: bool


# -- what one consumer process counts -------------------------------------------------------------------
class OrdersPathMeter:
    """Counts one consumer's DynamoDB writes through botocore's event hooks, and its records delayed
    by contention, without changing the product.

    - ``before-parameter-build.dynamodb`` keeps each call's parameters in its request context, and
      ``after-call.dynamodb`` (once per call, with the final parsed response, an error's included)
      counts the call: a conditional write (a ``ConditionExpression`` or ``Expected``, a
      transaction's condition) by operation and table role; a failed one when DynamoDB answered
      ``ConditionalCheckFailedException`` (a transaction: ``TransactionCanceledException`` with a
      ``ConditionalCheckFailed`` reason, counted once, under its failing tables).
    - The size of each item a successful write stored in a rate budget table, by DynamoDB's rules
      (``aws_meter.item_size``: attribute names and values): a PutItem's ``Item``; an UpdateItem's
      ``Attributes`` when it asked for ``ReturnValues=ALL_NEW``, otherwise the item its request
      describes (``updated_item_size``: its key plus every attribute its UpdateExpression sets, the
      values from ``ExpressionAttributeValues``). The rate budget's UpdateItem sets every attribute
      of its item with plain ``name = :value`` assignments, so that is its size exactly; an update
      that left attributes alone would be counted without them (a lower bound).
    - ``contended``: records deferred, or returned to the queue, while the batch runner handled a
      ``RateBudgetExhausted`` raised for contention (its message: ``CONTENTION``, the shared
      budget's own words when its conditional writes lost ``MAX_WRITE_ATTEMPTS`` times in a row).
      The runner's ``_defer``/``_retry`` are wrapped; the error is the one being handled there.
    - ``contention_failures``: those errors as they leave the rate budget adapter (its public
      methods wrapped; an error counted once, under the innermost method), delayed record or not:
      a batch's reservation (``reserve_for``) that fails makes its records be applied one by one
      (the product logs "batch planning failed"), which defers a record only when a record's own
      reservation fails again.

    Handlers may run in several threads: the counters take a lock.
    """

    def __init__(self, table_roles: Mapping[str, str]) -> None:
        self._roles = dict(table_roles)  # table name -> catalog role
        self._budget_tables = {name for name, role in table_roles.items() if role in BUDGET_TABLE_ROLES}
        self._lock = threading.Lock()
        self.conditional_writes: Counter[str] = Counter()
        self.conditional_write_failures: Counter[str] = Counter()
        self.budget_item_bytes_max = 0
        self.contended = 0
        self.contention_failures: Counter[str] = Counter()

    def register(self, events: Any) -> None:
        """Hooks a botocore event emitter (a session's: every client it creates afterwards)."""
        events.register("before-parameter-build.dynamodb", self._keep_params)
        events.register("after-call.dynamodb", self._after_call)

    def count_contended_deferrals(self, runner_class: Any) -> None:
        """Wraps the batch runner's deferral and retry (the moments a record is delayed)."""
        defer, retry = runner_class._defer, runner_class._retry

        @functools.wraps(defer)
        def counted_defer(runner: Any, *args: Any, **kwargs: Any) -> Any:
            outcome = defer(runner, *args, **kwargs)
            if outcome is not None and is_contention(sys.exc_info()[1]):
                self._add_contended()
            return outcome

        @functools.wraps(retry)
        def counted_retry(runner: Any, *args: Any, **kwargs: Any) -> Any:
            if is_contention(sys.exc_info()[1]):
                self._add_contended()
            return retry(runner, *args, **kwargs)

        runner_class._defer, runner_class._retry = counted_defer, counted_retry

    def count_contention_failures(self, budget_class: Any) -> None:
        """Wraps the rate budget adapter's public methods: each contention error leaving one."""
        for name, method in list(vars(budget_class).items()):
            if not name.startswith("_") and inspect.isfunction(method):
                setattr(budget_class, name, self._counting_contention(name, method))

    def _counting_contention(self, name: str, method: Any) -> Any:
        @functools.wraps(method)
        def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as error:
                if is_contention(error) and not getattr(error, "order_burst_counted", False):
                    error.order_burst_counted = True  # type: ignore[attr-defined]
                    with self._lock:
                        self.contention_failures[name] += 1
                raise

        return counted

    def observe(self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        """One DynamoDB call: its operation name, its parameters and its parsed response."""
        if operation not in WRITE_OPERATIONS:
            return
        conditional = conditional_tables(operation, params)
        failed = failed_condition_tables(operation, params, parsed)
        sizes = [] if "Error" in parsed else self._budget_item_sizes(operation, params, parsed)
        with self._lock:
            if conditional:
                self.conditional_writes[self._label(operation, conditional, params)] += 1
            if failed:
                self.conditional_write_failures[self._label(operation, failed, params)] += 1
            self.budget_item_bytes_max = max([self.budget_item_bytes_max, *sizes])

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return OrdersPathCounts(
                self.contended,
                Counter(self.contention_failures),
                Counter(self.conditional_writes),
                Counter(self.conditional_write_failures),
                self.budget_item_bytes_max,
            ).as_json()

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["order_burst_params"] = dict(params)

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        self.observe(model.name, context.get("order_burst_params", {}), parsed)

    def _add_contended(self) -> None:
        with self._lock:
            self.contended += 1

    def _label(self, operation: str, tables: list[str], params: Mapping[str, Any]) -> str:
        """``<operation> <table roles>``, and the kind of item for one in a rate budget table (it
        holds other records too: orders waiting for a slot, backlog searches)."""
        roles = sorted({self._roles.get(table, table) for table in tables})
        label = f"{operation} {'+'.join(roles)}"
        if (
            operation in ("PutItem", "UpdateItem", "DeleteItem")
            and params.get("TableName") in self._budget_tables
        ):
            kind = item_kind(params.get("Key") or params.get("Item") or {})
            label = f"{label} {kind}" if kind else label
        return label

    def _budget_item_sizes(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
    ) -> list[int]:
        return [
            size
            for table, size in written_item_sizes(operation, params, parsed)
            if table in self._budget_tables
        ]


_KIND = re.compile(r"[A-Z][A-Z_]*#")


def item_kind(key: Mapping[str, Any]) -> str:
    """The kind an item's ``pk`` starts with (``BUCKET#``, ``WAITING#``), or ""."""
    kind = _KIND.match(str(key.get("pk", {}).get("S", "")))
    return kind.group(0) if kind else ""


def is_contention(error: BaseException | None) -> bool:
    from sellerstream.spapi.errors import RateBudgetExhausted

    return isinstance(error, RateBudgetExhausted) and CONTENTION in str(error)


def conditional_tables(operation: str, params: Mapping[str, Any]) -> list[str]:
    """The tables a write is conditional on (none: an unconditional write)."""
    if operation == "TransactWriteItems":
        tables = []
        for action in params.get("TransactItems", []):
            ((kind, body),) = action.items()
            if kind == "ConditionCheck" or "ConditionExpression" in body:
                tables.append(body["TableName"])
        return tables
    if operation in ("PutItem", "UpdateItem", "DeleteItem") and (
        "ConditionExpression" in params or "Expected" in params
    ):
        return [params["TableName"]]
    return []


def failed_condition_tables(
    operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
) -> list[str]:
    """The tables whose condition failed (none: the write did not fail for its condition)."""
    code = parsed.get("Error", {}).get("Code")
    if code == CONDITION_FAILED:
        return [params.get("TableName", "")]
    if code == "TransactionCanceledException":
        actions = params.get("TransactItems", [])
        return [
            next(iter(actions[index].values()))["TableName"] if index < len(actions) else ""
            for index, reason in enumerate(parsed.get("CancellationReasons", []))
            if reason.get("Code") == "ConditionalCheckFailed"
        ]
    return []


def written_item_sizes(
    operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
) -> list[tuple[str, int]]:
    """(table, the size of the item stored) of each item a successful write stored."""
    if operation == "PutItem":
        return [(params["TableName"], item_size(params["Item"]))]
    if operation == "UpdateItem":
        if params.get("ReturnValues") == "ALL_NEW" and "Attributes" in parsed:
            return [(params["TableName"], item_size(parsed["Attributes"]))]
        return [(params["TableName"], updated_item_size(params))]
    if operation == "TransactWriteItems":
        sizes = []
        for action in params.get("TransactItems", []):
            ((kind, body),) = action.items()
            if kind == "Put":
                sizes.append((body["TableName"], item_size(body["Item"])))
            elif kind == "Update":
                sizes.append((body["TableName"], updated_item_size(body)))
        return sizes
    if operation == "BatchWriteItem":
        return [
            (table, item_size(request["PutRequest"]["Item"]))
            for table, requests in params.get("RequestItems", {}).items()
            for request in requests
            if "PutRequest" in request
        ]
    return []


_UPDATE_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r":[A-Za-z0-9_]+")


def updated_item_size(update: Mapping[str, Any]) -> int:
    """The size of the item an UpdateItem (or a transaction's Update) stores, as its request tells:
    its key, and each attribute its UpdateExpression sets or adds, named through
    ``ExpressionAttributeNames``, its value from ``ExpressionAttributeValues``. A plain ``name =
    :value`` is exact; a function or arithmetic (``if_not_exists``, ``list_append``, ``a + :n``) or a
    nested path counts the values it carries; REMOVE takes the attribute away. Attributes the update
    leaves alone are not seen (then the size is a lower bound)."""
    names: Mapping[str, str] = update.get("ExpressionAttributeNames", {})
    values: Mapping[str, Any] = update.get("ExpressionAttributeValues", {})
    attributes: dict[str, int] = {name: value_size(value) for name, value in update.get("Key", {}).items()}
    parts = _UPDATE_CLAUSE.split(update.get("UpdateExpression", ""))
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        clause = keyword.upper()
        for action in _top_level(body):
            if clause == "REMOVE":
                attributes.pop(_attribute(action, names), None)
                continue
            if clause == "DELETE":
                continue  # takes elements out of a set: the item shrinks
            path, _, expression = action.partition("=") if clause == "SET" else action.partition(" ")
            name = _attribute(path, names)
            size = sum(value_size(values[p]) for p in _PLACEHOLDER.findall(expression) if p in values)
            nested = bool(re.search(r"[.\[]", path.strip()))
            attributes[name] = attributes.get(name, 0) + size if nested else size
    return sum(len(name.encode()) + size for name, size in attributes.items())


def _top_level(body: str) -> list[str]:
    """The comma-separated actions of a clause (commas inside function calls stay)."""
    actions, depth, start = [], 0, 0
    for index, character in enumerate(body):
        if character in "([":
            depth += 1
        elif character in ")]":
            depth -= 1
        elif character == "," and depth == 0:
            actions.append(body[start:index])
            start = index + 1
    actions.append(body[start:])
    return [action.strip() for action in actions if action.strip()]


def _attribute(path: str, names: Mapping[str, str]) -> str:
    """The top-level attribute a document path names (``#a.b[2]`` -> what ``#a`` stands for)."""
    first = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
    return names.get(first, first)


def consumer(
    environment: dict[str, str],
    queue: Any,
    naive: bool,
    ready: Any,
    go: Any,
    stop: Any,
    table_roles: dict[str, str],
    counts_path: str,
) -> None:
    """One container: the real handler polling the queue until told to stop; then it writes what
    it counted (``OrdersPathMeter``) to ``counts_path``."""
    os.environ.update(environment)
    sys.stdout = open(os.environ.get("BENCH_FUNCTION_LOG", os.devnull), "a")  # noqa: SIM115 - the function's JSON logs
    import importlib

    import boto3

    from sellerstream.adapters.rate_budget import SharedRateBudget
    from sellerstream.handlers.entry import QueueHandler  # noqa: TID251 - a handler of its own, as a function
    from sellerstream.logic.batch import BatchRunner
    from sellerstream_local.poller import LocalPoller

    # Before any client exists: ``sellerstream.aws.client`` creates its clients from boto3's default
    # session, and a client copies its session's hooks when it is created.
    meter = OrdersPathMeter(table_roles)
    boto3.setup_default_session()
    meter.register(boto3.DEFAULT_SESSION.events)
    meter.count_contended_deferrals(BatchRunner)
    meter.count_contention_failures(SharedRateBudget)

    handler = (
        QueueHandler(_naive_runner)
        if naive
        else importlib.import_module("sellerstream.handlers.order_change").lambda_handler
    )
    poller = LocalPoller(
        boto3.client("sqs", region_name=REGION),
        queue,
        handler,
        function_name="order-change",
        batch_size=10,
        timeout_seconds=30,
        output=sys.stdout,
    )
    ready.release()
    go.wait()
    try:
        while not stop.is_set():
            if not poller.poll_once():
                time.sleep(0.05)
    finally:
        Path(counts_path).write_text(json.dumps(meter.as_json()))


@functools.cache
def _naive_runner() -> Any:
    """One getOrder per notification on this container's own buckets (no shared budget, no skipping)."""
    from sellerstream import catalog, wiring
    from sellerstream.adapters.orders import DynamoDBOrderStore
    from sellerstream.adapters.sellers import seller_directory
    from sellerstream.config import OrderChangeSettings
    from sellerstream.logic.order_records import from_orders_2026
    from sellerstream.logic.spapi_access import SpApiAccess
    from sellerstream.spapi.orders import OrdersApi
    from sellerstream.timestamps import sortable_timestamp

    consumer = catalog.consumer("orders")
    settings = OrderChangeSettings.from_environment(os.environ)
    credentials = seller_directory(settings)
    access = SpApiAccess(settings, credentials)
    store = DynamoDBOrderStore(settings.orders_table_name)

    class NaiveOrderChange:
        def apply(self, notification: Any, remaining_time: Any) -> dict[str, Any]:
            change = notification.payload.order_change
            seller = credentials.for_notification(
                seller_id=change.seller_id, subscription_id=notification.subscription_id
            )
            api = OrdersApi(access.client_for(seller, remaining_time))
            record = from_orders_2026(change.seller_id, api.get_order(change.amazon_order_id))
            outcome = store.put_if_newer(record)
            return {"outcome": outcome.value, "last_updated": sortable_timestamp(record.last_updated)}

    return wiring.batch_runner(consumer, settings, NaiveOrderChange())


def notifications(rng: random.Random, now: datetime) -> tuple[list[str], dict[str, datetime]]:
    """400 bodies over 100 orders (three changes each, 100 redeliveries, shuffled) and each order's
    final state."""
    from sellerstream_local.notifications_factory import as_body, order_change

    bodies: list[str] = []
    final: dict[str, datetime] = {}
    for index in range(ORDERS):
        order_id = f"{100 + index}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
        changes = sorted(now - timedelta(seconds=rng.randint(1, 90)) for _ in range(3))
        final[order_id] = changes[-1].replace(microsecond=0)
        for changed in changes:
            bodies.append(
                as_body(
                    order_change(seller_id=SELLER, order_id=order_id, status="Unshipped", changed_at=changed)
                )
            )
    bodies += rng.sample(bodies, NOTIFICATIONS - len(bodies))  # Amazon delivers at least once
    rng.shuffle(bodies)
    return bodies, final


def run(consumers: int, *, naive: bool, time_scale: float, seed: int) -> RunResult:
    import boto3

    from sellerstream_local.emulator import SpApiEmulator
    from sellerstream_local.moto_patches import faster_moto
    from sellerstream_local.moto_server import SerializedMotoServer
    from sellerstream_local.resources import create_resources
    from stacks import constants

    rng = random.Random(seed)
    with (
        contextlib.ExitStack() as stack,
        faster_moto(),
        SerializedMotoServer() as moto_server,
        SpApiEmulator(time_scale=time_scale, seed=seed) as emulator,
    ):
        # moto's state lives in this process, whatever server serves it: start each run from nothing.
        reset = urllib.request.Request(f"{moto_server.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310 - the local moto server
        emulator.register_app(LWA_CLIENT_ID, LWA_CLIENT_SECRET)
        emulator.register_seller(SELLER, "Atzr|bench")
        aws = {"region_name": REGION, "endpoint_url": moto_server.endpoint}
        sqs, dynamodb = boto3.client("sqs", **aws), boto3.client("dynamodb", **aws)
        resources = create_resources(
            sqs, dynamodb, boto3.client("s3", **aws), boto3.client("events", **aws), 30
        )
        secrets = boto3.client("secretsmanager", **aws)
        secrets.create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps({"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}),
        )
        secrets.create_secret(
            Name=f"{constants.SELLER_SECRET_PREFIX}{SELLER}",
            SecretString=json.dumps({"refresh_token": "Atzr|bench", "region": "NA"}),
        )
        bodies, final = notifications(rng, datetime.now(UTC))
        for order_id, last_updated in final.items():
            emulator.set_order(order_id, seller_id=SELLER, last_updated=last_updated, status="Unshipped")
        queue = resources.queues["orders"]
        for start in range(0, len(bodies), 10):
            sqs.send_message_batch(
                QueueUrl=queue.url,
                Entries=[
                    {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
                ],
            )
        environment = _environment(resources, moto_server.endpoint, emulator, naive)
        table_roles = {name: role for role, name in resources.tables.items()}
        context = multiprocessing.get_context("spawn")
        ready, go, stop = context.Semaphore(0), context.Event(), context.Event()
        counts_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="order-burst-"))
        counts_paths = [str(Path(counts_dir) / f"consumer-{index}.json") for index in range(consumers)]
        processes = [
            context.Process(
                target=consumer,
                args=(environment, queue, naive, ready, go, stop, table_roles, counts_path),
                daemon=True,
            )
            for counts_path in counts_paths
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.acquire()
        emulator.reset_stats()
        started = time.monotonic()
        go.set()
        try:
            drained = _wait_until_drained(sqs, queue.url)
        finally:
            stop.set()
            for process in processes:
                process.join(timeout=60)
        drain_seconds = drained - started
        missing = [path for path in counts_paths if not Path(path).exists()]
        if missing:
            raise RuntimeError(f"{len(missing)} of {consumers} consumers wrote no counts (did one crash?)")
        counts = OrdersPathCounts.merged([json.loads(Path(path).read_text()) for path in counts_paths])
        stored = _stored(dynamodb, resources.tables["orders"])
        rate, burst = GET_ORDER_PLAN
        minimum = max(ORDERS - burst, 0) / (rate * time_scale)
        return RunResult(
            consumers=consumers,
            calls_per_order=round(emulator.calls["getOrder"] / ORDERS, 3),
            throttled=emulator.throttled["getOrder"],
            drain_ratio=round(drain_seconds / minimum, 3),
            lost=sum(1 for order_id in final if order_id not in stored),
            stale=sum(1 for order_id, at in final.items() if order_id in stored and stored[order_id] < at),
            dead_lettered=_count(sqs, queue.dlq_url),
            drain_seconds=round(drain_seconds, 2),
            minimum_seconds=round(minimum, 2),
            counts=counts,
            dynamodb_atomic=moto_server.dynamodb_atomic,
        )


def _environment(resources: Any, endpoint: str, emulator: Any, naive: bool) -> dict[str, str]:
    """The order-change function's environment as the stack renders it, on the local resources."""
    from sellerstream import catalog
    from stacks import constants

    queue = resources.queues["orders"]
    values: dict[str, object] = {
        **{f"{role}_table_name": name for role, name in resources.tables.items()},
        "lwa_app_secret_id": constants.LWA_APP_SECRET_NAME,
        "seller_secret_prefix": constants.SELLER_SECRET_PREFIX,
        "spapi_endpoint_override": emulator.base_url,
        "lwa_endpoint_override": emulator.lwa_token_url,
        "throttle_deferral_base_seconds": 1,
        "queue_url": queue.url,
        "dead_letter_queue_url": queue.dlq_url,
    }
    if naive:
        del values["rate_budget_table_name"]  # each container keeps its own buckets
    return {
        **catalog.consumer("orders").settings.environment(values),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "order-change",
        "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "AWS_LAMBDA_FUNCTION_NAME": "order-change",
    }


def _wait_until_drained(sqs: Any, queue_url: str, max_seconds: float = 900.0) -> float:
    """The moment the queue held nothing visible, in flight or delayed (seen twice in a row)."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    deadline = time.monotonic() + max_seconds
    empty_since: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        if all(int(attributes[name]) == 0 for name in names):
            if empty_since is not None:
                return empty_since
            empty_since = now
        else:
            empty_since = None
        time.sleep(0.1)  # the drain's moment to a tenth of a second (a slot is a second here)
    raise TimeoutError(f"the queue did not drain within {max_seconds} s")


def _stored(dynamodb: Any, table: str) -> dict[str, datetime]:
    from sellerstream.timestamps import parse_sortable

    stored: dict[str, datetime] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["sk"]["S"].startswith("ORDER#"):
                stored[item["order_id"]["S"]] = parse_sortable(item["last_updated"]["S"])
    return stored


def _count(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _figures(result: RunResult) -> dict[str, Any]:
    return {
        "consumers": result.consumers,
        "calls_per_order": result.calls_per_order,
        "throttled": result.throttled,
        "drain_ratio": result.drain_ratio,
        "lost": result.lost,
        "stale": result.stale,
        "dead_lettered": result.dead_lettered,
        "contended": result.counts.contended,
        "contention_failures": sum(result.counts.contention_failures.values()),
        "contention_failures_by": dict(sorted(result.counts.contention_failures.items())),
        "conditional_write_failures": result.counts.failures,
        "conditional_write_failures_per_call": result.counts.failures_per_call,
        "budget_item_bytes_max": result.counts.budget_item_bytes_max,
        "conditional_writes": sum(result.counts.conditional_writes.values()),
        "conditional_writes_by": dict(sorted(result.counts.conditional_writes.items())),
        "conditional_write_failures_by": dict(sorted(result.counts.conditional_write_failures.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--baseline-consumers", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=2.0, help="emulator refill speed-up (default 2)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    # Everything AWS is the local moto server: fixed local credentials, never a real account.
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(variable, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )

    runs = [run(k, naive=False, time_scale=args.time_scale, seed=args.seed) for k in args.consumers]
    baseline = run(args.baseline_consumers, naive=True, time_scale=args.time_scale, seed=args.seed)
    atomic = all(result.dynamodb_atomic for result in [*runs, baseline])
    if args.json:
        print(
            json.dumps(
                {
                    "dynamodb_atomic": atomic,
                    "runs": [_figures(r) for r in runs],
                    "baseline": _figures(baseline),
                }
            )
        )
        return
    _print_text(runs, baseline, args.time_scale, atomic)


def _print_text(runs: list[RunResult], baseline: RunResult, time_scale: float, atomic: bool) -> None:
    print(
        f"order burst: {NOTIFICATIONS} notifications over {ORDERS} orders of one seller; getOrder at "
        f"{GET_ORDER_PLAN[0]}/s x {time_scale} (burst {GET_ORDER_PLAN[1]}); "
        f"rate-plan minimum {runs[0].minimum_seconds:.1f} s"
    )
    print(
        f"{'':<22}{'calls/order':>12}{'429s':>7}{'drain':>9}{'÷ minimum':>11}{'lost':>6}{'stale':>7}{'DLQ':>5}"
    )
    for label, result in [
        *((f"shared, K={r.consumers}", r) for r in runs),
        (f"naive, K={baseline.consumers}", baseline),
    ]:
        print(
            f"{label:<22}{result.calls_per_order:>12.2f}{result.throttled:>7}{result.drain_seconds:>8.1f}s"
            f"{result.drain_ratio:>11.3f}{result.lost:>6}{result.stale:>7}{result.dead_lettered:>5}"
        )
    print(
        f"DynamoDB in the Orders path, conditional writes {'atomic' if atomic else 'NOT ATOMIC'}: records "
        "delayed by contention (the rate budget's contention errors), conditional writes that failed of "
        "those made, and the largest rate budget item"
    )
    print(
        f"{'':<22}{'contended':>10}{'(errors)':>9}{'failed':>8}{'of':>7}{'per write':>11}{'item bytes':>12}"
    )
    for label, result in [
        *((f"shared, K={r.consumers}", r) for r in runs),
        (f"naive, K={baseline.consumers}", baseline),
    ]:
        counts = result.counts
        errors, made = sum(counts.contention_failures.values()), sum(counts.conditional_writes.values())
        print(
            f"{label:<22}{counts.contended:>10}{errors:>9}{counts.failures:>8}{made:>7}"
            f"{counts.failures_per_call:>11.3f}{counts.budget_item_bytes_max:>12,}"
        )
        for where, made in sorted(counts.conditional_writes.items()):
            print(f"{'':<24}{where}: {counts.conditional_write_failures[where]} failed of {made}")
    best = runs[-1]
    print(
        f"K={best.consumers}: {baseline.calls_per_order / max(best.calls_per_order, 1e-9):.2f}x fewer calls "
        f"and {baseline.throttled} -> {best.throttled} throttled than the naive baseline"
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
