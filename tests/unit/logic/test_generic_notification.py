"""Any other type: each entity stored by its natural key, the newest change winning, no callback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sellerstream.errors import InvalidNotificationError, UnknownSellerError
from sellerstream.logic.generic_notification import GenericNotificationUseCase
from sellerstream.notifications.generic import GenericNotification
from tests.support.fakes import FakeNotificationStore, FakeSellerDirectory
from tests.unit.notifications.test_generic import example


@pytest.fixture
def store() -> FakeNotificationStore:
    return FakeNotificationStore()


@pytest.fixture
def directory() -> FakeSellerDirectory:
    return FakeSellerDirectory()


@pytest.fixture
def use_case(directory: FakeSellerDirectory, store: FakeNotificationStore) -> GenericNotificationUseCase:
    return GenericNotificationUseCase(directory, store)


def offer_at(time: str, notification_id: str) -> GenericNotification:
    document = example("ANY_OFFER_CHANGED")
    document["Payload"]["AnyOfferChangedNotification"]["OfferChangeTrigger"]["TimeOfOfferChange"] = time
    document["NotificationMetadata"]["NotificationId"] = notification_id
    return GenericNotification.model_validate(document)


def test_given_an_offer_change_when_applied_then_stored_by_its_key_to_expire_after_its_retention(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    result = use_case.apply(offer_at("2026-12-01T10:00:00Z", "n-1"))

    assert result == {"notification_type": "ANY_OFFER_CHANGED", "stored": 1, "unchanged": 0}
    [record] = store.records.values()
    assert record.seller_key == "A3TH9S8BH6GOGM"
    assert record.key == {"marketplace_id": "ATVPDKIKX0DER", "asin": "123", "item_condition": "New"}
    assert record.expires_at - record.version == timedelta(days=7)
    assert record.data["AnyOfferChangedNotification"]["Summary"]


def test_given_changes_out_of_order_and_twice_when_applied_then_the_newest_stays(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    use_case.apply(offer_at("2026-12-01T10:05:00Z", "n-2"))

    older = use_case.apply(offer_at("2026-12-01T10:00:00Z", "n-1"))
    again = use_case.apply(offer_at("2026-12-01T10:05:00Z", "n-2"))

    assert older["unchanged"] == again["unchanged"] == 1
    [record] = store.records.values()
    assert record.notification_id == "n-2"


def test_given_a_type_naming_no_seller_when_applied_then_stored_for_the_subscriptions_seller(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore, directory: FakeSellerDirectory
) -> None:
    notification = GenericNotification.model_validate(example("ITEM_PRODUCT_TYPE_CHANGE"))
    directory.add("A1ROUTEDSELLER")
    directory.routes[notification.subscription_id] = "A1ROUTEDSELLER"

    use_case.apply(notification)

    [record] = store.records.values()
    assert record.seller_key == "A1ROUTEDSELLER"


def test_given_no_seller_and_an_unknown_subscription_when_applied_then_unknown_seller(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    with pytest.raises(UnknownSellerError):
        use_case.apply(GenericNotification.model_validate(example("ITEM_PRODUCT_TYPE_CHANGE")))

    assert store.records == {}


def test_given_a_key_part_that_cannot_be_stored_when_applied_then_poison_naming_the_path(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    document = example("FULFILLMENT_ORDER_STATUS")
    document["Payload"]["FulfillmentOrderStatusNotification"]["SellerFulfillmentOrderId"] = "x" * 300

    with pytest.raises(InvalidNotificationError, match="SellerFulfillmentOrderId"):
        use_case.apply(GenericNotification.model_validate(document))

    assert store.records == {}


def test_given_a_list_of_entities_when_applied_then_each_stored_once(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    document = example("ITEM_SALES_EVENT_CHANGE")
    changes = document["payload"]["itemSalesEventChanges"]
    changes.append({**changes[0], "asin": "B00000SECOND"})

    result = use_case.apply(GenericNotification.model_validate(document))

    assert result["stored"] == len(changes) == len(store.records)


def test_given_a_deployment_that_keeps_a_type_longer_when_applied_then_its_items_expire_then(
    directory: FakeSellerDirectory, store: FakeNotificationStore
) -> None:
    use_case = GenericNotificationUseCase(directory, store, retention_days={"ANY_OFFER_CHANGED": 2})

    use_case.apply(offer_at("2026-12-01T10:00:00Z", "n-1"))

    [record] = store.records.values()
    assert record.expires_at - record.version == timedelta(days=2)


def test_given_a_skus_fba_inventory_when_applied_then_one_item_per_marketplace_with_the_skus_fields(
    use_case: GenericNotificationUseCase, store: FakeNotificationStore
) -> None:
    result = use_case.apply(GenericNotification.model_validate(example("FBA_INVENTORY_AVAILABILITY_CHANGES")))

    assert result["stored"] == 2
    by_marketplace = {record.key["marketplace_id"]: record for record in store.records.values()}
    us = by_marketplace["ATVPDKIKX0DER"]
    assert us.key == {"sku": "SELLERSKU-1", "fnsku": "X001ABCDEF", "marketplace_id": "ATVPDKIKX0DER"}
    assert us.data["ASIN"] == "B00001ABCD" and us.data["FulfillmentInventory"]["Fulfillable"] == 50
    assert "FulfillmentInventoryByMarketplace" not in us.data  # each marketplace's entry on its own
    assert by_marketplace["A2EUQ1WTGCTBG2"].data["FulfillmentInventory"]["Fulfillable"] == 40
