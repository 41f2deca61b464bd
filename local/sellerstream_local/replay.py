"""``sellerstream replay FILE``: captured SQS bodies through the local pipeline, for debugging.

Every seller and subscription the file mentions gets local credentials first, and the emulator's
view of each order is the newest state the file's notifications describe, as Amazon's would be
when the callback happens; a report's document is the captured one from ``--documents DIR`` when
it is there. The result is one JSON-able report in which every line of the file is
accounted for exactly once: received = succeeded + dead-lettered + parked (a payload version
this release does not read, kept in the DLQ with its reason) + skipped as a duplicate.

A line holding a shipment request (``{"shipment": {...}}``) goes to the fulfillment queue, in the
file's order: what came before it is processed first, and it is processed before what follows, so
a confirmation sees the order its ORDER_CHANGE stored (and Amazon's ORDER_CHANGE for the shipped
order follows it). Its seller gets local credentials too.

What was stored flows out as deployed (the change streams, the publisher, SellerStream's bus): the
report's ``events`` are what a subscriber's queue received, one entry per event in delivery order,
and ``events_by_type`` counts them; ``dump_events`` writes them whole as JSON lines
(``events_out.dump``: one file per detail-type).

Lines are split on "\\n" only (a U+2028 inside a JSON string is part of its body), a trailing
"\\r" is dropped, and no line can stop the run: a blank line, a line that is not UTF-8, or one
SQS would refuse is reported as dead-lettered without being sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sellerstream.errors import PoisonMessageError, UnsupportedPayloadVersionError
from sellerstream.notifications import (
    AnyNotification,
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
)
from sellerstream.notifications.shipment_request import parse_shipment_request
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS
from sellerstream_local import events_out
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.catalog import MARKETPLACES
from sellerstream_local.pipeline import DeadLetter, LocalPipeline, PublishRefused, is_shipment_request
from sellerstream_local.traffic import (
    REPLAY_REPORT_ROWS,
    account_key,
    newest_listings,
    newest_order_states,
    order_state,
    reports,
    try_parse,
)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it
    body: str | None  # None: not sendable as an SQS body
    problem: str = ""  # why it was not sent


def read_lines(path: Path) -> Iterator[Line]:
    raw = path.read_bytes()
    parts = raw.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()  # the newline that ends the last line does not start another
    for number, part in enumerate(parts, start=1):
        data = part.removesuffix(b"\r")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            yield Line(number, None, "line is not UTF-8")
            continue
        if not text.strip():
            yield Line(number, None, "blank line (an SQS message body cannot be empty)")
            continue
        yield Line(number, text)


def replay(
    path: Path,
    *,
    dump_tables: bool = False,
    orders_api_version: str = "2026-01-01",
    documents: Path | None = None,
    dump_events: Path | None = None,
) -> dict[str, Any]:
    """``documents``: a directory of captured report documents, ``<reportDocumentId>`` (gzip or
    plain, as Amazon served it) and optionally ``<reportDocumentId>.content-type`` (the header);
    ``dump_events``: a directory to write the events to (``events_out.dump``)."""
    lines = list(read_lines(path))
    parsed = [n for n in (try_parse(line.body) for line in lines if line.body is not None) if n is not None]
    shipments = [line.body for line in lines if line.body is not None and is_shipment_request(line.body)]

    with LocalPipeline(orders_api_version=orders_api_version) as pipeline:
        _provision(pipeline, parsed)
        for seller in _shipment_sellers(shipments):
            pipeline.provision_seller(seller)
        _set_amazons_view(pipeline, parsed, documents)
        fates: dict[int, dict[str, Any]] = {}
        published: dict[str, Line] = {}
        for line in lines:
            if line.body is None:
                fates[line.number] = _dead(line, "invalid_notification", line.problem)
                continue
            shipment = is_shipment_request(line.body)
            if shipment:
                pipeline.drain()  # what the file says happened before the shipment, first
            try:
                published[pipeline.publish(line.body)] = line
            except PublishRefused as refused:
                fates[line.number] = _dead(line, "not_deliverable", str(refused))
            if shipment:
                pipeline.drain()
        pipeline.drain()
        unattributed = _account(pipeline, published, fates)
        dead_lettered = [fates[line.number] for line in lines if fates[line.number]["outcome"] == "dead"]
        parked = [fates[line.number] for line in lines if fates[line.number]["outcome"] == "parked"]
        report: dict[str, Any] = {
            "received": len(lines),
            "succeeded": sum(1 for fate in fates.values() if fate["outcome"] == "succeeded"),
            "skipped_as_duplicate": sum(1 for fate in fates.values() if fate["outcome"] == "duplicate"),
            "dead_lettered": [
                {key: value for key, value in fate.items() if key != "outcome"} for fate in dead_lettered
            ],
            # Kept in the DLQ with their reason until SellerStream reads their version.
            "parked": [{key: value for key, value in fate.items() if key != "outcome"} for fate in parked],
            "blank_lines": sum(1 for line in lines if line.body is None and line.problem.startswith("blank")),
            "sp_api_calls": pipeline.emulator.sp_api_calls(),
            "throttled": sum(pipeline.emulator.throttled.values()),
        }
        if unattributed:
            report["unattributed_dead_letters"] = unattributed
        events = pipeline.delivered_events()
        report["events"] = [events_out.summary(event) for event in events]
        report["events_by_type"] = events_out.counts_by_type(events)
        if dump_events is not None:
            report["events_dumped"] = events_out.dump(events, dump_events)
        if dump_tables:
            report["tables"] = {
                name: [plain_json(item) for item in pipeline.table_items(name)]
                for name in pipeline.table_names()
            }
    return report


UNSUPPORTED_PAYLOAD_VERSION = UnsupportedPayloadVersionError.reason


def _dead(line: Line, reason: str, detail: str, notification_id: str | None = None) -> dict[str, Any]:
    fate: dict[str, Any] = {"outcome": "dead", "line": line.number}
    if notification_id:
        fate["notification_id"] = notification_id
    return {**fate, "reason": reason, "detail": detail}


def _account(
    pipeline: LocalPipeline, published: dict[str, Line], fates: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Gives every published line its one fate; returns dead letters that belong to no line."""
    log = pipeline.outcomes

    def line_of(message_id: str) -> Line | None:
        # A deferred or dead-lettered copy names its source message; a listing's SQS message
        # delivers an EventBridge event, whose id is what publishing returned.
        source = log.source_by_message.get(message_id, message_id)
        line = published.get(source)
        event_id = pipeline.eventbridge_event_ids.get(source)
        return line if line is not None or event_id is None else published.get(event_id)

    outcomes: dict[int, set[str]] = {}
    for message_id, fate in log.fate_by_message.items():
        line = line_of(message_id)
        if line is not None:
            outcomes.setdefault(line.number, set()).add(fate)
    letters: dict[int, DeadLetter] = {}
    unattributed: list[DeadLetter] = []
    for letter in pipeline.dead_letters():
        line = line_of(letter.message_id)
        if line is None:
            line = _line_continued_by(letter, log.notification_by_message, line_of)
        if line is None:
            unattributed.append(letter)
        else:
            letters.setdefault(line.number, letter)
    for line in published.values():
        found = letters.get(line.number)
        seen = outcomes.get(line.number, set())
        if found is not None and found.reason == UNSUPPORTED_PAYLOAD_VERSION:
            fates[line.number] = {
                **_dead(line, found.reason, found.detail, found.notification_id),
                "outcome": "parked",
            }
        elif found is not None:
            fates[line.number] = _dead(line, found.reason, found.detail, found.notification_id)
        elif "succeeded" in seen:
            fates[line.number] = {"outcome": "succeeded", "line": line.number}
        elif "duplicate" in seen:
            fates[line.number] = {"outcome": "duplicate", "line": line.number}
        else:
            fates[line.number] = _dead(line, "not_processed", "no outcome was recorded for this line")
    return [
        {"notification_id": letter.notification_id, "reason": letter.reason, "detail": letter.detail}
        for letter in unattributed
    ]


