"""The simulation's clock and queue keep the semantics the long benchmarks rely on."""

from __future__ import annotations

import json

import pytest

from sellerstream_local.simulation import SimulatedSqs, VirtualTime

START = 1_000.0


def body(notification_id: str) -> str:
    return json.dumps({"NotificationMetadata": {"NotificationId": notification_id}, "Payload": {}})


def test_given_participants_sleeping_when_run_then_each_wakes_in_virtual_time_order() -> None:
    clock = VirtualTime(START)
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, waits: list[float]) -> None:
        for wait in waits:
            clock.sleep(wait)
            woke.append((name, clock.now - START))

    clock.start("a", lambda: sleeper("a", [5.0, 1.0, 10.0]))
    clock.start("b", lambda: sleeper("b", [2.0, 2.0, 2.0]))
    clock.start("c", lambda: sleeper("c", [6.0]))
    clock.run()

    # Three wake at 6, in the order they went to sleep: "c" (at 0), "b" (at 4), "a" (at 5).
    assert woke == [("b", 2.0), ("b", 4.0), ("a", 5.0), ("c", 6.0), ("b", 6.0), ("a", 6.0), ("a", 16.0)]


def test_given_a_participant_that_fails_when_run_then_the_others_finish_and_run_raises() -> None:
    clock = VirtualTime(START)
    finished: list[float] = []

    def failing() -> None:
        clock.sleep(1.0)
        raise RuntimeError("boom")

    def working() -> None:
        clock.sleep(3.0)
        finished.append(clock.now - START)

    clock.start("failing", failing)
    clock.start("working", working)

    with pytest.raises(RuntimeError, match="boom"):
        clock.run()
    assert finished == [3.0]


def test_given_a_delayed_message_when_received_then_only_after_its_delay_and_invisible_for_the_timeout() -> (
    None
):
    clock = VirtualTime(START)
    queue = SimulatedSqs(clock, name="orders", visibility_timeout=30.0, max_receive_count=5)
    queue.send(body("n-1"), delay=10.0)

    assert queue.receive(10) == []
    clock.now += 10.0
    (message,) = queue.receive(10)
    assert message.receive_count == 1
    clock.now += 29.0
    assert queue.receive(10) == []
    clock.now += 1.0
    assert [again.message_id for again in queue.receive(10)] == [message.message_id]
    assert message.receive_count == 2


def test_given_a_message_never_deleted_when_received_past_max_receive_count_then_it_moves_to_the_dlq() -> (
    None
):
    clock = VirtualTime(START)
    queue = SimulatedSqs(clock, name="orders", visibility_timeout=30.0, max_receive_count=3)
    queue.send(body("n-1"))

    receives = 0
    while not queue.empty():
        receives += len(queue.receive(10))
        clock.now += 30.0

    assert receives == 3
    assert [message.notification_id for message in queue.queue.dead_letters] == ["n-1"]
    assert "n-1" not in queue.done_at


def test_given_a_deferred_copy_when_the_original_is_deleted_then_the_notification_is_done_with_its_copy() -> (
    None
):
    clock = VirtualTime(START)
    queue = SimulatedSqs(clock, name="orders", visibility_timeout=30.0, max_receive_count=5)
    queue.send(body("n-1"))
    (original,) = queue.receive(10)

    copy_id = queue.send_message(QueueUrl=queue.queue.url, MessageBody=original.body, DelaySeconds=60)[
        "MessageId"
    ]
    queue.delete(original)
    assert "n-1" not in queue.done_at
    clock.now += 60.0
    (copy,) = queue.receive(10)
    queue.delete(copy)

    assert copy.message_id == copy_id != original.message_id
    assert copy.notification_id == "n-1"
    assert queue.done_at["n-1"] == START + 60.0
    assert queue.empty()
