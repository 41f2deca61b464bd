"""Simulated time for long scenarios (hours of Prime Day in minutes): a virtual clock, SQS on it.

``VirtualTime`` runs participant threads one at a time, like a discrete-event simulation: a
participant runs until it sleeps on the virtual clock, then the one due earliest runs; the clock
jumps to its wake-up time. So every wait (rate-budget slots, SQS delays, visibility timeouts,
Lambda's polling) costs no real time, work costs no virtual time unless a participant sleeps for
it, and a run is deterministic. The product's code runs unchanged: it is given the clock's
``time`` and ``sleep``.

``SimulatedSqs`` plays one standard queue and its DLQ on that clock (delays, visibility timeout,
redrive after maxReceiveCount receives, message attributes, SentTimestamp) behind the two calls
the product makes (``send_message``), and lets a simulated event source mapping
receive and delete. ``SimulatedDynamoDB``, ``SimulatedSecrets`` and ``SimulatedS3`` answer the
DynamoDB, Secrets Manager and S3 calls in memory: millions of calls in minutes.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as real
import functools
import heapq
import io
import itertools
import json
import marshal
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import base as idempotency_base
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord
from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as idempotency_dynamodb
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from sellerstream.logic.batch import BatchResult, BatchRunner


class VirtualTime:
    """The clock, and the scheduler of the participants that run on it.

    Each participant is a thread, but only one runs at a time: a participant that sleeps wakes the
    one due earliest (ties in the order they went to sleep) by releasing that participant's own lock,
    then waits on its own. A participant that is itself still the earliest due just moves the clock
    on and goes on running: most waits (an SP-API call's latency, a slot due before anyone else
    wakes) cost no thread switch at all.
    """

    def __init__(self, start: float) -> None:
        self.now = start
        self._due: list[tuple[float, int, threading.Lock]] = []  # (wake-up time, order, its lock)
        self._order = itertools.count()
        self._locks: dict[int, threading.Lock] = {}  # thread id -> the lock that thread waits on
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._finished = threading.Lock()  # held while participants run; run() waits on it
        self._finished.acquire()
        self._live = 0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Called by a participant: wakes up ``seconds`` later on the virtual clock."""
        wake_at = self.now + max(seconds, 0.0)
        due = self._due
        if not due or wake_at < due[0][0]:
            self.now = max(self.now, wake_at)  # nobody is due before us: no one else runs meanwhile
            return
        mine = self._locks[threading.get_ident()]
        heapq.heappush(due, (wake_at, next(self._order), mine))
        self._hand_over()
        mine.acquire()  # until a participant hands over to us

    def start(self, name: str, target: Callable[[], None]) -> None:
        """Adds a participant; it first runs when ``run`` starts the clock."""
        lock = threading.Lock()
        lock.acquire()
        heapq.heappush(self._due, (self.now, next(self._order), lock))
        self._live += 1

        def participant() -> None:
            self._locks[threading.get_ident()] = lock
            lock.acquire()  # until it is handed the clock
            try:
                target()
            except BaseException as error:  # reported by run()
                self._errors.append(error)
            finally:
                self._live -= 1
                if self._live == 0:
                    self._finished.release()
                else:
                    self._hand_over()

        thread = threading.Thread(target=participant, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def run(self) -> None:
        """Runs every participant to its end."""
        if self._threads:
            self._hand_over()
            self._finished.acquire()
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]

    def _hand_over(self) -> None:
        wake_at, _, lock = heapq.heappop(self._due)
        self.now = max(self.now, wake_at)
        lock.release()


@dataclass
class SimulatedMessage:
    message_id: str
    body: str
    attributes: dict[str, dict[str, str]]
    sent_ms: int
    notification_id: str | None
    receive_count: int = 0
    receipt: int = 0
    deleted: bool = False


@dataclass
class SimulatedQueue:
    name: str
    arn: str
    url: str
    visibility_timeout: float
    max_receive_count: int
    available: list[tuple[float, int, int, SimulatedMessage]] = field(default_factory=list)
    dead_letters: list[SimulatedMessage] = field(default_factory=list)
    live: int = 0


