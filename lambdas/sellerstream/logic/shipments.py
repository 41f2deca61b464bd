"""Shipment requests: confirm a package with Orders v0 ``confirmShipment`` and keep it with its order.

Every request is checked against what is stored before Amazon is called:

- The package: the one the request names (``packageReferenceId``), else the one stored package of
  the order with exactly the requested items (a tracking update from a caller that did not keep the
  reference), else a new one, whose reference is a number drawn from the request's id (Amazon
  accepts positive numbers only). The reference is in the result, the log line and the stored package.
- A later request for a stored package must ship the same items in the same quantities and
  marketplace as its first confirmation; a new package must not ship an item the stored order does
  not have, nor more than was ordered across the order's packages. Anything else is refused
  (``ShipmentRefusedError``: the DLQ with its reason, a log line, ``ShipmentsRefused``) without a call.
- A request that changes nothing about the stored package (same carrier, method, tracking number,
  ship date) is acknowledged without a call. The same request delivered again is absorbed earlier,
  by idempotency on its ``requestId``.

The call draws from the seller's shared rate budget like every other operation, so a spent quota
defers the record (``logic.deferral``). The package is written only after Amazon accepted it, on
the version it was decided on; if another request changed it meanwhile the record is retried and
decides again on what is stored then.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sellerstream import metric_names
from sellerstream.domain.packages import StoredOrderItems, StoredPackage
from sellerstream.errors import PermanentFailureError
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.shipment_request import ShipmentRequest
from sellerstream.observability import MetricUnit, metrics
from sellerstream.ports import PackageStore, SellerDirectory
from sellerstream.spapi.orders import OrdersApi
from sellerstream.timestamps import sortable_timestamp

# Refusal reasons (the DLQ copy's sellerstream-reason attribute).
INCONSISTENT_SHIPMENT = "inconsistent_shipment"
UNKNOWN_ORDER_ITEMS = "unknown_order_items"
AMBIGUOUS_PACKAGE = "ambiguous_package"

REFERENCE_RANGE = 999_999_999  # a new package's reference is 1 to this


class ShipmentRefusedError(PermanentFailureError):
    """A shipment request that contradicts what is stored: refused before any call to Amazon."""


class ShipmentUseCase:
    def __init__(self, directory: SellerDirectory, spapi: SpApiAccess, store: PackageStore) -> None:
        self._credentials = directory
        self._spapi = spapi
        self._store = store

    def apply(self, request: ShipmentRequest, remaining_time: RemainingTime) -> dict[str, Any]:
        packages = self._store.packages_of(request.seller_id, request.amazon_order_id)
        order = self._store.order_items(request.seller_id, request.amazon_order_id)
        items = _requested_items(request, order)
        existing = _package_for(request, packages, items)
        reference = existing.package_reference_id if existing else new_package_reference(request)
        result: dict[str, Any] = {
            "amazon_order_id": request.amazon_order_id,
            "package_reference_id": reference,
        }
        if existing is not None and _same_shipment(existing, request):
            return {**result, "outcome": "unchanged"}
        if existing is None:
            _check_quantities(request, order, packages, items)
        # Only now, with a request that is consistent: the seller's credentials and the call.
        seller = self._credentials.for_notification(
            seller_id=request.seller_id, subscription_id="", marketplace_id=request.marketplace_id
        )
        orders = OrdersApi(self._spapi.client_for(seller, remaining_time))
        amazon_request_id = orders.confirm_shipment(
            request.amazon_order_id, confirm_shipment_body(request, reference, items)
        )
        now = sortable_timestamp(datetime.now(UTC))
        package = StoredPackage(
            seller_id=request.seller_id,
            order_id=request.amazon_order_id,
            package_reference_id=reference,
            marketplace_id=request.marketplace_id,
            carrier_code=request.carrier_code,
            carrier_name=request.carrier_name,
            shipping_method=request.shipping_method,
            tracking_number=request.tracking_number,
            ship_date=sortable_timestamp(request.ship_date),
            items=items,
            confirmed_at=existing.confirmed_at if existing else now,
            updated_at=now,
            amazon_request_id=amazon_request_id,
            request_id=request.request_id,
            version=existing.version + 1 if existing else 1,
        )
        self._store.put(package, expected_version=existing.version if existing else None)
        outcome = "updated" if existing else "confirmed"
        metrics.add_metric(
            name=metric_names.SHIPMENTS_UPDATED if existing else metric_names.SHIPMENTS_CONFIRMED,
            unit=MetricUnit.Count,
            value=1,
        )
        return {**result, "outcome": outcome, "amazon_request_id": amazon_request_id}


def confirm_shipment_body(request: ShipmentRequest, reference: str, items: dict[str, int]) -> dict[str, Any]:
    """Amazon's ``ConfirmShipmentRequest`` for the request and its resolved package."""
    detail: dict[str, Any] = {
        "packageReferenceId": reference,
        "carrierCode": request.carrier_code,
        "trackingNumber": request.tracking_number,
        "shipDate": request.ship_date.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{request.ship_date.microsecond // 1000:03d}Z",
        "orderItems": [{"orderItemId": item, "quantity": quantity} for item, quantity in items.items()],
    }
    if request.carrier_name is not None:
        detail["carrierName"] = request.carrier_name
    if request.shipping_method is not None:
        detail["shippingMethod"] = request.shipping_method
    return {"marketplaceId": request.marketplace_id, "packageDetail": detail}


def _refuse(request: ShipmentRequest, reason: str, detail: str) -> ShipmentRefusedError:
    metrics.add_metric(name=metric_names.SHIPMENTS_REFUSED, unit=MetricUnit.Count, value=1)
    return ShipmentRefusedError(
        reason,
        f"order {request.amazon_order_id}: {detail}",
        notification_id=request.request_id,
        notification_type=request.notification_type,
        seller_id=request.seller_id,
    )


def _requested_items(request: ShipmentRequest, order: StoredOrderItems | None) -> dict[str, int]:
    """The items the request ships (all of the stored order's when it names none), checked against
    the stored order when there is one."""
    requested = request.items_by_id()
    if requested is None:
        if order is None or not order.quantities:
            raise _refuse(
                request,
                UNKNOWN_ORDER_ITEMS,
                "orderItems is omitted and the order is not stored with its items: name them",
            )
        requested = dict(order.quantities)
    if order is not None:
        if order.marketplace_id and order.marketplace_id != request.marketplace_id:
            raise _refuse(
                request,
                INCONSISTENT_SHIPMENT,
                f"marketplaceId {request.marketplace_id} is not the order's ({order.marketplace_id})",
            )
        unknown = sorted(set(requested) - set(order.quantities)) if order.quantities else []
        if unknown:
            raise _refuse(request, INCONSISTENT_SHIPMENT, f"{', '.join(unknown)} are not items of the order")
    return requested


def _package_for(
    request: ShipmentRequest, packages: list[StoredPackage], items: dict[str, int]
) -> StoredPackage | None:
    """The stored package the request updates, or None for a new package."""
    if request.package_reference_id is not None:
        named = next((p for p in packages if p.package_reference_id == request.package_reference_id), None)
        if named is not None and named.items != items:
            raise _refuse(
                request,
                INCONSISTENT_SHIPMENT,
                f"package {named.package_reference_id} was confirmed with items {_describe(named.items)}, "
                f"not {_describe(items)}",
            )
        if named is not None and named.marketplace_id != request.marketplace_id:
            raise _refuse(
                request,
                INCONSISTENT_SHIPMENT,
                f"package {named.package_reference_id} was confirmed in marketplace {named.marketplace_id}",
            )
        return named
    matching = [package for package in packages if package.items == items]
    if len(matching) > 1:
        references = ", ".join(sorted(package.package_reference_id for package in matching))
        raise _refuse(
            request,
            AMBIGUOUS_PACKAGE,
            f"packages {references} hold these items: name the one to update with packageReferenceId",
        )
    return matching[0] if matching else None


def new_package_reference(request: ShipmentRequest) -> str:
    """The named reference, else a number drawn from the request's own id.

    Drawn, not counted: a package is stored only once Amazon accepted it, so "the order's next
    number" would give two packages decided meanwhile (or one whose write was lost) the same
    reference, and Amazon refuses the second. The same request always draws the same number, so a
    retried one updates its own package. Nine digits keep it within a 32-bit integer; two of an
    order's packages meet with odds of about one in 10**9 per pair (Amazon would refuse the second).
    """
    if request.package_reference_id is not None:
        return request.package_reference_id
    digest = hashlib.sha256(f"{request.amazon_order_id}#{request.request_id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % REFERENCE_RANGE + 1)


def _check_quantities(
    request: ShipmentRequest,
    order: StoredOrderItems | None,
    packages: list[StoredPackage],
    items: dict[str, int],
) -> None:
    """A new package must not ship more of an item than the order holds, counting its other packages."""
    if order is None or not order.quantities:
        return  # Amazon checks what we cannot
    for item, quantity in sorted(items.items()):
        shipped = sum(package.items.get(item, 0) for package in packages)
        if shipped + quantity > order.quantities[item]:
            raise _refuse(
                request,
                INCONSISTENT_SHIPMENT,
                f"item {item}: {quantity} more than the {shipped} already shipped exceeds the "
                f"{order.quantities[item]} ordered",
            )


def _same_shipment(package: StoredPackage, request: ShipmentRequest) -> bool:
    return (
        package.carrier_code == request.carrier_code
        and package.carrier_name == request.carrier_name
        and package.shipping_method == request.shipping_method
        and package.tracking_number == request.tracking_number
        and package.ship_date == sortable_timestamp(request.ship_date)
    )


def _describe(items: dict[str, int]) -> str:
    return "[" + ", ".join(f"{item} x{quantity}" for item, quantity in sorted(items.items())) + "]"
