"""REPORT_PROCESSING_FINISHED over fakes: the report recorded; a DONE document kept raw and stored as rows."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from sellerstream.errors import PermanentFailureError, UnknownSellerError
from sellerstream.logic.report_finished import ERROR_SUMMARY_CHARS, ReportFinishedUseCase
from sellerstream.logic.report_ingest import CHUNK_ROWS, TEXT_BLOCK_CHARS
from sellerstream.notifications import CONTINUATION_PART_ATTRIBUTE, parse_delivery, parse_notification
from sellerstream.notifications.report_processing_finished import ReportProcessingFinishedNotification
from sellerstream.spapi.errors import SpApiNotFound, SpApiThrottled
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.server import Faults
from sellerstream_local.notifications_factory import report_processing_finished
from tests.support.fakes import (
    FakeDocumentStore,
    FakeMessageQueue,
    FakeReportStore,
    FakeRowStore,
    SentMessage,
)
from tests.support.lambda_events import FakeLambdaContext, sqs_record
from tests.unit.logic.conftest import SELLER

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

REPORT_ID = "54517018502"
VENDOR = "amzn1.vg.6213651"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
FINISHED_AT = datetime(2026, 9, 21, 3, 35, tzinfo=UTC)


def plenty() -> float:
    return 300.0


def finished(
    status: str = "DONE",
    document_id: str | None = None,
    *,
    seller_id: str | None = SELLER,
    subscription_id: str = "sub-reports",
    report_type: str = LISTINGS,
) -> ReportProcessingFinishedNotification:
    document = report_processing_finished(
        report_id=REPORT_ID,
        status=status,
        finished_at=FINISHED_AT,
        seller_id=seller_id,
        account_id=f"amzn1.merchant.o.{seller_id}" if seller_id else VENDOR,
        document_id=document_id,
        report_type=report_type,
        subscription_id=subscription_id,
    )
    parsed = parse_notification(json.dumps(document))
    assert isinstance(parsed, ReportProcessingFinishedNotification)
    return parsed


class Stores:
    """Where the use case keeps what it learns: the report's record, its rows, its raw copy."""

    def __init__(self) -> None:
        self.reports = FakeReportStore()
        self.rows = FakeRowStore()
        self.documents = FakeDocumentStore()

    def record(self, seller_key: str = SELLER) -> dict[str, Any]:
        return self.reports.records[(seller_key, REPORT_ID)]

    def stored_rows(self, seller_key: str = SELLER) -> list[Any]:
        rows = self.rows.rows.get((seller_key, REPORT_ID), {})
        assert sorted(rows) == list(range(len(rows)))  # numbered from 0, none missing or twice
        return [rows[index] for index in sorted(rows)]

    def raw_copy(self, seller_key: str = SELLER) -> tuple[bytes, str | None]:
        raw = self.record(seller_key)["raw_document"]
        assert raw["bucket"] == self.documents.bucket
        body, content_type = self.documents.objects[raw["key"]]
        return (gzip.decompress(body) if raw["compressed"] else body), content_type


@pytest.fixture
def stores() -> Stores:
    return Stores()


@pytest.fixture
def make_use_case(directory, spapi, stores, queue, report_downloads) -> Any:
    def make(**options: Any) -> ReportFinishedUseCase:
        return ReportFinishedUseCase(
            directory, spapi, stores.reports, stores.rows, stores.documents, queue, **options
        )

    return make


@pytest.fixture
def use_case(make_use_case: Callable[..., ReportFinishedUseCase]) -> ReportFinishedUseCase:
    return make_use_case()


def sku_of(row: str) -> str:
    return row.split("\t", 1)[0]


# -- DONE ------------------------------------------------------------------------------------------


