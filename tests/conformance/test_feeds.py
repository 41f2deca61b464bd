"""The Feeds API 2021-06-30, both sides, against Amazon's model: the client's getFeed and
getFeedDocument requests, its rate plans, and the emulator's answers (``Feed``, ``FeedDocument``,
ErrorList for 400, 404 and 429, its usage plans) and the processing reports it serves (Amazon's
JSON processing report schema)."""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sellerstream.spapi.feeds import FeedsApi
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, plan_for
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.feeds import FeedIssue
from sellerstream_local.emulator.usage_plans import model_plans
from tests.conformance.test_rate_plans import CALLS
from tests.conformance.test_spapi_requests import check, client_and_transport
from tests.support.fakes import response
from tests.support.spapi_models import strict_response_validator
from tests.unit.emulator.test_emulator import call, token_for

FEEDS = "feeds_2021-06-30.json"
SELLER = "A1SELLER"
OTHER = "A2OTHER"
REPORT_SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "amazon"
        / "schemas"
        / "feeds"
        / "listings-feed-processing-report-schema-v2.json"
    ).read_text("utf-8")
)
ISSUES = [
    FeedIssue("Missing brand.", message_id=1, sku="SKU-1", attribute_name="brand"),
    FeedIssue("Short title.", severity="WARNING", message_id=2, sku="SKU-2"),
]

# -- the client --------------------------------------------------------------------------------------


def test_given_feed_calls_then_valid_for_the_model() -> None:
    client, transport = client_and_transport(
        [
            response(200, {"feedId": "53347018456", "processingStatus": "DONE"}),
            response(200, {"feedDocumentId": "d", "url": "https://x"}),
            response(200, {"feedId": "feedId1", "processingStatus": "CANCELLED"}),
        ]
    )

    FeedsApi(client).get_feed("53347018456")
    FeedsApi(client).get_feed_document("amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.URUTI57URI9BMZ")
    FeedsApi(client).get_feed("feedId1")

    assert [check(FEEDS, request) for request in transport.requests] == [
        "getFeed",
        "getFeedDocument",
        "getFeed",
    ]
    assert transport.requests[1].url.endswith(
        "/feeds/2021-06-30/documents/amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.URUTI57URI9BMZ"
    )


def test_given_the_clients_feed_calls_then_metered_on_amazons_plans() -> None:
    metered = {operation for _, operation in CALLS if operation.startswith("feeds/")}

    assert metered == {"feeds/2021-06-30:getFeed", "feeds/2021-06-30:getFeedDocument"}
    for operation in metered:
        assert tuple(plan_for(operation, DEFAULT_RATE_PLANS)) == tuple(model_plans()[operation])


# -- the emulator ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0, seed=5) as running:
        running.register_seller(SELLER, "Atzr|rt-1")
        running.register_seller(OTHER, "Atzr|rt-2")
        running.add_feed("1001", owner=SELLER, issues=ISSUES, messages=3)
        running.add_feed(
            "1002", owner=SELLER, feed_type="JSON_LISTINGS_FEED", issues=ISSUES, messages=3, compress=True
        )
        running.add_feed("1003", owner=SELLER, status="FATAL")
        running.add_feed("1004", owner=SELLER, status="CANCELLED")
        running.add_feed("1005", owner=SELLER, status="IN_QUEUE")
        running.add_feed("1006", owner=SELLER, status="IN_PROGRESS")
        running.add_feed("2001", owner=OTHER, issues=ISSUES)
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    return str(token_for(emulator)[1]["access_token"])


def ok(emulator: SpApiEmulator, path: str, token: str) -> Any:
    status, _, body = call(emulator, path, token)
    assert status == 200, body
    return body


