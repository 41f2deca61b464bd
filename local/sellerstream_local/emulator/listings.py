"""Listings Items API 2021-08-01 (getListingsItem, searchListingsItems): the listings the emulator
was given (``set_listing``; unset fields deterministic per SKU). Unknown SKUs are not found; a seller
reads only its own.

getListingsItem takes one marketplace or several (Amazon's ``marketplaceIds`` is a list): the item
has a summary and an offer for each asked marketplace where the listing exists, and is not found
when it exists in none. ``includedData=issues`` gives the listing's issues in Amazon's ``Issue``
shape (``code``, ``message``, ``severity``, ``categories``; ``attributeNames`` and ``enforcements``
when known), each naming the marketplaces it applies to (``marketplaceIds``): those of the asked
marketplaces the listing has it in, an issue it has in several of them given once. A listing's
issues are the ones ``set_listing`` gave it, else one missing-attribute error while it has no
status (neither buyable nor discoverable), else none. ``amazon_example_issues`` gives the issues of
Amazon's own getListingsItem example (its listings model), to give a listing.

searchListingsItems pages the listings of one marketplace (the emulator takes one, which is what
the client sends) by Amazon's filters on the last update and creation times, sorted as asked,
``pageSize`` (1-20, default 10) a page; like Amazon it pages through at most ``search_limit``
(1000) items, while ``numberOfResults`` counts every match.

On a region's endpoint (``/eu/listings/...``) both see only the marketplaces of that region: a
listing asked only in another region's marketplace is not found, a search of one finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sellerstream_local.emulator import vendored
from sellerstream_local.emulator.catalog import MARKETPLACES, PRODUCTS, as_datetime
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.orders_api import iso

LISTINGS_MODEL: Final = "listingsItems_2021-08-01.json"
# Amazon: "The maximum number of items (SKUs) that can be returned and paged through is 1000."
SEARCH_LIMIT: Final = 1000
SORT_FIELDS: Final = {"sku": "sku", "createdDate": "created", "lastUpdatedDate": "last_updated"}
# Query parameters a page token does not bind (every other one must repeat the first request's).
_UNBOUND: Final = frozenset({"pageToken", "pageSize", "includedData", "issueLocale"})

INCLUDED_DATA = frozenset(
    {
        "summaries",
        "attributes",
        "issues",
        "offers",
        "fulfillmentAvailability",
        "procurement",
        "relationships",
        "productTypes",
    }
)


@dataclass(frozen=True)
class ListingState:
    seller_id: str
    sku: str
    marketplace_id: str
    asin: str
    item_name: str
    price: str
    quantity: int
    status: tuple[str, ...]
    created: datetime
    last_updated: datetime
    # Amazon's Issue objects as given (without marketplaceIds: the listing's marketplace is added);
    # None: derived from the status.
    issues: tuple[dict[str, Any], ...] | None = None


# What Amazon's listings model requires of an Issue, and what it allows besides.
ISSUE_REQUIRED: Final = frozenset({"code", "message", "severity", "categories"})
ISSUE_FIELDS: Final = ISSUE_REQUIRED | {"attributeNames", "enforcements", "marketplaceIds"}
ISSUE_SEVERITIES: Final = frozenset({"ERROR", "WARNING", "INFO"})


class ListingsApi:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._listings: dict[tuple[str, str, str], ListingState] = {}
        self._deleted: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self.search_limit = SEARCH_LIMIT

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                r"/listings/2021-08-01/items/(?P<seller_id>[^/]+)/(?P<sku>[^/]+)",
                "getListingsItem",
                self.get,
            ),
            Route(
                "GET", r"/listings/2021-08-01/items/(?P<seller_id>[^/]+)", "searchListingsItems", self.search
            ),
        ]

    def set_listing(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        *,
        status: list[str] | None = None,
        last_updated: datetime | str | None = None,
        asin: str | None = None,
        quantity: int | None = None,
        issues: list[dict[str, Any]] | None = None,
    ) -> None:
        """Creates or changes the listing in one marketplace; what is not given stays (a new
        listing's is generated). ``quantity`` is the DEFAULT channel's (fulfillmentAvailability);
        ``issues`` are Amazon ``Issue`` objects (``[]``: none)."""
        if quantity is not None and quantity < 0:
            raise ValueError("a fulfillment channel's quantity is at least 0 (Amazon's model)")
        checked = tuple(_checked_issue(issue) for issue in issues) if issues is not None else None
        key = (seller_id, sku, marketplace_id)
        with self._lock:
            current = self._listings.get(key) or self._generate(*key)
            changes: dict[str, Any] = {}
            if status is not None:
                changes["status"] = tuple(status)
            if last_updated is not None:
                changes["last_updated"] = as_datetime(last_updated)
            if asin is not None:
                changes["asin"] = asin
            if quantity is not None:
                changes["quantity"] = quantity
            if checked is not None:
                changes["issues"] = checked
            self._listings[key] = replace(current, **changes)
            self._deleted.discard(key)

    def delete_listing(self, seller_id: str, sku: str, marketplace_id: str) -> None:
        with self._lock:
            self._deleted.add((seller_id, sku, marketplace_id))

    def get(self, request: EmulatorRequest) -> Reply:
        seller_id = urllib.parse.unquote(request.path_params["seller_id"])
        sku = urllib.parse.unquote(request.path_params["sku"])
        marketplaces = list(dict.fromkeys(request.csv("marketplaceIds")))
        if not marketplaces:
            raise ApiError(400, "InvalidInput", "marketplaceIds is required")
        included = _included(request)
        if seller_id != request.caller:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        with self._lock:
            states = [
                state
                for state in (
                    self._live((seller_id, sku, marketplace_id))
                    for marketplace_id in marketplaces
                    if request.serves(marketplace_id)  # a region's endpoint: its marketplaces only
                )
                if state is not None
            ]
        if not states:
            raise ApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {','.join(marketplaces)}")
        return Reply(200, render_in(states, included))

    def search(self, request: EmulatorRequest) -> Reply:
        seller_id = urllib.parse.unquote(request.path_params["seller_id"])
        marketplaces = request.csv("marketplaceIds")
        if len(marketplaces) != 1:
            raise ApiError(400, "InvalidInput", "marketplaceIds must hold one marketplace")
        included = _included(request)
        page_size = _search_page_size(request.first("pageSize"))
        sort_by = request.first("sortBy") or "lastUpdatedDate"
        sort_order = request.first("sortOrder") or "DESC"
        if sort_by not in SORT_FIELDS or sort_order not in ("ASC", "DESC"):
            raise ApiError(400, "InvalidInput", "Invalid sortBy or sortOrder")
        bounds = {
            name: _moment(request.first(name), name)
            for name in ("lastUpdatedAfter", "lastUpdatedBefore", "createdAfter", "createdBefore")
        }
        if seller_id != request.caller:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        filters = {name: values for name, values in sorted(request.query.items()) if name not in _UNBOUND}
        offset = _offset(request.first("pageToken"), filters)
        with self._lock:
            matching = [
                state
                for key, state in self._listings.items()
                if key[0] == seller_id
                and key[2] == marketplaces[0]
                and request.serves(key[2])
                and key not in self._deleted
                and _within(state, bounds)
            ]
        field_name = SORT_FIELDS[sort_by]
        matching.sort(key=lambda state: (getattr(state, field_name), state.sku), reverse=sort_order == "DESC")
        pageable = matching[: self.search_limit]
        page = pageable[offset : offset + page_size]
        body: dict[str, Any] = {
            "numberOfResults": len(matching),
            "items": [render(state, included) for state in page],
        }
        if offset + page_size < len(pageable):
            body["pagination"] = {"nextToken": _page_token(offset + page_size, filters)}
        return Reply(200, body)

    def _live(self, key: tuple[str, str, str]) -> ListingState | None:
        return None if key in self._deleted else self._listings.get(key)

    def _generate(self, seller_id: str, sku: str, marketplace_id: str) -> ListingState:
        digest = hashlib.sha256(f"{self._seed}:{seller_id}:{sku}:{marketplace_id}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        asin, title, price = rng.choice(PRODUCTS)
        created = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 120))
        return ListingState(
            seller_id=seller_id,
            sku=sku,
            marketplace_id=marketplace_id,
            asin=asin,
            item_name=title,
            price=price,
            quantity=rng.randint(0, 250),
            status=("BUYABLE", "DISCOVERABLE"),
            created=created,
            last_updated=created + timedelta(hours=rng.randint(1, 24 * 30)),
        )


def _included(request: EmulatorRequest) -> set[str]:
    included = set(request.csv("includedData")) or {"summaries"}
    if included - INCLUDED_DATA:
        raise ApiError(
            400, "InvalidInput", f"Invalid includedData: {', '.join(sorted(included - INCLUDED_DATA))}"
        )
    return included


def _search_page_size(value: str | None) -> int:
    try:
        size = int(value) if value else 10
    except ValueError:
        size = 0
    if not 1 <= size <= 20:
        raise ApiError(400, "InvalidInput", "pageSize must be between 1 and 20")
    return size


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return as_datetime(value)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"{name} is not an ISO 8601 date-time") from None


def _within(state: ListingState, bounds: dict[str, datetime | None]) -> bool:
    """Amazon's filters: updated (created) at or after / at or before."""
    checks = (
        (state.last_updated, bounds["lastUpdatedAfter"], bounds["lastUpdatedBefore"]),
        (state.created, bounds["createdAfter"], bounds["createdBefore"]),
    )
    return all(
        (after is None or moment >= after) and (before is None or moment <= before)
        for moment, after, before in checks
    )


def _page_token(offset: int, filters: dict[str, list[str]]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset, "filters": filters}).encode()).decode()


