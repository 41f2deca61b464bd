"""Amazon's feed processing reports (JSON and XML) read into a summary and per-message results;
anything else refused with a reason that never quotes the document."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sellerstream.logic.feed_reports import (
    FeedReportError,
    UnsupportedReportFormat,
    gunzip,
    parse_json_report,
    parse_xml_report,
    read_report,
)
from sellerstream_local.emulator.feeds import FeedIssue, json_processing_report, xml_processing_report

FEEDS_SCHEMAS = Path(__file__).resolve().parents[2] / "fixtures" / "amazon" / "schemas" / "feeds"
SCHEMA = json.loads((FEEDS_SCHEMAS / "listings-feed-processing-report-schema-v2.json").read_text("utf-8"))
EXAMPLE = (FEEDS_SCHEMAS / "listings-feed-processing-report-schema-v2.example.json").read_bytes()
ISSUES = [
    FeedIssue("Missing 'brand'.", message_id=1, sku="SKU-A", attribute_name="brand"),
    FeedIssue("Title long.", severity="WARNING", message_id=2, sku="SKU-B", code="18448"),
    FeedIssue("Info only.", severity="INFO", message_id=2, sku="SKU-B", code="1"),
]


def read(raw: bytes, content_type: str | None = "application/json; charset=UTF-8") -> Any:
    return read_report(raw, content_type=content_type, default_charset="UTF-8")[0]


def envelope(*bodies: str, namespace: str = "") -> str:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    messages = "".join(
        f"<Message><MessageID>{n}</MessageID>{body}</Message>" for n, body in enumerate(bodies, 1)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope{xmlns}><Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>M1</MerchantIdentifier></Header><MessageType>ProcessingReport</MessageType>{messages}</AmazonEnvelope>'


def processing_report(processed: int, successful: int, errors: int, warnings: int, results: str = "") -> str:
    return (
        f"<ProcessingReport><DocumentTransactionID>T{processed}</DocumentTransactionID><StatusCode>Complete</StatusCode>"
        f"<ProcessingSummary><MessagesProcessed>{processed}</MessagesProcessed><MessagesSuccessful>{successful}"
        f"</MessagesSuccessful><MessagesWithError>{errors}</MessagesWithError><MessagesWithWarning>{warnings}"
        f"</MessagesWithWarning></ProcessingSummary>{results}</ProcessingReport>"
    )


# -- JSON ---------------------------------------------------------------------------------------


def test_given_the_emulators_json_report_then_valid_for_amazons_schema_and_read_back() -> None:
    document = json_processing_report("A1SELLER", "123", 4, ISSUES)
    jsonschema.Draft7Validator(SCHEMA).validate(document)

    report = read(json.dumps(document).encode())

    assert report.summary == {
        "messages_processed": 4,
        "messages_successful": 3,
        "messages_with_error": 1,
        "messages_with_warning": 1,
        "errors": 1,
        "warnings": 1,
    }
    assert [result["severity"] for result in report.results] == ["ERROR", "WARNING", "INFO"]
    assert report.results[0]["attribute_names"] == ["brand"]


def test_given_amazons_example_with_a_bom_then_read() -> None:
    report = read(codecs.BOM_UTF8 + EXAMPLE, content_type="application/json")

    assert report.document_format == "json" and len(report.results) == 3
    assert report.header == {"sellerId": "AXXXXXXXXXXXX", "version": "2.0", "feedId": "1234567890"}


def test_given_an_issue_naming_several_attributes_then_each_kept() -> None:
    document = {
        "header": {"sellerId": "A1", "version": "2.0", "feedId": "1"},
        "issues": [{"severity": "error", "message": "m", "attributeNames": ["a", "b", 3]}],
        "summary": {
            "errors": 1,
            "warnings": 0,
            "messagesProcessed": 1,
            "messagesAccepted": 0,
            "messagesInvalid": 1,
        },
    }

    [result] = parse_json_report(json.dumps(document)).results

    assert result == {"severity": "ERROR", "message": "m", "attribute_names": ["a", "b"]}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"header": {}, "issues": []}, "no summary object"),
        ({"header": [], "issues": [], "summary": {}}, "no header object"),
        ({"header": {}, "issues": {}, "summary": {}}, "no issues list"),
        ({"header": {}, "issues": ["x"], "summary": {}}, "issue 0 is not an object"),
        (
            {"header": {}, "issues": [{"severity": "ERROR"}], "summary": {}},
            "issue 0 has no severity or message",
        ),
        (
            {
                "header": {},
                "issues": [{"severity": "ERROR", "message": "m", "messageId": "1"}],
                "summary": {},
            },
            "messageId",
        ),
        ({"header": {}, "issues": [], "summary": {"errors": -1}}, "errors is not a count"),
        ({"header": {}, "issues": [], "summary": {"messagesProcessed": True}}, "not a count"),
    ],
)
def test_given_a_json_document_that_is_no_processing_report_then_refused(
    document: dict[str, Any], reason: str
) -> None:
    with pytest.raises(FeedReportError, match=reason):
        parse_json_report(json.dumps(document))


def test_given_json_nested_beyond_reason_then_refused_not_crashed() -> None:
    with pytest.raises(FeedReportError, match=r"nested too deeply|not valid JSON"):
        parse_json_report('{"summary":' + "[" * 100_000 + "]" * 100_000 + "}")


def test_given_a_refusal_then_the_reason_never_quotes_the_document() -> None:
    secret = "BUYER-NAME-Jane-Doe"

    with pytest.raises(FeedReportError) as raised:
        read(f'{{"summary": {{}}, "header": {{}}, "issues": [{{"message": "{secret}"}}]}}'.encode())

    assert secret not in str(raised.value)


# -- XML ----------------------------------------------------------------------------------------


def test_given_the_emulators_xml_report_then_read_back() -> None:
    report = parse_xml_report(xml_processing_report("M1", "42", 4, ISSUES))

    assert report.summary == {
        "messages_processed": 4,
        "messages_successful": 3,
        "messages_with_error": 1,
        "messages_with_warning": 1,
        "errors": 1,
        "warnings": 1,
    }
    assert report.header == {
        "merchantIdentifier": "M1",
        "documentVersion": "1.02",
        "documentTransactionId": "42",
        "statusCode": "Complete",
    }
    assert [result["severity"] for result in report.results] == ["ERROR", "WARNING", "INFO"]


def test_given_a_namespaced_report_with_two_messages_then_summed_and_in_order() -> None:
    first = processing_report(
        2, 1, 1, 0, "<Result><MessageID>2</MessageID><ResultCode>Error</ResultCode></Result>"
    )
    second = processing_report(
        3,
        3,
        0,
        1,
        "<Result><MessageID>1</MessageID><ResultCode>Warning</ResultCode>"
        "<AdditionalInfo><SKU>S</SKU><AmazonOrderID>111-1</AmazonOrderID></AdditionalInfo></Result>",
    )

    report = parse_xml_report(envelope(first, second, namespace="urn:example"))

    assert report.summary["messages_processed"] == 5 and report.summary["messages_with_warning"] == 1
    assert report.header["documentTransactionId"] == ["T2", "T3"]
    assert report.results[1] == {
        "message_id": 1,
        "severity": "WARNING",
        "result_code": "Warning",
        "message": "",
        "sku": "S",
        "additional_info": {"SKU": "S", "AmazonOrderID": "111-1"},
    }


def test_given_utf16_xml_with_its_bom_and_no_charset_then_read() -> None:
    text = envelope(
        processing_report(1, 0, 1, 0, "<Result><ResultDescription>サイズ</ResultDescription></Result>")
    )
    raw = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")

    report, charset = read_report(raw, content_type="text/xml", default_charset="UTF-8")

    assert charset.codec == "utf-16" and report.results[0]["message"] == "サイズ"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<AmazonEnvelope/>", "no ProcessingReport element"),
        (envelope("<ProcessingReport/>"), "without a ProcessingSummary"),
        (
            envelope(
                processing_report(1, 1, 0, 0).replace(">1</MessagesProcessed>", ">one</MessagesProcessed>")
            ),
            "not a count",
        ),
        (
            envelope(processing_report(1, 1, 0, 0, "<Result><MessageID>\u0661</MessageID></Result>")),
            "MessageID is not a number",
        ),
        ("<AmazonEnvelope><Message>", "not well-formed XML"),
        ('<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>', "document type"),
    ],
)
def test_given_xml_that_is_no_processing_report_then_refused(text: str, reason: str) -> None:
    with pytest.raises(FeedReportError, match=reason):
        read(text.encode(), content_type="text/xml; charset=UTF-8")


# -- bytes --------------------------------------------------------------------------------------


def test_given_gzip_of_several_members_then_all_read() -> None:
    data = json.dumps(json_processing_report("A1", "1", 1, [])).encode()

    assert gunzip(gzip.compress(data[:10]) + gzip.compress(data[10:]), 1 << 20) == data


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x1f\x8b" + b"\x00" * 30, "not a valid gzip stream"),
        (gzip.compress(b"x" * 2000, mtime=0), "larger than 1000 bytes once gunzipped"),
        (gzip.compress(json.dumps(list(range(3000))).encode(), mtime=0)[:100], "truncated"),
    ],
    ids=["not-gzip", "oversized", "truncated"],
)
def test_given_bad_or_oversized_gzip_then_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(FeedReportError, match=reason):
        read_report(raw, content_type=None, default_charset="UTF-8", max_bytes=1000)


def test_given_a_plain_document_over_the_limit_then_refused() -> None:
    with pytest.raises(FeedReportError, match="larger than 10 bytes"):
        read_report(b"{" + b" " * 20 + b"}", content_type=None, default_charset="UTF-8", max_bytes=10)


def test_given_a_charset_that_is_no_text_encoding_then_refused() -> None:
    with pytest.raises(FeedReportError, match="not a text charset"):
        read(b"{}", content_type="application/json; charset=base64")


def test_given_a_flat_file_report_then_an_unsupported_format() -> None:
    with pytest.raises(UnsupportedReportFormat):
        read(b"original-record-number\tsku\terror-code\n1\tS\t8560\n", content_type="text/plain")
