"""FEED_PROCESSING_FINISHED over fakes: getFeed, the processing report read, the feed recorded once
per outcome; SP-API through the emulator in process (strictly Amazon's Feeds model)."""

from __future__ import annotations

import copy
import gzip
import io
import json
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sellerstream.domain.feeds import (
    NO_DOCUMENT,
    PARSED,
    UNREADABLE,
    UNSUPPORTED_FORMAT,
    FeedRecord,
    feed_processed,
)
from sellerstream.errors import NotReadyError, UnknownSellerError
from sellerstream.logic.dead_letter import permanent_failure
from sellerstream.logic.feed_processed import FeedProcessedUseCase
from sellerstream.notifications.feed_processing_finished import FeedProcessingFinishedNotification
from sellerstream.spapi.errors import (
    DocumentUrlExpired,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.reports import DocumentDownload
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.feeds import FeedIssue
from tests.support.fakes import FakeFeedStore, FakeTransport, response
from tests.support.spapi_models import load_json
from tests.unit.logic.conftest import SELLER

FEED_ID = "53347018456"
VENDOR = "amzn1.vg.6213651"
FINISHED_AT = datetime(2026, 9, 21, 3, 35, tzinfo=UTC)
AMAZON_JSON_REPORT = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "amazon"
    / "schemas"
    / "feeds"
    / "listings-feed-processing-report-schema-v2.example.json"
)
SEVERAL = [
    FeedIssue("Le prix dépasse le plafond (€).", sku="SKU-ÉTÉ-1", message_id=2, code="8560"),
    FeedIssue("Image trop petite.", severity="WARNING", message_id=3, code="18027", sku="SKU-3"),
]


def plenty() -> float:
    return 300.0


def finished(
    status: str = "DONE",
    document_id: str | None = None,
    *,
    seller_id: str | None = SELLER,
    event_time: datetime = FINISHED_AT,
    subscription_id: str = "sub-feeds",
    feed_type: str = "POST_PRODUCT_DATA",
) -> FeedProcessingFinishedNotification:
    """Amazon's example (the vendor's without a seller id), with this test's ids and times."""
    example = "1" if seller_id else "2"
    document = copy.deepcopy(
        load_json(f"examples/notifications/FEED_PROCESSING_FINISHED.schema-example-{example}.json")
    )
    feed = document["payload"]["feedProcessingFinishedNotification"]
    feed.update(feedId=FEED_ID, feedType=feed_type, processingStatus=status)
    if seller_id:
        feed.update(sellerId=seller_id, accountId=f"amzn1.merchant.o.{seller_id}")
    if document_id:
        feed["resultFeedDocumentId"] = document_id
    else:
        feed.pop("resultFeedDocumentId", None)
    document["eventTime"] = event_time.isoformat().replace("+00:00", "Z")
    document["notificationMetadata"]["subscriptionId"] = subscription_id
    return FeedProcessingFinishedNotification.model_validate_json(json.dumps(document))


class Downloads:
    """Feed documents downloaded from the emulator in process: the presigned URL's GET without a
    socket, answered as the real download answers (403 for an expired URL); ``cut_after`` bytes,
    the next download's connection drops."""

    def __init__(self, emulator: SpApiEmulator) -> None:
        self._emulator = emulator
        self.urls: list[str] = []
        self.cut_after: int | None = None

    def __call__(self, url: str) -> DocumentDownload:
        self.urls.append(url)
        status, headers, payload = self._emulator.handle("GET", urllib.parse.urlsplit(url).path, {}, b"")
        if status in (400, 403):
            raise DocumentUrlExpired("feedDocumentDownload", "document URL refused or expired", status=status)
        if status != 200:
            raise SpApiServerError("feedDocumentDownload", "document download failed", status=status)
        body = payload.read_bytes() if isinstance(payload, Path) else payload
        stream: io.BufferedIOBase = io.BytesIO(body)
        if self.cut_after is not None:
            stream, self.cut_after = _Dropping(body, self.cut_after), None
        return DocumentDownload(stream, headers.get("content-type"))


