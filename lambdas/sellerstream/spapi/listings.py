"""Listings Items API 2021-08-01: getListingsItem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import MalformedResponse

DEFAULT_INCLUDED_DATA = ("summaries", "issues", "offers", "fulfillmentAvailability")


class ListingsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def get_listings_item(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
    ) -> dict[str, Any]:
        response = self._client.request(
            "getListingsItem",
            "GET",
            f"/listings/2021-08-01/items/{quote(seller_id, safe='')}/{quote(sku, safe='')}",
            query={"marketplaceIds": [marketplace_id], "includedData": list(included_data)},
        )
        if not isinstance(response.body, dict) or "sku" not in response.body:
            raise MalformedResponse("getListingsItem", "response has no 'sku'")
        return response.body
