"""LISTINGS_ITEM_MFN_QUANTITY_CHANGE: a stored listing's seller-fulfilled quantity, without a callback.

The notification is the whole state of what it describes: a SKU's quantity in one fulfillment
channel as of its ``EventTime``. It is written into the SKU's stored listings
(``ListingStore.update_mfn_quantity``) when it is newer than what they know of that quantity: an
earlier notification of the channel, else the getListingsItem read their version came from. The
channel's ``fulfillment_availability`` entry and the listing's ``quantity`` then say what the
notification said, ``mfn_quantity`` records it by channel, and ``quantity_updated_at`` tells when.

- **Versions stay Amazon's.** ``last_updated`` (the listing's ``lastUpdatedDate``, which orders
  whole versions) is never moved: a quantity cannot make a stored listing look newer than the
  getListingsItem answer it came from, so the next newer version still replaces it whole. The
  quantity that version brings was read later than the notification, or it would not be newer.
- **Older, equal, duplicate** events change nothing (``stale``).
- **Only stored listings.** A listing the table does not hold is not created (``not_stored``): an
  item without Amazon's version would have nothing to order the first full read against, and the
  notification names no marketplace to create it in. The first status or issues notification's
  callback, or the listings reconciliation, stores it with Amazon's quantity as of its read, which
  is later than this event. A listing flagged deleted is left alone too.
- **Marketplaces.** The payload names none: the quantity is the SKU's in the seller's own network,
  so every stored listing of the SKU in the seller's region gets it (each of Amazon's marketplaces
  of that region is looked at; no SP-API call is made).
"""

from __future__ import annotations

from typing import Any, Final

from sellerstream.domain.orders import WriteOutcome
from sellerstream.identifiers import key_part
from sellerstream.logic.batch import RemainingTime
from sellerstream.notifications.listings_item_mfn_quantity_change import (
    ListingsItemMfnQuantityChangeNotification,
)
from sellerstream.ports import ListingStore, SellerDirectory
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region
from sellerstream.timestamps import sortable_timestamp

NOT_STORED: Final = "not_stored"  # no live listing of the SKU is stored in the seller's region


def region_marketplaces(region: Region) -> tuple[str, ...]:
    """Amazon's marketplaces of a region, in Amazon's order."""
    return tuple(marketplace for marketplace, of in MARKETPLACE_REGIONS.items() if of is region)


class ListingQuantityUseCase:
    def __init__(self, directory: SellerDirectory, store: ListingStore):
        self._credentials = directory
        self._store = store

    def apply(
        self, notification: ListingsItemMfnQuantityChangeNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        payload = notification.payload
        # Before anything is written for this seller: an unknown seller is poison. Its region says
        # where its listings can be.
        seller = self._credentials.for_notification(
            seller_id=payload.seller_id, subscription_id=notification.subscription_id
        )
        outcomes = self._store.update_mfn_quantity(
            payload.seller_id,
            payload.sku,
            region_marketplaces(seller.region),
            channel=payload.fulfillment_channel_code,
            quantity=payload.quantity,
            as_of=notification.event_time,
            notification_id=notification.notification_id,
        )
        if not outcomes:
            outcome = NOT_STORED
        elif WriteOutcome.WRITTEN in outcomes.values():
            outcome = WriteOutcome.WRITTEN.value
        else:
            outcome = WriteOutcome.STALE.value
        return {
            "sku_key": key_part(payload.sku),
            "fulfillment_channel_code": payload.fulfillment_channel_code,
            "quantity": payload.quantity,
            "event_time": sortable_timestamp(notification.event_time),
            "marketplaces": {marketplace: written.value for marketplace, written in outcomes.items()},
            "outcome": outcome,
        }
