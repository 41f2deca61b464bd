"""Shipment requests over fakes: checked against what is stored, confirmed with Amazon (the emulator), kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredOrderItems, StoredPackage
from sellerstream.errors import UnknownSellerError
from sellerstream.logic.shipments import (
    AMBIGUOUS_PACKAGE,
    INCONSISTENT_SHIPMENT,
    UNKNOWN_ORDER_ITEMS,
    ShipmentRefusedError,
    ShipmentUseCase,
    confirm_shipment_body,
    new_package_reference,
)
from sellerstream.notifications.shipment_request import ShipmentRequest, parse_shipment_request
from sellerstream.spapi.errors import SpApiClientError
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.notifications_factory import shipment_request
from tests.support.fakes import FakePackageStore
from tests.unit.logic.conftest import SELLER

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ORDER = "902-1106328-1059050"
MARKETPLACE = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
FIRST, SECOND = "79039765272157", "79039765272158"
ITEMS = {FIRST: 2, SECOND: 1}


def plenty() -> float:
    return 300.0


def request(tracking: str = "1Z0001", **options: Any) -> ShipmentRequest:
    options.setdefault("request_id", f"req-{tracking}")
    body = shipment_request(
        seller_id=options.pop("seller_id", SELLER),
        order_id=ORDER,
        tracking_number=tracking,
        shipped_at=options.pop("shipped_at", T0),
        **options,
    )
    return parse_shipment_request(json.dumps(body))


def amazon_holds_the_order(emulator: SpApiEmulator, status: str = "Unshipped") -> None:
    emulator.set_order(
        ORDER,
        seller_id=SELLER,
        last_updated=T0,
        status=status,
        marketplace_id=MARKETPLACE,
        items=[{"order_item_id": item, "quantity": quantity} for item, quantity in ITEMS.items()],
    )


def stored_package(reference: str, items: dict[str, int], **values: Any) -> StoredPackage:
    fields: dict[str, Any] = {
        "seller_id": SELLER,
        "order_id": ORDER,
        "package_reference_id": reference,
        "marketplace_id": MARKETPLACE,
        "carrier_code": "UPS",
        "carrier_name": None,
        "shipping_method": None,
        "tracking_number": f"1Z-{reference}",
        "ship_date": "2026-11-30T12:00:00.000000Z",
        "items": items,
        "confirmed_at": "2026-11-30T12:05:00.000000Z",
        "updated_at": "2026-11-30T12:05:00.000000Z",
        "amazon_request_id": "amzn-req-earlier",
        "request_id": f"req-{reference}",
        "version": 1,
    }
    return StoredPackage(**{**fields, **values})


@pytest.fixture
def store() -> FakePackageStore:
    """The order is stored with its two items (its ORDER_CHANGE was processed)."""
    store = FakePackageStore()
    store.orders[(SELLER, ORDER)] = StoredOrderItems(MARKETPLACE, dict(ITEMS))
    return store


@pytest.fixture
def use_case(emulator, directory, spapi, store) -> ShipmentUseCase:
    amazon_holds_the_order(emulator)
    return ShipmentUseCase(directory, spapi, store)


def packages(store: FakePackageStore) -> dict[str, StoredPackage]:
    return {package.package_reference_id: package for package in store.packages_of(SELLER, ORDER)}


def drawn(shipment: ShipmentRequest) -> str:
    """The reference a request without one draws for a new package."""
    return new_package_reference(shipment)


def confirmations(emulator: SpApiEmulator) -> list[dict[str, Any]]:
    return emulator.orders.shipment_confirmations


# -- confirmed ---------------------------------------------------------------------------------------


def test_given_a_stored_order_when_shipped_without_reference_or_items_then_every_item_confirmed_in_one_package(
    emulator, use_case, store
) -> None:
    shipment = request("1Z0001", shipping_method="UPS Ground")
    result = use_case.apply(shipment, plenty)

    reference = drawn(shipment)
    assert result["outcome"] == "confirmed" and result["package_reference_id"] == reference
    assert result["amazon_order_id"] == ORDER and result["amazon_request_id"]
    [sent] = confirmations(emulator)
    assert sent["marketplaceId"] == MARKETPLACE
    assert sent["packageDetail"]["packageReferenceId"] == reference
    assert sent["packageDetail"]["shippingMethod"] == "UPS Ground"
    assert {entry["orderItemId"]: entry["quantity"] for entry in sent["packageDetail"]["orderItems"]} == ITEMS
    package = packages(store)[reference]
    assert (package.carrier_code, package.tracking_number, package.items) == ("UPS", "1Z0001", ITEMS)
    assert package.amazon_request_id == result["amazon_request_id"] and package.request_id == "req-1Z0001"
    assert package.confirmed_at == package.updated_at and package.version == 1
    assert package.ship_date == "2026-11-30T12:00:00.000000Z"
    assert emulator.catalog.get(ORDER).status == "Shipped"


def test_given_two_packages_for_different_items_when_shipped_then_each_its_reference_and_the_order_is_shipped(
    emulator, use_case, store
) -> None:
    one, two = request("1Z0001", items={FIRST: 2}), request("1Z0002", items={SECOND: 1})
    first = use_case.apply(one, plenty)
    assert emulator.catalog.get(ORDER).status == "PartiallyShipped"

    second = use_case.apply(two, plenty)

    assert (first["package_reference_id"], second["package_reference_id"]) == (drawn(one), drawn(two))
    assert {reference: package.items for reference, package in packages(store).items()} == {
        drawn(one): {FIRST: 2},
        drawn(two): {SECOND: 1},
    }
    assert emulator.catalog.get(ORDER).status == "Shipped"


def test_given_a_named_reference_when_shipped_then_that_reference_is_confirmed(
    emulator, use_case, store
) -> None:
    result = use_case.apply(
        request("1Z0001", package_reference_id="7", carrier_code="Other", carrier_name="Hermes"), plenty
    )

    assert result["package_reference_id"] == "7"
    [sent] = confirmations(emulator)
    assert sent["packageDetail"]["packageReferenceId"] == "7"
    assert (sent["packageDetail"]["carrierCode"], sent["packageDetail"]["carrierName"]) == ("Other", "Hermes")
    assert packages(store)["7"].carrier_name == "Hermes"


def test_given_an_order_not_stored_when_its_items_are_named_then_amazon_checks_them_and_it_is_confirmed(
    emulator, use_case, store
) -> None:
    store.orders.clear()

    shipment = request("1Z0001", items={FIRST: 1})
    result = use_case.apply(shipment, plenty)

    assert result["outcome"] == "confirmed"
    assert packages(store)[drawn(shipment)].items == {FIRST: 1}


def test_given_an_order_stored_without_its_marketplace_when_shipped_then_confirmed_in_the_requests(
    emulator, use_case, store
) -> None:
    store.orders[(SELLER, ORDER)] = StoredOrderItems(None, dict(ITEMS))

    shipment = request("1Z0001")
    result = use_case.apply(shipment, plenty)

    assert result["outcome"] == "confirmed" and packages(store)[drawn(shipment)].marketplace_id == MARKETPLACE


# -- updated or unchanged ------------------------------------------------------------------------------


def test_given_a_confirmed_package_when_tracking_is_corrected_without_reference_then_the_package_is_updated(
    emulator, use_case, store
) -> None:
    shipment = request("1Z0001")
    use_case.apply(shipment, plenty)
    reference = drawn(shipment)
    first = packages(store)[reference]

    result = use_case.apply(request("1Z0002-CORRECTED"), plenty)

    assert (result["outcome"], result["package_reference_id"]) == ("updated", reference)
    package = packages(store)[reference]
    assert package.tracking_number == "1Z0002-CORRECTED" and package.request_id == "req-1Z0002-CORRECTED"
    assert package.confirmed_at == first.confirmed_at and package.version == 2
    assert [sent["packageDetail"]["packageReferenceId"] for sent in confirmations(emulator)] == [
        reference
    ] * 2


def test_given_a_confirmed_package_when_updated_by_its_reference_then_the_same_package_changes(
    emulator, use_case, store
) -> None:
    use_case.apply(request("1Z0001", package_reference_id="3", items={FIRST: 1}), plenty)

    result = use_case.apply(
        request("1Z0001", package_reference_id="3", items={FIRST: 1}, carrier_code="DHL"), plenty
    )

    assert result["outcome"] == "updated"
    assert packages(store)["3"].carrier_code == "DHL" and packages(store)["3"].version == 2


@pytest.mark.parametrize(
    "change",
    [
        {"carrier_code": "FedEx"},
        {"carrier_name": "United Parcel"},
        {"shipping_method": "Next Day"},
        {"shipped_at": datetime(2026, 11, 30, 13, 0, tzinfo=UTC)},
    ],
)
def test_given_a_confirmed_package_when_any_shipment_detail_changes_then_amazon_is_told(
    emulator, use_case, store, change: dict[str, Any]
) -> None:
    use_case.apply(request("1Z0001"), plenty)

    result = use_case.apply(request("1Z0001", **change), plenty)

    assert result["outcome"] == "updated" and len(confirmations(emulator)) == 2


def test_given_a_request_that_changes_nothing_when_applied_then_acknowledged_without_a_call(
    emulator, use_case, store
) -> None:
    first = request("1Z0001", request_id="req-1")
    use_case.apply(first, plenty)

    result = use_case.apply(request("1Z0001", request_id="req-2"), plenty)

    reference = drawn(first)
    assert result == {"amazon_order_id": ORDER, "package_reference_id": reference, "outcome": "unchanged"}
    assert len(confirmations(emulator)) == 1
    assert packages(store)[reference].version == 1 and packages(store)[reference].request_id == "req-1"


# -- refused before any call ---------------------------------------------------------------------------


def refused(use_case: ShipmentUseCase, shipment: ShipmentRequest) -> ShipmentRefusedError:
    with pytest.raises(ShipmentRefusedError) as raised:
        use_case.apply(shipment, plenty)
    error = raised.value
    assert (error.notification_id, error.seller_id) == (shipment.request_id, shipment.seller_id)
    assert error.notification_type == "SHIPMENT_REQUEST"
    return error


def test_given_an_order_not_stored_and_no_items_named_when_shipped_then_refused_as_unknown_items(
    emulator, use_case, store
) -> None:
    store.orders.clear()

    error = refused(use_case, request("1Z0001"))

    assert error.reason == UNKNOWN_ORDER_ITEMS and "name them" in error.detail
    assert confirmations(emulator) == [] and store.packages == {}


def test_given_an_order_stored_without_items_and_no_items_named_when_shipped_then_refused_as_unknown_items(
    emulator, use_case, store
) -> None:
    store.orders[(SELLER, ORDER)] = StoredOrderItems(MARKETPLACE, {})

    assert refused(use_case, request("1Z0001")).reason == UNKNOWN_ORDER_ITEMS
    assert confirmations(emulator) == []


def test_given_another_marketplace_than_the_orders_when_shipped_then_refused(
    emulator, use_case, store
) -> None:
    error = refused(use_case, request("1Z0001", marketplace_id=UK))

    assert error.reason == INCONSISTENT_SHIPMENT and f"not the order's ({MARKETPLACE})" in error.detail
    assert confirmations(emulator) == [] and store.packages == {}


def test_given_items_the_order_does_not_have_when_shipped_then_refused_naming_them(
    emulator, use_case, store
) -> None:
    error = refused(use_case, request("1Z0001", items={FIRST: 1, "OTHER-ITEM": 1}))

    assert error.reason == INCONSISTENT_SHIPMENT and "OTHER-ITEM are not items of the order" in error.detail
    assert confirmations(emulator) == []


def test_given_a_confirmed_package_when_its_reference_ships_other_quantities_then_refused_and_kept(
    emulator, use_case, store
) -> None:
    use_case.apply(request("1Z0001", package_reference_id="7"), plenty)

    error = refused(use_case, request("1Z0002", package_reference_id="7", items={FIRST: 1}))

    assert error.reason == INCONSISTENT_SHIPMENT and "package 7 was confirmed with items" in error.detail
    assert len(confirmations(emulator)) == 1
    assert packages(store)["7"].tracking_number == "1Z0001"


def test_given_a_package_confirmed_in_another_marketplace_when_its_reference_is_shipped_then_refused(
    emulator, use_case, store
) -> None:
    store.orders.clear()  # nothing stored says which marketplace the order is in
    store.put(stored_package("7", {FIRST: 1}, marketplace_id=UK), expected_version=None)

    error = refused(use_case, request("1Z0002", package_reference_id="7", items={FIRST: 1}))

    assert error.reason == INCONSISTENT_SHIPMENT and f"confirmed in marketplace {UK}" in error.detail
    assert confirmations(emulator) == []


def test_given_two_packages_with_the_same_items_when_updated_without_reference_then_refused_as_ambiguous(
    emulator, use_case, store
) -> None:
    store.orders[(SELLER, ORDER)] = StoredOrderItems(MARKETPLACE, {FIRST: 2, SECOND: 1})
    store.put(stored_package("1", {FIRST: 1}), expected_version=None)
    store.put(stored_package("2", {FIRST: 1}), expected_version=None)

    error = refused(use_case, request("1Z0009", items={FIRST: 1}))

    assert error.reason == AMBIGUOUS_PACKAGE and "packages 1, 2" in error.detail
    assert confirmations(emulator) == []


def test_given_a_new_package_shipping_more_than_is_left_when_shipped_then_refused_counting_other_packages(
    emulator, use_case, store
) -> None:
    shipment = request("1Z0001", items={FIRST: 1})
    use_case.apply(shipment, plenty)

    error = refused(use_case, request("1Z0003", items={FIRST: 2}))

    assert error.reason == INCONSISTENT_SHIPMENT
    assert f"item {FIRST}: 2 more than the 1 already shipped exceeds the 2 ordered" in error.detail
    assert len(confirmations(emulator)) == 1 and set(packages(store)) == {drawn(shipment)}


def test_given_a_new_package_shipping_exactly_what_is_left_when_shipped_then_confirmed(
    emulator, use_case, store
) -> None:
    use_case.apply(request("1Z0001", items={FIRST: 1}), plenty)

    result = use_case.apply(request("1Z0003", items={FIRST: 1, SECOND: 1}), plenty)

    assert result["outcome"] == "confirmed" and emulator.catalog.get(ORDER).status == "Shipped"


def test_given_a_refused_request_for_a_seller_without_credentials_then_refused_without_needing_them(
    emulator, use_case, store
) -> None:
    store.orders[("AUNKNOWNSELLER1", ORDER)] = StoredOrderItems(MARKETPLACE, dict(ITEMS))

    error = refused(use_case, request("1Z0001", seller_id="AUNKNOWNSELLER1", marketplace_id=UK))

    assert error.reason == INCONSISTENT_SHIPMENT and error.seller_id == "AUNKNOWNSELLER1"


def test_given_a_consistent_request_for_a_seller_without_credentials_then_unknown_seller_and_no_call(
    emulator, directory, spapi
) -> None:
    store = FakePackageStore()  # nothing stored for this seller: the request names its items
    use_case = ShipmentUseCase(directory, spapi, store)

    with pytest.raises(UnknownSellerError):
        use_case.apply(request("1Z0001", seller_id="AUNKNOWNSELLER1", items={FIRST: 1}), plenty)

    assert confirmations(emulator) == [] and store.packages == {}


# -- Amazon's answer and the write ---------------------------------------------------------------------


def test_given_amazon_refuses_the_confirmation_then_its_error_and_nothing_stored(
    emulator, directory, spapi, store
) -> None:
    amazon_holds_the_order(emulator, status="Canceled")
    use_case = ShipmentUseCase(directory, spapi, store)

    with pytest.raises(SpApiClientError, match="InvalidInput"):
        use_case.apply(request("1Z0001"), plenty)

    assert store.packages == {}


class ChangedMeanwhile(FakePackageStore):
    """Another request for the same package is written between this one's read and its write."""

    def put(self, package: StoredPackage, *, expected_version: int | None) -> None:
        key = (package.seller_id, package.order_id, package.package_reference_id)
        theirs = self.packages.get(key)
        self.packages[key] = (theirs or package)._replace(
            tracking_number="1Z-THEIRS", version=(theirs.version if theirs else 0) + 1
        )
        super().put(package, expected_version=expected_version)