def test_given_a_done_report_when_processed_then_raw_copy_rows_and_record_stored(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=1200)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result == {"report_id": REPORT_ID, "outcome": "written", "rows": 1200}
    rows = stores.stored_rows()
    assert [sku_of(row) for row in rows] == [f"SKU-{index:08d}" for index in range(1200)]
    record = stores.record()
    assert (record["ingestion_status"], record["row_count"], record["document_format"]) == (
        "COMPLETE",
        1200,
        "tsv",
    )
    assert (record["parts"], record["processing_status"], record["report_document_id"]) == (
        1,
        "DONE",
        document_id,
    )
    assert record["charset"] == {"declared": "UTF-8", "codec": "utf-8-sig"}
    assert record["report"]["processingStatus"] == "DONE" and record["report"]["marketplaceIds"]
    assert record["columns"][:2] == ["sku", "asin"] and record["lookup"] == {"column": "sku", "kind": "SKU"}
    assert record["raw_document"]["key"] == f"reports/{SELLER}/{REPORT_ID}/{document_id}.gz"
    assert record["raw_document"]["compressed"] is True
    raw, content_type = stores.raw_copy()
    assert raw.count(b"\n") == 1201 and content_type == "text/plain; charset=UTF-8"
    assert stores.rows.layouts[0].columns == tuple(record["columns"])
    assert record["row_blocks"] == {"bucket": "fake-reports", "prefix": f"rows/{SELLER}/{REPORT_ID}/"}
    assert stores.rows.found(SELLER, REPORT_ID, "SKU-00001117") == [1117]


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
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_given_a_document_served_in_a_java_charset_when_ingested_then_its_text_round_trips(
    emulator, use_case, stores, charset: str, text: str, compress: bool
) -> None:
    document_id = emulator.add_report(
        REPORT_ID, text=f"sku\tname\tnote\n{text}\n", charset=charset, compress=compress
    )

    use_case.apply(finished("DONE", document_id), plenty)

    assert stores.stored_rows() == [text]
    record = stores.record()
    assert record["content_type"] == f"text/plain; charset={charset}"
    assert record["charset"]["declared"] == charset
    assert (
        stores.raw_copy()[1] == f"text/plain; charset={charset}"
    )  # the raw copy keeps what it was served as
    assert record["raw_document"]["compressed"] is compress


def test_given_a_document_served_without_a_charset_when_ingested_then_the_configured_default_is_used(
    emulator, make_use_case, stores
) -> None:
    document_id = emulator.add_report(
        REPORT_ID, text="sku\tname\nA\tPiña\n", charset="Cp1252", content_type=None
    )

    make_use_case(default_charset="Cp1252").apply(finished("DONE", document_id), plenty)

    assert stores.stored_rows() == ["A\tPiña"]
    assert stores.record()["charset"] == {"declared": None, "codec": "cp1252"}
    assert stores.raw_copy()[1] is None


def test_given_a_json_order_report_when_ingested_then_one_row_per_record(emulator, use_case, stores) -> None:
    orders = [{"amazonOrderId": f"111-0000000-000000{i}", "buyerName": "Está Piña"} for i in range(3)]
    content = json.dumps({"reportSpecification": {}, "orders": orders}, ensure_ascii=False).encode()
    document_id = emulator.add_report(
        REPORT_ID, report_type="GET_ORDER_REPORT_DATA_SHIPPING", content=content
    )

    use_case.apply(finished("DONE", document_id, report_type="GET_ORDER_REPORT_DATA_SHIPPING"), plenty)

    assert stores.stored_rows() == orders
    record = stores.record()
    assert (record["document_format"], record["row_count"]) == ("json", 3)
    assert "columns" not in record  # JSON rows carry their own keys


def test_given_a_binary_document_when_processed_then_kept_raw_with_no_rows(
    emulator, use_case, stores
) -> None:
    content = b"%PDF-1.7 binary-ish label data\x00\x01"
    document_id = emulator.add_report(REPORT_ID, content=content, compress=False)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "written" and result["rows"] == 0
    record = stores.record()
    assert (record["document_format"], record["row_count"], record["ingestion_status"]) == (
        "raw",
        0,
        "COMPLETE",
    )
    assert "lookup" not in record
    assert stores.raw_copy()[0] == content and stores.stored_rows() == []