class SimulatedSqs:
    """A consumer's queue (or a DLQ) on virtual time, with the boto3 calls the product makes."""

    def __init__(
        self, clock: VirtualTime, *, name: str, visibility_timeout: float, max_receive_count: int
    ) -> None:
        self._clock = clock
        self._order = itertools.count()
        self.queue = SimulatedQueue(
            name=name,
            arn=f"arn:aws:sqs:us-east-1:123456789012:{name}",
            url=f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}",
            visibility_timeout=visibility_timeout,
            max_receive_count=max_receive_count,
        )
        self.receives = 0
        self.sends = 0
        self.live_by_notification: Counter[str] = Counter()
        self.done_at: dict[str, float] = {}  # notification id -> when its last message was deleted
        # Message ids are unique and shaped like SQS's, but counted rather than drawn from the
        # system's entropy (a deferred copy is a new message: millions of them on Prime Day).
        self._message_serial = itertools.count(1)
        self._message_id_prefix = f"{uuid.uuid5(uuid.NAMESPACE_URL, self.queue.arn)}"[:24]
        # The notification id of each body waiting in the queue: a deferred copy's body is the same
        # string, so it is read once, not once per copy.
        self._notification_ids: dict[str, str | None] = {}

    # -- what the product calls (boto3's names) -------------------------------------------------
    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int = 0,
        MessageAttributes: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, str]:
        return {"MessageId": self.send(MessageBody, delay=DelaySeconds, attributes=MessageAttributes or {})}

    # -- the simulation's own calls ----------------------------------------------------------------
    def send(
        self, body: str, *, delay: float = 0.0, attributes: dict[str, dict[str, str]] | None = None
    ) -> str:
        notification_id = self._notification_ids.get(body, _UNREAD)
        if notification_id is _UNREAD:
            notification_id = self._notification_ids[body] = _notification_id(body)
        message = SimulatedMessage(
            message_id=f"{self._message_id_prefix}{next(self._message_serial):012x}",
            body=body,
            attributes=attributes or {},
            sent_ms=int(self._clock.now * 1000),
            notification_id=cast(str | None, notification_id),
        )
        self.sends += 1
        self.queue.live += 1
        if message.notification_id:
            self.live_by_notification[message.notification_id] += 1
        self._make_available(message, self._clock.now + delay)
        return message.message_id

    def receive(self, limit: int) -> list[SimulatedMessage]:
        """Up to ``limit`` available messages, oldest available first; each becomes invisible for the
        visibility timeout, and one received more than maxReceiveCount times moves to the DLQ."""
        received: list[SimulatedMessage] = []
        queue = self.queue
        while queue.available and len(received) < limit and queue.available[0][0] <= self._clock.now:
            _, _, receipt, message = heapq.heappop(queue.available)
            if message.deleted or receipt != message.receipt:
                continue
            if message.receive_count >= queue.max_receive_count:
                message.deleted = True
                queue.live -= 1
                queue.dead_letters.append(message)
                continue
            message.receive_count += 1
            self.receives += 1
            self._make_available(message, self._clock.now + queue.visibility_timeout)
            received.append(message)
        return received

    def delete(self, message: SimulatedMessage) -> None:
        if message.deleted:
            return
        message.deleted = True
        self.queue.live -= 1
        if message.notification_id:
            self.live_by_notification[message.notification_id] -= 1
            if self.live_by_notification[message.notification_id] <= 0:
                self.done_at[message.notification_id] = self._clock.now
                self._notification_ids.pop(message.body, None)

    def next_available(self) -> float | None:
        queue = self.queue
        while queue.available and (
            queue.available[0][3].deleted or queue.available[0][2] != queue.available[0][3].receipt
        ):
            heapq.heappop(queue.available)
        return queue.available[0][0] if queue.available else None

    def empty(self) -> bool:
        return self.queue.live == 0

    def record(self, message: SimulatedMessage) -> dict[str, Any]:
        """The message as a Lambda SQS event record."""
        return {
            "messageId": message.message_id,
            "receiptHandle": f"{message.message_id}#{message.receipt}",
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(message.sent_ms),
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "dataType": value.get("DataType", "String"),
                    "stringListValues": [],
                    "binaryListValues": [],
                }
                for name, value in message.attributes.items()
            },
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue.arn,
            "awsRegion": "us-east-1",
        }

    def _make_available(self, message: SimulatedMessage, at: float) -> None:
        message.receipt += 1
        heapq.heappush(self.queue.available, (at, next(self._order), message.receipt, message))


