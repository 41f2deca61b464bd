"""Records that must wait (a spent quota, a lagging read) wait in the queue without spending receives.

A record that cannot be completed now through no fault of its own (SP-API's quota is spent, or
Amazon answered with a state older than the change the notification announces) is not poison: on
Prime Day a seller's backlog can outlast maxReceiveCount x the visibility timeout, and failing it
would dead-letter good notifications. Instead a copy goes back to the same queue with a delay (SQS
DelaySeconds, at most 900 s): the wait the use case knows (to the second, never past it), or a
growing one when it is unknown.
The original is then reported as done. The copy is durable before the original is deleted, so
nothing is lost; a duplicate (if the delete ever failed) is absorbed by idempotency.

Deferral is bounded by age, not by count: every copy carries the time the notification was first
sent to the queue, and a record is deferred as long as the notification would not outlive the
queue's retention. Past that (something is wrong for longer than the queue keeps messages) it
fails normally and reaches the DLQ after its receives.
"""

from __future__ import annotations

import math
import random

from sellerstream.logic.message_attributes import carried_attributes
from sellerstream.ports import MessageQueue
from sellerstream.sqs_record import SQSRecord

DEFERRALS_ATTRIBUTE = "sellerstream-throttle-deferrals"
# Epoch milliseconds at which the notification first entered the queue (SQS SentTimestamp).
FIRST_SENT_ATTRIBUTE = "sellerstream-first-sent"
MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds
# Kept free at the end of the retention: the receives of a record that finally fails.
RETENTION_MARGIN_SECONDS = 3600


def deferrals_of(record: SQSRecord) -> int:
    return _int_attribute(record, DEFERRALS_ATTRIBUTE) or 0


def first_sent_ms(record: SQSRecord, now: float) -> int:
    """When the notification first entered the queue (epoch ms): carried by copies, else SentTimestamp."""
    carried = _int_attribute(record, FIRST_SENT_ATTRIBUTE)
    if carried is not None:
        return carried
    sent = record.attributes.sent_timestamp
    try:
        return int(sent) if sent is not None else int(now * 1000)
    except ValueError:  # not delivered by SQS (a hand-made event)
        return int(now * 1000)


def age_seconds(record: SQSRecord, now: float) -> float:
    return max(now - first_sent_ms(record, now) / 1000.0, 0.0)


def can_defer(record: SQSRecord, delay_seconds: int, *, now: float, retention_seconds: int) -> bool:
    """True while the notification, deferred by ``delay_seconds``, stays within the queue's retention."""
    return age_seconds(record, now) + delay_seconds + RETENTION_MARGIN_SECONDS < retention_seconds


def deferral_delay(
    record: SQSRecord, wait_needed: float, *, base_seconds: int, max_seconds: int = MAX_DELAY_SECONDS
) -> int:
    """The copy's delay: the known wait rounded down to whole seconds (SQS's unit), so the copy is
    back at or just before the time it was given, never after; else ``base_seconds`` doubling per
    deferral, jittered; at most ``max_seconds`` (and 900), at least one second."""
    if wait_needed > 0:
        # Back at the slot, not after it: one back early waits a moment in its batch, or is
        # deferred again.
        return max(1, min(max_seconds, MAX_DELAY_SECONDS, math.floor(wait_needed)))
    return growing_delay(deferrals_of(record), base_seconds=base_seconds, max_seconds=max_seconds)


def growing_delay(attempt: int, *, base_seconds: int, max_seconds: int = MAX_DELAY_SECONDS) -> int:
    """``base_seconds`` doubling per earlier attempt (``attempt`` 0 first), drawn from the upper
    half so copies that failed together do not return together; at most ``max_seconds`` (and 900),
    at least one second. Also what a report part a transient failure interrupted waits before its
    continuation (``report_finished``)."""
    ceiling = min(max_seconds, MAX_DELAY_SECONDS)
    grown = min(ceiling, base_seconds * 2 ** min(max(attempt, 0), 30))  # past 30 doublings: the ceiling
    return max(1, min(ceiling, int(random.uniform(grown / 2, grown))))  # noqa: S311


def defer(queue: MessageQueue, record: SQSRecord, delay_seconds: int, *, now: float) -> str:
    """Puts the record's body back on its queue with the delay, carrying its deferral count and
    first-sent time; returns the copy's message id."""
    return queue.defer(
        record.body,
        {
            **carried_attributes(record),
            DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals_of(record) + 1)},
            FIRST_SENT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(first_sent_ms(record, now))},
        },
        delay_seconds=delay_seconds,
    )


def _int_attribute(record: SQSRecord, name: str) -> int | None:
    attribute = record.message_attributes[name]
    if attribute is None or not attribute.string_value:
        return None
    try:
        return int(attribute.string_value)
    except ValueError:
        return None
