"""The SP-API emulator: LWA and SP-API operations on loopback, with Amazon's rate plans and faults.

Requests are routed through a table (method + path pattern -> operation -> handler), so a new API
is a new module that contributes routes. Every operation it serves is metered by the usage plan in
Amazon's model of it (``usage_plans``); what is served without one is listed, with the reason, in
``usage_plans.UNMETERED``. State is guarded by one lock; the HTTP server runs in a daemon thread.

Regions: every SP-API route is served under ``/na``, ``/eu`` and ``/fe`` (Amazon's three regional
endpoints: ``base_url(region, override="http://127.0.0.1:PORT/{region}")``) and without a prefix,
which serves every region (older callers and tests). A seller is registered per region
(``register_seller(..., region=...)``, one refresh token each); an access token is its refresh
token's region's, and on another region's endpoint Amazon's 403 ``Unauthorized`` answers it. A
region's endpoint serves only the orders, listings, reports and feeds of its marketplaces, counts
its calls (``sp_api_calls_by_region``) and meters each seller's operations apart from the other
regions' (Amazon's buckets are per seller, application, region and operation). Notification
destinations and subscriptions are each region's own (``notifications.py``; without a prefix:
North America's).

Authorization: Seller Central's consent page of the website workflow
(``[/<region>]/apps/authorize/consent``, ``authorization.py``) and LWA's ``authorization_code``
grant, whose refresh token works at once on its region's endpoint.
"""

from __future__ import annotations

import json
import random
import secrets
import shutil
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from sellerstream_local.emulator.applications import ApplicationsApi
from sellerstream_local.emulator.authorization import (
    CONSENT_PATH,
    INVALID_GRANT,
    AuthorizationWorkflow,
    GrantRefused,
)
from sellerstream_local.emulator.catalog import REGIONS, OrderCatalog, region_name
from sellerstream_local.emulator.feeds import FEED_DOCUMENT_PATH, FeedsApi
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Route
from sellerstream_local.emulator.listings import ListingsApi
from sellerstream_local.emulator.notifications import NotificationsApi
from sellerstream_local.emulator.orders_api import OrdersApi
from sellerstream_local.emulator.reports import DOCUMENT_PATH, ReportsApi
from sellerstream_local.emulator.sellers import SellersApi
from sellerstream_local.emulator.tokens import RDT_PREFIX, TokensApi
from sellerstream_local.emulator.usage_plans import (
    CONSENT_PAGE,
    DOCUMENT_DOWNLOAD,
    LWA_OPERATION,
    UNMETERED,
    RatePlan,
    metered_operation,
    model_plans,
    operation_name,
)

TOKEN_LIFETIME_SECONDS = 3600
# Amazon's 429s come in two shapes: with x-amzn-RateLimit-Limit, or from the API gateway without
# it (x-amzn-ErrorType: TooManyRequestsException). By default about half carry the rate.
DEFAULT_RATE_HEADER_ON_THROTTLE = 0.5
THROTTLE_ERROR_TYPE = "TooManyRequestsException"


@dataclass(frozen=True)
class Faults:
    """Injected trouble. Latency is real seconds (not scaled); randomness comes from the seed."""

    error_rate: float = 0.0
    error_status: int = 503
    latency_seconds: float = 0.0
    malformed_rate: float = 0.0
    operations: frozenset[str] | None = None  # None: every operation

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    operation: str
    status: int
    headers: dict[str, str]  # without the access token
    region: str | None = None  # the regional endpoint called (na, eu, fe); None: a path without one


@dataclass
class _Token:
    caller: str
    expires_at: float
    client_id: str = ""
    scope: str | None = None  # a grantless token's scope
    region: str | None = None  # its refresh token's region; None (grantless): every region's


ACCESS_DENIED = "Access to requested resource is denied."


class _Bucket:
    def __init__(self, plan: RatePlan, now: float) -> None:
        self.plan = plan
        self.tokens = float(plan.burst)
        self.updated = now


