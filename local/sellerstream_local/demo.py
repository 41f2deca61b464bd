"""``sellerstream demo``: a realistic stream of every kind of notification, summarised.

No AWS account: moto plays SQS, DynamoDB, S3, EventBridge and Secrets Manager; the SP-API emulator
plays Amazon on loopback. Orders: new orders, redelivered duplicates, double-encoded bodies, late
(out-of-order) events, stale callback responses, throttling and four poison messages. Listings:
status changes through the partner bus and rule, an empty status, a deletion. Reports: a flat
file larger than one invocation's share (checkpoint + continuation), a vendor's report, a
cancelled and a failed one. The app's LWA client secret: Amazon announces its expiry, a rotation
delivers a new one, which is stored. Shipments the seller confirms through the fulfillment queue: a
confirmation (its package reference generated and kept), a tracking update that reuses it, and an
inconsistent update refused before any call. Every other type local mode takes, each from Amazon's
example of it (ids, keys and times changed): FBA inventory of several SKUs (one redelivered, one
older change), listing issues of SKUs the listings phase stored (read again from getListingsItem:
the same version's issues, or a newer version), a seller-fulfilled quantity, a feed's processing
report with per-message errors and warnings and a FATAL feed, and a burst of offer changes for a few
ASINs delivered out of order and twice. The summary says, per notification type, what was stored,
what changed nothing, what was dead-lettered and which events it caused.

Sellers in every region: SP-API is called at the emulator's regional endpoints (``/na``, ``/eu``,
``/fe``). The second seller sells in the US and in Germany: it authorises the application in North
America and in Europe through the product's onboarding API, as a seller onboards (the real
onboarding function's login URI, the region's Seller Central consent page, its redirect URI, where
the function exchanges the code for the region's refresh token, stores it and subscribes the seller
there), and each region's orders are fetched from that region's endpoint with that region's token;
the summary counts the calls by region.

Events out: what was stored flows from the tables' change streams through the change-events
publisher to SellerStream's bus; a subscriber's SQS queue (a rule on the bus) receives them, and a
local webhook receiver gets each one POSTed with the connection's API key, as an EventBridge API
destination sends it (a request with a wrong key is refused with 401).
"""

from __future__ import annotations

