"""The emulator's getListingsItem with ``includedData=issues``, per Amazon's listingsItems_2021-08-01 model:
only what is asked for; each issue an ``Issue`` naming the marketplaces it applies to; several
marketplaces' issues merged. Called in process on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from tests.support.fakes import FakeClock
from tests.support.spapi_models import response_validator
from tests.unit.emulator.test_rate_plans_and_search import SELLER, get, make_emulator, token

US, CANADA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
LISTINGS_MODEL = "listingsItems_2021-08-01.json"
SUPPRESSED = {
    "code": "18027",
    "message": "Missing image",
    "severity": "ERROR",
    "attributeNames": ["main_product_image_locator"],
    "categories": ["MISSING_IMAGE"],
    "enforcements": {
        "actions": [{"action": "SEARCH_SUPPRESSED"}],
        "exemption": {"status": "EXEMPT_UNTIL_EXPIRY_DATE", "expiryDate": "2026-10-28T00:36:48.914Z"},
    },
}
WARNING = {"code": "99300", "message": "Bullet points", "severity": "WARNING", "categories": []}


@pytest.fixture
def emulator() -> SpApiEmulator:
    return make_emulator(FakeClock(1_790_000_000.0))


@pytest.fixture
def access(emulator: SpApiEmulator) -> str:
    return token(emulator)


def item(emulator: SpApiEmulator, access: str, marketplaces: str, included: str) -> dict[str, Any]:
    status, _, body = get(
        emulator,
        f"/listings/2021-08-01/items/{SELLER}/SKU-1",
        access,
        marketplaceIds=marketplaces,
        includedData=included,
    )
    assert status == 200, body
    response_validator(LISTINGS_MODEL, "Item").validate(body)
    return dict(body)


def test_given_issues_alone_asked_for_then_the_item_holds_its_sku_and_its_issues_only(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.listings.set_listing(SELLER, "SKU-1", US, issues=[SUPPRESSED])

    found = item(emulator, access, US, "issues")

    assert found == {"sku": "SKU-1", "issues": [{**SUPPRESSED, "marketplaceIds": [US]}]}


def test_given_a_listing_without_status_and_no_issues_given_then_amazons_missing_attribute_error(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.set_listing(SELLER, "SKU-1", US, status=[])

    [issue] = item(emulator, access, US, "summaries,issues")["issues"]

    assert (issue["severity"], issue["categories"], issue["marketplaceIds"]) == (
        "ERROR",
        ["MISSING_ATTRIBUTE"],
        [US],
    )


def test_given_issues_resolved_then_none(emulator: SpApiEmulator, access: str) -> None:
    emulator.listings.set_listing(SELLER, "SKU-1", US, status=[], issues=[SUPPRESSED])
    emulator.listings.set_listing(SELLER, "SKU-1", US, issues=[])

    assert item(emulator, access, US, "issues")["issues"] == []


def test_given_several_marketplaces_asked_then_each_issue_once_naming_the_marketplaces_it_applies_to(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.listings.set_listing(SELLER, "SKU-1", US, issues=[SUPPRESSED, WARNING])
    emulator.listings.set_listing(SELLER, "SKU-1", CANADA, issues=[WARNING])

    found = item(emulator, access, f"{US},{CANADA}", "summaries,issues")

    assert [(i["code"], i["marketplaceIds"]) for i in found["issues"]] == [
        ("18027", [US]),
        ("99300", [US, CANADA]),
    ]
    assert [s["marketplaceId"] for s in found["summaries"]] == [US, CANADA]


def test_given_a_quantity_set_then_the_default_channels_availability_says_it(
    emulator: SpApiEmulator, access: str
) -> None:
    emulator.listings.set_listing(SELLER, "SKU-1", US, quantity=0)

    found = item(emulator, access, US, "fulfillmentAvailability")

    assert found["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 0}]


@pytest.mark.parametrize(
    "issue",
    [
        {"code": "1", "message": "m", "severity": "ERROR"},  # no categories
        {**WARNING, "severity": "FATAL"},
        {**WARNING, "categories": "MISSING_IMAGE"},
        {**WARNING, "attributeName": "title"},  # 2020-09-01's field, not 2021-08-01's
    ],
    ids=["no-categories", "unknown-severity", "categories-not-a-list", "unknown-field"],
)
def test_given_an_issue_amazons_model_does_not_allow_when_set_then_refused(
    emulator: SpApiEmulator, issue: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="Issue"):
        emulator.listings.set_listing(SELLER, "SKU-1", US, issues=[issue])


def test_given_a_negative_quantity_when_set_then_refused(emulator: SpApiEmulator) -> None:
    with pytest.raises(ValueError, match="at least 0"):
        emulator.listings.set_listing(SELLER, "SKU-1", US, quantity=-1)


def test_given_unknown_included_data_then_400(emulator: SpApiEmulator, access: str) -> None:
    emulator.set_listing(SELLER, "SKU-1", US)

    status, _, body = get(
        emulator,
        f"/listings/2021-08-01/items/{SELLER}/SKU-1",
        access,
        marketplaceIds=US,
        includedData="issues,problems",
    )

    assert status == 400 and body["errors"][0]["code"] == "InvalidInput"
