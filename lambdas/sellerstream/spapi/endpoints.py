"""SP-API regional endpoints and the marketplace -> region table (Amazon's documentation)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

LWA_TOKEN_URL: Final = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret


class Region(StrEnum):
    NA = "na"
    EU = "eu"
    FE = "fe"


MARKETPLACE_REGIONS: Final[dict[str, Region]] = {
    # North America
    "A2EUQ1WTGCTBG2": Region.NA,  # Canada
    "ATVPDKIKX0DER": Region.NA,  # United States
    "A1AM78C64UM0Y8": Region.NA,  # Mexico
    "A2Q3Y263D00KWC": Region.NA,  # Brazil
    # Europe
    "A28R8C7NBKEWEA": Region.EU,  # Ireland
    "A1RKKUPIHCS9HS": Region.EU,  # Spain
    "A1F83G8C2ARO7P": Region.EU,  # United Kingdom
    "A13V1IB3VIYZZH": Region.EU,  # France
    "AMEN7PMS3EDWL": Region.EU,  # Belgium
    "A1805IZSGTT6HS": Region.EU,  # Netherlands
    "A1PA6795UKMFR9": Region.EU,  # Germany
    "APJ6JRA9NG5V4": Region.EU,  # Italy
    "A2NODRKZP88ZB9": Region.EU,  # Sweden
    "AE08WJ6YKNBMC": Region.EU,  # South Africa
    "A1C3SOZRARQ6R3": Region.EU,  # Poland
    "ARBP9OOSHTCHU": Region.EU,  # Egypt
    "A33AVAJ2PDY3EV": Region.EU,  # Turkey
    "A17E79C6D8DWNP": Region.EU,  # Saudi Arabia
    "A2VIGQ35RCS4UG": Region.EU,  # United Arab Emirates
    "A21TJRUUN4KGV": Region.EU,  # India
    # Far East
    "A19VAU5U5O7RUS": Region.FE,  # Singapore
    "A39IBJ37TRP1C6": Region.FE,  # Australia
    "A1VC38T7YXB528": Region.FE,  # Japan
}


class UnknownMarketplaceError(ValueError):
    pass


def region_for_marketplace(marketplace_id: str) -> Region:
    try:
        return MARKETPLACE_REGIONS[marketplace_id]
    except KeyError:
        raise UnknownMarketplaceError(f"unknown marketplace id {marketplace_id!r}") from None


def base_url(region: Region, *, sandbox: bool = False, override: str | None = None) -> str:
    """Amazon's endpoint of ``region``; an override (local mode, tests) may name the region as
    ``{region}`` (``http://127.0.0.1:8080/{region}``), else it serves every region."""
    if override:
        return override.replace("{region}", region.value).rstrip("/")
    prefix = "sandbox." if sandbox else ""
    return f"https://{prefix}sellingpartnerapi-{region.value}.amazon.com"
