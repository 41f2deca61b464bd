"""Listings reconciliation: what listing notifications missed is repaired from searchListingsItems.

For one seller and a window ``[since, until]`` the use case pages Listings Items 2021-08-01
``searchListingsItems`` in each marketplace the seller lists in, by ``lastUpdatedAfter`` ..
``lastUpdatedBefore``, oldest update first, 20 listings a page with what getListingsItem includes,
and stores each listing through the same conditional write as a notification's callback: a
listing missing or older in the table is refreshed, a newer one is left alone.

- **Marketplaces.** The seller's, from the seller directory: fetched from Amazon when missing, and
  by the schedule when older than a day (a failed refresh keeps the known ones).
- **Budget.** Every page draws from the seller's shared searchListingsItems budget (its own plan,
  beside searchOrders'). When it has no slot soon, the run stops cleanly at its checkpoint and says
  when to resume.
- **Amazon's 1000.** A search pages through at most 1000 listings. When a window holds more, its
  last page is followed by the rest of the window from the newest update seen (pages are oldest
  first), so every listing is reached (listings updated at that same moment are read twice).
- **Checkpoints.** One per seller and marketplace in the rate budget table beside the orders'
  (``RECONCILE_LISTINGS#<app>#<seller>#<region>#<marketplace>`` for the schedule; a window run by
  hand has its bounds in its key), resumed and continued like the orders'.
- **Deletions.** A search finds only listings that exist: deletions are the notifications' part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sellerstream import identifiers, metric_names
from sellerstream.domain.credentials import SellerCredentials, SellerMarketplaces
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import BacklogWindow, WriteOutcome
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.listing_status import in_marketplace, last_updated_of, listing_attributes
from sellerstream.logic.order_search import SEARCH_SETTLE_SECONDS
from sellerstream.logic.reconcile import (
    RECONCILED_SOURCE,
    SLOT_WAIT_SECONDS,
    STOPPED_ELSEWHERE,
    STOPPED_ERROR,
    STOPPED_RATE_BUDGET,
    STOPPED_TIME,
    ReconcileRequestError,
)
from sellerstream.logic.seller_marketplaces import REFRESH_AFTER, SellerMarketplacesSource
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import ListingStore, SearchWindows, SellerDirectory
from sellerstream.spapi.client import SAFETY_MARGIN_SECONDS
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import RateBudgetExhausted, SpApiError, SpApiThrottled
from sellerstream.spapi.listings import SEARCH_PAGE_SIZE_LIMIT, ListingsApi, ListingsPage
from sellerstream.spapi.ratelimit import CappedWait
from sellerstream.timestamps import sortable_timestamp

SEARCH_LISTINGS: Final = "listings/2021-08-01:searchListingsItems"
# A page stores up to 20 listings: do not start one with less time than this left.
LISTINGS_PAGE_TIME_SECONDS: Final = 5.0
CHECKPOINT_PREFIX: Final = "RECONCILE_LISTINGS#"


@dataclass
class MarketplaceListingsResult:
    """One marketplace's window in a run: its counts, and whether it is done."""

    marketplace_id: str
    since: datetime
    until: datetime
    pages: int = 0
    listings_seen: int = 0
    listings_refreshed: int = 0
    calls: int = 0  # searchListingsItems requests (a request the client retried counts once)
    complete: bool = False
    stopped: str | None = None
    resume_in_seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["since"], result["until"] = _rfc3339(self.since), _rfc3339(self.until)
        return result


