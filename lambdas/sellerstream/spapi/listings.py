"""Listings Items API 2021-08-01: getListingsItem and searchListingsItems."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import MalformedResponse

DEFAULT_INCLUDED_DATA = ("summaries", "issues", "offers", "fulfillmentAvailability")
# Amazon's largest page of searchListingsItems (its model: pageSize at most 20).
SEARCH_PAGE_SIZE_LIMIT: Final = 20


class ListingsPage(NamedTuple):
    """One page of searchListingsItems: its items, the next page's token (None: the last page) and
    how many items the search found (Amazon pages through at most 1000 of them)."""

    items: list[dict[str, Any]]
    next_token: str | None
    number_of_results: int


class ListingsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def get_listings_item(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str | Sequence[str],
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
    ) -> dict[str, Any]:
        """The listing in one marketplace, or in several at once (Amazon's ``marketplaceIds`` is a
        list: the answer has a summary for each marketplace where the listing exists)."""
        marketplaces = [marketplace_id] if isinstance(marketplace_id, str) else list(marketplace_id)
        response = self._client.request(
            "getListingsItem",
            "GET",
            f"/listings/2021-08-01/items/{quote(seller_id, safe='')}/{quote(sku, safe='')}",
            query={"marketplaceIds": marketplaces, "includedData": list(included_data)},
        )
        if not isinstance(response.body, dict) or "sku" not in response.body:
            raise MalformedResponse("getListingsItem", "response has no 'sku'")
        return response.body

    def search_listings_items_page(
        self,
        seller_id: str,
        marketplace_id: str,
        *,
        last_updated_after: datetime,
        last_updated_before: datetime,
        page_token: str | None = None,
        page_size: int = SEARCH_PAGE_SIZE_LIMIT,
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
    ) -> ListingsPage:
        """One page of the seller's listings in a marketplace last updated in the window, oldest
        update first (a page's token needs the same filters again)."""
        query: dict[str, str | Sequence[str]] = {
            "marketplaceIds": [marketplace_id],
            "includedData": list(included_data),
            "lastUpdatedAfter": _iso(last_updated_after),
            "lastUpdatedBefore": _iso(last_updated_before),
            "sortBy": "lastUpdatedDate",
            "sortOrder": "ASC",
            "pageSize": str(page_size),
        }
        if page_token:
            query["pageToken"] = page_token
        body = self._client.request(
            "searchListingsItems",
            "GET",
            f"/listings/2021-08-01/items/{quote(seller_id, safe='')}",
            query=query,
        ).body
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise MalformedResponse("searchListingsItems", "response has no 'items' list")
        pagination = body.get("pagination")
        token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        items = [item for item in body["items"] if isinstance(item, dict)]
        found = body.get("numberOfResults")
        return ListingsPage(
            items=items,
            next_token=token if isinstance(token, str) and token else None,
            number_of_results=found if isinstance(found, int) and not isinstance(found, bool) else len(items),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