class VirtualLambdaContext:
    """The parts of Lambda's context the batch uses, on virtual time."""

    function_name = "order-change"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:order-change"
    aws_request_id = "simulated"

    def __init__(self, clock: VirtualTime, timeout_seconds: float) -> None:
        self._clock = clock
        self._deadline = clock.now + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - self._clock.now) * 1000), 0)


def invoke_batch(
    clock: VirtualTime,
    queue: SimulatedSqs,
    messages: list[SimulatedMessage],
    runner: BatchRunner,
    *,
    timeout_seconds: float,
    before_acknowledging: Callable[[], None] | None = None,
    on_result: Callable[[BatchResult], None] | None = None,
) -> None:
    """One Lambda invocation over ``messages`` as the event source mapping runs it: the real batch
    processing (a runner on the virtual clock), then every record not reported as failed deleted.
    ``before_acknowledging`` runs in between (a fault matrix kills the container there), after
    ``on_result`` is shown what became of each record (a fault matrix's journal).

    The metrics the invocation added are dropped at its end, as the handler's ``log_metrics`` flushes
    them: kept, they would pile up over invocations until Powertools flushed them in the middle of
    a record (and, with no namespace outside Lambda, failed it)."""
    from sellerstream.observability import metrics  # noqa: PLC0415 - once the run's environment is set

    try:
        result = runner.run(
            {"Records": [queue.record(message) for message in messages]},
            VirtualLambdaContext(clock, timeout_seconds),  # type: ignore[arg-type]
        )
    finally:
        metrics.clear_metrics()
    if on_result is not None:
        on_result(result)
    if before_acknowledging is not None:
        before_acknowledging()
    failed = {outcome.message_id for outcome in result.outcomes if not outcome.done}
    for message in messages:
        if message.message_id not in failed:
            queue.delete(message)


_UNREAD: Any = object()


def _notification_id(body: str) -> str | None:
    try:
        document = json.loads(body)
        return str(document["NotificationMetadata"]["NotificationId"])
    except (ValueError, KeyError, TypeError):
        return None


