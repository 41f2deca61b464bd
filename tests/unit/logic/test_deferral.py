"""Deferral of records that must wait: bounded by the notification's age, delayed by the known wait."""

from __future__ import annotations

from typing import Any

import pytest

from sellerstream.logic.deferral import (
    DEFERRALS_ATTRIBUTE,
    FIRST_SENT_ATTRIBUTE,
    MAX_DELAY_SECONDS,
    age_seconds,
    can_defer,
    defer,
    deferral_delay,
    deferrals_of,
    first_sent_ms,
)
from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE
from sellerstream.sqs_record import SQSRecord
from tests.support.fakes import FakeMessageQueue

NOW = 1_790_000_000.0
DAY = 86_400
RETENTION = 14 * DAY


def record(
    *,
    sent_seconds_ago: float = 0.0,
    first_sent_seconds_ago: float | None = None,
    deferrals: int | str = 0,
    more: dict[str, tuple[str, str]] | None = None,
) -> SQSRecord:
    attributes: dict[str, Any] = {
        name: {"dataType": data_type, "stringValue": value}
        for name, (data_type, value) in (more or {}).items()
    }
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
            "body": '{"any": "body"}',
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


def test_given_a_message_sent_after_now_by_a_skewed_clock_when_aged_then_its_age_is_zero() -> None:
    assert age_seconds(record(sent_seconds_ago=-30), NOW) == 0.0


def test_given_a_hand_made_record_without_a_readable_sent_time_when_asked_then_it_was_first_sent_now() -> (
    None
):
    no_attributes = SQSRecord({"messageId": "m-1", "body": "{}", "eventSourceARN": "arn"})
    unreadable = SQSRecord(
        {
            "messageId": "m-2",
            "body": "{}",
            "attributes": {"SentTimestamp": "yesterday"},
            "eventSourceARN": "arn",
        }
    )

    assert first_sent_ms(no_attributes, NOW) == int(NOW * 1000)
    assert first_sent_ms(unreadable, NOW) == int(NOW * 1000)


def test_given_unreadable_deferral_attributes_when_read_then_they_count_as_absent() -> None:
    garbled = record(
        sent_seconds_ago=60, deferrals="many", more={FIRST_SENT_ATTRIBUTE: ("Number", "long ago")}
    )

    assert deferrals_of(garbled) == 0
    assert first_sent_ms(garbled, NOW) == int((NOW - 60) * 1000)


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
    assert deferral_delay(record(), 5000.0, base_seconds=1, max_seconds=3600) == MAX_DELAY_SECONDS


@pytest.mark.parametrize(
    ("deferrals", "low", "high"),
    [(0, 15, 30), (1, 30, 60), (2, 60, 120), (3, 120, 240), (4, 240, 480), (5, 450, 900), (40, 450, 900)],
)
def test_given_an_unknown_wait_when_delaying_then_the_base_doubles_per_deferral_up_to_the_maximum(
    deferrals: int, low: int, high: int
) -> None:
    delays = {deferral_delay(record(deferrals=deferrals), 0.0, base_seconds=30) for _ in range(50)}

    assert low <= min(delays) and max(delays) <= high


def test_given_an_unknown_wait_when_many_records_are_delayed_then_their_delays_are_spread() -> None:
    # Records throttled together must not all come back together.
    delays = {deferral_delay(record(deferrals=3), 0.0, base_seconds=30) for _ in range(50)}

    assert len(delays) > 1


def test_given_a_tiny_base_when_the_wait_is_unknown_then_the_delay_is_at_least_one_second() -> None:
    assert {deferral_delay(record(), 0.0, base_seconds=1) for _ in range(20)} == {1}


def test_given_an_original_record_when_deferred_then_its_copy_carries_count_first_sent_time_and_source() -> (
    None
):
    queue = FakeMessageQueue()
    original = record(sent_seconds_ago=90, more={CONTINUATION_PART_ATTRIBUTE: ("Number", "2")})

    copy_id = defer(queue, original, 45, now=NOW)

    [copy] = queue.deferred
    assert copy_id and (copy.body, copy.delay_seconds) == ('{"any": "body"}', 45)
    assert copy.attribute(DEFERRALS_ATTRIBUTE) == "1"
    assert copy.attribute(FIRST_SENT_ATTRIBUTE) == str(int((NOW - 90) * 1000))
    assert copy.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-1"
    assert copy.attribute(CONTINUATION_PART_ATTRIBUTE) == "2"
    assert copy.attributes[DEFERRALS_ATTRIBUTE]["DataType"] == "Number"


def test_given_a_deferred_copy_when_deferred_again_then_the_count_grows_and_the_first_sent_time_stays() -> (
    None
):
    queue = FakeMessageQueue()
    copy = record(
        sent_seconds_ago=10,
        first_sent_seconds_ago=DAY,
        deferrals=6,
        more={SOURCE_MESSAGE_ID_ATTRIBUTE: ("String", "m-from-amazon")},
    )

    defer(queue, copy, 900, now=NOW)

    [again] = queue.deferred
    assert again.attribute(DEFERRALS_ATTRIBUTE) == "7"
    assert again.attribute(FIRST_SENT_ATTRIBUTE) == str(int((NOW - DAY) * 1000))
    assert again.attribute(SOURCE_MESSAGE_ID_ATTRIBUTE) == "m-from-amazon"
