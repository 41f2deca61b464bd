"""Who calls SP-API: a seller's credentials, and what is known about the application's client secret."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sellerstream.spapi.endpoints import Region

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


class ClientSecretState(NamedTuple):
    client_id: str
    expires_at: datetime | None = None
    secret_updated_at: datetime | None = None
    expiry_notice_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    expiry_reason: str | None = None
    # What set expires_at: "expiry_notice", "new_secret" or "operator".
    expires_at_source: str | None = None
