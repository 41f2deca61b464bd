"""A burst of one seller's orders through K consumers that share nothing in memory.

400 ORDER_CHANGE notifications over 100 orders of one seller (three changes per order, a quarter
redelivered, all shuffled: duplicates and out-of-order) are drained by K = 1, 4 and 10 consumer
processes, like Lambda containers: each runs the real ORDER_CHANGE handler with its own memory;
they share only AWS (one moto server on loopback: SQS queue + DLQ, DynamoDB tables, the pending
orders table among them) and SP-API (the emulator on loopback, enforcing Amazon's default plans,
time-scaled by ``--time-scale``). The moto server answers one request at a time, so DynamoDB's
conditional writes are atomic there as they are on AWS (``sellerstream_local.moto_server``; moto's
own server is not).

What the consumer does (``logic.order_change``, ``logic.order_drainer``): a notification is
acknowledged once "order X changed at T" is in the seller's pending set (the pending orders table,
``adapters.pending_orders``); one drainer per seller and region, the container holding the seller's
lease, fetches the orders with getOrder, least recently changed first, on the getOrder bucket the lease
carries (no per-call write to a shared budget), and a drain whose invocation runs out of time goes
on through a drain request on the orders queue. The naive baseline in the same run, at K = 10: one
getOrder per notification (its idempotency record still skips a redelivery), each container with
its own in-memory buckets (what SellerStream did before the shared budget); it has no pending set.

Per run (``--json``: one object per run, every figure below under its name):

- ``calls_per_order``: SP-API calls of every operation (getOrder, and searchOrders should the
  drainer page a backlog; 429s included) per distinct order, target 1.0; ``sp_api_calls`` and
  ``sp_api_calls_by`` (operation). ``throttled``: 429s, every operation, target 0.
- ``drain_ratio``: the drain time divided by the rate-plan minimum, target 1.05 at most. The
  minimum is unchanged (getOrder: the first ``burst`` orders at once, the rest at ``rate``:
  ``(orders - burst) / (rate x scale)`` seconds); so is the drain's end: the moment the orders
  queue held nothing visible, in flight or delayed (seen twice, a tenth of a second apart). It
  still marks the last order stored although the queue no longer holds the backlog: a drain's
  holder keeps its batch in flight until it has let the lease go and read the pending set once
  more, and a holder out of time leaves a drain request on the queue first. ``pending_left``
  (entries still in the pending set when the consumers stop) checks it, and ``drain_requests``
  counts the drain requests received (each a hop from one invocation to the next). The changes
  are fresh (under two minutes old at the start), so only getOrder can fetch them (searchOrders
  waits for a change to settle).
- ``lost``, ``stale`` (orders missing, or older than their last change, at the end) and
  ``dead_lettered`` (the DLQ's messages), target 0.

Each consumer process also counts, in the Orders path (``OrdersPathMeter``: botocore hooks on the
session its DynamoDB client comes from, and wrappers around the batch runner and the adapters; the
counts summed over the processes):

- ``contended``, target 0: records delayed (deferred, or returned to the queue) for contention:
  the error being handled was the shared rate budget's "rate budget contended", a delivery in
  progress elsewhere (an idempotency record), or a conditional write or transaction that lost.
  A lease held by another container never delays a record (its holder serves the entry), so
  lease contention shows in ``contention_failures`` instead. ``delayed_by``: every record
  deferred or returned by the batch runner, by outcome and reason, contended or not;
  ``returned_to_queue`` and ``handler_crashes`` as the pollers saw them.
- ``contention_failures``, target 0: "rate budget contended" errors leaving the shared budget (a
  record delayed or not), plus lease takes that lost a race (the lease read free, its conditional
  UpdateItem failed); ``contention_failures_by`` names the adapter method. ``lease_takes``:
  ``taken``, ``busy`` (held by another: one read, no write) and ``lost_race`` (when:
  ``lease_races_lost_at``, seconds after the start); ``lease_releases``: ``released``, or ``lost``
  (taken over since: the release's condition failed).
- ``conditional_write_failures``: DynamoDB writes that failed their condition
  (ConditionalCheckFailedException; a transaction cancelled for one), every table of the path
  (pending orders, rate budget, orders; idempotency in the baseline), with
  ``conditional_write_failures_per_call``, the same per SP-API call the run made (target 0.1 at
  most), and ``conditional_write_failures_per_write``, per conditional write made
  (``conditional_writes``). ``conditional_writes_by`` and ``conditional_write_failures_by`` say
  ``<operation> <table role> <kind of item>``: the kind is the sort key's (else the partition
  key's) leading ``NAME#`` or ``NAME`` (pending orders: ``LEASE`` the lease, ``O#`` an entry; rate
  budget: ``BUCKET#``; orders: ``ORDER#``, ``PII#``). ``dynamodb_writes_by``: every write request,
  conditional or not (an entry is put and deleted on conditions: newest change wins).
- ``budget_item_bytes_max``, target 4,096 at most: the largest item a write stored in the shared
  state of the Orders path, the rate budget table or the pending orders table (lease items and
  entries), in bytes as DynamoDB sizes items (attribute names and values, ``aws_meter.item_size``);
  ``item_bytes_max_by`` per table role (0: nothing written there) and ``item_bytes_max_by_kind``
  per role and kind. An UpdateItem there is sent asking for the item as stored
  (``ReturnValues=ALL_NEW``, when the product asks for nothing else: the product never reads that
  response) so its size is exact rather than what its request sets.
- ``receives`` and ``redelivered`` (SQS receives, and messages received more than once).

``--json`` prints one object: {"dynamodb_atomic": true, "time_scale": 2.0, "targets": {...},
"runs": [{"consumers", "missed_targets", "calls_per_order", ...}, ...], "baseline": {...}};
``dynamodb_atomic`` says the moto server's guard was on in every run, ``missed_targets`` names the
figures of a run off their target (``targets``; the baseline is expected to miss them). ``--text FILE`` prints a saved ``--json`` output as the table without running
anything. Takes 7 to 11 minutes on a shared 2-core machine (the naive baseline, throttled, is the
longest run).

The minimum counts Amazon's whole burst; the drainer's bucket keeps one token of it spare (network
jitter), so SellerStream's own floor is 71/70 = 1.014x, before its containers (cold, all at once)
make their first call and the hops from one invocation to the next.
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

# The tables holding the Orders path's shared state (catalog roles): their items' sizes are measured.
SHARED_STATE_ROLES = frozenset({"rate_budget", "pending_orders"})
PENDING_ORDERS_ROLE = "pending_orders"
PENDING_ORDERS_VARIABLE = "PENDING_ORDERS_TABLE_NAME"
# What the rate budget says when its conditional writes keep losing (``SharedRateBudget._update``).
CONTENTION = "rate budget contended"
# A write that lost to another writer, as DynamoDB answers it.
LOST_WRITE_CODES = frozenset(
    {"ConditionalCheckFailedException", "TransactionCanceledException", "TransactionConflictException"}
)
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
CONDITION_FAILED = "ConditionalCheckFailedException"
# A drain request's body starts with this key (``logic.drain_request.DRAIN_KEY``).
DRAIN_MARKER = '"sellerstreamDrain"'

# Figure -> (its target, "max" or "min"): what a run is measured against.
TARGETS: dict[str, tuple[float, str]] = {
    "calls_per_order": (1.0, "max"),
    "throttled": (0, "max"),
    "drain_ratio": (1.05, "max"),
    "lost": (0, "max"),
    "stale": (0, "max"),
    "dead_lettered": (0, "max"),
    "pending_left": (0, "max"),
    "contended": (0, "max"),
    "contention_failures": (0, "max"),
    "conditional_write_failures_per_call": (0.1, "max"),
    "budget_item_bytes_max": (4096, "max"),
}


def _merged_counters(parts: list[dict[str, Any]], name: str) -> Counter[str]:
    return sum((Counter(part[name]) for part in parts), Counter())


@dataclass(frozen=True)
class OrdersPathCounts:
    """What a run's consumers counted in the Orders path (summed over their processes)."""

    contended: int = 0
    # "<outcome> <reason>" of every record the batch runner deferred or returned -> how many.
    delayed: Counter[str] = field(default_factory=Counter)
    # "<adapter>.<method>" a contention came out of (a contended budget, a lease race lost) -> how many.
    contention_failures: Counter[str] = field(default_factory=Counter)
    lease_takes: Counter[str] = field(default_factory=Counter)  # taken, busy, lost_race
    lease_releases: Counter[str] = field(default_factory=Counter)  # released, lost
    lost_races_at: tuple[float, ...] = ()  # when (epoch seconds) a lease take lost its race
    writes: Counter[str] = field(default_factory=Counter)  # every write request, by label
    conditional_writes: Counter[str] = field(default_factory=Counter)  # "<operation> <role> <kind>"
    conditional_write_failures: Counter[str] = field(default_factory=Counter)
    item_bytes_max: Counter[str] = field(default_factory=Counter)  # "<role> <kind>" -> largest item
    receives: Counter[str] = field(default_factory=Counter)  # message id -> receives
    drain_requests: frozenset[str] = frozenset()  # message ids of the drain requests received
    returned_to_queue: int = 0
    handler_crashes: int = 0

    @property
    def failures(self) -> int:
        return sum(self.conditional_write_failures.values())

    @property
    def failures_per_write(self) -> float:
        writes = sum(self.conditional_writes.values())
        return round(self.failures / writes, 3) if writes else 0.0

    def failures_per_call(self, sp_api_calls: int) -> float:
        """Conditional write failures per SP-API call the run made."""
        return round(self.failures / sp_api_calls, 3) if sp_api_calls else float(self.failures)

    @property
    def contention_failure_count(self) -> int:
        return sum(self.contention_failures.values())

    @property
    def budget_item_bytes_max(self) -> int:
        return max(self.item_bytes_max.values(), default=0)

    @property
    def item_bytes_max_by_role(self) -> dict[str, int]:
        by_role: dict[str, int] = {}
        for label, size in self.item_bytes_max.items():
            role = label.split(" ", 1)[0]
            by_role[role] = max(by_role.get(role, 0), size)
        return dict(sorted(by_role.items()))

    @property
    def redelivered(self) -> int:
        return sum(1 for count in self.receives.values() if count > 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "contended": self.contended,
            "delayed": dict(self.delayed),
            "contention_failures": dict(self.contention_failures),
            "lease_takes": dict(self.lease_takes),
            "lease_releases": dict(self.lease_releases),
            "lost_races_at": list(self.lost_races_at),
            "writes": dict(self.writes),
            "conditional_writes": dict(self.conditional_writes),
            "conditional_write_failures": dict(self.conditional_write_failures),
            "item_bytes_max": dict(self.item_bytes_max),
            "receives": dict(self.receives),
            "drain_requests": sorted(self.drain_requests),
            "returned_to_queue": self.returned_to_queue,
            "handler_crashes": self.handler_crashes,
        }

    @classmethod
    def merged(cls, parts: list[dict[str, Any]]) -> OrdersPathCounts:
        item_bytes_max: Counter[str] = Counter()
        for part in parts:
            for label, size in part["item_bytes_max"].items():
                item_bytes_max[label] = max(item_bytes_max[label], size)
        return cls(
            contended=sum(part["contended"] for part in parts),
            delayed=_merged_counters(parts, "delayed"),
            contention_failures=_merged_counters(parts, "contention_failures"),
            lease_takes=_merged_counters(parts, "lease_takes"),
            lease_releases=_merged_counters(parts, "lease_releases"),
            lost_races_at=tuple(sorted(at for part in parts for at in part["lost_races_at"])),
            writes=_merged_counters(parts, "writes"),
            conditional_writes=_merged_counters(parts, "conditional_writes"),
            conditional_write_failures=_merged_counters(parts, "conditional_write_failures"),
            item_bytes_max=item_bytes_max,
            receives=_merged_counters(parts, "receives"),
            drain_requests=frozenset(m for part in parts for m in part["drain_requests"]),
            returned_to_queue=sum(part["returned_to_queue"] for part in parts),
            handler_crashes=sum(part["handler_crashes"] for part in parts),
        )


