"""LISTINGS_ITEM_STATUS_CHANGE through the local partner bus, rule, queue and the real handler."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

MARKETPLACE = "ATVPDKIKX0DER"
SKU = "NLS-SHOES-03"
NOTIFICATION: dict[str, Any] = {
    "NotificationVersion": "1.0",
    "NotificationType": "LISTINGS_ITEM_STATUS_CHANGE",
    "PayloadVersion": "1.0",
    "EventTime": "2025-02-03T18:59:30.194Z",
    "Payload": {
        "SellerId": SELLER,
        "MarketplaceId": MARKETPLACE,
        "Asin": "BT6RZ7JM4H",
        "Sku": SKU,
        "CreatedDate": "2025-02-03T18:50:26.196Z",
        "Status": ["BUYABLE", "DISCOVERABLE"],
    },
    "NotificationMetadata": {
        "ApplicationId": "amzn1.sellerapps.app.test",
        "SubscriptionId": "sub-listings",
        "PublishTime": "2025-02-03T18:59:30.194Z",
        "NotificationId": "n-listing-1",
    },
}


def notification(
    notification_id: str, status: list[str], event_time: str = "2025-02-03T18:59:30.194Z"
) -> str:
    document = copy.deepcopy(NOTIFICATION)
    document["NotificationMetadata"]["NotificationId"] = notification_id
    document["Payload"]["Status"] = status
    document["EventTime"] = event_time
    return json.dumps(document)


def listing(pipeline: LocalPipeline) -> dict[str, Any]:
    [item] = pipeline.table_items("listings")
    return item


def test_given_listing_change_on_the_bus_when_processed_then_listing_stored_as_amazon_answers(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_listing(
        SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated="2025-02-03T18:58:00Z", asin="B0ANSWERED"
    )

    pipeline.publish(notification("n-1", ["BUYABLE", "DISCOVERABLE"]))
    stats = pipeline.drain()

    item = listing(pipeline)
    assert stats.succeeded == 1
    assert (item["pk"], item["sk"]) == (f"SELLER#{SELLER}#MARKETPLACE#{MARKETPLACE}", f"SKU#{SKU}")
    assert item["status"] == ["BUYABLE"] == item["summary"]["status"]
    assert item["asin"] == "B0ANSWERED"
    assert item["notification"]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert item["notification"]["asin"] == "BT6RZ7JM4H"
    assert item["last_updated"] == "2025-02-03T18:58:00.000000Z"
    assert item["deleted"] is False
    assert item["offers"] and item["fulfillment_availability"]
    assert item["quantity"] == item["fulfillment_availability"][0]["quantity"]
    assert pipeline.emulator.calls["getListingsItem"] == 1


def test_given_late_notification_whose_callback_answers_newer_state_then_newer_state_stored_whole(
    pipeline: LocalPipeline,
) -> None:
    # Amazon already holds the 09:00 state (status []) when the 08:00 notification's callback runs.
    pipeline.emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[], last_updated="2025-02-03T09:00:00Z")
    pipeline.publish(notification("n-0800", ["BUYABLE", "DISCOVERABLE"], "2025-02-03T08:00:00.000Z"))
    pipeline.drain()
    pipeline.publish(notification("n-0900", [], "2025-02-03T09:00:00.000Z"))

    pipeline.drain()

    item = listing(pipeline)
    assert item["status"] == []
    assert item["last_updated"] == "2025-02-03T09:00:00.000000Z"
    assert item["notification"]["status"] == ["BUYABLE", "DISCOVERABLE"]  # provenance of the write
    assert pipeline.outcomes.counts == {"written": 1, "stale": 1}


def test_given_empty_status_when_processed_then_empty_list_kept(pipeline: LocalPipeline) -> None:
    pipeline.emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[])
    pipeline.publish(notification("n-empty", []))
    pipeline.drain()

    assert listing(pipeline)["status"] == []


def test_given_eventbridge_event_body_on_the_queue_when_processed_then_same_result(
    pipeline: LocalPipeline,
) -> None:
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": "LISTINGS_ITEM_STATUS_CHANGE",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.test",
        "account": "123456789012",
        "time": "2025-02-03T18:59:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": NOTIFICATION,
    }

    pipeline.publish(json.dumps(event))
    pipeline.drain()

    assert listing(pipeline)["notification_id"] == "n-listing-1"


def test_given_stored_listing_when_deleted_then_flagged_and_history_kept(pipeline: LocalPipeline) -> None:
    pipeline.emulator.set_listing(SELLER, SKU, MARKETPLACE, last_updated="2025-02-03T18:58:00Z")
    pipeline.publish(notification("n-1", ["BUYABLE"]))
    pipeline.drain()

    pipeline.publish(notification("n-2", ["DELETED"], event_time="2025-02-04T10:00:00.000Z"))
    pipeline.drain()

    item = listing(pipeline)
    assert item["deleted"] is True
    assert item["status"] == ["DELETED"]
    assert item["summary"]["asin"]  # what was known before is still there
    assert item["deleted_at"] == "2025-02-04T10:00:00.000000Z"


def test_given_amazon_answers_404_when_processed_then_listing_flagged_deleted(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.delete_listing(SELLER, SKU, MARKETPLACE)

    pipeline.publish(notification("n-404", ["DISCOVERABLE"]))
    pipeline.drain()

    item = listing(pipeline)
    assert item["deleted"] is True and pipeline.dead_letters() == []
    assert item["status"] == ["DELETED"]
    assert item["notification"]["status"] == ["DISCOVERABLE"]


def test_given_newer_listing_stored_when_older_state_returned_then_not_overwritten(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_listing(
        SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated="2025-02-05T00:00:00Z"
    )
    pipeline.publish(notification("n-new", ["BUYABLE"]))
    pipeline.drain()
    pipeline.emulator.set_listing(SELLER, SKU, MARKETPLACE, status=[], last_updated="2025-02-01T00:00:00Z")

    pipeline.publish(notification("n-old", []))
    pipeline.drain()

    item = listing(pipeline)
    assert item["notification_id"] == "n-new" and item["summary"]["status"] == ["BUYABLE"]
    assert pipeline.outcomes.counts["stale"] == 1


def test_given_duplicate_listing_notification_then_applied_once(pipeline: LocalPipeline) -> None:
    for _ in range(3):
        pipeline.publish(notification("n-dup", ["BUYABLE"]))

    pipeline.drain()

    assert pipeline.emulator.calls["getListingsItem"] == 1
    assert pipeline.outcomes.counts == {"written": 1, "duplicate": 2}


CANADA = "A2EUQ1WTGCTBG2"


def without_marketplace(
    notification_id: str, status: list[str], event_time: str = "2025-02-03T18:59:30.194Z"
) -> str:
    document = json.loads(notification(notification_id, status, event_time))
    del document["Payload"]["MarketplaceId"]
    return json.dumps(document)


def test_given_no_marketplace_when_processed_then_stored_in_each_of_the_sellers_marketplaces_amazon_reports(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_marketplaces(SELLER, [MARKETPLACE, CANADA, "A1F83G8C2ARO7P"])
    pipeline.emulator.set_listing(
        SELLER, SKU, MARKETPLACE, status=["BUYABLE"], last_updated="2025-02-03T18:58:00Z"
    )
    pipeline.emulator.set_listing(SELLER, SKU, CANADA, status=[], last_updated="2025-02-03T18:57:00Z")

    pipeline.publish(without_marketplace("n-everywhere", ["BUYABLE"]))
    stats = pipeline.drain()

    assert stats.succeeded == 1 and pipeline.dead_letters() == []
    items = {item["marketplace_id"]: item for item in pipeline.table_items("listings")}
    assert set(items) == {MARKETPLACE, CANADA}  # the UK is another region's
    assert (items[MARKETPLACE]["status"], items[CANADA]["status"]) == (["BUYABLE"], [])
    assert items[CANADA]["pk"] == f"SELLER#{SELLER}#MARKETPLACE#{CANADA}"
    assert all(item["notification_id"] == "n-everywhere" for item in items.values())
    assert pipeline.emulator.calls["getListingsItem"] == 1
    # The seller's marketplaces are kept in the accounts table for the next event.
    [known] = [item for item in pipeline.table_items("accounts") if item["pk"] == f"SELLER#{SELLER}#NA"]
    assert [m["marketplace_id"] for m in known["marketplaces"]] == [MARKETPLACE, CANADA, "A1F83G8C2ARO7P"]

    pipeline.publish(without_marketplace("n-again", ["BUYABLE"], "2025-02-04T10:00:00.000Z"))
    pipeline.drain()

    assert pipeline.emulator.calls["getMarketplaceParticipations"] == 1


def test_given_no_marketplace_and_a_deletion_when_processed_then_flagged_deleted_where_amazon_lists_it_no_more(
    pipeline: LocalPipeline,
) -> None:
    pipeline.emulator.set_marketplaces(SELLER, [MARKETPLACE, CANADA])
    pipeline.emulator.set_listing(SELLER, SKU, MARKETPLACE, last_updated="2025-02-03T18:58:00Z")
    pipeline.emulator.set_listing(SELLER, SKU, CANADA, last_updated="2025-02-03T18:58:00Z")
    pipeline.publish(without_marketplace("n-listed", ["BUYABLE"]))
    pipeline.drain()
    pipeline.emulator.delete_listing(SELLER, SKU, CANADA)

    pipeline.publish(without_marketplace("n-deleted", ["DELETED"], "2025-02-04T10:00:00.000Z"))
    pipeline.drain()

    items = {item["marketplace_id"]: item for item in pipeline.table_items("listings")}
    assert items[MARKETPLACE]["deleted"] is False and items[MARKETPLACE]["notification_id"] == "n-listed"
    assert items[CANADA]["deleted"] is True and items[CANADA]["deleted_at"] == "2025-02-04T10:00:00.000000Z"
    assert pipeline.dead_letters() == []


def test_given_no_marketplace_for_a_seller_without_credentials_then_dead_lettered_as_unknown(
    pipeline: LocalPipeline,
) -> None:
    document = json.loads(without_marketplace("n-unknown", ["BUYABLE"]))
    document["Payload"]["SellerId"] = "AUNKNOWNSELLER1"

    pipeline.publish(json.dumps(document))
    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.reason, letter.notification_id) == ("unknown_seller", "n-unknown")
    assert pipeline.emulator.sp_api_calls() == {}


def test_given_type_spelled_as_in_amazons_schema_when_published_on_the_bus_then_it_reaches_the_queue(
    pipeline: LocalPipeline,
) -> None:
    document = copy.deepcopy(NOTIFICATION)
    document["NotificationType"] = "LISTINGS_ITEM_STATUS_CHANGED"
    document["NotificationMetadata"]["NotificationId"] = "n-changed"

    pipeline.publish(json.dumps(document))
    stats = pipeline.drain()

    assert stats.received == 1 and stats.succeeded == 1
    assert listing(pipeline)["notification_id"] == "n-changed"


def test_given_event_from_another_source_on_the_bus_then_the_rule_ignores_it(pipeline: LocalPipeline) -> None:
    pipeline.events.put_events(
        Entries=[
            {
                "Source": "aws.partner/some-other-partner.com/app",
                "DetailType": "LISTINGS_ITEM_STATUS_CHANGE",
                "Detail": json.dumps(NOTIFICATION),
                "EventBusName": pipeline.resources.event_bus,
            }
        ]
    )

    stats = pipeline.drain()

    assert stats.received == 0 and pipeline.table_items("listings") == []


_ = datetime, UTC


def deleted_notification(seller_id: str, marketplace_id: str, notification_id: str, sku: str = SKU) -> str:
    document = copy.deepcopy(NOTIFICATION)
    document["NotificationMetadata"]["NotificationId"] = notification_id
    document["Payload"].update(SellerId=seller_id, MarketplaceId=marketplace_id, Sku=sku, Status=["DELETED"])
    return json.dumps(document)


def test_given_ids_that_forge_a_key_when_deleted_then_both_dead_lettered_and_nothing_written(
    pipeline: LocalPipeline,
) -> None:
    pipeline.publish(deleted_notification("X#MARKETPLACE#ATVPDKIKX0DER", "A1F83G8C2ARO7P", "n-forged-seller"))
    pipeline.publish(deleted_notification("X", "ATVPDKIKX0DER#MARKETPLACE#A1F83G8C2ARO7P", "n-forged-market"))

    pipeline.drain()

    letters = {letter.notification_id: letter for letter in pipeline.dead_letters()}
    assert set(letters) == {"n-forged-seller", "n-forged-market"}
    assert all(letter.reason == "invalid_notification" for letter in letters.values())
    assert "SellerId" in letters["n-forged-seller"].detail
    assert "MarketplaceId" in letters["n-forged-market"].detail
    assert pipeline.table_items("listings") == []


def test_given_deletion_for_a_seller_without_credentials_then_dead_lettered_and_nothing_written(
    pipeline: LocalPipeline,
) -> None:
    pipeline.publish(deleted_notification("AUNKNOWNSELLER1", MARKETPLACE, "n-deleted-unknown"))

    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.notification_id, letter.reason, letter.seller_id) == (
        "n-deleted-unknown",
        "unknown_seller",
        "AUNKNOWNSELLER1",
    )
    assert pipeline.table_items("listings") == []


def test_given_skus_with_any_characters_when_stored_then_keys_unambiguous_and_sku_readable(
    pipeline: LocalPipeline,
) -> None:
    skus = ["A#B", "A%23B", "SKU/../1", " spaced ", "\u202ebidi\u200b"]
    for index, sku in enumerate(skus):
        pipeline.emulator.set_listing(SELLER, sku, MARKETPLACE, last_updated="2025-02-03T18:58:00Z")
        document = copy.deepcopy(NOTIFICATION)
        document["NotificationMetadata"]["NotificationId"] = f"n-sku-{index}"
        document["Payload"]["Sku"] = sku
        pipeline.publish(json.dumps(document))

    pipeline.drain()

    items = pipeline.table_items("listings")
    assert sorted(item["sku"] for item in items) == sorted(skus)
    assert len({item["sk"] for item in items}) == len(skus)
    assert {item["sk"] for item in items} >= {"SKU#A%23B", "SKU#A%2523B", "SKU#SKU%2F..%2F1"}
    assert all("#" not in item["sk"].removeprefix("SKU#") for item in items)
    assert pipeline.dead_letters() == []
