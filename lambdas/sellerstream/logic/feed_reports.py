"""Amazon's feed processing reports, read into a summary and per-message results.

A feed's result document is its processing report, in one of two formats:

- JSON, for JSON feeds (``JSON_LISTINGS_FEED``): Amazon's "Selling Partner JSON Listings Feed
  Processing Report (v2)" schema, ``{"header": {"sellerId", "version", "feedId"}, "issues":
  [{"messageId", "sku", "code", "severity", "message", "attributeName"}], "summary": {"errors",
  "warnings", "messagesProcessed", "messagesAccepted", "messagesInvalid", "itemSummary"}}``;
- XML, for the older XML feeds (``amzn-envelope.xsd``): ``AmazonEnvelope/Message/ProcessingReport``
  with ``DocumentTransactionID``, ``StatusCode``, ``ProcessingSummary`` (``MessagesProcessed``,
  ``MessagesSuccessful``, ``MessagesWithError``, ``MessagesWithWarning``) and one ``Result`` per
  message with an issue (``MessageID``, ``ResultCode``, ``ResultMessageCode``,
  ``ResultDescription``, ``AdditionalInfo/SKU``).

Both become one shape: a summary (messages processed, successful, with an error, with a warning;
issues that are errors, warnings) and one result per issue (``message_id``, ``severity``, ``code``,
``message``, ``sku``, and the format's extras). JSON's summary counts no messages with a warning:
they are counted from its issues (messages with a WARNING and no ERROR, as XML counts them).

The bytes are gunzipped when they are gzip (bounded, so a small document cannot expand without
limit), decoded in the charset the download's ``Content-Type`` declares (``logic.charsets``; an
XML report served without one is read in the encoding its own declaration names, then the
default), strictly. XML is read with the standard library's expat, refusing any document type
declaration, so no entity (internal or external) is ever expanded. Anything that is not what it
declares is a ``FeedReportError`` whose message never quotes the document.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from typing import Any, Final, NamedTuple
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from sellerstream.errors import SellerStreamError
from sellerstream.logic.charsets import DocumentCharset, UnknownCharsetError, charset_of

MAX_REPORT_BYTES: Final = 64 << 20  # downloaded, and once gunzipped
MAX_RESULTS: Final = 100_000  # results kept of one report (the summary's counts stay exact)
MAX_TEXT_CHARS: Final = 2000  # one message, code or SKU (Amazon's messages are a sentence or two)
MAX_ATTRIBUTE_NAMES: Final = 50
GZIP_MAGIC: Final = b"\x1f\x8b"
JSON: Final = "json"
XML: Final = "xml"
_XML_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")


class FeedReportError(SellerStreamError):
    """The processing report cannot be read as what it declares (gzip, charset, JSON, XML): no retry
    can change that. The message names the problem and a position, never the document's content."""


class UnsupportedReportFormat(FeedReportError):
    """A report in neither of the formats read here (e.g. a flat-file feed's text report)."""


class FeedReport(NamedTuple):
    document_format: str  # JSON or XML
    header: dict[str, Any]  # who and which feed the report says it is about
    summary: dict[str, int]  # the normalised counts (module docstring)
    amazon_summary: dict[str, Any]  # the summary as Amazon wrote it
    results: tuple[dict[str, Any], ...]
    results_truncated: bool  # more issues than MAX_RESULTS: the first are kept


def read_report(
    raw: bytes,
    *,
    content_type: str | None,
    default_charset: str,
    max_bytes: int = MAX_REPORT_BYTES,
    max_results: int = MAX_RESULTS,
) -> tuple[FeedReport, DocumentCharset]:
    """The report in ``raw`` (as downloaded), and the charset it was read in."""
    data = gunzip(raw, max_bytes) if raw[:2] == GZIP_MAGIC else raw
    if len(data) > max_bytes:
        raise FeedReportError(f"the report is larger than {max_bytes} bytes")
    charset = _charset(data, content_type, default_charset)
    text = _decode(data, charset.codec).lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        return parse_json_report(text, max_results), charset
    if text.startswith("<"):
        return parse_xml_report(text, max_results), charset
    raise UnsupportedReportFormat("the report is neither JSON nor XML")