class _Dropping(io.BytesIO):
    def __init__(self, body: bytes, after: int) -> None:
        super().__init__(body)
        self._after = after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self._after:
            raise ConnectionResetError("connection reset by peer")
        return super().read(min(size if size and size > 0 else self._after, self._after - self.tell()))


@pytest.fixture
def feeds() -> FakeFeedStore:
    return FakeFeedStore()


@pytest.fixture
def downloads(emulator: SpApiEmulator) -> Downloads:
    return Downloads(emulator)


@pytest.fixture
def make_use_case(directory, spapi, feeds, downloads) -> Callable[..., FeedProcessedUseCase]:
    def make(**options: Any) -> FeedProcessedUseCase:
        return FeedProcessedUseCase(directory, spapi, feeds, open_document=downloads, **options)

    return make


@pytest.fixture
def use_case(make_use_case: Callable[..., FeedProcessedUseCase]) -> FeedProcessedUseCase:
    return make_use_case()


def stored(feeds: FakeFeedStore, seller_key: str = SELLER) -> FeedRecord:
    return feeds.records[(seller_key, FEED_ID)]


# -- DONE: the processing report read --------------------------------------------------------------


def test_given_a_done_xml_feed_when_processed_then_its_report_summary_and_results_recorded(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, messages=3, issues=SEVERAL)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result == {
        "feed_id": FEED_ID,
        "outcome": "recorded",
        "processing_status": "DONE",
        "report_status": PARSED,
        "results": 2,
    }
    record = stored(feeds)
    assert (record.processing_status, record.report_status, record.event_time) == (
        "DONE",
        PARSED,
        FINISHED_AT,
    )
    assert record.attributes["summary"] == {
        "messages_processed": 3,
        "messages_successful": 2,
        "messages_with_error": 1,
        "messages_with_warning": 1,
        "errors": 1,
        "warnings": 1,
    }
    assert record.results == (
        {
            "message_id": 2,
            "severity": "ERROR",
            "result_code": "Error",
            "code": "8560",
            "message": "Le prix dépasse le plafond (€).",
            "sku": "SKU-ÉTÉ-1",
            "additional_info": {"SKU": "SKU-ÉTÉ-1"},
        },
        {
            "message_id": 3,
            "severity": "WARNING",
            "result_code": "Warning",
            "code": "18027",
            "message": "Image trop petite.",
            "sku": "SKU-3",
            "additional_info": {"SKU": "SKU-3"},
        },
    )
    attributes = record.attributes
    assert (attributes["report_format"], attributes["feed_type"], attributes["result_feed_document_id"]) == (
        "xml",
        "POST_PRODUCT_DATA",
        document_id,
    )
    assert attributes["report_header"] == {
        "merchantIdentifier": SELLER,
        "documentVersion": "1.02",
        "documentTransactionId": FEED_ID,
        "statusCode": "Complete",
    }
    assert attributes["feed"]["feedId"] == FEED_ID and attributes["feed"]["processingStatus"] == "DONE"
    assert attributes["charset"] == {"declared": "UTF-8", "codec": "utf-8-sig"}
    assert attributes["content_type"] == "text/xml; charset=UTF-8"
    assert emulator.sp_api_calls() == {"getFeed": 1, "getFeedDocument": 1}


