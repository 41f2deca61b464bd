"""Request/response types and routing shared by the emulator's API modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sellerstream_local.emulator.catalog import in_region


@dataclass(frozen=True)
class EmulatorRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    caller: str = "grantless"  # the seller behind the access token
    # With a Restricted Data Token: the PII it grants for this request (dataElements); else None.
    restricted: frozenset[str] | None = None
    # The region whose endpoint was called (``na``, ``eu``, ``fe``: the path's prefix); None: a path
    # without one, which serves every region.
    region: str | None = None

    def serves(self, marketplace_id: str) -> bool:
        """Whether the endpoint called serves this marketplace (a region's serves only its own)."""
        return in_region(marketplace_id, self.region)

    def first(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def csv(self, name: str) -> list[str]:
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Rendered as Amazon's error body: {"errors": [{"code", "message", "details"}]}."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    operation: str
    handler: Callable[[EmulatorRequest], Reply]
    compiled: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(f"^{self.pattern}$"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.compiled.match(path)
        return found.groupdict() if found else None
