"""Orders API: 2026-01-01 (getOrder with includedData, searchOrders) and v0 (getOrder, getOrderItems,
getOrders, confirmShipment). Paths, parameter names and enums follow Amazon's models of both versions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient, SpApiResponse
from sellerstream.spapi.errors import MalformedResponse, SpApiAccessDenied
from sellerstream.spapi.tokens import RestrictedDataTokens, RestrictedResource, restricted_data_tokens

# Order, items, buyer and recipient (by role, no Restricted Data Token) and fulfilment in one call.
DEFAULT_INCLUDED_DATA = ("BUYER", "RECIPIENT", "FULFILLMENT")
# The enum of includedData in orders_2026-01-01.json.
INCLUDED_DATA_VALUES = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
MAX_MARKETPLACE_IDS = 50  # maxItems of marketplaceIds / MarketplaceIds in both models
# v0 getOrder returns BuyerInfo and ShippingAddress only with an RDT for it; one generic-path RDT
# serves every order of the seller.
V0_ORDER_PII = (RestrictedResource("GET", "/orders/v0/orders/{orderId}", ("buyerInfo", "shippingAddress")),)


class OrdersApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    # -- Orders API 2026-01-01 -------------------------------------------------------------------
    def get_order(
        self, order_id: str, included_data: Sequence[str] = DEFAULT_INCLUDED_DATA
    ) -> dict[str, Any]:
        """The ``order`` object of getOrder (2026-01-01)."""
        query = {"includedData": _included(included_data)} if included_data else None
        response = self._client.request(
            "getOrder", "GET", f"/orders/2026-01-01/orders/{_segment(order_id)}", query=query
        )
        return _object(response, response.body, "order", "getOrder")

    def search_orders(
        self,
        *,
        last_updated_after: datetime,
        marketplace_ids: Sequence[str] | None = None,
        included_data: Sequence[str] = (),
        max_results_per_page: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every order updated at or after ``last_updated_after``, page after page."""
        if not 1 <= max_results_per_page <= 100:
            raise ValueError("max_results_per_page must be between 1 and 100")
        query: dict[str, str | list[str]] = {
            "lastUpdatedAfter": _iso(last_updated_after),
            "maxResultsPerPage": str(max_results_per_page),
        }
        if marketplace_ids:
            query["marketplaceIds"] = _marketplaces(marketplace_ids)
        if included_data:
            query["includedData"] = _included(included_data)
        pages = _Pages("searchOrders")
        while True:
            response = self._client.request("searchOrders", "GET", "/orders/2026-01-01/orders", query=query)
            yield from _list(response, response.body, "orders", "searchOrders")
            pagination = response.body.get("pagination")
            token = pagination.get("nextToken") if isinstance(pagination, dict) else None
            if not pages.next(response, token):
                return
            # Amazon: the next page repeats every other parameter with the same values.
            query = {**query, "paginationToken": str(token)}

    def search_orders_page(
        self,
        *,
        last_updated_after: datetime,
        last_updated_before: datetime,
        pagination_token: str | None = None,
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
        max_results_per_page: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the orders updated in a window, and the token of the next page (None: last).

        A caller paging across invocations keeps the token; Amazon wants every other parameter
        repeated with the same values (``includedData`` and ``maxResultsPerPage`` may change).
        """
        if not 1 <= max_results_per_page <= 100:
            raise ValueError("max_results_per_page must be between 1 and 100")
        if last_updated_before < last_updated_after:
            raise ValueError("lastUpdatedBefore must not be before lastUpdatedAfter")
        query: dict[str, str | list[str]] = {
            "lastUpdatedAfter": _iso(last_updated_after),
            "lastUpdatedBefore": _iso(last_updated_before),
            "maxResultsPerPage": str(max_results_per_page),
        }
        if included_data:
            query["includedData"] = _included(included_data)
        if pagination_token:
            query["paginationToken"] = pagination_token
        response = self._client.request("searchOrders", "GET", "/orders/2026-01-01/orders", query=query)
        orders = _list(response, response.body, "orders", "searchOrders")
        pagination = response.body.get("pagination")
        token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        if token is not None and not isinstance(token, str):
            raise _malformed(response, "searchOrders", "pagination token is not a string")
        if token == pagination_token and token:
            raise _malformed(response, "searchOrders", "pagination token repeated")
        return orders, token or None

    # -- Orders API v0 ---------------------------------------------------------------------------
    def get_order_v0(self, order_id: str, *, restricted_data_token: str | None = None) -> dict[str, Any]:
        """The ``payload`` of getOrder (v0); with an RDT it carries the PII the token grants."""
        response = self._client.request(
            "getOrder",
            "GET",
            f"/orders/v0/orders/{_segment(order_id)}",
            restricted_data_token=restricted_data_token,
        )
        return _object(response, response.body, "payload", "getOrder")

    def get_order_v0_with_pii(
        self, order_id: str, tokens: RestrictedDataTokens = restricted_data_tokens
    ) -> dict[str, Any]:
        """getOrder (v0) with a cached Restricted Data Token, so Amazon includes BuyerInfo and
        ShippingAddress when the order's state allows; without one when the app may not get one."""
        token = tokens.token(self._client, V0_ORDER_PII)
        try:
            return self.get_order_v0(order_id, restricted_data_token=token)
        except SpApiAccessDenied:
            if token is not None:
                tokens.forget(self._client, V0_ORDER_PII)  # revoked or expired early: renewed next time
            raise

    def get_order_items_v0(self, order_id: str) -> list[dict[str, Any]]:
        """Every item of the order across all pages, each ``OrderItemId`` once."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        query: dict[str, str] | None = None
        pages = _Pages("getOrderItems")
        while True:
            response = self._client.request(
                "getOrderItems", "GET", f"/orders/v0/orders/{_segment(order_id)}/orderItems", query=query
            )
            payload = _object(response, response.body, "payload", "getOrderItems")
            for item in _list(response, payload, "OrderItems", "getOrderItems"):
                item_id = item.get("OrderItemId")
                if isinstance(item_id, str):
                    if item_id in seen:
                        continue  # an item repeated on the next page
                    seen.add(item_id)
                items.append(item)
            token = payload.get("NextToken")
            if not pages.next(response, token):
                return items
            query = {"NextToken": str(token)}

    def get_orders_v0(
        self, *, last_updated_after: datetime, marketplace_ids: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """Every order updated at or after ``last_updated_after`` in the marketplaces, page after page."""
        marketplaces = _marketplaces(marketplace_ids)
        if not marketplaces:
            raise ValueError("getOrders needs at least one marketplace id")
        query: dict[str, str | list[str]] = {
            "MarketplaceIds": marketplaces,
            "LastUpdatedAfter": _iso(last_updated_after),
        }
        pages = _Pages("getOrders")
        while True:
            response = self._client.request("getOrders", "GET", "/orders/v0/orders", query=query)
            payload = _object(response, response.body, "payload", "getOrders")
            yield from _list(response, payload, "Orders", "getOrders")
            token = payload.get("NextToken")
            if not pages.next(response, token):
                return
            # MarketplaceIds is required on every page; the token carries the other filters.
            query = {"MarketplaceIds": marketplaces, "NextToken": str(token)}

    def confirm_shipment(self, order_id: str, request: dict[str, Any]) -> str | None:
        """Sends a ``ConfirmShipmentRequest`` (marketplaceId, packageDetail); Amazon answers 204 with
        no body, so what is returned is its request id (the record of the confirmation)."""
        response = self._client.request(
            "confirmShipment",
            "POST",
            f"/orders/v0/orders/{_segment(order_id)}/shipmentConfirmation",
            body=request,
        )
        return response.request_id


class _Pages:
    """Stops at the last page, and refuses a token already followed (it would loop forever)."""

    def __init__(self, operation: str) -> None:
        self._operation = operation
        self._followed: set[str] = set()

    def next(self, response: SpApiResponse, token: object) -> bool:
        if token is None or token == "":
            return False
        if not isinstance(token, str):
            raise _malformed(response, self._operation, "pagination token is not a string")
        if token in self._followed:
            raise _malformed(response, self._operation, "pagination token repeated")
        self._followed.add(token)
        return True


def _segment(value: str) -> str:
    if not value:
        raise ValueError("an empty path parameter")
    return quote(value, safe="")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps sent to Amazon must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _included(values: Sequence[str]) -> list[str]:
    unknown = set(values) - INCLUDED_DATA_VALUES
    if unknown:
        raise ValueError(f"unknown includedData values {sorted(unknown)}")
    return list(dict.fromkeys(values))


def _marketplaces(values: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(values))
    if len(unique) > MAX_MARKETPLACE_IDS:
        raise ValueError(f"at most {MAX_MARKETPLACE_IDS} marketplace ids per request")
    return unique


def _object(response: SpApiResponse, body: Any, key: str, operation: str) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise _malformed(response, operation, f"response has no {key!r} object")
    return value


def _list(response: SpApiResponse, body: Any, key: str, operation: str) -> list[dict[str, Any]]:
    # Required by the model: an absent list is a broken answer, not an empty page.
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise _malformed(response, operation, f"response has no {key!r} list")
    return value


def _malformed(response: SpApiResponse, operation: str, message: str) -> MalformedResponse:
    return MalformedResponse(operation, message, status=response.status, request_id=response.request_id)
