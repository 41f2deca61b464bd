"""LISTINGS_ITEM_STATUS_CHANGE (PascalCase envelope; delivered through EventBridge only).

Amazon's JSON schema spells the type ``LISTINGS_ITEM_STATUS_CHANGED``; real traffic and Amazon's
own example say ``LISTINGS_ITEM_STATUS_CHANGE``. Both are accepted. An empty ``Status`` list is
meaningful (neither buyable nor discoverable), so it is required but may be empty.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AmazonModel,
    Asin,
    MarketplaceId,
    PascalEnvelope,
    SellerId,
    Sku,
    Timestamp,
    Word,
)


class ListingsItemStatusPayload(AmazonModel):
    seller_id: SellerId = Field(alias="SellerId")
    # Any characters (Amazon's rule): encoded where it becomes a key.
    sku: Sku = Field(alias="Sku")
    status: list[Word] = Field(alias="Status", fail_fast=True)
    marketplace_id: MarketplaceId | None = Field(None, alias="MarketplaceId")
    asin: Asin | None = Field(None, alias="Asin")
    created_date: Timestamp | None = Field(None, alias="CreatedDate")


class ListingsItemStatusChangeNotification(PascalEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["LISTINGS_ITEM_STATUS_CHANGE", "LISTINGS_ITEM_STATUS_CHANGED"] = Field(
        alias="NotificationType"
    )
    payload: ListingsItemStatusPayload = Field(alias="Payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.seller_id
