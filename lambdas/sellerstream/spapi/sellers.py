"""Sellers API v1: getMarketplaceParticipations (the marketplaces a seller can list in)."""

from __future__ import annotations

from typing import Any

from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.errors import MalformedResponse


class SellersApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def get_marketplace_participations(self) -> list[dict[str, Any]]:
        """Amazon's ``payload``: one ``{"marketplace", "participation", "storeName"}`` per marketplace."""
        body = self._client.request(
            "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
        ).body
        if not isinstance(body, dict) or not isinstance(body.get("payload"), list):
            raise MalformedResponse("getMarketplaceParticipations", "response has no 'payload' list")
        return [entry for entry in body["payload"] if isinstance(entry, dict)]