def _line_continued_by(
    letter: DeadLetter,
    notification_by_message: dict[str, str],
    line_of: Callable[[str], Line | None],
) -> Line | None:
    """A continuation (a later part of a report) is a message of our own: its dead letter belongs
    to the line whose notification it continues."""
    if not letter.notification_id:
        return None
    for message_id, notification_id in notification_by_message.items():
        if notification_id == letter.notification_id:
            line = line_of(message_id)
            if line is not None:
                return line
    return None


def _provision(pipeline: LocalPipeline, notifications: list[AnyNotification]) -> None:
    """Local credentials for every seller (or vendor account) and a route for every subscription;
    a seller lists in the marketplaces its notifications name (none named: the emulator's default),
    in the region of the first."""
    routes: dict[str, str] = {}
    for notification in notifications:
        routes.setdefault(notification.subscription_id, account_key(notification))
    places = _seller_marketplaces(notifications)
    for notification in notifications:
        key = account_key(notification)
        marketplaces = places.get(key, ())
        region = MARKETPLACE_REGIONS[marketplaces[0]].name if marketplaces else "NA"
        pipeline.provision_seller(key, region=region, marketplaces=marketplaces)
    for subscription_id, account in routes.items():
        pipeline.provision_seller(account, subscription_ids=(subscription_id,))