def test_given_a_notification_older_than_getreports_answer_then_the_record_and_rows_follow_the_answer(
    emulator, use_case, stores
) -> None:
    # The notification names a document and a type; getReport answers the report as Amazon holds it now.
    document_id = emulator.add_report(
        REPORT_ID, report_type="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", text="sku\tasin\nS-1\tB01\n"
    )

    use_case.apply(finished("DONE", "amzn1.spdoc.1.4.na.announced-earlier"), plenty)

    record = stores.record()
    assert record["report_document_id"] == document_id
    assert record["report_type"] == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
    assert record["notification"]["report_document_id"] == "amzn1.spdoc.1.4.na.announced-earlier"
    assert record["notification"]["report_type"] == LISTINGS
    assert stores.rows.layouts[0].report_type == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
    assert stores.stored_rows() == ["S-1\tB01"]


def test_given_a_report_amazon_does_not_know_when_processed_then_not_found_and_nothing_recorded(
    emulator, use_case, stores
) -> None:
    with pytest.raises(SpApiNotFound):
        use_case.apply(finished("DONE", "amzn1.spdoc.1.4.na.unknown"), plenty)

    assert stores.reports.records == {} and stores.documents.objects == {}


def test_given_an_expired_document_url_when_downloading_then_a_fresh_url_is_fetched(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=5)
    emulator.reports.expire_next_urls(1)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["rows"] == 5 and len(stores.stored_rows()) == 5
    assert emulator.calls["getReportDocument"] == 2


def test_given_every_document_url_expired_when_downloading_then_the_part_hands_over_keeping_getreports_answer(
    emulator, use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=5)
    emulator.reports.expire_next_urls(2)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "handed_over" and result["reason"] == "DocumentUrlExpired"
    record = stores.record()
    assert (record["ingestion_status"], record["rows_written"], record["stalled_parts"]) == (
        "IN_PROGRESS",
        0,
        1,
    )
    assert "raw_document" not in record and record["report"]["reportDocumentId"] == document_id
    resumed = use_case.apply(handed_over_to(queue, 1), plenty)
    assert resumed["rows"] == 5 and emulator.calls["getReport"] == 1  # the answer kept is reused


# -- in parts ----------------------------------------------------------------------------------------


def continue_with(
    queue: FakeMessageQueue, part: int, *, sent: list[SentMessage] | None = None
) -> ReportProcessingFinishedNotification:
    """The continuation the last part sent: Amazon's notification as it came, the part in an attribute."""
    message = (queue.continued if sent is None else sent)[-1]
    assert message.attribute(CONTINUATION_PART_ATTRIBUTE) == str(part)
    delivery = parse_delivery(message.body, continuation_part=message.attribute(CONTINUATION_PART_ATTRIBUTE))
    assert delivery.part == part
    notification = delivery.notification
    assert isinstance(notification, ReportProcessingFinishedNotification)
    return notification


def handed_over_to(queue: FakeMessageQueue, part: int) -> ReportProcessingFinishedNotification:
    """The continuation an interrupted part handed over to: the same message, sent with a delay."""
    assert queue.deferred[-1].delay_seconds >= 1
    return continue_with(queue, part, sent=queue.deferred)


def test_given_a_report_larger_than_one_invocation_when_processed_then_resumed_from_its_checkpoint_without_duplicates(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=2600)
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)
    notification = finished("DONE", document_id)

    first = use_case.apply(notification, plenty)

    assert first == {"report_id": REPORT_ID, "outcome": "continued", "rows_written": 1000}
    record = stores.record()
    assert (record["ingestion_status"], record["rows_written"], record["parts"]) == ("IN_PROGRESS", 1000, 1)
    continuation = continue_with(queue, 1)
    assert continuation.model_dump() == notification.model_dump()  # the body stays Amazon's notification

    second = use_case.apply(continuation, plenty)
    third = use_case.apply(continue_with(queue, 2), plenty)

    assert second["outcome"] == "continued" and second["rows_written"] == 2000
    assert third == {"report_id": REPORT_ID, "outcome": "written", "rows": 2600}
    assert len(queue.continued) == 2
    assert [sku_of(row) for row in stores.stored_rows()] == [f"SKU-{index:08d}" for index in range(2600)]
    record = stores.record()
    assert (record["ingestion_status"], record["row_count"], record["parts"]) == ("COMPLETE", 2600, 3)
    assert record["first_started_at"] == stores.reports.saves[0]["first_started_at"]
    assert emulator.calls["documentDownload"] == 1  # later parts read the raw copy
    assert emulator.calls["getReport"] == 1  # and the first part's answer
    # Every part writes its rows where the first part laid them out, expiring with them.
    assert len({(layout.expires_at, layout.columns) for layout in stores.rows.layouts}) == 1
    assert [stores.rows.found(SELLER, REPORT_ID, f"SKU-{index:08d}") for index in (0, 1999, 2599)] == [
        [0],
        [1999],
        [2599],
    ]


