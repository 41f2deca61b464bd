"""A consumer's own queue and its dead-letter queue on SQS (the message queue port)."""

from __future__ import annotations

from sellerstream import aws
from sellerstream.ports import MessageAttributes


class SqsMessageQueue:
    def __init__(self, queue_url: str, dead_letter_queue_url: str) -> None:
        self._queue_url = queue_url
        self._dead_letter_queue_url = dead_letter_queue_url

    def defer(self, body: str, attributes: MessageAttributes, *, delay_seconds: int) -> str:
        return self._send(self._queue_url, body, attributes, delay_seconds)

    def continue_later(self, body: str, attributes: MessageAttributes) -> str:
        return self._send(self._queue_url, body, attributes, 0)

    def dead_letter(self, body: str, attributes: MessageAttributes) -> str:
        return self._send(self._dead_letter_queue_url, body, attributes, 0)

    @staticmethod
    def _send(queue_url: str, body: str, attributes: MessageAttributes, delay_seconds: int) -> str:
        request: dict[str, object] = {
            "QueueUrl": queue_url,
            "MessageBody": body,
            "MessageAttributes": {name: dict(value) for name, value in attributes.items()},
        }
        if delay_seconds:
            request["DelaySeconds"] = delay_seconds
        return str(aws.client("sqs").send_message(**request)["MessageId"])
