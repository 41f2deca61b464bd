"""Who calls SP-API: a seller's credentials and marketplaces, and what is known about the
application's client secret."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region

# The client id the stack writes into the LWA app secret it creates: not an application yet.
PLACEHOLDER_CLIENT_ID = "REPLACE_WITH_LWA_CLIENT_ID"


class SellerCredentials:
    # A plain class, not a dataclass (a cold start's millisecond); the repr never shows the token.
    __slots__ = ("refresh_token", "region", "seller_key")

    def __init__(self, seller_key: str, refresh_token: str, region: Region) -> None:
        self.seller_key = seller_key
        self.refresh_token = refresh_token
        self.region = region

    def __repr__(self) -> str:
        return f"SellerCredentials(seller_key={self.seller_key!r}, region={self.region!r})"


class MarketplaceParticipation(NamedTuple):
    """One marketplace of Amazon's getMarketplaceParticipations answer for a seller."""

    marketplace_id: str
    participating: bool
    country_code: str | None = None
    has_suspended_listings: bool = False


class SellerMarketplaces(NamedTuple):
    """The marketplaces a seller can list in, as Amazon last said (``refreshed_at``)."""

    participations: tuple[MarketplaceParticipation, ...]
    refreshed_at: datetime

    def listing_marketplaces(self, region: Region) -> tuple[str, ...]:
        """Where a listing of the seller can be, in Amazon's order: Amazon's own marketplaces of the
        seller's region in which it participates. Amazon also lists non-Amazon ones (invoicing,
        "Non-Amazon" stores) and the seller's region's endpoint takes no other region's: both left out."""
        return tuple(
            dict.fromkeys(
                participation.marketplace_id
                for participation in self.participations
                if participation.participating
                and MARKETPLACE_REGIONS.get(participation.marketplace_id) is region
            )
        )

    def older_than(self, age: timedelta, now: datetime) -> bool:
        return now - self.refreshed_at > age


class ClientSecretState(NamedTuple):
    client_id: str
    expires_at: datetime | None = None
    secret_updated_at: datetime | None = None
    expiry_notice_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    expiry_reason: str | None = None
    # What set expires_at: "expiry_notice", "new_secret" or "operator".
    expires_at_source: str | None = None
