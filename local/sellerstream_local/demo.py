"""``sellerstream demo``: a realistic stream of all three notification types, summarised.

No AWS account: moto plays SQS, DynamoDB, S3, EventBridge and Secrets Manager; the SP-API emulator
plays Amazon on loopback. Orders: new orders, redelivered duplicates, double-encoded bodies, late
(out-of-order) events, stale callback responses, throttling and four poison messages. Listings:
status changes through the partner bus and rule, an empty status, a deletion. Reports: a flat
file larger than one invocation's share (checkpoint + continuation), a vendor's report, a
cancelled and a failed one. The app's LWA client secret: Amazon announces its expiry, a rotation
delivers a new one, which is stored. Shipments the seller confirms through the fulfillment queue: a
confirmation (its package reference generated and kept), a tracking update that reuses it, and an
inconsistent update refused before any call.

Events out: what was stored flows from the tables' change streams through the change-events
publisher to SellerStream's bus; a subscriber's SQS queue (a rule on the bus) receives them, and a
local webhook receiver gets each one POSTed with the connection's API key, as an EventBridge API
destination sends it (a request with a wrong key is refused with 401).
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sellerstream_local import events_out
from sellerstream_local.notifications_factory import (
    as_body,
    listings_status_change,
    order_change,
    report_processing_finished,
    shipment_request,
)
from sellerstream_local.pipeline import LWA_CLIENT_ID, LWA_CLIENT_SECRET, DeadLetter, LocalPipeline
from sellerstream_local.poller import PollerStats
from sellerstream_local.resources import create_webhook_destination
from sellerstream_local.webhook import ApiDestinationForwarder, WebhookReceiver
from stacks.constants import LWA_APP_SECRET_NAME as APP_SECRET_NAME

SELLERS = ("A1SELLERSTREAM01", "A2SELLERSTREAM02")
VENDOR_ACCOUNT = "amzn1.vg.5550001"
ORDERS_PER_SELLER = 20
SKUS_PER_SELLER = 8
REPORT_ROWS = 12_000
ROWS_PER_INVOCATION = 5_000  # small, so the demo shows a report continuing from its checkpoint
EMULATOR_TIME_SCALE = 20.0
APP_SECRET_EXPIRES_IN_DAYS = 10
# The demo's webhook: an API key header, as a connection with API key auth sends it.
WEBHOOK_API_KEY_HEADER = "x-api-key"
WEBHOOK_API_KEY = "local-demo-webhook-key"  # the local receiver's own, made up for the demo
WEBHOOK_DESTINATION = "sellerstream-local-webhook"
WEBHOOK_RATE_LIMIT_PER_SECOND = 300


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
        with LocalPipeline(
            emulator_time_scale=EMULATOR_TIME_SCALE,
            log_stream=log_stream,
            settings={"report_max_rows_per_invocation": ROWS_PER_INVOCATION},
        ) as pipeline:
            return _run(pipeline, rng, start, out, log_path)
    finally:
        if log_stream:
            log_stream.close()


class _Publisher:
    """Publishes bodies the way Amazon delivers them and counts them."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        self.published = 0

    def __call__(self, body: str) -> None:
        self.pipeline.publish(body)
        self.published += 1


def _run(
    pipeline: LocalPipeline, rng: random.Random, start: datetime, out: IO[str], log_path: Path | None
) -> dict[str, Any]:
    for seller in SELLERS:
        pipeline.provision_seller(seller, subscription_ids=(f"subscription-local-order-change-{seller}",))
    publish = _Publisher(pipeline)
    orders = {seller: order_ids(ORDERS_PER_SELLER, rng) for seller in SELLERS}
    out.write(_header(pipeline))
    # A phase that drains the queues itself along the way returns those runs' statistics.
    phases: tuple[tuple[str, Callable[[], list[PollerStats] | None]], ...] = (
        ("new orders, duplicates, poison ........", lambda: _new_orders(pipeline, publish, orders, start)),
        (
            "shipments + late (older) events ........",
            lambda: _shipments(pipeline, publish, orders, start, rng),
        ),
        ("stale callback responses ...............", lambda: _stale_reads(pipeline, publish, orders, start)),
        ("listings via the partner bus ...........", lambda: _listings(pipeline, publish, start)),
        ("reports (streamed, resumed) ............", lambda: _reports(pipeline, publish, start)),
        ("LWA client secret: expiry, rotation ....", lambda: _app_secret(pipeline)),
        ("shipments confirmed by the seller ......", lambda: _confirm_shipment(pipeline, publish, orders)),
    )
    stats: list[PollerStats] = []
    for number, (title, phase) in enumerate(phases, start=1):
        runs = [*(phase() or []), pipeline.drain()]
        stats.extend(runs)
        out.write(f"  phase {number}  {title} {sum(run.received for run in runs)} receives\n")
    out.write("\n")
    summary = _summary(pipeline, publish.published, stats, orders)
    summary["events"] = _events_out(pipeline)
    out.write(_render(summary, log_path))
    return summary


