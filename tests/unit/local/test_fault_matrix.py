"""The fault matrix's machinery on a few hundred messages per consumer: every consumer's invariants hold
under every injected fault, and each measure it reports can see a violation."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream import aws, catalog
from sellerstream.adapters import listings as listing_adapter
from sellerstream.adapters.dynamo import to_attribute_map
from sellerstream.adapters.packages import DynamoDBPackageStore, package_item
from sellerstream.adapters.queue import SqsMessageQueue
from sellerstream.adapters.reports import DynamoDBReportStore, RowBatches, RowLayout, report_item
from sellerstream.domain.orders import PendingChange, SellerAccount
from sellerstream.domain.packages import StoredPackage
from sellerstream.domain.reports import ReportProgress, ReportRows
from sellerstream.errors import PermanentFailureError
from sellerstream.logic import batch, change_events
from sellerstream.logic.change_events import ChangeEventsUseCase, StreamOutcome
from sellerstream.logic.drain_request import DRAIN_KEY, drain_request_body
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.logic.order_drainer import OrderDrainer
from sellerstream.notifications import ListingsItemStatusChangeNotification, parse_delivery
from sellerstream_local import fault_matrix
from sellerstream_local.emulator.reports import FLAT_FILE_COLUMNS
from sellerstream_local.fault_matrix import (
    CHANGE_WINDOW_SECONDS,
    EVENTS_LATENCY,
    FIGURES,
    KINDS,
    REPORT_TYPE,
    AppliedChange,
    FaultRates,
    FaultyDynamoDB,
    Journal,
    Traffic,
    build_listings,
    build_reports,
    build_shipments,
    build_workload,
    judge_events,
    letter_figures,
    report_figures,
    report_lines,
    run,
    shipment_figures,
)
from sellerstream_local.resources import create_table
from sellerstream_local.simulation import Delivery, SimulatedS3

# Harsher than the bench's where a few hundred messages would otherwise meet none of a kind, yet
# not so harsh that five receives in a row of one message all fail by chance. Packages are named
# by the seller here: the product's own numbering has a test of its own.
RATES = replace(
    FaultRates(),
    kills=0.01,
    kills_after_write=0.01,
    kills_before_acknowledging=0.005,
    # A few hundred orders batches, most of a quiet seller's changes never written to the pending
    # set: often enough that a batch's first read fails (the invocation raises) whatever the seed.
    dynamodb_throttles=0.01,
    dynamodb_errors=0.004,
    # BatchWriteItem is the report lookups' alone, a few dozen calls: each meets a partial batch.
    dynamodb_unprocessed=0.2,
    spapi_throttles=0.05,
    timeouts=0.03,
    connection_resets=0.03,
    download_failures=0.25,
    # A few dozen PutEvents calls: often enough that a kill right after one, or an answer lost, is
    # met whatever the seed.
    publisher_kills_after_put=0.03,
    event_lost_answers=0.02,
    # A few hundred orders drained: each of the drainer's boundaries is met a few times.
    lease_kills_before_write=0.02,
    lease_kills_before_removal=0.05,
    drain_requests_lost=0.1,
)
TRAFFIC = Traffic(orders=300, listings=200, reports=12, shipments=150, named_packages=1.0)
# A run of one consumer's traffic (the orders' least), for the runs that break the product.
ALONE = Traffic(orders=20, listings=0, reports=0, shipments=0)
# A bus far worse than the bench's, for the runs that break the publisher: every fault it has meets
# a few hundred events.
STORMY_BUS = replace(
    RATES,
    event_throttles=0.2,
    event_internal_failures=0.05,
    event_call_failures=0.05,
    event_outages_per_hour=30.0,
    publisher_kills_after_put=0.02,
    publisher_kills_before_checkpoint=0.04,
)


@pytest.fixture(scope="module")
def outcome() -> Any:
    return run(seed=11, traffic=TRAFFIC, rates=RATES)


def test_given_every_fault_when_delivered_then_no_consumer_lost_applied_twice_or_regressed(
    outcome: Any,
) -> None:
    injected = outcome.injected

    for kind in KINDS:
        figures = outcome.by_consumer[kind]
        assert (kind, figures["lost"], figures["applied_twice"], figures["regressed"]) == (kind, 0, 0, 0)
    assert outcome.still_queued == 0
    assert min(injected[fault] for fault in ("kills", "kills_after_write", "kills_before_acknowledging")) > 0
    # The orders' drainer died holding a seller's lease, and drain requests were not sent (their
    # invocation raised): every pending entry was drained all the same.
    for fault in ("lease_kills_before_write", "lease_kills_before_removal", "drain_requests_lost"):
        assert (fault, injected[fault] > 0) == (fault, True)
    assert outcome.pending_left == 0
    assert any(where.startswith("orders: ClientError") for where in outcome.invocation_errors)
    assert injected["dynamodb_throttles"] > 0 and injected["dynamodb_unprocessed"] > 0
    assert sum(injected[fault] for fault in ("download_timeouts", "download_errors", "download_resets")) > 0


def test_given_every_fault_when_the_streams_are_published_then_the_subscriber_misses_regresses_and_gains_nothing(
    outcome: Any,
) -> None:
    injected, events = outcome.injected, outcome.events

    for kind in KINDS:
        figures = outcome.by_consumer[kind]
        assert (
            kind,
            figures["events_missing"],
            figures["events_duplicate_ids_unequal"],
            figures["events_regressed"],
            figures["events_spurious"],
        ) == (kind, 0, 0, 0, 0)
    # Duplicates are allowed (a batch read again after a kill, a call whose answer was lost), counted.
    assert outcome.figures["events_duplicate_ids"] > 0
    assert (
        events.applied > 0 and events.deliveries == events.applied + outcome.figures["events_duplicate_ids"]
    )
    assert events.dead_lettered == 0 and events.shards.expired == 0
    # Every fault of the bus and the publisher was met, and a batch was retried from a record.
    for fault in (
        "event_throttles",
        "event_internal_failures",
        "event_call_failures",
        "event_lost_answers",
        "event_outages",
        "publisher_kills_after_put",
        "publisher_kills_before_checkpoint",
    ):
        assert (fault, injected[fault] > 0) == (fault, True)
    assert events.shards.partial_failures > 0
    # The writes right after which a consumer's container died are announced all the same.
    assert events.killed_writes_announced == events.killed_writes


def test_given_poison_and_valid_messages_then_every_consumer_dead_letters_all_poison_and_no_valid_one(
    outcome: Any,
) -> None:
    for kind in KINDS:
        figures = outcome.by_consumer[kind]
        assert figures["poison"] >= 3
        assert (kind, figures["poison_dead_lettered"], figures["valid_dead_lettered"]) == (
            kind,
            figures["poison"],
            0,
        )


def test_given_the_consumers_figures_then_the_run_reports_their_sums(outcome: Any) -> None:
    assert outcome.figures == {
        name: sum(outcome.by_consumer[kind][name] for kind in KINDS) for name in FIGURES
    }


def test_given_a_seller_without_valid_credentials_for_a_while_then_no_lwa_exchange_per_message(
    outcome: Any,
) -> None:
    outage = RATES.reauthorised_at - RATES.revoked_at
    # One exchange per container every five minutes of the outage (and after each cold start).
    kills = sum(
        outcome.injected[fault] for fault in ("kills", "kills_after_write", "kills_before_acknowledging")
    )
    bound = outcome.containers * (outage / 300 + 1) + kills

    assert 0 < outcome.revoked_lwa_exchanges <= bound
    # Each waits with a delay doubling from 30 s to 15 minutes: a handful of receives, not a loop.
    assert outcome.revoked_seller_receives <= 10 * outcome.revoked_seller_notifications


def test_given_notifications_dropped_before_the_queue_without_reconciliation_then_stale_orders_counted(
    outcome: Any,
) -> None:
    assert not outcome.reconciled
    assert outcome.figures["not_repaired"] == outcome.stale_before_reconciliation
    assert 0 < outcome.stale_before_reconciliation <= outcome.injected["dropped"]


def test_given_packages_the_product_references_when_two_of_an_order_meet_then_none_is_lost() -> None:
    broken = run(seed=0, traffic=replace(TRAFFIC, named_packages=0.0), rates=RATES)
    figures = broken.by_consumer["fulfillment"]

    assert (figures["lost"], figures["valid_dead_lettered"]) == (0, 0)


# -- the workloads -------------------------------------------------------------------------------


def test_given_a_workload_then_its_shares_of_faults_are_the_ones_asked_for() -> None:
    workload = build_workload(1000, seed=3)

    assert len(workload.poison) == 10
    assert sum(change.dropped for change in workload.changes) == round(990 * 0.05)
    assert sum(change.duplicated for change in workload.changes) == 200
    assert sum(change.reordered for change in workload.changes) == 200


def test_given_listing_changes_then_each_arrives_as_eventbridge_delivers_it_and_the_product_reads_it() -> (
    None
):
    workload = build_listings(500, seed=3, sellers=["A1SELLER", "A2SELLER"])

    assert len(workload.poison) == 5 and len(workload.changes) == 495
    assert sum(change.duplicated for change in workload.changes) == 100
    assert sum(change.reordered for change in workload.changes) == 100
    assert any(change.deleted and change.last for change in workload.changes)
    for change in workload.changes[:50]:
        event = json.loads(change.body)
        assert event["detail-type"] == catalog.LISTINGS_ITEM_STATUS_CHANGE.name
        notification = parse_delivery(change.body).notification
        assert isinstance(notification, ListingsItemStatusChangeNotification)
        assert (notification.notification_id, notification.payload.sku) == (
            change.notification_id,
            change.sku,
        )


def test_given_reports_then_some_continue_over_invocations_and_fatal_and_cancelled_ones_come_too() -> None:
    workload = build_reports(100, seed=3, sellers=["A1SELLER"])

    statuses = Counter(report.status for report in workload.reports)
    assert set(statuses) == {"DONE", "FATAL", "CANCELLED"} and sum(statuses.values()) == 97
    assert any(report.rows > 1000 for report in workload.reports)
    assert all(
        parse_delivery(report.body).notification.notification_id == report.notification_id
        for report in workload.reports
    )


def test_given_shipment_requests_then_updates_come_hours_after_the_package_they_update() -> None:
    workload = build_shipments(400, seed=3, sellers=["A1SELLER"], named_packages=0.5)
    publish: dict[str, float] = {}  # when each request is first delivered (a duplicate comes later)
    for event in workload.events:
        publish.setdefault(event.body, event.at)

    updates = [request for request in workload.requests if request.update]
    assert updates and any(request.package == 1 for request in workload.requests)  # split orders
    assert {request.reference is None for request in workload.requests} == {True, False}
    for update in updates:
        assert publish[update.body] - publish[first_request(workload, update).body] >= 2 * 3600


def first_request(workload: Any, update: Any) -> Any:
    """The request an update updates: its package's first."""
    [first] = [
        request
        for request in workload.requests
        if request.order is update.order and request.package == update.package and not request.update
    ]
    return first