def test_given_a_gzipped_json_report_when_processed_then_gunzipped_and_its_issues_recorded(
    emulator, use_case, feeds
) -> None:
    issues = [
        FeedIssue(
            "'[batteries_required]' is required but not supplied.",
            message_id=4,
            sku="My-SKU-B",
            code="90220",
            attribute_name="batteries_required",
        ),
        FeedIssue("Minor.", severity="WARNING", message_id=5, sku="My-SKU-C", code="18448"),
        FeedIssue("Also minor.", severity="WARNING", message_id=4, sku="My-SKU-B", code="18448"),
    ]
    document_id = emulator.add_feed(
        FEED_ID, owner=SELLER, feed_type="JSON_LISTINGS_FEED", messages=5, issues=issues, compress=True
    )

    use_case.apply(finished("DONE", document_id, feed_type="JSON_LISTINGS_FEED"), plenty)

    record = stored(feeds)
    assert (record.attributes["report_format"], record.attributes["compression"]) == ("json", "GZIP")
    assert record.attributes["report_header"] == {"sellerId": SELLER, "version": "2.0", "feedId": FEED_ID}
    # A message with an error and a warning is invalid, not "with a warning" (as XML counts them).
    assert record.attributes["summary"] == {
        "messages_processed": 5,
        "messages_successful": 4,
        "messages_with_error": 1,
        "messages_with_warning": 1,
        "errors": 1,
        "warnings": 2,
    }
    assert record.results[0] == {
        "message_id": 4,
        "severity": "ERROR",
        "message": "'[batteries_required]' is required but not supplied.",
        "code": "90220",
        "sku": "My-SKU-B",
        "attribute_names": ["batteries_required"],
    }
    assert [result["severity"] for result in record.results] == ["ERROR", "WARNING", "WARNING"]


def test_given_amazons_own_json_report_example_when_processed_then_read_as_amazon_wrote_it(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(
        FEED_ID,
        owner=SELLER,
        feed_type="JSON_LISTINGS_FEED",
        report=gzip.compress(AMAZON_JSON_REPORT.read_bytes()),
    )

    use_case.apply(finished("DONE", document_id, feed_type="JSON_LISTINGS_FEED"), plenty)

    record = stored(feeds)
    assert record.attributes["summary"] == {
        "messages_processed": 4,
        "messages_successful": 2,
        "messages_with_error": 2,
        "messages_with_warning": 0,
        "errors": 3,
        "warnings": 0,
    }
    assert record.attributes["amazon_summary"]["itemSummary"] == {"items": 2, "errors": 0, "warnings": 2}
    assert [(r["message_id"], r["sku"], r["code"]) for r in record.results] == [
        (4, "My-SKU-B", "90220"),
        (4, "My-SKU-B", "90220"),
        (5, "My-SKU-C", "99022"),
    ]
    assert record.results[2]["attribute_names"] == ["purchasable_offer.our_price"]
    assert record.attributes["report_header"]["sellerId"] == "AXXXXXXXXXXXX"
    assert record.attributes["content_type"] == "application/json; charset=UTF-8"


@pytest.mark.parametrize(
    ("charset", "feed_type", "codec"),
    [
        ("Cp1252", "POST_PRODUCT_DATA", "cp1252"),
        ("ISO-8859-1", "POST_PRODUCT_DATA", "iso8859-1"),
        ("Shift_JIS", "JSON_LISTINGS_FEED", "shift_jis"),
        ("Windows-31J", "POST_INVENTORY_AVAILABILITY_DATA", "cp932"),
    ],
)
def test_given_a_report_in_the_charset_its_content_type_declares_then_decoded_in_it(
    emulator, use_case, feeds, charset: str, feed_type: str, codec: str
) -> None:
    text = "Le prix dépasse le plafond." if codec in ("cp1252", "iso8859-1") else "価格が上限を超えています。"
    document_id = emulator.add_feed(
        FEED_ID, owner=SELLER, feed_type=feed_type, charset=charset, issues=[FeedIssue(text, sku="SKU-1")]
    )

    use_case.apply(finished("DONE", document_id, feed_type=feed_type), plenty)

    record = stored(feeds)
    assert record.report_status == PARSED
    assert record.attributes["charset"] == {"declared": charset, "codec": codec}
    assert record.results[0]["message"] == text


def test_given_an_xml_report_served_without_a_charset_then_read_in_the_encoding_it_declares(
    emulator, use_case, feeds
) -> None:
    report = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><AmazonEnvelope><Message><ProcessingReport>'
        "<ProcessingSummary><MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>0</MessagesSuccessful>"
        "<MessagesWithError>1</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>"
        "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>5000</ResultMessageCode>"
        "<ResultDescription>Größe fehlt.</ResultDescription></Result></ProcessingReport></Message></AmazonEnvelope>"
    ).encode("latin-1")
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, report=report, content_type="text/xml")

    use_case.apply(finished("DONE", document_id), plenty)

    record = stored(feeds)
    assert record.attributes["charset"] == {"declared": None, "codec": "iso8859-1"}
    assert record.results[0]["message"] == "Größe fehlt."


