"""``sellerstream replay`` as a user runs it: the console script in the project's virtualenv."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.spapi_models import RESEARCH_DATA, load_json

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not RESEARCH_DATA.is_dir(), reason="Amazon's research data is not present"),
]

SCRIPT = Path(sys.executable).with_name("sellerstream")


def amazon_order_change() -> dict[str, Any]:
    return load_json("examples/notifications/ORDER_CHANGE.schema-example-1.json")


def with_change(
    document: dict[str, Any], notification_id: str, status: str, time_of_change: str
) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["NotificationMetadata"]["NotificationId"] = notification_id
    order = changed["Payload"]["OrderChangeNotification"]
    order["Summary"]["OrderStatus"] = status
    order["OrderChangeTrigger"]["TimeOfOrderChange"] = time_of_change
    return changed


def run_replay(tmp_path: Path, lines: list[str], *extra: str) -> dict[str, Any]:
    capture = tmp_path / "capture.jsonl"
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
    return report


def test_given_amazons_example_with_duplicates_reorders_and_poison_when_replayed_then_right_tables(
    tmp_path: Path,
) -> None:
    example = amazon_order_change()
    newer = with_change(example, "n-shipped", "Shipped", "2022-11-30T10:00:00.000Z")
    lines = [
        json.dumps(newer),  # the newer event arrives first
        json.dumps(example),  # then Amazon's own example (older)
        json.dumps(example),  # redelivered
        json.dumps(json.dumps(example)),  # double-encoded
        "this line is not JSON",
        json.dumps({**example, "NotificationType": "SOMETHING_ELSE"}),
    ]

    report = run_replay(tmp_path, lines, "--dump-tables")

    assert report["received"] == 6
    assert report["succeeded"] == 4
    assert report["dead_lettered"] == [
        {
            "message_index": 4,
            "reason": "invalid_notification",
            "detail": report["dead_lettered"][0]["detail"],
        },
        {
            "notification_id": example["NotificationMetadata"]["NotificationId"],
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
    report = run_replay(tmp_path, [json.dumps(amazon_order_change())])

    assert "tables" not in report
    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (1, 1, [])


def test_given_amazons_listings_and_report_examples_when_replayed_then_rows_stored(tmp_path: Path) -> None:
    listing = load_json("examples/notifications/LISTINGS_ITEM_STATUS_CHANGE.schema-example-1.json")
    seller_report = load_json("examples/notifications/REPORT_PROCESSING_FINISHED.schema-example-1.json")
    vendor_report = load_json("examples/notifications/REPORT_PROCESSING_FINISHED.schema-example-2.json")
    # Amazon's two report examples share a notification id; as captured traffic they are one notification.
    vendor_report["notificationMetadata"]["notificationId"] = "vendor-report-notification"
    vendor_report["notificationMetadata"]["subscriptionId"] = "vendor-subscription"
    vendor_report["payload"]["reportProcessingFinishedNotification"]["reportId"] = "99990000"
    done = copy.deepcopy(seller_report)
    done["notificationMetadata"]["notificationId"] = "done-report-notification"
    done["payload"]["reportProcessingFinishedNotification"].update(
        reportId="77770000", processingStatus="DONE"
    )
    eventbridge = {
        "version": "0",
        "detail-type": "LISTINGS_ITEM_STATUS_CHANGE",
        "source": "aws.partner/x",
        "detail": listing,
    }
    lines = [
        json.dumps(eventbridge),
        json.dumps(listing),
        json.dumps(seller_report),
        json.dumps(vendor_report),
        json.dumps(done),
    ]

    report = run_replay(tmp_path, lines, "--dump-tables")

    assert (report["received"], report["succeeded"], report["dead_lettered"]) == (5, 5, [])
    assert report["sp_api_calls"] == {"getListingsItem": 1, "getReport": 1, "getReportDocument": 1}
    [stored_listing] = report["tables"]["sellerstream-listings"]
    assert stored_listing["status"] == ["BUYABLE", "DISCOVERABLE"] and stored_listing["sku"] == "NLS-SHOES-03"
    records = {item["report_id"]: item for item in report["tables"]["sellerstream-reports"]}
    assert records["54517018502"]["processing_status"] == "CANCELLED"
    assert records["99990000"]["pk"] == "SELLER#amzn1.vg.6213651"  # the vendor, through its subscription
    assert records["77770000"]["row_count"] == len(report["tables"]["sellerstream-report-rows"]) > 0