def _offset(token: str | None, filters: dict[str, list[str]]) -> int:
    if not token:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, sent_with = int(state["offset"]), state["filters"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "InvalidInput", "Invalid pageToken") from None
    if sent_with != filters:
        raise ApiError(400, "InvalidInput", "A pageToken needs the filters of the request that gave it")
    return offset


def render_in(states: list[ListingState], included: set[str]) -> dict[str, Any]:
    """One item for the listing in several marketplaces: a summary and an offer for each, and the
    issues of each, an issue the listing has in several of them given once with all of them in its
    ``marketplaceIds``; fulfillment availability and attributes are the listing's (the first
    marketplace's state)."""
    item = render(states[0], included)
    for state in states[1:]:
        other = render(state, included)
        for section in ("summaries", "offers"):
            if section in item:
                item[section].extend(other[section])
        if "issues" in item:
            _merge_issues(item["issues"], other["issues"])
        if "attributes" in item:
            item["attributes"]["item_name"].extend(other["attributes"]["item_name"])
    return item


def _merge_issues(issues: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
    for issue in more:
        same = next(
            (known for known in issues if _without_marketplaces(known) == _without_marketplaces(issue)), None
        )
        if same is None:
            issues.append(issue)
        else:
            same["marketplaceIds"] = list(dict.fromkeys([*same["marketplaceIds"], *issue["marketplaceIds"]]))


def _without_marketplaces(issue: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in issue.items() if name != "marketplaceIds"}


def _checked_issue(issue: dict[str, Any]) -> dict[str, Any]:
    """An Issue as Amazon's listings model has it (required fields, known fields, severities)."""
    if not isinstance(issue, dict) or not ISSUE_REQUIRED.issubset(issue) or set(issue) - ISSUE_FIELDS:
        raise ValueError(f"not an Issue of Amazon's listings model: {issue!r}")
    if issue["severity"] not in ISSUE_SEVERITIES or not isinstance(issue["categories"], list):
        raise ValueError(f"not an Issue of Amazon's listings model: {issue!r}")
    copy: dict[str, Any] = json.loads(json.dumps(issue))  # a copy nothing outside can change
    return copy


def amazon_example_issues(*, severities: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The issues of Amazon's own getListingsItem example (its listings model's 200 response), for
    ``set_listing``: without their ``marketplaceIds`` (the listing's marketplace is added), in
    Amazon's order; ``severities``: only those of these severities."""
    operation = vendored.model(LISTINGS_MODEL)["paths"]["/listings/2021-08-01/items/{sellerId}/{sku}"]["get"]
    issues = operation["responses"]["200"]["examples"]["application/json"]["issues"]
    wanted = set(severities) if severities is not None else None
    return [
        {name: value for name, value in json.loads(json.dumps(issue)).items() if name != "marketplaceIds"}
        for issue in issues
        if wanted is None or issue["severity"] in wanted
    ]


def _issues_of(state: ListingState) -> list[dict[str, Any]]:
    if state.issues is not None:
        given = [json.loads(json.dumps(issue)) for issue in state.issues]
    elif state.status:
        given = []
    else:
        given = [
            {
                "code": "90220",
                "message": "'condition_type' is required but not supplied.",
                "severity": "ERROR",
                "attributeNames": ["condition_type"],
                "categories": ["MISSING_ATTRIBUTE"],
            }
        ]
    for issue in given:
        issue.setdefault("marketplaceIds", [state.marketplace_id])
    return given


def render(state: ListingState, included: set[str]) -> dict[str, Any]:
    currency = MARKETPLACES.get(state.marketplace_id, MARKETPLACES["ATVPDKIKX0DER"])[1]
    item: dict[str, Any] = {"sku": state.sku}
    if "summaries" in included:
        item["summaries"] = [
            {
                "marketplaceId": state.marketplace_id,
                "asin": state.asin,
                "productType": "PRODUCT",
                "conditionType": "new_new",
                "status": list(state.status),
                "itemName": state.item_name,
                "createdDate": iso(state.created),
                "lastUpdatedDate": iso(state.last_updated),
            }
        ]
    if "issues" in included:
        item["issues"] = _issues_of(state)
    if "offers" in included:
        item["offers"] = [
            {
                "marketplaceId": state.marketplace_id,
                "offerType": "B2C",
                "price": {"currencyCode": currency, "amount": state.price},
            }
        ]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": "DEFAULT", "quantity": state.quantity}]
    if "attributes" in included:
        item["attributes"] = {
            "item_name": [{"value": state.item_name, "marketplace_id": state.marketplace_id}]
        }
    return item
