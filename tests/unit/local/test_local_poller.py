"""Local mode's SQS poller: when it judges a queue drained."""

from __future__ import annotations

from typing import Any

from sellerstream_local.poller import LocalPoller
from sellerstream_local.resources import LocalQueue

QUEUE = LocalQueue(
    name="orders",
    url="https://sqs.us-east-1.amazonaws.com/123456789012/orders",
    arn="arn:aws:sqs:us-east-1:123456789012:orders",
    dlq_url="https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq",
    dlq_arn="arn:aws:sqs:us-east-1:123456789012:orders-dlq",
    visibility_timeout_seconds=30,
)


class ScriptedCounts:
    """An SQS client whose queue counts are read from a script, one reading per call."""

    def __init__(self, *readings: tuple[int, int, int]) -> None:
        self._readings = list(readings)

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        visible, in_flight, delayed = self._readings.pop(0)
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                "ApproximateNumberOfMessagesDelayed": str(delayed),
            }
        }


def poller(sqs: Any) -> LocalPoller:
    return LocalPoller(
        sqs, QUEUE, lambda event, context: {}, function_name="orders", batch_size=10, timeout_seconds=30
    )


def test_given_a_message_turning_visible_between_the_counts_when_asked_then_the_queue_is_not_empty() -> None:
    # Given: the first reading counts the message neither in flight (its timeout just ended) nor
    # visible (counted a moment before); the next reading sees it visible.
    sqs = ScriptedCounts((0, 0, 0), (1, 0, 0))

    # When / Then
    assert poller(sqs).queue_is_empty() is False


def test_given_nothing_in_two_readings_when_asked_then_the_queue_is_empty() -> None:
    assert poller(ScriptedCounts((0, 0, 0), (0, 0, 0))).queue_is_empty() is True


def test_given_a_message_in_flight_when_asked_then_the_queue_is_not_empty_after_one_reading() -> None:
    assert poller(ScriptedCounts((0, 1, 0))).queue_is_empty() is False
