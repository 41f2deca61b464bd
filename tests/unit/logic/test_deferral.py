"""Deferral of records that must wait: bounded by the notification's age, delayed by the known wait."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sellerstream.logic.deferral import (
    DEFERRALS_ATTRIBUTE,
    FIRST_SENT_ATTRIBUTE,
    MAX_DELAY_SECONDS,
    age_seconds,
    can_defer,
    deferral_delay,
    first_sent_ms,
)
from sellerstream.sqs_record import SQSRecord

NOW = 1_790_000_000.0
DAY = 86_400
RETENTION = 14 * DAY


def record(
    *, sent_seconds_ago: float = 0.0, first_sent_seconds_ago: float | None = None, deferrals: int = 0
) -> SQSRecord:
    attributes: dict[str, Any] = {}
    if first_sent_seconds_ago is not None:
        attributes[FIRST_SENT_ATTRIBUTE] = {
            "stringValue": str(int((NOW - first_sent_seconds_ago) * 1000)),
            "dataType": "Number",
        }
    if deferrals:
        attributes[DEFERRALS_ATTRIBUTE] = {"stringValue": str(deferrals), "dataType": "Number"}
    return SQSRecord(
        {
            "messageId": "m-1",
            "body": "{}",
            "attributes": {
                "SentTimestamp": str(int((NOW - sent_seconds_ago) * 1000)),
                "ApproximateReceiveCount": "1",
            },
            "messageAttributes": attributes,
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
        }
    )


def test_given_an_original_message_when_aged_then_counted_from_its_sent_timestamp() -> None:
    assert age_seconds(record(sent_seconds_ago=120), NOW) == pytest.approx(120, abs=0.01)


def test_given_a_deferred_copy_when_aged_then_counted_from_the_first_delivery_it_carries() -> None:
    copy = record(sent_seconds_ago=10, first_sent_seconds_ago=3 * DAY)

    assert age_seconds(copy, NOW) == pytest.approx(3 * DAY, abs=0.01)
    assert first_sent_ms(copy, NOW) == int((NOW - 3 * DAY) * 1000)


def test_given_many_deferrals_within_retention_when_asked_then_it_may_wait_again() -> None:
    copy = record(first_sent_seconds_ago=5 * DAY, deferrals=400)

    assert can_defer(copy, MAX_DELAY_SECONDS, now=NOW, retention_seconds=RETENTION)


def test_given_a_notification_the_delay_would_take_past_retention_when_asked_then_it_may_not() -> None:
    copy = record(first_sent_seconds_ago=RETENTION - 3600, deferrals=2)

    assert not can_defer(copy, MAX_DELAY_SECONDS, now=NOW, retention_seconds=RETENTION)


def test_given_a_known_wait_when_delaying_then_back_at_or_just_before_it_and_never_past_sqs_limit() -> None:
    # SQS delays are whole seconds: rounded down, a copy is never back after the time it was given
    # (a slot held for it would pass unused).
    assert deferral_delay(record(), 40.9, base_seconds=30) == 40
    assert deferral_delay(record(), 40.0, base_seconds=30) == 40
    assert deferral_delay(record(), 0.2, base_seconds=30) == 1  # SQS's smallest delay that is one
    assert deferral_delay(record(), 5000.0, base_seconds=30) == MAX_DELAY_SECONDS
    assert deferral_delay(record(), 5000.0, base_seconds=1, max_seconds=45) == 45


def test_given_an_unknown_wait_when_delaying_then_doubling_from_the_base_up_to_the_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)

    delays = [deferral_delay(record(deferrals=n), 0.0, base_seconds=30) for n in range(7)]

    assert delays == [30, 60, 120, 240, 480, 900, 900]
