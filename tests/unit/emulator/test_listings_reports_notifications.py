"""The emulator's Listings, Reports and Notifications APIs answer in Amazon's shapes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.spapi_models import RESEARCH_DATA, response_validator
from tests.unit.emulator.test_emulator import call, token_for

pytestmark = pytest.mark.skipif(not RESEARCH_DATA.is_dir(), reason="Amazon's research data is not present")
LISTING = "/listings/2021-08-01/items/A1SELLER/SKU%2F1?marketplaceIds=ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def emulator() -> Iterator[SpApiEmulator]:
    with SpApiEmulator(time_scale=100.0) as running:
        running.register_seller("A1SELLER", "Atzr|rt-1")
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


def post(emulator: SpApiEmulator, path: str, token: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        emulator.base_url + path,
        data=body,
        method="POST",
        headers={"x-amz-access-token": token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