import json
import random
import sys
import urllib.parse
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sellerstream import catalog
from sellerstream.adapters.reports import ReportRowReader
from sellerstream.logic.drain_request import DRAIN_REQUEST
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS
from sellerstream_local import events_out
from sellerstream_local.emulator.catalog import PRODUCTS
from sellerstream_local.emulator.feeds import FeedIssue
from sellerstream_local.emulator.listings import amazon_example_issues
from sellerstream_local.notifications_factory import (
    ANY_OFFER,
    INVENTORY,
    LISTING_ISSUES,
    any_offer_changed,
    as_body,
    fba_inventory_availability_change,
    feed_processing_finished,
    listings_item_issues_change,
    listings_item_mfn_quantity_change,
    listings_status_change,
    order_change,
    report_processing_finished,
    shipment_request,
)
from sellerstream_local.pipeline import LWA_CLIENT_ID, LWA_CLIENT_SECRET, DeadLetter, LocalPipeline
from sellerstream_local.poller import PollerStats
from sellerstream_local.resources import create_webhook_destination
from sellerstream_local.traffic import TypeLedger, new_counts
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
# Every other type: the first seller's SKUs with FBA inventory (Amazon's example has the US and Canada
# each), the ASINs whose offers change, the messages of the feed processed with errors and warnings.
FBA_SKUS = 4
OFFER_ASINS = 3
FEED_MESSAGES = 5
CANADA = "A2EUQ1WTGCTBG2"
US = "ATVPDKIKX0DER"
GERMANY = "A1PA6795UKMFR9"
# The seller in two regions: its orders from the second half on are placed in Germany (Europe).
TWO_REGION_SELLER = SELLERS[1]
TWO_REGION_SELLER_REGIONS = ("NA", "EU")


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
    # What became of each record by its type, and which events each type caused (attributed after
    # every drain: no two types whose events look alike are ever drained together here).
    ledger = TypeLedger()
    pipeline.outcomes = ledger
    # The seller in two regions authorises the application in each through the onboarding API, as a
    # seller onboards (which records its marketplaces there: Amazon's list of them comes first).
    pipeline.emulator.set_marketplaces(TWO_REGION_SELLER, [US, GERMANY])
    authorizations = [
        pipeline.authorize_seller(TWO_REGION_SELLER, region) for region in TWO_REGION_SELLER_REGIONS
    ]
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
        (
            "inventory, issues, feeds, offers .......",
            lambda: _every_other_type(pipeline, publish, ledger, start),
        ),
    )
    stats: list[PollerStats] = []
    for number, (title, phase) in enumerate(phases, start=1):
        runs = [*(phase() or []), pipeline.drain()]
        ledger.attribute(pipeline.delivered_events())
        stats.extend(runs)
        out.write(f"  phase {number}  {title} {sum(run.received for run in runs)} receives\n")
    out.write("\n")
    summary = _summary(pipeline, publish.published, stats, orders)
    summary["by_type"] = ledger.report()
    summary["every_other_type"] = _every_other_type_summary(pipeline)
    summary["regions"] = _regions_summary(pipeline, orders, authorizations)
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
            marketplace_id = _marketplace_of(orders, seller, order_id)
            emulator.set_order(
                order_id,
                seller_id=seller,
                last_updated=placed,
                status="Unshipped",
                purchase_date=placed,
                marketplace_id=marketplace_id,
            )
            body = as_body(_order_event(seller, order_id, "Unshipped", placed, marketplace_id))
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
        publish(
            as_body(
                _order_event(seller, order_id, "Shipped", when, _marketplace_of(orders, seller, order_id))
            )
        )
    for seller, order_id in _shipped(orders)[:6]:
        late = _order_event(
            seller,
            order_id,
            "Unshipped",
            start + timedelta(minutes=orders[seller].index(order_id)),
            _marketplace_of(orders, seller, order_id),
        )
        late["NotificationMetadata"]["NotificationId"] = f"late-{order_id}"
        publish(as_body(late))


def _stale_reads(
    pipeline: LocalPipeline, publish: _Publisher, orders: dict[str, list[str]], start: datetime
) -> None:
    """Amazon's read-after-publish lag: a change is announced, but getOrder still answers with the
    state before it. The change must not count as stored: it stays pending, and the drainer asks
    again later (a drain request on the orders queue)."""
    changed = start + timedelta(hours=2)
    for seller, order_id in _shipped(orders)[:3]:
        publish(
            as_body(
                _order_event(seller, order_id, "Shipped", changed, _marketplace_of(orders, seller, order_id))
            )
        )
    pipeline.poller("orders").poll_once()  # answered with the previous state: asked again later
    for seller, order_id in _shipped(orders)[:3]:
        pipeline.emulator.set_order(order_id, seller_id=seller, last_updated=changed, status="Shipped")