# -- each measure sees a violation ---------------------------------------------------------------


def recording_store(*roles: str) -> FaultyDynamoDB:
    dynamodb = FaultyDynamoDB(random.Random(1), FaultRates(), Counter())
    for role in roles:
        table = catalog.table(role)
        dynamodb.tables[role] = create_table(dynamodb, role, table.partition_key, table.sort_key, None)
    return dynamodb


def order_put(last_updated: str) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": "orders",
        "Item": {
            "pk": {"S": "SELLER#A1"},
            "sk": {"S": "ORDER#111-1111111-1111111"},
            "last_updated": {"S": last_updated},
        },
    }
    return {"Put": put}


def test_given_writes_that_ignore_order_then_the_recording_store_counts_regressed_and_applied_twice() -> None:
    dynamodb = recording_store("orders", "listings")
    listing = {"pk": {"S": "SELLER#A1#MARKETPLACE#M"}, "sk": {"S": "SKU#X"}}

    for last_updated in (
        "2026-09-21T10:00:00.000000Z",
        "2026-09-21T09:00:00.000000Z",
        "2026-09-21T09:00:00.000000Z",
    ):
        dynamodb.put_item(**order_put(last_updated)["Put"])
    for last_updated in (
        "2026-09-21T10:00:00.000000Z",
        "2026-09-21T10:00:00.000000Z",
        "2026-09-21T08:00:00.000000Z",
    ):
        dynamodb.put_item(TableName="listings", Item={**listing, "last_updated": {"S": last_updated}})

    assert (dynamodb.writes["orders"], dynamodb.regressed["orders"], dynamodb.applied_twice["orders"]) == (
        3,
        1,
        1,
    )
    assert (dynamodb.regressed["listings"], dynamodb.applied_twice["listings"]) == (1, 1)


