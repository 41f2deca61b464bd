"""Onboarding by OAuth: the Lambda side of Amazon's authorization workflows.

``GET /login`` (the application's login URI) sends the seller's browser to Amazon with a signed
``state``: to Seller Central's consent page (the website workflow: ``?region=NA|EU|FE`` or
``?marketplace=<id>``), or back to Amazon's ``amazon_callback_uri`` (the Appstore workflow: Amazon
calls the login URI with it, ``amazon_state`` and ``selling_partner_id``). ``GET /redirect`` (the
redirect URI Amazon sends the seller back to) checks the state, exchanges ``spapi_oauth_code`` with
LWA for the seller's refresh token in that region, stores it, records the seller's marketplaces and
subscribes the seller to the deployment's notifications; the seller sees a short page of what was
done (never a token).

The state is ``1.<region>.<flow>.<expiry>.<nonce>.<mac>``: an HMAC-SHA256 over the rest (and, in
the Appstore workflow, the seller id Amazon named, so the redirect must name the same one), keyed by
a key derived from the LWA application's client secret, so the deployment holds no secret of its
own for it. Rotating the client secret invalidates the states in flight: harmless, they live a
quarter of an hour and the seller starts again. Nothing here keeps a session: the state guards what
travels through the browser (the region, the expiry), not who the browser is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple, Protocol

from sellerstream import identifiers, metric_names
from sellerstream.domain.credentials import SellerCredentials, SellerMarketplaces
from sellerstream.errors import OnboardingRefusedError
from sellerstream.logic.batch import RemainingTime
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.consent import check_callback, consent_url, seller_central_url, with_query
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region
from sellerstream.spapi.errors import LwaAuthError, SpApiError


class OnboardingDirectory(Protocol):
    """What onboarding needs of the seller directory (``ports.SellerDirectory``): the application's
    LWA credentials, and a seller's refresh token stored for a region."""

    def lwa_app(self) -> LwaCredentials: ...

    def save_seller(self, seller_key: str, *, refresh_token: str, region: Region) -> tuple[str, str]: ...


# (the app's credentials, the authorization code, the redirect URI it was given for) -> the
# seller's refresh token; LWA's refusal raises ``LwaAuthError``, no answer another ``SpApiError``.
ExchangeCode = Callable[[LwaCredentials, str, str], str]
# Amazon's marketplaces of the seller in its credentials' region, read and stored.
RefreshMarketplaces = Callable[[SellerCredentials, RemainingTime], SellerMarketplaces]
# The seller subscribed in its credentials' region to the deployment's types: what was done, one
# entry per destination or subscription (``subscription`` and ``action`` for each subscription).
# It is given the time left, as the marketplaces are: its SP-API calls stop before the answer is due.
Subscribe = Callable[[SellerCredentials, RemainingTime], list[dict[str, Any]]]

LOGIN: Final = "login"
REDIRECT: Final = "redirect"
STATE_VERSION: Final = "1"
WEBSITE_FLOW: Final = "w"
APPSTORE_FLOW: Final = "a"
_KEY_CONTEXT: Final = b"sellerstream onboarding state v1\x00"
_NONCE_BYTES: Final = 12
_STATE = re.compile(r"1\.([a-z]{2})\.([wa])\.([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})")
# API Gateway's HTTP APIs give up on an integration after 30 s: the seller's page must be answered
# before then, so Amazon's calls stop this long after the request arrived.
ANSWER_WITHIN_SECONDS: Final = 27.0
# Bounds on what a query may carry (Amazon's values are far shorter).
_MAX_VALUE_LENGTH: Final = 2048
_MAX_PARAMETERS: Final = 16
_REGION_NAMES: Final = {Region.NA: "North America", Region.EU: "Europe", Region.FE: "Far East"}
_STORED: Final = {
    "created": "a new seller",
    "added": "a region added to the seller",
    "updated": "the region's authorisation renewed",
}


# -- the signed state ----------------------------------------------------------------------------


def state_key(app: LwaCredentials) -> bytes:
    """The states' HMAC key: derived from the application's client secret (and id), never stored."""
    return hmac.new(
        app.client_secret.encode(), _KEY_CONTEXT + app.client_id.encode(), hashlib.sha256
    ).digest()


