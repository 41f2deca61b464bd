"""The fault matrix: every consumer's traffic through its real processing under injected faults.

10,000 ORDER_CHANGE notifications of ten sellers (about 2.5 changes per order over an hour),
5,000 listing status changes delivered through EventBridge (about 2.5 per SKU, a tenth of the SKUs
deleted), 200 REPORT_PROCESSING_FINISHED notifications (DONE reports of 20 to 3,000 rows, some
continued over several invocations, FATAL and CANCELLED ones) and 2,000 shipment requests (whole
and split orders, packages named by the seller or numbered by the product, tracking updates hours
later), each consumer on its own queue and containers (the catalog's sizing), through the real
batch processing and use cases against the SP-API emulator in process and the simulated SQS,
DynamoDB and S3, on one virtual clock (``sellerstream_local.simulation``; the machinery is
``sellerstream_local.fault_matrix``). Injected: SP-API 429s, 5xx, timeouts, connection resets and
truncated bodies; document downloads that fail, expire or drop part-way; S3 errors; LWA
``invalid_grant`` for one seller for 30 minutes (then it re-authorises with a new refresh token);
DynamoDB throttling, internal errors and partly unprocessed batch writes; containers killed just
before a consumer's write, just after it, and before a batch is acknowledged; the orders' drainer
killed while it holds a seller's lease (between getOrder's answer and the order's write, between
the writes and the pending entries' removal); orders drain requests whose SendMessage fails (the
invocation raises, its batch comes back); 20% duplicates, 20% reordered, 1% poison (at least three
per consumer), and 5% of the ORDER_CHANGE notifications dropped before the queue. The orders
consumer runs as the function is built (``wiring.order_change.orders_runner``: each change
recorded in the seller's pending set, one drainer per seller), until its pending set is drained.

SellerStream's events come out of the tables' change streams through the real publisher, as
Lambda's event source mapping feeds it, onto a simulated EventBridge bus that throttles entries
(2%, and 2 to 20 s spells of the account's quota spent, 3 an hour), fails calls (1%), loses
answers of calls it took (0.5%); the publisher's container is killed right after a PutEvents call
that took events and before Lambda checkpoints a batch. An independent subscriber of the bus is
judged against the tables' write history (``sellerstream_local.fault_matrix``'s docstring).

Prints lost, applied twice, regressed, poison, poison in the DLQ, valid messages in the DLQ and
orders still stale after reconciliation (``not_repaired``) per consumer, then the subscriber's
figures, then what was injected. ``--json`` prints one object with ``lost``, ``applied_twice``,
``regressed``, ``poison``, ``poison_dead_lettered``, ``valid_dead_lettered``, ``not_repaired``,
``events_missing``, ``events_duplicate_ids``, ``events_duplicate_ids_unequal``,
``events_regressed``, ``events_spurious`` summed over the consumers, ``by_consumer``: the same keys
for each consumer (orders, listings, reports, fulfillment; the events of its writes), and
``events``: the applied changes, deliveries, the publisher's and the bus's counts, latency from
stored to delivered under these faults; ``pending_left``: the orders' pending entries left at the
end; ``orders_lost_before_reconciliation``: the orders' ``lost`` before reconciliation repaired
what it could; ``invocation_errors``: the invocations whose handler raised (their batch came back
whole), by consumer, exception and the product's frame; ``injected``: each fault's count. Targets:
0, 0, 0, all poison, 0, 0; events 0, as measured, 0, 0, 0; no entry left pending, none lost before
reconciliation. The same seed gives the same run. About a minute or two on two cores for the
defaults.

``--verbose`` also writes to stderr (stdout, ``--json`` included, stays as it is) the orders'
pending entries left at the end with their notifications' receives and, per consumer, every
receive of each valid message found in a DLQ and of each message that failed or was
killed on three receives or more: when, which part, what became of it and why (the
``Journal`` of ``sellerstream_local.fault_matrix``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any

from sellerstream import catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.logic.order_search import SEARCH_SETTLE_SECONDS
from sellerstream.logic.reconcile import ReconcileUseCase
from sellerstream_local.fault_matrix import (
    KINDS,
    EventsOutcome,
    Journal,
    Outcome,
    Receive,
    World,
    percentile,
    run,
)

# A seller's reconciliation stopped by its spent searchOrders budget is resumed at most this often.
RESUMES = 50
RECONCILIATION_ABSENT = (
    "reconciliation is not in this tree: not_repaired counts the orders stale before any reconciliation"
)


def reconcile_sellers(world: World) -> dict[str, Any] | None:
    """Reconciles every seller over the delivery phase's window, as the scheduled run would: the
    product's use case on the simulation's clock, emulator, tables and shared rate budget.

    searchOrders answers only for orders updated at least two minutes before the request, so the
    virtual clock first moves past that for the last changes. A run the budget stops is resumed
    when the budget says a slot is free, as the next scheduled run would.
    """
    world.clock.now = max(world.clock.now, world.until.timestamp() + SEARCH_SETTLE_SECONDS + 5.0)
    directory = world.make_directory()
    use_case = ReconcileUseCase(
        directory,
        world.make_access(directory),
        world.make_order_store(),
        DynamoDBSearchWindows(world.settings.rate_budget_table_name, clock=world.clock.time),
        clock=world.clock.time,
    )
    results: dict[str, Any] = {}
    for seller in world.sellers:
        total = use_case.reconcile(seller, world.since, None, lambda: 900.0)
        for _ in range(RESUMES):
            if total.complete or total.stopped != "rate_budget":
                break
            world.clock.now += max(total.resume_in_seconds or 1.0, 1.0)
            again = use_case.reconcile(seller, world.since, total.until, lambda: 900.0)
            again.add(total)
            total = again
        results[seller] = total.as_dict()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--notifications",
        type=int,
        default=10_000,
        help=f"{catalog.ORDER_CHANGE.name} notifications; the other consumers get theirs in the defaults' proportion",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="to stderr: the receives of every valid message dead-lettered, or failed three times or more",
    )
    args = parser.parse_args()
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    journal = Journal() if args.verbose else None
    outcome = run(args.notifications, args.seed, reconcile=reconcile_sellers, journal=journal)
    if journal is not None:
        _print_struggles(journal)
    figures = outcome.figures
    if args.json:
        print(
            json.dumps(
                {
                    **figures,
                    "by_consumer": outcome.by_consumer,
                    "events": _events(outcome),
                    "pending_left": outcome.pending_left,
                    "orders_lost_before_reconciliation": outcome.orders_lost_before_reconciliation,
                    "invocation_errors": dict(outcome.invocation_errors.most_common()),
                    "injected": dict(sorted(outcome.injected.items())),
                }
            )
        )
        return
    print(
        f"Fault matrix, simulated: {outcome.notifications:,} messages to four consumers "
        f"({outcome.deliveries:,} deliveries), {args.seed=}"
    )
    for kind, traffic in outcome.consumers.items():
        print(
            f"  {kind}: {traffic.notifications:,} messages, {traffic.deliveries:,} deliveries, "
            f"{traffic.receives:,} receives; {_figures(outcome.by_consumer[kind])}"
        )
    print(f"  all: {_figures(figures)}")
    _print_events(outcome)
    print(
        f"  {catalog.ORDER_CHANGE.name} over {outcome.orders:,} orders: stale after delivery (notifications "
        f"dropped before the queue) {outcome.stale_before_reconciliation}, not repaired {figures['not_repaired']}"
    )
    if not outcome.reconciled:
        print(f"  {RECONCILIATION_ABSENT}")
    print(
        f"  orders' pending entries left at the end: {outcome.pending_left}; changes lost before "
        f"reconciliation: {outcome.orders_lost_before_reconciliation}"
    )
    failed = sum(outcome.invocation_errors.values())
    print(f"  invocations whose handler raised (their batch came back whole): {failed}")
    for where, count in outcome.invocation_errors.most_common():
        print(f"    {count} {where}")
    injected = outcome.injected
    print(
        f"  injected: SP-API 429s {injected['spapi_throttles']} (+{injected['spapi_rate_plan_throttles']} from "
        f"the rate plans), 5xx and truncated bodies (emulator, 3% and 1% of calls), timeouts "
        f"{injected['timeouts']}, connection resets {injected['connection_resets']}; document downloads "
        f"timed out {injected['download_timeouts']}, failed {injected['download_errors']}, expired "
        f"{injected['download_expired']}, reset part-way {injected['download_resets']}; S3 errors "
        f"{injected['s3_errors']}; DynamoDB throttles {injected['dynamodb_throttles']}, internal errors "
        f"{injected['dynamodb_errors']}, batch writes partly unprocessed {injected['dynamodb_unprocessed']}; "
        f"containers killed before a write {injected['kills']}, after a write {injected['kills_after_write']}, "
        f"before acknowledging {injected['kills_before_acknowledging']}; the orders' drainer killed holding a "
        f"seller's lease before an order's write {injected['lease_kills_before_write']}, before the entries' "
        f"removal {injected['lease_kills_before_removal']}; drain requests not sent "
        f"{injected['drain_requests_lost']}; duplicates {injected['duplicates']}, "
        f"reordered {injected['reordered']}, dropped {injected['dropped']}; PutEvents entries throttled "
        f"{injected['event_throttles']} ({injected['event_outages']} spells of the quota spent), internal "
        f"failures {injected['event_internal_failures']}, calls failed {injected['event_call_failures']}, "
        f"answers lost {injected['event_lost_answers']}; the publisher killed after a PutEvents call "
        f"{injected['publisher_kills_after_put']}, before a checkpoint {injected['publisher_kills_before_checkpoint']}"
    )
    print(
        f"  seller without a valid refresh token for 30 min: {outcome.revoked_lwa_exchanges} LWA exchanges with "
        f"the refused token ({outcome.containers} containers); its {outcome.revoked_seller_notifications} "
        f"messages received {outcome.revoked_seller_receives} times meanwhile (waiting, deferred)"
    )
    print(
        f"  confirmShipment calls Amazon accepted again for a request it had accepted: {outcome.reconfirmations}"
    )
    print(
        f"  SQS receives {outcome.receives:,}; SP-API calls {outcome.sp_api_calls}; still queued "
        f"{outcome.still_queued}; {outcome.virtual_seconds / 3600:.2f} h simulated in {outcome.wall_seconds:.0f} s"
    )


def _print_struggles(journal: Journal) -> None:
    if journal.pending:
        print(f"orders: {len(journal.pending)} pending entries left", file=sys.stderr)
    for account, key, notification_id in journal.pending:
        print(f"  {account} {key} ({notification_id})", file=sys.stderr)
        for receive, times in _runs(journal.receives["orders"].get(notification_id, [])):
            said = receive.result or receive.detail or ""
            print(
                f"    {receive.at:9.0f} s  {receive.message_id[-6:]} receive {receive.receive_count}: "
                f"{receive.outcome} {receive.reason or ''} {str(said)[:160]}"
                + (f" ({times} in a row, the first shown)" if times > 1 else ""),
                file=sys.stderr,
            )
    for kind in KINDS:
        struggled = journal.struggled(kind)
        dead = journal.dead_lettered.get(kind, set())
        receives = [receive for history in journal.receives[kind].values() for receive in history]
        outcomes = Counter(receive.outcome for receive in receives)
        results = Counter(
            str((receive.result or {}).get("outcome", "-")) for receive in receives if receive.result
        )
        print(
            f"{kind}: {len(dead)} valid messages dead-lettered, {len(struggled)} failed or killed on 3 receives "
            f"or more; receives {dict(outcomes)}; applied as {dict(results)}",
            file=sys.stderr,
        )
        for key, history in struggled.items():
            print(f"  {key}{' (dead-lettered)' if key in dead else ''}", file=sys.stderr)
            for receive, times in _runs(history):
                said = receive.result or receive.detail or ""
                print(
                    f"    {receive.at:9.0f} s  {receive.message_id[-6:]} receive {receive.receive_count} part "
                    f"{receive.part or 0}: {receive.outcome} {receive.reason or ''} {str(said)[:160]}"
                    + (f" ({times} in a row, the first shown)" if times > 1 else ""),
                    file=sys.stderr,
                )


def _events(outcome: Outcome) -> dict[str, Any]:
    """What the streams, the publisher and the bus did, and the subscriber's latency (under faults)."""
    events: EventsOutcome | None = outcome.events
    if events is None:
        return {}
    bus, shards = events.bus, events.shards
    return {
        "stream_records": events.stream_records,
        "applied_changes": events.applied,
        "deliveries": events.deliveries,
        "dead_lettered": events.dead_lettered,
        "killed_writes": events.killed_writes,
        "killed_writes_announced": events.killed_writes_announced,
        "latency_p50_seconds": round(percentile(events.latencies, 0.5), 3),
        "latency_p95_seconds": round(percentile(events.latencies, 0.95), 3),
        "latency_max_seconds": round(max(events.latencies, default=0.0), 3),
        "invocations": shards.invocations,
        "records_filtered": shards.filtered,
        "partial_failures": shards.partial_failures,
        "publisher_killed": shards.killed,
        "records_expired": shards.expired,
        "put_events_calls": bus.calls,
        "put_events_entries": bus.entries,
        "put_events_taken": bus.taken,
    }