@pytest.mark.parametrize("rows", [300, 2600], ids=["last part", "continued part"])
def test_given_another_part_finished_the_report_meanwhile_when_this_part_saves_then_nothing_is_finished_twice(
    emulator, make_use_case, stores, queue, rows: int
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=rows)
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)
    save = stores.reports.save

    def finished_by_another_part_first(seller_key: str, report_id: str, record: dict) -> bool:
        stores.reports.records[(seller_key, report_id)] = {"ingestion_status": "COMPLETE", "row_count": rows}
        return save(seller_key, report_id, record)

    stores.reports.save = finished_by_another_part_first  # type: ignore[method-assign]

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result == {"report_id": REPORT_ID, "outcome": "already_complete"}
    assert stores.record() == {"ingestion_status": "COMPLETE", "row_count": rows}
    assert queue.continued == []  # nothing left to continue


def test_given_a_resumed_cp1252_report_when_later_parts_read_the_raw_copy_then_decoded_the_same(
    emulator, make_use_case, stores, queue
) -> None:
    lines = "".join(f"SKU-{i}\tPiña {i}\n" for i in range(2500))
    document_id = emulator.add_report(REPORT_ID, text="sku\tname\n" + lines, charset="Cp1252")
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)

    use_case.apply(finished("DONE", document_id), plenty)
    use_case.apply(continue_with(queue, 1), plenty)
    use_case.apply(continue_with(queue, 2), plenty)

    assert [row.split("\t")[1] for row in stores.stored_rows()] == [f"Piña {i}" for i in range(2500)]
    assert stores.record()["parts"] == 3


def test_given_a_row_limit_the_document_ends_on_when_processed_then_complete_without_a_continuation(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=CHUNK_ROWS)

    result = make_use_case(max_rows_per_invocation=CHUNK_ROWS).apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "written" and result["rows"] == CHUNK_ROWS
    assert queue.continued == []


def test_given_time_running_short_when_ingesting_then_it_stops_after_a_chunk_and_continues_later(
    emulator, use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=1500)

    result = use_case.apply(finished("DONE", document_id), lambda: 45.0)

    assert result == {"report_id": REPORT_ID, "outcome": "continued", "rows_written": CHUNK_ROWS}
    assert len(stores.stored_rows()) == CHUNK_ROWS
    resumed = use_case.apply(continue_with(queue, 1), plenty)
    assert resumed["rows"] == 1500 and len(stores.stored_rows()) == 1500


def test_given_a_continuation_whose_raw_copy_expired_when_resumed_then_downloaded_again(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=1500)
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)
    use_case.apply(finished("DONE", document_id), plenty)
    stores.documents.objects.clear()  # the bucket's lifecycle removed it

    result = use_case.apply(continue_with(queue, 1), plenty)

    assert result["rows"] == 1500 and len(stores.stored_rows()) == 1500
    assert emulator.calls["documentDownload"] == 2


# -- transient failures mid-part ----------------------------------------------------------------------


def internal_error(operation: str = "BatchWriteItem") -> ClientError:
    return ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "Internal server error"}}, operation
    )


