"""The SP-API client: authenticated, rate limited, retried within the invocation's time.

Every non-2xx answer raises a typed error carrying Amazon's error code and request id; a 2xx that
is not JSON raises ``MalformedResponse``. Nothing here returns an empty success.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sellerstream.spapi import defaults
from sellerstream.spapi.auth import LwaCredentials, LwaTokenProvider
from sellerstream.spapi.endpoints import LWA_TOKEN_URL, Region, base_url
from sellerstream.spapi.errors import (
    LwaAuthError,
    MalformedResponse,
    RateBudgetExhausted,
    SpApiAccessDenied,
    SpApiClientError,
    SpApiError,
    SpApiNotFound,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.ratelimit import RateBudget, metered_operation
from sellerstream.spapi.transport import HttpRequest, HttpResponse, Transport, TransportError

logger = logging.getLogger(__name__)

USER_AGENT = "SellerStream/0.1 (Language=Python/3.11)"
# Time kept back from the invocation's remaining time for storing the result and returning.
SAFETY_MARGIN_SECONDS = 3.0
GRANTLESS_SELLER_KEY = "grantless"


# Plain classes, not dataclasses (each costs a cold start about a millisecond); their reprs never
# show a refresh token, a body or headers.
class SellerContext:
    """Whose data a call reads: the rate-limit key, the seller's LWA refresh token, its region."""

    __slots__ = ("refresh_token", "region", "seller_key")

    def __init__(self, seller_key: str, refresh_token: str, region: Region = Region.NA) -> None:
        self.seller_key = seller_key
        self.refresh_token = refresh_token
        self.region = region

    def __repr__(self) -> str:
        return f"SellerContext(seller_key={self.seller_key!r}, region={self.region!r})"


class SpApiResponse:
    __slots__ = ("body", "headers", "request_id", "status")

    def __init__(self, status: int, body: Any, headers: Mapping[str, str], request_id: str | None) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"SpApiResponse(status={self.status!r}, request_id={self.request_id!r})"


class SpApiObserver(Protocol):
    """Told about every HTTP attempt (status None: no answer) and every 429, e.g. for metrics."""

    def on_call(self, operation: str, status: int | None, latency_ms: float) -> None: ...

    def on_throttled(self, operation: str) -> None: ...


class _NoObserver:
    def on_call(self, operation: str, status: int | None, latency_ms: float) -> None:
        return None

    def on_throttled(self, operation: str) -> None:
        return None


