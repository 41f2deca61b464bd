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

A table of ``SimulatedDynamoDB`` may have a change stream (``StreamRecord``: new and old images, as
DynamoDB Streams keeps them). ``SimulatedEventBus`` plays EventBridge's PutEvents behind the
product's ``EventBus`` port, and ``serve_stream`` plays Lambda's event source mapping over one
shard of a stream (polling, batching window, partial batch responses, retries).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as real
import functools
import hashlib
import heapq
import io
import itertools
import json
import marshal
import math
import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import base as idempotency_base
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord
from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as idempotency_dynamodb
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from sellerstream.domain.events import OutgoingEvent
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
    metrics_sink: Callable[[Any], None] | None = None,
) -> None:
    """One Lambda invocation over ``messages`` as the event source mapping runs it: the real batch
    processing (a runner on the virtual clock), then every record not reported as failed deleted.
    ``before_acknowledging`` runs in between (a fault matrix kills the container there), after
    ``on_result`` is shown what became of each record (a fault matrix's journal).

    The metrics the invocation added are dropped at its end, as the handler's ``log_metrics`` flushes
    them: kept, they would pile up over invocations until Powertools flushed them in the middle of
    a record (and, with no namespace outside Lambda, failed it). ``metrics_sink``, if given, is
    handed what the handler would have flushed (EMF), before it is dropped."""
    from sellerstream.observability import metrics  # noqa: PLC0415 - once the run's environment is set

    try:
        result = runner.run(
            {"Records": [queue.record(message) for message in messages]},
            VirtualLambdaContext(clock, timeout_seconds),  # type: ignore[arg-type]
        )
    finally:
        if metrics_sink is not None and metrics.metric_set:
            metrics_sink(metrics.serialize_metric_set())
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
    """The S3 calls the report consumer makes (``upload_fileobj``, ``put_object``, ``get_object``,
    ``head_object``) over a dict: an upload stores its object only once the whole stream was read,
    as a multipart upload that failed part-way leaves no object."""

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

    def put_object(
        self, Bucket: str, Key: str, Body: bytes, ContentType: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self.calls["PutObject"] += 1
        self.objects[(Bucket, Key)] = (bytes(Body), ContentType)
        return {"ETag": f'"{hashlib.md5(Body, usedforsecurity=False).hexdigest()}"'}

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


_DESERIALIZER = TypeDeserializer()
# The first sequence number of the simulation's streams: DynamoDB's are decimal strings of 21 to 40
# digits, increasing within a shard. One counter for every stream, all of the same length, so that
# they compare as numbers and as strings alike.
_FIRST_SEQUENCE = 10**20
STREAM_LABEL = "2026-09-21T00:00:00.000"


def plain_image(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item as boto3's ``TypeDeserializer`` gives it: numbers as Decimal, sets as sets, binary
    as ``Binary``; None stays None."""
    if item is None:
        return None
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


class StreamRecord:
    """One record of a table's change stream (view type NEW_AND_OLD_IMAGES), as DynamoDB Streams
    writes it: one per item a successful write changed, in the order the writes were stored.

    ``old_image`` and ``new_image`` are the item before and after, in DynamoDB's typed form (None:
    inserted, or removed); ``old`` and ``new`` are the same deserialized into plain values (numbers
    as Decimal), as a stream consumer holding boto3 reads them. ``stored_at``: when the write was
    stored, on the simulation's clock (exact; the record's ``ApproximateCreationDateTime`` is that
    time rounded down to the second, as DynamoDB gives it). The images are the stored items
    themselves, never copied: the simulated table replaces an item on each write and never changes
    one in place, so a record's images stay as they were."""

    __slots__ = ("_new", "_old", "event_name", "new_image", "old_image", "sequence", "stored_at", "table")

    def __init__(
        self,
        table: str,
        sequence: str,
        old_image: dict[str, Any] | None,
        new_image: dict[str, Any] | None,
        stored_at: float,
    ) -> None:
        self.table = table
        self.sequence = sequence
        self.old_image = old_image
        self.new_image = new_image
        self.stored_at = stored_at
        self.event_name = "INSERT" if old_image is None else "REMOVE" if new_image is None else "MODIFY"
        self._old: Any = _UNREAD
        self._new: Any = _UNREAD

    @property
    def old(self) -> dict[str, Any] | None:
        if self._old is _UNREAD:
            self._old = plain_image(self.old_image)
        return cast(dict[str, Any] | None, self._old)

    @property
    def new(self) -> dict[str, Any] | None:
        if self._new is _UNREAD:
            self._new = plain_image(self.new_image)
        return cast(dict[str, Any] | None, self._new)

    def sort_key(self, name: str = "sk") -> str:
        image = self.new_image if self.new_image is not None else self.old_image
        return str((image or {}).get(name, {}).get("S", ""))

    def lambda_record(self, stream_arn: str, keys: tuple[str, ...]) -> dict[str, Any]:
        """The record as Lambda hands it to a function (``keys``: the table's key attribute names)."""
        image = self.new_image if self.new_image is not None else self.old_image or {}
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": float(math.floor(self.stored_at)),
            "Keys": {name: image[name] for name in keys if name in image},
            "SequenceNumber": self.sequence,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if self.new_image is not None:
            stream["NewImage"] = self.new_image
        if self.old_image is not None:
            stream["OldImage"] = self.old_image
        return {
            "eventID": f"{self.sequence[-16:]}",
            "eventName": self.event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": stream,
            "eventSourceARN": stream_arn,
        }


