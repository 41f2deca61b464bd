"""LISTINGS_ITEM_STATUS_CHANGE: fetch the listing from SP-API and store it unless newer is stored.

A stored listing is one version of Amazon's truth: every attribute a reader queries (``status``,
``asin``, offers, quantity, issues) comes from the getListingsItem response whose
``lastUpdatedDate`` is the version key the write is conditioned on. The notification often
describes an older state than the callback answers (deliveries are late and unordered), so what it
said (``Status``, ``Asin``) is kept only as provenance, under ``notification``. ``status`` is
stored as Amazon's summary gives it (an empty list means neither buyable nor discoverable).
``DELETED``, or a 404 from Amazon, flags the listing deleted instead of erasing it.

Amazon may leave ``MarketplaceId`` out. Then the listing is fetched once for every marketplace the
seller lists in (getListingsItem takes a list; its answer has a summary per marketplace where the
listing exists) and stored in each marketplace Amazon reports it in. Where Amazon does not report
it, it is flagged deleted when the event says ``DELETED`` or Amazon knows the SKU nowhere (404),
and otherwise left alone. The seller's marketplaces come from the seller directory, fetched from
Amazon (getMarketplaceParticipations) first when missing, and again when none of them holds the
listing or the seller lists nowhere while what is known is over an hour old (a marketplace the
seller joined since).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sellerstream.domain.listings import ListingRecord
from sellerstream.identifiers import key_part
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.seller_marketplaces import SellerMarketplacesSource
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.listings_item_status_change import ListingsItemStatusChangeNotification
from sellerstream.ports import ListingStore, SellerDirectory
from sellerstream.spapi.errors import MalformedResponse, SpApiNotFound
from sellerstream.spapi.listings import DEFAULT_INCLUDED_DATA, ListingsApi
from sellerstream.timestamps import parse_rfc3339, sortable_timestamp

DELETED = "DELETED"
NO_MARKETPLACE: Final = "no_marketplace"  # the seller lists in no marketplace: nothing to store
NOT_LISTED: Final = "not_listed"  # Amazon does not report the listing in that marketplace


class ListingStatusUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        store: ListingStore,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self._credentials = directory
        self._spapi = spapi
        self._store = store
        self._marketplaces = SellerMarketplacesSource(directory, spapi, clock=clock)

    def apply(
        self, notification: ListingsItemStatusChangeNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        payload = notification.payload
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
        if not payload.marketplace_id:
            return self._apply_everywhere(notification, provenance, remaining_time)
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
        last_updated = last_updated_of(summary)
        if last_updated is None:
            # Without Amazon's version of the listing there is nothing to order writes by; the
            # notification's time would pair an old version key with newer data. Retried.
            raise MalformedResponse("getListingsItem", "response has no summary with a lastUpdatedDate")
        record = ListingRecord(
            seller_id=payload.seller_id,
            marketplace_id=payload.marketplace_id,
            sku=payload.sku,
            last_updated=last_updated,
            attributes={**provenance, **listing_attributes(item, summary)},
        )
        outcome = self._store.put_if_newer(record)
        return {**result, "outcome": outcome.value, "last_updated": sortable_timestamp(record.last_updated)}

    def _apply_everywhere(
        self,
        notification: ListingsItemStatusChangeNotification,
        provenance: dict[str, Any],
        remaining_time: RemainingTime,
    ) -> dict[str, Any]:
        """An event without a marketplace: Amazon's answer for each of the seller's marketplaces."""
        payload = notification.payload
        result: dict[str, Any] = {"sku_key": key_part(payload.sku), "marketplace_id": None}
        # Before anything is written or asked for this seller: an unknown seller is poison.
        seller = self._credentials.for_notification(
            seller_id=payload.seller_id, subscription_id=notification.subscription_id
        )
        candidates, item = self._marketplaces.listing_in_marketplaces(
            seller, payload.sku, remaining_time, DEFAULT_INCLUDED_DATA
        )
        if not candidates:
            return {**result, "marketplaces": {}, "outcome": NO_MARKETPLACE}
        reported = _reported_summaries(item, candidates) if item is not None else {}
        deleted_everywhere_else = item is None or DELETED in payload.status
        outcomes: dict[str, str] = {}
        deleted: list[str] = []
        for marketplace_id in candidates:
            if item is not None and marketplace_id in reported:
                summary, last_updated = reported[marketplace_id]
                attributes = listing_attributes(in_marketplace(item, marketplace_id), summary)
                record = ListingRecord(
                    seller_id=payload.seller_id,
                    marketplace_id=marketplace_id,
                    sku=payload.sku,
                    last_updated=last_updated,
                    attributes={**provenance, **attributes},
                )
                outcomes[marketplace_id] = self._store.put_if_newer(record).value
            elif deleted_everywhere_else:
                outcomes[marketplace_id] = self._mark_deleted(notification, marketplace_id, provenance)[
                    "outcome"
                ]
                deleted.append(marketplace_id)
            else:
                outcomes[marketplace_id] = NOT_LISTED
        written = any(outcome == "written" for outcome in outcomes.values())
        result.update(marketplaces=outcomes, outcome="written" if written else "stale")
        if deleted:
            result["deleted"] = deleted
        return result

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


def _reported_summaries(
    item: dict[str, Any], marketplaces: Sequence[str]
) -> dict[str, tuple[dict[str, Any], datetime]]:
    """Amazon's summary and version of the listing in each asked marketplace it reports it in.
    Without a summary of any of them, or one without its version, the answer is unusable (retried)."""
    found: dict[str, tuple[dict[str, Any], datetime]] = {}
    for summary in item.get("summaries", []):
        if not isinstance(summary, dict) or summary.get("marketplaceId") not in marketplaces:
            continue
        last_updated = last_updated_of(summary)
        if last_updated is None:
            raise MalformedResponse("getListingsItem", "a summary has no lastUpdatedDate")
        found.setdefault(str(summary["marketplaceId"]), (summary, last_updated))
    if not found:
        raise MalformedResponse("getListingsItem", "response has no summary of the marketplaces asked for")
    return found


def in_marketplace(item: dict[str, Any], marketplace_id: str) -> dict[str, Any]:
    """The answer as one marketplace's: offers of other marketplaces left out."""
    offers = item.get("offers")
    if not isinstance(offers, list):
        return item
    return {
        **item,
        "offers": [
            offer
            for offer in offers
            if not isinstance(offer, dict) or offer.get("marketplaceId") in (None, marketplace_id)
        ],
    }


def listing_attributes(item: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """What readers query, all from one getListingsItem (or searchListingsItems) item."""
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


def last_updated_of(summary: dict[str, Any]) -> datetime | None:
    """Amazon's version of the listing in a summary's marketplace (None: absent or unreadable)."""
    try:
        return parse_rfc3339(summary.get("lastUpdatedDate"))
    except ValueError:
        return None
