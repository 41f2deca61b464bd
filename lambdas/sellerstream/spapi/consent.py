"""Where a seller gives an application its consent: Seller Central's consent page, and which hosts
may hand a seller back to Amazon (the Appstore workflow's ``amazon_callback_uri``).

Amazon's documentation: "Authorizing Selling Partner API applications" (the OAuth authorization
URI, ``<Seller Central URL>/apps/authorize/consent``), its "Seller Central URLs" table, and the
Selling Partner Appstore workflow (whose example callback is
``https://amazon.com/apps/authorize/confirm/amzn1.sellerapps.app.…``).
"""

from __future__ import annotations

import urllib.parse
from typing import Final, NamedTuple

from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region

CONSENT_PATH: Final = "/apps/authorize/consent"
# Where Amazon's Appstore workflow takes the seller back to; any other path of an Amazon host is
# refused, so no redirect of Amazon's own can be chained.
CALLBACK_PATH: Final = "/apps/authorize/confirm"

_EUROPE: Final = "https://sellercentral-europe.amazon.com"

# Amazon's "Seller Central URLs" table, by marketplace id. A marketplace it does not list (Ireland,
# launched since) signs in through its region's Seller Central (REGION_SELLER_CENTRAL).
SELLER_CENTRAL_URLS: Final[dict[str, str]] = {
    "A2EUQ1WTGCTBG2": "https://sellercentral.amazon.ca",  # Canada
    "ATVPDKIKX0DER": "https://sellercentral.amazon.com",  # United States
    "A1AM78C64UM0Y8": "https://sellercentral.amazon.com.mx",  # Mexico
    "A2Q3Y263D00KWC": "https://sellercentral.amazon.com.br",  # Brazil
    "A1RKKUPIHCS9HS": _EUROPE,  # Spain
    "A1F83G8C2ARO7P": _EUROPE,  # United Kingdom
    "A13V1IB3VIYZZH": _EUROPE,  # France
    "AMEN7PMS3EDWL": "https://sellercentral.amazon.com.be",  # Belgium
    "A1805IZSGTT6HS": "https://sellercentral.amazon.nl",  # Netherlands
    "A1PA6795UKMFR9": _EUROPE,  # Germany
    "APJ6JRA9NG5V4": _EUROPE,  # Italy
    "A2NODRKZP88ZB9": "https://sellercentral.amazon.se",  # Sweden
    "AE08WJ6YKNBMC": "https://sellercentral.amazon.co.za",  # South Africa
    "A1C3SOZRARQ6R3": "https://sellercentral.amazon.pl",  # Poland
    "ARBP9OOSHTCHU": "https://sellercentral.amazon.eg",  # Egypt
    "A33AVAJ2PDY3EV": "https://sellercentral.amazon.com.tr",  # Turkey
    "A17E79C6D8DWNP": "https://sellercentral.amazon.sa",  # Saudi Arabia
    "A2VIGQ35RCS4UG": "https://sellercentral.amazon.ae",  # United Arab Emirates
    "A21TJRUUN4KGV": "https://sellercentral.amazon.in",  # India
    "A19VAU5U5O7RUS": "https://sellercentral.amazon.sg",  # Singapore
    "A39IBJ37TRP1C6": "https://sellercentral.amazon.com.au",  # Australia
    "A1VC38T7YXB528": "https://sellercentral.amazon.co.jp",  # Japan
}

# A region named without a marketplace: the Seller Central of its largest marketplace (a unified
# account signs in there for every marketplace of the region).
REGION_SELLER_CENTRAL: Final[dict[Region, str]] = {
    Region.NA: "https://sellercentral.amazon.com",
    Region.EU: _EUROPE,
    Region.FE: "https://sellercentral.amazon.co.jp",
}