@dataclass(frozen=True)
class RunResult:
    consumers: int
    sp_api_calls: Counter[str]  # by operation, 429s included
    throttled: int
    drain_ratio: float
    lost: int
    stale: int
    dead_lettered: int
    pending_left: int
    drain_seconds: float
    started_at: float  # epoch seconds when the consumers were let go
    minimum_seconds: float
    counts: OrdersPathCounts
    dynamodb_atomic: bool

    @property
    def calls_per_order(self) -> float:
        return round(sum(self.sp_api_calls.values()) / ORDERS, 3)


# -- what one consumer process counts -------------------------------------------------------------------
class OrdersPathMeter:
    """Counts one consumer's DynamoDB writes through botocore's event hooks, and the records it
    delayed and the contention it met through wrappers, without changing what the product does.

    - ``before-parameter-build.dynamodb`` keeps each call's parameters in its request context (and
      has an UpdateItem on a shared-state table return the item as stored, ``ReturnValues=ALL_NEW``,
      unless the product asked for something else); ``after-call.dynamodb`` (once per call, with the
      final parsed response, an error's included) counts the call: each write by label; a
      conditional write (a ``ConditionExpression`` or ``Expected``, a transaction's condition) by
      operation, table role and kind of item; a failed one when DynamoDB answered
      ``ConditionalCheckFailedException`` (a transaction: ``TransactionCanceledException`` with a
      ``ConditionalCheckFailed`` reason, counted once, under its failing tables).
    - The size of each item a successful write stored in a shared-state table, by DynamoDB's rules
      (``aws_meter.item_size``: attribute names and values): a PutItem's ``Item``, a BatchWriteItem's
      put items; an UpdateItem's ``Attributes`` (the item as stored); without them, the item its
      request describes (``updated_item_size``: its key plus what its UpdateExpression sets; a lower
      bound when the update leaves attributes alone).
    - ``count_delayed_records``: the batch runner's ``_defer`` and ``_retry`` (how it puts a record
      back on the queue, delayed, or returns it) are wrapped: each record delayed counts under its
      outcome and reason, and as ``contended`` when the error being handled is a contention
      (``is_contention``).
    - ``count_contention_failures``: the shared rate budget's public methods are wrapped; each
      "rate budget contended" error leaving one counts once, under the innermost method, whether a
      record is delayed or not.
    - ``count_lease_calls``: the pending orders adapter's ``take_lease`` and ``release_lease`` are
      wrapped: a take is ``taken``, ``busy`` (no write) or ``lost_race`` (a conditional write of
      its own failed: another container took the lease between the read and the write; also a
      contention failure); a release is ``released`` or ``lost``.

    Handlers may run in several threads: the counters take a lock; the failed conditions of the
    calls in progress are counted per thread.
    """

    def __init__(self, table_roles: Mapping[str, str]) -> None:
        self._roles = dict(table_roles)  # table name -> catalog role
        self._shared_tables = {name for name, role in table_roles.items() if role in SHARED_STATE_ROLES}
        self._lock = threading.Lock()
        self._thread = threading.local()
        self.writes: Counter[str] = Counter()
        self.conditional_writes: Counter[str] = Counter()
        self.conditional_write_failures: Counter[str] = Counter()
        self.item_bytes_max: Counter[str] = Counter()
        self.contended = 0
        self.delayed: Counter[str] = Counter()
        self.contention_failures: Counter[str] = Counter()
        self.lease_takes: Counter[str] = Counter()
        self.lease_releases: Counter[str] = Counter()
        self.lost_races_at: list[float] = []
        self.receives: Counter[str] = Counter()
        self.drain_requests: set[str] = set()

    @property
    def budget_item_bytes_max(self) -> int:
        with self._lock:
            return max(self.item_bytes_max.values(), default=0)

    def register(self, events: Any) -> None:
        """Hooks a botocore event emitter (a session's: every client it creates afterwards)."""
        events.register("before-parameter-build.dynamodb", self._before_call)
        events.register("after-call.dynamodb", self._after_call)

    def count_delayed_records(self, runner_class: Any) -> None:
        """Wraps the batch runner's deferral and retry (the moments a record is delayed)."""
        defer, retry = runner_class._defer, runner_class._retry

        @functools.wraps(defer)
        def counted_defer(runner: Any, *args: Any, **kwargs: Any) -> Any:
            outcome = defer(runner, *args, **kwargs)
            if outcome is not None:  # else not deferrable: the runner returns it (counted there)
                self._count_delayed(outcome, sys.exc_info()[1])
            return outcome

        @functools.wraps(retry)
        def counted_retry(runner: Any, *args: Any, **kwargs: Any) -> Any:
            outcome = retry(runner, *args, **kwargs)
            self._count_delayed(outcome, sys.exc_info()[1])
            return outcome

        runner_class._defer, runner_class._retry = counted_defer, counted_retry

    def count_contention_failures(self, budget_class: Any) -> None:
        """Wraps the rate budget adapter's public methods: each contention error leaving one."""
        for name, method in list(vars(budget_class).items()):
            if not name.startswith("_") and inspect.isfunction(method):
                setattr(budget_class, name, self._counting_contention(budget_class.__name__, name, method))

    def count_lease_calls(self, pending_class: Any) -> None:
        """Wraps the pending orders adapter's ``take_lease`` and ``release_lease``."""
        take, release = pending_class.take_lease, pending_class.release_lease
        where = f"{pending_class.__name__}.take_lease"

        @functools.wraps(take)
        def counted_take(*args: Any, **kwargs: Any) -> Any:
            before = self._failed_here()
            lease = take(*args, **kwargs)
            lost = self._failed_here() > before
            with self._lock:
                if lease is not None:
                    self.lease_takes["taken"] += 1
                elif lost:
                    self.lease_takes["lost_race"] += 1
                    self.contention_failures[where] += 1
                    self.lost_races_at.append(time.time())
                else:
                    self.lease_takes["busy"] += 1
            return lease

        @functools.wraps(release)
        def counted_release(*args: Any, **kwargs: Any) -> Any:
            before = self._failed_here()
            released = release(*args, **kwargs)
            with self._lock:
                self.lease_releases["lost" if self._failed_here() > before else "released"] += 1
            return released

        pending_class.take_lease, pending_class.release_lease = counted_take, counted_release

    def received(self, message: Mapping[str, Any]) -> None:
        """A message the poller received (``LocalPoller``'s ``on_receive``)."""
        with self._lock:
            self.receives[message["MessageId"]] += 1
            if DRAIN_MARKER in str(message.get("Body", ""))[:64]:
                self.drain_requests.add(message["MessageId"])

    def observe(self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        """One DynamoDB call: its operation name, its parameters and its parsed response."""
        if operation not in WRITE_OPERATIONS:
            return
        conditional = conditional_tables(operation, params)
        failed = failed_condition_tables(operation, params, parsed)
        sizes = [] if "Error" in parsed else self._shared_item_sizes(operation, params, parsed)
        if failed:
            self._thread.failed = self._failed_here() + 1
        with self._lock:
            self.writes[self._label(operation, written_tables(operation, params), params)] += 1
            if conditional:
                self.conditional_writes[self._label(operation, conditional, params)] += 1
            if failed:
                self.conditional_write_failures[self._label(operation, failed, params)] += 1
            for label, size in sizes:
                self.item_bytes_max[label] = max(self.item_bytes_max[label], size)

    def as_json(self, *, returned_to_queue: int = 0, handler_crashes: int = 0) -> dict[str, Any]:
        with self._lock:
            return OrdersPathCounts(
                contended=self.contended,
                delayed=Counter(self.delayed),
                contention_failures=Counter(self.contention_failures),
                lease_takes=Counter(self.lease_takes),
                lease_releases=Counter(self.lease_releases),
                lost_races_at=tuple(self.lost_races_at),
                writes=Counter(self.writes),
                conditional_writes=Counter(self.conditional_writes),
                conditional_write_failures=Counter(self.conditional_write_failures),
                item_bytes_max=Counter(self.item_bytes_max),
                receives=Counter(self.receives),
                drain_requests=frozenset(self.drain_requests),
                returned_to_queue=returned_to_queue,
                handler_crashes=handler_crashes,
            ).as_json()

    def _before_call(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if (
            model.name == "UpdateItem"
            and params.get("TableName") in self._shared_tables
            and "ReturnValues" not in params
        ):
            params["ReturnValues"] = "ALL_NEW"  # the item as stored: its exact size
        context["order_burst_params"] = dict(params)

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        self.observe(model.name, context.get("order_burst_params", {}), parsed)

    def _failed_here(self) -> int:
        """Failed conditional writes this thread has made so far."""
        failed: int = getattr(self._thread, "failed", 0)
        return failed

    def _count_delayed(self, outcome: Any, error: BaseException | None) -> None:
        with self._lock:
            self.delayed[f"{outcome.outcome} {outcome.reason}"] += 1
            if is_contention(error):
                self.contended += 1

    def _counting_contention(self, owner: str, name: str, method: Any) -> Any:
        @functools.wraps(method)
        def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as error:
                if is_budget_contention(error) and not getattr(error, "order_burst_counted", False):
                    error.order_burst_counted = True  # type: ignore[attr-defined]
                    with self._lock:
                        self.contention_failures[f"{owner}.{name}"] += 1
                raise

        return counted

    def _label(self, operation: str, tables: list[str], params: Mapping[str, Any]) -> str:
        """``<operation> <table roles>``, and the kinds of the items it names (``item_kind``)."""
        roles = sorted({self._roles.get(table, table) for table in tables})
        label = f"{operation} {'+'.join(roles)}"
        kinds = sorted(
            {kind for kind in (item_kind(item) for item in written_keys(operation, params)) if kind}
        )
        return f"{label} {'+'.join(kinds)}" if kinds else label

    def _shared_item_sizes(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
    ) -> list[tuple[str, int]]:
        """("<role> <kind>", size) of each item a write stored in a shared-state table."""
        return [
            (f"{self._roles.get(table, table)} {item_kind(key)}".strip(), size)
            for table, key, size in written_items(operation, params, parsed)
            if table in self._shared_tables
        ]


_KIND = re.compile(r"[A-Z][A-Z_]*(?:#|$)")


def item_kind(key: Mapping[str, Any]) -> str:
    """An item's kind: its sort key's leading ``NAME#`` or ``NAME`` (``O#``, ``LEASE``), else its
    partition key's (``BUCKET#``), else ""."""
    for name in ("sk", "pk"):
        value = key.get(name, {})
        kind = _KIND.match(str(value.get("S", ""))) if isinstance(value, Mapping) else None
        if kind:
            return kind.group(0)
    return ""


def is_budget_contention(error: BaseException | None) -> bool:
    """The shared rate budget's own error when its conditional writes kept losing."""
    from sellerstream.spapi.errors import RateBudgetExhausted

    return isinstance(error, RateBudgetExhausted) and CONTENTION in str(error)


def is_contention(error: BaseException | None) -> bool:
    """An error that says another writer (or delivery) won: a contended rate budget, a delivery in
    progress elsewhere (an idempotency record), a conditional write or transaction that lost."""
    if error is None:
        return False
    if is_budget_contention(error):
        return True
    if type(error).__name__ == "IdempotencyAlreadyInProgressError":
        return True
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    return code in LOST_WRITE_CODES


def written_tables(operation: str, params: Mapping[str, Any]) -> list[str]:
    """The tables a write request writes to."""
    if operation == "TransactWriteItems":
        return [next(iter(action.values()))["TableName"] for action in params.get("TransactItems", [])]
    if operation == "BatchWriteItem":
        return list(params.get("RequestItems", {}))
    return [params.get("TableName", "")]


def written_keys(operation: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The keys (or items) a single-item write or a BatchWriteItem names; a transaction's: none."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return [params.get("Key") or params.get("Item") or {}]
    if operation == "BatchWriteItem":
        return [
            request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key") or {}
            for requests in params.get("RequestItems", {}).values()
            for request in requests
        ]
    return []


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


def written_items(
    operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
) -> list[tuple[str, Mapping[str, Any], int]]:
    """(table, the item's key or item, the size of the item stored) of each item a successful write
    stored."""
    if operation == "PutItem":
        return [(params["TableName"], params["Item"], item_size(params["Item"]))]
    if operation == "UpdateItem":
        if params.get("ReturnValues") == "ALL_NEW" and "Attributes" in parsed:
            return [(params["TableName"], params["Key"], item_size(parsed["Attributes"]))]
        return [(params["TableName"], params["Key"], updated_item_size(params))]
    if operation == "TransactWriteItems":
        items: list[tuple[str, Mapping[str, Any], int]] = []
        for action in params.get("TransactItems", []):
            ((kind, body),) = action.items()
            if kind == "Put":
                items.append((body["TableName"], body["Item"], item_size(body["Item"])))
            elif kind == "Update":
                items.append((body["TableName"], body["Key"], updated_item_size(body)))
        return items
    if operation == "BatchWriteItem":
        return [
            (table, request["PutRequest"]["Item"], item_size(request["PutRequest"]["Item"]))
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

    from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
    from sellerstream.adapters.rate_budget import SharedRateBudget
    from sellerstream.handlers.entry import QueueHandler  # noqa: TID251 - a handler of its own, as a function
    from sellerstream.logic.batch import BatchRunner
    from sellerstream_local.poller import LocalPoller

    # Before any client exists: ``sellerstream.aws.client`` creates its clients from boto3's default
    # session, and a client copies its session's hooks when it is created.
    meter = OrdersPathMeter(table_roles)
    boto3.setup_default_session()
    meter.register(boto3.DEFAULT_SESSION.events)
    meter.count_delayed_records(BatchRunner)
    meter.count_contention_failures(SharedRateBudget)
    meter.count_lease_calls(DynamoDBPendingOrders)

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
        on_receive=meter.received,
    )
    ready.release()
    go.wait()
    try:
        while not stop.is_set():
            if not poller.poll_once():
                time.sleep(0.05)
    finally:
        counts = meter.as_json(
            returned_to_queue=poller.stats.failed_attempts, handler_crashes=poller.stats.handler_crashes
        )
        Path(counts_path).write_text(json.dumps(counts))


@functools.cache
def _naive_runner() -> Any:
    """One getOrder per notification on this container's own buckets (no shared budget, no pending
    set, no skipping; the idempotency record of the consumer before the pending set skips a
    redelivered notification)."""
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
    access = SpApiAccess(settings, credentials)  # no budgets: each container's in-memory limiter
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
        # Every table of the catalog, the pending orders table among them, as the stack declares it.
        resources = create_resources(
            sqs, dynamodb, boto3.client("s3", **aws), boto3.client("events", **aws), 30
        )
        pending_table = resources.tables.get(PENDING_ORDERS_ROLE)
        if pending_table is None:
            raise RuntimeError("the local resources have no pending orders table")
        dynamodb.describe_table(TableName=pending_table)  # on the moto server the consumers use
        _create_secrets(boto3.client("secretsmanager", **aws))
        bodies, final = notifications(rng, datetime.now(UTC))
        for order_id, last_updated in final.items():
            emulator.set_order(order_id, seller_id=SELLER, last_updated=last_updated, status="Unshipped")
        queue = resources.queues["orders"]
        _send(sqs, queue.url, bodies)
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
        started, started_at = time.monotonic(), time.time()
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
            sp_api_calls=Counter(emulator.sp_api_calls()),
            throttled=sum(emulator.throttled.values()),
            drain_ratio=round(drain_seconds / minimum, 3),
            lost=sum(1 for order_id in final if order_id not in stored),
            stale=sum(1 for order_id, at in final.items() if order_id in stored and stored[order_id] < at),
            dead_lettered=_count(sqs, queue.dlq_url),
            pending_left=_pending_entries(dynamodb, pending_table),
            drain_seconds=round(drain_seconds, 2),
            started_at=started_at,
            minimum_seconds=round(minimum, 2),
            counts=counts,
            dynamodb_atomic=moto_server.dynamodb_atomic,
        )


def _create_secrets(secrets: Any) -> None:
    """The application's LWA credentials and the seller's refresh token, as the stack's secrets."""
    from stacks import constants

    secrets.create_secret(
        Name=constants.LWA_APP_SECRET_NAME,
        SecretString=json.dumps({"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}),
    )
    secrets.create_secret(
        Name=f"{constants.SELLER_SECRET_PREFIX}{SELLER}",
        SecretString=json.dumps({"refresh_token": "Atzr|bench", "region": "NA"}),
    )


def _send(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
            ],
        )


def _environment(resources: Any, endpoint: str, emulator: Any, naive: bool) -> dict[str, str]:
    """The order-change function's environment as the stack renders it, on the local resources
    (every table's name, the pending orders table's among them)."""
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
    function = catalog.consumer("orders").settings.environment(values)
    if function.get(PENDING_ORDERS_VARIABLE) != resources.tables[PENDING_ORDERS_ROLE]:
        raise RuntimeError(f"the order-change function's environment has no {PENDING_ORDERS_VARIABLE}")
    return {
        **function,
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


def _pending_entries(dynamodb: Any, table: str) -> int:
    """The entries (not the leases) in the pending orders table."""
    from sellerstream.adapters.pending_orders import ENTRY_PREFIX

    return sum(
        1
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        for item in page["Items"]
        if item["sk"]["S"].startswith(ENTRY_PREFIX)
    )


def _count(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _figures(result: RunResult) -> dict[str, Any]:
    counts = result.counts
    calls = sum(result.sp_api_calls.values())
    figures: dict[str, Any] = {
        "calls_per_order": result.calls_per_order,
        "sp_api_calls": calls,
        "sp_api_calls_by": dict(sorted(result.sp_api_calls.items())),
        "throttled": result.throttled,
        "drain_ratio": result.drain_ratio,
        "drain_seconds": result.drain_seconds,
        "minimum_seconds": result.minimum_seconds,
        "lost": result.lost,
        "stale": result.stale,
        "dead_lettered": result.dead_lettered,
        "pending_left": result.pending_left,
        "contended": counts.contended,
        "delayed_by": dict(sorted(counts.delayed.items())),
        "returned_to_queue": counts.returned_to_queue,
        "handler_crashes": counts.handler_crashes,
        "contention_failures": counts.contention_failure_count,
        "contention_failures_by": dict(sorted(counts.contention_failures.items())),
        "lease_takes": dict(sorted(counts.lease_takes.items())),
        "lease_releases": dict(sorted(counts.lease_releases.items())),
        # Seconds after the start at which a lease take lost its race.
        "lease_races_lost_at": [round(at - result.started_at, 1) for at in counts.lost_races_at],
        "conditional_write_failures": counts.failures,
        "conditional_write_failures_per_call": counts.failures_per_call(calls),
        "conditional_write_failures_per_write": counts.failures_per_write,
        "conditional_writes": sum(counts.conditional_writes.values()),
        "conditional_writes_by": dict(sorted(counts.conditional_writes.items())),
        "conditional_write_failures_by": dict(sorted(counts.conditional_write_failures.items())),
        "dynamodb_writes_by": dict(sorted(counts.writes.items())),
        "budget_item_bytes_max": counts.budget_item_bytes_max,
        # Every shared-state table, 0 when nothing was written there.
        "item_bytes_max_by": {
            **dict.fromkeys(sorted(SHARED_STATE_ROLES), 0),
            **counts.item_bytes_max_by_role,
        },
        "item_bytes_max_by_kind": dict(sorted(counts.item_bytes_max.items())),
        "receives": sum(counts.receives.values()),
        "redelivered": counts.redelivered,
        "drain_requests": len(counts.drain_requests),
    }
    return {"consumers": result.consumers, "missed_targets": missed_targets(figures), **figures}


def missed_targets(figures: Mapping[str, Any]) -> list[str]:
    """The figures off their target (``TARGETS``)."""
    return [
        name
        for name, (target, bound) in TARGETS.items()
        if name in figures and (figures[name] > target if bound == "max" else figures[name] < target)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--baseline-consumers", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=2.0, help="emulator refill speed-up (default 2)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--text", metavar="FILE", help="print a saved --json output as the table, without running anything"
    )
    args = parser.parse_args()
    if args.text:
        _print_text(json.loads(Path(args.text).read_text()))
        return
    # Everything AWS is the local moto server: fixed local credentials, never a real account.
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(variable, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )

    runs = [run(k, naive=False, time_scale=args.time_scale, seed=args.seed) for k in args.consumers]
    baseline = run(args.baseline_consumers, naive=True, time_scale=args.time_scale, seed=args.seed)
    report = {
        "dynamodb_atomic": all(result.dynamodb_atomic for result in [*runs, baseline]),
        "time_scale": args.time_scale,
        "targets": {name: target for name, (target, _) in TARGETS.items()},
        "runs": [_figures(r) for r in runs],
        "baseline": _figures(baseline),
    }
    if args.json:
        print(json.dumps(report))
        return
    _print_text(report)


def _print_text(report: Mapping[str, Any]) -> None:
    """The table of a report (``--json``'s object)."""
    runs, baseline = report["runs"], report["baseline"]
    rate, burst = GET_ORDER_PLAN
    print(
        f"order burst: {NOTIFICATIONS} notifications over {ORDERS} orders of one seller; getOrder at "
        f"{rate}/s x {report.get('time_scale', 2.0)} (burst {burst}); "
        f"rate-plan minimum {runs[0]['minimum_seconds']:.1f} s"
    )
    print(
        f"{'':<22}{'calls/order':>12}{'429s':>7}{'drain':>9}{'÷ minimum':>11}{'lost':>6}{'stale':>7}"
        f"{'DLQ':>5}{'pending':>9}{'hops':>6}"
    )
    labelled = [
        *((f"pending set, K={r['consumers']}", r) for r in runs),
        (f"naive, K={baseline['consumers']}", baseline),
    ]
    for label, figures in labelled:
        print(
            f"{label:<22}{figures['calls_per_order']:>12.2f}{figures['throttled']:>7}"
            f"{figures['drain_seconds']:>8.1f}s{figures['drain_ratio']:>11.3f}{figures['lost']:>6}"
            f"{figures['stale']:>7}{figures['dead_lettered']:>5}{figures['pending_left']:>9}"
            f"{figures['drain_requests']:>6}"
        )
    atomic = "atomic" if report["dynamodb_atomic"] else "NOT ATOMIC"
    print(
        f"DynamoDB in the Orders path, conditional writes {atomic}: records delayed by contention, "
        "contention failures (a contended budget, a lease race lost), conditional writes failed of those "
        "made (per SP-API call, per write), the largest shared-state item"
    )
    print(
        f"{'':<22}{'contended':>10}{'(errors)':>9}{'failed':>8}{'of':>7}{'per call':>10}{'per write':>11}"
        f"{'item bytes':>12}"
    )
    for label, figures in labelled:
        print(
            f"{label:<22}{figures['contended']:>10}{figures['contention_failures']:>9}"
            f"{figures['conditional_write_failures']:>8}{figures['conditional_writes']:>7}"
            f"{figures['conditional_write_failures_per_call']:>10.3f}"
            f"{figures['conditional_write_failures_per_write']:>11.3f}{figures['budget_item_bytes_max']:>12,}"
        )
        for where, made in figures["conditional_writes_by"].items():
            failed = figures["conditional_write_failures_by"].get(where, 0)
            print(f"{'':<24}{where}: {failed} failed of {made}")
        if figures["lease_takes"]:
            takes = ", ".join(f"{name} {count}" for name, count in figures["lease_takes"].items())
            print(f"{'':<24}lease takes: {takes}")
        for where, size in figures["item_bytes_max_by_kind"].items():
            print(f"{'':<24}largest {where} item: {size:,} bytes")
        if figures["missed_targets"]:
            print(f"{'':<24}off target: {', '.join(figures['missed_targets'])}")
    best = runs[-1]
    print(
        f"K={best['consumers']}: {baseline['calls_per_order'] / max(best['calls_per_order'], 1e-9):.2f}x "
        f"fewer calls and {baseline['throttled']} -> {best['throttled']} throttled than the naive baseline"
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
