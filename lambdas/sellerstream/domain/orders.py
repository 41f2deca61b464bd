"""Orders as stored, and the shared state of a seller's order search (backlog windows, checkpoints)."""

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
    """A searchOrders window being paged through by one container at a time (a lease), shared by
    every container: backlog mode's window, or a reconciliation's checkpoint."""

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


class WaitingNotification(NamedTuple):
    """The newest ORDER_CHANGE waiting in the queue for an order."""

    change: float  # epoch seconds of the change it announces
    notification_id: str

    def supersedes(self, change: float, notification_id: str) -> bool:
        """Whether this one stands for a notification of the same order with ``change``: newer, or
        as new and another notification (of two, the recorded one waits)."""
        return self.change > change or (self.change == change and self.notification_id != notification_id)