# Amazon's marketplace domains and their SP-API region: the Appstore's callback is on one of them
# (``amazon.<domain>``, ``www.``, ``sellercentral.`` or ``vendorcentral.`` before it).
_DOMAIN_REGIONS: Final[dict[str, Region]] = {
    **dict.fromkeys(("amazon.com", "amazon.ca", "amazon.com.mx", "amazon.com.br"), Region.NA),
    **dict.fromkeys(
        (
            "amazon.co.uk",
            "amazon.de",
            "amazon.fr",
            "amazon.it",
            "amazon.es",
            "amazon.ie",
            "amazon.nl",
            "amazon.se",
            "amazon.pl",
            "amazon.com.be",
            "amazon.com.tr",
            "amazon.ae",
            "amazon.sa",
            "amazon.eg",
            "amazon.in",
            "amazon.co.za",
        ),
        Region.EU,
    ),
    **dict.fromkeys(("amazon.co.jp", "amazon.com.au", "amazon.sg", "amazon.com.sg"), Region.FE),
}
_HOST_PREFIXES: Final = ("", "www.", "sellercentral.", "vendorcentral.")
AMAZON_CALLBACK_HOSTS: Final[dict[str, Region]] = {
    **{prefix + domain: region for domain, region in _DOMAIN_REGIONS.items() for prefix in _HOST_PREFIXES},
    # Hosts of Amazon's tables outside that pattern (Seller Central Europe and Japan, Vendor
    # Central of the Middle East and India).
    "sellercentral-europe.amazon.com": Region.EU,
    "sellercentral-japan.amazon.com": Region.FE,
    "vendorcentral.amazon.me": Region.EU,
    "www.vendorcentral.in": Region.EU,
}


def seller_central_url(
    region: Region, marketplace_id: str | None = None, *, override: str | None = None
) -> str:
    """The Seller Central a seller of ``region`` signs in to: the marketplace's when it is known,
    else the region's; ``override`` (local mode: the emulator's, ``{region}`` replaced) wins."""
    if override:
        return override.replace("{region}", region.value).rstrip("/")
    if marketplace_id is not None and MARKETPLACE_REGIONS.get(marketplace_id) is region:
        return SELLER_CENTRAL_URLS.get(marketplace_id, REGION_SELLER_CENTRAL[region])
    return REGION_SELLER_CENTRAL[region]


def consent_url(
    seller_central: str, *, application_id: str, state: str, redirect_uri: str, draft: bool
) -> str:
    """Seller Central's consent page for the application (``version=beta``: a draft application)."""
    query = {"application_id": application_id, "state": state, "redirect_uri": redirect_uri}
    if draft:
        query["version"] = "beta"
    return f"{seller_central}{CONSENT_PATH}?{urllib.parse.urlencode(query)}"


class Callback(NamedTuple):
    """What an Appstore callback URI is: one the seller may be sent to, and its region when its
    host tells it (an override without ``{region}`` serves every region: None)."""

    accepted: bool
    region: Region | None = None


REFUSED: Final = Callback(accepted=False)


def check_callback(url: str, *, override: str | None = None) -> Callback:
    """Whether ``url`` is Amazon's (https, an Amazon marketplace's Seller Central, Vendor Central or
    retail host, no credentials, fragment or other port, Amazon's confirm path), or under the
    override's base (local mode): the seller's browser is sent nowhere else."""
    if len(url) > 2048 or any(not 0x20 < ord(character) < 0x7F or character == "\\" for character in url):
        return REFUSED
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return REFUSED
    if parts.username is not None or parts.password is not None or parts.fragment:
        return REFUSED
    if override:
        return _under_override(parts, override)
    if parts.scheme != "https" or port not in (None, 443) or not parts.path.startswith(CALLBACK_PATH):
        return REFUSED
    region = AMAZON_CALLBACK_HOSTS.get(parts.hostname or "")
    return Callback(accepted=True, region=region) if region is not None else REFUSED


def _under_override(parts: urllib.parse.SplitResult, override: str) -> Callback:
    for region in Region:
        base = urllib.parse.urlsplit(override.replace("{region}", region.value).rstrip("/"))
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and parts.path.startswith(
            base.path + "/"
        ):
            return Callback(accepted=True, region=region if "{region}" in override else None)
    return REFUSED


def with_query(url: str, parameters: dict[str, str]) -> str:
    """``url`` with ``parameters`` added to its query (its own kept, in order)."""
    parts = urllib.parse.urlsplit(url)
    query = "&".join(filter(None, (parts.query, urllib.parse.urlencode(parameters))))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
