"""Throttled records wait in the queue without spending their receives.

A record that fails because SP-API's quota is spent (429s past the retry budget, or our own
bucket empty for longer than the invocation has left) is not poison: on Prime Day a seller's
backlog can outlast maxReceiveCount x the visibility timeout, and failing it would dead-letter
good notifications. Instead a copy goes back to the same queue with a growing delay (SQS
DelaySeconds) and a deferral count; the original is then reported as done. The copy is durable
before the original is deleted, so nothing is lost; a duplicate (if the delete ever failed) is
absorbed by idempotency. After MAX_DEFERRALS the record fails normally and reaches the DLQ.
"""

from __future__ import annotations

import random
from functools import cache

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from sellerstream import aws
from sellerstream.logic.message_attributes import carried_attributes

DEFERRALS_ATTRIBUTE = "sellerstream-throttle-deferrals"
MAX_DEFERRALS = 10
MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds


def deferrals_of(record: SQSRecord) -> int:
    attribute = record.message_attributes[DEFERRALS_ATTRIBUTE]
    try:
        return int(attribute.string_value or 0) if attribute is not None else 0
    except ValueError:
        return 0


def can_defer(record: SQSRecord) -> bool:
    return deferrals_of(record) < MAX_DEFERRALS


def defer(record: SQSRecord, *, base_seconds: int) -> int:
    """Re-enqueues the record's body with a jittered, growing delay; returns the delay."""
    deferrals = deferrals_of(record) + 1
    ceiling = min(MAX_DELAY_SECONDS, base_seconds * 2 ** (deferrals - 1))
    delay = max(1, int(random.uniform(ceiling / 2, ceiling)))  # noqa: S311 - jitter, not security
    aws.client("sqs").send_message(
        QueueUrl=queue_url(record.event_source_arn),
        MessageBody=record.body,
        DelaySeconds=delay,
        MessageAttributes={
            **carried_attributes(record),
            DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals)},
        },
    )
    return delay


@cache
def queue_url(queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return str(aws.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
