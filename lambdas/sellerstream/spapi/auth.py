"""Login with Amazon (LWA) access tokens, cached for the container's life.

One token per (client, refresh token) or (client, scope) for grantless calls; refreshed a minute
before it expires; one refresh at a time per key, so a batch of threads makes one LWA call. Also the
authorization-code grant of Amazon's authorization workflows (a seller's consent becomes its refresh
token), through the same transport.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable

from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.errors import (
    LwaAuthError,
    MalformedResponse,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream.spapi.transport import HttpRequest, Transport, TransportError, UrllibTransport

logger = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60.0
LWA_TIMEOUT_SECONDS = 10.0
DEFAULT_LIFETIME_SECONDS = 3600.0
# LWA's answers to credentials it will never accept; retrying cannot help.
TERMINAL_LWA_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"})
OPERATION = "lwaToken"
# A refresh token LWA answered ``invalid_grant`` is refused again from memory for this long, so a
# seller whose authorisation was withdrawn costs one LWA exchange per container every few minutes,
# not one per message; a new refresh token (the seller re-authorised) is a new key, tried at once.
REFUSED_GRANT_MEMORY_SECONDS = 300.0


class LwaCredentials:
    # A plain class, not a dataclass (a cold start's millisecond); the repr never shows the secret.
    __slots__ = ("client_id", "client_secret")

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret

    def __repr__(self) -> str:
        return f"LwaCredentials(client_id={self.client_id!r})"


class _CachedToken:
    # A plain class: its default repr shows no token.
    __slots__ = ("expires_at", "value")

    def __init__(self, value: str, expires_at: float) -> None:
        self.value = value
        self.expires_at = expires_at


_Key = tuple[str, str, str]


class LwaTokenProvider:
    def __init__(
        self,
        transport: Transport | None = None,
        token_url: str = LWA_TOKEN_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport or UrllibTransport()
        self._token_url = token_url
        self._clock = clock
        self._tokens: dict[_Key, _CachedToken] = {}
        self._refused: dict[_Key, tuple[float, LwaAuthError]] = {}  # key -> (until, LWA's refusal)
        self._locks: dict[_Key, threading.Lock] = {}
        self._registry_lock = threading.Lock()

    def access_token(
        self,
        credentials: LwaCredentials,
        *,
        refresh_token: str | None = None,
        scope: str | None = None,
        token_url: str | None = None,
    ) -> str:
        """A valid access token: the refresh-token grant, or client credentials with ``scope``.

        ``token_url`` overrides the provider's LWA endpoint for this call (local mode's emulator).
        """
        url = token_url or self._token_url
        key = _key(credentials, url, refresh_token, scope)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        with self._lock_for(key):
            cached = self._fresh(key)  # another thread may have refreshed it meanwhile
            if cached is not None:
                return cached
            self._raise_if_refused(key)
            try:
                token = self._request(credentials, url, refresh_token, scope)
            except LwaAuthError as error:
                if refresh_token and error.code == "invalid_grant":
                    self._refused[key] = (self._clock() + REFUSED_GRANT_MEMORY_SECONDS, error)
                raise
            self._tokens[key] = token
            return token.value

    def refusal(
        self, credentials: LwaCredentials, *, refresh_token: str, token_url: str | None = None
    ) -> LwaAuthError | None:
        """LWA's remembered refusal of this refresh token, if it still stands (no exchange made)."""
        try:
            self._raise_if_refused(_key(credentials, token_url or self._token_url, refresh_token, None))
        except LwaAuthError as error:
            return error
        return None

    def _raise_if_refused(self, key: _Key) -> None:
        refused = self._refused.get(key)
        if refused is None:
            return
        until, error = refused
        if self._clock() >= until:
            del self._refused[key]
            return
        raise LwaAuthError(
            OPERATION,
            f"{error.message} (remembered: not asked again for up to {REFUSED_GRANT_MEMORY_SECONDS:.0f} s)",
            status=error.status,
            code=error.code,
        )

    def invalidate(
        self,
        credentials: LwaCredentials,
        *,
        refresh_token: str | None = None,
        scope: str | None = None,
        token_url: str | None = None,
    ) -> None:
        """Forgets the cached token (Amazon said it expired or was revoked)."""
        self._tokens.pop(_key(credentials, token_url or self._token_url, refresh_token, scope), None)

    def _fresh(self, key: _Key) -> str | None:
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
            return cached.value
        return None

    def _lock_for(self, key: _Key) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(key, threading.Lock())

    def exchange_authorization_code(
        self, credentials: LwaCredentials, *, code: str, redirect_uri: str, token_url: str | None = None
    ) -> str:
        """The refresh token LWA grants for a seller's authorization code (``spapi_oauth_code``, valid
        five minutes and once): the ``authorization_code`` grant, with the redirect URI the consent
        was given for. The access token of the same answer is cached under the new refresh token, so
        the seller's first SP-API calls need no LWA call of their own. LWA's refusal (``invalid_grant``:
        a code reused or expired) raises ``LwaAuthError``; it is not remembered (a code is tried once)."""
        url = token_url or self._token_url
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        payload, started = self._post(credentials, url, form)
        refresh_token = payload.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise MalformedResponse(OPERATION, "LWA answer has no refresh_token", status=200)
        access_token = payload.get("access_token")
        if isinstance(access_token, str) and access_token:
            key = _key(credentials, url, refresh_token, None)
            with self._lock_for(key):
                self._tokens[key] = _CachedToken(access_token, started + _lifetime(payload))
        return refresh_token

    def _request(
        self, credentials: LwaCredentials, token_url: str, refresh_token: str | None, scope: str | None
    ) -> _CachedToken:
        if refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        elif scope:
            form = {"grant_type": "client_credentials", "scope": scope}
        else:
            raise ValueError("an LWA token needs a refresh token or a scope")
        payload, started = self._post(credentials, token_url, form)
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise MalformedResponse(OPERATION, "LWA answer has no access_token", status=200)
        # Timed from before the request, so the cached expiry errs early rather than late.
        return _CachedToken(value=access_token, expires_at=started + _lifetime(payload))

    def _post(
        self, credentials: LwaCredentials, token_url: str, form: dict[str, str]
    ) -> tuple[dict[str, object], float]:
        """LWA's 200 answer to ``form`` (with the client's credentials), and when it was asked;
        any other answer raises. The form holds secrets: only its grant type is ever logged."""
        grant = form["grant_type"]
        form = {**form, "client_id": credentials.client_id, "client_secret": credentials.client_secret}
        request = HttpRequest(
            "POST",
            token_url,
            {"content-type": "application/x-www-form-urlencoded;charset=UTF-8", "accept": "application/json"},
            urllib.parse.urlencode(form).encode(),
        )
        started = self._clock()
        try:
            response = self._transport.send(request, LWA_TIMEOUT_SECONDS)
        except TransportError as error:
            logger.info("lwa token request failed: grant=%s %s", grant, error)
            raise SpApiTimeout(OPERATION, str(error)) from None
        latency_ms = (self._clock() - started) * 1000
        logger.debug(
            "lwa token grant=%s status=%s latency_ms=%.1f",
            grant,
            response.status,
            latency_ms,
            extra={"grant": grant, "status": response.status, "latency_ms": round(latency_ms, 1)},
        )
        payload = _json_object(response.body)
        error_code = _text(payload.get("error"))
        if response.status == 200:
            return payload, started
        if response.status == 429:
            raise SpApiThrottled(OPERATION, "LWA throttled", status=429, code=error_code)
        if 400 <= response.status < 500 and response.status != 408:
            refused = error_code in TERMINAL_LWA_ERRORS or error_code is None
            raise LwaAuthError(
                OPERATION,
                "LWA refused the credentials" if refused else "LWA rejected the token request",
                status=response.status,
                code=error_code,
            )
        raise SpApiServerError(OPERATION, "LWA token request failed", status=response.status, code=error_code)


def _key(credentials: LwaCredentials, token_url: str, refresh_token: str | None, scope: str | None) -> _Key:
    # The refresh token is a secret: the cache key holds a digest of it, never the token.
    grant = "rt:" + hashlib.sha256(refresh_token.encode()).hexdigest() if refresh_token else f"scope:{scope}"
    return (credentials.client_id, token_url, grant)


def _lifetime(payload: dict[str, object]) -> float:
    try:
        lifetime = float(str(payload.get("expires_in", DEFAULT_LIFETIME_SECONDS)))
    except ValueError:
        return DEFAULT_LIFETIME_SECONDS
    return lifetime if lifetime > 0 else DEFAULT_LIFETIME_SECONDS


def _text(value: object) -> str | None:
    return str(value)[:64] if isinstance(value, str) and value else None


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
