"""Orders API: 2026-01-01 (one getOrder with includedData) and v0 (getOrder + getOrderItems)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import MalformedResponse

DEFAULT_INCLUDED_DATA = ("BUYER", "RECIPIENT", "FULFILLMENT")


class OrdersApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    # -- Orders API 2026-01-01 -------------------------------------------------------------------
    def get_order(
        self, order_id: str, included_data: Sequence[str] = DEFAULT_INCLUDED_DATA
    ) -> dict[str, Any]:
        query = {"includedData": list(included_data)} if included_data else None
        response = self._client.request(
            "getOrder", "GET", f"/orders/2026-01-01/orders/{_segment(order_id)}", query=query
        )
        return _object(response.body, "order", "getOrder")

    def search_orders(
        self,
        *,
        last_updated_after: datetime,
        marketplace_ids: Sequence[str] | None = None,
        included_data: Sequence[str] = (),
        max_results_per_page: int = 100,
    ) -> Iterator[dict[str, Any]]:
        query: dict[str, str | list[str]] = {
            "lastUpdatedAfter": _iso(last_updated_after),
            "maxResultsPerPage": str(max_results_per_page),
        }
        if marketplace_ids:
            query["marketplaceIds"] = list(marketplace_ids)
        if included_data:
            query["includedData"] = list(included_data)
        while True:
            body = self._client.request("searchOrders", "GET", "/orders/2026-01-01/orders", query=query).body
            yield from _list(body, "orders", "searchOrders")
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return
            query = {"paginationToken": token}

    # -- Orders API v0 ---------------------------------------------------------------------------
    def get_order_v0(self, order_id: str) -> dict[str, Any]:
        response = self._client.request("getOrder", "GET", f"/orders/v0/orders/{_segment(order_id)}")
        return _object(response.body, "payload", "getOrder")

    def get_order_items_v0(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query: dict[str, str] | None = None
        while True:
            response = self._client.request(
                "getOrderItems", "GET", f"/orders/v0/orders/{_segment(order_id)}/orderItems", query=query
            )
            payload = _object(response.body, "payload", "getOrderItems")
            items.extend(_list(payload, "OrderItems", "getOrderItems"))
            token = payload.get("NextToken")
            if not token:
                return items
            query = {"NextToken": token}

    def get_orders_v0(
        self, *, last_updated_after: datetime, marketplace_ids: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        query: dict[str, str | list[str]] = {
            "MarketplaceIds": list(marketplace_ids),
            "LastUpdatedAfter": _iso(last_updated_after),
        }
        while True:
            payload = _object(
                self._client.request("getOrders", "GET", "/orders/v0/orders", query=query).body,
                "payload",
                "getOrders",
            )
            yield from _list(payload, "Orders", "getOrders")
            token = payload.get("NextToken")
            if not token:
                return
            query = {"MarketplaceIds": list(marketplace_ids), "NextToken": token}


def _segment(value: str) -> str:
    return quote(value, safe="")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object(body: Any, key: str, operation: str) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise MalformedResponse(operation, f"response has no {key!r} object")
    return value


def _list(body: Any, key: str, operation: str) -> list[dict[str, Any]]:
    value = body.get(key, []) if isinstance(body, dict) else None
    if not isinstance(value, list):
        raise MalformedResponse(operation, f"response has no {key!r} list")
    return value