class SimulatedDynamoDB:
    """The DynamoDB calls SellerStream and Powertools' idempotency make, in memory, with DynamoDB's
    semantics for them: conditional writes (the expressions they use: comparisons, AND/OR,
    parentheses, attribute_exists / attribute_not_exists), ReturnValuesOnConditionCheckFailure,
    an update's ReturnValues ALL_OLD, all-or-nothing TransactWriteItems with cancellation reasons, SET updates, projections,
    BatchWriteItem, and Query on a table's own keys.

    A table created (or updated) with a ``StreamSpecification`` keeps a change stream in
    ``streams[table]``: a ``StreamRecord`` per item each successful write changed, in order, stamped
    with ``clock()``. As DynamoDB Streams does: a failed conditional write or a cancelled
    transaction leaves none; each item a transaction or a batch writes leaves one; deleting an
    absent item leaves none; and a put or update that leaves the item exactly as it was leaves none
    (DynamoDB documents that a write which changes no data in an item writes no stream record).

    moto does the same through botocore's serialisation at about a millisecond a call; hours of
    simulated Prime Day make millions of calls. Tests check it against moto for every call shape
    the product makes (``tests/unit/local/test_simulated_dynamodb.py``).
    """

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, ...]] = {}
        self._items: dict[str, dict[tuple[tuple[str, Any], ...], dict[str, Any]]] = {}
        # The keys of each partition of a table with a sort key, for Query.
        self._partitions: dict[str, dict[tuple[str, Any], dict[tuple[tuple[str, Any], ...], None]]] = {}
        self._indexes: dict[str, dict[str, str]] = {}  # per table: local index -> its attribute
        self.calls: Counter[str] = Counter()
        self.streams: dict[str, list[StreamRecord]] = {}
        self.clock: Callable[[], float] = time.time  # when a write is stored (a simulation's clock)
        self._sequences = itertools.count(_FIRST_SEQUENCE)

    def create_table(
        self,
        TableName: str,
        KeySchema: list[dict[str, str]],
        StreamSpecification: dict[str, Any] | None = None,
        LocalSecondaryIndexes: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self._keys[TableName] = tuple(key["AttributeName"] for key in KeySchema)
        # A local index (every attribute projected) orders a partition's items by one attribute.
        self._indexes[TableName] = {
            index["IndexName"]: index["KeySchema"][1]["AttributeName"]
            for index in LocalSecondaryIndexes or ()
        }
        self._items[TableName] = {}
        if len(self._keys[TableName]) > 1:
            self._partitions[TableName] = {}
        if StreamSpecification:
            self.update_table(TableName=TableName, StreamSpecification=StreamSpecification)
        return {"TableDescription": {"TableName": TableName}}

    def update_table(
        self, TableName: str, StreamSpecification: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        """Turns the table's stream on (only NEW_AND_OLD_IMAGES is simulated) or off."""
        if StreamSpecification is not None:
            if not StreamSpecification.get("StreamEnabled"):
                self.streams.pop(TableName, None)
            elif StreamSpecification.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
                raise ValueError("only streams of new and old images are simulated")
            else:
                self.streams.setdefault(TableName, [])
        return {"TableDescription": {"TableName": TableName}}

    def stream_arn(self, table: str) -> str:
        return f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/{STREAM_LABEL}"

    def key_names(self, table: str) -> tuple[str, ...]:
        return self._keys[table]

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
        old = self._items[TableName].get(key)
        self._store(TableName, key, _updated(old, Key, UpdateExpression, options))
        if old is not None and options.get("ReturnValues") == "ALL_OLD":
            return {"Attributes": _copy(old)}
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
        in sort key order, or on a local index (``IndexName``; ``pk = :v``: the partition's items
        that have the index's number attribute, in its order), with projections, ``Limit`` and
        ``ExclusiveStartKey`` (pages by count only: the product's items are small)."""
        self.calls["Query"] += 1
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
        index = options.get("IndexName")
        if index is not None:
            by = self._indexes[TableName][index]  # a KeyError for an index the table does not have

            def position(item: dict[str, Any]) -> tuple[Any, ...]:
                return (Decimal(item[by]["N"]), next(iter(item[sort_name].values())))

            items = [item for item in items if by in item]
        else:

            def position(item: dict[str, Any]) -> tuple[Any, ...]:
                return (next(iter(item[sort_name].values())),)

        items.sort(key=position)
        ahead = options.get("ScanIndexForward") is not False
        if not ahead:
            items.reverse()
        start = options.get("ExclusiveStartKey")
        if start is not None:
            after = position(start)
            items = [i for i in items if (position(i) > after if ahead else position(i) < after)]
        limit = options.get("Limit")
        more = limit is not None and len(items) > limit
        items = items[:limit] if limit is not None else items
        projection = options.get("ProjectionExpression")
        found = [_project(item, projection, names) for item in items]
        page: dict[str, Any] = {"Items": found, "Count": len(found), "ScannedCount": len(found)}
        if more:
            last = (partition_name, sort_name, *((by,) if index is not None else ()))
            page["LastEvaluatedKey"] = {name: items[-1][name] for name in last}
        return page

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
        items = self._items[table]
        stream = self.streams.get(table)
        if stream is not None:
            old = items.get(key)
            if old != item:
                stream.append(StreamRecord(table, str(next(self._sequences)), old, item, self.clock()))
        items[key] = item
        partitions = self._partitions.get(table)
        if partitions is not None:
            partitions.setdefault(key[0], {})[key] = None

    def _remove(self, table: str, key: tuple[tuple[str, Any], ...]) -> None:
        old = self._items[table].pop(key, None)
        if old is None:
            return
        if table in self._partitions:
            self._partitions[table][key[0]].pop(key, None)
        stream = self.streams.get(table)
        if stream is not None:
            stream.append(StreamRecord(table, str(next(self._sequences)), old, None, self.clock()))

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


# -- SellerStream's bus and the stream's event source mapping ----------------------------------

# EventBridge's PutEvents: at most 10 entries and 256 KB a call; each entry is billed per 64 KB
# started (its Time, Source, DetailType, Detail and Resources count).
PUT_EVENTS_MAX_ENTRIES = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024
BILLED_CHUNK_BYTES = 64 * 1024
TIME_FIELD_BYTES = 14


def lognormal(rng: random.Random, median: float, p95: float) -> float:
    """A latency drawn from the lognormal distribution with this median and 95th percentile."""
    if median <= 0:
        return 0.0
    sigma = math.log(max(p95, median) / median) / 1.6449
    return median * math.exp(rng.gauss(0.0, sigma))


@dataclass(frozen=True)
class LatencyModel:
    """How long each step from a stored write to a delivered event takes (virtual seconds), and how
    Lambda's event source mapping reads a shard. Medians and 95th percentiles of lognormal draws;
    whoever runs the model declares its values and their sources."""

    propagation_median: float = 0.0  # from the write until GetRecords returns its stream record
    propagation_p95: float = 0.0
    poll_interval: float = 0.25  # Lambda polls each shard 4 times a second
    batch_size: int = 100
    batching_window: float = 1.0
    invocation_overhead: float = 0.0  # per invocation of a warm container
    seconds_per_record: float = 0.0  # the function's own work per record handed to it
    cold_start: float = 0.0  # a new container's start (after a kill, or the first invocation)
    put_median: float = 0.0  # one PutEvents call, request to answer
    put_p95: float = 0.0
    delivery_median: float = 0.0  # from EventBridge taking an event until its target has it
    delivery_p95: float = 0.0
    retry_delay: float = 1.0  # after a failed invocation, doubling per failure in a row
    max_retry_delay: float = 30.0
    max_record_age: float = 24 * 3600.0  # then a record goes to the on-failure destination

    def propagation(self, rng: random.Random) -> float:
        return lognormal(rng, self.propagation_median, self.propagation_p95)

    def put(self, rng: random.Random) -> float:
        return lognormal(rng, self.put_median, self.put_p95)

    def delivery(self, rng: random.Random) -> float:
        return lognormal(rng, self.delivery_median, self.delivery_p95)


@dataclass(frozen=True)
class BusFaults:
    """What EventBridge's PutEvents answers besides success, and how often. An event that is valid is
    never refused for good (MalformedDetail is only ever the answer to an invalid one)."""

    entry_throttles: float = 0.0  # per entry: ThrottlingException
    entry_internal_failures: float = 0.0  # per entry: InternalFailure
    call_failures: float = 0.0  # per call: it fails (after the SDK's retries), nothing taken
    lost_answers: float = 0.0  # per call: every entry taken, the answer lost (a timeout)
    # Periods (start, end) in which the account's PutEvents quota is exceeded: this share of the
    # entries is throttled (a burst elsewhere in the account, a regional hiccup).
    outages: tuple[tuple[float, float], ...] = ()
    outage_throttles: float = 0.9


@dataclass(frozen=True)
class Delivery:
    """One event as a rule's target gets it: EventBridge's JSON, and when it arrived."""

    at: float
    body: str


@dataclass
class BusCounts:
    calls: int = 0
    entries: int = 0  # entries sent, retries included
    taken: int = 0
    billed: int = 0  # billed events: 64 KB chunks of the taken entries
    entry_bytes: int = 0  # of the taken entries
    failed_calls: int = 0
    lost_answers: int = 0
    invalid: int = 0  # entries refused as malformed
    errors: Counter[str] = field(default_factory=Counter)  # entry error codes answered
    cpu_seconds: float = 0.0  # the simulated bus's own work (its callers' threads' CPU time)


class SimulatedEventBus:
    """SellerStream's bus behind the product's ``EventBus`` port: one PutEvents call per ``put``, on
    the virtual clock, with EventBridge's limits and answers (``faults``). Every entry it takes is
    delivered, in the order of the calls, to ``deliveries`` as a target receives it (EventBridge's
    own JSON: its id, detail-type, source, time, detail); within one call the order is
    EventBridge's (``shuffle``: not the entries' order, which EventBridge does not promise).
    ``after_put`` runs after a call that took entries, before it returns: a fault matrix kills the
    container there."""

    def __init__(
        self,
        clock: VirtualTime,
        rng: random.Random,
        *,
        source: str,
        faults: BusFaults = BusFaults(),
        latency: LatencyModel = LatencyModel(),
        shuffle: bool = True,
        after_put: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._source = source
        self._faults = faults
        self._latency = latency
        self._shuffle = shuffle
        self.after_put = after_put
        self.deliveries: list[Delivery] = []
        self.counts = BusCounts()

    def put(self, events: Sequence[OutgoingEvent]) -> list[str | None]:
        started = time.thread_time()
        try:
            return self._put(events)
        finally:
            self.counts.cpu_seconds += time.thread_time() - started

    def _put(self, events: Sequence[OutgoingEvent]) -> list[str | None]:
        counts, rng, faults = self.counts, self._rng, self._faults
        entries = [(event, self._entry_size(event)) for event in events]
        if not 0 < len(entries) <= PUT_EVENTS_MAX_ENTRIES or sum(size for _, size in entries) > (
            PUT_EVENTS_MAX_BYTES
        ):
            raise _client_error("ValidationException", "1 to 10 entries and 256 KB per call", "PutEvents")
        counts.calls += 1
        counts.entries += len(entries)
        self._clock.sleep(self._latency.put(rng))
        if rng.random() < faults.call_failures:
            counts.failed_calls += 1
            raise _client_error("InternalException", "Internal service error", "PutEvents")
        now = self._clock.now
        outage = any(start <= now < end for start, end in faults.outages)
        lost = rng.random() < faults.lost_answers
        codes: list[str | None] = []
        taken: list[tuple[OutgoingEvent, int]] = []
        for event, size in entries:
            code = None if _well_formed(event) else "MalformedDetail"
            if code is None and not lost:
                roll = rng.random()
                if (outage and roll < faults.outage_throttles) or roll < faults.entry_throttles:
                    code = "ThrottlingException"
                elif roll < faults.entry_throttles + faults.entry_internal_failures:
                    code = "InternalFailure"
            codes.append(code)
            if code is None:
                taken.append((event, size))
            else:
                counts.errors[code] += 1
                counts.invalid += code == "MalformedDetail"
        if self._shuffle:
            rng.shuffle(taken)
        for event, size in taken:
            counts.taken += 1
            counts.entry_bytes += size
            counts.billed += -(-size // BILLED_CHUNK_BYTES)
            self.deliveries.append(Delivery(now + self._latency.delivery(rng), self._as_delivered(event)))
        if taken and self.after_put is not None:
            self.after_put()
        if lost:
            counts.lost_answers += 1
            raise _client_error("RequestTimeout", "the answer never came", "PutEvents")
        return codes

    def _entry_size(self, event: OutgoingEvent) -> int:
        size = (
            len(self._source.encode()) + len(event.detail_type.encode()) + len(event.detail_json().encode())
        )
        return size + (TIME_FIELD_BYTES if event.stored_at is not None else 0)

    def _as_delivered(self, event: OutgoingEvent) -> str:
        at = event.stored_at if event.stored_at is not None else self._clock.now
        return json.dumps(
            {
                "version": "0",
                "id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                "detail-type": event.detail_type,
                "source": self._source,
                "account": "123456789012",
                "time": real.datetime.fromtimestamp(at, real.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "us-east-1",
                "resources": [],
                "detail": json.loads(event.detail_json()),
            },
            separators=(",", ":"),
        )


def _well_formed(event: OutgoingEvent) -> bool:
    """What EventBridge checks of an entry: a detail-type, and a detail that is a JSON object."""
    if not event.detail_type or len(event.detail_type) > 128:
        return False
    try:
        return isinstance(json.loads(event.detail_json()), dict)
    except ValueError:
        return False


@dataclass
class ShardCounts:
    """What the event source mapping did over a shard."""

    records: int = 0  # the shard's records
    filtered: int = 0  # passed over by the mapping's filter (never handed to the function)
    invocations: int = 0
    handed: int = 0  # records handed to the function, again on each retry
    partial_failures: int = 0  # invocations answering a record to retry from
    function_errors: int = 0  # invocations that raised
    killed: int = 0  # invocations whose container died
    cold_starts: int = 0
    billed_seconds: float = 0.0  # the invocations' durations, cold starts included
    expired: int = 0  # records older than the maximum age: a pointer to the on-failure destination


def serve_stream(
    clock: VirtualTime,
    records: Sequence[StreamRecord],
    invoke: Callable[[list[StreamRecord]], str | None],
    *,
    latency: LatencyModel,
    rng: random.Random,
    passes: Callable[[StreamRecord], bool] = lambda record: True,
    dies: tuple[type[BaseException], ...] = (),
    counts: ShardCounts | None = None,
) -> ShardCounts:
    """Lambda's event source mapping over one shard holding ``records`` (all of them written
    already: each becomes readable at its stored time plus the stream's propagation, in order), one
    invocation at a time, on the virtual clock; run it as a participant of ``clock``.

    The mapping polls 4 times a second (``latency.poll_interval``); once a poll finds records it keeps
    reading until it holds a full batch or the batching window has passed since, then invokes
    ``invoke`` with the batch (only the records ``passes``: the mapping's filter). ``invoke`` answers
    the sequence number of the record to retry from (Lambda's partial batch response; None: all
    done). A record named that is not in the batch, an exception, or a container that died (one of
    ``dies``, after which a new container starts cold) fails the whole batch: the mapping reads
    again from the record after the last checkpoint, after a delay doubling per failure in a row.
    Polling resumes as soon as an invocation returns. Records older than ``latency.max_record_age``
    are passed over (their pointer would go to the on-failure destination)."""
    counts = counts if counts is not None else ShardCounts()
    counts.records += len(records)
    chosen: list[tuple[StreamRecord, float]] = []  # (record, when it is readable)
    readable = -math.inf
    for record in records:
        readable = max(readable, record.stored_at + latency.propagation(rng))
        if passes(record):
            chosen.append((record, readable))
    counts.filtered += len(records) - len(chosen)
    shard = _Shard(clock, latency, counts, chosen, clock.now + rng.uniform(0.0, latency.poll_interval))
    while shard.position < len(chosen):
        batch = shard.next_batch()
        if not batch:
            continue
        started = clock.now
        if not shard.warm:
            counts.cold_starts += 1
            clock.sleep(latency.cold_start)
            shard.warm = True
        clock.sleep(latency.invocation_overhead + latency.seconds_per_record * len(batch))
        counts.invocations += 1
        counts.handed += len(batch)
        done = 0
        try:
            retry_from = invoke(batch)
        except dies:
            counts.killed += 1
            shard.warm = False
        except Exception:
            counts.function_errors += 1
        else:
            sequences = [record.sequence for record in batch]
            if retry_from is None:
                done = len(batch)
            else:
                counts.partial_failures += 1
                done = sequences.index(retry_from) if retry_from in sequences else 0
        counts.billed_seconds += clock.now - started
        shard.checkpoint(done, len(batch))
    return counts


class _Shard:
    """Where the mapping stands in a shard: its checkpoint, its next poll, its failures in a row."""

    def __init__(
        self,
        clock: VirtualTime,
        latency: LatencyModel,
        counts: ShardCounts,
        chosen: list[tuple[StreamRecord, float]],
        first_poll: float,
    ) -> None:
        self._clock = clock
        self._latency = latency
        self._counts = counts
        self._chosen = chosen
        self.poll = first_poll  # the polls are not aligned with anything
        self.position = 0
        self.failures = 0
        self.warm = False

    def next_batch(self) -> list[StreamRecord]:
        """Polls until records are readable, then reads for a full batch or the batching window."""
        clock, latency, chosen = self._clock, self._latency, self._chosen
        interval, size = latency.poll_interval, latency.batch_size
        self.poll = _next_tick(self.poll, max(clock.now, chosen[self.position][1]), interval)
        clock.sleep(self.poll - clock.now)
        last = self.position + size - 1
        full_at = _next_tick(self.poll, chosen[last][1], interval) if last < len(chosen) else math.inf
        clock.sleep(min(clock.now + latency.batching_window, full_at) - clock.now)
        while (
            self.position < len(chosen)
            and clock.now - chosen[self.position][0].stored_at > latency.max_record_age
        ):
            self._counts.expired += 1
            self.position += 1
        end = self.position
        while end < len(chosen) and end - self.position < size and chosen[end][1] <= clock.now:
            end += 1
        return [record for record, _ in chosen[self.position : end]]

    def checkpoint(self, done: int, handed: int) -> None:
        """Moves past the records done; after a failure, waits before reading again."""
        self.position += done
        if done < handed:
            self.failures += 1
            delay = self._latency.retry_delay * 2 ** (self.failures - 1)
            self._clock.sleep(min(delay, self._latency.max_retry_delay))
        else:
            self.failures = 0
        self.poll = self._clock.now


def _next_tick(base: float, at: float, interval: float) -> float:
    """The first of the polls ``base``, ``base + interval``, ... at or after ``at``."""
    if at <= base:
        return base
    return base + math.ceil((at - base) / interval - 1e-9) * interval


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
    """The item after a ``SET a = :v, ... [REMOVE b, ...]`` update (the forms the product writes)."""
    item = _copy_item(current or key)
    names = options.get("ExpressionAttributeNames") or {}
    values = options.get("ExpressionAttributeValues") or {}
    clause, _, removed = expression.strip().partition(" REMOVE ")
    if not clause.upper().startswith("SET "):
        raise ValueError(f"only SET (and REMOVE) updates are simulated: {expression!r}")
    for assignment in clause[4:].split(","):
        target, _, source = assignment.partition("=")
        item[names.get(target.strip(), target.strip())] = _copy(values[source.strip()])
    for name in filter(None, (part.strip() for part in removed.split(","))):
        item.pop(names.get(name, name), None)
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
def quiet_function_logs(stream: IO[str] | None = None) -> Iterator[None]:
    """The functions' own JSON logs go nowhere (or to ``stream``) while a simulation runs
    (Powertools' handler holds the stream it started with, so replacing ``sys.stdout`` would not
    silence it)."""
    from sellerstream.observability import logger  # noqa: PLC0415 - once the run's environment is set

    handler = logger.logger_handler
    with open(os.devnull, "w") as devnull:
        saved = handler.setStream(stream or devnull)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(saved)  # type: ignore[attr-defined]
