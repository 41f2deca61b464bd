"""``sellerstream replay`` as a user runs it: the console script in the project's virtualenv."""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream_local.emulator.feeds import FeedIssue, xml_processing_report
from sellerstream_local.emulator.vendored import NOTIFICATION_EXAMPLES
from tests.support.amazon_fixtures import example

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).with_name("sellerstream")


def with_change(
    document: dict[str, Any], notification_id: str, status: str, time_of_change: str
) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["NotificationMetadata"]["NotificationId"] = notification_id
    order = changed["Payload"]["OrderChangeNotification"]
    order["Summary"]["OrderStatus"] = status
    order["OrderChangeTrigger"]["TimeOfOrderChange"] = time_of_change
    return changed


def eventbridge_event(detail: dict[str, Any]) -> dict[str, Any]:
    """An event as the listings rule delivers it to SQS."""
    return {
        "version": "0",
        "id": "2b1a8ab3-4b0f-4c61-a0a2-7e4e3b0e5d10",
        "detail-type": "LISTINGS_ITEM_STATUS_CHANGE",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.x",
        "account": "123456789012",
        "time": "2021-02-03T18:59:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def run_replay(tmp_path: Path, lines: list[str] | bytes, *extra: str) -> dict[str, Any]:
    capture = tmp_path / "capture.jsonl"
    if isinstance(lines, bytes):
        capture.write_bytes(lines)
    else:
        capture.write_text("\n".join(lines) + "\n", encoding="utf-8")
    completed = subprocess.run(
        [str(SCRIPT), "replay", str(capture), "--json", *extra],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report: dict[str, Any] = json.loads(completed.stdout)
    accounted = (
        report["succeeded"]
        + report["skipped_as_duplicate"]
        + len(report["dead_lettered"])
        + len(report["parked"])
    )
    assert accounted == report["received"], report
    return report


def test_given_amazons_example_with_duplicates_reorders_and_poison_when_replayed_then_right_tables(
    tmp_path: Path,
) -> None:
    amazon = example("ORDER_CHANGE")
    newer = with_change(amazon, "n-shipped", "Shipped", "2022-11-30T10:00:00.000Z")
    lines = [
        json.dumps(newer),  # the newer event arrives first
        json.dumps(amazon),  # then Amazon's own example (older)
        json.dumps(amazon),  # redelivered
        json.dumps(json.dumps(amazon)),  # double-encoded
        "this line is not JSON",
        json.dumps({**amazon, "NotificationType": "SOMETHING_ELSE"}),
    ]

    report = run_replay(tmp_path, lines, "--dump-tables")

    # No idempotency records for orders: the redelivered and the double-encoded copies are taken
    # again (their change recorded once more, or skipped once stored), never skipped as duplicates.
    assert (report["received"], report["succeeded"], report["skipped_as_duplicate"]) == (6, 4, 0)
    assert report["dead_lettered"] == [
        {"line": 5, "reason": "invalid_notification", "detail": report["dead_lettered"][0]["detail"]},
        {
            "line": 6,
            "notification_id": amazon["NotificationMetadata"]["NotificationId"],
            "reason": "unknown_notification_type",
            "detail": report["dead_lettered"][1]["detail"],
        },
    ]
    assert report["sp_api_calls"] == {"getOrder": 1}  # one batch: one call serves both changes
    # A US order: fetched from North America's endpoint.
    assert report["sp_api_calls_by_region"] == {"NA": 1, "EU": 0, "FE": 0}
    assert report["throttled"] == 0
    orders = report["tables"]["sellerstream-orders"]
    [header] = [item for item in orders if item["sk"].startswith("ORDER#")]
    assert header["order_id"] == "903-8868176-2219830"
    assert header["seller_id"] == "A3TH9S8BH6GOGM"
    assert header["order_status"] == "SHIPPED"  # the newest state, never regressed by the older event
    assert header["last_updated"] == "2022-11-30T10:00:00.000000Z"
    assert [item["sk"] for item in orders] == ["ORDER#903-8868176-2219830", "PII#ORDER#903-8868176-2219830"]


def test_given_no_tables_flag_when_replayed_then_no_tables_key(tmp_path: Path) -> None:
    report = run_replay(tmp_path, [json.dumps(example("ORDER_CHANGE"))])

    assert "tables" not in report
    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (1, 1, [])


def test_given_amazons_listings_and_report_examples_when_replayed_then_rows_stored(tmp_path: Path) -> None:
    listing = example("LISTINGS_ITEM_STATUS_CHANGE")
    seller_report = example("REPORT_PROCESSING_FINISHED", 0)
    vendor_report = example("REPORT_PROCESSING_FINISHED", 1)
    # Amazon's two report examples share a notification id; as captured traffic they are one notification.
    vendor_report["notificationMetadata"]["notificationId"] = "vendor-report-notification"
    vendor_report["notificationMetadata"]["subscriptionId"] = "vendor-subscription"
    vendor_report["payload"]["reportProcessingFinishedNotification"]["reportId"] = "99990000"
    done = copy.deepcopy(seller_report)
    done["notificationMetadata"]["notificationId"] = "done-report-notification"
    done["payload"]["reportProcessingFinishedNotification"].update(
        reportId="77770000", processingStatus="DONE"
    )
    lines = [
        json.dumps(eventbridge_event(listing)),
        json.dumps(listing),  # the same notification, raw: a duplicate
        json.dumps(seller_report),
        json.dumps(vendor_report),
        json.dumps(done),
    ]

    report = run_replay(tmp_path, lines, "--dump-tables")

    assert (report["received"], report["succeeded"], report["skipped_as_duplicate"]) == (5, 4, 1)
    assert report["dead_lettered"] == []
    assert report["sp_api_calls"] == {"getListingsItem": 1, "getReport": 1, "getReportDocument": 1}
    [stored_listing] = report["tables"]["sellerstream-listings"]
    assert stored_listing["status"] == ["BUYABLE", "DISCOVERABLE"] and stored_listing["sku"] == "NLS-SHOES-03"
    records = {item["report_id"]: item for item in report["tables"]["sellerstream-reports"]}
    assert records["54517018502"]["processing_status"] == "CANCELLED"
    assert records["99990000"]["pk"] == "SELLER#amzn1.vg.6213651"  # the vendor, through its subscription
    assert records["77770000"]["row_count"] == len(report["tables"]["sellerstream-report-rows"]) > 0


def test_given_lines_of_every_kind_when_replayed_then_no_crash_and_every_line_accounted_for(
    tmp_path: Path,
) -> None:
    order = example("ORDER_CHANGE")
    # A raw U+2028 (and U+2029, U+0085) inside a string is part of the body, not a line break.
    order["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["ChangeReason"] = "a\u2028b\u2029c\x85d"
    listing = example("LISTINGS_ITEM_STATUS_CHANGE")
    empty_sku = copy.deepcopy(listing)
    empty_sku["NotificationMetadata"]["NotificationId"] = "n-empty-sku"
    empty_sku["Payload"]["Sku"] = ""
    deep = "[" * 100_000 + "]" * 100_000
    lines = [
        json.dumps(empty_sku).encode(),  # 1: a dead-lettered raw listing with an empty SKU
        b"",  # 2: blank
        json.dumps(order, ensure_ascii=False).encode(),  # 3
        b"   ",  # 4: blank
        json.dumps(order, ensure_ascii=False).encode(),  # 5: the same notification again
        deep.encode(),  # 6
        json.dumps(order)[:-1].encode() + b', "Big": ' + b"9" * 5_000 + b"}",  # 7
        b'{"text": "\xff\xfe not UTF-8"}',  # 8
        b'{"NotificationType": "ORDER_CHANGE", "x": "\x00"}',  # 9: a character SQS refuses
        json.dumps(eventbridge_event(listing)).encode() + b"\r",  # 10: CRLF line ending
    ]

    report = run_replay(tmp_path, b"\n".join(lines) + b"\n")

    assert report["received"] == 10
    # (line 5, the same ORDER_CHANGE again, is taken again: orders keep no idempotency records)
    assert (report["succeeded"], report["skipped_as_duplicate"], report["blank_lines"]) == (3, 0, 2)
    reasons = {letter["line"]: letter["reason"] for letter in report["dead_lettered"]}
    assert reasons == {
        1: "invalid_notification",
        2: "invalid_notification",
        4: "invalid_notification",
        6: "invalid_notification",
        7: "invalid_notification",
        8: "invalid_notification",
        9: "not_deliverable",
    }
    [first] = [letter for letter in report["dead_lettered"] if letter["line"] == 1]
    assert first["notification_id"] == "n-empty-sku" and "Sku" in first["detail"]


def test_given_captured_cp1252_document_when_replayed_with_documents_then_rows_decoded_as_served(
    tmp_path: Path,
) -> None:
    import gzip

    notification = example("REPORT_PROCESSING_FINISHED")
    report = notification["payload"]["reportProcessingFinishedNotification"]
    report.update(processingStatus="DONE", reportDocumentId="amzn1.spdoc.1.4.eu.captured")
    documents = tmp_path / "documents"
    documents.mkdir()
    captured = "sku\tname\nES-1\tPiña colada\nFR-1\tcrème brûlée\n".encode("cp1252")
    (documents / "amzn1.spdoc.1.4.eu.captured").write_bytes(gzip.compress(captured))
    (documents / "amzn1.spdoc.1.4.eu.captured.content-type").write_text("text/plain; charset=Cp1252\n")

    replayed = run_replay(
        tmp_path, [json.dumps(notification)], "--dump-tables", "--documents", str(documents)
    )

    [record] = replayed["tables"]["sellerstream-reports"]
    rows = replayed["report_rows"][record["report_id"]]
    assert record["content_type"] == "text/plain; charset=Cp1252" and record["row_count"] == 2
    assert rows == [{"sku": "ES-1", "name": "Piña colada"}, {"sku": "FR-1", "name": "crème brûlée"}]


def shipment_line(request_id: str, tracking: str, **changes: Any) -> str:
    shipment = {
        "requestId": request_id,
        "sellerId": "A3TH9S8BH6GOGM",
        "marketplaceId": "ATVPDKIKX0DER",
        "amazonOrderId": "903-8868176-2219830",
        "carrierCode": "UPS",
        "trackingNumber": tracking,
        "shipDate": "2022-11-30T09:00:00.000Z",
        **changes,
    }
    return json.dumps({"shipment": shipment})


def test_given_mixed_file_of_notifications_and_shipments_when_replayed_then_in_order_with_calls_by_operation(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps(example("ORDER_CHANGE")),  # the order (item OIID34853450 x10) is stored first
        shipment_line("ship-1", "1Z0001"),  # every item of the stored order: a new package
        shipment_line("ship-2", "1Z0002"),  # a tracking update: the stored reference is reused
        shipment_line(  # a second package of 4 more than were ordered: refused, no call
            "ship-3",
            "1Z0003",
            orderItems=[{"orderItemId": "OIID34853450", "quantity": 4}],
        ),
        shipment_line("ship-4", "1Z0004", carrierCode="Other"),  # no carrierName: refused
    ]

    report = run_replay(tmp_path, lines, "--dump-tables")

    assert (report["received"], report["succeeded"]) == (5, 3)
    assert [(letter["line"], letter["reason"]) for letter in report["dead_lettered"]] == [
        (4, "inconsistent_shipment"),
        (5, "invalid_shipment_request"),
    ]
    # Amazon's ORDER_CHANGE for the shipped order follows the confirmation and is fetched once more.
    assert report["sp_api_calls"] == {"confirmShipment": 2, "getOrder": 2}
    assert report["sp_api_calls_by_region"] == {"NA": 4, "EU": 0, "FE": 0}
    orders = report["tables"]["sellerstream-orders"]
    [package] = [item for item in orders if item["sk"].startswith("PACKAGE#")]
    assert package["sk"] == f"PACKAGE#903-8868176-2219830#{package['package_reference_id']}"
    assert package["request_id"] == "ship-2"
    assert (package["tracking_number"], package["version"]) == ("1Z0002", 2)
    [header] = [item for item in orders if item["sk"].startswith("ORDER#")]
    assert header["order_status"] == "SHIPPED"


def test_given_a_captured_listing_event_without_a_marketplace_when_replayed_then_stored_in_each_of_the_sellers(
    tmp_path: Path,
) -> None:
    unplaced = example("LISTINGS_ITEM_STATUS_CHANGE")
    del unplaced["Payload"]["MarketplaceId"]
    placed = []
    for index, (sku, marketplace_id) in enumerate(
        [("US-ONLY", "ATVPDKIKX0DER"), ("CA-ONLY", "A2EUQ1WTGCTBG2")]
    ):
        document = example("LISTINGS_ITEM_STATUS_CHANGE")
        document["NotificationMetadata"]["NotificationId"] = f"placed-{index}"
        document["Payload"].update(Sku=sku, MarketplaceId=marketplace_id)
        placed.append(json.dumps(document))

    report = run_replay(tmp_path, [json.dumps(eventbridge_event(unplaced)), *placed], "--dump-tables")

    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (3, 3, [])
    assert report["sp_api_calls"] == {"getListingsItem": 3, "getMarketplaceParticipations": 1}
    stored = {(item["marketplace_id"], item["sku"]) for item in report["tables"]["sellerstream-listings"]}
    assert stored == {
        ("ATVPDKIKX0DER", "NLS-SHOES-03"),
        ("A2EUQ1WTGCTBG2", "NLS-SHOES-03"),
        ("ATVPDKIKX0DER", "US-ONLY"),
        ("A2EUQ1WTGCTBG2", "CA-ONLY"),
    }


def test_given_a_sellers_notifications_in_two_regions_when_replayed_then_each_fetched_from_its_regions_endpoint(
    tmp_path: Path,
) -> None:
    # Given: a capture of one seller's order in Germany (Europe) and its listing in the US (North America)
    order = example("ORDER_CHANGE")
    order["Payload"]["OrderChangeNotification"]["Summary"]["MarketplaceId"] = "A1PA6795UKMFR9"
    seller = order["Payload"]["OrderChangeNotification"]["SellerId"]
    listing = example("LISTINGS_ITEM_STATUS_CHANGE")
    listing["Payload"]["SellerId"] = seller

    # When: it is replayed
    report = run_replay(
        tmp_path, [json.dumps(order), json.dumps(eventbridge_event(listing))], "--dump-tables"
    )

    # Then: the seller has credentials in both regions, and each notification's callback went to its
    # marketplace's region's endpoint: both stored, nothing dead-lettered
    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (2, 2, [])
    assert report["sp_api_calls"] == {"getListingsItem": 1, "getOrder": 1}
    assert report["sp_api_calls_by_region"] == {"NA": 1, "EU": 1, "FE": 0}
    tables = report["tables"]
    assert [
        item["order_id"] for item in tables["sellerstream-orders"] if item["sk"].startswith("ORDER#")
    ] == ["903-8868176-2219830"]
    assert [(item["seller_id"], item["marketplace_id"]) for item in tables["sellerstream-listings"]] == [
        (seller, "ATVPDKIKX0DER")
    ]


def test_given_what_amazon_and_aws_may_send_when_replayed_then_three_stored_one_parked_none_dead_lettered(
    tmp_path: Path,
) -> None:
    replayed = example("LISTINGS_ITEM_STATUS_CHANGE")  # from an EventBridge archive: a key more
    replayed_event = {**eventbridge_event(replayed), "replay-name": "after-the-outage"}
    order = example("ORDER_CHANGE")  # an item without SupplySourceId, as Amazon's Summary example
    for item in order["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"]:
        del item["SupplySourceId"]
    unplaced = example("LISTINGS_ITEM_STATUS_CHANGE")  # no MarketplaceId: looked up, not guessed
    unplaced["NotificationMetadata"]["NotificationId"] = "listing-without-marketplace"
    unplaced["Payload"]["Sku"] = "NLS-BOOTS-01"
    del unplaced["Payload"]["MarketplaceId"]
    version_two = example("ORDER_CHANGE")  # a major version this release does not read
    version_two["PayloadVersion"] = "2.0"
    version_two["NotificationMetadata"]["NotificationId"] = "order-change-version-2"
    version_two["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = "903-0000000-0000002"
    lines = [json.dumps(replayed_event), json.dumps(order), json.dumps(eventbridge_event(unplaced))]

    report = run_replay(tmp_path, [*lines, json.dumps(version_two)], "--dump-tables")

    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (4, 3, [])
    [parked] = report["parked"]
    assert (parked["line"], parked["notification_id"], parked["reason"]) == (
        4,
        "order-change-version-2",
        "unsupported_payload_version",
    )
    assert "2.0" in parked["detail"]
    tables = report["tables"]
    assert {item["sku"] for item in tables["sellerstream-listings"]} == {"NLS-SHOES-03", "NLS-BOOTS-01"}
    [header] = [item for item in tables["sellerstream-orders"] if item["sk"].startswith("ORDER#")]
    assert header["sk"] == "ORDER#903-8868176-2219830"  # the version 2.0 order was neither read nor stored


def test_given_an_order_its_redelivery_and_its_shipment_when_replayed_then_one_event_per_stored_change_dumped(
    tmp_path: Path,
) -> None:
    order = json.dumps(example("ORDER_CHANGE"))
    lines = [
        order,
        order,  # redelivered: stores nothing, emits nothing
        shipment_line("ship-1", "1Z0001"),  # confirmed: a package, then Amazon's ORDER_CHANGE (Shipped)
        shipment_line("ship-2", "1Z0002"),  # a tracking update of the same package
    ]
    dump = tmp_path / "events"

    report = run_replay(tmp_path, lines, "--dump-events", str(dump))

    assert {name: count for name, count in report["events_by_type"].items() if count} == {
        "Order Changed": 2,
        "Shipment Confirmed": 2,
    }
    assert report["events_by_type"]["Report Ready"] == 0  # every type is named, with 0 when none came
    orders = [event for event in report["events"] if event["detail_type"] == "Order Changed"]
    assert [event["key"] for event in orders] == [
        {"order_id": "903-8868176-2219830", "seller_id": "A3TH9S8BH6GOGM"}
    ] * 2
    assert orders[1]["previous_version"] == orders[0]["version"] < orders[1]["version"]
    assert orders[1]["changes"]["order_status"]["to"] == "SHIPPED"
    packages = [event for event in report["events"] if event["detail_type"] == "Shipment Confirmed"]
    assert [(event["version"], event["previous_version"]) for event in packages] == [(1, None), (2, 1)]
    assert len({event["id"] for event in report["events"]}) == 4
    # One JSON-lines file per detail-type, each event whole as the subscriber received it.
    assert {name: count for name, count in report["events_dumped"].items() if count} == {
        "order-changed.jsonl": 2,
        "shipment-confirmed.jsonl": 2,
    }
    dumped = [json.loads(line) for line in (dump / "order-changed.jsonl").read_text().splitlines()]
    assert [event["detail"]["id"] for event in dumped] == [event["id"] for event in orders]
    assert {(event["source"], event["detail-type"]) for event in dumped} == {
        ("sellerstream", "Order Changed")
    }
    assert (dump / "listing-changed.jsonl").read_text() == ""


def test_given_dump_events_names_a_file_when_replayed_then_refused_in_one_line(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text(json.dumps(example("ORDER_CHANGE")) + "\n", encoding="utf-8")

    completed = subprocess.run(
        [str(SCRIPT), "replay", str(capture), "--json", "--dump-events", str(capture)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 1 and completed.stdout == ""
    assert completed.stderr == f"sellerstream replay: --dump-events {capture}: not a directory\n"


# -- every type ------------------------------------------------------------------------------------


def amazon(file_name: str) -> dict[str, Any]:
    """One of Amazon's example notifications, as local mode carries it (unmodified)."""
    document: dict[str, Any] = json.loads((NOTIFICATION_EXAMPLES / file_name).read_text(encoding="utf-8"))
    return document


def renamed(document: dict[str, Any], notification_id: str, **envelope: Any) -> dict[str, Any]:
    """Another notification of the same shape: a new id, and envelope fields (``EventTime``) changed."""
    changed = copy.deepcopy(document)
    metadata = changed.get("NotificationMetadata", changed.get("notificationMetadata"))
    metadata["NotificationId" if "NotificationId" in metadata else "notificationId"] = notification_id
    for name, value in envelope.items():
        changed[name if name in changed else name[0].lower() + name[1:]] = value
    return changed


def several_types(tmp_path: Path) -> tuple[list[str], Path]:
    """A capture of Amazon's examples of FBA inventory, offers, feeds (the seller's with its processing
    report in a documents directory, the vendor's cancelled) and listing issues and quantity, with a
    redelivery and an older change of the inventory and of the offer; and the documents directory."""
    inventory = amazon("FBA_INVENTORY_AVAILABILITY_CHANGES.schema-payload-example.json")
    older_inventory = renamed(inventory, "inventory-an-hour-earlier", EventTime="2020-07-13T18:42:04.284Z")
    offer = amazon("ANY_OFFER_CHANGED.schema-example-1.json")
    newer_offer = renamed(offer, "offer-a-minute-later", EventTime="2020-07-13T19:43:04.284Z")
    newer_offer["Payload"]["AnyOfferChangedNotification"]["OfferChangeTrigger"]["TimeOfOfferChange"] = (
        "2020-07-13T19:43:04.284Z"
    )
    feed = amazon("FEED_PROCESSING_FINISHED.schema-example-1.json")
    document_id = feed["payload"]["feedProcessingFinishedNotification"]["resultFeedDocumentId"]
    vendor_feed = renamed(amazon("FEED_PROCESSING_FINISHED.schema-example-2.json"), "vendor-feed-cancelled")
    vendor_feed["notificationMetadata"]["subscriptionId"] = "vendor-feeds-subscription"
    vendor = vendor_feed["payload"]["feedProcessingFinishedNotification"]
    vendor.update(feedId="53347018457", processingStatus="CANCELLED")
    del vendor["resultFeedDocumentId"]
    issues = amazon("LISTINGS_ITEM_ISSUES_CHANGE.2023-12-13.schema-example-1.json")
    # Amazon's example quantity of the same SKU, sent after the replay reads the listing.
    quantity = renamed(
        amazon("LISTINGS_ITEM_MFN_QUANTITY_CHANGE.schema-example-1.json"),
        "quantity-after-the-read",
        EventTime=(datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )
    lines = [
        json.dumps(inventory),
        json.dumps(inventory),  # redelivered
        json.dumps(older_inventory),  # an older change, late: nothing stored
        json.dumps(newer_offer),  # the newer change first
        json.dumps(offer),  # Amazon's example, older: nothing stored
        json.dumps(newer_offer),  # redelivered
        json.dumps(feed),
        json.dumps(vendor_feed),
        json.dumps(eventbridge_event(issues)),
        json.dumps(quantity),
    ]
    documents = tmp_path / "documents"
    documents.mkdir()
    report_issues = [
        FeedIssue("SKU NLS-SHOES-03 is missing required attributes.", message_id=1, sku="NLS-SHOES-03"),
        FeedIssue(
            "'item_weight' is outside the expected range.", severity="WARNING", message_id=2, code="99010"
        ),
    ]
    captured = xml_processing_report("A3TH9S8BH6GOGM", "53347018456", 3, report_issues)
    (documents / document_id).write_bytes(gzip.compress(captured.encode("utf-8"), mtime=0))
    (documents / f"{document_id}.content-type").write_text("text/xml; charset=UTF-8\n")
    return lines, documents


def test_given_amazons_examples_of_inventory_offers_a_feed_and_listing_issues_when_replayed_then_each_type_reported(
    tmp_path: Path,
) -> None:
    lines, documents = several_types(tmp_path)

    report = run_replay(tmp_path, lines, "--dump-tables", "--documents", str(documents))

    assert (report["received"], report["succeeded"], report["skipped_as_duplicate"]) == (10, 8, 2)
    assert report["dead_lettered"] == []
    by_type = report["by_type"]
    assert by_type["FBA_INVENTORY_AVAILABILITY_CHANGES"] == {
        "lines": 3,
        "succeeded": 2,
        "skipped_as_duplicate": 1,
        "dead_lettered": 0,
        "parked": 0,
        "stored": 2,  # the US and Canada
        "unchanged": 2,  # the older change, in both
        "events": {"Inventory Changed": 2},
    }
    assert by_type["ANY_OFFER_CHANGED"] == {
        "lines": 3,
        "succeeded": 2,
        "skipped_as_duplicate": 1,
        "dead_lettered": 0,
        "parked": 0,
        "stored": 1,
        "unchanged": 1,
        "events": {"Any Offer Changed": 1},
    }
    feeds_line = by_type["FEED_PROCESSING_FINISHED"]
    assert (feeds_line["lines"], feeds_line["succeeded"], feeds_line["stored"]) == (2, 2, 2)
    assert feeds_line["events"] == {"Feed Processed": 2}
    assert by_type["LISTINGS_ITEM_ISSUES_CHANGE"]["events"] == {"Listing Changed": 1}
    # The listing was read with the quantity the notification names (the emulator is seeded with
    # it): an equal state, no event.
    assert by_type["LISTINGS_ITEM_MFN_QUANTITY_CHANGE"]["events"] == {}
    assert "unattributed_events" not in report
    assert report["sp_api_calls"] == {"getFeed": 2, "getFeedDocument": 1, "getListingsItem": 1}

    tables = report["tables"]
    stored = {(item["notification_type"], item["sk"]) for item in tables["sellerstream-notifications"]}
    assert stored == {
        (
            "FBA_INVENTORY_AVAILABILITY_CHANGES",
            "FBA_INVENTORY_AVAILABILITY_CHANGES#SELLERSKU-1#X001ABCDEF#ATVPDKIKX0DER",
        ),
        (
            "FBA_INVENTORY_AVAILABILITY_CHANGES",
            "FBA_INVENTORY_AVAILABILITY_CHANGES#SELLERSKU-1#X001ABCDEF#A2EUQ1WTGCTBG2",
        ),
        ("ANY_OFFER_CHANGED", "ANY_OFFER_CHANGED#ATVPDKIKX0DER#123#New"),
    }
    [offer_item] = [
        item
        for item in tables["sellerstream-notifications"]
        if item["notification_type"] == "ANY_OFFER_CHANGED"
    ]
    assert offer_item["notification_id"] == "offer-a-minute-later"  # never the older example
    heads = {item["feed_id"]: item for item in tables["sellerstream-feeds"] if item["sk"].startswith("FEED#")}
    assert heads["53347018456"]["pk"] == "SELLER#A3TH9S8BH6GOGM"
    assert (heads["53347018456"]["report_status"], heads["53347018456"]["content_type"]) == (
        "PARSED",
        "text/xml; charset=UTF-8",
    )
    assert heads["53347018456"]["summary"]["messages_with_error"] == 1
    [results] = [
        item for item in tables["sellerstream-feeds"] if item["sk"].startswith("RESULTS#53347018456#")
    ]
    assert [(result["severity"], result.get("sku")) for result in results["results"]] == [
        ("ERROR", "NLS-SHOES-03"),
        ("WARNING", None),
    ]
    # The vendor's feed, through its subscription: Amazon's CANCELLED answer, no document to read.
    assert heads["53347018457"]["pk"] == "SELLER#amzn1.vg.6213651"
    assert (heads["53347018457"]["processing_status"], heads["53347018457"]["report_status"]) == (
        "CANCELLED",
        "NO_DOCUMENT",
    )
    [listing] = tables["sellerstream-listings"]
    assert (listing["seller_id"], listing["sku"]) == ("AXXXXXXXXXXXXX", "NLS-SHOES-03")
    # The issues of Amazon's getListingsItem example of the severities the notification names.
    assert [issue["code"] for issue in listing["issues"]] == ["90220", "18027", "99300", "18155", "18742"]
    assert listing["mfn_quantity"]["DEFAULT"]["quantity"] == 99


def test_given_a_listing_status_and_then_its_same_issues_when_replayed_then_one_event(
    tmp_path: Path,
) -> None:
    status = amazon("LISTINGS_ITEM_STATUS_CHANGE.schema-example-1.json")
    issues = amazon("LISTINGS_ITEM_ISSUES_CHANGE.2023-12-13.schema-example-1.json")
    issues["Payload"]["SellerId"] = status["Payload"]["SellerId"]  # the same listing
    lines = [json.dumps(status), json.dumps(issues)]

    report = run_replay(tmp_path, lines, "--dump-tables")

    assert (report["succeeded"], report["dead_lettered"]) == (2, [])
    # The status change stores the listing with its issues; read again at the same version, they are
    # the same issues: the refresh is written (a later read), but an equal state is no event.
    assert report["by_type"]["LISTINGS_ITEM_STATUS_CHANGE"]["events"] == {"Listing Changed": 1}
    assert report["by_type"]["LISTINGS_ITEM_ISSUES_CHANGE"]["events"] == {}
    assert report["sp_api_calls"] == {"getListingsItem": 2}
    [listing] = report["tables"]["sellerstream-listings"]
    assert len(listing["issues"]) == 5


def test_given_every_example_amazon_publishes_when_replayed_then_every_type_taken_and_none_crashes(
    tmp_path: Path,
) -> None:
    lines = []
    for number, path in enumerate(sorted(NOTIFICATION_EXAMPLES.glob("*.json"))):
        # Amazon's examples share their placeholder ids: as one capture, each its own notification.
        lines.append(json.dumps(renamed(amazon(path.name), f"example-{number}")))

    report = run_replay(tmp_path, lines, "--dump-tables")

    by_type = report["by_type"]
    assert {name for name, counts in by_type.items() if counts["dead_lettered"]} == {
        # Amazon's samples name another application's LWA client than local mode's ...
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        # ... and SellerStream does not take this type (its published schema cannot be read).
        "SHIPMENT_TRACKING_MILESTONE_CHANGED",
    }
    for message_type in catalog.subscribed_types():
        counts = by_type[message_type.name]
        assert counts["succeeded"] == counts["lines"] >= 1, message_type.name
    stored_generic = {item["notification_type"] for item in report["tables"]["sellerstream-notifications"]}
    assert stored_generic == set(catalog.GENERIC_BY_NAME)
    # Types whose notifications name no seller are stored under their subscription's local seller.
    assert all(item["seller_id"] for item in report["tables"]["sellerstream-notifications"])