@dataclass
class ListingsReconcileResult:
    """One seller's run over its marketplaces (counts added up; done when every one is)."""

    seller_id: str
    since: datetime
    until: datetime
    marketplaces: list[MarketplaceListingsResult] = field(default_factory=list)
    marketplaces_refreshed: bool = False  # the seller's marketplaces were fetched from Amazon
    error: str | None = None  # the seller's run failed before its marketplaces' windows
    region: str | None = None  # the SP-API region (NA, EU, FE) of those marketplaces

    @property
    def complete(self) -> bool:
        return self.error is None and all(result.complete for result in self.marketplaces)

    @property
    def stopped(self) -> str | None:
        if self.error is not None:
            return STOPPED_ERROR
        return next((result.stopped for result in self.marketplaces if result.stopped), None)

    def as_dict(self) -> dict[str, Any]:
        waits = [r.resume_in_seconds for r in self.marketplaces if r.resume_in_seconds is not None]
        return {
            "seller_id": self.seller_id,
            "region": self.region,
            "since": _rfc3339(self.since),
            "until": _rfc3339(self.until),
            "pages": sum(result.pages for result in self.marketplaces),
            "listings_seen": sum(result.listings_seen for result in self.marketplaces),
            "listings_refreshed": sum(result.listings_refreshed for result in self.marketplaces),
            "calls": sum(result.calls for result in self.marketplaces),
            "complete": self.complete,
            "stopped": self.stopped,
            "resume_in_seconds": max(waits) if waits else None,
            "error": self.error,
            "marketplaces_refreshed": self.marketplaces_refreshed,
            "marketplaces": [result.as_dict() for result in self.marketplaces],
        }


class ListingsReconcileUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        store: ListingStore,
        checkpoints: SearchWindows,
        *,
        overlap_seconds: int = 900,
        first_window_seconds: int = 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._overlap = timedelta(seconds=overlap_seconds)
        self._first_window = timedelta(seconds=first_window_seconds)
        self._credentials = directory
        self._spapi = spapi
        self._store = store
        self._checkpoints = checkpoints
        self._marketplaces = SellerMarketplacesSource(directory, spapi, clock=clock)
        self._clock = clock

    # -- entry points ----------------------------------------------------------------------------
    def latest_until(self) -> datetime:
        """The latest ``until`` of a window: a little before now, as the orders' (Amazon's search
        trails its updates)."""
        return (self.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)

    def reconcile(
        self,
        seller_id: str,
        since: datetime,
        until: datetime | None,
        remaining_time: RemainingTime,
        region: Region | None = None,
    ) -> ListingsReconcileResult:
        """One seller's listings over ``[since, until]`` in each of its marketplaces of ``region``
        (None: its first region; until: capped like the orders'; None: as late as allowed).
        Running the same window again resumes it."""
        if since.tzinfo is None or (until is not None and until.tzinfo is None):
            raise ReconcileRequestError("since and until must carry a time zone offset")
        latest = self.latest_until()
        window_until = (
            (min(until, latest) if until is not None else latest).astimezone(UTC).replace(microsecond=0)
        )
        window_since = since.astimezone(UTC).replace(microsecond=0)
        if window_since >= window_until:
            raise ReconcileRequestError(
                f"nothing to reconcile: since {_rfc3339(window_since)} is not before until "
                f"{_rfc3339(window_until)} (until is at most {SEARCH_SETTLE_SECONDS:.0f} s before now)"
            )
        credentials = self._credentials.for_seller(seller_id, region)
        known, fetched = self._marketplaces.known(credentials, remaining_time)
        result = ListingsReconcileResult(
            credentials.seller_key,
            window_since,
            window_until,
            marketplaces_refreshed=fetched,
            region=credentials.region.name,
        )
        bounds = f"#{sortable_timestamp(window_since)}#{sortable_timestamp(window_until)}"
        keys = {
            marketplace_id: self._key(credentials, marketplace_id) + bounds
            for marketplace_id in known.listing_marketplaces(credentials.region)
        }
        # The same window again: paged again once every marketplace finished it; until then each
        # unfinished marketplace resumes and the finished ones are left as they are.
        again = all(self._finished(key, window_since, window_until) for key in keys.values())
        for marketplace_id, key in keys.items():
            outcome = self._run(
                credentials,
                key,
                marketplace_id,
                window_since,
                window_until,
                remaining_time,
                restart_done=again,
            )
            result.marketplaces.append(outcome)
            if outcome.stopped in (STOPPED_TIME, STOPPED_RATE_BUDGET):
                break  # the other marketplaces wait for the same time or budget
        return result

    def reconcile_scheduled(
        self, seller_id: str, remaining_time: RemainingTime, region: Region | None = None
    ) -> ListingsReconcileResult:
        """One seller's marketplaces in ``region`` (None: its first region), each from its own
        checkpoint (minus the overlap) to now; the
        seller's marketplaces are refreshed first when older than a day. A failure is counted,
        logged and left for the next run: the seller's result says which, never raises."""
        until = self.latest_until()
        try:
            credentials = self._credentials.for_seller(seller_id, region)
            known, refreshed = self._current_marketplaces(credentials, remaining_time)
        except Exception as error:
            _count_failure(error, seller_id)
            return ListingsReconcileResult(
                seller_id, until, until, error=type(error).__name__, region=region and region.name
            )
        result = ListingsReconcileResult(
            credentials.seller_key,
            until,
            until,
            marketplaces_refreshed=refreshed,
            region=credentials.region.name,
        )
        for marketplace_id in known.listing_marketplaces(credentials.region):
            if remaining_time() - SAFETY_MARGIN_SECONDS < LISTINGS_PAGE_TIME_SECONDS:
                result.marketplaces.append(
                    MarketplaceListingsResult(marketplace_id, until, until, stopped=STOPPED_TIME)
                )
                break
            try:
                outcome = self._scheduled_marketplace(credentials, marketplace_id, until, remaining_time)
            except Exception as error:
                # One marketplace's failure is counted and logged; the others still run.
                _count_failure(error, credentials.seller_key, marketplace_id)
                outcome = MarketplaceListingsResult(
                    marketplace_id, until, until, stopped=STOPPED_ERROR, error=type(error).__name__
                )
            result.marketplaces.append(outcome)
            if outcome.stopped in (STOPPED_TIME, STOPPED_RATE_BUDGET):
                break
        if result.marketplaces:
            result.since = min(outcome.since for outcome in result.marketplaces)
        return result

    # -- the seller's marketplaces ---------------------------------------------------------------
    def _current_marketplaces(
        self, credentials: SellerCredentials, remaining_time: RemainingTime
    ) -> tuple[SellerMarketplaces, bool]:
        stored = self._credentials.marketplaces_of(credentials.seller_key, credentials.region)
        if stored is not None and not stored.older_than(REFRESH_AFTER, self.now()):
            return stored, False
        try:
            return self._marketplaces.refresh(credentials, remaining_time), True
        except SpApiError as error:
            if stored is None:
                raise
            logger.warning(
                "the seller's marketplaces could not be refreshed: the known ones are reconciled",
                extra={"seller_id": credentials.seller_key, "reason": type(error).__name__},
            )
            return stored, False

    def _scheduled_marketplace(
        self,
        credentials: SellerCredentials,
        marketplace_id: str,
        until: datetime,
        remaining_time: RemainingTime,
    ) -> MarketplaceListingsResult:
        key = self._key(credentials, marketplace_id)
        total: MarketplaceListingsResult | None = None
        for _ in range(2):  # an unfinished window first, then the new one
            window = self._checkpoints.load(key)
            if window is not None and not window.done:
                since, window_until = window.after, window.before
            elif window is not None and window.before >= until:
                break  # reconciled up to now already
            else:
                since = window.before - self._overlap if window else until - self._first_window
                window_until = until
            result = self._run(
                credentials, key, marketplace_id, since, window_until, remaining_time, restart_done=False
            )
            if total is None:
                total = result
            else:
                for name in ("pages", "listings_seen", "listings_refreshed", "calls"):
                    setattr(total, name, getattr(total, name) + getattr(result, name))
                total.until, total.complete, total.stopped = result.until, result.complete, result.stopped
                total.resume_in_seconds = result.resume_in_seconds
            if not result.complete:
                break
        if total is None:
            total = MarketplaceListingsResult(marketplace_id, until, until, complete=True)
        return total

    # -- one marketplace's window ----------------------------------------------------------------
    def _run(
        self,
        credentials: SellerCredentials,
        key: str,
        marketplace_id: str,
        since: datetime,
        until: datetime,
        remaining_time: RemainingTime,
        *,
        restart_done: bool,
    ) -> MarketplaceListingsResult:
        result = MarketplaceListingsResult(marketplace_id, since, until)
        window = self._open(key, since, until, remaining_time, restart_done=restart_done)
        if window is None:
            result.stopped = STOPPED_ELSEWHERE
            return result
        seller_key = credentials.seller_key
        budget = self._spapi.rate_budget(credentials)
        # A page's call waits for its slot at most SLOT_WAIT_SECONDS: past that it raises
        # RateBudgetExhausted before sending, and the run stops at its checkpoint.
        capped = CappedWait(budget, SEARCH_LISTINGS, SLOT_WAIT_SECONDS)
        api = ListingsApi(self._spapi.client_for(credentials, remaining_time, budget=capped))
        current: BacklogWindow | None = window
        try:
            while current is not None and not current.done:
                if remaining_time() - SAFETY_MARGIN_SECONDS < LISTINGS_PAGE_TIME_SECONDS:
                    result.stopped = STOPPED_TIME
                    break
                try:
                    page = api.search_listings_items_page(
                        seller_key,
                        marketplace_id,
                        last_updated_after=current.after,
                        last_updated_before=current.before,
                        page_token=current.next_token,
                        page_size=SEARCH_PAGE_SIZE_LIMIT,
                    )
                except (RateBudgetExhausted, SpApiThrottled) as error:
                    if isinstance(error, SpApiThrottled):
                        result.calls += 1  # Amazon answered 429; exhausted: no slot, nothing sent
                    result.stopped = STOPPED_RATE_BUDGET
                    result.resume_in_seconds = round(budget.next_slot_in(seller_key, SEARCH_LISTINGS), 1)
                    break
                result.calls += 1
                seen, refreshed, newest = self._store_page(seller_key, marketplace_id, page)
                result.pages += 1
                result.listings_seen += seen
                result.listings_refreshed += refreshed
                metrics.add_metric(name=metric_names.RECONCILE_LISTINGS_PAGES, unit=MetricUnit.Count, value=1)
                metrics.add_metric(
                    name=metric_names.RECONCILE_LISTINGS_REFRESHED, unit=MetricUnit.Count, value=refreshed
                )
                current = self._checkpoints.advance(
                    key, current, next_token=page.next_token, orders_stored=refreshed
                )
                if current is not None and current.done and _truncated(page, current, newest):
                    assert newest is not None  # _truncated says so
                    current = self._checkpoints.start(
                        key,
                        after=newest,
                        before=current.before,
                        previous=current,
                        lease_seconds=self._lease_seconds(remaining_time),
                    )
                elif current is not None and not current.done:
                    current = self._checkpoints.claim(key, current, self._lease_seconds(remaining_time))
                if current is None:
                    result.stopped = STOPPED_ELSEWHERE
        except Exception:
            self._release(key, current)
            raise
        if current is not None and current.done:
            result.complete, result.stopped = True, None
        else:
            self._release(key, current)
        logger.info(
            "listings reconciliation run",
            extra={
                "seller_id": seller_key,
                "marketplace_id": marketplace_id,
                "since": _rfc3339(since),
                "until": _rfc3339(until),
                "pages": result.pages,
                "listings_seen": result.listings_seen,
                "listings_refreshed": result.listings_refreshed,
                "complete": result.complete,
                "stopped": result.stopped,
            },
        )
        return result

    def _store_page(
        self, seller_key: str, marketplace_id: str, page: ListingsPage
    ) -> tuple[int, int, datetime | None]:
        """Stores each listing of a page unless the table holds it at the same or a newer version;
        returns the listings seen, those written, and the newest update on the page."""
        seen = refreshed = 0
        newest: datetime | None = None
        stored_at = sortable_timestamp(self.now())
        for item in page.items:
            sku = item.get("sku")
            summary = next(
                (
                    s
                    for s in item.get("summaries", [])
                    if isinstance(s, dict) and s.get("marketplaceId") == marketplace_id
                ),
                None,
            )
            last_updated = last_updated_of(summary) if summary is not None else None
            if (
                not isinstance(sku, str)
                or identifiers.sku_problem(sku)
                or summary is None
                or last_updated is None
            ):
                # The SKU becomes a key (the same check as a notification's); the version orders writes.
                logger.warning(
                    "searchListingsItems returned an unusable listing",
                    extra={"seller_id": seller_key, "marketplace_id": marketplace_id},
                )
                continue
            seen += 1
            newest = max(newest, last_updated) if newest is not None else last_updated
            record = ListingRecord(
                seller_id=seller_key,
                marketplace_id=marketplace_id,
                sku=sku,
                last_updated=last_updated,
                attributes={
                    "stored_at": stored_at,
                    "source": RECONCILED_SOURCE,
                    **listing_attributes(in_marketplace(item, marketplace_id), summary),
                },
            )
            if self._store.put_if_newer(record) is WriteOutcome.WRITTEN:
                refreshed += 1
        return seen, refreshed, newest

    def _open(
        self, key: str, since: datetime, until: datetime, remaining_time: RemainingTime, *, restart_done: bool
    ) -> BacklogWindow | None:
        """The window leased to this run (resumed when unfinished: a window continued past Amazon's
        1000 starts later than ``since``); None when another run holds it."""
        lease = self._lease_seconds(remaining_time)
        window = self._checkpoints.load(key)
        same = window is not None and window.before == until and since <= window.after
        if window is not None and same and not window.done:
            return self._checkpoints.claim(key, window, lease)
        if window is not None and window.leased(self._clock()):
            return None
        if window is not None and same and window.done and not restart_done:
            return window
        return self._checkpoints.start(key, after=since, before=until, previous=window, lease_seconds=lease)

    def _finished(self, key: str, since: datetime, until: datetime) -> bool:
        window = self._checkpoints.load(key)
        return window is not None and window.done and window.before == until and since <= window.after

    def _release(self, key: str, window: BacklogWindow | None) -> None:
        if window is not None and not window.done and window.leased(self._clock()):
            self._checkpoints.release(key, window)

    def _key(self, credentials: SellerCredentials, marketplace_id: str) -> str:
        application_id = self._credentials.lwa_app().client_id
        return f"{CHECKPOINT_PREFIX}{application_id}#{credentials.seller_key}#{credentials.region.value}#{marketplace_id}"

    def _lease_seconds(self, remaining_time: RemainingTime) -> float:
        return max(remaining_time(), 1.0)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _count_failure(error: Exception, seller_id: str, marketplace_id: str | None = None) -> None:
    metrics.add_metric(name=metric_names.RECONCILE_FAILURES, unit=MetricUnit.Count, value=1)
    logger.exception(
        "listings reconciliation failed: it resumes at its checkpoint next run",
        extra={"seller_id": seller_id, "marketplace_id": marketplace_id, "reason": type(error).__name__},
    )


def _truncated(page: ListingsPage, window: BacklogWindow, newest: datetime | None) -> bool:
    """Whether the window's last page left listings Amazon would not page to (past its 1000: the
    search found more than its pages held) that a window from the newest update seen can reach."""
    paged = (window.pages - 1) * SEARCH_PAGE_SIZE_LIMIT + len(page.items)
    if page.number_of_results <= paged or newest is None:
        return False
    if newest <= window.after:
        logger.warning(
            "more than 1000 listings updated at one moment: those past Amazon's 1000 are not reached",
            extra={"after": _rfc3339(window.after)},
        )
        return False
    return True


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