class _Throttled(ApiError):
    """A 429, with or without the rate header (Amazon sends it only sometimes)."""

    def __init__(self, with_rate_header: bool) -> None:
        super().__init__(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        self.with_rate_header = with_rate_header


class SpApiEmulator:
    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: bool = True,
        faults: Faults | None = None,
        verbose: bool = False,
        rate_header_on_throttle: float = DEFAULT_RATE_HEADER_ON_THROTTLE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``time_scale`` speeds up every rate plan's refill; ``clock`` (epoch seconds) is Amazon's
        "now" (the two-minute rule of searchOrders) and drives the buckets: a simulation passes its
        own. ``rate_header_on_throttle`` is the share of 429s carrying x-amzn-RateLimit-Limit,
        spread evenly over the 429s in the order they are answered (0: never, 1: always)."""
        self.time_scale = time_scale
        self.clock = clock
        self.rate_header_on_throttle = rate_header_on_throttle
        self.rate_limits = rate_limits
        self.faults = faults or Faults()
        self.verbose = verbose
        self.catalog = OrderCatalog(seed)
        self.orders = OrdersApi(self.catalog, now=self.now)
        self.listings = ListingsApi(seed)
        self.sellers = SellersApi()
        self.reports = ReportsApi()
        self.feeds = FeedsApi()
        self.notifications = NotificationsApi()
        self.tokens = TokensApi()
        self.applications = ApplicationsApi(self._grant_of)
        self.authorization = AuthorizationWorkflow(self._epoch)
        self.calls: Counter[str] = Counter()
        self.calls_by_region: Counter[str] = Counter()  # na / eu / fe: calls on a region's endpoint
        self.throttled: Counter[str] = Counter()
        # By metered operation ("orders/v0:getOrder"): v0 and 2026-01-01 getOrder are apart.
        self.calls_by_api: Counter[str] = Counter()
        self.throttled_by_api: Counter[str] = Counter()
        self.throttle_shapes: Counter[str] = Counter()  # "with_rate_header" / "without_rate_header"
        self.requests: list[RecordedRequest] = []
        # Amazon's plans by metered operation ("orders/v0:getOrder"), and set_rate_plan's.
        self._plans: dict[str, RatePlan] = dict(model_plans())
        self._overrides: dict[str, RatePlan] = {}
        self._routes: list[Route] = self._planned(
            [
                *self.orders.routes(),
                *self.listings.routes(),
                *self.sellers.routes(),
                *self.reports.routes(),
                *self.feeds.routes(),
                *self.notifications.routes(),
                *self.tokens.routes(),
                *self.applications.routes(),
            ]
        )
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sellers: dict[str, tuple[str, str]] = {}  # refresh token -> (seller id, region)
        self._tokens: dict[str, _Token] = {}
        # (seller, region, metered operation): Amazon meters each region apart ("" : no region).
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._forced: dict[str, list[tuple[int, str]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._address = (host, port)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._server = ThreadingHTTPServer(self._address, _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sp-api-emulator", daemon=True
        )
        self._thread.start()
        self.reports.base_url = self.base_url
        self.feeds.base_url = self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.reports.close()

    def __enter__(self) -> SpApiEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def lwa_token_url(self) -> str:
        return f"{self.base_url}/auth/o2/token"

    def now(self) -> datetime:
        """Amazon's "now" (the emulator's clock)."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def _epoch(self) -> float:
        return self.clock()

    def add_routes(self, routes: list[Route]) -> None:
        """More operations to serve: each must have a usage plan in Amazon's models."""
        planned = self._planned(routes)
        with self._lock:
            self._routes.extend(planned)

    def _planned(self, routes: list[Route]) -> list[Route]:
        unplanned = sorted(
            {metered_operation(route.operation, route.pattern) for route in routes} - set(self._plans)
        )
        if unplanned:
            raise ValueError(f"no usage plan in Amazon's models for {', '.join(unplanned)}")
        return routes

    # -- configuration ---------------------------------------------------------------------------
    def register_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        application_id: str | None = None,
        redirect_uris: tuple[str, ...] | list[str] = (),
        draft: bool = True,
    ) -> None:
        """The application's LWA client; with ``application_id`` (``amzn1.sp.solution.…``), also the
        SP-API application sellers authorise at the consent page: its OAuth redirect URIs (the first
        is the default) and whether it is still a draft (authorised only with ``version=beta``)."""
        self.applications.register(client_id, client_secret)
        if application_id is not None:
            self.authorization.register(application_id, client_id, redirect_uris, draft=draft)

    def sign_in_for_consent(self, seller_id: str, region: str = "na") -> None:
        """The seller signed in to the region's Seller Central: its consent page authorises that
        seller (no one signed in: the page answers 401)."""
        self.authorization.sign_in(seller_id, region_name(region))

    def register_app_notifications(self, notification_type: str, deliver: Callable[[str], None]) -> None:
        """Where an application notification goes (the Developer Console's notification preferences)."""
        self.applications.register_destination(notification_type, deliver)

    def register_order_notifications(self, deliver: Callable[[str], None]) -> None:
        """Where the order-change notifications of the emulator's own order changes (a confirmed
        shipment) go: the destination of the seller's subscription to them."""
        self.orders.on_order_change(lambda notification: deliver(json.dumps(notification)))

    def register_seller(self, seller_id: str, refresh_token: str, region: str = "na") -> None:
        """The seller authorised the application in ``region`` (na, eu, fe; any case): its refresh
        token there. A seller has one per region it authorised."""
        name = region_name(region)
        with self._lock:
            self._sellers[refresh_token] = (seller_id, name)

    def seller_regions(self, seller_id: str) -> tuple[str, ...]:
        """The regions the seller authorised the application in (na, eu, fe order)."""
        with self._lock:
            known = {region for seller, region in self._sellers.values() if seller == seller_id}
        return tuple(region for region in REGIONS if region in known)

    def set_marketplaces(
        self,
        seller_id: str,
        marketplace_ids: list[str],
        *,
        not_participating: list[str] | tuple[str, ...] = (),
    ) -> None:
        """The marketplaces getMarketplaceParticipations lists for the seller (default: the US);
        those in ``not_participating`` say ``isParticipating: false``."""
        self.sellers.set_marketplaces(seller_id, marketplace_ids, not_participating=not_participating)

    def marketplaces_of(self, seller_id: str) -> tuple[str, ...]:
        """The marketplaces the seller participates in, as getMarketplaceParticipations says."""
        return self.sellers.marketplaces_of(seller_id)

    def revoke_seller(self, seller_id: str, region: str | None = None) -> None:
        """The seller withdrew the app's authorisation (in ``region``; None: in every region): its
        refresh tokens there get ``invalid_grant`` and its access tokens stop working (Amazon's
        answer once an authorisation is removed)."""
        name = region_name(region) if region is not None else None

        def revoked(seller: str, where: str | None) -> bool:
            return seller == seller_id and (name is None or where in (name, None))

        with self._lock:
            for refresh_token in [token for token, known in self._sellers.items() if revoked(*known)]:
                del self._sellers[refresh_token]
            for access_token in [
                token for token, known in self._tokens.items() if revoked(known.caller, known.region)
            ]:
                del self._tokens[access_token]

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def set_order(
        self,
        order_id: str,
        *,
        seller_id: str | None = None,
        last_updated: datetime | str | None = None,
        status: str | None = None,
        marketplace_id: str | None = None,
        purchase_date: datetime | str | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        self.catalog.set(
            order_id,
            seller_id=seller_id,
            last_updated=last_updated,
            status=status,
            marketplace_id=marketplace_id,
            created=purchase_date,
            items=items,
        )

    def set_listing(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        *,
        status: list[str] | None = None,
        last_updated: datetime | str | None = None,
        asin: str | None = None,
    ) -> None:
        self.listings.set_listing(
            seller_id, sku, marketplace_id, status=status, last_updated=last_updated, asin=asin
        )

    def delete_listing(self, seller_id: str, sku: str, marketplace_id: str) -> None:
        self.listings.delete_listing(seller_id, sku, marketplace_id)

    def add_report(self, report_id: str, **options: Any) -> str | None:
        """See ``ReportsApi.add_report``: DONE with ``rows=`` or ``content=``, FATAL, CANCELLED."""
        return self.reports.add_report(report_id, **options)

    def add_feed(self, feed_id: str, **options: Any) -> str | None:
        """See ``FeedsApi.add_feed``: DONE with its processing report (built from ``issues``, or
        ``report=``), FATAL, CANCELLED, or still IN_QUEUE / IN_PROGRESS."""
        return self.feeds.add_feed(feed_id, **options)

    @property
    def report_document_url_ttl(self) -> float:
        """Seconds (real, not scaled) a document URL from getReportDocument stays valid."""
        return self.reports.urls.ttl_seconds

    @report_document_url_ttl.setter
    def report_document_url_ttl(self, seconds: float) -> None:
        self.reports.urls.ttl_seconds = seconds

    @property
    def destinations(self) -> MappingProxyType[str, dict[str, Any]]:
        """North America's notification destinations by id (read-only view; a region's:
        ``notifications.destinations_in``)."""
        return MappingProxyType(self.notifications.destinations)

    @property
    def subscriptions(self) -> MappingProxyType[tuple[str, str], dict[str, Any]]:
        """North America's notification subscriptions by (seller id, notification type) (read-only
        view; a region's: ``notifications.subscriptions_in``)."""
        return MappingProxyType(self.notifications.subscriptions)

    def mark_missing(self, order_id: str) -> None:
        self.catalog.mark_missing(order_id)

    def set_rate_plan(self, operation: str, rate: float, burst: int) -> None:
        """Replaces Amazon's plan: of one API's operation (``orders/v0:getOrder``), or of every
        operation of that name (``getOrder``: v0's and 2026-01-01's, each still its own bucket)."""
        with self._lock:
            self._overrides[operation] = RatePlan(rate, burst)
            for key in [key for key in self._buckets if operation in (key[2], operation_name(key[2]))]:
                del self._buckets[key]

    def fail_next(self, operation: str, status: int, count: int = 1, code: str = "InternalFailure") -> None:
        with self._lock:
            self._forced.setdefault(operation, []).extend([(status, code)] * count)

    def clear_failures(self) -> None:
        """Forgets failures queued by ``fail_next`` that have not happened yet."""
        with self._lock:
            self._forced.clear()

    def sp_api_calls(self) -> dict[str, int]:
        """Calls by SP-API operation (LWA token requests and document downloads are not operations)."""
        with self._lock:
            return {op: n for op, n in sorted(self.calls.items()) if op not in UNMETERED}

    def sp_api_calls_by_region(self) -> dict[str, int]:
        """Calls on each region's endpoint (``/na``, ``/eu``, ``/fe``): ``{"NA": n, "EU": n, "FE": n}``;
        calls on a path without a region are in none."""
        with self._lock:
            return {region.upper(): self.calls_by_region[region] for region in REGIONS}

    def reset_stats(self) -> None:
        with self._lock:
            self.calls.clear()
            self.calls_by_region.clear()
            self.throttled.clear()
            self.calls_by_api.clear()
            self.throttled_by_api.clear()
            self.throttle_shapes.clear()
            self.requests.clear()

    # -- request handling ------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes | Path]:
        parsed = urllib.parse.urlsplit(raw_path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        region, path = split_region(parsed.path)
        if path == CONSENT_PATH and method == "GET":
            # Seller Central's page (a region's, North America's without a prefix): no access token.
            with self._lock:
                self.calls[CONSENT_PAGE] += 1
            return self.authorization.consent(region or "na", query)
        if parsed.path.startswith(DOCUMENT_PATH) and method == "GET":
            # A presigned-style URL: no access token, no rate plan, not an SP-API operation.
            with self._lock:
                self.calls[DOCUMENT_DOWNLOAD] += 1
            status, document, content_type = self.reports.download(parsed.path[len(DOCUMENT_PATH) :])
            return status, {"content-type": content_type} if content_type else {}, document
        if parsed.path.startswith(FEED_DOCUMENT_PATH) and method == "GET":
            with self._lock:
                self.calls[DOCUMENT_DOWNLOAD] += 1
            return self.feeds.download(parsed.path[len(FEED_DOCUMENT_PATH) :])
        if parsed.path == "/auth/o2/token" and method == "POST":
            with self._lock:
                self.calls[LWA_OPERATION] += 1
            status, token_reply = self._lwa(body)
            return status, {"content-type": "application/json"}, json.dumps(token_reply).encode()
        request_id = str(uuid.uuid4())
        route, params = self._route(method, path)
        operation = route.operation if route else "unknown"
        # Amazon meters each API's operation apart: v0 getOrder and 2026-01-01 getOrder are two buckets.
        metered = metered_operation(operation, path)
        response_headers = {"content-type": "application/json", "x-amzn-RequestId": request_id}
        try:
            if route is None:
                raise ApiError(404, "NotFound", f"No operation at {method} {path}")
            caller, restricted, token_region = self._authorize(method, path, headers, region)
            response_headers["x-amzn-RateLimit-Limit"] = _format_rate(
                self._plan(operation, metered).rate * self.time_scale
            )
            self._apply_faults(operation)
            self._take_token(caller, region or token_region or "", operation, metered)
            request = EmulatorRequest(method, path, query, headers, body, params, caller, restricted, region)
            reply = route.handler(request)
            # 204 No Content has no body (rotateApplicationClientSecret).
            status, payload = reply.status, b"" if reply.status == 204 else json.dumps(reply.body).encode()
            response_headers.update(reply.headers)
            if self._roll(self.faults.malformed_rate, operation):
                payload = payload[: max(len(payload) // 2, 1)]
        except ApiError as error:
            status, payload = error.status, json.dumps(error.body()).encode()
            if status == 429:
                self._shape_throttle(response_headers, error)
        self._record(method, path, query, operation, metered, status, headers, region)
        return status, response_headers, payload

    def _route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None, {}

    def _lwa(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {key: values[0] for key, values in urllib.parse.parse_qs(body.decode()).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        # With no app registered, any client is accepted (handy for quick experiments).
        if self.applications.has_apps and not self.applications.accepts(client_id, client_secret):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        grant = form.get("grant_type")
        refresh_token = form.get("refresh_token", "")
        if grant == "authorization_code":
            # The website workflow's code: once, within five minutes, by its client, for its redirect URI.
            try:
                seller_id, authorised_in = self.authorization.redeem(
                    form.get("code", ""), client_id, form.get("redirect_uri")
                )
            except GrantRefused as refused:
                return 400, {"error": refused.error, "error_description": refused.description}
            refresh_token = "Atzr|" + secrets.token_urlsafe(48)
            self.register_seller(seller_id, refresh_token, authorised_in)
        with self._lock:
            region: str | None = None
            if grant in ("refresh_token", "authorization_code"):
                known = self._sellers.get(refresh_token)
                if known is None:
                    return 400, {"error": INVALID_GRANT[0], "error_description": INVALID_GRANT[1]}
                caller, region = known
            elif grant == "client_credentials" and form.get("scope"):
                caller = "grantless"
            else:
                return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
            access_token = "Atza|" + secrets.token_urlsafe(24)
            self._tokens[access_token] = _Token(
                caller,
                time.monotonic() + TOKEN_LIFETIME_SECONDS,
                client_id,
                form.get("scope") if caller == "grantless" else None,
                region,
            )
        reply: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }
        if grant in ("refresh_token", "authorization_code"):
            reply["refresh_token"] = refresh_token
        return 200, reply

    def _authorize(
        self, method: str, path: str, headers: dict[str, str], region: str | None
    ) -> tuple[str, frozenset[str] | None, str | None]:
        """The caller, with a Restricted Data Token the PII it grants (an RDT opens only the
        resources it was created for: Tokens API), and the token's region. A token of one region
        on another region's endpoint is refused as Amazon refuses it."""
        token = headers.get("x-amz-access-token", "")
        if not token.startswith(RDT_PREFIX):
            known = self._authenticate(headers)
            _same_region(known.region, region)
            return known.caller, None, known.region
        rdt = self.tokens.lookup(token)
        if rdt is None or rdt.expires_at <= time.monotonic():
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, "Invalid or expired token.")
        _same_region(rdt.region, region)
        resource = rdt.resource_for(method, path)
        if resource is None:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED)
        return rdt.caller, resource.data_elements, rdt.region

    def _grant_of(self, access_token: str) -> tuple[str, str | None] | None:
        """The client id and (grantless) scope an access token was issued for."""
        with self._lock:
            known = self._tokens.get(access_token)
        return (known.client_id, known.scope) if known is not None else None

    def _authenticate(self, headers: dict[str, str]) -> _Token:
        token = headers.get("x-amz-access-token", "")
        with self._lock:
            known = self._tokens.get(token)
        if known is None:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED)
        if known.expires_at <= time.monotonic():
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, "The access token you provided has expired.")
        return known

    def _plan(self, operation: str, metered: str) -> RatePlan:
        with self._lock:
            return self._plan_locked(operation, metered)

    def _plan_locked(self, operation: str, metered: str) -> RatePlan:
        # Every route has Amazon's plan (checked when it is added).
        return self._overrides.get(metered) or self._overrides.get(operation) or self._plans[metered]

    def _take_token(self, caller: str, region: str, operation: str, metered: str) -> None:
        if not self.rate_limits:
            return
        now = self.clock()
        key = (caller, region, metered)
        with self._lock:
            plan = self._plan_locked(operation, metered)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(plan, now)
            bucket.tokens = min(
                float(plan.burst),
                bucket.tokens + max(now - bucket.updated, 0.0) * plan.rate * self.time_scale,
            )
            bucket.updated = now
            if bucket.tokens < 1.0:
                raise _Throttled(self._next_throttle_has_rate_header())
            bucket.tokens -= 1.0

    def _next_throttle_has_rate_header(self) -> bool:
        """Spreads the share of 429s with the rate header evenly over the 429s, deterministically."""
        served = self.throttle_shapes["with_rate_header"] + self.throttle_shapes["without_rate_header"]
        share = min(max(self.rate_header_on_throttle, 0.0), 1.0)
        with_header = int((served + 1) * share) > int(served * share)
        self.throttle_shapes["with_rate_header" if with_header else "without_rate_header"] += 1
        return with_header

    def _shape_throttle(self, headers: dict[str, str], error: ApiError) -> None:
        """A forced or injected 429 counts as one of the shapes too; the gateway shape has no rate."""
        with_header = error.with_rate_header if isinstance(error, _Throttled) else None
        if with_header is None:
            with self._lock:
                with_header = self._next_throttle_has_rate_header()
        if not with_header:
            headers.pop("x-amzn-RateLimit-Limit", None)
            headers["x-amzn-ErrorType"] = THROTTLE_ERROR_TYPE

    def _apply_faults(self, operation: str) -> None:
        with self._lock:
            forced = self._forced.get(operation)
            next_fault = forced.pop(0) if forced else None
        if next_fault:
            status, code = next_fault
            raise ApiError(status, code, "Injected failure.")
        faults = self.faults
        if faults.latency_seconds and faults.applies_to(operation):
            time.sleep(faults.latency_seconds)
        if self._roll(faults.error_rate, operation):
            code = "ServiceUnavailable" if faults.error_status == 503 else "InternalFailure"
            raise ApiError(faults.error_status, code, "We encountered an internal error. Please try again.")

    def _roll(self, rate: float, operation: str) -> bool:
        if rate <= 0 or not self.faults.applies_to(operation):
            return False
        with self._lock:
            return self._rng.random() < rate

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        operation: str,
        metered: str,
        status: int,
        headers: dict[str, str],
        region: str | None = None,
    ) -> None:
        kept = {name: value for name, value in headers.items() if name != "x-amz-access-token"}
        with self._lock:
            self.calls[operation] += 1
            self.calls_by_api[metered] += 1
            if region is not None:
                self.calls_by_region[region] += 1
            if status == 429:
                self.throttled[operation] += 1
                self.throttled_by_api[metered] += 1
            self.requests.append(RecordedRequest(method, path, query, operation, status, kept, region))


def split_region(path: str) -> tuple[str | None, str]:
    """A path's region prefix and the API path after it (``/eu/orders/…`` -> ``eu``, ``/orders/…``);
    a path without one: None and the path."""
    head, slash, rest = path[1:].partition("/")
    if head in REGIONS and slash:
        return head, "/" + rest
    return None, path


def _same_region(token_region: str | None, region: str | None) -> None:
    """Amazon's answer to a token of one region on another region's endpoint."""
    if region is not None and token_region is not None and token_region != region:
        raise ApiError(403, "Unauthorized", ACCESS_DENIED)


def _format_rate(rate: float) -> str:
    return f"{rate:.4f}".rstrip("0").rstrip(".") or "0"


def _handler_class(emulator: SpApiEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, response_headers, payload = emulator.handle(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in response_headers.items():
                self.send_header(name, value)
            size = payload.stat().st_size if isinstance(payload, Path) else len(payload)
            self.send_header("content-length", str(size))
            self.end_headers()
            if isinstance(payload, Path):
                with payload.open("rb") as document:
                    shutil.copyfileobj(document, self.wfile, 1 << 16)
            else:
                self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_DELETE = _serve
        do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            if emulator.verbose:
                super().log_message(format, *args)

    return Handler
