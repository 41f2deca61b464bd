"""``sellerstream demo`` as a user runs it: completes and prints a summary that adds up."""

from __future__ import annotations

import io
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream_local.demo import (
    GERMANY,
    OFFER_ASINS,
    ORDERS_PER_SELLER,
    TWO_REGION_SELLER,
    TWO_REGION_SELLER_REGIONS,
    US,
    run_demo,
)
from sellerstream_local.emulator.catalog import PRODUCTS
from sellerstream_local.traffic import UNATTRIBUTED, may_emit

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Any], str]:
    """One run of the demo (half a minute) for every test here: its summary and what it printed."""
    out = io.StringIO()
    summary = run_demo(out)
    return summary, out.getvalue()


def test_given_the_demo_stream_when_run_then_every_order_stored_and_only_poison_dead_lettered(
    demo: tuple[dict[str, Any], str],
) -> None:
    summary, text = demo

    assert summary["orders_stored"] == summary["orders_expected"]
    assert sorted(letter["reason"] for letter in summary["dead_lettered"]) == [
        "inconsistent_shipment",  # the seller's update of a package with another quantity
        "invalid_notification",
        "invalid_notification",
        "unknown_notification_type",
        "unknown_seller",
    ]
    # Every valid ORDER_CHANGE (redeliveries too: no idempotency records for orders) is done once its
    # change is recorded for its seller's drainer, or skipped when the order is stored as new already.
    orders = summary["by_type"]["ORDER_CHANGE"]
    assert orders["pending"] + orders["unchanged"] == orders["records"] - orders["dead_lettered"]
    assert orders["duplicates"] == 0 and orders["pending"] >= summary["orders_expected"]
    assert summary["outcomes"]["duplicate"] >= 1  # the other types' redeliveries
    assert summary["outcomes"]["skipped"] >= 6  # the late (older) events cost no call
    # The lagging reads' drain is continued by a drain request, which asks for their orders again.
    assert summary["by_type"]["SELLERSTREAM_DRAIN_REQUEST"]["records"] >= 1
    # One call per new order and per shipment (20), two per lagging read (3), one for the ORDER_CHANGE
    # that follows the seller's confirmation: duplicates, late events and notifications of the same
    # order in one batch cost none.
    # (getOrder's 429s only: the onboarding's subscription calls have buckets of their own.)
    throttled = summary["throttled_by_operation"].get("getOrder", 0)
    answered = summary["sp_api_calls"]["getOrder"] - throttled
    assert answered == summary["orders_expected"] + summary["orders_expected"] // 2 + 2 * 3 + 1
    assert throttled >= 1
    assert summary["status_counts"]["SHIPPED"] == summary["orders_expected"] // 2 + 1
    # A confirmation, a tracking update reusing its generated reference, an inconsistent update refused.
    shipments = summary["shipments"]
    assert (shipments["confirmed"], shipments["updated"], shipments["refused"]) == (1, 1, 1)
    [package] = shipments["packages"]
    assert (package["tracking"], package["version"]) == ("1Z999AA10123456785", 2)
    assert 1 <= int(package["package_reference_id"]) <= 999_999_999  # drawn from the first request's id
    assert summary["sp_api_calls"]["confirmShipment"] == 2
    assert summary["listings"] == {"stored": 16, "deleted": 2, "empty_status": 4}
    reports = {record["report_id"]: record for record in summary["reports"]["records"]}
    assert (reports["50001"]["rows"], reports["50001"]["parts"]) == (12_000, 3)
    assert reports["50002"]["owner"] == "amzn1.vg.5550001" and reports["50002"]["rows"] == 40
    assert (reports["50003"]["status"], reports["50004"]["status"]) == ("CANCELLED", "FATAL")
    assert summary["reports"]["row_items"] == 12_040
    assert summary["app_secret"]["rotated"] and summary["app_secret"]["rotations"] == 1
    assert summary["app_secret"]["expires_in_days"] > 179
    # Events out: one per stored change, as the subscriber's queue and the webhook received them.
    events = summary["events"]
    assert {name: count for name, count in events["by_type"].items() if count} == {
        # Each new order, each shipment, the lagging reads' newer states, the confirmed order: never
        # a duplicate, a late (older) event or a lagging read's previous state.
        "Order Changed": summary["orders_expected"] + summary["orders_expected"] // 2 + 3 + 1,
        # Each listing stored and deleted, and the newer version a listing's issues came with.
        "Listing Changed": summary["listings"]["stored"] + summary["listings"]["deleted"] + 1,
        "Listing Issues Changed": 2,  # the same version's issues, read again
        "Listing Quantity Changed": 1,
        "Report Ready": len(summary["reports"]["records"]),
        "Shipment Confirmed": shipments["confirmed"] + shipments["updated"],
        "Inventory Changed": 8,
        "Feed Processed": 2,
        "Any Offer Changed": 9,
    }
    assert events["distinct_ids"] == events["delivered"] == sum(events["by_type"].values())
    assert (events["duplicate_deliveries"], events["regressed"], events["conflicting_ids"]) == (0, 0, 0)
    assert events["dead_lettered"] == 0
    # Only entities' writes reach the publisher; those that changed no version (a report's progress)
    # give no event.
    stream = events["stream"]
    assert stream["handed_to_publisher"] == events["delivered"] + stream["no_event"]
    assert stream["filtered_out"] >= summary["pii_items"]
    webhook = events["webhook"]
    assert webhook["by_type"] == {kind: count for kind, count in events["by_type"].items() if count}
    assert webhook["received"] == webhook["distinct_ids"] == webhook["forwarded"] == events["delivered"]
    assert (webhook["auth_header"], webhook["wrong_key_status"], webhook["refused"]) == (
        "x-api-key",
        401,
        {401: 1},
    )
    for heading in (
        "Messages",
        "Dead letters",
        "SP-API",
        "Orders table",
        "Listings table",
        "Reports table",
        "LWA client secret",
        "Shipments",
        "Regions",
        "Every other type",
        "By notification type",
        "Events out",
    ):
        assert heading in text


