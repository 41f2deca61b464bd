"""The emulator's orders: only those it was given (``set_order``), each owned by one seller.

An order's unset fields are deterministic for its id and the seed. One neutral state per order,
rendered in the shape of each API version, so the v0 and 2026-01-01 views of the same order agree
(same items, same last-update time, mapped status). Like Amazon, an order id the emulator was not
given, or one of another seller, is not found.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import AwareDatetime, TypeAdapter

# Amazon's marketplaces: (name, currency, country).
MARKETPLACES = {
    "ATVPDKIKX0DER": ("Amazon.com", "USD", "US"),
    "A2EUQ1WTGCTBG2": ("Amazon.ca", "CAD", "CA"),
    "A1AM78C64UM0Y8": ("Amazon.com.mx", "MXN", "MX"),
    "A2Q3Y263D00KWC": ("Amazon.com.br", "BRL", "BR"),
    "A28R8C7NBKEWEA": ("Amazon.ie", "EUR", "IE"),
    "A1RKKUPIHCS9HS": ("Amazon.es", "EUR", "ES"),
    "A1F83G8C2ARO7P": ("Amazon.co.uk", "GBP", "GB"),
    "A13V1IB3VIYZZH": ("Amazon.fr", "EUR", "FR"),
    "AMEN7PMS3EDWL": ("Amazon.com.be", "EUR", "BE"),
    "A1805IZSGTT6HS": ("Amazon.nl", "EUR", "NL"),
    "A1PA6795UKMFR9": ("Amazon.de", "EUR", "DE"),
    "APJ6JRA9NG5V4": ("Amazon.it", "EUR", "IT"),
    "A2NODRKZP88ZB9": ("Amazon.se", "SEK", "SE"),
    "AE08WJ6YKNBMC": ("Amazon.co.za", "ZAR", "ZA"),
    "A1C3SOZRARQ6R3": ("Amazon.pl", "PLN", "PL"),
    "ARBP9OOSHTCHU": ("Amazon.eg", "EGP", "EG"),
    "A33AVAJ2PDY3EV": ("Amazon.com.tr", "TRY", "TR"),
    "A17E79C6D8DWNP": ("Amazon.sa", "SAR", "SA"),
    "A2VIGQ35RCS4UG": ("Amazon.ae", "AED", "AE"),
    "A21TJRUUN4KGV": ("Amazon.in", "INR", "IN"),
    "A19VAU5U5O7RUS": ("Amazon.sg", "SGD", "SG"),
    "A39IBJ37TRP1C6": ("Amazon.com.au", "AUD", "AU"),
    "A1VC38T7YXB528": ("Amazon.co.jp", "JPY", "JP"),
}
# SP-API's selling regions, as the emulator's path prefixes name them (Amazon's endpoints are
# sellingpartnerapi-na, -eu and -fe): a refresh token, and the access tokens from it, are one region's.
REGIONS: Final = ("na", "eu", "fe")
# Each marketplace's selling region (Amazon's "SP-API endpoints" table).
MARKETPLACE_REGIONS: Final = {
    **dict.fromkeys(("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"), "na"),
    **dict.fromkeys(
        (
            "A28R8C7NBKEWEA",
            "A1RKKUPIHCS9HS",
            "A1F83G8C2ARO7P",
            "A13V1IB3VIYZZH",
            "AMEN7PMS3EDWL",
            "A1805IZSGTT6HS",
            "A1PA6795UKMFR9",
            "APJ6JRA9NG5V4",
            "A2NODRKZP88ZB9",
            "AE08WJ6YKNBMC",
            "A1C3SOZRARQ6R3",
            "ARBP9OOSHTCHU",
            "A33AVAJ2PDY3EV",
            "A17E79C6D8DWNP",
            "A2VIGQ35RCS4UG",
            "A21TJRUUN4KGV",
        ),
        "eu",
    ),
    **dict.fromkeys(("A19VAU5U5O7RUS", "A39IBJ37TRP1C6", "A1VC38T7YXB528"), "fe"),
}
# What a resource that names no marketplace says it is in, asked on a region's endpoint.
REGION_HOME_MARKETPLACES: Final = {"na": "ATVPDKIKX0DER", "eu": "A1F83G8C2ARO7P", "fe": "A1VC38T7YXB528"}


def region_name(region: str) -> str:
    """``na``, ``eu`` or ``fe`` for a region however spelled (``NA``, ``Region.EU``); else ValueError."""
    name = str(region).lower()
    if name not in REGIONS:
        raise ValueError(f"{region!r} is not an SP-API region ({', '.join(REGIONS)})")
    return name


def in_region(marketplace_id: str, region: str | None) -> bool:
    """Whether a region's endpoint serves the marketplace (None: no region prefix, every region)."""
    return region is None or MARKETPLACE_REGIONS.get(marketplace_id) == region


def marketplaces_in(marketplace_ids: tuple[str, ...] | None, region: str | None) -> list[str] | None:
    """The marketplaces a report or feed names on an endpoint (None: that endpoint does not serve
    it, as it serves no marketplace of it). One given none is any region's, in that region's home
    marketplace (the US without a region)."""
    if marketplace_ids is None:
        return [REGION_HOME_MARKETPLACES[region or "na"]]
    served = [marketplace_id for marketplace_id in marketplace_ids if in_region(marketplace_id, region)]
    return served or None


