"""Reconciliation: what Amazon never delivered is repaired from searchOrders.

Notifications can be missed (a subscription briefly broken, a queue policy mistake, an outage).
For one seller and a window ``[since, until]`` the use case pages Orders 2026-01-01
``searchOrders`` by ``lastUpdatedAfter`` .. ``lastUpdatedBefore`` (100 orders a page, with what
getOrder includes) and stores each order through the same conditional write as a notification's
callback: an order missing or older in the table is refreshed, a newer one is left alone.

- **Settle rule.** Amazon refuses a ``lastUpdatedBefore`` less than two minutes before the request;
  ``until`` is capped at now minus ``SEARCH_SETTLE_SECONDS``.
- **Budget.** Every page draws from the seller's shared searchOrders budget (the one the drainer's
  pages use). When it has no slot soon, the run stops cleanly at its checkpoint and says when to
  resume.
- **Checkpoint.** The window, its next page's token and a lease live in the rate budget table beside
  the backlog windows (``RECONCILE#<app>#<seller>#<region>`` for the schedule; a window run by hand
  has its bounds in its key, so running the same window again resumes it). A run resumes an
  unfinished window where it stopped; a finished one is where the next scheduled window starts
  (minus ``RECONCILE_OVERLAP_SECONDS``).

Given a listings reconciliation (``logic.listings_reconcile``), every scheduled run also reconciles
each seller's listings after its orders, and an event with ``"listings": true`` runs one seller's
listings window instead of its orders'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from sellerstream import metric_names
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.domain.orders import BacklogWindow
from sellerstream.errors import SellerStreamError
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.order_search import (
    SEARCH_ORDERS,
    SEARCH_PAGE_TIME_SECONDS,
    SEARCH_SETTLE_SECONDS,
    fetch_search_page,
    store_search_page,
)
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import OrderStore, SearchWindows, SellerDirectory
from sellerstream.spapi.client import SAFETY_MARGIN_SECONDS
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import RateBudgetExhausted, SpApiThrottled
from sellerstream.spapi.orders import OrdersApi
from sellerstream.spapi.ratelimit import CappedWait
from sellerstream.timestamps import sortable_timestamp

if TYPE_CHECKING:
    from sellerstream.logic.listings_reconcile import ListingsReconcileResult, ListingsReconcileUseCase

# How long a run waits for the seller's next searchOrders slot before stopping at its checkpoint.
SLOT_WAIT_SECONDS: Final = 3.0
RECONCILED_SOURCE: Final = "reconciliation"

# Why a run stopped before its window was done.
STOPPED_RATE_BUDGET: Final = "rate_budget"
STOPPED_TIME: Final = "time"
STOPPED_ELSEWHERE: Final = "in_progress_elsewhere"
STOPPED_ERROR: Final = "error"


class ReconcileRequestError(SellerStreamError, ValueError):
    """A reconciliation asked for a window it cannot have (empty, or inverted)."""


@dataclass
class ReconcileResult:
    """One seller's run: this run's counts, and whether its window is done."""

    seller_id: str
    since: datetime
    until: datetime
    region: str | None = None  # the SP-API region (NA, EU, FE) the seller was reconciled in
    pages: int = 0
    orders_seen: int = 0
    orders_refreshed: int = 0
    calls: int = 0  # searchOrders requests (a request the client retried counts once)
    complete: bool = False
    stopped: str | None = None  # why the window is not done yet (None: complete)
    resume_in_seconds: float | None = None  # when the budget has a slot again (rate_budget)
    error: str | None = None
    # The seller's listings in the same scheduled run (None: not reconciled in this run).
    listings: ListingsReconcileResult | None = None

    def as_dict(self) -> dict[str, Any]:
        listings, self.listings = self.listings, None
        try:
            result = asdict(self)
        finally:
            self.listings = listings
        result["since"] = _rfc3339(self.since)
        result["until"] = _rfc3339(self.until)
        if listings is None:
            del result["listings"]
        else:
            result["listings"] = listings.as_dict()
        return result

    def add(self, other: ReconcileResult) -> None:
        self.pages += other.pages
        self.orders_seen += other.orders_seen
        self.orders_refreshed += other.orders_refreshed
        self.calls += other.calls


class ReconcileUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        spapi: SpApiAccess,
        store: OrderStore,
        checkpoints: SearchWindows,
        *,
        overlap_seconds: int = 900,
        first_window_seconds: int = 24 * 3600,
        clock: Callable[[], float] = time.time,
        listings: ListingsReconcileUseCase | None = None,
    ) -> None:
        self._overlap = timedelta(seconds=overlap_seconds)
        self._first_window = timedelta(seconds=first_window_seconds)
        self._credentials = directory
        self.directory = directory
        self._spapi = spapi
        self._store = store
        self._checkpoints = checkpoints
        self._clock = clock
        self.listings = listings

    # -- entry points ----------------------------------------------------------------------------
    def latest_until(self) -> datetime:
        """The latest ``until`` Amazon accepts now (its two-minute settle rule, with a margin)."""
        return (self.now() - timedelta(seconds=SEARCH_SETTLE_SECONDS)).replace(microsecond=0)

    def reconcile(
        self,
        seller_id: str,
        since: datetime,
        until: datetime | None,
        remaining_time: RemainingTime,
        region: Region | None = None,
    ) -> ReconcileResult:
        """One seller in ``region`` (None: its first) over ``[since, until]`` (until: capped at the
        settle rule; None: as late as allowed). Running the same window again resumes it where a
        stopped run left it."""
        if since.tzinfo is None or (until is not None and until.tzinfo is None):
            raise ReconcileRequestError("since and until must carry a time zone offset")
        latest = self.latest_until()
        window_until = min(until, latest) if until is not None else latest
        window_since = since.astimezone(UTC).replace(microsecond=0)
        window_until = window_until.astimezone(UTC).replace(microsecond=0)
        if window_since >= window_until:
            raise ReconcileRequestError(
                f"nothing to reconcile: since {_rfc3339(window_since)} is not before until "
                f"{_rfc3339(window_until)} (until is at most {SEARCH_SETTLE_SECONDS:.0f} s before now)"
            )
        credentials = self._credentials.for_seller(seller_id, region)
        key = (
            f"{self._key(credentials)}#{sortable_timestamp(window_since)}#{sortable_timestamp(window_until)}"
        )
        return self._run(credentials, key, window_since, window_until, remaining_time, restart_done=True)

    def reconcile_scheduled(
        self, seller_id: str, remaining_time: RemainingTime, region: Region | None = None
    ) -> ReconcileResult:
        """One seller in ``region`` (None: its first) from its last reconciled point there (minus
        the overlap) to the settle limit; an unfinished window is finished first."""
        credentials = self._credentials.for_seller(seller_id, region)
        key = self._key(credentials)
        until = self.latest_until()
        total: ReconcileResult | None = None
        for _ in range(2):  # an unfinished window first, then the new one
            window = self._checkpoints.load(key)
            if window is not None and not window.done:
                since, window_until = window.after, window.before
            elif window is not None and window.before >= until:
                break  # reconciled up to the settle limit already
            else:
                start = window.before - self._overlap if window else until - self._first_window
                since, window_until = start, until
            result = self._run(credentials, key, since, window_until, remaining_time, restart_done=False)
            if total is None:
                total = result
            else:
                total.add(result)
                total.until, total.complete, total.stopped = result.until, result.complete, result.stopped
                total.resume_in_seconds = result.resume_in_seconds
            if not result.complete:
                break
        if total is None:
            total = ReconcileResult(seller_id=credentials.seller_key, since=until, until=until, complete=True)
        total.region = credentials.region.name
        return total

    def reconcile_all(self, remaining_time: RemainingTime) -> list[ReconcileResult]:
        """Every known seller in each region it authorised, each from its own checkpoint (its
        orders, then its listings); one seller's (or region's) failure is counted, logged and left
        for the next run, never the others' loss."""
        results: list[ReconcileResult] = []
        for seller_id in self._credentials.known_sellers():
            try:
                regions: tuple[Region | None, ...] = tuple(
                    credentials.region for credentials in self._credentials.regions_of(seller_id)
                )
            except Exception:
                regions = (None,)  # its failure is counted below, as any other
            for region in regions:
                if remaining_time() - SAFETY_MARGIN_SECONDS < SEARCH_PAGE_TIME_SECONDS:
                    logger.warning("reconciliation ran out of time: remaining sellers wait for the next run")
                    return results
                results.append(self._scheduled(seller_id, region, remaining_time))
        return results

    def _scheduled(
        self, seller_id: str, region: Region | None, remaining_time: RemainingTime
    ) -> ReconcileResult:
        try:
            result = self.reconcile_scheduled(seller_id, remaining_time, region)
        except Exception as error:
            metrics.add_metric(name=metric_names.RECONCILE_FAILURES, unit=MetricUnit.Count, value=1)
            logger.exception(
                "reconciliation failed for a seller: it resumes at its checkpoint next run",
                extra={
                    "seller_id": seller_id,
                    "region": region and region.name,
                    "reason": type(error).__name__,
                },
            )
            now = self.latest_until()
            result = ReconcileResult(
                seller_id=seller_id,
                since=now,
                until=now,
                region=region and region.name,
                stopped=STOPPED_ERROR,
                error=type(error).__name__,
            )
        if self.listings is not None and region is not None:
            # The seller's listings fail on their own (counted and logged there).
            result.listings = self.listings.reconcile_scheduled(seller_id, remaining_time, region)
        return result

    # -- one window ------------------------------------------------------------------------------
    def _run(
        self,
        credentials: SellerCredentials,
        key: str,
        since: datetime,
        until: datetime,
        remaining_time: RemainingTime,
        *,
        restart_done: bool,
    ) -> ReconcileResult:
        result = ReconcileResult(
            seller_id=credentials.seller_key, since=since, until=until, region=credentials.region.name
        )
        window = self._open(key, since, until, remaining_time, restart_done=restart_done)
        if window is None:
            result.stopped = STOPPED_ELSEWHERE
            return result
        budget = self._spapi.rate_budget(credentials)
        # A page's call waits for its slot at most SLOT_WAIT_SECONDS: past that it raises
        # RateBudgetExhausted before sending, and the run stops at its checkpoint.
        capped = CappedWait(budget, SEARCH_ORDERS, SLOT_WAIT_SECONDS)
        api = OrdersApi(self._spapi.client_for(credentials, remaining_time, budget=capped))
        logger.append_keys(seller_id=credentials.seller_key)
        current: BacklogWindow | None = window
        try:
            while current is not None and not current.done:
                if remaining_time() - SAFETY_MARGIN_SECONDS < SEARCH_PAGE_TIME_SECONDS:
                    result.stopped = STOPPED_TIME
                    break
                try:
                    page, next_token = fetch_search_page(
                        api, after=current.after, before=current.before, token=current.next_token
                    )
                except (RateBudgetExhausted, SpApiThrottled) as error:
                    if isinstance(error, SpApiThrottled):
                        result.calls += 1  # Amazon answered 429; exhausted: no slot, nothing sent
                    result.stopped = STOPPED_RATE_BUDGET
                    result.resume_in_seconds = round(
                        budget.next_slot_in(credentials.seller_key, SEARCH_ORDERS), 1
                    )
                    break
                result.calls += 1
                stored = store_search_page(
                    self._store, credentials.seller_key, page, now=self.now(), source=RECONCILED_SOURCE
                )
                result.pages += 1
                result.orders_seen += stored.seen
                result.orders_refreshed += stored.refreshed
                metrics.add_metric(name=metric_names.RECONCILE_PAGES, unit=MetricUnit.Count, value=1)
                metrics.add_metric(
                    name=metric_names.RECONCILE_ORDERS_REFRESHED,
                    unit=MetricUnit.Count,
                    value=stored.refreshed,
                )
                current = self._checkpoints.advance(
                    key, current, next_token=next_token, orders_stored=stored.refreshed
                )
                if current is not None and not current.done:
                    current = self._checkpoints.claim(key, current, self._lease_seconds(remaining_time))
                if current is None:
                    result.stopped = STOPPED_ELSEWHERE
        except Exception:
            self._release(key, current)
            raise
        finally:
            logger.remove_keys(["seller_id"])
        if current is not None and current.done:
            result.complete, result.stopped = True, None
        else:
            self._release(key, current)
        logger.info(
            "reconciliation run",
            extra={
                "seller_id": credentials.seller_key,
                "since": _rfc3339(since),
                "until": _rfc3339(until),
                "pages": result.pages,
                "orders_seen": result.orders_seen,
                "orders_refreshed": result.orders_refreshed,
                "complete": result.complete,
                "stopped": result.stopped,
            },
        )
        return result

    def _open(
        self,
        key: str,
        since: datetime,
        until: datetime,
        remaining_time: RemainingTime,
        *,
        restart_done: bool,
    ) -> BacklogWindow | None:
        """The window leased to this run (resumed when unfinished with the same bounds); None when
        another run holds it."""
        lease = self._lease_seconds(remaining_time)
        window = self._checkpoints.load(key)
        same = window is not None and window.after == since and window.before == until
        if window is not None and same and not window.done:
            return self._checkpoints.claim(key, window, lease)
        if window is not None and window.leased(self._clock()):
            return None
        if window is not None and same and window.done and not restart_done:
            return window
        return self._checkpoints.start(key, after=since, before=until, previous=window, lease_seconds=lease)

    def _release(self, key: str, window: BacklogWindow | None) -> None:
        if window is not None and not window.done and window.leased(self._clock()):
            self._checkpoints.release(key, window)

    def _key(self, credentials: SellerCredentials) -> str:
        application_id = self._credentials.lwa_app().client_id
        return f"RECONCILE#{application_id}#{credentials.seller_key}#{credentials.region.value}"

    def _lease_seconds(self, remaining_time: RemainingTime) -> float:
        return max(remaining_time(), 1.0)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def parse_moment(value: str, now: datetime) -> datetime:
    """An RFC 3339 time with an offset (``2026-11-27T08:00:00Z``) or a duration before ``now``
    (``90m``, ``6h``, ``2d``)."""
    text = value.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if len(text) >= 2 and text[-1] in units and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ReconcileRequestError(
            f"{value!r} is neither an RFC 3339 time with an offset nor a duration such as 6h, 90m or 2d"
        ) from None
    if moment.tzinfo is None or "T" not in text.upper():
        raise ReconcileRequestError(
            f"{value!r} needs a date, a time and an offset, e.g. 2026-11-27T08:00:00Z"
        )
    return moment


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReconcileRequest(NamedTuple):
    """What the reconcile function is asked: every known seller (the schedule), or one seller's
    window (by hand) of its orders, or of its listings (``listings``)."""

    seller_id: str | None = None
    since: str | None = None
    until: str | None = None
    listings: bool = False
    region: Region | None = None  # one of the seller's regions (None: each of them)

    @classmethod
    def from_event(cls, event: object) -> ReconcileRequest:
        if not isinstance(event, dict):
            raise ReconcileRequestError("the event must be a JSON object")
        unknown = set(event) - {"seller_id", "since", "until", "listings", "region"}
        if unknown:
            raise ReconcileRequestError(f"unknown keys in the event: {sorted(unknown)}")
        values = {name: event.get(name) for name in ("seller_id", "since", "until")}
        for name, value in values.items():
            if value is not None and not isinstance(value, str):
                raise ReconcileRequestError(f"{name} must be a string")
        listings = event.get("listings", False)
        if not isinstance(listings, bool):
            raise ReconcileRequestError("listings must be true or false")
        region_name = event.get("region")
        region = Region.__members__.get(region_name) if isinstance(region_name, str) else None
        if region_name is not None and region is None:
            raise ReconcileRequestError("region must be NA, EU or FE")
        request = cls(
            seller_id=values["seller_id"],
            since=values["since"],
            until=values["until"],
            listings=listings,
            region=region,
        )
        if (request.seller_id is None) != (request.since is None):
            raise ReconcileRequestError("a seller's reconciliation needs both seller_id and since")
        if request.until is not None and request.seller_id is None:
            raise ReconcileRequestError("until applies to one seller's reconciliation only")
        if request.listings and request.seller_id is None:
            raise ReconcileRequestError("listings applies to one seller's reconciliation only")
        if request.region is not None and request.seller_id is None:
            raise ReconcileRequestError("region applies to one seller's reconciliation only")
        return request


def handle(use_case: ReconcileUseCase, event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    """The reconcile function's work: the schedule's event (``{}``) or one seller's window (of its
    orders, or with ``listings`` of its listings)."""
    request = ReconcileRequest.from_event(event)
    if request.seller_id is None:
        results = use_case.reconcile_all(remaining_time)
        return {"sellers": [result.as_dict() for result in results]}
    if request.listings and use_case.listings is None:
        raise ReconcileRequestError("this function does not reconcile listings")
    now = use_case.now()
    since = parse_moment(request.since or "", now)
    until = parse_moment(request.until, now) if request.until else None
    assert request.seller_id is not None
    regions = (
        (request.region,)
        if request.region is not None
        else tuple(credentials.region for credentials in use_case.directory.regions_of(request.seller_id))
    )
    if request.listings:
        listings = use_case.listings
        assert listings is not None
        return {
            "sellers": [
                listings.reconcile(request.seller_id, since, until, remaining_time, region).as_dict()
                for region in regions
            ]
        }
    return {
        "sellers": [
            use_case.reconcile(request.seller_id, since, until, remaining_time, region).as_dict()
            for region in regions
        ]
    }
