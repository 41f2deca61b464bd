"""LISTINGS_ITEM_ISSUES_CHANGE (PascalCase envelope; delivered through EventBridge only).

One model reads both payload versions Amazon publishes a schema for: ``1.0``
(``ListingsItemIssuesChangeNotification.json``, deprecated by Amazon since 2024-09-25) and
``2023-12-13`` (``ListingsItemIssuesChangeNotification_2023-12-13.json``). Their payloads have the
same fields; the later one only stops enumerating ``EnforcementActions`` (it names
``LISTING_SUPPRESSED``, ``ATTRIBUTE_SUPPRESSED`` and ``CATALOG_ITEM_REMOVED`` beside 1.0's
``SEARCH_SUPPRESSED``, in its description). Both enumerations, and ``Severities``' (``NONE``,
``ERROR``, ``WARNING``), are kept open: Amazon adds values without a new version.

The notification says only that the issues changed: what they are comes from getListingsItem
(``sellerstream.logic.listing_issues``), so ``Severities`` and ``EnforcementActions`` are kept as
provenance. ``MarketplaceId`` and ``Asin`` are not required by either schema and may be left out.
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
    Word,
)

# The payload versions this model reads (the catalog declares them for the type).
PAYLOAD_VERSIONS = ("1.0", "2023-12-13")


class ListingsItemIssuesPayload(AmazonModel):
    seller_id: SellerId = Field(alias="SellerId")
    # Any characters (Amazon's rule): encoded where it becomes a key.
    sku: Sku = Field(alias="Sku")
    # "NONE" when no issue affects the listing; required by both schemas, in every example.
    severities: list[Word] = Field(alias="Severities", fail_fast=True)
    marketplace_id: MarketplaceId | None = Field(None, alias="MarketplaceId")
    asin: Asin | None = Field(None, alias="Asin")
    enforcement_actions: list[Word] | None = Field(None, alias="EnforcementActions", fail_fast=True)


class ListingsItemIssuesChangeNotification(PascalEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["LISTINGS_ITEM_ISSUES_CHANGE"] = Field(alias="NotificationType")
    payload: ListingsItemIssuesPayload = Field(alias="Payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.seller_id