def test_given_row_writes_failing_transiently_mid_part_when_applied_then_the_rows_stored_are_kept_and_a_continuation_takes_over(
    emulator, use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=2600)
    stores.rows.failing_after = (1500, internal_error())  # the second block fails

    interrupted = use_case.apply(finished("DONE", document_id), plenty)

    assert interrupted["outcome"] == "handed_over" and interrupted["rows_written"] == CHUNK_ROWS
    record = stores.record()
    assert (record["ingestion_status"], record["rows_written"], record["parts"]) == (
        "IN_PROGRESS",
        CHUNK_ROWS,
        1,
    )
    # The rows counted were made findable before the checkpoint counted them.
    assert stores.rows.found(SELLER, REPORT_ID, f"SKU-{CHUNK_ROWS - 1:08d}") == [CHUNK_ROWS - 1]
    assert record["stalled_parts"] == 0 and "InternalServerError" in record["interrupted_by"]
    assert queue.continued == [] and 15 <= queue.deferred[-1].delay_seconds <= 30
    stores.rows.failing_after = None  # the outage is over

    resumed = use_case.apply(handed_over_to(queue, 1), plenty)

    assert resumed == {"report_id": REPORT_ID, "outcome": "written", "rows": 2600}
    assert [sku_of(row) for row in stores.stored_rows()] == [f"SKU-{index:08d}" for index in range(2600)]
    record = stores.record()
    assert (record["ingestion_status"], record["row_count"], record["parts"]) == ("COMPLETE", 2600, 2)
    assert "interrupted_by" not in record and "stalled_parts" not in record
    assert emulator.calls["documentDownload"] == 1 and emulator.calls["getReport"] == 1
    assert len({layout.expires_at for layout in stores.rows.layouts}) == 1
    assert all(stores.rows.found(SELLER, REPORT_ID, f"SKU-{index:08d}") == [index] for index in range(2600))


def test_given_lookups_failing_at_the_end_of_a_part_then_no_row_is_counted_and_the_part_is_redone_from_its_start(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=2600)
    use_case = make_use_case(max_rows_per_invocation=2 * CHUNK_ROWS)
    stores.rows.lookups_failing = internal_error()  # the blocks are stored, their lookups are not

    interrupted = use_case.apply(finished("DONE", document_id), plenty)

    assert interrupted["outcome"] == "handed_over" and interrupted["rows_written"] == 0
    record = stores.record()
    assert (record["rows_written"], record["stalled_parts"]) == (0, 1)
    assert len(stores.stored_rows()) == 2 * CHUNK_ROWS  # stored, but not findable: not counted
    assert stores.rows.found(SELLER, REPORT_ID, "SKU-00000000") == []
    stores.rows.lookups_failing = None

    redone = use_case.apply(handed_over_to(queue, 1), plenty)
    finished_ = use_case.apply(continue_with(queue, 2), plenty)

    assert redone == {"report_id": REPORT_ID, "outcome": "continued", "rows_written": 2 * CHUNK_ROWS}
    assert finished_ == {"report_id": REPORT_ID, "outcome": "written", "rows": 2600}
    assert all(stores.rows.found(SELLER, REPORT_ID, f"SKU-{index:08d}") == [index] for index in range(2600))


def test_given_a_later_part_interrupted_whose_lookups_fail_too_then_the_checkpoint_stays_where_it_was(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=3600)
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)
    use_case.apply(finished("DONE", document_id), plenty)
    assert stores.record()["rows_written"] == CHUNK_ROWS
    # The second part stores a block, the next one fails, and so do the lookups of the one stored.
    stores.rows.failing_after = (2 * CHUNK_ROWS + 1, internal_error())
    stores.rows.lookups_failing = internal_error()

    interrupted = make_use_case().apply(continue_with(queue, 1), plenty)  # no row limit this time

    assert interrupted["outcome"] == "handed_over" and interrupted["rows_written"] == CHUNK_ROWS
    record = stores.record()
    assert (record["rows_written"], record["parts"], record["stalled_parts"]) == (CHUNK_ROWS, 2, 1)
    assert stores.rows.found(SELLER, REPORT_ID, f"SKU-{CHUNK_ROWS:08d}") == []