# -- other outcomes ---------------------------------------------------------------------------------


def test_given_a_cancelled_feed_when_processed_then_recorded_as_is_without_a_document(
    emulator, use_case, feeds
) -> None:
    emulator.add_feed(FEED_ID, owner=SELLER, status="CANCELLED")

    result = use_case.apply(finished("CANCELLED"), plenty)

    assert result["outcome"] == "recorded" and result["report_status"] == NO_DOCUMENT
    record = stored(feeds)
    assert (record.processing_status, record.report_status, record.results) == ("CANCELLED", NO_DOCUMENT, ())
    assert "result_feed_document_id" not in record.attributes
    assert emulator.sp_api_calls() == {"getFeed": 1}


def test_given_a_fatal_feed_with_a_report_when_processed_then_recorded_with_why_it_failed(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, status="FATAL")

    use_case.apply(finished("FATAL", document_id), plenty)

    record = stored(feeds)
    assert (record.processing_status, record.report_status) == ("FATAL", PARSED)
    assert record.attributes["summary"]["messages_processed"] == 0
    [fatal] = record.results
    assert fatal["severity"] == "ERROR" and "message_id" not in fatal and fatal["message"]


def test_given_a_notification_without_its_document_id_then_the_one_getfeed_names_is_read(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)

    use_case.apply(finished("DONE", None), plenty)

    record = stored(feeds)
    assert record.report_status == PARSED and record.attributes["result_feed_document_id"] == document_id
    assert record.attributes["notification"]["result_feed_document_id"] is None


def test_given_getfeed_names_no_document_for_a_done_feed_then_recorded_without_one(
    make_spapi, directory, feeds
) -> None:
    answer = {
        "feedId": FEED_ID,
        "feedType": "POST_PRODUCT_DATA",
        "createdTime": "2026-09-21T03:30:00Z",
        "processingStatus": "DONE",
    }
    transport = FakeTransport([response(200, answer)])
    use_case = FeedProcessedUseCase(directory, make_spapi(transport), feeds)

    use_case.apply(finished("DONE", None), plenty)

    assert stored(feeds).report_status == NO_DOCUMENT
    assert len(transport.requests) == 1


def test_given_a_vendors_notification_then_its_account_via_the_subscription_keys_the_record(
    emulator, directory, use_case, feeds
) -> None:
    emulator.register_seller(VENDOR, f"Atzr|{VENDOR}")
    directory.add(VENDOR)
    directory.route_subscription("sub-vendor", VENDOR)
    document_id = emulator.add_feed(FEED_ID, owner=VENDOR, issues=SEVERAL)

    use_case.apply(finished("DONE", document_id, seller_id=None, subscription_id="sub-vendor"), plenty)

    record = stored(feeds, VENDOR)
    assert record.report_status == PARSED
    assert record.attributes["account_id"] == VENDOR and "seller_id" not in record.attributes


def test_given_an_unknown_seller_then_refused_before_any_call(emulator, use_case, feeds) -> None:
    with pytest.raises(UnknownSellerError):
        use_case.apply(finished("DONE", None, seller_id="A9UNKNOWNSELLER"), plenty)

    assert emulator.sp_api_calls() == {} and feeds.records == {}


# -- once per outcome -------------------------------------------------------------------------------


