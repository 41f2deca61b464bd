"""Listings as stored: one version of Amazon's getListingsItem per seller, marketplace and SKU."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple


class ListingRecord(NamedTuple):
    seller_id: str
    marketplace_id: str
    sku: str
    last_updated: datetime
    attributes: dict[str, Any]
