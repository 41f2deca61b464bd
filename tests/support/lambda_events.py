"""SQS events and Lambda contexts as Lambda hands them to a handler, for tests below the pipeline."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:sellerstream-unit"
_serial = itertools.count(1)


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    sent_ms: int = 1_790_000_000_000,
    attributes: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """One record; ``attributes`` are message attributes as name -> (data type, value)."""
    return {
        "messageId": message_id or f"message-{next(_serial)}",
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": str(sent_ms)},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": data_type}
            for name, (data_type, value) in (attributes or {}).items()
        },
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(*bodies: str, **record_options: Any) -> dict[str, Any]:
    return {"Records": [sqs_record(body, **record_options) for body in bodies]}


class FakeLambdaContext:
    """The parts of Lambda's context the batch uses, on a clock (``seconds`` left at creation)."""

    function_name = "sellerstream-unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sellerstream-unit"
    aws_request_id = "request"

    def __init__(self, clock: Callable[[], float], seconds: float = 30.0) -> None:
        self._clock = clock
        self._deadline = clock() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - self._clock()) * 1000), 0)
