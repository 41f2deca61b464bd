"""Listings Items API 2021-08-01 (getListingsItem): the listings the emulator was given (``set_listing``;
unset fields deterministic per SKU). Unknown SKUs are not found; a seller reads only its own."""

from __future__ import annotations

import hashlib
import random
import threading
import urllib.parse
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerstream_local.emulator.catalog import MARKETPLACES, PRODUCTS, as_datetime
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.orders_api import iso

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


class ListingsApi:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._listings: dict[tuple[str, str, str], ListingState] = {}
        self._deleted: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                r"/listings/2021-08-01/items/(?P<seller_id>[^/]+)/(?P<sku>[^/]+)",
                "getListingsItem",
                self.get,
            )
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
    ) -> None:
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
            self._listings[key] = replace(current, **changes)
            self._deleted.discard(key)

    def delete_listing(self, seller_id: str, sku: str, marketplace_id: str) -> None:
        with self._lock:
            self._deleted.add((seller_id, sku, marketplace_id))

    def get(self, request: EmulatorRequest) -> Reply:
        seller_id = urllib.parse.unquote(request.path_params["seller_id"])
        sku = urllib.parse.unquote(request.path_params["sku"])
        marketplaces = request.csv("marketplaceIds")
        if len(marketplaces) != 1:
            raise ApiError(400, "InvalidInput", "marketplaceIds must hold exactly one marketplace")
        included = set(request.csv("includedData")) or {"summaries"}
        if included - INCLUDED_DATA:
            raise ApiError(
                400, "InvalidInput", f"Invalid includedData: {', '.join(sorted(included - INCLUDED_DATA))}"
            )
        if seller_id != request.caller:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        key = (seller_id, sku, marketplaces[0])
        with self._lock:
            state = None if key in self._deleted else self._listings.get(key)
        if state is None:
            raise ApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplaces[0]}")
        return Reply(200, render(state, included))

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
        item["issues"] = (
            []
            if state.status
            else [
                {
                    "code": "90220",
                    "message": "'condition_type' is required but not supplied.",
                    "severity": "ERROR",
                    "attributeNames": ["condition_type"],
                    "categories": ["MISSING_ATTRIBUTE"],
                }
            ]
        )
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
