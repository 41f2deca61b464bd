"""Sellers API v1 (getMarketplaceParticipations): the marketplaces of the calling seller.

A registered seller participates in ``DEFAULT_MARKETPLACES`` until a test or local mode says
otherwise (``set_marketplaces``); the answer is Amazon's shape (its model's
``GetMarketplaceParticipationsResponse``). A grantless caller is refused, as Amazon refuses it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

from sellerstream_local.emulator.catalog import MARKETPLACES
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route

DEFAULT_MARKETPLACES: Final = ("ATVPDKIKX0DER",)
# Each marketplace's default language (its store's domain is www. + its name, lower case).
_LANGUAGES: Final = {
    "ATVPDKIKX0DER": "en_US",
    "A2EUQ1WTGCTBG2": "en_CA",
    "A1AM78C64UM0Y8": "es_MX",
    "A2Q3Y263D00KWC": "pt_BR",
    "A28R8C7NBKEWEA": "en_IE",
    "A1RKKUPIHCS9HS": "es_ES",
    "A1F83G8C2ARO7P": "en_GB",
    "A13V1IB3VIYZZH": "fr_FR",
    "AMEN7PMS3EDWL": "fr_BE",
    "A1805IZSGTT6HS": "nl_NL",
    "A1PA6795UKMFR9": "de_DE",
    "APJ6JRA9NG5V4": "it_IT",
    "A2NODRKZP88ZB9": "sv_SE",
    "AE08WJ6YKNBMC": "en_ZA",
    "A1C3SOZRARQ6R3": "pl_PL",
    "ARBP9OOSHTCHU": "ar_EG",
    "A33AVAJ2PDY3EV": "tr_TR",
    "A17E79C6D8DWNP": "ar_SA",
    "A2VIGQ35RCS4UG": "ar_AE",
    "A21TJRUUN4KGV": "en_IN",
    "A19VAU5U5O7RUS": "en_SG",
    "A39IBJ37TRP1C6": "en_AU",
    "A1VC38T7YXB528": "ja_JP",
}


class SellersApi:
    def __init__(self) -> None:
        # Seller id -> (marketplace id, participating), in the order set.
        self._marketplaces: dict[str, tuple[tuple[str, bool], ...]] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                r"/sellers/v1/marketplaceParticipations",
                "getMarketplaceParticipations",
                self.participations,
            )
        ]

    def set_marketplaces(
        self, seller_id: str, marketplace_ids: Sequence[str], *, not_participating: Sequence[str] = ()
    ) -> None:
        """The marketplaces Amazon lists for the seller: those in ``not_participating`` with
        ``isParticipating`` false, the others true."""
        unknown = sorted(set(marketplace_ids) - set(MARKETPLACES))
        if unknown:
            raise ValueError(f"the emulator knows no marketplace {', '.join(unknown)}")
        with self._lock:
            self._marketplaces[seller_id] = tuple(
                (marketplace_id, marketplace_id not in not_participating)
                for marketplace_id in dict.fromkeys(marketplace_ids)
            )

    def marketplaces_of(self, seller_id: str) -> tuple[str, ...]:
        """The marketplaces the seller participates in."""
        with self._lock:
            known = self._marketplaces.get(seller_id)
        if known is None:
            return DEFAULT_MARKETPLACES
        return tuple(marketplace_id for marketplace_id, participating in known if participating)

    def participations(self, request: EmulatorRequest) -> Reply:
        if request.caller == "grantless":
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        with self._lock:
            known = self._marketplaces.get(request.caller)
        entries = known if known is not None else tuple((m, True) for m in DEFAULT_MARKETPLACES)
        return Reply(200, {"payload": [_participation(m, participating) for m, participating in entries]})


def _participation(marketplace_id: str, participating: bool) -> dict[str, Any]:
    name, currency, country = MARKETPLACES[marketplace_id]
    return {
        "marketplace": {
            "id": marketplace_id,
            "name": name,
            "countryCode": country,
            "defaultCurrencyCode": currency,
            "defaultLanguageCode": _LANGUAGES.get(marketplace_id, "en_US"),
            "domainName": f"www.{name.lower()}",
        },
        "participation": {"isParticipating": participating, "hasSuspendedListings": False},
        "storeName": "SellerStream Local Store",
    }