@pytest.mark.parametrize("existing", [False, True], ids=["new-package", "stored-package"])
def test_given_the_package_changed_while_amazon_confirmed_when_written_then_a_concurrent_update_and_theirs_kept(
    emulator, directory, spapi, existing: bool
) -> None:
    amazon_holds_the_order(emulator)
    store = ChangedMeanwhile()
    store.orders[(SELLER, ORDER)] = StoredOrderItems(MARKETPLACE, dict(ITEMS))
    shipment = request("1Z0002")
    reference = "1" if existing else drawn(shipment)
    if existing:
        FakePackageStore.put(store, stored_package(reference, dict(ITEMS)), expected_version=None)
    use_case = ShipmentUseCase(directory, spapi, store)

    with pytest.raises(ConcurrentPackageUpdateError):
        use_case.apply(shipment, plenty)

    assert packages(store)[reference].tracking_number == "1Z-THEIRS"


class LosesTheFirstWrite(FakePackageStore):
    """The container is killed between Amazon's acceptance and the package's write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def put(self, package: StoredPackage, *, expected_version: int | None) -> None:
        if not self.lost:
            self.lost = True
            raise RuntimeError("killed before the write")
        super().put(package, expected_version=expected_version)


def test_given_a_package_confirmed_but_not_stored_when_another_is_shipped_and_the_first_retried_then_both_kept(
    emulator, directory, spapi
) -> None:
    amazon_holds_the_order(emulator)
    store = LosesTheFirstWrite()
    store.orders[(SELLER, ORDER)] = StoredOrderItems(MARKETPLACE, dict(ITEMS))
    use_case = ShipmentUseCase(directory, spapi, store)
    first, second = request("1Z0001", items={FIRST: 2}), request("1Z0002", items={SECOND: 1})
    with pytest.raises(RuntimeError):
        use_case.apply(first, plenty)  # Amazon holds it; nothing stored says so

    use_case.apply(second, plenty)
    retried = use_case.apply(first, plenty)

    assert drawn(first) != drawn(second)
    assert retried["package_reference_id"] == drawn(first)
    assert [sent["packageDetail"]["packageReferenceId"] for sent in confirmations(emulator)] == [
        drawn(first),
        drawn(second),
        drawn(first),
    ]
    assert {reference: package.items for reference, package in packages(store).items()} == {
        drawn(first): {FIRST: 2},
        drawn(second): {SECOND: 1},
    }
    assert emulator.catalog.get(ORDER).status == "Shipped"


def test_given_requests_without_a_reference_then_each_draws_a_stable_positive_number_of_at_most_nine_digits() -> (
    None
):
    shipments = [request(f"1Z{index:04d}") for index in range(2000)]
    references = [drawn(shipment) for shipment in shipments]

    assert all(reference.isdigit() and 1 <= int(reference) <= 999_999_999 for reference in references)
    assert len(set(references)) == len(references)
    assert references == [drawn(shipment) for shipment in shipments]
    assert drawn(request("1Z0001", package_reference_id="7")) == "7"


def test_given_a_ship_date_with_microseconds_when_sent_then_amazons_millisecond_format() -> None:
    shipment = request("1Z0001", shipped_at=datetime(2026, 11, 30, 12, 0, 5, 123456, tzinfo=UTC))

    body = confirm_shipment_body(shipment, "4", {FIRST: 2})

    assert body == {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {
            "packageReferenceId": "4",
            "carrierCode": "UPS",
            "trackingNumber": "1Z0001",
            "shipDate": "2026-11-30T12:00:05.123Z",
            "orderItems": [{"orderItemId": FIRST, "quantity": 2}],
        },
    }