def test_given_a_report_saved_complete_twice_or_back_in_progress_then_both_are_counted() -> None:
    dynamodb = recording_store("reports")
    key = {"pk": {"S": "SELLER#A1"}, "sk": {"S": "REPORT#1"}}

    for status, rows in (
        ("IN_PROGRESS", "1000"),
        ("COMPLETE", "1500"),
        ("COMPLETE", "1500"),
        ("IN_PROGRESS", "1000"),
    ):
        item = {**key, "ingestion_status": {"S": status}, "rows_written": {"N": rows}}
        dynamodb.put_item(TableName="reports", Item=item)

    assert (dynamodb.applied_twice["reports"], dynamodb.regressed["reports"]) == (1, 1)


def stored_report(report: Any, dynamodb: FaultyDynamoDB) -> None:
    record: dict[str, Any] = {"pk": "SELLER#A1SELLER", "sk": f"REPORT#{report.report_id}"}
    record |= {"report_id": report.report_id, "ingestion_status": "COMPLETE", "processing_status": "DONE"}
    record["row_count"] = report.rows
    dynamodb.put_item(TableName="reports", Item=to_attribute_map(record))


def stored_rows(
    report: Any, lines: list[str], dynamodb: FaultyDynamoDB, s3: SimulatedS3, *, blocks: list[tuple[int, int]]
) -> None:
    """``lines`` as blocks ((first row, count) each) and their lookups, as the row writer stores them."""
    layout = RowLayout.of(
        ReportRows("A1SELLER", report.report_id, REPORT_TYPE, 1, ("sku", "SKU"), FLAT_FILE_COLUMNS)
    )
    for start, count in blocks:
        block = lines[start : start + count]
        body, content_type = layout.block(block)
        s3.put_object(Bucket="b", Key=layout.block_key(start), Body=body, ContentType=content_type)
        for request in layout.lookup_items(start, count, [layout.block_lookups(start, block)]):
            dynamodb.put_item(TableName="report_rows", Item=request["PutRequest"]["Item"])


