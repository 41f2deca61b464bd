"""The simulation's change streams, its event source mapping and bus, and the events bench: a stream
holds what DynamoDB Streams would, the mapping reads it as Lambda does, and the bench's figures
come out of a run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sellerstream import catalog
from sellerstream.adapters.events import stored_changes
from sellerstream.domain.events import OutgoingEvent
from sellerstream_local.simulation import (
    BusFaults,
    LatencyModel,
    SimulatedDynamoDB,
    SimulatedEventBus,
    StreamRecord,
    VirtualTime,
    serve_stream,
)

ROOT = Path(__file__).resolve().parents[3]
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
NEWER = "attribute_not_exists(pk) OR last_updated < :v"


def streamed_table() -> SimulatedDynamoDB:
    dynamodb = SimulatedDynamoDB()
    dynamodb.clock = lambda: 100.0
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification=STREAM,
    )
    dynamodb.create_table(TableName="plain", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return dynamodb


def order(sk: str, last_updated: str, **more: Any) -> dict[str, Any]:
    return {"pk": {"S": "SELLER#A1"}, "sk": {"S": sk}, "last_updated": {"S": last_updated}, **more}


def newer_put(item: dict[str, Any]) -> dict[str, Any]:
    values = {":v": item["last_updated"]}
    return {
        "Put": {
            "TableName": "orders",
            "Item": item,
            "ConditionExpression": NEWER,
            "ExpressionAttributeValues": values,
        }
    }


def test_given_writes_then_the_stream_holds_one_record_per_item_changed_as_dynamodb_streams_would() -> None:
    dynamodb = streamed_table()
    first = order("ORDER#1", "t1", total={"N": "12.50"}, items={"L": [{"M": {"quantity": {"N": "2"}}}]})

    dynamodb.put_item(TableName="orders", Item=first)
    dynamodb.put_item(TableName="orders", Item=first)  # the same item again: no data changed
    with pytest.raises(ClientError):  # a failed conditional write
        dynamodb.put_item(
            TableName="orders",
            Item=order("ORDER#1", "t0"),
            ConditionExpression=NEWER,
            ExpressionAttributeValues={":v": {"S": "t0"}},
        )
    with pytest.raises(ClientError):  # a cancelled transaction: none of its writes
        dynamodb.transact_write_items(
            TransactItems=[newer_put(order("ORDER#2", "t1")), newer_put(order("ORDER#1", "t0"))]
        )
    dynamodb.clock = lambda: 101.5
    dynamodb.transact_write_items(
        TransactItems=[newer_put(order("ORDER#2", "t1")), newer_put(order("ORDER#1", "t2"))]
    )
    dynamodb.update_item(
        TableName="orders",
        Key={"pk": {"S": "SELLER#A1"}, "sk": {"S": "ORDER#2"}},
        UpdateExpression="SET last_updated = :v",
        ExpressionAttributeValues={":v": {"S": "t1"}},  # as stored: no record
    )
    dynamodb.delete_item(TableName="orders", Key={"pk": {"S": "SELLER#A1"}, "sk": {"S": "ORDER#3"}})  # absent
    dynamodb.batch_write_item(
        RequestItems={
            "orders": [{"DeleteRequest": {"Key": {"pk": {"S": "SELLER#A1"}, "sk": {"S": "ORDER#2"}}}}]
        }
    )
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "x"}})  # a table without a stream

    records = dynamodb.streams["orders"]
    assert [(record.event_name, record.sort_key(), record.stored_at) for record in records] == [
        ("INSERT", "ORDER#1", 100.0),
        ("INSERT", "ORDER#2", 101.5),
        ("MODIFY", "ORDER#1", 101.5),
        ("REMOVE", "ORDER#2", 101.5),
    ]
    sequences = [record.sequence for record in records]
    assert sequences == sorted(sequences, key=int) and len(set(map(len, sequences))) == 1
    assert "plain" not in dynamodb.streams
    # Images as boto3's deserializer gives them: numbers as Decimal.
    assert records[0].old is None
    assert records[0].new == {
        "pk": "SELLER#A1",
        "sk": "ORDER#1",
        "last_updated": "t1",
        "total": Decimal("12.50"),
        "items": [{"quantity": Decimal(2)}],
    }
    assert records[2].old == records[0].new and records[2].new is not None
    assert records[2].new["last_updated"] == "t2"
    assert records[3].new is None and records[3].old is not None


def test_given_a_record_as_lambda_hands_it_then_the_product_s_adapter_reads_the_same_change() -> None:
    dynamodb = streamed_table()
    dynamodb.clock = lambda: 1_790_000_000.75
    dynamodb.put_item(TableName="orders", Item=order("ORDER#1", "t1", total={"N": "3"}))
    dynamodb.put_item(TableName="orders", Item=order("ORDER#1", "t2", total={"N": "4"}))
    arn = dynamodb.stream_arn("orders")
    event = {
        "Records": [
            record.lambda_record(arn, dynamodb.key_names("orders")) for record in dynamodb.streams["orders"]
        ]
    }

    changes = stored_changes(event, {"orders": catalog.ORDERS_TABLE.role})

    assert [(change.old, change.new) for change in changes] == [
        (record.old, record.new) for record in dynamodb.streams["orders"]
    ]
    assert [change.sequence for change in changes] == [
        record.sequence for record in dynamodb.streams["orders"]
    ]
    assert changes[0].stored_at == 1_790_000_000.0  # ApproximateCreationDateTime: down to the second


def records(count: int, *, at: float = 0.0, every: float = 0.0) -> list[StreamRecord]:
    return [
        StreamRecord("orders", f"{10**20 + index}", None, {"sk": {"S": f"ORDER#{index}"}}, at + index * every)
        for index in range(count)
    ]


def test_given_a_stream_then_the_mapping_reads_full_batches_or_waits_the_batching_window() -> None:
    clock = VirtualTime(0.0)
    batches: list[tuple[float, int]] = []

    def invoke(batch: list[StreamRecord]) -> str | None:
        batches.append((clock.now, len(batch)))
        return None

    latency = LatencyModel(poll_interval=0.25, batch_size=100, batching_window=1.0)
    # 250 records at once, then one record alone 100 s later.
    stream = [*records(250), *records(1, at=100.0)]
    clock.start("shard", lambda: serve_stream(clock, stream, invoke, latency=latency, rng=random.Random(1)))
    clock.run()

    # Two full batches at once, the rest after the window, the late record after a poll and a window.
    assert [size for _, size in batches] == [100, 100, 50, 1]
    assert batches[0][0] == batches[1][0] < 0.25
    assert batches[2][0] == pytest.approx(batches[1][0] + 1.0)
    assert 101.0 <= batches[3][0] <= 101.25


class Died(BaseException):
    """The container died (as the fault matrix's ProcessKilled)."""


def test_given_failures_then_the_mapping_retries_from_the_record_named_or_reads_the_batch_again() -> None:
    clock = VirtualTime(0.0)
    handed: list[list[str]] = []
    answers: list[Any] = ["retry from third", RuntimeError("boom"), Died(), None]

    def invoke(batch: list[StreamRecord]) -> str | None:
        handed.append([record.sort_key() for record in batch])
        answer = answers.pop(0)
        if answer == "retry from third":
            return batch[2].sequence
        if isinstance(answer, BaseException):
            raise answer
        return None

    latency = LatencyModel(batch_size=5, batching_window=0.0, cold_start=2.0)
    shard = records(5)
    counts = serve_stream(
        clock,
        shard,
        invoke,
        latency=latency,
        rng=random.Random(1),
        passes=lambda record: record.sort_key() != "ORDER#1",  # the mapping's filter
        dies=(Died,),
    )

    # Filtered out: never handed. Retried from the third; an error and a death read it all again.
    assert handed == [
        ["ORDER#0", "ORDER#2", "ORDER#3", "ORDER#4"],
        ["ORDER#3", "ORDER#4"],
        ["ORDER#3", "ORDER#4"],
        ["ORDER#3", "ORDER#4"],
    ]
    assert (counts.filtered, counts.partial_failures, counts.function_errors, counts.killed) == (1, 1, 1, 1)
    assert counts.cold_starts == 2  # the first invocation, and after the death


def event(entity: str, detail: Any = None) -> OutgoingEvent:
    return OutgoingEvent("Order Changed", entity, "v1", detail if detail is not None else {"id": entity}, "1")


def test_given_a_bus_then_it_delivers_what_it_took_and_refuses_only_what_is_malformed() -> None:
    clock = VirtualTime(0.0)
    bus = SimulatedEventBus(clock, random.Random(3), source="sellerstream", shuffle=False)
    malformed = OutgoingEvent("", "x", "v1", {"id": "x"}, "2")

    codes = bus.put([event("a"), malformed, event("b")])

    assert codes == [None, "MalformedDetail", None]
    assert [json.loads(delivery.body)["detail"]["id"] for delivery in bus.deliveries] == ["a", "b"]
    assert json.loads(bus.deliveries[0].body)["source"] == "sellerstream"
    with pytest.raises(ClientError):  # more than 10 entries: the call itself is refused
        bus.put([event(str(index)) for index in range(11)])


def test_given_a_bus_whose_answers_are_lost_then_it_delivered_the_events_it_reports_failed() -> None:
    clock = VirtualTime(0.0)
    bus = SimulatedEventBus(
        clock, random.Random(3), source="sellerstream", faults=BusFaults(lost_answers=1.0)
    )

    with pytest.raises(ClientError):
        bus.put([event("a")])

    assert len(bus.deliveries) == 1 and bus.counts.lost_answers == 1


def test_given_the_events_bench_at_a_small_scale_then_it_prints_its_figures_as_json() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "events.py"), "--json", "--scale", "0.02"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )

    figures = json.loads(result.stdout)
    assert figures["events_missing"] == 0 and figures["events"] == figures["changes"] > 0
    # No faster than a poll and the batching window allow, no slower than a few seconds.
    assert 0.3 < figures["latency_p50_seconds"] <= figures["latency_p95_seconds"] < 5.0
    assert figures["put_events_calls"] >= figures["batches"] > 0
    breakdown = figures["breakdown"]
    assert breakdown["put_events"] == pytest.approx(1.0, rel=0.01)  # one 64 KB chunk per event
    assert figures["usd_per_million_changes"] == pytest.approx(sum(breakdown.values()), abs=0.001)