def test_given_a_recorded_feed_when_its_notification_comes_again_then_nothing_changes_nor_is_asked(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    use_case.apply(finished("DONE", document_id), plenty)
    emulator.reset_stats()

    again = use_case.apply(finished("DONE", document_id), plenty)
    later_duplicate = use_case.apply(
        finished("DONE", document_id, event_time=FINISHED_AT + timedelta(minutes=1)), plenty
    )

    assert again == later_duplicate == {"feed_id": FEED_ID, "outcome": "already_recorded"}
    assert len(feeds.writes) == 1 and emulator.sp_api_calls() == {}


def test_given_a_recorded_feed_when_an_older_notification_arrives_then_it_changes_nothing(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    use_case.apply(finished("DONE", document_id), plenty)
    emulator.reset_stats()

    older = use_case.apply(
        finished("FATAL", document_id, event_time=FINISHED_AT - timedelta(minutes=5)), plenty
    )

    assert older["outcome"] == "already_recorded"
    assert stored(feeds).processing_status == "DONE" and emulator.sp_api_calls() == {}


def test_given_two_deliveries_racing_when_both_read_the_report_then_one_write_counts(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    first = use_case.apply(finished("DONE", document_id), plenty)
    # The second delivery found no record when it started (its check raced the first's write).
    racing = feeds.records.pop((SELLER, FEED_ID))
    feeds.outcome_of = lambda seller_key, feed_id: None  # type: ignore[method-assign]
    feeds.records[(SELLER, FEED_ID)] = racing

    second = use_case.apply(finished("DONE", document_id), plenty)

    assert (first["outcome"], second["outcome"]) == ("recorded", "already_recorded")
    assert len(feeds.writes) == 1 and feeds.refused == 1


# -- unreadable reports: recorded with the reason, read again on a redrive -------------------------


@pytest.mark.parametrize(
    ("options", "status", "reason"),
    [
        (
            {"report": "Größe".encode(), "content_type": "text/xml; charset=US-ASCII"},
            UNREADABLE,
            "not valid ascii",
        ),
        (
            {"report": b"<AmazonEnvelope>", "content_type": "text/xml; charset=x-unknown-charset"},
            UNREADABLE,
            "unknown charset",
        ),
        (
            {"report": gzip.compress(json.dumps(list(range(5000))).encode())[:200]},
            UNREADABLE,
            "gzip stream is truncated",
        ),
        (
            {"report": b'{"header": {}, "issues": [], "summary": {"messagesProcessed": "4"}}'},
            UNREADABLE,
            "not a count",
        ),
        (
            {"report": b"<AmazonEnvelope><Message>", "content_type": "text/xml"},
            UNREADABLE,
            "not well-formed XML",
        ),
        ({"report": b"[1, 2]"}, UNSUPPORTED_FORMAT, "neither JSON nor XML"),
        (
            {
                "report": b"Feed Processing Summary:\n\tNumber of records processed\t\t2\n",
                "content_type": "text/plain",
            },
            UNSUPPORTED_FORMAT,
            "neither JSON nor XML",
        ),
    ],
)
def test_given_a_report_that_is_not_what_it_declares_then_the_feed_is_recorded_with_the_reason(
    emulator, use_case, feeds, options: dict[str, Any], status: str, reason: str
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, **options)

    result = use_case.apply(finished("DONE", document_id), plenty)

    assert result["outcome"] == "recorded" and result["report_status"] == status
    record = stored(feeds)
    assert record.report_status == status and record.results == ()
    assert reason in record.attributes["report_error"]


def test_given_an_xml_report_declaring_entities_then_refused_unexpanded(emulator, use_case, feeds) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<AmazonEnvelope><Message><ProcessingReport><ProcessingSummary><MessagesProcessed>1</MessagesProcessed>"
        b"</ProcessingSummary><Result><ResultDescription>&lol2;</ResultDescription></Result>"
        b"</ProcessingReport></Message></AmazonEnvelope>"
    )
    external = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><AmazonEnvelope>&x;</AmazonEnvelope>'
    for report in (laughs, external):
        feeds.records.clear()
        document_id = emulator.add_feed(FEED_ID, owner=SELLER, report=report, content_type="text/xml")

        use_case.apply(finished("DONE", document_id), plenty)

        record = stored(feeds)
        assert record.report_status == UNREADABLE
        assert "document type or an entity" in record.attributes["report_error"]


def test_given_an_unreadable_report_when_the_notification_is_redriven_after_a_fix_then_read(
    emulator, use_case, feeds
) -> None:
    document_id = emulator.add_feed(
        FEED_ID, owner=SELLER, report="Größe".encode(), content_type="text/xml; charset=US-ASCII"
    )
    use_case.apply(finished("DONE", document_id), plenty)
    unchanged = use_case.apply(finished("DONE", document_id), plenty)  # read again: still unreadable
    emulator.add_feed(FEED_ID, owner=SELLER, document_id=document_id, issues=SEVERAL)  # Amazon's fixed copy

    fixed = use_case.apply(finished("DONE", document_id), plenty)

    assert unchanged["outcome"] == "already_recorded"
    assert fixed["outcome"] == "recorded" and fixed["report_status"] == PARSED
    assert [record.report_status for record in feeds.writes] == [UNREADABLE, PARSED]


def test_given_more_results_than_kept_then_the_first_kept_and_the_counts_exact(
    emulator, make_use_case, feeds
) -> None:
    issues = [FeedIssue(f"problem {index}", message_id=index, sku=f"SKU-{index}") for index in range(1, 6)]
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, messages=5, issues=issues)

    make_use_case(max_results=2).apply(finished("DONE", document_id), plenty)

    record = stored(feeds)
    assert [result["message_id"] for result in record.results] == [1, 2]
    assert record.attributes["results_truncated"] is True
    assert record.attributes["summary"]["messages_with_error"] == 5


def test_given_a_report_larger_than_allowed_then_recorded_unreadable(emulator, make_use_case, feeds) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, messages=50, issues=SEVERAL * 20)

    make_use_case(max_report_bytes=1024).apply(finished("DONE", document_id), plenty)

    record = stored(feeds)
    assert (
        record.report_status == UNREADABLE and "larger than 1024 bytes" in record.attributes["report_error"]
    )