def one_done_report() -> tuple[Any, Any, list[str]]:
    workload = build_reports(6, seed=5, sellers=["A1SELLER"])
    [report] = [report for report in workload.reports if report.status == "DONE"][:1]
    workload.reports = [report]
    return workload, report, report_lines(report)


def test_given_every_row_stored_once_and_findable_then_nothing_lost_or_twice() -> None:
    workload, report, lines = one_done_report()
    dynamodb, s3 = recording_store("reports", "report_rows"), SimulatedS3()
    stored_report(report, dynamodb)
    stored_rows(report, lines, dynamodb, s3, blocks=[(0, len(lines))])

    figures = report_figures(workload, dynamodb, s3, "reports", "report_rows", [])

    assert (figures["lost"], figures["applied_twice"]) == (0, 0)


def test_given_a_report_row_missing_or_stored_twice_then_lost_and_applied_twice_are_counted() -> None:
    workload, report, lines = one_done_report()
    dynamodb, s3 = recording_store("reports", "report_rows"), SimulatedS3()
    stored_report(report, dynamodb)
    # Two blocks overlapping by one row, the first row in neither.
    stored_rows(report, lines, dynamodb, s3, blocks=[(1, 10), (10, len(lines) - 10)])

    figures = report_figures(workload, dynamodb, s3, "reports", "report_rows", [])

    assert (figures["lost"], figures["applied_twice"]) == (1, 1)


def test_given_a_stored_row_its_lookup_does_not_find_then_lost_is_counted() -> None:
    workload, report, lines = one_done_report()
    dynamodb, s3 = recording_store("reports", "report_rows"), SimulatedS3()
    stored_report(report, dynamodb)
    stored_rows(report, lines, dynamodb, s3, blocks=[(0, len(lines))])
    [first] = [item for item in dynamodb.stored_items("report_rows")][:1]
    dynamodb.delete_item(TableName="report_rows", Key={"pk": first["pk"], "sk": first["sk"]})

    figures = report_figures(workload, dynamodb, s3, "reports", "report_rows", [])

    assert (figures["lost"], figures["applied_twice"]) == (1, 0)