def sign_state(key: bytes, *, region: str, expires_at: int, nonce: str, seller_id: str | None = None) -> str:
    """A state for ``region`` accepted until ``expires_at`` (epoch seconds); with ``seller_id`` (the
    Appstore workflow) only for that seller."""
    flow = APPSTORE_FLOW if seller_id is not None else WEBSITE_FLOW
    payload = f"{STATE_VERSION}.{region}.{flow}.{expires_at}.{nonce}"
    return f"{payload}.{_mac(key, payload, seller_id)}"


def check_state(key: bytes, state: str, *, now: float, seller_id: str) -> Region:
    """The region of a state this deployment signed, still valid, for ``seller_id`` when it is an
    Appstore workflow's; raises ``OnboardingRefusedError`` otherwise."""
    match = _STATE.fullmatch(state)
    if match is None:
        raise OnboardingRefusedError("state_malformed", "the state is not one this API signs")
    region, flow, expires_at, _, mac = match.groups()
    payload = state[: -len(mac) - 1]
    expected = _mac(key, payload, seller_id if flow == APPSTORE_FLOW else None)
    if not hmac.compare_digest(mac, expected):
        raise OnboardingRefusedError("state_signature", "the state's signature does not match")
    if now > int(expires_at):
        raise OnboardingRefusedError("state_expired", "the state has expired")
    try:
        return Region(region)
    except ValueError:
        raise OnboardingRefusedError("state_region", "the state names no SP-API region") from None


def _mac(key: bytes, payload: str, seller_id: str | None) -> str:
    message = f"{payload}\n{seller_id or ''}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- requests and answers ------------------------------------------------------------------------


class ApiRequest(NamedTuple):
    """A GET of the onboarding API: its route (``login``, ``redirect``), its query (each parameter
    once), and this API's own login and redirect URIs (from the request: no setting names them)."""

    route: str
    query: Mapping[str, str]
    login_uri: str
    redirect_uri: str

    @classmethod
    def from_event(cls, event: object) -> ApiRequest:
        """From API Gateway's HTTP API event (payload 2.0). Its path holds a named stage's or a custom
        domain mapping's prefix, so this API's URIs are the path's with the route's segment swapped."""
        if not isinstance(event, dict):
            raise OnboardingRefusedError("request_malformed", "not an HTTP API event")
        context = event.get("requestContext") or {}
        http = context.get("http") or {}
        path = str(http.get("path") or event.get("rawPath") or "")
        domain = str(context.get("domainName") or "")
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", domain) or not path.startswith("/"):
            raise OnboardingRefusedError("request_malformed", "no domain name or path in the event")
        base, _, route = path.rstrip("/").rpartition("/")
        headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
        # API Gateway answers on https; local mode's server says http in X-Forwarded-Proto.
        scheme = "http" if headers.get("x-forwarded-proto") == "http" else "https"
        origin = f"{scheme}://{domain}{base}"
        return cls(
            route=route,
            query=_query(str(event.get("rawQueryString") or "")),
            login_uri=f"{origin}/{LOGIN}",
            redirect_uri=f"{origin}/{REDIRECT}",
        )


def _query(raw: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=False, max_num_fields=_MAX_PARAMETERS)
    except ValueError:
        raise OnboardingRefusedError("request_malformed", "too many query parameters") from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise OnboardingRefusedError("request_malformed", "a query parameter is given twice")
        if len(value) > _MAX_VALUE_LENGTH:
            raise OnboardingRefusedError("request_malformed", "a query parameter is too long")
        query[name] = value
    return query


class ApiAnswer(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: str = ""

    def as_response(self) -> dict[str, Any]:
        """API Gateway's HTTP API response (payload 2.0)."""
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "isBase64Encoded": False,
        }


