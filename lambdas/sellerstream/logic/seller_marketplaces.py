"""A seller's marketplaces: Amazon's getMarketplaceParticipations, kept in the seller directory.

Stored when the operator adds the seller; fetched again when the scheduled reconciliation finds
them older than a day, and when a listing event needs them and they are missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sellerstream.domain.credentials import MarketplaceParticipation, SellerCredentials, SellerMarketplaces
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.observability import logger
from sellerstream.ports import SellerDirectory
from sellerstream.spapi.errors import SpApiNotFound
from sellerstream.spapi.listings import ListingsApi
from sellerstream.spapi.sellers import SellersApi

# The scheduled reconciliation refreshes a seller's marketplaces at most this often.
REFRESH_AFTER: Final = timedelta(days=1)
# A listing event without a marketplace asks Amazon again, at most this often, when the stored
# marketplaces name none or none of them has the listing (the seller may have joined one since).
MARKETPLACES_RECHECK_AFTER: Final = timedelta(hours=1)


class SellerMarketplacesSource:
    def __init__(
        self, directory: SellerDirectory, spapi: SpApiAccess, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._directory = directory
        self._spapi = spapi
        self._clock = clock

    def known(
        self, seller: SellerCredentials, remaining_time: RemainingTime, *, max_age: timedelta | None = None
    ) -> tuple[SellerMarketplaces, bool]:
        """The stored marketplaces, fetched from Amazon first when missing (or older than
        ``max_age``); with whether they were fetched now."""
        stored = self._directory.marketplaces_of(seller.seller_key, seller.region)
        if stored is not None and (max_age is None or not stored.older_than(max_age, self.now())):
            return stored, False
        return self.refresh(seller, remaining_time), True

    def refresh(self, seller: SellerCredentials, remaining_time: RemainingTime) -> SellerMarketplaces:
        """Amazon's answer now, stored (unless a later one was stored meanwhile)."""
        payload = SellersApi(self._spapi.client_for(seller, remaining_time)).get_marketplace_participations()
        marketplaces = SellerMarketplaces(participations_of(payload, seller.seller_key), self.now())
        self._directory.save_marketplaces(seller.seller_key, seller.region, marketplaces)
        logger.info(
            "seller marketplaces refreshed",
            extra={
                "seller_id": seller.seller_key,
                "marketplaces": [p.marketplace_id for p in marketplaces.participations if p.participating],
            },
        )
        return marketplaces

    def listing_in_marketplaces(
        self,
        seller: SellerCredentials,
        sku: str,
        remaining_time: RemainingTime,
        included_data: tuple[str, ...],
    ) -> tuple[tuple[str, ...], dict[str, Any] | None]:
        """For a listing event without a marketplace: the marketplaces of the seller's region where
        its listings can be, and Amazon's answer for the listing in them (one getListingsItem with
        ``included_data``; None: Amazon knows it in none). The stored marketplaces are asked for
        again (at most every ``MARKETPLACES_RECHECK_AFTER``) when they name none, or when Amazon
        knows the listing in none of them. ((), None): the seller lists in no marketplace."""

        def fetch(marketplaces: tuple[str, ...]) -> dict[str, Any] | None:
            listings = ListingsApi(self._spapi.client_for(seller, remaining_time))
            try:
                return listings.get_listings_item(seller.seller_key, sku, marketplaces, included_data)
            except SpApiNotFound:
                return None

        known, fetched = self.known(seller, remaining_time)
        candidates = known.listing_marketplaces(seller.region)
        if not candidates and self._may_recheck(known, fetched):
            known, fetched = self.refresh(seller, remaining_time), True
            candidates = known.listing_marketplaces(seller.region)
        if not candidates:
            logger.warning(
                "listing event without a marketplace for a seller who lists in none: nothing to store",
                extra={"seller_id": seller.seller_key},
            )
            return (), None
        item = fetch(candidates)
        if item is None and self._may_recheck(known, fetched):
            more = self.refresh(seller, remaining_time).listing_marketplaces(seller.region)
            if set(more) - set(candidates):
                candidates = more
                item = fetch(candidates)
        return candidates, item

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _may_recheck(self, known: SellerMarketplaces, fetched: bool) -> bool:
        return not fetched and known.older_than(MARKETPLACES_RECHECK_AFTER, self.now())


def participations_of(
    payload: list[dict[str, Any]], seller_key: str = ""
) -> tuple[MarketplaceParticipation, ...]:
    """Amazon's ``payload`` as records; an entry without a marketplace id is left out (logged)."""
    found = []
    for entry in payload:
        marketplace = entry.get("marketplace")
        participation = entry.get("participation")
        marketplace_id = marketplace.get("id") if isinstance(marketplace, dict) else None
        if not isinstance(marketplace_id, str) or not marketplace_id:
            logger.warning(
                "getMarketplaceParticipations returned an entry without a marketplace id",
                extra={"seller_id": seller_key},
            )
            continue
        details = participation if isinstance(participation, dict) else {}
        country = marketplace.get("countryCode") if isinstance(marketplace, dict) else None
        found.append(
            MarketplaceParticipation(
                marketplace_id=marketplace_id,
                participating=details.get("isParticipating") is True,
                country_code=country if isinstance(country, str) and country else None,
                has_suspended_listings=details.get("hasSuspendedListings") is True,
            )
        )
    return tuple(found)