V0_TO_2026_STATUS = {
    "Pending": "PENDING",
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
    "InvoiceUnconfirmed": "UNSHIPPED",
}
PRODUCTS = (
    ("B08DFPV54V", "Echo Dot (4th Gen) | Smart speaker with Alexa | Charcoal", "29.99"),
    ("B08N5WRWNW", "Stainless Steel Water Bottle, 750 ml", "18.50"),
    ("B0F7YT4YW2", "Hooded Fleece Sweatshirt, Plus Size", "34.00"),
    ("B07XJ8C8F5", "USB-C Charging Cable, 2 m, Braided", "9.99"),
    ("B09G9FPHY6", "Ceramic Coffee Mug Set of 4", "24.95"),
)
FIRST_NAMES = ("James", "Maria", "Chen", "Amara", "Lukas", "Sofia")
LAST_NAMES = ("Wilson", "Garcia", "Wang", "Okafor", "Muller", "Rossi")
_timestamp = TypeAdapter(AwareDatetime)


@dataclass(frozen=True)
class ItemState:
    order_item_id: str
    asin: str
    seller_sku: str
    title: str
    quantity: int
    unit_price: str


@dataclass(frozen=True)
class OrderState:
    order_id: str
    seller_id: str
    marketplace_id: str
    status: str  # v0 vocabulary
    created: datetime
    last_updated: datetime
    items: tuple[ItemState, ...]
    buyer_name: str = field(repr=False)
    buyer_email: str = field(repr=False)
    address: dict[str, str] = field(repr=False)

    @property
    def currency(self) -> str:
        return MARKETPLACES.get(self.marketplace_id, MARKETPLACES["ATVPDKIKX0DER"])[1]

    @property
    def marketplace_name(self) -> str:
        return MARKETPLACES.get(self.marketplace_id, MARKETPLACES["ATVPDKIKX0DER"])[0]

    @property
    def status_2026(self) -> str:
        return V0_TO_2026_STATUS.get(self.status, "PENDING")


def as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return _timestamp.validate_python(value).astimezone(UTC)


class OrderCatalog:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._overrides: dict[str, OrderState] = {}
        self._missing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, order_id: str, seller_id: str | None = None) -> OrderState | None:
        """The order, if the emulator holds it (and it is ``seller_id``'s, when given)."""
        with self._lock:
            state = None if order_id in self._missing else self._overrides.get(order_id)
        if state is None or (seller_id is not None and state.seller_id != seller_id):
            return None
        return state

    def known(self, seller_id: str | None = None) -> list[OrderState]:
        with self._lock:
            states = [s for s in self._overrides.values() if seller_id is None or s.seller_id == seller_id]
        return sorted(states, key=lambda state: (state.last_updated, state.order_id))

    def set(self, order_id: str, **changes: Any) -> None:
        current = self.get(order_id) or self._generate(order_id)
        updates = {key: value for key, value in changes.items() if value is not None}
        for key in ("last_updated", "created"):
            if key in updates:
                updates[key] = as_datetime(updates[key])
        if "items" in updates:
            updates["items"] = tuple(
                self._item(order_id, index, spec) for index, spec in enumerate(updates["items"])
            )
        with self._lock:
            self._missing.discard(order_id)
            self._overrides[order_id] = replace(current, **updates)

    def mark_missing(self, order_id: str) -> None:
        with self._lock:
            self._missing.add(order_id)
            self._overrides.pop(order_id, None)

    def _rng(self, order_id: str) -> random.Random:
        digest = hashlib.sha256(f"{self._seed}:{order_id}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def _generate(self, order_id: str) -> OrderState:
        rng = self._rng(order_id)
        created = datetime(2025, 10, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        items = tuple(self._item(order_id, index, {}) for index in range(rng.randint(1, 5)))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return OrderState(
            order_id=order_id,
            seller_id="A1EMULATEDSELLER",
            marketplace_id="ATVPDKIKX0DER",
            status=rng.choice(("Unshipped", "Unshipped", "Shipped", "Pending")),
            created=created,
            last_updated=created + timedelta(minutes=rng.randint(1, 600)),
            items=items,
            buyer_name=f"{first} {last}",
            buyer_email=f"{rng.randint(10**9, 10**10 - 1)}@marketplace.amazon.com",
            address={
                "name": f"{first} {last}",
                "addressLine1": f"{rng.randint(1, 999)} Main Street",
                "city": "Seattle",
                "stateOrRegion": "WA",
                "postalCode": f"98{rng.randint(100, 199)}",
                "countryCode": "US",
                "addressType": "RESIDENTIAL",
            },
        )

    def _item(self, order_id: str, index: int, spec: dict[str, Any]) -> ItemState:
        rng = self._rng(f"{order_id}#{index}")
        asin, title, price = rng.choice(PRODUCTS)
        return ItemState(
            order_item_id=str(
                spec.get("order_item_id") or f"{int(order_id.replace('-', '')[-10:]) + index:014d}"
            ),
            asin=str(spec.get("asin") or asin),
            seller_sku=str(spec.get("seller_sku") or f"SKU-{asin[-5:]}"),
            title=str(spec.get("title") or title),
            quantity=int(spec.get("quantity") or rng.randint(1, 3)),
            unit_price=str(spec.get("unit_price") or price),
        )
