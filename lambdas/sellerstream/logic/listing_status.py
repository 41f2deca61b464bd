"""LISTINGS_ITEM_STATUS_CHANGE: fetch the listing from SP-API and store it unless newer is stored.

A stored listing is one version of Amazon's truth: every attribute a reader queries (``status``,
``asin``, offers, quantity, issues) comes from the getListingsItem response whose
``lastUpdatedDate`` is the version key the write is conditioned on. The notification often
describes an older state than the callback answers (deliveries are late and unordered), so what it
said (``Status``, ``Asin``) is kept only as provenance, under ``notification``. ``status`` is
stored as Amazon's summary gives it (an empty list means neither buyable nor discoverable).
``DELETED``, or a 404 from Amazon, flags the listing deleted instead of erasing it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sellerstream.domain.listings import ListingRecord
from sellerstream.errors import InvalidNotificationError
from sellerstream.identifiers import key_part
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
from sellerstream.ports import ListingStore, SellerDirectory
from sellerstream.spapi.errors import MalformedResponse, SpApiNotFound
from sellerstream.spapi.listings import ListingsApi
from sellerstream.timestamps import parse_rfc3339, sortable_timestamp

DELETED = "DELETED"


class ListingStatusUseCase:
    def __init__(self, directory: SellerDirectory, spapi: SpApiAccess, store: ListingStore):
        self._credentials = directory
        self._spapi = spapi
        self._store = store

    def apply(
        self, notification: ListingsItemStatusChangeNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        payload = notification.payload
        if not payload.marketplace_id:
            raise InvalidNotificationError(
                f"{notification.notification_type} has no MarketplaceId",
                notification_id=notification.notification_id,
            )
        provenance = {
            "notification_id": notification.notification_id,
            "stored_at": sortable_timestamp(datetime.now(UTC)),
            "notification": {
                "notification_id": notification.notification_id,
                "event_time": sortable_timestamp(notification.event_time),
                "status": list(payload.status),
                "asin": payload.asin,
            },
        }
        result = {"sku_key": key_part(payload.sku), "marketplace_id": payload.marketplace_id}
        # Before anything is written for this seller, even a deletion: an unknown seller is poison.
        seller = self._credentials.for_notification(
            seller_id=payload.seller_id,
            subscription_id=notification.subscription_id,
            marketplace_id=payload.marketplace_id,
        )
        if DELETED in payload.status:
            return {**result, **self._mark_deleted(notification, payload.marketplace_id, provenance)}
        listings = ListingsApi(self._spapi.client_for(seller, remaining_time))
        try:
            item = listings.get_listings_item(payload.seller_id, payload.sku, payload.marketplace_id)
        except SpApiNotFound:
            return {**result, **self._mark_deleted(notification, payload.marketplace_id, provenance)}
        summary = _summary_for(item, payload.marketplace_id)
        last_updated = _last_updated(summary)
        if last_updated is None:
            # Without Amazon's version of the listing there is nothing to order writes by; the
            # notification's time would pair an old version key with newer data. Retried.
            raise MalformedResponse("getListingsItem", "response has no summary with a lastUpdatedDate")
        record = ListingRecord(
            seller_id=payload.seller_id,
            marketplace_id=payload.marketplace_id,
            sku=payload.sku,
            last_updated=last_updated,
            attributes={**provenance, **_listing_attributes(item, summary)},
        )
        outcome = self._store.put_if_newer(record)
        return {**result, "outcome": outcome.value, "last_updated": sortable_timestamp(record.last_updated)}

    def _mark_deleted(
        self,
        notification: ListingsItemStatusChangeNotification,
        marketplace_id: str,
        provenance: dict[str, Any],
    ) -> dict[str, Any]:
        payload = notification.payload
        # The deletion (the notification's DELETED, or Amazon's 404) is this version's whole truth.
        outcome = self._store.mark_deleted(
            payload.seller_id,
            marketplace_id,
            payload.sku,
            as_of=notification.event_time,
            attributes={**provenance, "status": [DELETED]},
        )
        return {"outcome": outcome.value, "deleted": True}


def _listing_attributes(item: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """What readers query, all from one getListingsItem response."""
    availability = [entry for entry in item.get("fulfillmentAvailability", []) if isinstance(entry, dict)]
    quantities = [entry["quantity"] for entry in availability if isinstance(entry.get("quantity"), int)]
    return {
        "status": summary.get("status"),
        "asin": summary.get("asin"),
        "item_name": summary.get("itemName"),
        "summary": summary,
        "issues": item.get("issues", []),
        "offers": item.get("offers", []),
        "fulfillment_availability": availability,
        # Merchant-fulfilled quantity across channels; absent when Amazon gave none.
        "quantity": sum(quantities) if quantities else None,
    }


def _summary_for(item: dict[str, Any], marketplace_id: str) -> dict[str, Any]:
    summaries = [s for s in item.get("summaries", []) if isinstance(s, dict)]
    for summary in summaries:
        if summary.get("marketplaceId") == marketplace_id:
            return summary
    return summaries[0] if summaries else {}


def _last_updated(summary: dict[str, Any]) -> datetime | None:
    try:
        return parse_rfc3339(summary.get("lastUpdatedDate"))
    except ValueError:
        return None