def test_given_a_seller_in_two_regions_when_the_demo_runs_then_each_regions_orders_come_from_its_endpoint(
    demo: tuple[dict[str, Any], str],
) -> None:
    # Given: the demo's second seller, authorised in North America and Europe through the onboarding
    # API (the real function's login URI, the consent page, its redirect URI), with half its orders
    # in the US and half in Germany
    summary, text = demo

    # When: its regions' summary is read
    regions = summary["regions"]

    # Then: it was authorised in both regions (the consent page's redirect named it, the redirect
    # URI's answer page said stored) and subscribed in each to every type local mode takes, every
    # order was stored, and each marketplace's orders were answered by its own region's endpoint only
    assert regions["seller"] == TWO_REGION_SELLER
    assert [
        (entry["region"], entry["selling_partner_id"], entry["status"], entry["complete"])
        for entry in regions["authorized"]
    ] == [(region, TWO_REGION_SELLER, 200, True) for region in TWO_REGION_SELLER_REGIONS]
    subscribed = {t.name for t in catalog.subscribed_types()}
    assert all(set(entry["subscriptions"]) == subscribed for entry in regions["authorized"])
    by_marketplace = {row["marketplace"]: row for row in regions["marketplaces"]}
    assert set(by_marketplace) == {US, GERMANY}
    for marketplace_id, region in ((US, "NA"), (GERMANY, "EU")):
        row = by_marketplace[marketplace_id]
        assert row["region"] == region
        assert row["stored"] == row["orders"] == ORDERS_PER_SELLER // 2
        assert set(row["get_order_answered_by_region"]) == {region}
        assert row["get_order_answered_by_region"][region] >= row["orders"]
    # Every SP-API call went to a region's endpoint; none to the Far East's
    calls = regions["sp_api_calls_by_region"]
    assert set(calls) == {"NA", "EU", "FE"}
    assert calls["NA"] > 0 and calls["EU"] > 0 and calls["FE"] == 0
    assert sum(calls.values()) == sum(summary["sp_api_calls"].values())
    assert f"{TWO_REGION_SELLER} authorised the application in NA, EU through the onboarding API" in text
    for region in TWO_REGION_SELLER_REGIONS:
        assert (
            f"    {region}: GET /login?region={region} -> /{region.lower()} consent page -> GET /redirect 200: "
            f"code exchanged, refresh token stored, subscribed to {len(subscribed)} types\n"
        ) in text
    half = ORDERS_PER_SELLER // 2
    assert f"{GERMANY} (EU): {half}/{half} orders stored, getOrder answered on /eu" in text
    # No secret of the workflow is printed: neither a refresh or access token nor a code
    assert "Atzr|" not in text and "Atza|" not in text and "spapi_oauth_code=" not in text