def test_given_a_later_part_interrupted_before_its_layout_when_handed_over_then_the_stored_layout_stays(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=2600)
    use_case = make_use_case(max_rows_per_invocation=CHUNK_ROWS)
    use_case.apply(finished("DONE", document_id), plenty)
    laid_out = {
        name: stores.record()[name] for name in ("row_blocks", "rows_expire_at", "columns", "charset")
    }
    stores.documents.objects.clear()  # the raw copy is gone and the next download fails
    emulator.faults = Faults(error_rate=1.0)

    interrupted = use_case.apply(continue_with(queue, 1), plenty)

    assert interrupted["outcome"] == "handed_over"
    record = stores.record()
    assert (record["rows_written"], record["parts"], record["stalled_parts"]) == (1000, 2, 1)
    assert {name: record[name] for name in laid_out} == laid_out
    emulator.faults = Faults()
    use_case.apply(handed_over_to(queue, 2), plenty)
    use_case.apply(continue_with(queue, 3), plenty)
    assert stores.record()["row_count"] == 2600 and len(stores.stored_rows()) == 2600


def test_given_parts_interrupted_before_storing_a_row_past_the_bound_then_dead_lettered_as_stalled(
    emulator, make_use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=300)
    use_case = make_use_case(max_stalled_parts=2)
    stores.rows.failing_after = (0, internal_error())

    first = use_case.apply(finished("DONE", document_id), plenty)
    second = use_case.apply(handed_over_to(queue, 1), plenty)
    with pytest.raises(PermanentFailureError) as stalled:
        use_case.apply(handed_over_to(queue, 2), plenty)

    # Each part that stored nothing waits twice as long as the one before (jittered).
    assert 30 <= first["delay_seconds"] <= 60 and 60 <= second["delay_seconds"] <= 120
    assert stalled.value.reason == "report_stalled"
    assert "3 parts in a row" in stalled.value.detail and "InternalServerError" in stalled.value.detail
    record = stores.record()
    assert (record["ingestion_status"], record["stalled_parts"], record["parts"]) == ("IN_PROGRESS", 3, 3)
    assert len(queue.deferred) == 2 and emulator.calls["documentDownload"] == 1
    # Redriven once the rows table is back: resumed from the checkpoint, the raw copy reused.
    stores.rows.failing_after = None
    redriven = use_case.apply(handed_over_to(queue, 2), plenty)
    assert redriven["rows"] == 300 and emulator.calls["documentDownload"] == 1


def test_given_a_throttle_or_a_permanent_error_mid_part_then_raised_for_the_batch_not_handed_over(
    emulator, use_case, stores, queue
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=300)
    for error in (
        SpApiThrottled("getReport", "quota exceeded", status=429),
        ClientError({"Error": {"Code": "ValidationException", "Message": "bad item"}}, "BatchWriteItem"),
    ):
        stores.rows.failing_after = (0, error)
        with pytest.raises(type(error)):
            use_case.apply(finished("DONE", document_id), plenty)

    assert queue.deferred == [] and queue.continued == []
    assert "stalled_parts" not in stores.reports.records.get((SELLER, REPORT_ID), {})


def test_given_a_part_whose_receive_would_fail_on_a_transient_error_when_run_by_the_batch_then_done_and_continued(
    emulator, use_case, stores, queue, make_runner, clock
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=2600)
    stores.rows.failing_after = (1200, internal_error())
    body = json.dumps(finished("DONE", document_id).model_dump(mode="json", by_alias=True))
    runner = make_runner(use_case, frozenset({"REPORT_PROCESSING_FINISHED"}))

    result = runner.run(
        {"Records": [sqs_record(body)]}, cast("LambdaContext", FakeLambdaContext(clock, 900.0))
    )

    [outcome] = result.outcomes
    assert outcome.outcome == "applied" and outcome.result is not None
    assert outcome.result["outcome"] == "handed_over"
    assert result.response() == {"batchItemFailures": []}  # the receive is not spent
    assert queue.deferred[-1].attribute(CONTINUATION_PART_ATTRIBUTE) == "1"


# -- unreadable documents ----------------------------------------------------------------------------


