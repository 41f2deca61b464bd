"""Amazon's usage plans (rate and burst of each operation), read from its OpenAPI models.

Each operation's description in Amazon's models carries its plan as a Markdown table::

    **Usage Plan:**

    | Rate (requests per second) | Burst |
    | ---- | ---- |
    | 0.5 | 30 |

Models differ a little: some write ``Usage Plan:`` without bold, older ones add a ``Plan type``
column with a ``Default`` row and a ``Selling partner specific | Variable | Variable`` row. The
first row with a number in both columns is the plan. Amazon meters each API version's operation
apart (``orders/v0:getOrder`` and ``orders/2026-01-01:getOrder`` are two buckets), so plans are
keyed by that metered name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final, NamedTuple

from sellerstream_local.emulator import vendored


class RatePlan(NamedTuple):
    rate: float  # requests per second
    burst: int


LWA_OPERATION: Final = "lwaToken"
DOCUMENT_DOWNLOAD: Final = "documentDownload"
CONSENT_PAGE: Final = "sellerCentralConsent"
# What the emulator serves without a usage plan from Amazon's models, on purpose: never throttled.
UNMETERED: Final = MappingProxyType(
    {
        # LWA's token endpoint (/auth/o2/token) is Login with Amazon, not an SP-API operation: it has
        # no model and Amazon publishes no usage plan for it. An access token lives an hour, so a
        # client asks about once an hour per seller: no plan to enforce.
        LWA_OPERATION: "Login with Amazon: no model, no published usage plan",
        # A report's or a feed's document URL is S3's (presigned): no access token, no SP-API usage plan.
        DOCUMENT_DOWNLOAD: "a presigned S3 download, not an SP-API operation",
        # Seller Central's consent page of the website authorization workflow: a page a seller's
        # browser loads, not an SP-API operation.
        CONSENT_PAGE: "Seller Central's consent page, a browser page, not an SP-API operation",
    }
)
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def metered_operation(operation: str, path: str) -> str:
    """The name Amazon meters a call under: its API and version, then the operation
    (``/orders/v0/orders/1`` + ``getOrder`` -> ``orders/v0:getOrder``)."""
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    if len(segments) < 2:
        return operation
    return f"{segments[0]}/{segments[1]}:{operation}"


def operation_name(metered: str) -> str:
    """``orders/v0:getOrder`` -> ``getOrder`` (a bare name is returned as it is)."""
    return metered.rpartition(":")[2]


def usage_plan(description: str) -> RatePlan | None:
    """The plan in an operation's description, or None when it has none."""
    lines = description.splitlines()
    for index, line in enumerate(lines):
        header = _cells(line)
        if header is None:
            continue
        names = [cell.lower() for cell in header]
        rate = next((i for i, name in enumerate(names) if name.startswith("rate")), None)
        burst = next((i for i, name in enumerate(names) if name == "burst"), None)
        if rate is None or burst is None:
            continue
        for row_line in lines[index + 1 :]:
            row = _cells(row_line)
            if row is None:
                break  # the table ended without a numeric row
            try:
                return RatePlan(float(row[rate]), int(row[burst]))
            except (ValueError, IndexError):
                continue  # the separator row, or a "Variable" one
    return None


def _cells(line: str) -> list[str] | None:
    stripped = line.strip()
    if not (stripped.startswith("|") and stripped.endswith("|")) or len(stripped) < 2:
        return None
    return [cell.strip() for cell in stripped[1:-1].split("|")]


@dataclass(frozen=True)
class ModelledOperation:
    """One operation of one of Amazon's models."""

    model: str  # the model's file name
    method: str  # upper case
    path: str  # the model's path template, base path included
    operation_id: str
    plan: RatePlan | None

    @property
    def metered(self) -> str:
        return metered_operation(self.operation_id, self.path)


@cache
def modelled_operations() -> tuple[ModelledOperation, ...]:
    """Every operation of every vendored model, with its usage plan."""
    found = []
    for file_name in vendored.model_files():
        document = vendored.model(file_name)
        base = str(document.get("basePath") or "").rstrip("/")
        for template, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if method not in _HTTP_METHODS:
                    continue
                found.append(
                    ModelledOperation(
                        file_name,
                        method.upper(),
                        base + template,
                        str(operation["operationId"]),
                        usage_plan(str(operation.get("description", ""))),
                    )
                )
    return tuple(found)


@cache
def model_plans() -> Mapping[str, RatePlan]:
    """Each metered operation's plan, from the vendored models (operations without one are left out)."""
    plans: dict[str, RatePlan] = {}
    for operation in modelled_operations():
        if operation.plan is None:
            continue
        known = plans.setdefault(operation.metered, operation.plan)
        if known != operation.plan:
            raise ValueError(
                f"{operation.metered}: two usage plans in Amazon's models ({known}, {operation.plan})"
            )
    return MappingProxyType(plans)