class Amazon:
    """What Amazon holds of shipments, as the emulator's Orders API keeps it."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, dict[str, int]]] = {}
        self.shipment_confirmations: list[dict[str, Any]] = []

    def confirm(self, order_id: str, reference: str, items: dict[str, int], tracking: str) -> None:
        self.packages.setdefault(order_id, {})[reference] = items
        self.shipment_confirmations.append(
            {"packageDetail": {"packageReferenceId": reference, "trackingNumber": tracking}}
        )


def test_given_a_package_twice_an_older_tracking_number_last_or_a_package_never_stored_then_each_is_counted() -> (
    None
):
    workload = build_shipments(60, seed=5, sellers=["A1SELLER"], named_packages=1.0)
    dynamodb, amazon = recording_store("orders"), Amazon()
    updated = next(request for request in workload.requests if request.update)
    first = first_request(workload, updated)
    twice, unstored = [r for r in workload.requests if r.order is not updated.order and not r.update][:2]

    def store(request: Any, reference: str) -> None:
        package = StoredPackage(
            request.order.seller, request.order.order_id, reference, "ATVPDKIKX0DER", "UPS", None, None,
            request.tracking, "2026-09-21T00:00:00.000000Z", request.items, "t", "t", None, request.request_id,
        )  # fmt: skip
        dynamodb.put_item(TableName="orders", Item=to_attribute_map(package_item(package)))

    # Confirmed with its update, then its first request again (Amazon and the store): regressed once
    # at Amazon, and Amazon's tracking number is not the latest request's: lost once.
    for tracking in (first.tracking, updated.tracking, first.tracking):
        amazon.confirm(first.order.order_id, "1", first.items, tracking)
    store(updated, "1")
    # Held twice, under two references, at Amazon and in the store; confirmed but never stored.
    for reference in ("1", "2"):
        amazon.confirm(twice.order.order_id, reference, twice.items, twice.tracking)
        store(twice, reference)
    amazon.confirm(unstored.order.order_id, "1", unstored.items, unstored.tracking)
    workload.requests = [first, updated, twice, unstored]

    figures = shipment_figures(workload, dynamodb, "orders", amazon, [])

    assert (figures["lost"], figures["applied_twice"], figures["regressed"]) == (2, 2, 1)


def delivered(detail_type: str, key: dict[str, str], version: Any, event_id: str, **extra: Any) -> Delivery:
    detail = {"id": event_id, "key": key, "version": version, **extra}
    return Delivery(0.0, json.dumps({"detail-type": detail_type, "detail": detail}))


def test_given_deliveries_against_applied_changes_then_each_event_figure_counts_its_violation() -> None:
    order = {"seller_id": "A1", "order_id": "111-1"}
    listing = {"seller_id": "A1", "marketplace_id": "M", "sku": "X"}
    entity = ("Order Changed", "A1", "111-1")
    applied = [
        AppliedChange("orders", entity, version, 0.0, str(index))
        for index, version in enumerate(("v1", "v2", "v3", "v4"))
    ]
    deliveries = [
        delivered("Order Changed", order, "v2", "id-2"),
        delivered("Order Changed", order, "v2", "id-2"),  # a duplicate: counted, allowed
        delivered("Order Changed", order, "v2", "id-2", extra="changed"),  # a duplicate, unequal
        delivered("Order Changed", order, "v1", "id-1"),  # older than v2, already delivered: regressed
        delivered("Order Changed", order, "v3", "id-3"),
        delivered("Order Changed", order, "v3", "id-3bis"),  # v3 again under another id: spurious
        delivered("Listing Changed", listing, "v9", "id-9"),  # no such change stored: spurious
    ]  # v4 never delivered: missing

    verdict = judge_events(applied, deliveries)

    assert verdict.figures["orders"] == {
        "events_missing": 1,
        "events_duplicate_ids": 2,
        "events_duplicate_ids_unequal": 1,
        "events_regressed": 1,
        "events_spurious": 1,
    }
    assert verdict.figures["listings"]["events_spurious"] == 1
    assert verdict.announced == {(entity, "v1"), (entity, "v2"), (entity, "v3")}


def test_given_dead_letters_then_poison_missing_from_them_and_valid_messages_in_them_are_counted() -> None:
    workload = build_listings(40, seed=5, sellers=["A1SELLER"])
    letters = [workload.poison[0], workload.changes[0].body, workload.changes[0].body]

    figures = letter_figures(
        letters, workload.poison, {change.notification_id for change in workload.changes}
    )

    assert figures == {"poison": 3, "poison_dead_lettered": 1, "valid_dead_lettered": 1}


def test_given_orders_drain_requests_in_the_dlq_then_the_changes_they_carry_are_dead_lettered() -> None:
    workload = build_workload(1000, seed=5)
    account = SellerAccount(workload.sellers[0], "na")
    first, second = workload.changes[0], workload.changes[1]
    changed = datetime.fromtimestamp(first.changed, UTC)
    letters = [
        # The drainer's dead letter of an order no retry could fetch: two valid notifications' changes.
        drain_request_body(
            account,
            [
                PendingChange(first.order_id, changed, first.notification_id),
                PendingChange(second.order_id, changed, second.notification_id),
            ],
        ),
        # A poison notification's change (a fault that made its order unfetchable for good).
        drain_request_body(account, [PendingChange("999-0000002-0000001", changed, "poison-00002")]),
        # Drain requests without orders, redriven by the queue: never expected, each one counted.
        drain_request_body(account),
        drain_request_body(account),
        workload.poison[0],
    ]

    figures = letter_figures(
        letters,
        workload.poison,
        {change.notification_id for change in workload.changes},
        ids=["m1", "m2", "m3", "m4", "m5"],
    )

    assert any('"poison-00002"' in body for body in workload.poison)
    assert figures == {"poison": 10, "poison_dead_lettered": 2, "valid_dead_lettered": 4}


# -- a broken product is caught by a whole run -------------------------------------------------


def unconditional_put(table_name: str, item: dict[str, Any], last_updated: str) -> dict[str, Any]:
    return {"Put": {"TableName": table_name, "Item": to_attribute_map(item)}}


def test_given_listing_writes_without_their_condition_when_run_then_lost_applied_twice_and_regressed_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing_adapter, "newer_only_put", unconditional_put)
    monkeypatch.setattr(listing_adapter, "NEWER_ONLY", "attribute_exists(pk) OR attribute_not_exists(pk)")

    figures = run(seed=3, traffic=replace(ALONE, listings=200), rates=RATES).by_consumer["listings"]

    assert min(figures["lost"], figures["applied_twice"], figures["regressed"]) > 0


def test_given_a_listing_use_case_that_refuses_some_skus_when_run_then_lost_and_valid_dead_lettered_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    apply = ListingStatusUseCase.apply

    def refusing(self: ListingStatusUseCase, notification: Any, remaining_time: Any) -> dict[str, Any]:
        if "Blue Shirt" in notification.payload.sku:
            raise PermanentFailureError("refused", "a SKU the broken product will not store")
        return apply(self, notification, remaining_time)

    monkeypatch.setattr(ListingStatusUseCase, "apply", refusing)
    journal = Journal()

    figures = run(seed=3, traffic=replace(ALONE, listings=200), rates=RATES, journal=journal).by_consumer[
        "listings"
    ]

    assert figures["lost"] > 0 and figures["valid_dead_lettered"] > 0
    # The journal says which ones, and why: every receive of each, the last one refused.
    assert len(journal.dead_lettered["listings"]) == figures["valid_dead_lettered"]
    for key in journal.dead_lettered["listings"]:
        receives = journal.struggled("listings")[key]
        assert (receives[-1].outcome, receives[-1].reason) == ("dead_lettered", "refused")


def test_given_a_rows_table_failing_one_call_in_twenty_when_run_then_no_report_lost_and_parts_handed_over() -> (
    None
):
    # Each 1,000-row part makes about forty row writes: nearly every receive meets an error that
    # outlived the SDK's retries. An interrupted part keeps its rows and hands over to a continuation.
    journal = Journal()
    rates = replace(RATES, dynamodb_errors=0.05)

    figures = run(seed=5, traffic=replace(ALONE, reports=20), rates=rates, journal=journal).by_consumer[
        "reports"
    ]

    assert (figures["lost"], figures["valid_dead_lettered"], figures["regressed"]) == (0, 0, 0)
    results = [
        receive.result or {} for receives in journal.receives["reports"].values() for receive in receives
    ]
    assert sum(result.get("outcome") == "handed_over" for result in results) >= 5


def test_given_a_batch_that_acknowledges_poison_without_a_dead_letter_when_run_then_it_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "send_to_dead_letter_queue", lambda *args: "dropped")

    figures = run(seed=3, traffic=replace(ALONE, listings=100), rates=RATES).by_consumer["listings"]

    assert figures["poison_dead_lettered"] < figures["poison"]


def unconditional_save(self: DynamoDBReportStore, seller_key: str, report_id: str, record: Any) -> bool:
    item = to_attribute_map(report_item(seller_key, report_id, record))
    aws.client("dynamodb").put_item(TableName=self._table_name, Item=item)
    return True


def test_given_reports_ingested_again_once_complete_when_run_then_applied_twice_is_caught_and_not_announced_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ReportProgress, "complete", property(lambda progress: False))
    monkeypatch.setattr(DynamoDBReportStore, "save", unconditional_save)  # the store's guard gone too
    # A report comes back once complete when its container dies after the write that completed it.
    # (A rate at which several of the 20 do, so the scenario does not hang on one roll of the seed;
    # the reports alone, so no other lane's faults draw the rolls.)
    rates = replace(RATES, kills_after_write=0.1)

    figures = run(seed=1, traffic=replace(ALONE, orders=0, reports=20), rates=rates).by_consumer["reports"]

    assert figures["applied_twice"] > 0
    # The same outcome reached again is no change to a subscriber: no event for it.
    assert figures["events_spurious"] == 0 and figures["events_missing"] == 0


def test_given_a_drainer_that_never_drains_when_run_then_the_orders_lane_stops_with_lost_and_pending_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(OrderDrainer, "drain", lambda self, accounts, remaining_time: None)

    outcome = run(seed=3, traffic=replace(ALONE, orders=60), rates=RATES)

    # Every notification acknowledged, nothing left to drain the entries: the lane stops (long
    # before the run gives up) and reports them.
    assert outcome.still_queued == 0 and outcome.virtual_seconds < 6 * 3600
    assert outcome.by_consumer["orders"]["lost"] > 0 and outcome.pending_left > 0


# The seller whose token is refused renews it two hours after the last change: its entries recorded
# meanwhile wait for it, drained only by the drain requests that come back every 900 s.
LATE_RENEWAL = replace(RATES, reauthorised_at=CHANGE_WINDOW_SECONDS + 2 * 3600.0)


def test_given_a_seller_renewing_long_after_the_traffic_when_run_then_its_drain_waits_for_it_and_ends() -> (
    None
):
    outcome = run(seed=3, traffic=replace(ALONE, orders=60), rates=LATE_RENEWAL)

    # The lane ran on while a drain request waited for the seller (the queue was never empty), and
    # stopped once the drain was done.
    assert outcome.virtual_seconds > LATE_RENEWAL.reauthorised_at
    assert outcome.still_queued == 0 and outcome.pending_left == 0
    figures = outcome.by_consumer["orders"]
    assert (figures["lost"], figures["valid_dead_lettered"]) == (0, 0)


def test_given_a_drainer_whose_drain_requests_are_dropped_when_run_then_lost_and_pending_left_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defer = SqsMessageQueue.defer

    def dropping(self: SqsMessageQueue, body: str, attributes: Any, *, delay_seconds: int) -> str:
        if DRAIN_KEY in body:
            return "dropped"  # the drain stops with its invocation
        return defer(self, body, attributes, delay_seconds=delay_seconds)

    monkeypatch.setattr(SqsMessageQueue, "defer", dropping)

    outcome = run(seed=3, traffic=replace(ALONE, orders=60), rates=LATE_RENEWAL)

    assert outcome.pending_left > 0 and outcome.by_consumer["orders"]["lost"] > 0


def test_given_a_drainer_that_spins_without_waiting_when_run_then_the_run_stops_and_says_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def spinning(self: OrderDrainer, accounts: Any, remaining_time: Any) -> None:
        while remaining_time() > 0:  # never sleeps: the virtual clock never moves
            pass

    monkeypatch.setattr(OrderDrainer, "drain", spinning)
    monkeypatch.setattr(fault_matrix, "STALL_SECONDS", 1.0)

    with pytest.raises(fault_matrix.ClockStalled, match=r"orders-[0-9] runs on") as stalled:
        run(seed=3, traffic=replace(ALONE, orders=10), rates=RATES)

    assert "in spinning" in str(stalled.value)


fetch_record = OrderDrainer._fetch_record


def refusing_some_orders(self: OrderDrainer, api: Any, seller_id: str, order_id: str) -> Any:
    if order_id.endswith("7"):
        raise PermanentFailureError("refused", "an order the broken product will not fetch")
    return fetch_record(self, api, seller_id, order_id)


def test_given_a_drainer_that_refuses_some_orders_when_run_then_lost_and_valid_dead_lettered_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(OrderDrainer, "_fetch_record", refusing_some_orders)
    journal = Journal()

    outcome = run(seed=3, traffic=replace(ALONE, orders=100), rates=RATES, journal=journal)
    figures = outcome.by_consumer["orders"]

    # The drainer's dead letters carry the refused orders' changes: each is a valid notification's.
    assert figures["lost"] > 0 and figures["valid_dead_lettered"] > 0
    assert figures["poison_dead_lettered"] == figures["poison"]
    assert len(journal.dead_lettered["orders"]) == figures["valid_dead_lettered"]
    assert all(key.startswith("fm-") for key in journal.dead_lettered["orders"])
    assert outcome.pending_left == 0


def test_given_a_row_writer_that_drops_rows_when_run_then_lost_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write = RowBatches.write
    monkeypatch.setattr(RowBatches, "write", lambda self, start, rows: write(self, start, rows[:-1]))

    figures = run(seed=3, traffic=replace(ALONE, reports=20), rates=RATES).by_consumer["reports"]

    assert figures["lost"] > 0


def test_given_a_row_writer_that_drops_lookups_when_run_then_lost_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = RowLayout.lookup_items
    monkeypatch.setattr(RowLayout, "lookup_items", lambda self, *args: items(self, *args)[1:])

    figures = run(seed=3, traffic=replace(ALONE, reports=20), rates=RATES).by_consumer["reports"]

    assert figures["lost"] > 0


def test_given_packages_confirmed_but_never_stored_when_run_then_lost_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(DynamoDBPackageStore, "put", lambda self, package, *, expected_version: None)

    traffic = replace(ALONE, shipments=60, named_packages=1.0)
    figures = run(seed=3, traffic=traffic, rates=RATES).by_consumer["fulfillment"]

    assert figures["lost"] > 0


# -- a broken publisher is caught by the subscriber ----------------------------------------------


def test_given_a_publisher_that_ignores_the_record_to_retry_from_when_run_then_events_missing_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish = ChangeEventsUseCase.publish

    def moving_on(self: ChangeEventsUseCase, changes: Any) -> StreamOutcome:
        return publish(self, changes)._replace(retry_from=None)  # the batch reported done regardless

    monkeypatch.setattr(ChangeEventsUseCase, "publish", moving_on)

    outcome = run(seed=3, traffic=replace(ALONE, orders=200), rates=STORMY_BUS)

    assert outcome.by_consumer["orders"]["events_missing"] > 0


def test_given_a_publisher_that_puts_an_entity_twice_in_one_call_when_run_then_events_regressed_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A long batching window: an order's changes minutes apart meet in one batch.
    latency = replace(EVENTS_LATENCY, batching_window=600.0)
    traffic = replace(ALONE, orders=200)
    kept = run(seed=3, traffic=traffic, rates=STORMY_BUS, latency=latency)

    def ten_at_a_time(events: Any) -> Any:  # EventBridge's limit kept, an entity at most once a call not
        events = list(events)
        return (events[start : start + 10] for start in range(0, len(events), 10))

    monkeypatch.setattr(change_events, "put_chunks", ten_at_a_time)
    broken = run(seed=3, traffic=traffic, rates=STORMY_BUS, latency=latency)

    # EventBridge does not keep a call's entries in order: only one version per entity a call is safe.
    assert kept.figures["events_regressed"] == 0
    assert broken.figures["events_regressed"] > 0
    assert {name: kept.figures[name] for name in ("events_missing", "events_spurious")} == {
        "events_missing": 0,
        "events_spurious": 0,
    }
