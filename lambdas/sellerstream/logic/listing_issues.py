"""LISTINGS_ITEM_ISSUES_CHANGE: the listing's issues, read again from SP-API into the listings table.

The notification says only that a listing's issues changed (its ``Severities`` and
``EnforcementActions`` are kept as provenance): what they are is Amazon's getListingsItem answer,
read with what every stored listing holds (summaries, issues, offers, fulfillment availability:
one call either way) and stored under the listings table's one rule: every attribute of a stored
listing comes from one answer, versioned by its summary's ``lastUpdatedDate``.

- **A newer version** of the listing than the stored one (or none stored) is stored whole, as
  LISTINGS_ITEM_STATUS_CHANGE's callback stores it (``logic.listing_status``).
- **The same version**: Amazon changes a listing's issues without touching its ``lastUpdatedDate``
  (amzn/selling-partner-api-models#4566), so only the issues are replaced, and only with a later
  read than the stored issues' (``ListingStore.refresh_issues``): ``last_updated`` stays, and no
  other attribute of the version moves. A late callback never puts older issues back.
- **An older version** changes nothing (``stale``).
- **Not found** (404): flagged deleted as of the event, as a status change's callback does.

Amazon may leave ``MarketplaceId`` out. Then, as for status changes, the listing is read once for
every marketplace the seller lists in, and each marketplace Amazon reports it in gets its summary,
its offers and its own issues (an issue names the marketplaces it applies to; one naming none
applies to all). A listing Amazon knows nowhere is flagged deleted in each; one Amazon does not
report in a marketplace is left alone there (``not_listed``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.identifiers import key_part
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.listing_status import (
    DELETED,
    NO_MARKETPLACE,
    NOT_LISTED,
    _reported_summaries,
    _summary_for,
    in_marketplace,
    last_updated_of,
    listing_attributes,
)
from sellerstream.logic.seller_marketplaces import SellerMarketplacesSource
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.listings_item_issues_change import ListingsItemIssuesChangeNotification
from sellerstream.ports import ListingStore, SellerDirectory
from sellerstream.spapi.errors import MalformedResponse, SpApiNotFound
from sellerstream.spapi.listings import DEFAULT_INCLUDED_DATA, ListingsApi
from sellerstream.timestamps import sortable_timestamp

ISSUES_WRITTEN = "issues_written"  # the stored version's issues replaced by a later read's
# What getListingsItem is asked for: the issues, and the rest of a stored version with them (what
# every listing is read with: one rule for the table).
INCLUDED_DATA = tuple(dict.fromkeys((*DEFAULT_INCLUDED_DATA, "issues")))


class ListingIssuesUseCase:
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
        self._clock = clock
        self._marketplaces = SellerMarketplacesSource(directory, spapi, clock=clock)

    def apply(
        self, notification: ListingsItemIssuesChangeNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        payload = notification.payload
        if not payload.marketplace_id:
            return self._apply_everywhere(notification, remaining_time)
        result = {"sku_key": key_part(payload.sku), "marketplace_id": payload.marketplace_id}
        # Before anything is written or asked for this seller: an unknown seller is poison.
        seller = self._credentials.for_notification(
            seller_id=payload.seller_id,
            subscription_id=notification.subscription_id,
            marketplace_id=payload.marketplace_id,
        )
        listings = ListingsApi(self._spapi.client_for(seller, remaining_time))
        try:
            item = listings.get_listings_item(
                payload.seller_id, payload.sku, payload.marketplace_id, INCLUDED_DATA
            )
        except SpApiNotFound:
            return {**result, **self._mark_deleted(notification, payload.marketplace_id, self._now())}
        # When Amazon answered (after any wait for the rate budget): what the answer is as of.
        read_at = self._now()
        summary = _summary_for(item, payload.marketplace_id)
        last_updated = last_updated_of(summary)
        if last_updated is None:
            # Without Amazon's version of the listing there is nothing to order writes by. Retried.
            raise MalformedResponse("getListingsItem", "response has no summary with a lastUpdatedDate")
        outcome = self._store_answer(
            notification,
            payload.marketplace_id,
            issues_in(item, payload.marketplace_id),
            summary,
            last_updated,
            read_at,
        )
        return {**result, "outcome": outcome, "last_updated": sortable_timestamp(last_updated)}

    def _apply_everywhere(
        self, notification: ListingsItemIssuesChangeNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        """An event without a marketplace: Amazon's answer for each of the seller's marketplaces."""
        payload = notification.payload
        result: dict[str, Any] = {"sku_key": key_part(payload.sku), "marketplace_id": None}
        # Before anything is written or asked for this seller: an unknown seller is poison.
        seller = self._credentials.for_notification(
            seller_id=payload.seller_id, subscription_id=notification.subscription_id
        )
        candidates, item = self._marketplaces.listing_in_marketplaces(
            seller, payload.sku, remaining_time, INCLUDED_DATA
        )
        if not candidates:
            return {**result, "marketplaces": {}, "outcome": NO_MARKETPLACE}
        read_at = self._now()  # when Amazon answered: what the answer is as of
        reported = _reported_summaries(item, candidates) if item is not None else {}
        outcomes: dict[str, str] = {}
        deleted: list[str] = []
        for marketplace_id in candidates:
            if item is not None and marketplace_id in reported:
                summary, last_updated = reported[marketplace_id]
                outcomes[marketplace_id] = self._store_answer(
                    notification,
                    marketplace_id,
                    issues_in(item, marketplace_id),
                    summary,
                    last_updated,
                    read_at,
                )
            elif item is None:
                outcomes[marketplace_id] = self._mark_deleted(notification, marketplace_id, read_at)[
                    "outcome"
                ]
                deleted.append(marketplace_id)
            else:
                outcomes[marketplace_id] = NOT_LISTED
        written = any(outcome in (WriteOutcome.WRITTEN, ISSUES_WRITTEN) for outcome in outcomes.values())
        result.update(marketplaces=outcomes, outcome=WriteOutcome.WRITTEN.value if written else "stale")
        if deleted:
            result["deleted"] = deleted
        return result

    def _store_answer(
        self,
        notification: ListingsItemIssuesChangeNotification,
        marketplace_id: str,
        item: dict[str, Any],
        summary: dict[str, Any],
        last_updated: datetime,
        read_at: datetime,
    ) -> str:
        """A newer version whole; the same version's issues when read later than the stored ones."""
        payload = notification.payload
        attributes = listing_attributes(item, summary)
        record = ListingRecord(
            seller_id=payload.seller_id,
            marketplace_id=marketplace_id,
            sku=payload.sku,
            last_updated=last_updated,
            attributes={**_provenance(notification, read_at), **attributes},
        )
        if self._store.put_if_newer(record) is WriteOutcome.WRITTEN:
            return WriteOutcome.WRITTEN.value
        refreshed = self._store.refresh_issues(
            payload.seller_id,
            marketplace_id,
            payload.sku,
            version=last_updated,
            observed_at=read_at,
            issues=attributes["issues"],
            attributes={"issues_notification": _told(notification)},
        )
        return ISSUES_WRITTEN if refreshed is WriteOutcome.WRITTEN else WriteOutcome.STALE.value

    def _mark_deleted(
        self, notification: ListingsItemIssuesChangeNotification, marketplace_id: str, read_at: datetime
    ) -> dict[str, Any]:
        """Amazon's 404: the listing is gone (as of the event, as a status change's 404 says)."""
        payload = notification.payload
        outcome = self._store.mark_deleted(
            payload.seller_id,
            marketplace_id,
            payload.sku,
            as_of=notification.event_time,
            attributes={**_provenance(notification, read_at), "status": [DELETED]},
        )
        return {"outcome": outcome.value, "deleted": True}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def issues_in(item: dict[str, Any], marketplace_id: str) -> dict[str, Any]:
    """The answer as one marketplace's: its offers (``in_marketplace``) and its issues, those whose
    ``marketplaceIds`` name it or that name none (Amazon's Issue may name the stores it applies to)."""
    item = in_marketplace(item, marketplace_id)
    issues = item.get("issues")
    if not isinstance(issues, list):
        return item
    return {
        **item,
        "issues": [
            issue
            for issue in issues
            if not isinstance(issue, dict)
            or not isinstance(issue.get("marketplaceIds"), list)
            or marketplace_id in issue["marketplaceIds"]
        ],
    }


def _told(notification: ListingsItemIssuesChangeNotification) -> dict[str, Any]:
    """What the notification said, kept beside Amazon's answer."""
    payload = notification.payload
    return {
        "notification_id": notification.notification_id,
        "notification_type": notification.notification_type,
        "event_time": sortable_timestamp(notification.event_time),
        "severities": list(payload.severities),
        "enforcement_actions": list(payload.enforcement_actions)
        if payload.enforcement_actions is not None
        else None,
        "asin": payload.asin,
    }


def _provenance(notification: ListingsItemIssuesChangeNotification, read_at: datetime) -> dict[str, Any]:
    # ``stored_at`` is when Amazon answered with the stored version: what a later read of its
    # issues, or a quantity notification, is compared with.
    return {
        "notification_id": notification.notification_id,
        "stored_at": sortable_timestamp(read_at),
        "notification": _told(notification),
    }
