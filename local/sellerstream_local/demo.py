"""``sellerstream demo``: a realistic ORDER_CHANGE stream through the local pipeline, summarised.

No AWS account: moto plays SQS, DynamoDB and Secrets Manager; the SP-API emulator plays Amazon
on loopback. The stream holds new orders, redelivered duplicates, double-encoded bodies, late
(out-of-order) events, stale callback responses, throttling, and four poison messages.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import DeadLetter, LocalPipeline
from sellerstream_local.poller import PollerStats

SELLERS = ("A1SELLERSTREAM01", "A2SELLERSTREAM02")
ORDERS_PER_SELLER = 20
EMULATOR_TIME_SCALE = 20.0


def order_ids(count: int, rng: random.Random) -> list[str]:
    return [
        f"{rng.randint(111, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
        for _ in range(count)
    ]


def run_demo(out: IO[str] = sys.stdout, log_path: Path | None = None) -> dict[str, Any]:
    rng = random.Random(7)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    log_stream = log_path.open("w", encoding="utf-8") if log_path else None
    try:
        with LocalPipeline(emulator_time_scale=EMULATOR_TIME_SCALE, log_stream=log_stream) as pipeline:
            return _run(pipeline, rng, start, out, log_path)
    finally:
        if log_stream:
            log_stream.close()


def _run(
    pipeline: LocalPipeline, rng: random.Random, start: datetime, out: IO[str], log_path: Path | None
) -> dict[str, Any]:
    emulator = pipeline.emulator
    subscription = "subscription-local-order-change"
    for seller in SELLERS:
        pipeline.provision_seller(seller, subscription_ids=(f"{subscription}-{seller}",))
    # Another app of the same seller shares the getOrder quota: fewer tokens than our own bucket
    # expects, and it has just spent them (Amazon answers 429 until its bucket refills).
    emulator.set_rate_plan("getOrder", rate=0.5, burst=12)
    emulator.fail_next("getOrder", 429, count=3, code="QuotaExceeded")
    orders = {seller: order_ids(ORDERS_PER_SELLER, rng) for seller in SELLERS}
    published = 0
    stats: list[PollerStats] = []

    def publish(body: str) -> None:
        nonlocal published
        pipeline.publish(body)
        published += 1

    out.write(_header(pipeline))
    # Phase 1: new orders; a few redelivered (same NotificationId) and a few double-encoded.
    first_events: dict[str, dict[str, Any]] = {}
    for seller, ids in orders.items():
        for offset, order_id in enumerate(ids):
            placed = start + timedelta(minutes=offset)
            emulator.set_order(
                order_id, seller_id=seller, last_updated=placed, status="Unshipped", purchase_date=placed
            )
            event = order_change(seller_id=seller, order_id=order_id, status="Unshipped", changed_at=placed)
            first_events[order_id] = event
            body = as_body(event)
            publish(json.dumps(body) if offset % 7 == 3 else body)
            if offset % 5 == 0:
                publish(body)  # Amazon delivers at least once: the same notification again
    for poison in _poison_messages(start):
        publish(poison)
    stats.append(pipeline.drain())
    out.write(f"  phase 1  new orders, duplicates, poison ........ {stats[-1].received} receives\n")

    # Phase 2: shipments (newer state), plus late deliveries of phase-1 events (out of order).
    shipped = [order_id for ids in orders.values() for order_id in ids[::2]]
    for order_id in shipped:
        seller = first_events[order_id]["Payload"]["OrderChangeNotification"]["SellerId"]
        when = start + timedelta(hours=1, minutes=rng.randint(0, 50))
        emulator.set_order(order_id, seller_id=seller, last_updated=when, status="Shipped")
        publish(as_body(order_change(seller_id=seller, order_id=order_id, status="Shipped", changed_at=when)))
    for order_id in shipped[:6]:
        late = dict(first_events[order_id])
        late["NotificationMetadata"] = {**late["NotificationMetadata"], "NotificationId": f"late-{order_id}"}
        publish(as_body(late))
    stats.append(pipeline.drain())
    out.write(f"  phase 2  shipments + late (older) events ........ {stats[-1].received} receives\n")

    # Phase 3: a lagging read returns an older state than the table holds: it must be refused.
    for order_id in shipped[:3]:
        seller = first_events[order_id]["Payload"]["OrderChangeNotification"]["SellerId"]
        emulator.set_order(order_id, seller_id=seller, last_updated=start, status="Unshipped")
        publish(
            as_body(order_change(seller_id=seller, order_id=order_id, status="Shipped", changed_at=start))
        )
    stats.append(pipeline.drain())
    out.write(f"  phase 3  stale callback responses ............... {stats[-1].received} receives\n\n")

    summary = _summary(pipeline, published, stats, orders)
    out.write(_render(summary, log_path))
    return summary


def _poison_messages(start: datetime) -> list[str]:
    unknown_seller = order_change(
        seller_id="AUNKNOWNSELLER9",
        order_id="111-0000000-0000001",
        status="Unshipped",
        changed_at=start,
        notification_id="poison-unknown-seller",
    )
    missing_order_id = order_change(
        seller_id=SELLERS[0],
        order_id="111-0000000-0000002",
        status="Unshipped",
        changed_at=start,
        notification_id="poison-missing-order-id",
    )
    del missing_order_id["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
    unknown_type = order_change(
        seller_id=SELLERS[0],
        order_id="111-0000000-0000003",
        status="Unshipped",
        changed_at=start,
        notification_id="poison-unknown-type",
    )
    unknown_type["NotificationType"] = "FBA_OUTBOUND_SHIPMENT_STATUS"
    return ["{not json at all", as_body(unknown_seller), as_body(missing_order_id), as_body(unknown_type)]


def _summary(
    pipeline: LocalPipeline, published: int, stats: list[PollerStats], orders: dict[str, list[str]]
) -> dict[str, Any]:
    dead: list[DeadLetter] = pipeline.dead_letters()
    items = pipeline.table_items("orders")
    headers = [item for item in items if str(item["sk"]).startswith("ORDER#")]
    calls = pipeline.emulator.sp_api_calls()
    return {
        "published": published,
        "received": sum(s.received for s in stats),
        "succeeded": sum(s.succeeded for s in stats),
        "retried": sum(s.retried_messages for s in stats),
        "dead_lettered": [
            {
                "id": letter.notification_id or letter.message_id,
                "reason": letter.reason,
                "detail": letter.detail,
            }
            for letter in dead
        ],
        "outcomes": dict(pipeline.log.outcomes),
        "sp_api_calls": dict(calls),
        "lwa_token_requests": pipeline.emulator.calls.get("lwaToken", 0),
        "throttled": sum(pipeline.emulator.throttled.values()),
        "orders_stored": len(headers),
        "pii_items": sum(1 for item in items if str(item["sk"]).startswith("PII#")),
        "orders_expected": sum(len(ids) for ids in orders.values()),
        "status_counts": dict(Counter(str(item.get("order_status")) for item in headers)),
        "sample": [
            {
                "seller": item["seller_id"],
                "order": item["order_id"],
                "status": item.get("order_status"),
                "items": int(item.get("item_count", 0)),
                "last_updated": item["last_updated"],
            }
            for item in headers[:5]
        ],
    }


def _header(pipeline: LocalPipeline) -> str:
    return (
        "SellerStream local demo: ORDER_CHANGE end to end, no AWS account\n"
        f"  AWS: moto (SQS, DynamoDB, Secrets Manager)   SP-API + LWA: emulator at {pipeline.emulator.base_url}\n\n"
    )


def _render(summary: dict[str, Any], log_path: Path | None) -> str:
    outcomes = summary["outcomes"]
    lines = [
        "Messages",
        f"  published {summary['published']}   received {summary['received']} (with redeliveries)   "
        f"succeeded {summary['succeeded']}   retried {summary['retried']}   "
        f"dead-lettered {len(summary['dead_lettered'])}",
        "Outcomes",
        f"  stored {outcomes.get('written', 0)}   duplicates skipped {outcomes.get('duplicate', 0)}   "
        f"older or equal state refused {outcomes.get('stale', 0)}",
        "Dead letters (after 5 receives each)",
        *[f"  {d['id']:<28} {d['reason']:<26} {d['detail'][:70]}" for d in summary["dead_lettered"]],
        "SP-API",
        "  "
        + "   ".join(f"{op} {n}" for op, n in sorted(summary["sp_api_calls"].items()))
        + f"   throttled (429) {summary['throttled']}   LWA token requests {summary['lwa_token_requests']}",
        "Orders table",
        f"  {summary['orders_stored']}/{summary['orders_expected']} orders, {summary['pii_items']} PII items (TTL)   "
        + "   ".join(f"{status} {n}" for status, n in sorted(summary["status_counts"].items())),
        *[
            f"  {row['seller']}  {row['order']}  {row['status']:<10} items {row['items']}  updated {row['last_updated']}"
            for row in summary["sample"]
        ],
    ]
    if log_path:
        lines.append(f"\nHandler logs (JSON lines): {log_path}")
    return "\n".join(lines) + "\n"
