"""The emulator's Listings, Reports and Notifications APIs answer in Amazon's shapes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.spapi_models import response_validator
from tests.unit.emulator.test_emulator import call, token_for

LISTING = "/listings/2021-08-01/items/A1SELLER/SKU%2F1?marketplaceIds=ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0) as running:
        running.register_seller("A1SELLER", "Atzr|rt-1")
        running.set_listing("A1SELLER", "SKU/1", "ATVPDKIKX0DER")
        yield running


@pytest.fixture(scope="module")
def token(emulator: SpApiEmulator) -> str:
    return str(token_for(emulator)[1]["access_token"])


@pytest.fixture(scope="module")
def grantless(emulator: SpApiEmulator) -> str:
    body = token_for(emulator, grant_type="client_credentials", scope="sellingpartnerapi::notifications")[1]
    return str(body["access_token"])


def test_given_listing_when_fetched_then_item_shape_with_requested_sections(
    emulator: SpApiEmulator, token: str
) -> None:
    status, _, item = call(
        emulator, LISTING + "&includedData=summaries,offers,fulfillmentAvailability,issues", token
    )

    assert status == 200
    response_validator("listingsItems_2021-08-01.json", "Item").validate(item)
    assert item["sku"] == "SKU/1"
    assert {"summaries", "offers", "fulfillmentAvailability", "issues"} <= set(item)
    assert set(call(emulator, LISTING, token)[2]) == {"sku", "summaries"}


def test_given_deleted_listing_when_fetched_then_404(emulator: SpApiEmulator, token: str) -> None:
    emulator.delete_listing("A1SELLER", "GONE", "ATVPDKIKX0DER")

    assert (
        call(emulator, "/listings/2021-08-01/items/A1SELLER/GONE?marketplaceIds=ATVPDKIKX0DER", token)[0]
        == 404
    )


def test_given_listing_when_fetched_twice_then_same_listing_and_only_requested_sections(
    emulator: SpApiEmulator, token: str
) -> None:
    first = call(emulator, LISTING + "&includedData=attributes,offers", token)[2]
    second = call(emulator, LISTING + "&includedData=attributes,offers", token)[2]

    assert first == second
    assert set(first) == {"sku", "attributes", "offers"}
    response_validator("listingsItems_2021-08-01.json", "Item").validate(first)


def test_given_no_marketplace_when_listing_fetched_then_400(emulator: SpApiEmulator, token: str) -> None:
    status, _, body = call(emulator, "/listings/2021-08-01/items/A1SELLER/SKU-1", token)

    assert status == 400
    assert body["errors"][0]["code"] == "InvalidInput"


def test_given_overridden_listing_when_fetched_then_overrides_shown_and_delete_then_404(
    emulator: SpApiEmulator, token: str
) -> None:
    path = "/listings/2021-08-01/items/A1SELLER/SKU-SET?marketplaceIds=ATVPDKIKX0DER"
    emulator.set_listing(
        "A1SELLER",
        "SKU-SET",
        "ATVPDKIKX0DER",
        status=["DISCOVERABLE"],
        last_updated="2026-02-03T04:05:06Z",
        asin="B000TEST01",
    )

    summary = call(emulator, path, token)[2]["summaries"][0]
    emulator.delete_listing("A1SELLER", "SKU-SET", "ATVPDKIKX0DER")
    status = call(emulator, path, token)[0]

    assert (summary["status"], summary["asin"]) == (["DISCOVERABLE"], "B000TEST01")
    assert summary["lastUpdatedDate"] == "2026-02-03T04:05:06Z"
    assert status == 404


def test_given_done_report_when_fetched_then_report_document_and_rows(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = emulator.add_report("R-1", rows=1000)

    _, _, report = call(emulator, "/reports/2021-06-30/reports/R-1", token)
    _, _, document = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)
    with urllib.request.urlopen(document["url"], timeout=5) as download:
        data = gzip.decompress(download.read())

    response_validator("reports_2021-06-30.json", "Report").validate(report)
    response_validator("reports_2021-06-30.json", "ReportDocument").validate(document)
    assert report["reportDocumentId"] == document_id and document["compressionAlgorithm"] == "GZIP"
    rows = list(csv.reader(io.StringIO(data.decode()), delimiter="\t"))
    assert rows[0][0] == "sku" and len(rows) == 1001


@pytest.mark.parametrize(
    ("charset", "codec", "text"),
    [
        ("Cp1252", "cp1252", "Piña colada\tcrème brûlée"),
        ("UTF-8", "utf-8", "Piña colada\t抹茶ラテ"),
        ("Shift_JIS", "shift_jis", "抹茶ラテ\t東京都"),
        ("Windows-31J", "cp932", "①抹茶ラテ\t髙橋"),
    ],
)
def test_given_a_document_in_one_of_amazons_charsets_when_downloaded_then_encoded_in_it_and_named_so(
    emulator: SpApiEmulator, token: str, charset: str, codec: str, text: str
) -> None:
    document_id = emulator.add_report(f"R-{charset}", text=text, charset=charset, compress=False)

    url = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]
    with urllib.request.urlopen(url, timeout=5) as download:
        content_type, data = download.headers["content-type"], download.read()

    assert content_type == f"text/plain; charset={charset}"
    assert data == text.encode(codec)


def test_given_a_charset_nobody_knows_when_a_report_is_added_then_refused(emulator: SpApiEmulator) -> None:
    with pytest.raises(ValueError, match="x-unknown-charset"):
        emulator.add_report("R-UNKNOWN", text="a", charset="x-unknown-charset")


def test_given_expired_document_url_then_403_and_a_fresh_one_works(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = emulator.add_report("R-2", rows=3)
    emulator.reports.expire_next_urls(1)
    stale = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]
    fresh = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(stale, timeout=5)
    with urllib.request.urlopen(fresh, timeout=5) as download:
        assert gzip.decompress(download.read()).count(b"\n") == 4
    assert refused.value.code == 403


def test_given_same_rows_when_two_reports_downloaded_then_identical_rows(
    emulator: SpApiEmulator, token: str
) -> None:
    contents = []
    for report_id in ("R-SAME-1", "R-SAME-2"):
        document_id = emulator.add_report(report_id, rows=50)
        url = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]
        with urllib.request.urlopen(url, timeout=5) as download:
            contents.append(gzip.decompress(download.read()))

    assert contents[0] == contents[1]
    assert contents[0].count(b"\n") == 51


def test_given_tiny_url_ttl_when_url_used_late_then_s3_expired_error(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = emulator.add_report("R-TTL", rows=2)
    emulator.report_document_url_ttl = 0.2
    try:
        url = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]
        time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
    finally:
        emulator.report_document_url_ttl = 300
    fresh = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]["url"]

    assert refused.value.code == 403
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in refused.value.read()
    with urllib.request.urlopen(fresh, timeout=5) as download:
        assert gzip.decompress(download.read()).count(b"\n") == 3


def test_given_document_download_then_counted_but_not_an_sp_api_operation(
    emulator: SpApiEmulator, token: str
) -> None:
    document_id = emulator.add_report("R-COUNT", content=b"a\tb\n", compress=False)
    document = call(emulator, f"/reports/2021-06-30/documents/{document_id}", token)[2]
    before = emulator.calls["documentDownload"]

    with urllib.request.urlopen(document["url"], timeout=5) as download:
        data = download.read()

    assert data == b"a\tb\n" and "compressionAlgorithm" not in document
    assert emulator.calls["documentDownload"] == before + 1
    assert "documentDownload" not in emulator.sp_api_calls()


def test_given_cancelled_and_fatal_reports_then_no_document_or_an_error_document(
    emulator: SpApiEmulator, token: str
) -> None:
    emulator.add_report("R-CANCELLED", status="CANCELLED")
    fatal_document = emulator.add_report(
        "R-FATAL", status="FATAL", document_id="DOC-FATAL", fatal_message="Too much data"
    )

    cancelled = call(emulator, "/reports/2021-06-30/reports/R-CANCELLED", token)[2]
    fatal = call(emulator, "/reports/2021-06-30/reports/R-FATAL", token)[2]
    url = call(emulator, "/reports/2021-06-30/documents/DOC-FATAL", token)[2]["url"]
    with urllib.request.urlopen(url, timeout=5) as download:
        error_document = json.loads(gzip.decompress(download.read()))
    unknown = call(emulator, "/reports/2021-06-30/reports/R-NOPE", token)[0]

    for report in (cancelled, fatal):
        response_validator("reports_2021-06-30.json", "Report").validate(report)
    assert cancelled["processingStatus"] == "CANCELLED" and "reportDocumentId" not in cancelled
    assert (fatal["processingStatus"], fatal["reportDocumentId"]) == ("FATAL", fatal_document)
    assert fatal_document == "DOC-FATAL"
    assert error_document == {"errorDetails": "Too much data"}
    assert unknown == 404


def test_given_destinations_and_subscriptions_then_conflicts_like_amazon(
    emulator: SpApiEmulator, token: str, grantless: str
) -> None:
    spec = json.dumps(
        {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:q"}}}
    ).encode()

    created = post(emulator, "/notifications/v1/destinations", grantless, spec)
    duplicate = post(emulator, "/notifications/v1/destinations", grantless, spec)
    destination_id = created[1]["payload"]["destinationId"]
    subscription = json.dumps({"payloadVersion": "1.0", "destinationId": destination_id}).encode()
    first = post(emulator, "/notifications/v1/subscriptions/ORDER_CHANGE", token, subscription)
    second = post(emulator, "/notifications/v1/subscriptions/ORDER_CHANGE", token, subscription)

    response_validator("notifications.json", "CreateDestinationResponse").validate(created[1])
    response_validator("notifications.json", "CreateSubscriptionResponse").validate(first[1])
    assert (created[0], duplicate[0], first[0], second[0]) == (200, 409, 200, 409)
    listed = call(emulator, "/notifications/v1/destinations", grantless)[2]
    response_validator("notifications.json", "GetDestinationsResponse").validate(listed)


def test_given_subscription_when_fetched_by_type_and_id_then_deleted_then_404(
    emulator: SpApiEmulator, token: str, grantless: str
) -> None:
    spec = {
        "name": "bus",
        "resourceSpecification": {"eventBridge": {"region": "us-east-1", "accountId": "123"}},
    }
    created = send(emulator, "POST", "/notifications/v1/destinations", grantless, spec)
    duplicate = send(emulator, "POST", "/notifications/v1/destinations", grantless, spec)
    destination_id = created[1]["payload"]["destinationId"]
    base = "/notifications/v1/subscriptions/ANY_OFFER_CHANGED"
    unknown_destination = send(
        emulator, "POST", base, token, {"payloadVersion": "1.0", "destinationId": "nope"}
    )
    subscription = send(
        emulator, "POST", base, token, {"payloadVersion": "1.0", "destinationId": destination_id}
    )[1]["payload"]

    by_type = send(emulator, "GET", base, token)
    by_id = send(emulator, "GET", f"{base}/{subscription['subscriptionId']}", grantless)
    deleted = send(emulator, "DELETE", f"{base}/{subscription['subscriptionId']}", grantless)
    after = send(emulator, "GET", base, token)
    destination = send(emulator, "GET", f"/notifications/v1/destinations/{destination_id}", grantless)

    assert (duplicate[0], unknown_destination[0]) == (409, 400)
    assert duplicate[1]["errors"][0]["code"] == "Conflict"
    response_validator("notifications.json", "GetSubscriptionResponse").validate(by_type[1])
    response_validator("notifications.json", "GetSubscriptionByIdResponse").validate(by_id[1])
    response_validator("notifications.json", "DeleteSubscriptionByIdResponse").validate(deleted[1])
    response_validator("notifications.json", "GetDestinationResponse").validate(destination[1])
    assert by_type[1]["payload"] == by_id[1]["payload"] == subscription
    assert (deleted[0], after[0]) == (200, 404)
    assert destination_id in emulator.destinations
    assert ("A1SELLER", "ANY_OFFER_CHANGED") not in emulator.subscriptions


def test_given_destination_when_deleted_then_gone(emulator: SpApiEmulator, grantless: str) -> None:
    spec = {"name": "gone", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:gone"}}}
    destination_id = send(emulator, "POST", "/notifications/v1/destinations", grantless, spec)[1]["payload"][
        "destinationId"
    ]

    deleted = send(emulator, "DELETE", f"/notifications/v1/destinations/{destination_id}", grantless)
    fetched = send(emulator, "GET", f"/notifications/v1/destinations/{destination_id}", grantless)

    response_validator("notifications.json", "DeleteDestinationResponse").validate(deleted[1])
    assert (deleted[0], fetched[0]) == (200, 404)
    assert destination_id not in emulator.destinations


def post(emulator: SpApiEmulator, path: str, token: str, body: bytes) -> tuple[int, Any]:
    return send(emulator, "POST", path, token, json.loads(body))


def send(
    emulator: SpApiEmulator, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        emulator.base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"x-amz-access-token": token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
