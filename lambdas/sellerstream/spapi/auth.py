"""Login with Amazon (LWA) access tokens, cached for the container's life.

One token per (client, refresh token) or (client, scope) for grantless calls; refreshed a minute
before it expires; one refresh at a time per key, so a batch of threads makes one LWA call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from sellerstream.spapi.errors import LwaAuthError, SpApiServerError, SpApiTimeout
from sellerstream.spapi.transport import HttpRequest, Transport, TransportError, UrllibTransport

logger = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60.0
LWA_TIMEOUT_SECONDS = 10.0
TERMINAL_LWA_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"})
OPERATION = "lwaToken"


@dataclass(frozen=True)
class LwaCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass
class _CachedToken:
    value: str = field(repr=False)
    expires_at: float


class LwaTokenProvider:
    def __init__(
        self, transport: Transport | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._transport = transport or UrllibTransport()
        self._clock = clock
        self._tokens: dict[tuple[str, str, str], _CachedToken] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._registry_lock = threading.Lock()

    def access_token(
        self,
        credentials: LwaCredentials,
        *,
        token_url: str,
        refresh_token: str | None = None,
        scope: str | None = None,
    ) -> str:
        key = _key(credentials, token_url, refresh_token, scope)
        cached = self._tokens.get(key)
        if cached and cached.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
            return cached.value
        with self._lock_for(key):
            cached = self._tokens.get(key)  # another thread may have refreshed it meanwhile
            if cached and cached.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
                return cached.value
            token = self._request(credentials, token_url, refresh_token, scope)
            self._tokens[key] = token
            return token.value

    def invalidate(
        self,
        credentials: LwaCredentials,
        *,
        token_url: str,
        refresh_token: str | None = None,
        scope: str | None = None,
    ) -> None:
        self._tokens.pop(_key(credentials, token_url, refresh_token, scope), None)

    def _lock_for(self, key: tuple[str, str, str]) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(key, threading.Lock())

    def _request(
        self, credentials: LwaCredentials, token_url: str, refresh_token: str | None, scope: str | None
    ) -> _CachedToken:
        if refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        elif scope:
            form = {"grant_type": "client_credentials", "scope": scope}
        else:
            raise ValueError("an LWA token needs a refresh token or a scope")
        form.update(client_id=credentials.client_id, client_secret=credentials.client_secret)
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
            raise SpApiTimeout(OPERATION, str(error)) from None
        payload = _json_object(response.body)
        logger.debug("lwa token response", extra={"status": response.status, "grant": form["grant_type"]})
        access_token = payload.get("access_token")
        if response.status == 200 and isinstance(access_token, str):
            lifetime = float(str(payload.get("expires_in", 3600)))
            return _CachedToken(value=access_token, expires_at=started + lifetime)
        error_code = str(payload.get("error", "")) or None
        if response.status in (400, 401, 403) and (error_code in TERMINAL_LWA_ERRORS or error_code is None):
            raise LwaAuthError(
                OPERATION, "LWA refused the credentials", status=response.status, code=error_code
            )
        raise SpApiServerError(OPERATION, "LWA token request failed", status=response.status, code=error_code)


def _key(
    credentials: LwaCredentials, token_url: str, refresh_token: str | None, scope: str | None
) -> tuple[str, str, str]:
    # The refresh token is a secret: the cache key holds a digest of it, never the token.
    grant = "rt:" + hashlib.sha256(refresh_token.encode()).hexdigest() if refresh_token else f"scope:{scope}"
    return (credentials.client_id, token_url, grant)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