def _events_out(pipeline: LocalPipeline) -> dict[str, Any]:
    """What the subscriber's queue received, and the webhook receiver's view of the same events,
    POSTed by the API destination's stand-in; then one request with a wrong key."""
    events = pipeline.delivered_events()
    streams = pipeline.change_events_poller().stats
    with WebhookReceiver(WEBHOOK_API_KEY_HEADER, WEBHOOK_API_KEY) as receiver:
        create_webhook_destination(
            pipeline.events,
            name=WEBHOOK_DESTINATION,
            endpoint=receiver.url,
            api_key_header=WEBHOOK_API_KEY_HEADER,
            api_key=WEBHOOK_API_KEY,
            rate_limit_per_second=WEBHOOK_RATE_LIMIT_PER_SECOND,
        )
        forwarder = ApiDestinationForwarder(pipeline.events, pipeline.secrets, WEBHOOK_DESTINATION)
        forwarded = forwarder.forward(events)
        wrong_key_status = forwarder.post(events[0], api_key="not-the-connection-key") if events else None
        webhook = {
            **receiver.view(),
            "endpoint": receiver.url,
            "auth_header": forwarder.api_key_header,
            "forwarded": forwarded.delivered,
            "not_delivered": len(forwarded.failed),
            "wrong_key_status": wrong_key_status,
        }
    return {
        "delivered": len(events),
        "by_type": events_out.counts_by_type(events),
        **events_out.check(events),
        "stream": {
            "records_read": streams.records_read,
            "filtered_out": streams.filtered_out,
            "handed_to_publisher": streams.records_handed,
            "publisher_invocations": streams.invocations,
            # Records handed over once each (no retry): those beyond the events changed no version.
            "no_event": streams.records_handed - len(events)
            if not (streams.partial_failures or streams.handler_crashes)
            else None,
        },
        "dead_lettered": pipeline.change_events_dead_lettered(),
        "webhook": webhook,
    }


def _new_orders(
    pipeline: LocalPipeline, publish: _Publisher, orders: dict[str, list[str]], start: datetime
) -> None:
    """New orders; a few redelivered (same NotificationId), a few double-encoded, and poison."""
    emulator = pipeline.emulator
    # Another app of the same seller shares the getOrder quota: fewer tokens than our own bucket
    # expects, and it has just spent them (Amazon answers 429 until its bucket refills).
    emulator.set_rate_plan("getOrder", rate=0.5, burst=12)
    emulator.fail_next("getOrder", 429, count=3, code="QuotaExceeded")
    for seller, ids in orders.items():
        for offset, order_id in enumerate(ids):
            placed = start + timedelta(minutes=offset)
            emulator.set_order(
                order_id, seller_id=seller, last_updated=placed, status="Unshipped", purchase_date=placed
            )
            body = as_body(_order_event(seller, order_id, "Unshipped", placed))
            publish(json.dumps(body) if offset % 7 == 3 else body)
            if offset % 5 == 0:
                publish(body)  # Amazon delivers at least once: the same notification again
    for poison in _poison_messages(start):
        publish(poison)


def _shipments(
    pipeline: LocalPipeline,
    publish: _Publisher,
    orders: dict[str, list[str]],
    start: datetime,
    rng: random.Random,
) -> None:
    """Shipments (newer state), plus late deliveries of the first events (out of order)."""
    for seller, order_id in _shipped(orders):
        when = start + timedelta(hours=1, minutes=rng.randint(0, 50))
        pipeline.emulator.set_order(order_id, seller_id=seller, last_updated=when, status="Shipped")
        publish(as_body(_order_event(seller, order_id, "Shipped", when)))
    for seller, order_id in _shipped(orders)[:6]:
        late = _order_event(
            seller, order_id, "Unshipped", start + timedelta(minutes=orders[seller].index(order_id))
        )
        late["NotificationMetadata"]["NotificationId"] = f"late-{order_id}"
        publish(as_body(late))


