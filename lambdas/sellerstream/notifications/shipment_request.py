"""Shipment requests: what a seller's own systems send to the fulfillment queue.

The body mirrors the package detail of Orders v0 ``confirmShipment`` (Amazon's camelCase names),
wrapped in ``{"shipment": {...}}`` so it can never be mistaken for a notification. It is our own
format, so it is closed: an unknown or misspelt field (``trackingNo``) is refused rather than
ignored, because a shipment confirmed without the field the caller meant cannot be taken back.

Strict as the notification models are: strings are strings, a quantity is a JSON integer, the ship
date is RFC 3339 with an offset, ids have Amazon's shapes (``sellerstream.identifiers``). Every
failure is an ``InvalidShipmentRequestError`` (poison: copied to the DLQ with its reason), whose
detail names fields, never their values (a tracking number is the buyer's parcel).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final, NamedTuple

from pydantic import ConfigDict, Field, StringConstraints, ValidationError, model_validator

from sellerstream import identifiers
from sellerstream.errors import InvalidNotificationError
from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AmazonModel,
    MarketplaceId,
    OpaqueId,
    OrderId,
    SellerId,
    Timestamp,
)
from sellerstream.notifications.envelope import describe_validation_error

# The type every shipment request is logged, counted and keyed for idempotency under.
SHIPMENT_REQUEST: Final = "SHIPMENT_REQUEST"
# Amazon's model: "Identifies the carrier ... Required when carrierCode is Other" (carrierName).
OTHER_CARRIER: Final = "Other"
MAX_ORDER_ITEMS: Final = 100

# Amazon: "a seller-supplied identifier that uniquely identifies a package within the scope of an
# order. Only positive numeric values are supported."
PACKAGE_REFERENCE_ID: Final = r"[1-9][0-9]{0,17}"
PackageReferenceId = Annotated[str, StringConstraints(pattern=rf"^{PACKAGE_REFERENCE_ID}$", max_length=18)]
# Carrier codes and names, shipping methods, tracking numbers: free text at Amazon ("FedEx Ground",
# "Royal Mail 24"), here printable ASCII without the key separator, bounded.
CarrierText = Annotated[str, StringConstraints(pattern=r"^[\x20-\x22\x24-\x7e]{1,100}$")]
TrackingNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$")]


class InvalidShipmentRequestError(InvalidNotificationError):
    reason = "invalid_shipment_request"


class _ShipmentModel(AmazonModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=False)


class ShipmentOrderItem(_ShipmentModel):
    order_item_id: OpaqueId = Field(alias="orderItemId")
    quantity: int = Field(alias="quantity", ge=1, le=100_000)


class ShipmentRequest(_ShipmentModel):
    request_id: OpaqueId = Field(alias="requestId")
    seller_id: SellerId = Field(alias="sellerId")
    marketplace_id: MarketplaceId = Field(alias="marketplaceId")
    amazon_order_id: OrderId = Field(alias="amazonOrderId")
    package_reference_id: PackageReferenceId | None = Field(None, alias="packageReferenceId")
    carrier_code: CarrierText = Field(alias="carrierCode")
    carrier_name: CarrierText | None = Field(None, alias="carrierName")
    shipping_method: CarrierText | None = Field(None, alias="shippingMethod")
    tracking_number: TrackingNumber = Field(alias="trackingNumber")
    ship_date: Timestamp = Field(alias="shipDate")
    # None: every item of the stored order, in its ordered quantity.
    order_items: list[ShipmentOrderItem] | None = Field(
        None, alias="orderItems", min_length=1, max_length=MAX_ORDER_ITEMS, fail_fast=True
    )

    @model_validator(mode="after")
    def _amazons_rules(self) -> ShipmentRequest:
        if self.carrier_code == OTHER_CARRIER and not self.carrier_name:
            raise ValueError(f"carrierName is required when carrierCode is {OTHER_CARRIER!r}")
        if self.order_items is not None:
            ids = [item.order_item_id for item in self.order_items]
            if len(set(ids)) != len(ids):
                raise ValueError("orderItems names an orderItemId more than once")
        return self

    # What the batch logs and keys every record by (the shape of a notification).
    @property
    def notification_type(self) -> str:
        return SHIPMENT_REQUEST

    @property
    def notification_id(self) -> str:
        return self.request_id

    @property
    def event_time(self) -> datetime | None:
        # A request carries no time of its own: its lag is counted from when it entered the queue.
        return None

    def items_by_id(self) -> dict[str, int] | None:
        if self.order_items is None:
            return None
        return {item.order_item_id: item.quantity for item in self.order_items}


class ShipmentMessage(_ShipmentModel):
    model_config = WHOLE_NOTIFICATION

    shipment: ShipmentRequest = Field(alias="shipment")


class ShipmentDelivery(NamedTuple):
    """One message of the fulfillment queue, as the batch processes it."""

    notification: ShipmentRequest

    @property
    def idempotency_key(self) -> str:
        return f"{SHIPMENT_REQUEST}#{self.notification.request_id}"


def parse_shipment_delivery(body: str, *, continuation_part: str | None = None) -> ShipmentDelivery:
    """The request in a fulfillment queue body, or an ``InvalidShipmentRequestError``."""
    if continuation_part is not None:
        raise InvalidShipmentRequestError("a shipment request has no continuation parts")
    return ShipmentDelivery(parse_shipment_request(body))


def parse_shipment_request(body: str) -> ShipmentRequest:
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise InvalidShipmentRequestError("body is not acceptable JSON") from None
    context = _context(document)
    if not isinstance(document, dict) or "shipment" not in document:
        raise InvalidShipmentRequestError('body is not {"shipment": {...}}', **context)
    try:
        return ShipmentMessage.model_validate(document).shipment
    except ValidationError as error:
        raise InvalidShipmentRequestError(
            f"shipment request does not match its format: {describe_validation_error(error)}", **context
        ) from None
    except RecursionError:
        raise InvalidShipmentRequestError("shipment request is nested too deeply", **context) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _context(document: Any) -> dict[str, str | None]:
    """The request id and seller of a body that may not validate, when they have the right shape."""
    shipment = document.get("shipment") if isinstance(document, dict) else None
    if not isinstance(shipment, dict):
        return {"notification_type": SHIPMENT_REQUEST}
    request_id, seller_id = shipment.get("requestId"), shipment.get("sellerId")
    return {
        "notification_id": request_id if identifiers.is_notification_id(request_id) else None,
        "notification_type": SHIPMENT_REQUEST,
        "seller_id": seller_id if identifiers.is_seller_id(seller_id) else None,
    }