def test_given_a_document_its_charset_cannot_decode_then_raw_copy_kept_and_failure_recorded(
    emulator, use_case, stores, log_lines
) -> None:
    # Served as UTF-8 but written in Cp1252: "ñ" is byte 0xF1, invalid in UTF-8.
    content = "sku\tname\nA\tPiña\n".encode("cp1252")
    document_id = emulator.add_report(REPORT_ID, content=content, charset="UTF-8")

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result == {"report_id": REPORT_ID, "outcome": "unreadable", "rows_written": 0}
    record = stores.record()
    assert record["ingestion_status"] == "FAILED" and record["rows_written"] == 0
    assert "utf-8" in record["error"] and "0xf1" in record["error"]
    assert stores.stored_rows() == []  # nothing stored with replacement characters
    assert stores.raw_copy() == (content, "text/plain; charset=UTF-8")
    assert "Piña" not in json.dumps(log_lines(), ensure_ascii=False)


def test_given_a_bad_byte_after_many_rows_when_ingested_then_the_rows_before_it_are_kept_and_counted(
    emulator, use_case, stores
) -> None:
    good = "".join(f"S{i}\tx\n" for i in range(12 * CHUNK_ROWS)).encode()
    assert len(good) > TEXT_BLOCK_CHARS  # the bad byte comes after whole blocks of good rows
    document_id = emulator.add_report(REPORT_ID, content=b"sku\tv\n" + good + b"S-bad\t\xff\xfe\n")

    result = use_case.apply(finished("DONE", document_id), plenty)

    rows = stores.stored_rows()
    assert result["outcome"] == "unreadable" and result["rows_written"] == len(rows) > 0
    assert stores.record()["rows_written"] == len(rows)
    assert rows[-1].startswith("S")


