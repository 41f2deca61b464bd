"""Shipped packages, as confirmed with Amazon, and what a stored order lets a shipment contain."""

from __future__ import annotations

from typing import NamedTuple

from sellerstream.errors import SellerStreamError


class ConcurrentPackageUpdateError(SellerStreamError):
    """Another request changed the package between our read and our write: retried (transient)."""


class StoredPackage(NamedTuple):
    seller_id: str
    order_id: str
    package_reference_id: str
    marketplace_id: str
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: str
    items: dict[str, int]  # order item id -> quantity
    confirmed_at: str  # when Amazon first accepted it
    updated_at: str  # when Amazon last accepted a change to it
    amazon_request_id: str | None  # Amazon's request id of the latest accepted confirmation
    request_id: str  # the caller's id of the latest request applied
    version: int = 1


class StoredOrderItems(NamedTuple):
    """What the stored order says a shipment may contain."""

    marketplace_id: str | None
    quantities: dict[str, int]  # order item id -> quantity ordered