def _shipment_sellers(bodies: list[str]) -> list[str]:
    sellers: list[str] = []
    for body in bodies:
        try:
            sellers.append(parse_shipment_request(body).seller_id)
        except PoisonMessageError:
            continue  # reported as dead-lettered by the function
    return list(dict.fromkeys(sellers))


def _set_amazons_view(
    pipeline: LocalPipeline, notifications: list[AnyNotification], documents: Path | None = None
) -> None:
    emulator = pipeline.emulator
    for state in newest_order_states(notifications).values():
        emulator.set_order(
            state.order_id,
            seller_id=state.seller_id,
            last_updated=state.as_of,
            status=state.status,
            marketplace_id=state.marketplace_id,
            purchase_date=state.purchase_date,
            # The items the notification lists, so a shipment in the file can name them.
            items=state.items or None,
        )
    placed = newest_listings(notifications)
    for (seller_id, sku, marketplace_id), listing in placed.items():
        _set_listing(emulator, (seller_id, sku, marketplace_id), listing)
    # A listing event without a marketplace: the listing as it says, in each of the seller's
    # marketplaces (unless a newer event of that marketplace says otherwise).
    for (seller_id, sku), listing in _newest_unplaced_listings(notifications).items():
        for marketplace_id in emulator.marketplaces_of(seller_id):
            newer = placed.get((seller_id, sku, marketplace_id))
            if newer is None or newer.event_time < listing.event_time:
                _set_listing(emulator, (seller_id, sku, marketplace_id), listing)
    for report_id, notification in reports(notifications).items():
        report = notification.payload.report
        captured = _captured_document(documents, report.report_document_id)
        emulator.add_report(
            report_id,
            report_type=report.report_type,
            status=report.processing_status,
            document_id=report.report_document_id,
            rows=REPLAY_REPORT_ROWS,
            **captured,
        )


def _set_listing(
    emulator: SpApiEmulator, key: tuple[str, str, str], listing: ListingsItemStatusChangeNotification
) -> None:
    if "DELETED" in listing.payload.status:
        emulator.delete_listing(*key)
    else:
        emulator.set_listing(*key, status=list(listing.payload.status), last_updated=listing.event_time)


def _seller_marketplaces(notifications: list[AnyNotification]) -> dict[str, tuple[str, ...]]:
    """The marketplaces each seller's orders and listings name (those the emulator knows), in order."""
    found: dict[str, dict[str, None]] = {}
    for notification in notifications:
        marketplace_id: str | None
        if isinstance(notification, OrderChangeNotification):
            state = order_state(notification)
            seller_id, marketplace_id = state.seller_id, state.marketplace_id
        elif isinstance(notification, ListingsItemStatusChangeNotification):
            seller_id, marketplace_id = notification.payload.seller_id, notification.payload.marketplace_id
        else:
            continue
        if marketplace_id in MARKETPLACES:
            found.setdefault(seller_id, {})[marketplace_id] = None
    return {seller_id: tuple(marketplaces) for seller_id, marketplaces in found.items()}


def _newest_unplaced_listings(
    notifications: list[AnyNotification],
) -> dict[tuple[str, str], ListingsItemStatusChangeNotification]:
    """The newest listing event without a marketplace of each (seller, SKU)."""
    newest: dict[tuple[str, str], ListingsItemStatusChangeNotification] = {}
    for notification in notifications:
        if (
            isinstance(notification, ListingsItemStatusChangeNotification)
            and not notification.payload.marketplace_id
        ):
            key = (notification.payload.seller_id, notification.payload.sku)
            current = newest.get(key)
            if current is None or notification.event_time >= current.event_time:
                newest[key] = notification
    return newest


def _captured_document(documents: Path | None, document_id: str | None) -> dict[str, Any]:
    """The captured document for a report, as ``add_report`` options (none: a generated one)."""
    if documents is None or not document_id:
        return {}
    path = documents / document_id
    if not path.is_file():
        return {}
    header = path.with_name(document_id + ".content-type")
    content_type = header.read_text(encoding="ascii").strip() or None if header.is_file() else None
    return {"captured": path.read_bytes(), "content_type": content_type}


def plain_json(value: Any) -> Any:
    """DynamoDB values (Decimal, sets) as plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain_json(item) for item in value]
    return value