def gunzip(raw: bytes, limit: int) -> bytes:
    """Every gzip member of ``raw``, decompressed, refusing more than ``limit`` bytes of output."""
    output = bytearray()
    data = raw
    while data:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            output += stream.decompress(data, limit + 1 - len(output))
        except zlib.error:
            raise FeedReportError("the report is not a valid gzip stream") from None
        if len(output) > limit:
            raise FeedReportError(f"the report is larger than {limit} bytes once gunzipped")
        if not stream.eof:
            raise FeedReportError("the report's gzip stream is truncated")
        data = stream.unused_data
    return bytes(output)


def _charset(data: bytes, content_type: str | None, default: str) -> DocumentCharset:
    try:
        return charset_of(content_type, _xml_encoding(data) or default)
    except UnknownCharsetError as error:
        raise FeedReportError(str(error)) from None


def _xml_encoding(data: bytes) -> str | None:
    """The encoding an XML document's own declaration names (ASCII-compatible ones), or a UTF-16 BOM."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "UTF-16"
    found = _XML_DECLARED_ENCODING.match(data.removeprefix(codecs.BOM_UTF8).lstrip()[:256])
    return found.group(1).decode("ascii") if found else None


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, errors="strict")
    except UnicodeDecodeError as error:
        # The offending byte's value and offset only: the text around it is the seller's data.
        byte = error.object[error.start : error.start + 1].hex() if error.object else "?"
        raise FeedReportError(
            f"the report is not valid {codec}: byte 0x{byte} at offset {error.start}"
        ) from None


# -- JSON ---------------------------------------------------------------------------------------


def parse_json_report(text: str, max_results: int = MAX_RESULTS) -> FeedReport:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FeedReportError(f"the report is not valid JSON ({error.msg} at offset {error.pos})") from None
    except RecursionError:
        raise FeedReportError("the report's JSON is nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("summary"), dict):
        raise FeedReportError("the JSON report has no summary object")
    header = document.get("header")
    issues = document.get("issues", [])
    if not isinstance(header, dict) or not isinstance(issues, list):
        raise FeedReportError("the JSON report has no header object or no issues list")
    amazon_summary: dict[str, Any] = document["summary"]
    results = [_json_issue(index, issue) for index, issue in enumerate(issues)]
    errored = {result.get("message_id") for result in results if result["severity"] == "ERROR"}
    warned = {result.get("message_id") for result in results if result["severity"] == "WARNING"}
    summary = {
        "messages_processed": _count(amazon_summary, "messagesProcessed"),
        "messages_successful": _count(amazon_summary, "messagesAccepted"),
        "messages_with_error": _count(amazon_summary, "messagesInvalid"),
        "messages_with_warning": len({message for message in warned - errored if message is not None}),
        "errors": _count(amazon_summary, "errors"),
        "warnings": _count(amazon_summary, "warnings"),
    }
    kept_header = {
        name: _text(header[name])
        for name in ("sellerId", "version", "feedId")
        if isinstance(header.get(name), str)
    }
    return FeedReport(
        JSON, kept_header, summary, amazon_summary, tuple(results[:max_results]), len(results) > max_results
    )


def _json_issue(index: int, issue: Any) -> dict[str, Any]:
    if not isinstance(issue, dict):
        raise FeedReportError(f"the JSON report's issue {index} is not an object")
    severity, message = issue.get("severity"), issue.get("message")
    if not isinstance(severity, str) or not isinstance(message, str):
        raise FeedReportError(f"the JSON report's issue {index} has no severity or message")
    message_id = issue.get("messageId")
    if message_id is not None and not _is_integer(message_id):
        raise FeedReportError(f"the JSON report's issue {index} has a messageId that is not an integer")
    result: dict[str, Any] = {
        "message_id": message_id,
        "severity": severity.upper(),
        "message": _text(message),
    }
    for source, target in (("code", "code"), ("sku", "sku")):
        if isinstance(issue.get(source), str):
            result[target] = _text(issue[source])
    names = [issue["attributeName"]] if isinstance(issue.get("attributeName"), str) else []
    if isinstance(issue.get("attributeNames"), list):
        names += [name for name in issue["attributeNames"] if isinstance(name, str)]
    if names:
        result["attribute_names"] = [_text(name) for name in names[:MAX_ATTRIBUTE_NAMES]]
    return {name: value for name, value in result.items() if value is not None}


def _count(summary: dict[str, Any], name: str) -> int:
    value = summary.get(name, 0)
    if not _is_integer(value) or value < 0:
        raise FeedReportError(f"the report's summary {name} is not a count")
    return int(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- XML ----------------------------------------------------------------------------------------


def parse_xml_report(text: str, max_results: int = MAX_RESULTS) -> FeedReport:
    root = parse_xml(text)
    reports = [element for element in root.iter() if _local(element.tag) == "ProcessingReport"]
    if not reports:
        raise FeedReportError("the XML report has no ProcessingReport element")
    totals = dict.fromkeys(
        ("MessagesProcessed", "MessagesSuccessful", "MessagesWithError", "MessagesWithWarning"), 0
    )
    results: list[dict[str, Any]] = []
    transactions: list[str] = []
    statuses: list[str] = []
    for report in reports:
        counts = _child(report, "ProcessingSummary")
        if counts is None:
            raise FeedReportError("the XML report has a ProcessingReport without a ProcessingSummary")
        for name in totals:
            totals[name] += _xml_count(counts, name)
        transactions += [_text(value) for value in [_child_text(report, "DocumentTransactionID")] if value]
        statuses += [_text(value) for value in [_child_text(report, "StatusCode")] if value]
        results += [_xml_result(result) for result in report if _local(result.tag) == "Result"]
    header: dict[str, Any] = {}
    envelope_header = _child(root, "Header")
    if envelope_header is not None:
        for source, target in (
            ("MerchantIdentifier", "merchantIdentifier"),
            ("DocumentVersion", "documentVersion"),
        ):
            value = _child_text(envelope_header, source)
            if value:
                header[target] = _text(value)
    if transactions:
        header["documentTransactionId"] = transactions[0] if len(transactions) == 1 else transactions
    if statuses:
        header["statusCode"] = statuses[0] if len(statuses) == 1 else statuses
    summary = {
        "messages_processed": totals["MessagesProcessed"],
        "messages_successful": totals["MessagesSuccessful"],
        "messages_with_error": totals["MessagesWithError"],
        "messages_with_warning": totals["MessagesWithWarning"],
        "errors": sum(1 for result in results if result["severity"] == "ERROR"),
        "warnings": sum(1 for result in results if result["severity"] == "WARNING"),
    }
    return FeedReport(
        XML, header, summary, dict(totals), tuple(results[:max_results]), len(results) > max_results
    )


def parse_xml(text: str) -> Element:
    """The document's element tree, read by expat with every document type declaration refused
    (so no entity is declared, and none expanded) and no external resource ever fetched."""
    builder = TreeBuilder()
    parser = expat.ParserCreate("UTF-8")  # the text is decoded already: its declaration is moot

    def refuse(*_: Any) -> Any:
        raise FeedReportError("the XML report declares a document type or an entity: refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as error:
        raise FeedReportError(
            f"the report is not well-formed XML ({expat.ErrorString(error.code)}, "
            f"line {error.lineno}, column {error.offset})"
        ) from None
    return builder.close()


def _xml_result(result: Element) -> dict[str, Any]:
    code = _child_text(result, "ResultCode") or ""
    message_id = _child_text(result, "MessageID")
    if message_id is not None and not _is_digits(message_id):
        raise FeedReportError("the XML report has a Result whose MessageID is not a number")
    entry: dict[str, Any] = {
        "message_id": int(message_id) if message_id is not None else None,
        "severity": code.upper() or "UNKNOWN",
        "result_code": _text(code) or None,
        "code": _text(_child_text(result, "ResultMessageCode") or "") or None,
        "message": _text(_child_text(result, "ResultDescription") or ""),
    }
    info = _child(result, "AdditionalInfo")
    if info is not None:
        additional = {_local(item.tag): _text((item.text or "").strip()) for item in info}
        if additional.get("SKU"):
            entry["sku"] = additional["SKU"]
        if additional:
            entry["additional_info"] = additional
    return {name: value for name, value in entry.items() if value is not None}


def _xml_count(summary: Element, name: str) -> int:
    value = _child_text(summary, name)
    if value is None:
        return 0
    if not _is_digits(value):
        raise FeedReportError(f"the XML report's {name} is not a count")
    return int(value)


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _child_text(element: Element, name: str) -> str | None:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else None


def _is_digits(value: str) -> bool:
    # ASCII only: str.isdigit admits other scripts' digits, which int() may refuse.
    return value.isascii() and value.isdigit() and len(value) <= 18


def _local(tag: str) -> str:
    """A tag without its namespace (``{uri}Result`` -> ``Result``)."""
    return tag.rpartition("}")[2]


def _text(value: str) -> str:
    return value[:MAX_TEXT_CHARS]
