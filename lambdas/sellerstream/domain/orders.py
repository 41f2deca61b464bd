"""Orders as stored, the orders waiting to be fetched with their drainer's lease, and the shared state
of a seller's order search (reconciliation checkpoints)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class WriteOutcome(StrEnum):
    WRITTEN = "written"
    STALE = "stale"  # the store already holds this state or a newer one


class OrderRecord:
    """One order as stored: Amazon's response, keyed by its own last-update time. A plain class (a
    generated dataclass costs every cold start about a millisecond); its repr never shows the buyer
    data in ``pii``."""

    __slots__ = ("attributes", "last_updated", "order_id", "pii", "pii_expires_at", "seller_id")

    def __init__(
        self,
        seller_id: str,
        order_id: str,
        last_updated: datetime,
        attributes: dict[str, Any],
        pii: dict[str, Any] | None = None,
        pii_expires_at: datetime | None = None,
    ) -> None:
        self.seller_id = seller_id
        self.order_id = order_id
        self.last_updated = last_updated
        self.attributes = attributes
        self.pii = pii
        self.pii_expires_at = pii_expires_at

    def with_attributes(self, attributes: dict[str, Any]) -> OrderRecord:
        return OrderRecord(
            self.seller_id, self.order_id, self.last_updated, attributes, self.pii, self.pii_expires_at
        )

    def __repr__(self) -> str:
        return (
            f"OrderRecord(seller_id={self.seller_id!r}, order_id={self.order_id!r}, "
            f"last_updated={self.last_updated!r})"
        )


class BacklogWindow(NamedTuple):
    """A search window being paged through by one container at a time (a lease), shared by every
    container: a reconciliation's checkpoint."""

    after: datetime
    before: datetime
    next_token: str | None  # None: the first page is still to be fetched
    done: bool
    version: int
    lease_until: float
    pages: int
    orders: int

    def covers(self, moment: datetime) -> bool:
        return self.after <= moment <= self.before

    def leased(self, now: float) -> bool:
        return self.lease_until > now


class SellerAccount(NamedTuple):
    """A seller in one SP-API region: what Amazon authorises and meters apart (``Region`` value)."""

    seller_id: str
    region: str


class PendingChange(NamedTuple):
    """An order of a seller changed at ``changed`` (to the second; its newest change known) and is
    not stored at that state yet: what a notification leaves behind once it is acknowledged. A
    fetch that failed, or found Amazon still showing an older state, is counted (``attempts``) and
    tried again no sooner than ``not_before`` (epoch seconds)."""

    order_id: str
    changed: datetime
    notification_id: str
    attempts: int = 0
    not_before: float = 0.0


class BucketState(NamedTuple):
    """One rate bucket as its drainer leaves it: the GCRA's theoretical arrival time of the next
    request (epoch seconds), the rate in force and whether Amazon's header confirmed it."""

    tat: float
    rate: float
    confirmed: bool = False


class DrainLease(NamedTuple):
    """The right to spend a seller's Orders budget on its pending changes, held by one container.

    The lease lasts until the holder's invocation ends (``until``) and the holder sends nothing after
    it; the buckets it spends travel with the lease, so the next holder starts where this one
    stopped. ``expired_until`` is set when the lease was taken over after its holder vanished: that
    holder may have spent up to then."""

    owner: str
    until: float
    version: int
    buckets: dict[str, BucketState]
    expired_until: float | None = None
