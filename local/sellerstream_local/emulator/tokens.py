"""Tokens API 2021-03-01 (createRestrictedDataToken): Restricted Data Tokens for PII operations.

An RDT authorises only the restricted resources (method + path, with ``{placeholder}`` segments
matching any value) it was created for, for its seller, for an hour; ``dataElements`` say which
PII (``buyerInfo``, ``shippingAddress``, ``buyerTaxInformation``) Orders v0 may return with it.
An RDT created on a region's endpoint works on that region's only (like the access token).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route

RDT_PREFIX = "Atz.sprdt|"
RDT_LIFETIME_SECONDS = 3600
METHODS = frozenset({"GET", "PUT", "POST", "DELETE"})
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
MAX_RESOURCES = 50


@dataclass(frozen=True)
class RestrictedResource:
    method: str
    path: str
    data_elements: frozenset[str]

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(self.path.rstrip("/"))) + "$"
        return re.match(pattern, path.rstrip("/")) is not None


@dataclass(frozen=True)
class RestrictedDataToken:
    caller: str
    resources: tuple[RestrictedResource, ...]
    expires_at: float
    region: str | None = None  # the endpoint's it was created on (None: every region's)

    def resource_for(self, method: str, path: str) -> RestrictedResource | None:
        return next((resource for resource in self.resources if resource.matches(method, path)), None)


class TokensApi:
    def __init__(self) -> None:
        self._tokens: dict[str, RestrictedDataToken] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(
                "POST", r"/tokens/2021-03-01/restrictedDataToken", "createRestrictedDataToken", self.create
            ),
        ]

    def lookup(self, token: str) -> RestrictedDataToken | None:
        with self._lock:
            return self._tokens.get(token)

    def create(self, request: EmulatorRequest) -> Reply:
        if request.caller == "grantless" or request.restricted is not None:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        resources = _resources(request.body)
        token = RDT_PREFIX + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = RestrictedDataToken(
                request.caller, resources, time.monotonic() + RDT_LIFETIME_SECONDS, request.region
            )
        return Reply(200, {"restrictedDataToken": token, "expiresIn": RDT_LIFETIME_SECONDS})


def _resources(body: bytes) -> tuple[RestrictedResource, ...]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(400, "InvalidInput", "Request body is not JSON.") from None
    entries = document.get("restrictedResources") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ApiError(
            400, "InvalidRequest", "Request is missing or has invalid parameters", "Resource not provided."
        )
    if len(entries) > MAX_RESOURCES:
        raise ApiError(400, "InvalidRequest", f"At most {MAX_RESOURCES} restricted resources.")
    resources = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("method") not in METHODS:
            raise ApiError(
                400, "InvalidRequest", "Request is missing or has invalid parameters", "Invalid method."
            )
        path = entry.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiError(
                400, "InvalidRequest", "Request is missing or has invalid parameters", "Invalid path."
            )
        elements = entry.get("dataElements") or []
        if not isinstance(elements, list) or not set(elements) <= DATA_ELEMENTS:
            raise ApiError(
                400, "InvalidRequest", "Request is missing or has invalid parameters", "Invalid dataElements."
            )
        resources.append(RestrictedResource(entry["method"], path, frozenset(elements)))
    return tuple(resources)