def record_of(counts: dict[str, Any]) -> tuple[int, int, int, int, int, dict[str, int]]:
    return (
        counts["records"],
        counts["stored"],
        counts["unchanged"],
        counts["duplicates"],
        counts["dead_lettered"],
        counts["events"],
    )


def test_given_every_other_type_when_the_demo_runs_then_each_stored_once_per_change_and_announced_once(
    demo: tuple[dict[str, Any], str],
) -> None:
    summary, text = demo

    by_type = summary["by_type"]
    # (records, entities stored, unchanged, duplicates, dead-lettered, events): a redelivery and an
    # older change store nothing and announce nothing; nothing valid is dead-lettered.
    assert record_of(by_type["FBA_INVENTORY_AVAILABILITY_CHANGES"]) == (
        4 + 1 + 1,  # four SKUs, one redelivered, one older change
        4 * 2,  # each in the US and Canada
        2,  # the older change, in both
        1,
        0,
        {"Inventory Changed": 8},
    )
    assert record_of(by_type["LISTINGS_ITEM_ISSUES_CHANGE"]) == (
        3 + 1,
        3,
        0,
        1,
        0,
        {"Listing Changed": 1, "Listing Issues Changed": 2},
    )
    assert record_of(by_type["LISTINGS_ITEM_MFN_QUANTITY_CHANGE"]) == (
        3,
        1,
        1,  # older than the listing's read
        1,
        0,
        {"Listing Quantity Changed": 1},
    )
    assert record_of(by_type["FEED_PROCESSING_FINISHED"]) == (3, 2, 0, 1, 0, {"Feed Processed": 2})
    assert record_of(by_type["ANY_OFFER_CHANGED"]) == (
        OFFER_ASINS * 5,  # four changes each, one of them twice
        OFFER_ASINS * 3,
        OFFER_ASINS,  # the second change, arriving after the third
        OFFER_ASINS,
        0,
        {"Any Offer Changed": OFFER_ASINS * 3},
    )
    # Every type whose writes are entities on the bus: one event per entity stored, none else.
    for name, counts in by_type.items():
        if may_emit(name):
            assert sum(counts["events"].values()) == counts["stored"], name
    assert UNATTRIBUTED not in by_type
    assert sum(counts["dead_lettered"] for counts in by_type.values()) == len(summary["dead_lettered"])

    stored = summary["every_other_type"]
    inventory = {(row["sku"], row["marketplace"]): row["fulfillable"] for row in stored["inventory"]}
    assert inventory == {
        (sku, marketplace): fulfillable // (2 if marketplace == "A2EUQ1WTGCTBG2" else 1)
        for sku, fulfillable in (
            ("01-SKU-001", 50),
            ("01-SKU-002", 43),
            ("01-SKU-003", 36),
            ("01-SKU-004", 29),
        )
        for marketplace in ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")
    }  # 01-SKU-002's older change (60) stored nothing
    listings = {(row["seller"], row["sku"]): row for row in stored["listings"]}
    assert {
        key: (row["issues"], row["issues_read_again"]) for key, row in listings.items() if row["issues"]
    } == {
        ("A1SELLERSTREAM01", "01-SKU-001"): (["18027", "18155"], True),
        ("A2SELLERSTREAM02", "02-SKU-002"): (["90220", "99300"], True),
        ("A1SELLERSTREAM01", "01-SKU-004"): (["90220"], False),  # a newer version, stored whole
    }
    assert listings["A1SELLERSTREAM01", "01-SKU-003"]["mfn_quantity"] == {"DEFAULT": 42}
    feeds = {row["feed_id"]: row for row in stored["feeds"]}
    done, fatal = feeds["53347010001"], feeds["53347010002"]
    assert (done["status"], done["report"], done["results"]) == ("DONE", "PARSED", 4)
    assert done["summary"] == {
        "messages_processed": 5,
        "messages_successful": 3,
        "messages_with_error": 2,
        "messages_with_warning": 1,
        "errors": 2,
        "warnings": 2,
    }
    assert (fatal["status"], fatal["report"]) == ("FATAL", "PARSED")
    # Each ASIN's newest change (its fourth), never the late second one.
    assert {row["asin"]: (row["notification_id"], row["buy_box"]) for row in stored["offers"]} == {
        asin: (f"demo-offer-{asin}-3", round(float(price) - 0.75, 2))
        for asin, _, price in PRODUCTS[:OFFER_ASINS]
    }
    assert "phase 8  inventory, issues, feeds, offers" in text
    assert "ANY_OFFER_CHANGED" in text and "Any Offer Changed 9" in text