def _listings(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """Status changes through the (stand-in) partner event bus and its rule, and a deletion."""
    statuses: list[list[str]] = [["BUYABLE", "DISCOVERABLE"], ["DISCOVERABLE"], []]
    for seller in SELLERS:
        for index in range(SKUS_PER_SELLER):
            sku = _demo_sku(seller, index)
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
        sku = _demo_sku(seller, 0)
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


def _every_other_type(
    pipeline: LocalPipeline, publish: _Publisher, ledger: TypeLedger, start: datetime
) -> list[PollerStats]:
    """FBA inventory, listing issues, an MFN quantity, feeds and offers, each drained (and its events
    attributed) before the next: each type's own line in the summary."""
    runs: list[PollerStats] = []
    for step in (_fba_inventory, _listing_issues, _mfn_quantity, _feeds, _offers):
        step(pipeline, publish, start)
        runs.append(pipeline.drain())
        ledger.attribute(pipeline.delivered_events())
    return runs


def _subscription(kind: str, seller: str) -> str:
    return f"subscription-local-{kind}-{seller}"


def _fba_inventory(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """The first seller's FBA inventory of a few of its SKUs, in the US and Canada (Amazon's example
    has both): each SKU once, one redelivered, and one SKU's older change arriving late (nothing
    stored: its inventory is versioned by its event time)."""
    seller = SELLERS[0]
    subscription_id = _subscription("fba-inventory", seller)
    pipeline.provision_seller(seller, subscription_ids=(subscription_id,))
    asins = {str(item["sku"]): str(item["asin"]) for item in pipeline.table_items("listings")}

    def change(number: int, at: datetime, notification_id: str, fulfillable: int) -> str:
        sku = _demo_sku(seller, number + 1)
        return as_body(
            fba_inventory_availability_change(
                seller_id=seller,
                sku=sku,
                fnsku=f"X00DEMO{number + 1:03d}",
                asin=asins.get(sku, PRODUCTS[number % len(PRODUCTS)][0]),
                changed_at=at,
                fulfillable={US: fulfillable, CANADA: fulfillable // 2},
                subscription_id=subscription_id,
                notification_id=notification_id,
            )
        )

    bodies = [
        change(number, start + timedelta(minutes=70 + number), f"demo-fba-{number + 1}", 50 - 7 * number)
        for number in range(FBA_SKUS)
    ]
    for body in bodies:
        publish(body)
    publish(bodies[0])  # redelivered
    publish(change(1, start + timedelta(minutes=65), "demo-fba-2-older", 60))  # an older change, late


def _listing_issues(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """Issues of listings the listings phase stored, from Amazon's getListingsItem example: Amazon
    flags a listing's image and price without a new version (its issues read again), adds an issue
    to one without a status (the same), and one listing's newer version comes with an issue (stored
    whole); one notification is redelivered."""
    emulator = pipeline.emulator
    example = {issue["code"]: issue for issue in amazon_example_issues()}
    now = datetime.now(UTC).replace(microsecond=0)
    changes = [
        # (seller, SKU number, Amazon's issues now, a newer version's time or None)
        (SELLERS[0], 1, [example["18027"], example["18155"]], None),
        (SELLERS[1], 2, [example["90220"], example["99300"]], None),
        (SELLERS[0], 4, [example["90220"]], start + timedelta(minutes=90)),
    ]
    asins = {
        (str(item["seller_id"]), str(item["sku"])): str(item["asin"])
        for item in pipeline.table_items("listings")
    }
    bodies: list[str] = []
    for index, (seller, number, issues, newer) in enumerate(changes):
        sku = _demo_sku(seller, number)
        subscription_id = _subscription("listing-issues", seller)
        pipeline.provision_seller(seller, subscription_ids=(subscription_id,))
        emulator.listings.set_listing(seller, sku, US, issues=issues, last_updated=newer)
        actions = [
            action["action"]
            for issue in issues
            for action in (issue.get("enforcements") or {}).get("actions", [])
        ]
        bodies.append(
            as_body(
                listings_item_issues_change(
                    seller_id=seller,
                    sku=sku,
                    asin=asins.get((seller, sku)),
                    changed_at=now + timedelta(seconds=index),
                    severities=sorted({issue["severity"] for issue in issues}),
                    enforcement_actions=actions or None,
                    subscription_id=subscription_id,
                    notification_id=f"demo-issues-{sku}",
                )
            )
        )
    for body in bodies:
        publish(body)
    publish(bodies[0])  # redelivered


def _mfn_quantity(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """A stored listing's seller-fulfilled quantity changes (no callback: the notification is the
    state), is redelivered, and an older quantity (before the listing was read) arrives late."""
    seller, sku = SELLERS[0], _demo_sku(SELLERS[0], 3)
    subscription_id = _subscription("mfn-quantity", seller)
    pipeline.provision_seller(seller, subscription_ids=(subscription_id,))
    pipeline.emulator.listings.set_listing(seller, sku, US, quantity=42)  # Amazon's view agrees

    def quantity(amount: int, at: datetime, notification_id: str) -> str:
        return as_body(
            listings_item_mfn_quantity_change(
                seller_id=seller,
                sku=sku,
                quantity=amount,
                changed_at=at,
                subscription_id=subscription_id,
                notification_id=notification_id,
            )
        )

    newest = quantity(42, datetime.now(UTC), "demo-mfn-quantity-42")  # after the listing's read
    publish(newest)
    publish(newest)  # redelivered
    publish(quantity(40, start, "demo-mfn-quantity-40"))  # older than the listing's read: nothing


def _feeds(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """A product feed processed with errors and warnings for some of its messages (the processing
    report is read, its results stored), a FATAL feed (its report says why), and a redelivery."""
    seller = SELLERS[0]
    subscription_id = _subscription("feeds", seller)
    pipeline.provision_seller(seller, subscription_ids=(subscription_id,))
    issues = [
        FeedIssue(
            f"SKU {_demo_sku(seller, 2)} does not match any ASIN and is missing attributes required to "
            "create one.",
            message_id=2,
            sku=_demo_sku(seller, 2),
            code="8560",
        ),
        FeedIssue(
            "The value provided for 'item_weight' is outside the expected range.",
            severity="WARNING",
            message_id=4,
            sku=_demo_sku(seller, 4),
            code="99010",
            attribute_name="item_weight",
        ),
        FeedIssue(
            "A value is required for the 'brand' field.",
            message_id=5,
            sku=_demo_sku(seller, 5),
            code="90220",
            attribute_name="brand",
        ),
        FeedIssue(
            "The image provided is lower than the recommended resolution.",
            severity="WARNING",
            message_id=5,
            sku=_demo_sku(seller, 5),
            code="99042",
        ),
    ]
    feeds = [
        ("53347010001", "DONE", "POST_PRODUCT_DATA", {"messages": FEED_MESSAGES, "issues": issues}),
        ("53347010002", "FATAL", "POST_INVENTORY_AVAILABILITY_DATA", {}),
    ]
    bodies = []
    for number, (feed_id, status, feed_type, report) in enumerate(feeds):
        document_id = pipeline.emulator.add_feed(
            feed_id,
            feed_type=feed_type,
            status=status,
            owner=seller,
            created=start + timedelta(minutes=80 + number),
            **report,
        )
        bodies.append(
            as_body(
                feed_processing_finished(
                    feed_id=feed_id,
                    status=status,
                    finished_at=start + timedelta(minutes=82 + number),
                    seller_id=seller,
                    account_id=f"amzn1.merchant.o.{seller}",
                    document_id=document_id,
                    feed_type=feed_type,
                    subscription_id=subscription_id,
                    notification_id=f"demo-feed-{feed_id}",
                )
            )
        )
    for body in bodies:
        publish(body)
    publish(bodies[0])  # redelivered


def _offers(pipeline: LocalPipeline, publish: _Publisher, start: datetime) -> None:
    """A burst of offer changes on a few of the seller's ASINs, interleaved: each ASIN's changes
    arrive first, third, second (late: older than the one stored, nothing stored), fourth, and the
    third is delivered twice."""
    seller = SELLERS[0]
    subscription_id = _subscription("offers", seller)
    pipeline.provision_seller(seller, subscription_ids=(subscription_id,))

    def change(asin_index: int, number: int) -> str:
        asin, _, price = PRODUCTS[asin_index]
        return as_body(
            any_offer_changed(
                seller_id=seller,
                asin=asin,
                changed_at=start + timedelta(minutes=100 + 2 * number, seconds=asin_index),
                buy_box_price=round(float(price) - 0.25 * number, 2),
                subscription_id=subscription_id,
                notification_id=f"demo-offer-{asin}-{number}",
            )
        )

    for number in (0, 2, 2, 1, 3):  # of four changes: the third again (redelivered), the second late
        for asin_index in range(OFFER_ASINS):
            publish(change(asin_index, number))


def _demo_sku(seller: str, number: int) -> str:
    """The listings phase's SKUs."""
    return f"{seller[-2:]}-SKU-{number:03d}"


def _order_event(
    seller: str, order_id: str, status: str, when: datetime, marketplace_id: str = US
) -> dict[str, Any]:
    return order_change(
        seller_id=seller, order_id=order_id, status=status, changed_at=when, marketplace_id=marketplace_id
    )


def _marketplace_of(orders: dict[str, list[str]], seller: str, order_id: str) -> str:
    """Where an order was placed: the US, or Germany for the second half of the two-region seller's."""
    if seller == TWO_REGION_SELLER and orders[seller].index(order_id) >= ORDERS_PER_SELLER // 2:
        return GERMANY
    return US


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
        "throttled_by_operation": dict(pipeline.emulator.throttled),
        "orders_stored": len(headers),
        "pii_items": sum(1 for item in items if str(item["sk"]).startswith("PII#")),
        "orders_expected": sum(len(ids) for ids in orders.values()),
        "status_counts": dict(Counter(str(item.get("order_status")) for item in headers)),
        "listings": _listings_summary(pipeline.table_items("listings")),
        "reports": _reports_summary(pipeline),
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


def _every_other_type_summary(pipeline: LocalPipeline) -> dict[str, Any]:
    """What the last phase left in the tables: each SKU's FBA inventory by marketplace, the listings
    whose issues or quantity it changed, the feeds and their processing reports, each ASIN's offers."""
    stored = pipeline.table_items("notifications")

    def of(type_name: str) -> list[dict[str, Any]]:
        return [item for item in stored if item["notification_type"] == type_name]

    feed_results: Counter[str] = Counter()
    for item in pipeline.table_items("feeds"):
        if str(item["sk"]).startswith("RESULTS#"):
            feed_results[str(item["feed_id"])] += len(item.get("results") or [])
    return {
        "inventory": [
            {
                "sku": item["key"]["sku"],
                "fnsku": item["key"]["fnsku"],
                "marketplace": item["key"]["marketplace_id"],
                "fulfillable": int(item["data"]["FulfillmentInventory"]["Fulfillable"]),
                "as_of": item["last_updated"],
            }
            for item in of(INVENTORY.type_name)
        ],
        "listings": [
            {
                "seller": item["seller_id"],
                "sku": item["sku"],
                "marketplace": item["marketplace_id"],
                "issues": [str(issue.get("code")) for issue in item.get("issues") or []],
                "last_updated": item["last_updated"],
                "issues_read_again": "issues_notification" in item,
                "mfn_quantity": {
                    channel: int(entry["quantity"])
                    for channel, entry in (item.get("mfn_quantity") or {}).items()
                },
            }
            for item in pipeline.table_items("listings")
            if "issues_notification" in item
            or "mfn_quantity" in item
            or (item.get("notification") or {}).get("notification_type") == LISTING_ISSUES.type_name
        ],
        "feeds": [
            {
                "feed_id": item["feed_id"],
                "type": item.get("feed_type"),
                "status": item["processing_status"],
                "report": item["report_status"],
                "format": item.get("report_format"),
                "summary": {name: int(value) for name, value in (item.get("summary") or {}).items()},
                "results": feed_results[str(item["feed_id"])],
            }
            for item in pipeline.table_items("feeds")
            if str(item["sk"]).startswith("FEED#")
        ],
        "offers": [
            {
                "asin": item["key"]["asin"],
                "condition": item["key"]["item_condition"],
                "as_of": item["last_updated"],
                "buy_box": float(
                    item["data"]["AnyOfferChangedNotification"]["Summary"]["BuyBoxPrices"][0]["LandedPrice"][
                        "Amount"
                    ]
                ),
                "notification_id": item["notification_id"],
            }
            for item in of(ANY_OFFER.type_name)
        ],
    }


def _regions_summary(
    pipeline: LocalPipeline, orders: dict[str, list[str]], authorizations: list[dict[str, Any]]
) -> dict[str, Any]:
    """SP-API calls by region; how the two-region seller authorised the application in each region
    through the onboarding API (its login and redirect URIs, the answer page's status, the types it
    was subscribed to there: no code or token); and for each of its marketplaces, its orders stored
    and the getOrder calls each region's endpoint answered for them."""
    seller = TWO_REGION_SELLER
    placed: dict[str, str] = {
        order_id: _marketplace_of(orders, seller, order_id) for order_id in orders[seller]
    }
    stored = {
        str(item["order_id"])
        for item in pipeline.table_items("orders")
        if str(item["sk"]).startswith("ORDER#") and item.get("seller_id") == seller
    }
    answered: dict[str, Counter[str]] = {marketplace_id: Counter() for marketplace_id in placed.values()}
    for request in pipeline.emulator.requests:
        order_id = request.path.rstrip("/").rpartition("/")[2]
        if request.operation == "getOrder" and request.status == 200 and order_id in placed:
            answered[placed[order_id]][(request.region or "none").upper()] += 1
    return {
        "sp_api_calls_by_region": pipeline.emulator.sp_api_calls_by_region(),
        "seller": seller,
        "authorized": authorizations,
        "marketplaces": [
            {
                "marketplace": marketplace_id,
                "region": MARKETPLACE_REGIONS[marketplace_id].name,
                "orders": sum(1 for where in placed.values() if where == marketplace_id),
                "stored": sum(
                    1 for order_id, where in placed.items() if where == marketplace_id and order_id in stored
                ),
                "get_order_answered_by_region": dict(sorted(calls.items())),
            }
            for marketplace_id, calls in answered.items()
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


def _reports_summary(pipeline: LocalPipeline) -> dict[str, Any]:
    """The reports table's records, and their rows as a reader finds them: the S3 blocks read back,
    and the lookup items beside them in the report rows table."""
    records = pipeline.table_items("reports")
    reader = ReportRowReader(pipeline.resources.tables["report_rows"], pipeline.resources.reports_bucket)
    rows = sum(
        sum(1 for _ in reader.rows(str(record["seller_key"]), str(record["report_id"]))) for record in records
    )
    listing = pipeline.s3.get_paginator("list_objects_v2").paginate(
        Bucket=pipeline.resources.reports_bucket, Prefix=catalog.REPORT_ROWS_PREFIX
    )
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
        "row_items": rows,
        "row_blocks": sum(int(page.get("KeyCount", 0)) for page in listing),
        "lookup_items": len(pipeline.table_items("report_rows")),
    }


def _header(pipeline: LocalPipeline) -> str:
    return (
        "SellerStream local demo: orders, listings, reports and every other type end to end, no AWS account\n"
        "  AWS: moto (SQS, DynamoDB, S3, EventBridge, Secrets Manager)\n"
        f"  SP-API + LWA: emulator at {pipeline.emulator.base_url} (regional endpoints /na, /eu, /fe)\n\n"
    )


def _render(summary: dict[str, Any], log_path: Path | None) -> str:
    outcomes = summary["outcomes"]
    orders = summary["by_type"].get(catalog.ORDER_CHANGE.name, new_counts())
    drain_requests = summary["by_type"].get(DRAIN_REQUEST, new_counts())
    lines = [
        "Messages",
        f"  published {summary['published']}   received {summary['received']} (with redeliveries)   "
        f"succeeded {summary['succeeded']}   retried {summary['retried']}   "
        f"dead-lettered {len(summary['dead_lettered'])}",
        "Outcomes",
        # An ORDER_CHANGE is done once its change is recorded; its seller's drainer stores the order.
        f"  orders: changes recorded for their sellers' drainers {orders['pending']} -> orders stored "
        f"{orders['stored']}   no call needed: already stored as new {outcomes.get('skipped', 0)}   "
        f"drains continued by a drain request (an order asked again, or time up) {drain_requests['records']}",
        f"  other records: stored {outcomes.get('written', 0)}   duplicates skipped {outcomes.get('duplicate', 0)}   "
        f"older or equal state refused {outcomes.get('stale', 0)}   "
        f"throttled and deferred {outcomes.get('deferred', 0)}",
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
        f"  report rows stored: {summary['reports']['row_items']} in {summary['reports']['row_blocks']} "
        f"S3 blocks, found through {summary['reports']['lookup_items']} lookup items",
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
    lines += _render_regions(summary["regions"])
    lines += _render_every_other_type(summary["every_other_type"])
    lines += _render_by_type(summary["by_type"])
    lines += _render_events(summary["events"])
    if log_path:
        lines.append(f"\nHandler logs (JSON lines): {log_path}")
    return "\n".join(lines) + "\n"


def _render_regions(regions: dict[str, Any]) -> list[str]:
    seller = regions["seller"]
    calls = regions["sp_api_calls_by_region"]
    authorised = ", ".join(entry["region"] for entry in regions["authorized"])
    lines = [
        "Regions (the emulator's SP-API endpoints /na, /eu, /fe; each call with the seller's token of that region)",
        "  SP-API calls by region: " + "   ".join(f"{region} {count}" for region, count in calls.items()),
        f"  {seller} authorised the application in {authorised} through the onboarding API "
        f"(the real function, at {_origin(regions['authorized'])}): login URI -> consent page -> redirect URI",
    ]
    for entry in regions["authorized"]:
        login, redirect = (
            urllib.parse.urlsplit(entry["login_uri"]),
            urllib.parse.urlsplit(entry["redirect_uri"]),
        )
        steps = "" if entry["complete"] else " (a step failed: see the handler logs)"
        lines.append(
            f"    {entry['region']}: GET {login.path}?{login.query} -> /{entry['region'].lower()} consent page -> "
            f"GET {redirect.path} {entry['status']}: code exchanged, refresh token stored, "
            f"subscribed to {len(entry['subscriptions'])} types{steps}"
        )
    for row in regions["marketplaces"]:
        fetched = "   ".join(
            f"/{region.lower()} {count}" for region, count in row["get_order_answered_by_region"].items()
        )
        lines.append(
            f"  {seller}  {row['marketplace']} ({row['region']}): {row['stored']}/{row['orders']} orders stored, "
            f"getOrder answered on {fetched or 'no endpoint'}"
        )
    return lines


def _origin(authorizations: list[dict[str, Any]]) -> str:
    """The onboarding API's scheme and domain, from the login URI the seller opened."""
    parts = urllib.parse.urlsplit(authorizations[0]["login_uri"]) if authorizations else None
    return f"{parts.scheme}://{parts.netloc}" if parts else "no API"


def _render_every_other_type(stored: dict[str, Any]) -> list[str]:
    lines = ["Every other type (Amazon's examples, their ids, keys and times changed)"]
    inventory: dict[str, list[str]] = {}
    for row in stored["inventory"]:
        inventory.setdefault(f"{row['sku']} {row['fnsku']}", []).append(
            f"{row['marketplace']} {row['fulfillable']}"
        )
    lines += [
        f"  FBA inventory   {sku}  fulfillable: {'  '.join(places)}" for sku, places in inventory.items()
    ]
    for row in stored["listings"]:
        if row["mfn_quantity"]:
            told = "seller-fulfilled quantity " + " ".join(f"{c} {q}" for c, q in row["mfn_quantity"].items())
        else:
            version = "same version, issues read again" if row["issues_read_again"] else "a newer version"
            told = f"issues {' '.join(row['issues']) or 'none'} ({version})"
        lines.append(f"  listing         {row['seller']} {row['sku']} {row['marketplace']}  {told}")
    for row in stored["feeds"]:
        counts = row["summary"]
        lines.append(
            f"  feed            {row['feed_id']} {row['type']} {row['status']}, report {row['report']} "
            f"({row['format']}): processed {counts.get('messages_processed', 0)}, "
            f"accepted {counts.get('messages_successful', 0)}, with errors {counts.get('messages_with_error', 0)}, "
            f"with warnings {counts.get('messages_with_warning', 0)}; results stored {row['results']}"
        )
    lines += [
        f"  offers          {row['asin']} {row['condition']}  buy box {row['buy_box']:.2f}  as of {row['as_of']}"
        for row in stored["offers"]
    ]
    return lines


def _render_by_type(by_type: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "By notification type (records taken: entities stored, unchanged; duplicates; dead-lettered -> events)"
    ]
    for name, counts in by_type.items():
        events = _by_type(counts["events"]) or "no event"
        # Changes left to the seller's drainer (recorded, or held in memory by the invocation that
        # took the lease): the orders it stored are the type's entities stored.
        drained = f"   ({counts['pending']} left to the drainer)" if counts.get("pending") else ""
        lines.append(
            f"  {name:<38} records {counts['records']:>3}: stored {counts['stored']:>3}, "
            f"unchanged {counts['unchanged']:>2}; duplicates {counts['duplicates']:>2}; "
            f"dead-lettered {counts['dead_lettered']} -> {events}{drained}"
        )
    return lines


def _by_type(counts: dict[str, int]) -> str:
    """Detail-types and their counts, those that came (the catalog declares many)."""
    return "   ".join(f"{detail_type} {count}" for detail_type, count in counts.items() if count)


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
