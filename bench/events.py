"""SellerStream's events on a Prime Day: from a stored change to its event at a target, and what they add
to the AWS bill per million changes.

The day (``--scale`` multiplies every count): one large seller's 50,000 order changes over 20,000
orders in 2 hours (one to four changes per order: Pending, Unshipped, Shipped, a later update
minutes apart), a little over half of the orders starting in four 5-minute lightning-deal spikes
at six times the hours' pace; and 50 small sellers each changing an order about every two
minutes for six hours (about 9,000 changes). Each change is Amazon's order (the SP-API emulator's getOrder answer with buyer,
recipient and fulfillment data) stored by the product's own order store, a transaction of the
order's item and its PII item, into the simulation's DynamoDB, which keeps the orders table's
change stream (``sellerstream_local.simulation``). The real publisher (``ChangeEventsUseCase``,
Lambda's event shape through the product's adapter) reads the stream as Lambda's event source
mapping does, onto a simulated EventBridge bus, and a subscriber (a rule's target) gets the events:
the same machinery as the fault matrix's (``sellerstream_local.fault_matrix.publish_events``),
here without faults, on the virtual clock.

The latency model (``fault_matrix.EVENTS_LATENCY``; lognormal draws where a median and a 95th
percentile are given), each assumption and its source:

- DynamoDB Streams, from the write until GetRecords returns its record: median 0.1 s, p95 0.4 s.
  Assumed: AWS says stream records appear "in near-real time" and publishes no figure.
- Lambda's event source mapping polls each shard 4 times a second, reads until it holds a full
  batch (100 records) or the batching window (1 s) has passed, invokes one batch per shard at a time
  (parallelization 1) and polls again as soon as an invocation returns: the Lambda Developer Guide
  ("Using AWS Lambda with Amazon DynamoDB", polling and batching) and the catalog's sizing
  (``CHANGE_EVENTS_PUBLISHER``: batch 100, window 1 s, 256 MB). The deployed mapping's filter passes
  only inserts and modifications of the catalog's entities (``stacks/change_events.py``): the PII
  items' records cost no invocation. One shard per table (a table at these rates fits one
  partition; more shards would only add parallel readers).
- An invocation: 10 ms of Lambda's own overhead on a warm container (assumed) and 2.5 ms of the
  function's work per record at 256 MB. The latter is checked against each run: the function's
  CPU time per record handed over (Lambda's event through the product's adapter and use case, the
  simulated bus's work left out), measured on this machine, times 1,769 MB / 256 MB (Lambda gives
  a function CPU in proportion to its memory, a full vCPU at 1,769 MB: Lambda Developer Guide,
  "Configure Lambda function memory"); about 2.2 ms on a 2-core x86_64 machine. A cold start costs
  0.6 s (the handler's import, about 1.5x boto3's 276 ms on the runtime's Python: this
  repository's ``bench/handler_import.py``, docs/development.md "Cold start", plus the wiring).
- PutEvents, one call of up to 10 entries (the publisher sends a batch's calls one after the other):
  median 20 ms, p95 60 ms. Assumed for an in-region API call; AWS publishes no figure.
- From EventBridge taking an event until its target has it: median 50 ms, p95 120 ms. AWS's
  Architecture Blog (February 2026, "the event-driven architecture behind the Amazon Key Suite")
  reports 80 ms p90 end to end over 14 million subscriber calls on EventBridge.

The cost, in US dollars, us-east-1 list prices (Lambda, EventBridge, SQS, DynamoDB pricing pages,
2026; EventBridge's custom events, API destinations and archive rates unchanged since 2023):

- DynamoDB Streams reads: $0. GetRecords calls made by Lambda for a DynamoDB trigger are free; so
  is Lambda's event filtering.
- Lambda (arm64, the stack's architecture): $0.20 per million requests and $0.0000133334 per GB-s;
  each invocation's duration, waiting on PutEvents included, and each cold start's, at the
  publisher's 256 MB.
- PutEvents: $1.00 per million events; an entry is billed per 64 KB started (its Time, Source,
  DetailType and Detail count).
- Targets, per rule delivering every event: an SQS queue $0.40 per million SendMessage requests (a
  64 KB chunk each; the queue owner's own receives and deletes not counted); an API destination
  (webhook) $0.20 per million invocations; another account's bus $1.00 per million events. The
  archive on the bus: $0.10 per GB archived (storage, $0.023 per GB-month, left out).

``usd_per_million_changes`` is what publishing adds (stream reads, Lambda, PutEvents) plus one SQS
target and the archive; ``breakdown`` gives each part, ``per_destination`` each kind of target.

Prints the day, latency p50/p95/p99 and max from stored to delivered (and during the spikes), the
counts (changes, stream records, invocations, PutEvents calls, event sizes) and the cost per
million changes with its breakdown. ``--json`` prints one object with ``latency_p50_seconds``,
``latency_p95_seconds``, ``latency_p99_seconds``, ``latency_max_seconds``,
``spike_latency_p95_seconds``, ``usd_per_million_changes``, ``breakdown``, ``per_destination``,
``changes``, ``events``, ``events_missing``, ``stream_records``, ``batches``, ``put_events_calls``,
``mean_event_bytes``, ``billed_events``, ``lambda_gb_seconds``, ``measured_cpu_ms_per_record``,
``model`` and ``prices``. The same seed gives the same figures (but the measured CPU time). About
70 seconds at full scale on a 2-core machine, 10 at ``--scale 0.1``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from prices import AS_OF, LAMBDA_FULL_VCPU_MB, PRICES, price_table

from sellerstream import aws, catalog
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.logic.order_records import from_orders_2026
from sellerstream.spapi.orders import DEFAULT_INCLUDED_DATA
from sellerstream_local.emulator.catalog import OrderCatalog
from sellerstream_local.emulator.orders_api import render_order_2026
from sellerstream_local.fault_matrix import (
    EVENT_FIGURES,
    EVENTS_LATENCY,
    START,
    FaultRates,
    applied_changes,
    function_environment,
    judge_events,
    percentile,
    publish_events,
)
from sellerstream_local.resources import create_table
from sellerstream_local.simulation import SimulatedDynamoDB

BIG = "A1PRIMEDAYLARGE"
SMALL = tuple(f"A2SMALL{index:04d}XX" for index in range(50))
BIG_ORDERS, BIG_CHANGES = 20_000, 50_000
BURST_SECONDS = 2 * 3600.0
SPIKES = tuple(index * 1800.0 for index in range(4))  # a lightning deal every 30 minutes
SPIKE_SECONDS, SPIKE_PACE = 300.0, 6.0
TRICKLE_SECONDS, SMALL_MEAN_INTERVAL = 6 * 3600.0, 120.0
STATUSES = ("Pending", "Unshipped", "Shipped", "Shipped")  # an order's changes, in order
# No fault anywhere: the day as it goes when nothing fails.
CALM = FaultRates(
    event_throttles=0.0,
    event_internal_failures=0.0,
    event_call_failures=0.0,
    event_lost_answers=0.0,
    event_outages_per_hour=0.0,
    publisher_kills_after_put=0.0,
    publisher_kills_before_checkpoint=0.0,
)

PRICES_AS_OF = AS_OF  # bench/prices.py: the one price table
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Change:
    at: float
    seller: str
    order_id: str
    status: str


def day(scale: float, seed: int) -> list[Change]:
    """The Prime Day's order changes, in the order they are stored (``scale`` multiplies the large
    seller's orders and the small sellers' pace)."""
    rng = random.Random(seed)
    changes: list[Change] = []
    orders = max(1, round(BIG_ORDERS * scale))
    per_order = [1] * orders
    extra = min(max(0, round(BIG_CHANGES * scale) - orders), orders * (len(STATUSES) - 1))
    while extra:
        index = rng.randrange(orders)
        if per_order[index] < len(STATUSES):
            per_order[index] += 1
            extra -= 1
    # The share of an order's first change that falls in a spike (the spikes at six times the pace).
    spiked = len(SPIKES) * SPIKE_SECONDS * SPIKE_PACE
    in_spike = spiked / (BURST_SECONDS - len(SPIKES) * SPIKE_SECONDS + spiked)
    for index, count in enumerate(per_order):
        if rng.random() < in_spike:
            at = rng.choice(SPIKES) + rng.uniform(0, SPIKE_SECONDS)
        else:
            at = rng.uniform(0, BURST_SECONDS)
        order_id = f"111-{index:07d}-{rng.randint(1_000_000, 9_999_999)}"
        for status in STATUSES[:count] if count > 1 else ("Unshipped",):
            changes.append(Change(START + at, BIG, order_id, status))
            at += rng.uniform(30, 1200)
    interval = SMALL_MEAN_INTERVAL / scale
    for position, seller in enumerate(SMALL):
        at, serial = rng.expovariate(1 / interval), 0
        while at < TRICKLE_SECONDS:
            order_id = f"222-{position:03d}{serial:04d}-{rng.randint(1_000_000, 9_999_999)}"
            changes.append(Change(START + at, seller, order_id, "Unshipped"))
            at += rng.expovariate(1 / interval)
            serial += 1
    changes.sort(key=lambda change: change.at)
    return changes


def in_spike(at: float) -> bool:
    return any(start <= at - START < start + SPIKE_SECONDS for start in SPIKES)


def store(changes: list[Change], seed: int) -> tuple[SimulatedDynamoDB, dict[str, str]]:
    """Each change as the order consumer stores it (the product's order store, on Amazon's answer),
    at its time, into the simulation's tables with the streamed tables' streams on."""
    dynamodb = SimulatedDynamoDB()
    now = {"at": START}
    dynamodb.clock = lambda: now["at"]
    tables = {}
    for table in catalog.streamed_tables():
        tables[table.role] = create_table(
            dynamodb, table.local_name, table.partition_key, table.sort_key, table.ttl_attribute
        )
        dynamodb.update_table(
            TableName=tables[table.role],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    amazon = OrderCatalog(seed)
    included = set(DEFAULT_INCLUDED_DATA)
    orders = DynamoDBOrderStore(tables[catalog.ORDERS_TABLE.role])
    real_client = aws.client
    aws.client = {"dynamodb": dynamodb}.__getitem__  # type: ignore[assignment]
    try:
        for change in changes:
            now["at"] = change.at
            amazon.set(
                change.order_id,
                seller_id=change.seller,
                status=change.status,
                last_updated=datetime.fromtimestamp(change.at, UTC),
            )
            state = amazon.get(change.order_id)
            assert state is not None
            orders.put_if_newer(from_orders_2026(change.seller, render_order_2026(state, included)))
    finally:
        aws.client = real_client
    return dynamodb, tables


def measure(scale: float, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    changes = day(scale, seed)
    dynamodb, tables = store(changes, seed)
    stored_seconds = time.monotonic() - started
    with function_environment():
        published = publish_events(dynamodb, tables, seed=seed, rates=CALM, latency=EVENTS_LATENCY)
    cpu = published.function_cpu_seconds
    applied = applied_changes(dynamodb, tables)
    verdict = judge_events(applied, published.deliveries)
    figures = {name: sum(kind[name] for kind in verdict.figures.values()) for name in EVENT_FIGURES}
    spike_latencies = [
        verdict.latency[(change.entity, change.version)]
        for change in applied
        if in_spike(change.stored_at) and (change.entity, change.version) in verdict.latency
    ]
    bus, shards = published.bus, published.shards
    memory_gb = catalog.CHANGE_EVENTS_PUBLISHER.sizing.memory_mb / 1024
    gb_seconds = shards.billed_seconds * memory_gb
    events = bus.taken
    millions = len(applied) / 1e6  # the day's changes, in millions
    archived_gb = bus.entry_bytes / 1024**3

    def per_million_changes(cost: float) -> float:
        return cost / max(millions, 1e-9)

    per_destination = {
        "sqs": per_million_changes(bus.billed / 1e6 * PRICES["sqs_per_million_64kb_requests"]),
        "api_destination": per_million_changes(
            events / 1e6 * PRICES["api_destination_per_million_invocations"]
        ),
        "other_account_bus": per_million_changes(
            bus.billed / 1e6 * PRICES["other_account_bus_per_million_events"]
        ),
    }
    breakdown = {
        "dynamodb_streams_reads": PRICES["dynamodb_streams_reads_by_lambda"],
        "lambda_requests": per_million_changes(
            shards.invocations / 1e6 * PRICES["lambda_per_million_requests"]
        ),
        "lambda_duration": per_million_changes(gb_seconds * PRICES["lambda_per_gb_second_arm64"]),
        "put_events": per_million_changes(bus.billed / 1e6 * PRICES["put_events_per_million_64kb_events"]),
        "sqs_target": per_destination["sqs"],
        "archive": per_million_changes(archived_gb * PRICES["archive_per_gb"]),
    }
    handed = max(shards.handed, 1)
    latencies = verdict.latencies
    return {
        "latency_p50_seconds": round(percentile(latencies, 0.5), 3),
        "latency_p95_seconds": round(percentile(latencies, 0.95), 3),
        "latency_p99_seconds": round(percentile(latencies, 0.99), 3),
        "latency_max_seconds": round(max(latencies, default=0.0), 3),
        "spike_latency_p95_seconds": round(percentile(spike_latencies, 0.95), 3),
        "usd_per_million_changes": round(sum(breakdown.values()), 4),
        "breakdown": {name: round(value, 4) for name, value in breakdown.items()},
        "per_destination": {name: round(value, 4) for name, value in per_destination.items()},
        "changes": len(applied),
        "events": events,
        "events_missing": figures["events_missing"],
        "events_duplicate_ids": figures["events_duplicate_ids"],
        "stream_records": shards.records,
        "records_filtered": shards.filtered,
        "batches": shards.invocations,
        "mean_records_per_batch": round(shards.handed / max(shards.invocations, 1), 2),
        "put_events_calls": bus.calls,
        "mean_entries_per_call": round(bus.entries / max(bus.calls, 1), 2),
        "mean_event_bytes": round(bus.entry_bytes / max(events, 1)),
        "billed_events": bus.billed,
        "lambda_gb_seconds": round(gb_seconds, 1),
        "cold_starts": shards.cold_starts,
        "measured_cpu_ms_per_record": round(cpu / handed * 1000, 3),
        "measured_cpu_ms_per_record_at_256_mb": round(
            cpu / handed * 1000 * LAMBDA_FULL_VCPU_MB / catalog.CHANGE_EVENTS_PUBLISHER.sizing.memory_mb, 2
        ),
        "simulated_hours": round(
            (max((d.at for d in published.deliveries), default=START) - START) / 3600, 2
        ),
        "scale": scale,
        "seed": seed,
        "model": asdict(EVENTS_LATENCY),
        "prices": price_table(),
        "wall_seconds": {
            "store": round(stored_seconds, 1),
            "publish": round(time.monotonic() - started - stored_seconds, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies the day's changes (0.1: a tenth)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    figures = measure(args.scale, args.seed)
    if args.json:
        print(json.dumps(figures))
        return
    breakdown, destinations = figures["breakdown"], figures["per_destination"]
    print(
        f"SellerStream's events on a Prime Day, simulated (scale {args.scale}, seed {args.seed}): "
        f"{figures['changes']:,} order changes stored ({figures['stream_records']:,} stream records, "
        f"{figures['records_filtered']:,} of them PII items the mapping's filter passes over), "
        f"{figures['events']:,} events delivered, {figures['events_missing']} missing"
    )
    print(
        f"  stored to delivered: p50 {figures['latency_p50_seconds']:.2f} s, p95 {figures['latency_p95_seconds']:.2f} s, "
        f"p99 {figures['latency_p99_seconds']:.2f} s, max {figures['latency_max_seconds']:.2f} s; during the "
        f"deal spikes p95 {figures['spike_latency_p95_seconds']:.2f} s"
    )
    print(
        f"  {figures['batches']:,} invocations ({figures['mean_records_per_batch']} records each), "
        f"{figures['put_events_calls']:,} PutEvents calls ({figures['mean_entries_per_call']} entries each), "
        f"events of {figures['mean_event_bytes']:,} bytes on average ({figures['billed_events']:,} billed), "
        f"{figures['lambda_gb_seconds']:,} GB-s, cold starts {figures['cold_starts']}"
    )
    print(
        f"  the publisher's CPU here: {figures['measured_cpu_ms_per_record']} ms per record, "
        f"{figures['measured_cpu_ms_per_record_at_256_mb']} ms at 256 MB (the model assumes "
        f"{EVENTS_LATENCY.seconds_per_record * 1000:.1f} ms)"
    )
    print(
        f"  per million changes, us-east-1, prices of {PRICES_AS_OF}: ${figures['usd_per_million_changes']:.2f} "
        f"= stream reads ${breakdown['dynamodb_streams_reads']:.2f} + Lambda requests ${breakdown['lambda_requests']:.3f} "
        f"+ Lambda duration ${breakdown['lambda_duration']:.3f} + PutEvents ${breakdown['put_events']:.2f} "
        f"+ an SQS target ${breakdown['sqs_target']:.2f} + the archive ${breakdown['archive']:.3f}"
    )
    print(
        f"  each further target: SQS ${destinations['sqs']:.2f}, a webhook (API destination) "
        f"${destinations['api_destination']:.2f}, another account's bus ${destinations['other_account_bus']:.2f}"
    )
    walls = figures["wall_seconds"]
    print(
        f"  {figures['simulated_hours']} h simulated; stored in {walls['store']} s, published in {walls['publish']} s"
    )


if __name__ == "__main__":
    main()
