"""REPORT_PROCESSING_FINISHED through the reports queue: download, raw copy, streamed rows, checkpoints."""

from __future__ import annotations

import gzip
import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.reports import ReportRowReader
from sellerstream.config import ReportFinishedSettings
from sellerstream.logic import report_finished
from sellerstream.logic.report_ingest import iter_rows
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
    report_type: str = "GET_MERCHANT_LISTINGS_ALL_DATA",
) -> str:
    report: dict[str, Any] = {
        "accountId": f"amzn1.merchant.o.{seller_id}" if seller_id else "amzn1.vg.6213651",
        "reportId": report_id,
        "reportType": report_type,
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


def reader(pipeline: LocalPipeline) -> ReportRowReader:
    return ReportRowReader(pipeline.resources.tables["report_rows"], pipeline.resources.reports_bucket)


def rows(pipeline: LocalPipeline, seller: str = SELLER) -> list[dict[str, Any]]:
    """The report's rows as a reader reads them back from its blocks."""
    return list(reader(pipeline).rows(seller, REPORT_ID))


def blocks(pipeline: LocalPipeline) -> list[str]:
    listed = pipeline.s3.list_objects_v2(Bucket=pipeline.resources.reports_bucket, Prefix="rows/")
    return [entry["Key"] for entry in listed.get("Contents", [])]


def lookup_items(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    return pipeline.table_items("report_rows")


def indexes_named(pipeline: LocalPipeline) -> Counter[int]:
    """How many times the lookup items name each row."""
    return Counter(
        int(entry.rsplit("\t", 1)[1])
        for item in lookup_items(pipeline)
        for entry in str(item["entries"]).split("\n")
    )


def document_rows(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    """The rows of the report's raw copy, read by the reference parser (not the ingestion's path)."""
    raw = report_record(pipeline)["raw_document"]
    body = pipeline.s3.get_object(Bucket=raw["bucket"], Key=raw["key"])["Body"].read()
    content = io.BytesIO(gzip.decompress(body) if raw["compressed"] else body)
    return list(iter_rows(report_record(pipeline)["document_format"], content))


class Reads:
    """The AWS calls made while counting (botocore's ``before-call`` event on the shared clients)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __enter__(self) -> Reads:
        for service in ("dynamodb", "s3"):
            aws.client(service).meta.events.register("before-call", self._count, unique_id="count-reads")
        return self

    def __exit__(self, *_: object) -> None:
        for service in ("dynamodb", "s3"):
            aws.client(service).meta.events.unregister("before-call", unique_id="count-reads")

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)


def found_in_two_reads(pipeline: LocalPipeline, value: str) -> list[dict[str, Any]]:
    with Reads() as reads:
        found = reader(pipeline).find(SELLER, REPORT_ID, value)
    assert reads.calls == ["Query", *["GetObject"] * (len(reads.calls) - 1)] and len(reads.calls) <= 2, (
        reads.calls
    )
    return found


def test_given_done_report_when_processed_then_rows_record_and_raw_copy_stored(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=1200)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    record = report_record(pipeline)
    assert blocks(pipeline) == [
        f"rows/{SELLER}/{REPORT_ID}/0000000000.gz",
        f"rows/{SELLER}/{REPORT_ID}/0000001000.gz",
    ]
    read_back = rows(pipeline)
    assert [row["sku"] for row in read_back] == [f"SKU-{index:08d}" for index in range(1200)]
    assert read_back == document_rows(pipeline)
    assert record["row_blocks"] == {
        "bucket": pipeline.resources.reports_bucket,
        "prefix": f"rows/{SELLER}/{REPORT_ID}/",
    }
    assert sorted(indexes_named(pipeline).elements()) == list(range(1200))
    assert (record["ingestion_status"], record["row_count"], record["document_format"]) == (
        "COMPLETE",
        1200,
        "tsv",
    )
    assert record["charset"] == {"declared": "UTF-8", "codec": "utf-8-sig"}
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
        settings={"report_max_rows_per_invocation": 1000},
    ) as pipeline:
        pipeline.provision_seller(SELLER)
        document_id = pipeline.emulator.add_report(REPORT_ID, rows=2600)

        pipeline.publish(report_notification("DONE", document_id=document_id))
        stats = pipeline.drain()

        record = report_record(pipeline)
        assert rows(pipeline) == document_rows(pipeline) and len(document_rows(pipeline)) == 2600
        assert [key.rsplit("/", 1)[1] for key in blocks(pipeline)] == [
            "0000000000.gz",
            "0000001000.gz",
            "0000002000.gz",
        ]
        assert sorted(indexes_named(pipeline).elements()) == list(range(2600))
        assert (record["row_count"], record["parts"], record["ingestion_status"]) == (2600, 3, "COMPLETE")
        assert stats.succeeded == 3  # the notification and two continuations
        assert pipeline.emulator.calls["documentDownload"] == 1  # later parts read the raw copy
        assert pipeline.outcomes.counts == {"continued": 2, "written": 1}


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
    assert blocks(pipeline) == [] and lookup_items(pipeline) == []


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
    assert len(rows(pipeline)) == expected_rows and len(blocks(pipeline)) == min(expected_rows, 1)


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
    assert pipeline.outcomes.counts["already_complete"] == 1


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


def test_given_listings_report_when_stored_then_rows_found_by_sku_and_expire_with_the_raw_copy(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=30)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    [found] = found_in_two_reads(pipeline, "SKU-00000017")
    assert found == document_rows(pipeline)[17]
    record = report_record(pipeline)
    assert record["lookup"] == {"column": "sku", "kind": "SKU"}
    days = (int(record["rows_expire_at"]) - time.time()) / 86400
    retention = ReportFinishedSettings.report_rows_retention_days.default
    assert isinstance(retention, int)
    assert retention - 0.1 < days <= retention
    assert {int(item["expires_at"]) for item in lookup_items(pipeline)} == {int(record["rows_expire_at"])}
    ttl = pipeline.dynamodb.describe_time_to_live(TableName=pipeline.resources.tables["report_rows"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_given_order_report_in_json_when_stored_then_rows_found_by_order_id(pipeline: LocalPipeline) -> None:
    orders = [{"amazonOrderId": f"111-0000000-000000{i}", "buyerName": "Está Piña"} for i in range(3)]
    content = json.dumps({"reportSpecification": {}, "orders": orders}, ensure_ascii=False).encode()
    document_id = pipeline.emulator.add_report(
        REPORT_ID, report_type="GET_ORDER_REPORT_DATA_SHIPPING", content=content
    )

    pipeline.publish(
        report_notification("DONE", document_id=document_id, report_type="GET_ORDER_REPORT_DATA_SHIPPING")
    )
    pipeline.drain()

    found = found_in_two_reads(pipeline, "111-0000000-0000001")
    assert found == [orders[1]]
    assert rows(pipeline) == orders


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("Cp1252", "Piña colada\tEstá en stock\tcrème brûlée"),
        ("windows-1252", "Piña colada\tEstá en stock\tcrème brûlée"),
        ("UTF-8", "Piña colada\tEstá en stock\t抹茶ラテ"),
        ("utf8", "Piña colada\tEstá en stock\tcrème brûlée"),
        ("Shift_JIS", "抹茶ラテ\t東京都\t在庫あり"),
        ("Windows-31J", "①抹茶ラテ\t髙橋\t在庫あり"),
        ("EUC-JP", "抹茶ラテ\t東京都\t在庫あり"),
        ("ISO-8859-1", "Piña colada\tEstá en stock\tcrème brûlée"),
    ],
)
def test_given_document_served_in_a_java_charset_when_ingested_then_text_round_trips(
    pipeline: LocalPipeline, charset: str, text: str
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, text=f"sku\tname\tnote\n{text}\n", charset=charset)

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    [row] = reader(pipeline).rows(SELLER, REPORT_ID)
    assert list(row.values()) == text.split("\t")
    record = report_record(pipeline)
    assert record["content_type"] == f"text/plain; charset={charset}"
    raw = record["raw_document"]
    copy = pipeline.s3.head_object(Bucket=raw["bucket"], Key=raw["key"])
    assert copy["ContentType"] == f"text/plain; charset={charset}"


def test_given_document_without_charset_when_ingested_then_default_charset_is_used(
    pipeline: LocalPipeline,
) -> None:
    document_id = pipeline.emulator.add_report(
        REPORT_ID, text="sku\tname\nA\tPiña\n", charset="UTF-8", content_type=None
    )

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    record = report_record(pipeline)
    assert record["charset"] == {"declared": None, "codec": "utf-8-sig"}
    assert [row["name"] for row in reader(pipeline).rows(SELLER, REPORT_ID)] == ["Piña"]


def test_given_document_its_charset_cannot_decode_then_raw_copy_kept_and_failure_recorded(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    # Served as UTF-8 but written in Cp1252: "ñ" is byte 0xF1, invalid in UTF-8.
    content = "sku\tname\nA\tPiña\n".encode("cp1252")
    document_id = pipeline.emulator.add_report(REPORT_ID, content=content, charset="UTF-8")

    pipeline.publish(report_notification("DONE", document_id=document_id))
    stats = pipeline.drain()

    record = report_record(pipeline)
    assert stats.succeeded == 1 and pipeline.dead_letters() == []
    assert record["ingestion_status"] == "FAILED"
    assert "utf-8" in record["error"] and "0xf1" in record["error"]
    assert (
        blocks(pipeline) == [] and lookup_items(pipeline) == []
    )  # nothing stored with replacement characters
    raw = record["raw_document"]
    assert (
        gzip.decompress(pipeline.s3.get_object(Bucket=raw["bucket"], Key=raw["key"])["Body"].read())
        == content
    )
    assert pipeline.outcomes.counts == {"unreadable": 1}
    assert "Piña" not in log_stream.getvalue() and "Pi\\u00f1a" not in log_stream.getvalue()


def test_given_unknown_charset_then_recorded_failed_not_guessed(pipeline: LocalPipeline) -> None:
    document_id = pipeline.emulator.add_report(
        REPORT_ID, content=b"sku\nA\n", content_type="text/plain; charset=x-klingon"
    )

    pipeline.publish(report_notification("DONE", document_id=document_id))
    pipeline.drain()

    record = report_record(pipeline)
    assert record["ingestion_status"] == "FAILED" and "x-klingon" in record["error"]


def test_given_fatal_report_error_document_in_cp1252_then_summary_decoded(pipeline: LocalPipeline) -> None:
    document_id = pipeline.emulator.add_report(
        REPORT_ID, status="FATAL", fatal_message="Período inválido: más de 30 días", charset="Cp1252"
    )

    pipeline.publish(report_notification("FATAL", document_id=document_id))
    pipeline.drain()

    assert "Período inválido: más de 30 días" in report_record(pipeline)["error_summary"]


def test_given_resumed_cp1252_report_whose_later_part_reads_the_raw_copy_then_decoded_the_same(
    log_stream: io.StringIO,
) -> None:
    with LocalPipeline(
        emulator_time_scale=50.0,
        log_stream=log_stream,
        settings={"report_max_rows_per_invocation": 1000},
    ) as pipeline:
        pipeline.provision_seller(SELLER)
        lines = "".join(f"SKU-{i}\tPiña {i}\n" for i in range(2500))
        document_id = pipeline.emulator.add_report(REPORT_ID, text="sku\tname\n" + lines, charset="Cp1252")

        pipeline.publish(report_notification("DONE", document_id=document_id))
        pipeline.drain()

        names = [row["name"] for row in reader(pipeline).rows(SELLER, REPORT_ID)]
        assert names == [f"Piña {i}" for i in range(2500)]
        assert report_record(pipeline)["parts"] == 3
        assert pipeline.emulator.calls["documentDownload"] == 1


def test_given_continuation_whose_raw_copy_expired_then_downloaded_again(log_stream: io.StringIO) -> None:
    with LocalPipeline(
        emulator_time_scale=50.0,
        log_stream=log_stream,
        settings={"report_max_rows_per_invocation": 1000},
    ) as pipeline:
        pipeline.provision_seller(SELLER)
        document_id = pipeline.emulator.add_report(REPORT_ID, rows=1500)
        pipeline.publish(report_notification("DONE", document_id=document_id))
        pipeline.poller("reports").poll_once()  # the first part only
        raw = report_record(pipeline)["raw_document"]
        pipeline.s3.delete_object(Bucket=raw["bucket"], Key=raw["key"])  # lifecycle expiry

        pipeline.drain()

        assert report_record(pipeline)["row_count"] == 1500
        assert pipeline.emulator.calls["documentDownload"] == 2
        assert pipeline.dead_letters() == []


def test_given_notification_older_than_getreports_answer_then_record_and_rows_follow_the_answer(
    pipeline: LocalPipeline,
) -> None:
    # The notification names a document and type; getReport (the callback) answers the report as
    # Amazon holds it now. Everything stored comes from that answer; the notification is provenance.
    document_id = pipeline.emulator.add_report(
        REPORT_ID, report_type="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", text="sku\tasin\nS-1\tB01\n"
    )

    pipeline.publish(report_notification("DONE", document_id="amzn1.spdoc.1.4.na.announced-earlier"))
    pipeline.drain()

    record = report_record(pipeline)
    assert record["report_document_id"] == document_id
    assert record["report_type"] == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
    assert record["notification"]["report_document_id"] == "amzn1.spdoc.1.4.na.announced-earlier"
    assert record["notification"]["report_type"] == "GET_MERCHANT_LISTINGS_ALL_DATA"
    [found] = found_in_two_reads(pipeline, "S-1")
    assert found == {"sku": "S-1", "asin": "B01"}


# -- interrupted parts ---------------------------------------------------------------------------


@pytest.fixture
def quick_handover(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handed-over part's continuation comes back after a second, not 15 s to 15 minutes."""
    monkeypatch.setattr(report_finished, "growing_delay", lambda attempt, *, base_seconds: 1)


class Failing:
    """Makes the shared client's calls of one operation fail (an error that outlived the SDK's
    retries) while ``on``, past the first ``spare`` of them, when ``matches`` says so of their
    parameters (botocore's ``before-parameter-build`` event)."""

    def __init__(self, service: str, operation: str, code: str, matches: Any = None, spare: int = 0) -> None:
        self.on, self.calls = True, 0
        self._service, self._operation, self._code = service, operation, code
        self._matches = matches or (lambda params: True)
        self._spare = spare

    def __enter__(self) -> Failing:
        aws.client(self._service).meta.events.register(
            f"before-parameter-build.{self._service}.{self._operation}", self._fail, unique_id="failing"
        )
        return self

    def __exit__(self, *_: object) -> None:
        aws.client(self._service).meta.events.unregister(
            f"before-parameter-build.{self._service}.{self._operation}", unique_id="failing"
        )

    def _fail(self, params: dict[str, Any], **_: Any) -> None:
        if self.on and self._matches(params):
            self.calls += 1
            if self.calls > self._spare:
                raise ClientError({"Error": {"Code": self._code, "Message": "injected"}}, self._operation)


def test_given_a_block_failing_mid_report_when_resumed_then_each_row_is_stored_once_and_found_once(
    pipeline: LocalPipeline, quick_handover: None
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=2600)
    pipeline.publish(report_notification("DONE", document_id=document_id))

    with Failing(
        "s3", "PutObject", "InternalError", lambda params: params["Key"].endswith("0000001000.gz")
    ) as put:
        pipeline.poller("reports").poll_once()  # the first part: its second block fails
        put.on = False
        assert report_record(pipeline)["rows_written"] == 1000  # the first block, findable
        assert sorted(indexes_named(pipeline)) == list(range(1000))
    pipeline.drain()

    record = report_record(pipeline)
    assert (record["row_count"], record["parts"], record["ingestion_status"]) == (2600, 2, "COMPLETE")
    assert pipeline.outcomes.counts == {"handed_over": 1, "written": 1}
    assert rows(pipeline) == document_rows(pipeline) and len(blocks(pipeline)) == 3
    assert set(indexes_named(pipeline).values()) == {1} and len(indexes_named(pipeline)) == 2600
    for index in (0, 999, 1000, 2599):
        assert found_in_two_reads(pipeline, f"SKU-{index:08d}") == [document_rows(pipeline)[index]]


def test_given_a_part_whose_lookups_fail_part_way_when_redone_then_each_row_is_stored_once_and_found_once(
    pipeline: LocalPipeline, quick_handover: None
) -> None:
    document_id = pipeline.emulator.add_report(REPORT_ID, rows=2600)
    pipeline.publish(report_notification("DONE", document_id=document_id))

    # Its blocks are stored and some of its lookups; the rest keep failing: nothing is counted.
    with Failing("dynamodb", "BatchWriteItem", "InternalServerError", spare=3) as writes:
        pipeline.poller("reports").poll_once()
        writes.on = False
    interrupted = report_record(pipeline)
    assert (interrupted["rows_written"], interrupted["stalled_parts"]) == (0, 1)
    assert len(blocks(pipeline)) == 3 and 0 < len(indexes_named(pipeline)) < 2600
    pipeline.drain()

    record = report_record(pipeline)
    assert (record["row_count"], record["parts"]) == (2600, 2)
    assert pipeline.outcomes.counts == {"handed_over": 1, "written": 1}
    assert rows(pipeline) == document_rows(pipeline)
    # The redone part wrote the same items again: every row named once.
    assert set(indexes_named(pipeline).values()) == {1} and len(indexes_named(pipeline)) == 2600
    for index in (5, 1500, 2599):
        assert found_in_two_reads(pipeline, f"SKU-{index:08d}") == [document_rows(pipeline)[index]]
