"""``sellerstream replay FILE``: captured SQS bodies through the local pipeline, for debugging.

Local mode takes every type SellerStream knows, so a capture of any of them replays. Every seller,
vendor account and subscription the file mentions gets local credentials first, in every SP-API
region its notifications' marketplaces belong to (none named: North America; a subscription whose
notifications name no seller is routed to a local one), and the emulator's view is the newest state
the file's notifications describe, as Amazon's would be when the callback happens: each order; each
listing a listings notification names (its status, its issues, its seller-fulfilled quantity) so
getListingsItem answers for it; each report and feed, with its document: the captured one from
``--documents DIR`` when it is there, a generated one otherwise. The result is one JSON-able report
in which every line of the file is accounted for exactly once: received = succeeded + dead-lettered
+ parked (a payload version this release does not read, kept in the DLQ with its reason) + skipped
as a duplicate; ``by_type`` then says, for each notification type, what its lines came to, what was
stored, what changed nothing and which events it caused.

A line holding a shipment request (``{"shipment": {...}}``) goes to the fulfillment queue, in the
file's order: what came before it is processed first, and it is processed before what follows, so
a confirmation sees the order its ORDER_CHANGE stored (and Amazon's ORDER_CHANGE for the shipped
order follows it). Its seller gets local credentials too. Likewise, a line whose events could not be
told from those of a line of another type still waiting (a listing's issues after its status: both
may cause a "Listing Changed") waits until what came before it is processed, so each event is
given to the type that caused it.

What was stored flows out as deployed (the change streams, the publisher, SellerStream's bus): the
report's ``events`` are what a subscriber's queue received, one entry per event in delivery order,
and ``events_by_type`` counts them; ``dump_events`` writes them whole as JSON lines
(``events_out.dump``: one file per detail-type).

Lines are split on "\\n" only (a U+2028 inside a JSON string is part of its body), a trailing
"\\r" is dropped, and no line can stop the run: a blank line, a line that is not UTF-8, or one
SQS would refuse is reported as dead-lettered without being sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sellerstream import catalog, identifiers
from sellerstream.errors import PoisonMessageError, UnsupportedPayloadVersionError
from sellerstream.notifications import (
    AnyNotification,
    ListingsItemStatusChangeNotification,
    OrderChangeNotification,
)
from sellerstream.notifications.listings_item_issues_change import ListingsItemIssuesChangeNotification
from sellerstream.notifications.shipment_request import parse_shipment_request
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region
from sellerstream_local import events_out
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.catalog import MARKETPLACES
from sellerstream_local.emulator.feeds import STATUSES as FEED_STATUSES
from sellerstream_local.emulator.listings import amazon_example_issues
from sellerstream_local.pipeline import DeadLetter, LocalPipeline, PublishRefused, is_shipment_request, route
from sellerstream_local.traffic import (
    REPLAY_REPORT_ROWS,
    UNATTRIBUTED,
    UNREADABLE,
    TypeLedger,
    account_key,
    feeds,
    is_sellers,
    newest_issues,
    newest_listings,
    newest_order_states,
    newest_quantities,
    order_state,
    reports,
    share_events,
    try_parse,
    type_name_of,
)

# The fulfillment channel whose quantity the emulator's listings hold (Amazon's seller network).
DEFAULT_CHANNEL = "DEFAULT"


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
    """``documents``: a directory of captured report and feed documents, ``<documentId>`` (gzip or
    plain, as Amazon served it) and optionally ``<documentId>.content-type`` (the header);
    ``dump_events``: a directory to write the events to (``events_out.dump``)."""
    lines = list(read_lines(path))
    parsed = [n for n in (try_parse(line.body) for line in lines if line.body is not None) if n is not None]
    shipments = [line.body for line in lines if line.body is not None and is_shipment_request(line.body)]

    with LocalPipeline(orders_api_version=orders_api_version) as pipeline:
        ledger = TypeLedger()
        pipeline.outcomes = ledger  # before any function runs: every record is counted by its type

        def settle() -> None:
            """What was published so far, processed; its events given to their types."""
            pipeline.drain()
            ledger.attribute(pipeline.delivered_events())

        _provision(pipeline, parsed)
        for seller in _shipment_sellers(shipments):
            pipeline.provision_seller(seller)
        _set_amazons_view(pipeline, parsed, documents)
        fates: dict[int, dict[str, Any]] = {}
        published: dict[str, Line] = {}
        types: dict[int, str] = {}
        waiting: set[str] = set()  # the types published since the last drain
        for line in lines:
            if line.body is None:
                fates[line.number] = _dead(line, "invalid_notification", line.problem)
                types[line.number] = UNREADABLE
                continue
            types[line.number] = type_name = _line_type(line.body)
            shipment = is_shipment_request(line.body)
            if shipment or share_events(type_name, waiting):
                settle()  # what the file says happened before it, first
                waiting.clear()
            waiting.add(type_name)
            try:
                published[pipeline.publish(line.body)] = line
            except PublishRefused as refused:
                fates[line.number] = _dead(line, "not_deliverable", str(refused))
            if shipment:
                settle()
                waiting.clear()
        settle()
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
            # Each region's endpoint's calls: a seller's calls go to its notification's region.
            "sp_api_calls_by_region": pipeline.emulator.sp_api_calls_by_region(),
            "throttled": sum(pipeline.emulator.throttled.values()),
        }
        if unattributed:
            report["unattributed_dead_letters"] = unattributed
        report.update(_by_type(lines, types, fates, ledger))
        events = pipeline.delivered_events()
        report["events"] = [events_out.summary(event) for event in events]
        report["events_by_type"] = events_out.counts_by_type(events)
        if dump_events is not None:
            report["events_dumped"] = events_out.dump(events, dump_events)
        if dump_tables:
            report.update(_tables_dump(pipeline))
    return report


def _tables_dump(pipeline: LocalPipeline) -> dict[str, Any]:
    """Every table's items as plain JSON (``tables``), and each stored report's rows by report id,
    read back from their S3 blocks as a reader does (``report_rows``)."""
    from sellerstream.adapters.reports import ReportRowReader  # noqa: PLC0415 - after the environment

    reader = ReportRowReader(pipeline.resources.tables["report_rows"], pipeline.resources.reports_bucket)
    return {
        "tables": {
            name: [plain_json(item) for item in pipeline.table_items(name)] for name in pipeline.table_names()
        },
        "report_rows": {
            str(record["report_id"]): list(reader.rows(str(record["seller_key"]), str(record["report_id"])))
            for record in pipeline.table_items("reports")
        },
    }


# What a type's lines came to (their fates), in the report's own words.
_FATES = {
    "succeeded": "succeeded",
    "duplicate": "skipped_as_duplicate",
    "dead": "dead_lettered",
    "parked": "parked",
}


def _line_type(body: str) -> str:
    """The notification type a line holds, as the catalog names it (a shipment request's is our own),
    or as its body spells it; ``UNREADABLE`` when it holds none."""
    if is_shipment_request(body):
        return catalog.SHIPMENT_REQUEST.name
    _, document, _ = route(body)
    if document is None:
        return UNREADABLE
    name = document.get("NotificationType", document.get("notificationType"))
    return type_name_of(name if isinstance(name, str) else None)


def _by_type(
    lines: list[Line], types: dict[int, str], fates: dict[int, dict[str, Any]], ledger: TypeLedger
) -> dict[str, Any]:
    """``by_type``: for each type, its ``lines`` and their fates (``succeeded``, ``skipped_as_duplicate``,
    ``dead_lettered``, ``parked``), then what its records did: entities ``stored``, ``unchanged``
    (older or equal to what was stored, or already settled), and the ``events`` they caused by
    detail-type (Amazon's ORDER_CHANGE after a confirmed shipment counts as an ORDER_CHANGE); and
    ``unattributed_events`` when an event could be given to no type."""
    recorded = ledger.report()
    names = sorted({*types.values(), *(name for name in recorded if name != UNATTRIBUTED)})
    by_type: dict[str, dict[str, Any]] = {}
    for name in names:
        numbers = [line.number for line in lines if types.get(line.number) == name]
        entry: dict[str, Any] = {"lines": len(numbers), **dict.fromkeys(_FATES.values(), 0)}
        for number in numbers:
            entry[_FATES[fates[number]["outcome"]]] += 1
        counts = recorded.get(name, {})
        entry.update(
            stored=counts.get("stored", 0),
            unchanged=counts.get("unchanged", 0),
            events=counts.get("events", {}),
        )
        by_type[name] = entry
    result: dict[str, Any] = {"by_type": by_type}
    if UNATTRIBUTED in recorded:
        result["unattributed_events"] = recorded[UNATTRIBUTED]["events"]
    return result


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


def _provision(pipeline: LocalPipeline, notifications: Sequence[AnyNotification]) -> None:
    """Local credentials for every seller (or vendor account) and a route for every subscription of
    a seller's types (the application's own need none); a subscription whose notifications name no
    seller is routed to a local seller of its own. A seller lists in the marketplaces its
    notifications name (none named: the emulator's default) and has credentials in each region
    they belong to, as if it had authorised the application in each (none named: North America)."""
    subscribed = [notification for notification in notifications if is_sellers(notification)]
    routes: dict[str, str] = {}
    for notification in subscribed:
        key = _account_of(notification)
        if key is not None:
            routes.setdefault(notification.subscription_id, key)
    for notification in subscribed:
        routes.setdefault(notification.subscription_id, _local_seller(notification.subscription_id))
    places = _seller_marketplaces(notifications)
    named = [key for key in (_account_of(notification) for notification in subscribed) if key is not None]
    for key in dict.fromkeys([*named, *routes.values()]):
        marketplaces = places.get(key, ())
        for region in _regions_of(marketplaces):
            pipeline.provision_seller(key, region=region, marketplaces=marketplaces)
    for subscription_id, account in routes.items():
        pipeline.provision_seller(account, subscription_ids=(subscription_id,))


def _regions_of(marketplaces: Sequence[str]) -> list[str]:
    """The SP-API regions of the marketplaces (NA, EU, FE order); none: North America."""
    named = {MARKETPLACE_REGIONS[marketplace_id] for marketplace_id in marketplaces}
    return [region.name for region in Region if region in named] or [Region.NA.name]


def _account_of(notification: AnyNotification) -> str | None:
    key = account_key(notification)
    return key if identifiers.is_seller_key(key) else None


def _local_seller(subscription_id: str) -> str:
    """A seller id of Amazon's shape standing in for a subscription's unnamed seller."""
    return "A" + hashlib.sha256(subscription_id.encode()).hexdigest()[:13].upper()


def _shipment_sellers(bodies: list[str]) -> list[str]:
    sellers: list[str] = []
    for body in bodies:
        try:
            sellers.append(parse_shipment_request(body).seller_id)
        except PoisonMessageError:
            continue  # reported as dead-lettered by the function
    return list(dict.fromkeys(sellers))


def _set_amazons_view(
    pipeline: LocalPipeline, notifications: Sequence[AnyNotification], documents: Path | None = None
) -> None:
    emulator = pipeline.emulator
    for state in newest_order_states(list(notifications)).values():
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
    for key, listing in _listings(emulator, notifications).items():
        if listing.deleted:
            emulator.delete_listing(*key)
        else:
            emulator.listings.set_listing(
                *key,
                status=listing.status,
                last_updated=listing.last_updated,
                issues=listing.issues,
                quantity=listing.quantity,
            )
    for report_id, finished in reports(list(notifications)).items():
        report = finished.payload.report
        captured = _captured_document(documents, report.report_document_id)
        emulator.add_report(
            report_id,
            report_type=report.report_type,
            status=report.processing_status,
            document_id=report.report_document_id,
            rows=REPLAY_REPORT_ROWS,
            **captured,
        )
    for feed_id, processed in feeds(notifications).items():
        feed = processed.payload.feed
        if feed.processing_status not in FEED_STATUSES:
            continue  # not a status Amazon's Feed has: getFeed does not know it (the line says what follows)
        # The captured processing report as served; otherwise one built for one message, accepted.
        captured = _captured_document(documents, feed.result_feed_document_id)
        report_options = (
            {"report": captured["captured"], "content_type": captured["content_type"]} if captured else {}
        )
        emulator.add_feed(
            feed_id,
            feed_type=feed.feed_type,
            status=feed.processing_status,
            document_id=feed.result_feed_document_id,
            **report_options,
        )


@dataclass
class _Listing:
    """A listing as Amazon would answer for it (None: what the emulator generates)."""

    status: list[str] | None = None
    deleted: bool = False
    last_updated: datetime | None = None
    as_of: datetime | None = None  # the event time of what set the status
    issues: list[dict[str, Any]] | None = None
    issues_as_of: datetime | None = None
    quantity: int | None = None


def _listings(
    emulator: SpApiEmulator, notifications: Sequence[AnyNotification]
) -> dict[tuple[str, str, str], _Listing]:
    """Each listing the file's listings notifications name, as the newest of them describe it: its
    status (a status change; a deletion), its version (the newest status change's time; a listing
    only an issues notification names, that one's), its issues (the newest issues notification's:
    the issues of Amazon's getListingsItem example of the severities it names) and its quantity
    (the newest MFN quantity of the seller's own channel). An event without a marketplace describes
    the listing in each of the seller's marketplaces, unless a newer one of that marketplace says
    otherwise."""
    listings: dict[tuple[str, str, str], _Listing] = {}
    placed = newest_listings(list(notifications))
    for key, notification in placed.items():
        _take_status(listings.setdefault(key, _Listing()), notification)
    for (seller_id, sku), notification in _newest_unplaced_listings(notifications).items():
        for marketplace_id in emulator.marketplaces_of(seller_id):
            listing = listings.setdefault((seller_id, sku, marketplace_id), _Listing())
            if listing.as_of is None or listing.as_of < notification.event_time:
                _take_status(listing, notification)
    for (seller_id, sku, named), issues in sorted(
        newest_issues(notifications).items(), key=lambda entry: entry[1].event_time
    ):
        for marketplace in (named,) if named else emulator.marketplaces_of(seller_id):
            listing = listings.setdefault((seller_id, sku, marketplace), _Listing())
            if listing.issues_as_of is None or listing.issues_as_of < issues.event_time:
                listing.issues = amazon_example_issues(severities=issues.payload.severities)
                listing.issues_as_of = issues.event_time
                listing.last_updated = listing.last_updated or issues.event_time
    quantities = newest_quantities(notifications)
    for (seller_id, sku, _), listing in listings.items():
        listing.quantity = quantities.get((seller_id, sku, DEFAULT_CHANNEL))
    return listings


def _take_status(listing: _Listing, notification: ListingsItemStatusChangeNotification) -> None:
    listing.as_of = listing.last_updated = notification.event_time
    listing.deleted = "DELETED" in notification.payload.status
    listing.status = list(notification.payload.status)


def _seller_marketplaces(notifications: Sequence[AnyNotification]) -> dict[str, tuple[str, ...]]:
    """The marketplaces each seller's orders and listings name (those the emulator knows), in order."""
    found: dict[str, dict[str, None]] = {}
    for notification in notifications:
        marketplace_id: str | None
        if isinstance(notification, OrderChangeNotification):
            state = order_state(notification)
            seller_id, marketplace_id = state.seller_id, state.marketplace_id
        elif isinstance(
            notification, ListingsItemStatusChangeNotification | ListingsItemIssuesChangeNotification
        ):
            seller_id, marketplace_id = notification.payload.seller_id, notification.payload.marketplace_id
        else:
            continue
        if marketplace_id in MARKETPLACES:
            found.setdefault(seller_id, {})[marketplace_id] = None
    return {seller_id: tuple(marketplaces) for seller_id, marketplaces in found.items()}


def _newest_unplaced_listings(
    notifications: Sequence[AnyNotification],
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