def download(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, {name.lower(): value for name, value in answer.headers.items()}, answer.read()


@pytest.mark.parametrize(
    ("feed_id", "status", "document"),
    [
        ("1001", "DONE", True),
        ("1002", "DONE", True),
        ("1003", "FATAL", True),
        ("1004", "CANCELLED", False),
        ("1005", "IN_QUEUE", False),
        ("1006", "IN_PROGRESS", False),
    ],
)
def test_given_a_feed_when_asked_then_strictly_valid_for_amazons_feed(
    emulator: SpApiEmulator, token: str, feed_id: str, status: str, document: bool
) -> None:
    feed = ok(emulator, f"/feeds/2021-06-30/feeds/{feed_id}", token)

    strict_response_validator(FEEDS, "Feed").validate(feed)
    assert (feed["feedId"], feed["processingStatus"], "resultFeedDocumentId" in feed) == (
        feed_id,
        status,
        document,
    )
    assert ("processingEndTime" in feed) == (status in ("DONE", "FATAL", "CANCELLED"))


@pytest.mark.parametrize(("feed_id", "compressed"), [("1001", False), ("1002", True), ("1003", False)])
def test_given_a_feeds_document_when_asked_then_strictly_valid_and_downloadable(
    emulator: SpApiEmulator, token: str, feed_id: str, compressed: bool
) -> None:
    document_id = ok(emulator, f"/feeds/2021-06-30/feeds/{feed_id}", token)["resultFeedDocumentId"]

    document = ok(emulator, f"/feeds/2021-06-30/documents/{document_id}", token)

    strict_response_validator(FEEDS, "FeedDocument").validate(document)
    assert document["feedDocumentId"] == document_id
    assert (document.get("compressionAlgorithm") == "GZIP") == compressed
    status, headers, body = download(document["url"])
    assert status == 200 and "content-encoding" not in headers
    assert (body[:2] == b"\x1f\x8b") == compressed


def test_given_the_emulators_json_processing_report_then_valid_for_amazons_report_schema(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = ok(emulator, "/feeds/2021-06-30/feeds/1002", token)["resultFeedDocumentId"]
    url = ok(emulator, f"/feeds/2021-06-30/documents/{document_id}", token)["url"]

    _, headers, body = download(url)

    report = json.loads(gzip.decompress(body).decode("utf-8"))
    jsonschema.Draft7Validator(REPORT_SCHEMA).validate(report)
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert report["summary"]["messagesProcessed"] == 3 and len(report["issues"]) == 2


def test_given_content_encoding_asked_when_downloaded_then_the_url_says_gzip(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = ok(emulator, "/feeds/2021-06-30/feeds/1002", token)["resultFeedDocumentId"]
    url = ok(
        emulator, f"/feeds/2021-06-30/documents/{document_id}?enableContentEncodingUrlHeader=true", token
    )["url"]

    request = urllib.request.Request(url, headers={"accept-encoding": "identity"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/feeds/2021-06-30/feeds/9999", 404),
        ("/feeds/2021-06-30/feeds/2001", 404),  # another seller's feed
        ("/feeds/2021-06-30/documents/amzn1.tortuga.3.unknown", 404),
        ("/feeds/2021-06-30/documents/amzn1.tortuga.3.x?enableContentEncodingUrlHeader=maybe", 400),
    ],
)
def test_given_an_error_when_answered_then_amazons_error_list(
    emulator: SpApiEmulator, token: str, path: str, status: int
) -> None:
    answered, headers, body = call(emulator, path, token)

    assert answered == status
    strict_response_validator(FEEDS, "ErrorList").validate(body)
    assert body["errors"] and "x-amzn-requestid" in headers


def test_given_another_sellers_document_then_not_found(emulator: SpApiEmulator, token: str) -> None:
    other_token = str(token_for(emulator, "Atzr|rt-2")[1]["access_token"])
    document_id = ok(emulator, "/feeds/2021-06-30/feeds/2001", other_token)["resultFeedDocumentId"]

    status, _, _ = call(emulator, f"/feeds/2021-06-30/documents/{document_id}", token)

    assert status == 404


@pytest.mark.parametrize("operation", ["getFeed", "getFeedDocument"])
def test_given_amazons_usage_plan_then_the_emulator_meters_by_it(operation: str) -> None:
    plan = model_plans()[f"feeds/2021-06-30:{operation}"]
    with SpApiEmulator(time_scale=1.0) as limited:
        limited.register_seller(SELLER, "Atzr|rt-1")
        document_id = limited.add_feed("1001", owner=SELLER)
        access = str(token_for(limited)[1]["access_token"])
        path = (
            "/feeds/2021-06-30/feeds/1001"
            if operation == "getFeed"
            else f"/feeds/2021-06-30/documents/{document_id}"
        )
        answers = [call(limited, path, access) for _ in range(plan.burst + 1)]

    assert [status for status, _, _ in answers] == [200] * plan.burst + [429]
    assert float(answers[0][1]["x-amzn-ratelimit-limit"]) == plan.rate
    strict_response_validator(FEEDS, "ErrorList").validate(answers[-1][2])
