"""The simulation's clock and queue keep the semantics the long benchmarks rely on."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.report_documents import S3DocumentStore
from sellerstream.logic.batch import APPLIED, BatchResult, RecordOutcome
from sellerstream.observability import MetricUnit, metrics
from sellerstream_local.simulation import SimulatedS3, SimulatedSqs, VirtualTime, invoke_batch

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


class CountingRunner:
    """A batch runner whose every record is applied, adding ``metrics_per_record`` metric values."""

    def __init__(self, metrics_per_record: int = 0) -> None:
        self.metrics_per_record = metrics_per_record
        self.batches = 0

    def run(self, event: dict[str, Any], context: Any) -> BatchResult:
        self.batches += 1
        for _ in range(self.metrics_per_record * len(event["Records"])):
            metrics.add_metric(name="Applied", unit=MetricUnit.Count, value=1)
        return BatchResult(
            [RecordOutcome(record["messageId"], record["messageId"], APPLIED) for record in event["Records"]]
        )


class Died(BaseException):
    pass


def die() -> None:
    raise Died


def test_given_a_container_that_dies_before_acknowledging_when_invoked_then_its_records_return_after_the_timeout() -> (
    None
):
    clock = VirtualTime(START)
    queue = SimulatedSqs(clock, name="listings", visibility_timeout=30.0, max_receive_count=5)
    queue.send(body("n-1"))
    runner = CountingRunner()

    with pytest.raises(Died):
        invoke_batch(clock, queue, queue.receive(10), runner, timeout_seconds=30.0, before_acknowledging=die)  # type: ignore[arg-type]
    clock.now += 30.0
    invoke_batch(clock, queue, queue.receive(10), runner, timeout_seconds=30.0)  # type: ignore[arg-type]

    assert runner.batches == 2
    assert queue.empty()


def test_given_invocations_that_add_metrics_when_many_run_then_none_fails_for_the_metrics_of_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Outside Lambda the metrics object may have been built before its namespace was set: a flush
    # in the middle of a record would then fail it.
    monkeypatch.setattr(metrics.provider, "namespace", None)
    clock = VirtualTime(START)
    queue = SimulatedSqs(clock, name="orders", visibility_timeout=30.0, max_receive_count=5)
    runner = CountingRunner(metrics_per_record=9)
    for index in range(30):
        queue.send(body(f"n-{index}"))

    while not queue.empty():
        invoke_batch(clock, queue, queue.receive(10), runner, timeout_seconds=30.0)  # type: ignore[arg-type]

    assert runner.batches == 3


@pytest.fixture(params=["moto", "simulated"])
def s3(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        client: Any = (
            boto3.client("s3", region_name="us-east-1") if request.param == "moto" else SimulatedS3()
        )
        if request.param == "moto":
            client.create_bucket(Bucket="reports")
        monkeypatch.setattr(aws, "client", lambda service: client)
        yield client


def test_given_a_document_when_uploaded_then_it_exists_and_opens_as_served(s3: Any) -> None:
    store = S3DocumentStore("reports")

    assert not store.exists("reports/S/R1/doc.gz")
    store.upload(
        "reports/S/R1/doc.gz", io.BytesIO(b"\x1f\x8b gzip bytes"), content_type="text/plain; charset=Cp1252"
    )
    store.upload("reports/S/R2/doc", io.BytesIO(b"sku\tasin\n"), content_type=None)
    first, second = store.open("reports/S/R1/doc.gz"), store.open("reports/S/R2/doc")

    assert store.exists("reports/S/R1/doc.gz")
    assert (first.body.read(), first.content_type, first.size) == (
        b"\x1f\x8b gzip bytes",
        "text/plain; charset=Cp1252",
        13,
    )
    assert (second.body.read(), second.content_type) == (b"sku\tasin\n", None)
    with pytest.raises(ClientError) as missing:
        store.open("reports/S/R3/doc")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_given_an_upload_whose_stream_fails_part_way_then_no_object_is_left() -> None:
    s3 = SimulatedS3()

    class Dropped(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise ConnectionResetError("connection reset by peer")

    with pytest.raises(ConnectionResetError):
        s3.upload_fileobj(Dropped(), "reports", "reports/S/R1/doc")

    assert s3.objects == {}
