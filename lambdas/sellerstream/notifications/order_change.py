"""ORDER_CHANGE (PascalCase envelope, NotificationVersion 1.0).

Enumerations (OrderStatus, OrderChangeType, ...) are kept as plain strings: Amazon extends them
without notice, and an unfamiliar value must not send a valid order event to the DLQ. Ids, counts,
flags and timestamps have Amazon's types and shapes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AmazonModel,
    MarketplaceId,
    OpaqueId,
    OrderId,
    PascalEnvelope,
    SellerId,
    Sku,
    Timestamp,
)


class OrderChangeItem(AmazonModel):
    order_item_id: OpaqueId = Field(alias="OrderItemId")
    seller_sku: Sku = Field(alias="SellerSKU")
    # Required (but nullable) in Amazon's schema, yet left out of the schema's own Summary example.
    supply_source_id: OpaqueId | None = Field(None, alias="SupplySourceId")
    quantity: int = Field(alias="Quantity")
    order_item_status: str | None = Field(None, alias="OrderItemStatus")
    quantity_shipped: int | None = Field(None, alias="QuantityShipped")
    is_buyer_requested_cancel: bool | None = Field(None, alias="IsBuyerRequestedCancel")


class OrderChangeSummary(AmazonModel):
    marketplace_id: MarketplaceId = Field(alias="MarketplaceId")
    order_status: str = Field(alias="OrderStatus")
    purchase_date: Timestamp | None = Field(alias="PurchaseDate")
    # Buyer data: validated for shape, never logged.
    destination_postal_code: str | None = Field(alias="DestinationPostalCode", repr=False)
    fulfillment_type: str = Field(alias="FulfillmentType")
    order_type: str = Field(alias="OrderType")
    order_items: list[OrderChangeItem] = Field(alias="OrderItems", fail_fast=True)


class OrderChangeTrigger(AmazonModel):
    # Amazon documents this as nullable: it cannot order events on its own.
    time_of_order_change: Timestamp | None = Field(alias="TimeOfOrderChange")
    change_reason: str = Field(alias="ChangeReason")


class OrderChangeDetails(AmazonModel):
    notification_level: str = Field(alias="NotificationLevel")
    seller_id: SellerId = Field(alias="SellerId")
    amazon_order_id: OrderId = Field(alias="AmazonOrderId")
    order_change_type: str = Field(alias="OrderChangeType")
    trigger: OrderChangeTrigger = Field(alias="OrderChangeTrigger")
    summary: OrderChangeSummary = Field(alias="Summary")


class OrderChangePayload(AmazonModel):
    order_change: OrderChangeDetails = Field(alias="OrderChangeNotification")


class OrderChangeNotification(PascalEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["ORDER_CHANGE"] = Field(alias="NotificationType")
    payload: OrderChangePayload = Field(alias="Payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.order_change.seller_id

    @property
    def amazon_order_id(self) -> str:
        return self.payload.order_change.amazon_order_id
