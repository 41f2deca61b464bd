"""REPORT_PROCESSING_FINISHED through the reports queue: download, raw copy, streamed rows, checkpoints."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

REPORT_ID = "54517018502"


def report_notification(
    status: str,
    *,
    document_id: str | None = None,
    seller_id: str | None = SELLER,
    notification_id: str = "n-report-1",
    subscription_id: str = "sub-reports",
    report_id: str = REPORT_ID,
) -> str:
    report: dict[str, Any] = {
        "accountId": f"amzn1.merchant.o.{seller_id}" if seller_id else "amzn1.vg.6213651",
        "reportId": report_id,
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "processingStatus": status,
    }
    if seller_id:
        report["sellerId"] = seller_id
    if document_id:
        report["reportDocumentId"] = document_id
    return json.dumps(
        {
            "notificationVersion": "2020-09-04",
            "notificationType": "REPORT_PROCESSING_FINISHED",
            "payloadVersion": "2020-09-04",
            "eventTime": "2025-07-14T03:35:13.214Z",
            "payload": {"reportProcessingFinishedNotification": report},
            "notificationMetadata": {
                "applicationId": "amzn1.sellerapps.app.test",
                "subscriptionId": subscription_id,
                "publishTime": "2025-07-14T03:35:13.214Z",
                "notificationId": notification_id,
            },
        }
    )


def report_record(pipeline: LocalPipeline) -> dict[str, Any]:
    [record] = pipeline.table_items("reports")
    return record


def rows(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    return pipeline.table_items("report_rows")


def test_given_done_report_when_processed_then_rows_record_and_raw_copy_stored(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=1200)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    stored = rows(pipeline)
    record = report_record(pipeline)
    assert len(stored) == 1200
    assert len({(row["pk"], row["sk"]) for row in stored}) == 1200
    assert stored[0]["row"]["sku"] == "SKU-00000000" and stored[-1]["row"]["sku"] == "SKU-00001199"
    assert (record["ingestion_status"], record["row_count"], record["document_format"]) == (
        "COMPLETE",
        1200,
        "tsv",
    )
    assert record["report"]["processingStatus"] == "DONE"
    raw = record["raw_document"]
    body = pipeline.s3.get_object(Bucket=raw["bucket"], Key=raw["key"])["Body"].read()
    assert raw["compressed"] and gzip.decompress(body).count(b"\n") == 1201


def test_given_report_larger_than_one_invocation_when_processed_then_resumed_without_duplicates(
    log_stream: io.StringIO,
) -> None:
    with LocalPipeline(
        emulator_time_scale=50.0,
        log_stream=log_stream,
        extra_environment={"REPORT_MAX_ROWS_PER_INVOCATION": "1000"},
    ) as pipeline:
        pipeline.provision_seller(SELLER)
        document_id = pipeline.emulator.add_report(REPORT_ID, rows=2600)

        pipeline.publish(report_notification("DONE", document_id=document_id))
        stats = pipeline.drain()

        stored = rows(pipeline)
        record = report_record(pipeline)
        assert [int(row["sk"].removeprefix("ROW#")) for row in stored] == list(range(2600))
        assert (record["row_count"], record["parts"], record["ingestion_status"]) == (2600, 3, "COMPLETE")
        assert stats.succeeded == 3  # the notification and two continuations
        assert pipeline.emulator.calls["documentDownload"] == 1  # later parts read the raw copy
        assert pipeline.log.outcomes == {"continued": 2, "written": 1}


def test_given_vendor_report_without_seller_id_when_processed_then_resolved_through_subscription(
    pipeline: LocalPipeline,
) -> None:
    pipeline.provision_seller("amzn1.vg.6213651", subscription_ids=("sub-vendor",))
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=10)

    pipeline.publish(
        report_notification("DONE", document_id=document_id, seller_id=None, subscription_id="sub-vendor")
    )
    pipeline.drain()

    record = report_record(pipeline)
    assert record["pk"] == "SELLER#amzn1.vg.6213651" and record["row_count"] == 10


def test_given_vendor_report_with_unknown_subscription_then_dead_lettered_as_unknown_seller(
    pipeline: LocalPipeline,
) -> None:
    pipeline.publish(
        report_notification("DONE", document_id="doc", seller_id=None, subscription_id="sub-nobody")
    )
    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.notification_id, letter.reason) == ("n-report-1", "unknown_seller")


def test_given_cancelled_report_when_processed_then_recorded_without_rows(pipeline: LocalPipeline) -> None:
    pipeline.emulator.add_report(REPORT_ID, status="CANCELLED")

    pipeline.publish(report_notification("CANCELLED"))
    pipeline.drain()

    record = report_record(pipeline)
    assert (record["processing_status"], record["row_count"]) == ("CANCELLED", 0)
    assert rows(pipeline) == []


def test_given_fatal_report_when_processed_then_error_document_summarised(pipeline: LocalPipeline) -> None:
    document_id = pipeline.emulator.add_report(
        REPORT_ID, status="FATAL", fatal_message="Date range too large."
    )

    pipeline.publish(report_notification("FATAL", document_id=document_id))
    pipeline.drain()

    record = report_record(pipeline)
    assert record["processing_status"] == "FATAL"
    assert "Date range too large." in record["error_summary"]


def test_given_expired_document_url_when_downloading_then_a_fresh_url_is_fetched(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=5)
    pipeline.emulator.reports.expire_next_urls(1)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    assert report_record(pipeline)["row_count"] == 5
    assert pipeline.emulator.calls["getReportDocument"] == 2


@pytest.mark.parametrize(
    ("content", "compress", "expected_format", "expected_rows"),
    [
        (json.dumps({"reportSpecification": {}, "items": [{"a": 1}, {"a": 2}]}).encode(), True, "json", 2),
        (b"%PDF-1.7 binary-ish label data", False, "raw", 0),
        (b"sku\tprice\nA\t1.00\nB\t2.00\n", False, "tsv", 2),
    ],
)
def test_given_document_formats_when_processed_then_parsed_or_kept_raw(
    pipeline: LocalPipeline, content: bytes, compress: bool, expected_format: str, expected_rows: int
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, content=content, compress=compress)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    record = report_record(pipeline)
    assert (record["document_format"], record["row_count"]) == (expected_format, expected_rows)
    assert len(rows(pipeline)) == expected_rows


def test_given_report_notification_redelivered_after_completion_then_not_ingested_again(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=3)
    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    pipeline.publish(
        report_notification("DONE", document_id=document_id, notification_id="n-report-republished")
    )
    pipeline.drain()

    assert pipeline.emulator.calls["documentDownload"] == 1
    assert pipeline.log.outcomes["already_complete"] == 1


_: Iterator[None] | None = None


def test_given_report_amazon_does_not_know_when_processed_then_dead_lettered_on_the_first_receive(
    pipeline: LocalPipeline,
) -> None:
    pipeline.publish(report_notification("DONE", document_id="amzn1.spdoc.1.4.na.unknown"))

    stats = pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.notification_id, letter.reason) == ("n-report-1", "spapi_not_found")
    assert "getReport" in letter.detail and "404" in letter.detail
    assert list(stats.receives_by_message.values()) == [1]
    assert pipeline.emulator.calls["getReport"] == 1


def test_given_done_report_without_a_document_id_when_processed_then_dead_lettered_not_recorded(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.add_report(REPORT_ID, rows=3)

    pipeline.publish(report_notification("DONE"))
    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.notification_id, letter.reason) == ("n-report-1", "invalid_notification")
    assert "reportDocumentId" in letter.detail
    assert pipeline.table_items("reports") == []