# Every answer: never cached, never framed, and no Referer from it (the redirect page's own URL
# carries the authorization code).
_COMMON_HEADERS: Final = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
_PAGE_HEADERS: Final = {
    **_COMMON_HEADERS,
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def found(location: str) -> ApiAnswer:
    return ApiAnswer(302, {**_COMMON_HEADERS, "location": location})


def page(status: int, title: str, *parts: str) -> ApiAnswer:
    """A small HTML page; ``parts`` are HTML already (every value in them escaped)."""
    body = "".join(parts)
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SellerStream: {html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return ApiAnswer(status, _PAGE_HEADERS, document)


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _e(value: object) -> str:
    return html.escape(str(value))


def _start_again(request: ApiRequest) -> str:
    return _p(f'<a href="{_e(request.login_uri)}">Start again</a>.')


# -- the use case --------------------------------------------------------------------------------


class OnboardingUseCase:
    def __init__(
        self,
        directory: OnboardingDirectory,
        *,
        exchange_code: ExchangeCode,
        marketplaces: RefreshMarketplaces,
        subscribe: Subscribe,
        application_id: str,
        draft: bool = False,
        state_ttl_seconds: int = 900,
        seller_central_override: str | None = None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: _b64(secrets.token_bytes(_NONCE_BYTES)),
    ) -> None:
        self._directory = directory
        self._exchange_code = exchange_code
        self._marketplaces = marketplaces
        self._subscribe = subscribe
        self._application_id = application_id
        self._draft = draft
        self._state_ttl_seconds = state_ttl_seconds
        self._override = seller_central_override
        self._clock = clock
        self._nonce = nonce

    # -- GET /login --

    def login(self, request: ApiRequest) -> ApiAnswer:
        """To Amazon with a signed state: the Appstore's callback when Amazon gave one, else Seller
        Central's consent page of the region (or marketplace) asked for; neither: a page to choose."""
        try:
            if "amazon_callback_uri" in request.query:
                return self._appstore_login(request)
            return self._website_login(request)
        except OnboardingRefusedError as error:
            return self._refused(request, error, "This sign-in link cannot be used")

    def _website_login(self, request: ApiRequest) -> ApiAnswer:
        region, marketplace_id = _asked_region(request.query)
        if region is None:
            return _choose_region(request)
        seller_central = seller_central_url(region, marketplace_id, override=self._override)
        state = self._sign(region, seller_id=None)
        return found(
            consent_url(
                seller_central,
                application_id=self._application_id,
                state=state,
                redirect_uri=request.redirect_uri,
                draft=self._draft,
            )
        )

    def _appstore_login(self, request: ApiRequest) -> ApiAnswer:
        query = request.query
        callback = check_callback(query["amazon_callback_uri"], override=self._override)
        if not callback.accepted:
            raise OnboardingRefusedError("callback_not_amazon", "amazon_callback_uri is not Amazon's")
        amazon_state = query.get("amazon_state")
        if not amazon_state:
            raise OnboardingRefusedError("request_malformed", "amazon_state is missing")
        seller_id = query.get("selling_partner_id")
        if seller_id is not None and not identifiers.is_seller_key(seller_id):
            raise OnboardingRefusedError("seller_id_malformed", "selling_partner_id has no Amazon shape")
        asked, _ = _asked_region(query)
        if asked is not None and callback.region is not None and asked is not callback.region:
            raise OnboardingRefusedError("region_mismatch", "the region asked for is not the callback's")
        region = asked or callback.region
        if region is None:
            raise OnboardingRefusedError("region_unknown", "the callback's region is unknown")
        parameters = {
            "redirect_uri": request.redirect_uri,
            "amazon_state": amazon_state,
            "state": self._sign(region, seller_id=seller_id),
        }
        # Amazon names a draft application's workflow (version=beta) and wants it back.
        if self._draft or query.get("version") == "beta":
            parameters["version"] = "beta"
        return found(with_query(query["amazon_callback_uri"], parameters))

    def _sign(self, region: Region, *, seller_id: str | None) -> str:
        expires_at = int(self._clock()) + self._state_ttl_seconds
        key = state_key(self._directory.lwa_app())
        return sign_state(
            key, region=region.value, expires_at=expires_at, nonce=self._nonce(), seller_id=seller_id
        )

    # -- GET /redirect --

    def redirect(self, request: ApiRequest, remaining_time: RemainingTime) -> ApiAnswer:
        """The seller back from Amazon: its refresh token for the state's region stored, then its
        marketplaces and subscriptions (a failure of those is reported, the token stays stored)."""
        started = self._clock()

        def time_left() -> float:
            return min(remaining_time(), ANSWER_WITHIN_SECONDS - (self._clock() - started))

        try:
            app = self._directory.lwa_app()
            seller_id, code, region = self._checked_redirect(request, app)
        except OnboardingRefusedError as error:
            return self._refused(request, error, "This authorization cannot be completed")
        try:
            refresh_token = self._exchange_code(app, code, request.redirect_uri)
        except LwaAuthError as error:
            logger.warning(
                "onboarding: LWA refused the authorization code",
                extra={"seller_id": seller_id, "region": region.value, "lwa_error": error.code},
            )
            metrics.add_metric(name=metric_names.ONBOARDING_CODES_REFUSED, unit=MetricUnit.Count, value=1)
            return page(
                400,
                "Authorization code refused",
                _p(
                    "Amazon refused the authorization code: it was used already, or it is more than "
                    "five minutes old."
                ),
                _start_again(request),
            )
        except SpApiError as error:
            return self._failed(request, seller_id, region, "the code exchange", error, status=503)
        try:
            _, action = self._directory.save_seller(seller_id, refresh_token=refresh_token, region=region)
        except Exception as error:  # any store failure: the code is spent, the seller starts again
            return self._failed(request, seller_id, region, "storing the credentials", error, status=500)
        metrics.add_metric(name=metric_names.ONBOARDING_SELLERS_AUTHORIZED, unit=MetricUnit.Count, value=1)
        logger.info(
            "onboarding: seller authorised",
            extra={"seller_id": seller_id, "region": region.value, "action": action},
        )
        seller = SellerCredentials(seller_id, refresh_token, region)
        return self._completed(seller, action, time_left)

    def _checked_redirect(self, request: ApiRequest, app: LwaCredentials) -> tuple[str, str, Region]:
        query = request.query
        state, seller_id, code = (
            query.get(name) for name in ("state", "selling_partner_id", "spapi_oauth_code")
        )
        if not state or not seller_id or not code:
            raise OnboardingRefusedError(
                "request_malformed", "state, selling_partner_id or spapi_oauth_code is missing"
            )
        region = check_state(state_key(app), state, now=self._clock(), seller_id=seller_id)
        if not identifiers.is_seller_key(seller_id):
            raise OnboardingRefusedError("seller_id_malformed", "selling_partner_id has no Amazon shape")
        return seller_id, code, region

    def _completed(self, seller: SellerCredentials, action: str, time_left: RemainingTime) -> ApiAnswer:
        failed: list[str] = []
        region_name = _REGION_NAMES[seller.region]
        parts = [
            _p(f"Its refresh token for {_e(region_name)} is stored ({_e(_STORED.get(action, action))}).")
        ]
        parts.append("<h2>Marketplaces</h2>")
        try:
            marketplaces = self._marketplaces(seller, time_left)
        except Exception as error:  # any failure: reported on the page, completed by the operator
            self._step_failed(seller, "marketplaces", error)
            failed.append("marketplaces")
            parts.append(_p(f"Not read: {_e(_error_name(error))}."))
        else:
            parts.append(_marketplace_list(marketplaces, seller.region))
        parts.append("<h2>Notifications</h2>")
        try:
            actions = self._subscribe(seller, time_left)
        except Exception as error:  # any failure: reported on the page, completed by the operator
            self._step_failed(seller, "subscriptions", error)
            failed.append("subscriptions")
            parts.append(_p(f"Not subscribed: {_e(_error_name(error))}."))
        else:
            parts.append(_subscription_list(actions))
        if failed:
            metrics.add_metric(name=metric_names.ONBOARDING_INCOMPLETE, unit=MetricUnit.Count, value=1)
            parts.append(
                _p(
                    f"The {_e(' and the '.join(failed))} step failed; the authorization itself is stored. "
                    f"<code>sellerstream subscribe --seller {_e(seller.seller_key)} --seller-region "
                    f"{_e(seller.region.name)}</code> completes it."
                )
            )
        return page(200, f"Seller {seller.seller_key} is authorised in {region_name}", *parts)

    @staticmethod
    def _step_failed(seller: SellerCredentials, step: str, error: Exception) -> None:
        logger.warning(
            f"onboarding: the seller is stored, its {step} step failed",
            extra={
                "seller_id": seller.seller_key,
                "region": seller.region.value,
                "step": step,
                "error": _error_name(error),
                "detail": str(error)[:200],
            },
        )

    def _failed(
        self, request: ApiRequest, seller_id: str, region: Region, step: str, error: Exception, *, status: int
    ) -> ApiAnswer:
        logger.error(
            f"onboarding: authorization lost in {step}",
            extra={
                "seller_id": seller_id,
                "region": region.value,
                "error": _error_name(error),
                "detail": str(error)[:200],
            },
        )
        metrics.add_metric(name=metric_names.ONBOARDING_FAILURES, unit=MetricUnit.Count, value=1)
        return page(
            status,
            "Authorization not completed",
            _p(f"The authorization could not be completed ({_e(step)} failed). Nothing was stored."),
            _start_again(request),
        )

    def _refused(self, request: ApiRequest, error: OnboardingRefusedError, title: str) -> ApiAnswer:
        logger.warning(
            "onboarding: request refused",
            extra={"route": request.route, "reason": error.reason, "detail": error.detail},
        )
        metrics.add_metric(name=metric_names.ONBOARDING_REQUESTS_REFUSED, unit=MetricUnit.Count, value=1)
        return page(
            400, title, _p(_e(error.detail[:1].upper() + error.detail[1:] + ".")), _start_again(request)
        )


def _asked_region(query: Mapping[str, str]) -> tuple[Region | None, str | None]:
    """The region a login asks for (``region``, ``marketplace``: both must agree), and the marketplace."""
    region: Region | None = None
    if "region" in query:
        try:
            region = Region(query["region"].lower())
        except ValueError:
            raise OnboardingRefusedError("region_unknown", "region must be NA, EU or FE") from None
    marketplace_id = query.get("marketplace")
    if marketplace_id is None:
        return region, None
    marketplace_region = MARKETPLACE_REGIONS.get(marketplace_id)
    if marketplace_region is None:
        raise OnboardingRefusedError("marketplace_unknown", "the marketplace id is not one of Amazon's")
    if region is not None and region is not marketplace_region:
        raise OnboardingRefusedError("region_mismatch", "the marketplace is not in the region asked for")
    return marketplace_region, marketplace_id


def _choose_region(request: ApiRequest) -> ApiAnswer:
    links = "".join(
        f'<li><a href="{_e(request.login_uri)}?region={region.name}">{_e(name)}</a></li>'
        for region, name in _REGION_NAMES.items()
    )
    return page(
        200,
        "Authorise SellerStream",
        _p("Choose the region of the Seller Central account to authorise:"),
        f"<ul>{links}</ul>",
        _p("(Or add <code>?marketplace=</code> and a marketplace id to this page's address.)"),
    )


def _marketplace_list(marketplaces: SellerMarketplaces, region: Region) -> str:
    listed = marketplaces.listing_marketplaces(region)
    if not listed:
        return _p("None in this region.")
    countries = {p.marketplace_id: p.country_code for p in marketplaces.participations}
    items = "".join(
        f"<li>{_e(marketplace_id)}{f' ({_e(countries[marketplace_id])})' if countries.get(marketplace_id) else ''}</li>"
        for marketplace_id in listed
    )
    return f"<ul>{items}</ul>"


def _subscription_list(actions: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li>{_e(entry['subscription'])}: {_e(str(entry.get('action', ''))[:200])}</li>"
        for entry in actions
        if isinstance(entry, dict) and entry.get("subscription")
    )
    return f"<ul>{items}</ul>" if items else _p("No notification types to subscribe to.")


def _error_name(error: Exception) -> str:
    return type(error).__name__


def handle(use_case: OnboardingUseCase, event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    """The onboarding function's work: one GET of the HTTP API, answered."""
    try:
        request = ApiRequest.from_event(event)
    except OnboardingRefusedError as error:
        logger.warning("onboarding: request refused", extra={"reason": error.reason, "detail": error.detail})
        metrics.add_metric(name=metric_names.ONBOARDING_REQUESTS_REFUSED, unit=MetricUnit.Count, value=1)
        return page(400, "Bad request", _p("This request cannot be answered.")).as_response()
    if request.route == LOGIN:
        return use_case.login(request).as_response()
    if request.route == REDIRECT:
        return use_case.redirect(request, remaining_time).as_response()
    return page(404, "Not found", _p("This API answers /login and /redirect.")).as_response()