def test_given_a_header_its_charset_cannot_decode_then_failed_before_any_row(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(
        REPORT_ID, content="skü\tname\nA\tB\n".encode("cp1252"), charset="UTF-8"
    )

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "unreadable" and stores.record()["ingestion_status"] == "FAILED"
    assert stores.rows.layouts == []


def test_given_an_unknown_charset_when_processed_then_recorded_failed_not_guessed(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(
        REPORT_ID, content=b"sku\nA\n", content_type="text/plain; charset=x-klingon"
    )

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "unreadable"
    record = stores.record()
    assert record["ingestion_status"] == "FAILED" and "x-klingon" in record["error"]
    assert "charset" not in record  # nothing was decoded
    assert stores.raw_copy()[0] == b"sku\nA\n" and stores.stored_rows() == []


# -- FATAL, CANCELLED and what Amazon adds later --------------------------------------------------------


def test_given_a_fatal_report_when_processed_then_its_error_document_is_summarised(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(REPORT_ID, status="FATAL", fatal_message="Date range too large.")

    result = use_case.apply(finished("FATAL", document_id), plenty)

    assert result == {"report_id": REPORT_ID, "outcome": "fatal"}
    record = stores.record()
    assert (record["processing_status"], record["ingestion_status"], record["row_count"]) == (
        "FATAL",
        "COMPLETE",
        0,
    )
    assert record["error_summary"] == '{"errorDetails": "Date range too large."}'
    assert stores.stored_rows() == [] and stores.documents.objects == {}


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_given_a_fatal_report_whose_error_document_is_in_cp1252_then_the_summary_is_decoded(
    emulator, use_case, stores, compress: bool
) -> None:
    document_id = emulator.add_report(
        REPORT_ID,
        status="FATAL",
        fatal_message="Período inválido: más de 30 días",
        charset="Cp1252",
        compress=compress,
    )

    use_case.apply(finished("FATAL", document_id), plenty)

    assert "Período inválido: más de 30 días" in stores.record()["error_summary"]


def test_given_a_long_error_document_when_summarised_then_whitespace_collapsed_and_cut_short(
    emulator, use_case, stores
) -> None:
    text = b"Report failed:\r\n\n  Too   many\trequests.\n" * 500
    document_id = emulator.add_report(REPORT_ID, status="FATAL", captured=text)

    use_case.apply(finished("FATAL", document_id), plenty)

    summary = stores.record()["error_summary"]
    assert len(summary) == ERROR_SUMMARY_CHARS
    assert summary.startswith("Report failed: Too many requests. Report failed: Too many requests.")


@pytest.mark.parametrize(
    ("captured", "charset", "content_type", "reason"),
    [
        (b'{"errorDetails": "Per\xedodo"}', "UTF-8", "", "not valid utf-8"),
        (b'{"errorDetails": "x"}', None, "text/plain; charset=x-klingon", "unknown charset 'x-klingon'"),
    ],
    ids=["undecodable", "unknown-charset"],
)
def test_given_an_unreadable_error_document_when_summarised_then_the_summary_says_why(
    emulator, use_case, stores, captured: bytes, charset: str | None, content_type: str, reason: str
) -> None:
    document_id = emulator.add_report(
        REPORT_ID, status="FATAL", captured=captured, charset=charset, content_type=content_type
    )

    result = use_case.apply(finished("FATAL", document_id), plenty)

    assert result["outcome"] == "fatal"
    summary = stores.record()["error_summary"]
    assert summary.startswith("(error document unreadable: ") and reason in summary


def test_given_a_fatal_report_without_an_error_document_when_processed_then_recorded_without_a_call(
    emulator, use_case, stores
) -> None:
    result = use_case.apply(finished("FATAL"), plenty)

    assert result["outcome"] == "fatal"
    assert "error_summary" not in stores.record()
    assert emulator.sp_api_calls() == {}


@pytest.mark.parametrize("status", ["CANCELLED", "IN_QUEUE_FOREVER"])
def test_given_a_report_that_did_not_finish_done_when_processed_then_recorded_as_is_without_rows_or_calls(
    emulator, use_case, stores, status: str
) -> None:
    result = use_case.apply(finished(status), plenty)

    assert result == {"report_id": REPORT_ID, "outcome": status.lower()}
    record = stores.record()
    assert (record["processing_status"], record["ingestion_status"], record["row_count"]) == (
        status,
        "COMPLETE",
        0,
    )
    assert record["event_time"] == "2026-09-21T03:35:00.000000Z"
    assert stores.stored_rows() == [] and emulator.sp_api_calls() == {}


def test_given_a_report_already_complete_when_notified_again_then_nothing_is_done_twice(
    emulator, use_case, stores
) -> None:
    document_id = emulator.add_report(REPORT_ID, rows=3)
    use_case.apply(finished("DONE", document_id), plenty)
    calls = emulator.sp_api_calls()

    again = use_case.apply(finished("DONE", document_id), plenty)

    assert again == {"report_id": REPORT_ID, "outcome": "already_complete"}
    assert emulator.sp_api_calls() == calls and emulator.calls["documentDownload"] == 1
    assert len(stores.reports.saves) == 1


# -- vendors -------------------------------------------------------------------------------------------


def vendor(emulator: SpApiEmulator, directory: Any) -> None:
    """A vendor account: its credentials are keyed by the account id, its subscription routed to it."""
    emulator.register_seller(VENDOR, f"Atzr|{VENDOR}")
    directory.add(VENDOR)
    directory.route_subscription("sub-vendor", VENDOR)


def test_given_a_vendors_report_without_a_seller_id_when_processed_then_resolved_through_its_subscription(
    emulator, directory, use_case, stores
) -> None:
    vendor(emulator, directory)
    document_id = emulator.add_report(REPORT_ID, rows=10, owner=VENDOR)

    result = use_case.apply(
        finished("DONE", document_id, seller_id=None, subscription_id="sub-vendor"), plenty
    )

    assert result["rows"] == 10
    record = stores.record(VENDOR)
    assert record["account_id"] == VENDOR and record.get("seller_id") is None
    assert record["raw_document"]["key"].startswith(f"reports/{VENDOR}/")
    assert len(stores.stored_rows(VENDOR)) == 10


def test_given_a_vendors_report_with_an_unknown_subscription_when_processed_then_unknown_seller_and_no_call(
    emulator, directory, use_case, stores
) -> None:
    vendor(emulator, directory)

    with pytest.raises(UnknownSellerError):
        use_case.apply(
            finished("DONE", "amzn1.spdoc.1.4.na.doc", seller_id=None, subscription_id="sub-nobody"), plenty
        )

    assert stores.reports.records == {} and emulator.sp_api_calls() == {}