class SpApiClient:
    def __init__(
        self,
        *,
        credentials: LwaCredentials,
        seller: SellerContext | None,
        region: Region | None = None,
        sandbox: bool = False,
        base_url_override: str | None = None,
        lwa_token_url: str = LWA_TOKEN_URL,
        transport: Transport | None = None,
        token_provider: LwaTokenProvider | None = None,
        rate_limiter: RateBudget | None = None,
        remaining_time: Callable[[], float] | None = None,
        observer: SpApiObserver | None = None,
        max_attempts: int = 4,
        base_backoff: float = 0.25,
        max_backoff: float = 4.0,
        request_timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_seller_refused: Callable[[LwaAuthError], None] | None = None,
    ) -> None:
        self._credentials = credentials
        self._seller = seller
        self._on_seller_refused = on_seller_refused
        self._base_url = base_url(
            region or (seller.region if seller else Region.NA), sandbox=sandbox, override=base_url_override
        )
        self._lwa_token_url = lwa_token_url
        self._transport = transport or defaults.transport()
        self._tokens = token_provider or defaults.token_provider()
        self._limiter = rate_limiter or defaults.rate_limiter()
        self._remaining_time = remaining_time or (lambda: float("inf"))
        self._observer = observer or _NoObserver()
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._request_timeout = request_timeout
        self._sleep = sleep
        self._clock = clock

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | Sequence[str]] | None = None,
        body: Any = None,
        grantless_scope: str | None = None,
        restricted_data_token: str | None = None,
    ) -> SpApiResponse:
        """Sends one operation; returns its parsed JSON on 2xx, raises a typed ``SpApiError`` otherwise.

        ``path`` is Amazon's path with its parameters already percent-encoded; list values in
        ``query`` are sent comma-separated. A ``grantless_scope`` uses a client-credentials token;
        a ``restricted_data_token`` (Tokens API) is sent instead of the seller's LWA token.
        """
        seller_key = self._seller.seller_key if self._seller and not grantless_scope else GRANTLESS_SELLER_KEY
        # Amazon meters each API's operation on its own (v0 and 2026-01-01 getOrder are two buckets).
        metered = metered_operation(operation, path)
        url = self._base_url + path + _query_string(query)
        payload = json.dumps(body).encode() if body is not None else None
        refreshed = False
        last_error: SpApiError | None = None
        attempt = 0
        while True:
            attempt += 1
            self._acquire(seller_key, operation, metered, last_error)
            try:
                headers = self._headers(grantless_scope, payload is not None)  # may call LWA
                if restricted_data_token:
                    headers["x-amz-access-token"] = restricted_data_token
                response = self._send(operation, HttpRequest(method, url, headers, payload), attempt)
            except SpApiError as error:
                if not error.retriable:  # LwaAuthError: the credentials are refused for good
                    raise
                last_error = error
                self._backoff_or_raise(error, attempt)
                continue
            self._limiter.observe_limit_header(seller_key, metered, response.header("x-amzn-ratelimit-limit"))
            if 200 <= response.status < 300:
                try:
                    parsed = _json(response.body)
                except ValueError:
                    last_error = MalformedResponse(
                        operation,
                        "response body is not JSON",
                        status=response.status,
                        request_id=_request_id(response),
                    )
                    self._backoff_or_raise(last_error, attempt)
                    continue
                return SpApiResponse(response.status, parsed, response.headers, _request_id(response))
            failure = _error_for(operation, response)
            if (
                isinstance(failure, SpApiAccessDenied)
                and not refreshed
                and not restricted_data_token
                and _token_problem(failure)
            ):
                # An access token can be revoked or expire early: fetch a new one, once.
                refreshed = True
                self._invalidate_token(grantless_scope)
                attempt -= 1
                continue
            if isinstance(failure, SpApiThrottled):
                self._observer.on_throttled(operation)
                self._limiter.on_throttled(seller_key, metered)
            if not failure.retriable:
                raise failure
            last_error = failure
            self._backoff_or_raise(failure, attempt)

    @property
    def seller_key(self) -> str:
        """Whose calls these are (the rate-limit key); grantless without a seller."""
        return self._seller.seller_key if self._seller else GRANTLESS_SELLER_KEY

    def _budget(self) -> float:
        """Seconds this call may still spend (waiting, sending, backing off)."""
        return self._remaining_time() - SAFETY_MARGIN_SECONDS

    def _acquire(self, seller_key: str, operation: str, metered: str, last_error: SpApiError | None) -> None:
        try:
            if self._budget() <= 0:
                raise SpApiTimeout(operation, "no time left in this invocation")
            self._limiter.acquire(seller_key, metered, max_wait=self._budget())
            if self._budget() <= 0:  # the wait for the token used up what was left
                raise SpApiTimeout(operation, "no time left in this invocation")
        except (RateBudgetExhausted, SpApiTimeout):
            # On a retry the cause worth reporting is what made it necessary (a 429, a 5xx, ...).
            if last_error is not None:
                raise last_error from None
            raise

    def _send(self, operation: str, request: HttpRequest, attempt: int) -> HttpResponse:
        timeout = min(self._request_timeout, self._budget())
        if timeout <= 0:
            raise SpApiTimeout(operation, "no time left in this invocation")
        started = self._clock()
        try:
            response = self._transport.send(request, timeout)
        except TransportError as error:
            latency_ms = (self._clock() - started) * 1000
            self._observer.on_call(operation, None, latency_ms)
            logger.info(
                "sp-api call %s failed: %s attempt=%d latency_ms=%.1f",
                operation,
                error,
                attempt,
                latency_ms,
                extra={"operation": operation, "attempt": attempt, "latency_ms": round(latency_ms, 1)},
            )
            raise SpApiTimeout(operation, str(error)) from None
        latency_ms = (self._clock() - started) * 1000
        self._observer.on_call(operation, response.status, latency_ms)
        request_id = _request_id(response)
        # Successes at debug, anything else at info: a failure's request id is what Amazon support asks for.
        logger.log(
            logging.DEBUG if 200 <= response.status < 300 else logging.INFO,
            "sp-api call %s status=%s request_id=%s attempt=%d latency_ms=%.1f",
            operation,
            response.status,
            request_id,
            attempt,
            latency_ms,
            extra={
                "operation": operation,
                "status": response.status,
                "request_id": request_id,
                "attempt": attempt,
                "latency_ms": round(latency_ms, 1),
            },
        )
        return response

    def _backoff_or_raise(self, error: SpApiError, attempt: int) -> None:
        if attempt >= self._max_attempts:
            raise error
        # Full jitter (AWS Architecture Blog): spreads retries of many containers apart.
        delay = random.uniform(0, min(self._max_backoff, self._base_backoff * 2 ** (attempt - 1)))  # noqa: S311
        if delay >= self._budget():
            raise error
        self._sleep(delay)

    def _headers(self, grantless_scope: str | None, has_body: bool) -> dict[str, str]:
        headers = {
            "x-amz-access-token": self._access_token(grantless_scope),
            "user-agent": USER_AGENT,
            "accept": "application/json",
            "x-amz-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        }
        if has_body:
            headers["content-type"] = "application/json"
        return headers

    def _access_token(self, grantless_scope: str | None) -> str:
        if grantless_scope:
            return self._tokens.access_token(
                self._credentials, token_url=self._lwa_token_url, scope=grantless_scope
            )
        if self._seller is None:
            raise ValueError("a seller is needed for a call that is not grantless")
        try:
            return self._tokens.access_token(
                self._credentials, token_url=self._lwa_token_url, refresh_token=self._seller.refresh_token
            )
        except LwaAuthError as error:
            error.region = self._seller.region.name  # whose token: the seller's in this region
            if error.code == "invalid_grant" and self._on_seller_refused is not None:
                self._on_seller_refused(error)  # the seller deauthorised the app (or the token is wrong)
            raise

    def _invalidate_token(self, grantless_scope: str | None) -> None:
        if grantless_scope:
            self._tokens.invalidate(self._credentials, token_url=self._lwa_token_url, scope=grantless_scope)
        elif self._seller is not None:
            self._tokens.invalidate(
                self._credentials, token_url=self._lwa_token_url, refresh_token=self._seller.refresh_token
            )


def _query_string(query: Mapping[str, str | Sequence[str]] | None) -> str:
    # Amazon's models use Swagger's default collectionFormat (csv) for array parameters;
    # an empty list means "not given" rather than an empty value.
    pairs = [
        (name, value if isinstance(value, str) else ",".join(value))
        for name, value in (query or {}).items()
        if isinstance(value, str) or value
    ]
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def _json(body: bytes) -> Any:
    if not body:
        return {}
    return json.loads(body)


def _request_id(response: HttpResponse) -> str | None:
    return response.header("x-amzn-requestid")


def _error_for(operation: str, response: HttpResponse) -> SpApiError:
    code, message = _amazon_error(response.body)
    status = response.status
    kwargs: dict[str, Any] = {"status": status, "code": code, "request_id": _request_id(response)}
    if status == 429:
        return SpApiThrottled(operation, "throttled", **kwargs)
    if status == 408:
        return SpApiTimeout(operation, "request timed out at the server", **kwargs)
    if status >= 500:
        return SpApiServerError(operation, "server error", **kwargs)
    if status == 404:
        return SpApiNotFound(operation, "not found", **kwargs)
    if status in (401, 403):
        return SpApiAccessDenied(operation, message or "access denied", **kwargs)
    return SpApiClientError(operation, message or "request rejected", **kwargs)


_SAFE_MESSAGE_LENGTH = 200


def _amazon_error(body: bytes) -> tuple[str | None, str | None]:
    """Amazon's first error code and a short message (their messages name fields, not data)."""
    try:
        document = json.loads(body or b"{}")
        first = document["errors"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None, None
    code = first.get("code") if isinstance(first, dict) else None
    parts = [first.get("message"), first.get("details")] if isinstance(first, dict) else []
    message = " - ".join(str(part) for part in parts if part)[:_SAFE_MESSAGE_LENGTH] or None
    return (str(code) if code else None), message


def _token_problem(error: SpApiError) -> bool:
    # Amazon: 403 Unauthorized, "The access token you provided has expired." (or revoked/invalid).
    return error.code in ("Unauthorized", "InvalidToken") or "token" in (error.message or "").lower()