def _print_events(outcome: Outcome) -> None:
    events = outcome.events
    if events is None:
        return
    for kind in KINDS:
        figures = outcome.by_consumer[kind]
        print(
            f"  {kind}, its events: missing {figures['events_missing']}, duplicate ids {figures['events_duplicate_ids']} "
            f"({figures['events_duplicate_ids_unequal']} unequal), regressed {figures['events_regressed']}, "
            f"spurious {figures['events_spurious']}"
        )
    figures = outcome.figures
    print(
        f"  events: {events.applied:,} applied changes in {events.stream_records:,} stream records, "
        f"{events.deliveries:,} deliveries to the subscriber: missing {figures['events_missing']}, duplicate "
        f"ids {figures['events_duplicate_ids']} ({figures['events_duplicate_ids_unequal']} unequal), regressed "
        f"{figures['events_regressed']}, spurious {figures['events_spurious']}; dead-lettered {events.dead_lettered}"
    )
    print(
        f"  of the applied changes whose writer died right after the write, {events.killed_writes_announced} of "
        f"{events.killed_writes} announced; stored to delivered under these faults p50 "
        f"{percentile(events.latencies, 0.5):.2f} s, p95 {percentile(events.latencies, 0.95):.2f} s, max "
        f"{max(events.latencies, default=0.0):.1f} s; {events.shards.invocations:,} invocations "
        f"({events.shards.partial_failures} retried from a record, {events.shards.killed} killed), "
        f"{events.bus.calls:,} PutEvents calls"
    )


def _runs(history: list[Receive]) -> list[tuple[Receive, int]]:
    """Consecutive receives that ended the same way, as the first of them and how many."""
    runs: list[tuple[Receive, int]] = []
    for receive in history:
        if runs and (runs[-1][0].outcome, runs[-1][0].reason) == (receive.outcome, receive.reason):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((receive, 1))
    return runs


def _figures(figures: dict[str, int]) -> str:
    return (
        f"lost {figures['lost']}, applied twice {figures['applied_twice']}, regressed {figures['regressed']}, "
        f"poison {figures['poison']} ({figures['poison_dead_lettered']} in the DLQ), valid messages in the "
        f"DLQ {figures['valid_dead_lettered']}"
    )


if __name__ == "__main__":
    main()
