"""``sellerstream replay`` as a user runs it: the console script in the project's virtualenv."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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

    assert (report["received"], report["succeeded"], report["skipped_as_duplicate"]) == (6, 2, 2)
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
    assert (report["succeeded"], report["skipped_as_duplicate"], report["blank_lines"]) == (2, 1, 2)
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
    rows = sorted(item["cells"] for item in replayed["tables"]["sellerstream-report-rows"])
    assert record["content_type"] == "text/plain; charset=Cp1252" and record["row_count"] == 2
    assert rows == ["ES-1\tPiña colada", "FR-1\tcrème brûlée"]


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