class SimulatedSecrets:
    """Secrets Manager's GetSecretValue over a dict (the simulation's sellers and LWA app)."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self._secrets = secrets

    def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, str]:
        if SecretId not in self._secrets:
            raise _client_error(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
                "GetSecretValue",
            )
        return {"Name": SecretId, "SecretString": self._secrets[SecretId]}


class SimulatedS3:
    """The S3 calls the report consumer makes (``upload_fileobj``, ``get_object``, ``head_object``)
    over a dict: an upload stores its object only once the whole stream was read, as a multipart
    upload that failed part-way leaves no object."""

    READ_BYTES = 1 << 16

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str | None]] = {}
        self.calls: Counter[str] = Counter()

    def upload_fileobj(
        self, Fileobj: Any, Bucket: str, Key: str, ExtraArgs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.calls["UploadFileobj"] += 1
        parts: list[bytes] = []
        while chunk := Fileobj.read(self.READ_BYTES):
            parts.append(chunk)
        self.objects[(Bucket, Key)] = (b"".join(parts), (ExtraArgs or {}).get("ContentType"))

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.calls["GetObject"] += 1
        body, content_type = self._object(Bucket, Key, "GetObject", "NoSuchKey")
        response: dict[str, Any] = {"Body": io.BytesIO(body), "ContentLength": len(body)}
        if content_type is not None:
            response["ContentType"] = content_type
        return response

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.calls["HeadObject"] += 1
        body, content_type = self._object(Bucket, Key, "HeadObject", "404")
        return {"ContentLength": len(body), **({"ContentType": content_type} if content_type else {})}

    def _object(self, bucket: str, key: str, operation: str, missing: str) -> tuple[bytes, str | None]:
        found = self.objects.get((bucket, key))
        if found is None:
            # HeadObject has no body, so S3 answers a missing key with a bare 404.
            raise _client_error(
                missing, "Not Found" if missing == "404" else "The specified key does not exist.", operation
            )
        return found


class SimulatedDynamoDB:
    """The DynamoDB calls SellerStream and Powertools' idempotency make, in memory, with DynamoDB's
    semantics for them: conditional writes (the expressions they use: comparisons, AND/OR,
    parentheses, attribute_exists / attribute_not_exists), ReturnValuesOnConditionCheckFailure,
    all-or-nothing TransactWriteItems with cancellation reasons, SET updates, projections,
    BatchWriteItem, and Query on a table's own keys.

    moto does the same through botocore's serialisation at about a millisecond a call; hours of
    simulated Prime Day make millions of calls. Tests check it against moto for every call shape
    the product makes (``tests/unit/local/test_simulated_dynamodb.py``).
    """

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, ...]] = {}
        self._items: dict[str, dict[tuple[tuple[str, Any], ...], dict[str, Any]]] = {}
        # The keys of each partition of a table with a sort key, for Query.
        self._partitions: dict[str, dict[tuple[str, Any], dict[tuple[tuple[str, Any], ...], None]]] = {}
        self.calls: Counter[str] = Counter()

    def create_table(self, TableName: str, KeySchema: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        self._keys[TableName] = tuple(key["AttributeName"] for key in KeySchema)
        self._items[TableName] = {}
        if len(self._keys[TableName]) > 1:
            self._partitions[TableName] = {}
        return {"TableDescription": {"TableName": TableName}}

    def update_time_to_live(self, **_: Any) -> dict[str, Any]:
        return {}

    def get_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        item = self._items[TableName].get(self._key(TableName, Key))
        if item is None:
            return {}
        return {
            "Item": _project(
                item, options.get("ProjectionExpression"), options.get("ExpressionAttributeNames")
            )
        }

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self.calls["BatchGetItem"] += 1
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, request in RequestItems.items():
            found = [self._items[table].get(self._key(table, key)) for key in request["Keys"]]
            responses[table] = [
                _project(item, request.get("ProjectionExpression"), request.get("ExpressionAttributeNames"))
                for item in found
                if item is not None
            ]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def put_item(self, TableName: str, Item: dict[str, Any], **options: Any) -> dict[str, Any]:
        self.calls["PutItem"] += 1
        key = self._key(TableName, Item)
        self._check(TableName, key, options, "PutItem")
        self._store(TableName, key, _copy(Item))
        return {}

    def update_item(
        self, TableName: str, Key: dict[str, Any], UpdateExpression: str, **options: Any
    ) -> dict[str, Any]:
        self.calls["UpdateItem"] += 1
        key = self._key(TableName, Key)
        self._check(TableName, key, options, "UpdateItem")
        self._store(TableName, key, _updated(self._items[TableName].get(key), Key, UpdateExpression, options))
        return {}

    def delete_item(self, TableName: str, Key: dict[str, Any], **options: Any) -> dict[str, Any]:
        self.calls["DeleteItem"] += 1
        key = self._key(TableName, Key)
        self._check(TableName, key, options, "DeleteItem")
        self._remove(TableName, key)
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls["TransactWriteItems"] += 1
        reasons: list[dict[str, str]] = []
        writes: list[tuple[str, tuple[tuple[str, Any], ...], dict[str, Any]]] = []
        for entry in TransactItems:
            operation, details = next(iter(entry.items()))
            if operation not in ("Put", "Update"):
                raise ValueError(f"only Put and Update are simulated in transactions, not {operation}")
            table = details["TableName"]
            key = self._key(table, details["Item"] if operation == "Put" else details["Key"])
            current = self._items[table].get(key)
            passed = _condition_holds(current, details)
            reasons.append({"Code": "None"} if passed else {"Code": "ConditionalCheckFailed"})
            if operation == "Put":
                writes.append((table, key, details["Item"]))
            elif passed:
                writes.append(
                    (table, key, _updated(current, details["Key"], details["UpdateExpression"], details))
                )
        if any(reason["Code"] != "None" for reason in reasons):
            error = _client_error(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
                "TransactWriteItems",
            )
            cast(dict[str, Any], error.response)["CancellationReasons"] = reasons
            raise error
        for table, key, item in writes:
            self._store(table, key, _copy(item))
        return {}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]], **_: Any) -> dict[str, Any]:
        """Puts and deletes, unconditional; everything processed (a subclass may leave some over)."""
        self.calls["BatchWriteItem"] += 1
        for table, requests in RequestItems.items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    self._store(table, self._key(table, item), _copy(item))
                else:
                    self._remove(table, self._key(table, request["DeleteRequest"]["Key"]))
        return {"UnprocessedItems": {}}

    def query(self, TableName: str, KeyConditionExpression: str, **options: Any) -> dict[str, Any]:
        """Query on a table's own keys: ``pk = :v`` and optionally ``sk = :v`` or ``begins_with(sk, :v)``,
        in sort key order, with projections; one page (the product's queries are small)."""
        self.calls["Query"] += 1
        if options.get("IndexName") or options.get("Limit") or options.get("ExclusiveStartKey"):
            raise ValueError("only whole queries of a table's own keys are simulated")
        names = options.get("ExpressionAttributeNames") or {}
        values = options.get("ExpressionAttributeValues") or {}
        conditions = _key_conditions(KeyConditionExpression, names, values)
        partition_name, sort_name = self._keys[TableName]
        ((kind, partition_value),) = conditions.pop(partition_name)[1].items()
        sort = conditions.pop(sort_name, None)
        if conditions:
            raise ValueError(f"not a key condition of {TableName}: {KeyConditionExpression!r}")
        keys = self._partitions[TableName].get((kind, partition_value), {})
        items = [self._items[TableName][key] for key in keys]
        if sort is not None:
            operator, (expected,) = sort[0], sort[1].values()
            items = [
                item
                for item in items
                for value in [next(iter(item[sort_name].values()))]
                if (value.startswith(expected) if operator == "begins_with" else value == expected)
            ]
        items.sort(key=lambda item: next(iter(item[sort_name].values())))
        if options.get("ScanIndexForward") is False:
            items.reverse()
        projection = options.get("ProjectionExpression")
        found = [_project(item, projection, names) for item in items]
        return {"Items": found, "Count": len(found), "ScannedCount": len(found)}

    def stored_items(self, table: str) -> Iterator[dict[str, Any]]:
        """The table's items as stored, for a run's own accounting (read them, never change them):
        a scan without copying every item."""
        return iter(self._items[table].values())

    def get_paginator(self, operation: str) -> Any:
        if operation != "scan":
            raise ValueError(f"only scan is paginated in the simulation, not {operation}")
        items = self._items

        class _Scan:
            def paginate(self, TableName: str, **_: Any) -> list[dict[str, Any]]:
                return [{"Items": [_copy(item) for item in items[TableName].values()]}]

        return _Scan()

    def _key(self, table: str, item: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        # A key attribute is one typed scalar ({"S": ...}, {"N": ...} or {"B": ...}).
        return tuple(next(iter(item[name].items())) for name in self._keys[table])

    def _store(self, table: str, key: tuple[tuple[str, Any], ...], item: dict[str, Any]) -> None:
        self._items[table][key] = item
        partitions = self._partitions.get(table)
        if partitions is not None:
            partitions.setdefault(key[0], {})[key] = None

    def _remove(self, table: str, key: tuple[tuple[str, Any], ...]) -> None:
        if self._items[table].pop(key, None) is not None and table in self._partitions:
            self._partitions[table][key[0]].pop(key, None)

    def _check(
        self, table: str, key: tuple[tuple[str, Any], ...], options: dict[str, Any], operation: str
    ) -> None:
        current = self._items[table].get(key)
        if _condition_holds(current, options):
            return
        error = _client_error("ConditionalCheckFailedException", "The conditional request failed", operation)
        if current is not None and options.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
            cast(dict[str, Any], error.response)["Item"] = _copy(current)
        raise error


_KEY_CONDITION = re.compile(
    r"^\s*(?:(?P<name>[#A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>:[A-Za-z0-9_]+)"
    r"|begins_with\s*\(\s*(?P<prefix_of>[#A-Za-z_][A-Za-z0-9_]*)\s*,\s*(?P<prefix>:[A-Za-z0-9_]+)\s*\))\s*$"
)


def _key_conditions(
    expression: str, names: dict[str, str], values: dict[str, Any]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """A key condition's parts by attribute: ("=", value) or ("begins_with", value)."""
    conditions: dict[str, tuple[str, dict[str, Any]]] = {}
    for part in re.split(r"\s+AND\s+", expression.strip(), flags=re.IGNORECASE):
        match = _KEY_CONDITION.match(part)
        if match is None:
            raise ValueError(f"key condition not simulated: {part!r}")
        if match["name"]:
            conditions[names.get(match["name"], match["name"])] = ("=", values[match["value"]])
        else:
            conditions[names.get(match["prefix_of"], match["prefix_of"])] = (
                "begins_with",
                values[match["prefix"]],
            )
    return conditions


def _updated(
    current: dict[str, Any] | None, key: dict[str, Any], expression: str, options: dict[str, Any]
) -> dict[str, Any]:
    """The item after a ``SET a = :v, ...`` update (the only form the product writes)."""
    item = _copy_item(current or key)
    names = options.get("ExpressionAttributeNames") or {}
    values = options.get("ExpressionAttributeValues") or {}
    clause = expression.strip()
    if not clause.upper().startswith("SET "):
        raise ValueError(f"only SET updates are simulated: {expression!r}")
    for assignment in clause[4:].split(","):
        target, _, source = assignment.partition("=")
        item[names.get(target.strip(), target.strip())] = _copy(values[source.strip()])
    return item


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _copy(value: Any) -> Any:
    """A deep copy of attribute values (what DynamoDB's wire format gives each caller: nothing
    shared with the item stored). marshal copies nested dicts, lists and strings in C; anything it
    does not know (a Decimal in a resource-level value) takes the slow road."""
    try:
        return marshal.loads(marshal.dumps(value))  # noqa: S302 - bytes it made itself, never read from outside
    except ValueError:
        return copy.deepcopy(value)


def _copy_item(item: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], _copy(item))


def _project(item: dict[str, Any], projection: str | None, names: dict[str, str] | None) -> dict[str, Any]:
    if not projection:
        return _copy_item(item)
    wanted = [(names or {}).get(part.strip(), part.strip()) for part in projection.split(",")]
    return cast(dict[str, Any], _copy({name: item[name] for name in wanted if name in item}))


def _condition_holds(item: dict[str, Any] | None, options: dict[str, Any]) -> bool:
    expression = options.get("ConditionExpression")
    if not expression:
        return True
    parser = _ConditionParser(
        expression,
        options.get("ExpressionAttributeNames") or {},
        options.get("ExpressionAttributeValues") or {},
    )
    return parser.evaluate(item or {})


@functools.lru_cache(maxsize=256)
def _condition_tokens(expression: str) -> tuple[str, ...]:
    """The expression's tokens (the product writes a handful of distinct expressions, millions of times)."""
    return tuple(token for token in _ConditionParser._TOKENS.findall(expression) if token)


class _ConditionParser:
    """Recursive descent over DynamoDB's condition grammar, as far as the product uses it:
    ``condition := term (OR term)*``, ``term := factor (AND factor)*``, ``factor := ( condition ) |
    attribute_exists(path) | attribute_not_exists(path) | operand comparator operand``."""

    _TOKENS = re.compile(r"\s*(\(|\)|,|<>|<=|>=|=|<|>|[#:A-Za-z_][A-Za-z0-9_\-.#:]*)")

    def __init__(self, expression: str, names: dict[str, str], values: dict[str, Any]) -> None:
        self._tokens = _condition_tokens(expression)
        self._names = names
        self._values = values
        self._position = 0

    def evaluate(self, item: dict[str, Any]) -> bool:
        self._item = item
        self._position = 0
        result = self._condition()
        if self._position != len(self._tokens):
            raise ValueError(f"unparsed condition tail: {self._tokens[self._position :]}")
        return result

    def _peek(self) -> str | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _next(self) -> str:
        token: str = self._tokens[self._position]
        self._position += 1
        return token

    def _condition(self) -> bool:
        result = self._term()
        while (self._peek() or "").upper() == "OR":
            self._next()
            right = self._term()
            result = result or right
        return result

    def _term(self) -> bool:
        result = self._factor()
        while (self._peek() or "").upper() == "AND":
            self._next()
            right = self._factor()
            result = result and right
        return result

    def _factor(self) -> bool:
        token = self._next()
        if token == "(":  # noqa: S105 - a parenthesis
            result = self._condition()
            self._next()  # ")"
            return result
        if token in ("attribute_exists", "attribute_not_exists"):
            self._next()  # "("
            name = self._name(self._next())
            self._next()  # ")"
            return (name in self._item) == (token == "attribute_exists")  # noqa: S105 - a keyword
        left = self._operand(token)
        comparator = self._next()
        right = self._operand(self._next())
        if left is None or right is None:
            return False
        outcome: bool = {
            "=": left == right,
            "<>": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[comparator]
        return outcome

    def _name(self, token: str) -> str:
        return self._names.get(token, token)

    def _operand(self, token: str) -> Any:
        typed = self._values[token] if token.startswith(":") else self._item.get(self._name(token))
        if typed is None:
            return None
        ((kind, value),) = typed.items()
        if kind == "N":
            return Decimal(value)
        if kind in ("S", "BOOL"):
            return value
        return json.dumps(value, sort_keys=True)


class _VirtualDatetimeModule:
    """Stands in for the ``datetime`` module inside Powertools' idempotency: ``datetime.now()`` is
    the virtual clock's (naive local time, as the real call returns), everything else is the real
    module's."""

    def __init__(self, clock: VirtualTime) -> None:
        self._real = real
        clock_of = clock

        class _VirtualDatetime(real.datetime):
            @classmethod
            def now(cls, tz: real.tzinfo | None = None) -> Any:
                return real.datetime.fromtimestamp(clock_of.now, tz)

        self.datetime = _VirtualDatetime

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextlib.contextmanager
def powertools_on(clock: VirtualTime) -> Iterator[None]:
    """Powertools reads the wall clock where time decides something: an idempotency record's expiry
    and when an in-progress record may be taken over (the invocation's deadline), and when a cached
    secret is read again. On the virtual clock instead: a record left in progress by a killed
    container is taken over once its virtual deadline passed, and a renewed secret is picked up
    after the virtual cache time, as in Lambda, not after the same span of real time."""
    virtual = _VirtualDatetimeModule(clock)
    # (module, attribute, stand-in): each module's own name for the datetime module or class.
    patches: list[tuple[Any, str, Any]] = [
        *(
            (module, "dt", virtual)
            for module in (idempotency_base, persistence_base, datarecord, idempotency_dynamodb)
        ),
        (parameters_base, "datetime", virtual.datetime),
    ]
    saved = [getattr(module, name) for module, name, _ in patches]
    for module, name, stand_in in patches:
        setattr(module, name, stand_in)
    try:
        yield
    finally:
        for (module, name, _), original in zip(patches, saved, strict=True):
            setattr(module, name, original)


@contextlib.contextmanager
def quiet_function_logs() -> Iterator[None]:
    """The functions' own JSON logs go nowhere while a simulation runs (Powertools' handler holds the
    stream it started with, so replacing ``sys.stdout`` would not silence it)."""
    from sellerstream.observability import logger  # noqa: PLC0415 - once the run's environment is set

    handler = logger.logger_handler
    with open(os.devnull, "w") as devnull:
        saved = handler.setStream(devnull)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(saved)  # type: ignore[attr-defined]
