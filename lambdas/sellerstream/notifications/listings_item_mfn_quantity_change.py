"""LISTINGS_ITEM_MFN_QUANTITY_CHANGE (PascalCase envelope, payload version 1.0; EventBridge only).

The seller-fulfilled (MFN) quantity of a SKU in one fulfillment channel, as of ``EventTime``: the
whole state of that quantity, so no callback is needed (``sellerstream.logic.listing_quantity``).
The payload names no marketplace. Every payload field is required by Amazon's schema and present
in its example. ``FulfillmentChannelCode`` ("DEFAULT" for the seller's own network) is an open
token; ``Quantity`` a JSON integer, never negative (Amazon's listings model bounds a
fulfillment channel's quantity at 0) and within a 32-bit integer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AmazonModel,
    OpaqueId,
    PascalEnvelope,
    SellerId,
    Sku,
)

MAX_QUANTITY = 2**31 - 1


class ListingsItemMfnQuantityPayload(AmazonModel):
    seller_id: SellerId = Field(alias="SellerId")
    # Channel codes are tokens ("DEFAULT", "AMAZON_NA", a seller's supply source code): kept open.
    fulfillment_channel_code: OpaqueId = Field(alias="FulfillmentChannelCode")
    # Any characters (Amazon's rule): encoded where it becomes a key.
    sku: Sku = Field(alias="Sku")
    quantity: int = Field(alias="Quantity", ge=0, le=MAX_QUANTITY)


class ListingsItemMfnQuantityChangeNotification(PascalEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["LISTINGS_ITEM_MFN_QUANTITY_CHANGE"] = Field(alias="NotificationType")
    payload: ListingsItemMfnQuantityPayload = Field(alias="Payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.seller_id
