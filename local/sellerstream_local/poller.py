"""A local stand-in for Lambda's SQS event source mapping.

It receives batches, invokes the real handler with an SQS event, deletes exactly the records the
handler did not report as failures, and leaves failures to reappear after the visibility timeout;
the queue's redrive policy (enforced by SQS/moto on receive) moves them to the DLQ after
maxReceiveCount receives. A handler that raises fails its whole batch, as on Lambda.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sellerstream_local.resources import LocalQueue

if TYPE_CHECKING:
    from sellerstream.handlers.entry import QueueHandler
    from sellerstream.logic.batch import BatchResult


@contextlib.contextmanager
def function_environment(variables: dict[str, str]) -> Iterator[None]:
    """A function's own variables for one invocation (one process plays every function; a function
    reads them when it builds its use case, on its first invocation)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalLambdaContext:
    """The parts of Lambda's context object that Powertools and the handlers use."""

    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


@dataclass
class PollerStats:
    invocations: int = 0
    received: int = 0  # receives, redeliveries included
    succeeded: int = 0
    failed_attempts: int = 0
    handler_crashes: int = 0
    receives_by_message: Counter[str] = field(default_factory=Counter)

    @property
    def distinct_messages(self) -> int:
        return len(self.receives_by_message)

    @property
    def retried_messages(self) -> int:
        return sum(1 for count in self.receives_by_message.values() if count > 1)


_COUNTS = ("invocations", "received", "succeeded", "failed_attempts", "handler_crashes")


def snapshot(stats: PollerStats) -> PollerStats:
    return PollerStats(
        **{name: getattr(stats, name) for name in _COUNTS},
        receives_by_message=Counter(stats.receives_by_message),
    )


def difference(after: PollerStats, before: PollerStats) -> PollerStats:
    """What happened between two snapshots of one poller."""
    return PollerStats(
        **{name: getattr(after, name) - getattr(before, name) for name in _COUNTS},
        receives_by_message=after.receives_by_message - before.receives_by_message,
    )


def combine(parts: list[PollerStats]) -> PollerStats:
    total = PollerStats()
    for part in parts:
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.receives_by_message.update(part.receives_by_message)
    return total


class LocalPoller:
    def __init__(
        self,
        sqs: Any,
        queue: LocalQueue,
        handler: QueueHandler,
        *,
        function_name: str,
        batch_size: int,
        timeout_seconds: int,
        region: str = "us-east-1",
        output: IO[str] | None = None,
        environment: dict[str, str] | None = None,
        on_receive: Callable[[dict[str, Any]], None] | None = None,
        on_result: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue = queue
        self._handler = handler
        self._function_name = function_name
        self._batch_size = batch_size
        self._timeout_seconds = timeout_seconds
        self._region = region
        self._output = output
        # What this function's configuration adds to the shared environment (its own DLQ, ...).
        self._environment = environment or {}
        self._on_receive = on_receive
        self._on_result = on_result
        self.stats = PollerStats()

    def poll_once(self) -> int:
        """One receive + invoke + delete cycle; returns how many messages it received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue.url,
            MaxNumberOfMessages=min(self._batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return 0
        self.stats.invocations += 1
        self.stats.received += len(messages)
        for message in messages:
            self.stats.receives_by_message[message["MessageId"]] += 1
            if self._on_receive is not None:
                self._on_receive(message)
        failed_ids = self._invoke(messages)
        done = [message for message in messages if message["MessageId"] not in failed_ids]
        self.stats.failed_attempts += len(messages) - len(done)
        if done:
            # One call for the batch, as the event source mapping does.
            self._sqs.delete_message_batch(
                QueueUrl=self._queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            self.stats.succeeded += len(done)
        return len(messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        event = {"Records": [self._record(message) for message in messages]}
        context = LocalLambdaContext(self._function_name, self._timeout_seconds)
        try:
            # Like Lambda, whatever the function prints (EMF metrics) goes to its log, not our terminal.
            with contextlib.redirect_stdout(self._output or io.StringIO()), self._function_environment():
                result = self._handler.process(event, context)  # type: ignore[arg-type]
        except Exception:
            # Lambda treats an invocation error as the failure of every record in the batch.
            self.stats.handler_crashes += 1
            return {message["MessageId"] for message in messages}
        if self._on_result is not None:
            self._on_result(result)
        return {outcome.message_id for outcome in result.outcomes if not outcome.done}

    def _function_environment(self) -> contextlib.AbstractContextManager[None]:
        return function_environment(self._environment)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue.arn,
            "awsRegion": self._region,
        }

    def queue_is_empty(self) -> bool:
        """No visible, in-flight or delayed message (what is past maxReceiveCount moves on the next receive).

        Asked twice: the three counts are taken one after another, so a message whose visibility
        timeout (or delay) ends between them is in none of them. The second reading comes after
        that moment and sees it visible."""
        return self._counts_are_zero() and self._counts_are_zero()

    def _counts_are_zero(self) -> bool:
        counts = (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue.url, AttributeNames=list(counts))[
            "Attributes"
        ]
        return all(int(attributes[name]) == 0 for name in counts)
