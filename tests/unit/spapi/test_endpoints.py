"""Regional hosts and Amazon's marketplace -> region table."""

from __future__ import annotations

import pytest

from sellerstream.spapi.endpoints import (
    LWA_TOKEN_URL,
    MARKETPLACE_REGIONS,
    Region,
    UnknownMarketplaceError,
    base_url,
    region_for_marketplace,
)

# Amazon's "Marketplace IDs" page.
AMAZON_MARKETPLACES = {
    "A2EUQ1WTGCTBG2": Region.NA,  # Canada
    "ATVPDKIKX0DER": Region.NA,  # United States
    "A1AM78C64UM0Y8": Region.NA,  # Mexico
    "A2Q3Y263D00KWC": Region.NA,  # Brazil
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
    "A19VAU5U5O7RUS": Region.FE,  # Singapore
    "A39IBJ37TRP1C6": Region.FE,  # Australia
    "A1VC38T7YXB528": Region.FE,  # Japan
}


@pytest.mark.parametrize(("marketplace_id", "region"), sorted(AMAZON_MARKETPLACES.items()))
def test_given_marketplace_when_looked_up_then_its_region(marketplace_id: str, region: Region) -> None:
    assert region_for_marketplace(marketplace_id) is region


def test_table_holds_exactly_amazons_marketplaces() -> None:
    assert MARKETPLACE_REGIONS == AMAZON_MARKETPLACES


def test_given_unknown_marketplace_when_looked_up_then_error_naming_it() -> None:
    with pytest.raises(UnknownMarketplaceError, match="XXXX"):
        region_for_marketplace("XXXX")


@pytest.mark.parametrize(
    ("region", "sandbox", "expected"),
    [
        (Region.NA, False, "https://sellingpartnerapi-na.amazon.com"),
        (Region.EU, False, "https://sellingpartnerapi-eu.amazon.com"),
        (Region.FE, False, "https://sellingpartnerapi-fe.amazon.com"),
        (Region.NA, True, "https://sandbox.sellingpartnerapi-na.amazon.com"),
        (Region.EU, True, "https://sandbox.sellingpartnerapi-eu.amazon.com"),
        (Region.FE, True, "https://sandbox.sellingpartnerapi-fe.amazon.com"),
    ],
)
def test_given_region_when_base_url_then_amazons_host(region: Region, sandbox: bool, expected: str) -> None:
    assert base_url(region, sandbox=sandbox) == expected


def test_given_override_when_base_url_then_override_without_trailing_slash() -> None:
    assert base_url(Region.EU, sandbox=True, override="http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


def test_lwa_token_url_is_amazons() -> None:
    assert LWA_TOKEN_URL == "https://api.amazon.com/auth/o2/token"