def _stale_reads(
    pipeline: LocalPipeline, publish: _Publisher, orders: dict[str, list[str]], start: datetime
) -> None:
    """Amazon's read-after-publish lag: a change is announced, but getOrder still answers with the
    state before it. The notification must not count as done: it waits and asks again."""
    changed = start + timedelta(hours=2)
    for seller, order_id in _shipped(orders)[:3]:
        publish(as_body(_order_event(seller, order_id, "Shipped", changed)))
    pipeline.poller("orders").poll_once()  # answered with the previous state: deferred
    for seller, order_id in _shipped(orders)[:3]:
        pipeline.emulator.set_order(order_id, seller_id=seller, last_updated=changed, status="Shipped")


def _listings(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """Status changes through the (stand-in) partner event bus and its rule, and a deletion."""
    statuses: list[list[str]] = [["BUYABLE", "DISCOVERABLE"], ["DISCOVERABLE"], []]
    for seller in SELLERS:
        for index in range(SKUS_PER_SELLER):
            sku = f"{seller[-2:]}-SKU-{index:03d}"
            # Amazon's view when the callback runs: the state the notification announces.
            pipeline.emulator.set_listing(
                seller, sku, "ATVPDKIKX0DER", status=statuses[index % 3], last_updated=start
            )
            publish(
                as_body(
                    listings_status_change(
                        seller_id=seller, sku=sku, status=statuses[index % 3], changed_at=start
                    )
                )
            )
        deleted_at = start + timedelta(hours=1)
        sku = f"{seller[-2:]}-SKU-000"
        publish(
            as_body(
                listings_status_change(seller_id=seller, sku=sku, status=["DELETED"], changed_at=deleted_at)
            )
        )


def _reports(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """A flat file larger than one invocation's share, a vendor's report, a cancelled and a failed one."""
    emulator = pipeline.emulator
    pipeline.provision_seller(VENDOR_ACCOUNT, subscription_ids=("subscription-local-vendor-reports",))
    fatal_message = "The requested date range exceeds 30 days."
    reports: list[tuple[str, str, str | None, str | None, str]] = [
        (
            "50001",
            "DONE",
            emulator.add_report("50001", rows=REPORT_ROWS),
            SELLERS[0],
            "subscription-local-reports",
        ),
        ("50002", "DONE", emulator.add_report("50002", rows=40), None, "subscription-local-vendor-reports"),
        (
            "50003",
            "CANCELLED",
            emulator.add_report("50003", status="CANCELLED"),
            SELLERS[1],
            "subscription-local-reports",
        ),
        (
            "50004",
            "FATAL",
            emulator.add_report("50004", status="FATAL", fatal_message=fatal_message),
            SELLERS[1],
            "subscription-local-reports",
        ),
    ]
    for report_id, status, document_id, seller, subscription_id in reports:
        account = f"amzn1.merchant.o.{seller}" if seller else VENDOR_ACCOUNT
        notification = report_processing_finished(
            report_id=report_id,
            status=status,
            finished_at=start,
            seller_id=seller,
            account_id=account,
            document_id=document_id,
            subscription_id=subscription_id,
        )
        publish(as_body(notification))


def _app_secret(pipeline: LocalPipeline) -> list[PollerStats]:
    """Amazon announces that the app's client secret expires in ten days; the operator rotates it
    (``sellerstream rotate-app-secret``); the new secret arrives on the app queue and is stored; the
    hourly check then reports its expiry."""
    pipeline.emulator.applications.announce_expiry(
        LWA_CLIENT_ID, expires_at=datetime.now(UTC) + timedelta(days=APP_SECRET_EXPIRES_IN_DAYS)
    )
    runs = [pipeline.drain()]
    pipeline.rotate_app_secret()
    runs.append(pipeline.drain())
    pipeline.run_secret_expiry_check()
    return runs


def _confirm_shipment(
    pipeline: LocalPipeline, publish: _Publisher, orders: dict[str, list[str]]
) -> list[PollerStats]:
    """The seller's systems confirm an unshipped order's package (every item, no reference: one is
    generated and kept), then correct its tracking number (the kept reference is reused), then send
    an update of the same package with another quantity, which is refused without a call."""
    seller, order_id = SELLERS[0], orders[SELLERS[0]][1]  # odd positions are still Unshipped
    shipped_at = datetime.now(UTC).replace(microsecond=0)

    def request(tracking: str, **options: Any) -> str:
        body = shipment_request(
            seller_id=seller, order_id=order_id, tracking_number=tracking, shipped_at=shipped_at, **options
        )
        return as_body(body)

    publish(request("1Z999AA10123456784", shipping_method="UPS Ground"))
    # Confirmed: Amazon moves the order to Shipped and announces it (an ORDER_CHANGE to process).
    runs = [pipeline.drain()]
    publish(request("1Z999AA10123456785", shipping_method="UPS Ground"))
    runs.append(pipeline.drain())
    [package] = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PACKAGE#")]
    first = package["order_items"][0]
    publish(
        request(
            "1Z999AA10123456786",
            request_id="demo-inconsistent-update",
            package_reference_id=str(package["package_reference_id"]),
            items={str(first["order_item_id"]): int(first["quantity"]) + 1},
        )
    )
    return runs


def _order_event(seller: str, order_id: str, status: str, when: datetime) -> dict[str, Any]:
    return order_change(seller_id=seller, order_id=order_id, status=status, changed_at=when)


def _shipped(orders: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(seller, order_id) for seller, ids in orders.items() for order_id in ids[::2]]


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
    unknown_type["NotificationType"] = "SHIPMENT_TRACKING_MILESTONE_CHANGED"  # not taken
    return ["{not json at all", as_body(unknown_seller), as_body(missing_order_id), as_body(unknown_type)]


def _summary(
    pipeline: LocalPipeline, published: int, stats: list[PollerStats], orders: dict[str, list[str]]
) -> dict[str, Any]:
    dead: list[DeadLetter] = pipeline.dead_letters()
    items = pipeline.table_items("orders")
    headers = [item for item in items if str(item["sk"]).startswith("ORDER#")]
    packages = [item for item in items if str(item["sk"]).startswith("PACKAGE#")]
    calls = pipeline.emulator.sp_api_calls()
    return {
        "published": published,
        "received": sum(s.received for s in stats),
        # Records reported done, less those done by being copied to the DLQ with their reason.
        "succeeded": sum(s.succeeded for s in stats) - pipeline.outcomes.counts["dead_lettered"],
        "retried": sum(s.retried_messages for s in stats),
        "dead_lettered": [
            {
                "id": letter.notification_id or letter.message_id,
                "reason": letter.reason,
                "detail": letter.detail,
            }
            for letter in dead
        ],
        "outcomes": dict(pipeline.outcomes.counts),
        "sp_api_calls": dict(calls),
        "lwa_token_requests": pipeline.emulator.calls.get("lwaToken", 0),
        "throttled": sum(pipeline.emulator.throttled.values()),
        "orders_stored": len(headers),
        "pii_items": sum(1 for item in items if str(item["sk"]).startswith("PII#")),
        "orders_expected": sum(len(ids) for ids in orders.values()),
        "status_counts": dict(Counter(str(item.get("order_status")) for item in headers)),
        "listings": _listings_summary(pipeline.table_items("listings")),
        "reports": _reports_summary(
            pipeline.table_items("reports"), len(pipeline.table_items("report_rows"))
        ),
        "app_secret": _app_secret_summary(pipeline),
        "shipments": {
            "confirmed": pipeline.outcomes.counts["confirmed"],
            "updated": pipeline.outcomes.counts["updated"],
            "refused": sum(1 for letter in dead if letter.reason == "inconsistent_shipment"),
            "packages": [
                {
                    "order": item["order_id"],
                    "package_reference_id": item["package_reference_id"],
                    "carrier": item["carrier_code"],
                    "tracking": item["tracking_number"],
                    "items": {
                        entry["order_item_id"]: int(entry["quantity"]) for entry in item["order_items"]
                    },
                    "version": int(item["version"]),
                }
                for item in packages
            ],
        },
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


def _app_secret_summary(pipeline: LocalPipeline) -> dict[str, Any]:
    secret = json.loads(pipeline.secrets.get_secret_value(SecretId=APP_SECRET_NAME)["SecretString"])
    [state] = [item for item in pipeline.table_items("accounts") if str(item["pk"]).startswith("LWA_CLIENT#")]
    now = datetime.now(UTC)

    def days_until(stamp: object) -> float | None:
        if not isinstance(stamp, str):
            return None
        return round((datetime.fromisoformat(stamp.replace("Z", "+00:00")) - now).total_seconds() / 86400, 1)

    return {
        "rotated": secret["client_secret"] != LWA_CLIENT_SECRET,
        "expires_in_days": days_until(state.get("expires_at")),
        "previous_works_for_days": days_until(state.get("previous_secret_expires_at")),
        "rotations": pipeline.emulator.applications.rotations,
    }


def _listings_summary(listings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "stored": len(listings),
        "deleted": sum(1 for item in listings if item.get("deleted")),
        "empty_status": sum(1 for item in listings if item.get("status") == []),
    }


def _reports_summary(records: list[dict[str, Any]], row_items: int) -> dict[str, Any]:
    return {
        "records": [
            {
                "report_id": record["report_id"],
                "status": record["processing_status"],
                "owner": record["seller_key"],
                "rows": int(record.get("row_count", 0)),
                "parts": int(record.get("parts", 1)),
                "note": str(record.get("error_summary", ""))[:60],
            }
            for record in records
        ],
        "row_items": row_items,
    }


def _header(pipeline: LocalPipeline) -> str:
    return (
        "SellerStream local demo: orders, listings and reports end to end, no AWS account\n"
        "  AWS: moto (SQS, DynamoDB, S3, EventBridge, Secrets Manager)\n"
        f"  SP-API + LWA: emulator at {pipeline.emulator.base_url}\n\n"
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
        f"  no call needed: already stored as new {outcomes.get('skipped', 0)}   "
        f"same order in the batch {outcomes.get('coalesced', 0) + outcomes.get('superseded', 0)}   "
        f"lagging reads asked again {outcomes.get('deferred_not_ready', 0)}   "
        f"throttled and deferred {outcomes.get('deferred', 0) - outcomes.get('deferred_not_ready', 0)}",
        "Dead letters (poison goes at once, with its reason; other failures after 5 receives)",
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
    listings = summary["listings"]
    lines += [
        "Listings table",
        f"  {listings['stored']} listings   deleted (kept, flagged) {listings['deleted']}   "
        f"empty status (neither buyable nor discoverable) {listings['empty_status']}",
        "Reports table",
        *[
            f"  {r['report_id']}  {r['status']:<9} {r['owner']:<18} rows {r['rows']:>6}  parts {r['parts']}  {r['note']}"
            for r in summary["reports"]["records"]
        ],
        f"  report rows stored: {summary['reports']['row_items']}",
    ]
    app_secret = summary["app_secret"]
    lines += [
        "LWA client secret (Secrets Manager)",
        f"  expiry announced for {APP_SECRET_EXPIRES_IN_DAYS} days ahead -> rotated "
        f"{app_secret['rotations']}x -> new secret stored: {'yes' if app_secret['rotated'] else 'NO'}   "
        f"expires in {app_secret['expires_in_days']} days   "
        f"old secret still works {app_secret['previous_works_for_days']} days",
    ]
    shipments = summary["shipments"]
    lines += [
        "Shipments (fulfillment queue -> confirmShipment -> orders table)",
        f"  confirmed {shipments['confirmed']}   tracking updated {shipments['updated']}   "
        f"refused as inconsistent (no call) {shipments['refused']}",
        *[
            f"  {p['order']}  package {p['package_reference_id']}  {p['carrier']} {p['tracking']}  "
            f"items {' '.join(f'{item}x{quantity}' for item, quantity in p['items'].items())}  version {p['version']}"
            for p in shipments["packages"]
        ],
    ]
    lines += _render_events(summary["events"])
    if log_path:
        lines.append(f"\nHandler logs (JSON lines): {log_path}")
    return "\n".join(lines) + "\n"


def _by_type(counts: dict[str, int]) -> str:
    return "   ".join(f"{detail_type} {count}" for detail_type, count in counts.items())


def _render_events(events: dict[str, Any]) -> list[str]:
    stream, webhook = events["stream"], events["webhook"]
    refused = webhook["refused"]
    return [
        "Events out (change streams -> publisher -> SellerStream bus -> subscribers)",
        f"  stream records read {stream['records_read']}   filtered out {stream['filtered_out']} "
        f"(no entity: PII items, removals)   handed to the publisher {stream['handed_to_publisher']} "
        f"in {stream['publisher_invocations']} batches"
        + (f" ({stream['no_event']} changed no version: no event)" if stream["no_event"] is not None else "")
        + f"   publisher DLQ {events['dead_lettered']}",
        f"  SQS subscriber received {events['delivered']}:   {_by_type(events['by_type'])}",
        f"  distinct ids {events['distinct_ids']}   redelivered ids {events['duplicate_deliveries']}   "
        f"older than one already received {events['regressed']}",
        f"  webhook receiver ({webhook['endpoint']}, header {webhook['auth_header']}) received "
        f"{webhook['received']}:   {_by_type(webhook['by_type'])}",
        f"  auth checked: {webhook['received']} with the connection's key accepted   "
        f"a wrong key refused {refused.get(401, 0)}x (HTTP {webhook['wrong_key_status']})   "
        f"not delivered {webhook['not_delivered']}",
    ]
