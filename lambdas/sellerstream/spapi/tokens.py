"""Tokens API 2021-03-01: Restricted Data Tokens (RDTs) for operations that return PII.

Orders v0 returns buyer data and shipping addresses only to a call made with an RDT for that
resource. One RDT for a generic path (``/orders/v0/orders/{orderId}``) serves every order of a
seller for its lifetime (an hour), so tokens are cached per seller, container-wide, and renewed a
minute before they expire. An application without Amazon's PII roles is refused an RDT; that is
remembered for the token's lifetime too, so each order is not asked for twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sellerstream.spapi.errors import MalformedResponse, SpApiAccessDenied

if TYPE_CHECKING:  # the client imports this module's cache through its defaults
    from sellerstream.spapi.client import SpApiClient

RENEW_SECONDS_BEFORE_EXPIRY = 60.0
REFUSAL_REMEMBERED_SECONDS = 3600.0


class RestrictedResource(NamedTuple):
    method: str
    path: str  # Amazon's path; ``{orderId}``-style segments stand for any value
    data_elements: tuple[str, ...] = ()


class TokensApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def create_restricted_data_token(self, resources: Sequence[RestrictedResource]) -> tuple[str, float]:
        """An RDT for ``resources`` and its lifetime in seconds."""
        body = {
            "restrictedResources": [
                {
                    "method": r.method,
                    "path": r.path,
                    **({"dataElements": list(r.data_elements)} if r.data_elements else {}),
                }
                for r in resources
            ]
        }
        response = self._client.request(
            "createRestrictedDataToken", "POST", "/tokens/2021-03-01/restrictedDataToken", body=body
        )
        token = response.body.get("restrictedDataToken") if isinstance(response.body, dict) else None
        expires_in = response.body.get("expiresIn") if isinstance(response.body, dict) else None
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise MalformedResponse("createRestrictedDataToken", "response has no restrictedDataToken")
        return token, float(expires_in)


class RestrictedDataTokens:
    """RDTs by (seller, resources), shared by the container's calls. None: the app may not have one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, tuple[RestrictedResource, ...]], tuple[str | None, float]] = {}

    def token(self, client: SpApiClient, resources: tuple[RestrictedResource, ...]) -> str | None:
        key = (client.seller_key, resources)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        try:
            token, lifetime = TokensApi(client).create_restricted_data_token(resources)
        except SpApiAccessDenied:
            # No PII role for this application (or seller): store orders without buyer data.
            self._remember(key, None, REFUSAL_REMEMBERED_SECONDS)
            return None
        self._remember(key, token, lifetime - RENEW_SECONDS_BEFORE_EXPIRY)
        return token

    def clear(self) -> None:
        """Forgets every token (local mode and tests: a new emulator knows none of them)."""
        with self._lock:
            self._tokens.clear()

    def forget(self, client: SpApiClient, resources: tuple[RestrictedResource, ...]) -> None:
        with self._lock:
            self._tokens.pop((client.seller_key, resources), None)

    def _remember(
        self, key: tuple[str, tuple[RestrictedResource, ...]], token: str | None, seconds: float
    ) -> None:
        with self._lock:
            self._tokens[key] = (token, self._clock() + max(seconds, 0.0))


restricted_data_tokens = RestrictedDataTokens()