def test_given_a_small_gzip_that_expands_past_the_limit_then_refused_without_expanding_it(
    emulator, make_use_case, feeds
) -> None:
    bomb = gzip.compress(b"{" + b" " * (4 << 20))
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, report=bomb)

    make_use_case(max_report_bytes=1 << 20).apply(finished("DONE", document_id), plenty)

    assert "once gunzipped" in stored(feeds).attributes["report_error"]


# -- Amazon's and the network's failures -------------------------------------------------------------


def test_given_the_download_url_expired_then_one_fresh_url_asked_and_the_report_read(
    emulator, use_case, feeds, downloads
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    emulator.feeds.expire_next_urls(1)

    use_case.apply(finished("DONE", document_id), plenty)

    assert stored(feeds).report_status == PARSED
    assert emulator.sp_api_calls() == {"getFeed": 1, "getFeedDocument": 2}
    assert len(downloads.urls) == 2


def test_given_a_download_cut_off_midway_then_transient_and_nothing_recorded(
    emulator, use_case, feeds, downloads
) -> None:
    document_id = emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    downloads.cut_after = 100

    with pytest.raises(SpApiTimeout) as raised:
        use_case.apply(finished("DONE", document_id), plenty)

    assert permanent_failure(raised.value) is None and feeds.records == {}
    assert "interrupted" in str(raised.value)


@pytest.mark.parametrize("operation", ["getFeed", "getFeedDocument"])
def test_given_an_id_amazon_does_not_know_then_a_permanent_failure(
    emulator, use_case, feeds, operation: str
) -> None:
    if operation == "getFeedDocument":
        emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
        emulator.feeds._documents.clear()  # the document is gone at Amazon

    with pytest.raises(SpApiNotFound) as raised:
        use_case.apply(finished("DONE", "amzn1.tortuga.3.gone"), plenty)

    failure = permanent_failure(raised.value)
    assert failure is not None and failure.reason == "spapi_not_found"
    assert feeds.records == {}


def test_given_another_sellers_feed_then_not_found(emulator, use_case, feeds) -> None:
    emulator.add_feed(FEED_ID, owner="A2OTHERSELLER", issues=SEVERAL)

    with pytest.raises(SpApiNotFound):
        use_case.apply(finished("DONE", None), plenty)


def test_given_amazon_failing_then_transient_and_nothing_recorded(emulator, use_case, feeds) -> None:
    emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    emulator.fail_next("getFeedDocument", 503, count=20, code="ServiceUnavailable")

    with pytest.raises(SpApiServerError) as raised:
        use_case.apply(finished("DONE", None), plenty)

    assert permanent_failure(raised.value) is None and feeds.records == {}


def test_given_getfeeddocument_throttled_then_it_waits_in_the_queue(emulator, use_case, feeds) -> None:
    emulator.add_feed(FEED_ID, owner=SELLER, issues=SEVERAL)
    emulator.fail_next("getFeedDocument", 429, count=20, code="QuotaExceeded")

    with pytest.raises(SpApiThrottled):
        use_case.apply(finished("DONE", None), plenty)

    assert feeds.records == {}


@pytest.mark.parametrize("status", ["IN_QUEUE", "IN_PROGRESS"])
def test_given_getfeed_not_finished_yet_then_not_ready_and_nothing_recorded(
    emulator, use_case, feeds, status: str
) -> None:
    emulator.add_feed(FEED_ID, owner=SELLER, status=status)

    with pytest.raises(NotReadyError) as raised:
        use_case.apply(finished("DONE", "amzn1.tortuga.3.x"), plenty)

    assert raised.value.wait_seconds > 0 and feeds.records == {}


# -- the "Feed Processed" event ----------------------------------------------------------------------


def head(outcome: str, recorded_at: str, **extra: Any) -> dict[str, Any]:
    processing_status, report_status = outcome.split("/")
    return {
        "pk": f"SELLER#{SELLER}",
        "sk": f"FEED#{FEED_ID}",
        "seller_key": SELLER,
        "feed_id": FEED_ID,
        "processing_status": processing_status,
        "report_status": report_status,
        "outcome": outcome,
        "recorded_at": recorded_at,
        "results_version": "abc",
        "results_chunks": 1,
        "expires_at": 1_800_000_000,
        **extra,
    }


def test_given_a_first_outcome_then_one_feed_processed_event_with_the_record() -> None:
    description = feed_processed(
        None, head("DONE/PARSED", "2026-09-21T03:36:00.000000Z", summary={"errors": 1})
    )

    assert description is not None
    assert description.key == {"seller_id": SELLER, "feed_id": FEED_ID}
    assert (description.version, description.previous_version) == ("2026-09-21T03:36:00.000000Z", None)
    assert description.changes == {
        "processing_status": {"from": None, "to": "DONE"},
        "report_status": {"from": None, "to": "PARSED"},
    }
    assert description.record["summary"] == {"errors": 1}
    assert not {"pk", "sk", "expires_at", "outcome", "results_version"} & set(description.record)


def test_given_the_same_outcome_written_again_then_no_event() -> None:
    old = head("DONE/PARSED", "2026-09-21T03:36:00.000000Z")

    assert feed_processed(old, head("DONE/PARSED", "2026-09-21T03:40:00.000000Z")) is None


def test_given_an_unreadable_report_read_after_a_fix_then_an_event_for_the_new_outcome() -> None:
    old = head("DONE/UNREADABLE", "2026-09-21T03:36:00.000000Z")

    description = feed_processed(old, head("DONE/PARSED", "2026-09-22T08:00:00.000000Z"))

    assert description is not None
    assert description.previous_version == "2026-09-21T03:36:00.000000Z"
    assert description.changes == {"report_status": {"from": "UNREADABLE", "to": "PARSED"}}


def test_given_a_result_chunk_or_an_item_without_an_outcome_then_no_event() -> None:
    assert (
        feed_processed(None, {"pk": f"SELLER#{SELLER}", "sk": f"RESULTS#{FEED_ID}#abc#00000", "results": []})
        is None
    )
