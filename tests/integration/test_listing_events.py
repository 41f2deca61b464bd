"""The listings family on the deployed path (the partner bus, the listings consumer's real handler,
the change stream, the publisher): a new version of a listing is "Listing Changed"; its issues read
again at the same version (Amazon changes issues without a new lastUpdatedDate) is "Listing Issues
Changed"; a seller-fulfilled quantity applied to it is "Listing Quantity Changed". A redelivery or
an older notification announces nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sellerstream.timestamps import sortable_timestamp
from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER
from tests.support.type_kit import amazon_example, deliver

MARKETPLACE = "ATVPDKIKX0DER"
SKU = "NLS-SHOES-03"  # Amazon's examples' SKU
VERSION = "2026-12-01T09:00:00Z"
ISSUE = {
    "code": "90220",
    "message": "'size' is required but not supplied.",
    "severity": "ERROR",
    "attributeNames": ["size"],
    "categories": ["MISSING_ATTRIBUTE"],
}


def of_the_seller(type_name: str, at: datetime, notification_id: str, **payload: Any) -> dict[str, Any]:
    document = amazon_example(type_name, index=-1)  # issues: the later payload version's
    document["Payload"].update(SellerId=SELLER, **payload)
    document["EventTime"] = sortable_timestamp(at)
    document["NotificationMetadata"]["NotificationId"] = notification_id
    return document


def stored(pipeline: LocalPipeline) -> dict[str, Any]:
    [item] = pipeline.table_items("listings")
    return item


def test_given_a_listing_when_its_issues_and_quantity_change_at_the_same_version_then_an_event_each(
    pipeline: LocalPipeline,
) -> None:
    now = datetime.now(UTC)
    pipeline.emulator.listings.set_listing(SELLER, SKU, MARKETPLACE, last_updated=VERSION, issues=[])
    status = of_the_seller("LISTINGS_ITEM_STATUS_CHANGE", now, "n-status", MarketplaceId=MARKETPLACE)
    [changed] = deliver(pipeline, status).events
    assert changed["detail-type"] == "Listing Changed"

    # Amazon adds an issue without a new version of the listing.
    pipeline.emulator.listings.set_listing(SELLER, SKU, MARKETPLACE, issues=[ISSUE])
    issues = of_the_seller("LISTINGS_ITEM_ISSUES_CHANGE", now, "n-issues", MarketplaceId=MARKETPLACE)
    delivered = deliver(pipeline, issues)

    [event] = delivered.events
    assert event["detail-type"] == "Listing Issues Changed"
    assert event["detail"]["key"] == {"seller_id": SELLER, "marketplace_id": MARKETPLACE, "sku": SKU}
    assert event["detail"]["changes"]["issue_count"] == {"from": 0, "to": 1}
    assert stored(pipeline)["last_updated"] == changed["detail"]["version"]  # the version stays Amazon's
    assert deliver(pipeline, issues).events == []  # a redelivery

    # The seller's quantity changes after the listing was read (an older one than the read is stale).
    later = datetime.now(UTC) + timedelta(seconds=1)
    quantity = of_the_seller("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", later, "n-quantity", Quantity=7)
    older = of_the_seller(
        "LISTINGS_ITEM_MFN_QUANTITY_CHANGE", later - timedelta(milliseconds=500), "n-older", Quantity=3
    )
    delivered = deliver(pipeline, quantity)

    [event] = delivered.events
    assert event["detail-type"] == "Listing Quantity Changed"
    assert event["detail"]["version"] == sortable_timestamp(later)
    assert stored(pipeline)["quantity"] == 7
    assert deliver(pipeline, quantity, older) == ([], [])
    assert stored(pipeline)["quantity"] == 7
    assert delivered.dead_letters == []
