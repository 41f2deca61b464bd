"""SellerStream's own events: one per stored change of an entity, on SellerStream's bus."""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple


class StoredChange(NamedTuple):
    """One record of a table's change stream: an item before and after one write."""

    table: str  # the table's role in the catalog
    sequence: str  # the stream's sequence number: where a retry resumes
    old: dict[str, Any] | None  # None: the write created the item
    new: dict[str, Any] | None  # None: the item was removed (TTL, or by hand)
    stored_at: float | None = None  # when DynamoDB stored the write (epoch seconds)


class Description(NamedTuple):
    """What an entity's change is, as one event's detail tells it (``logic.event_details``)."""

    seller_id: str
    key: dict[str, str]  # the entity's key, by name: with the detail-type, what the event is about
    version: str | int  # comparable within the entity: Amazon's last-update time, or a revision
    previous_version: str | int | None  # the version the write replaced (None: first seen)
    changes: dict[str, Any]  # what changed, e.g. {"order_status": {"from": ..., "to": ...}}
    record: dict[str, Any]  # the entity as stored, without SellerStream's bookkeeping


class OutgoingEvent:
    """One event for SellerStream's bus. Its detail's JSON is made once: the size checks, the
    PutEvents entry and a dead letter all use the same text."""

    __slots__ = ("_detail_json", "detail", "detail_type", "entity_key", "sequence", "stored_at", "version")

    def __init__(
        self,
        detail_type: str,
        entity_key: str,  # the entity's key as one string (what a subscriber orders versions by)
        version: str | int,
        detail: dict[str, Any],
        sequence: str,  # the stream record it comes from
        stored_at: float | None = None,
    ) -> None:
        self.detail_type = detail_type
        self.entity_key = entity_key
        self.version = version
        self.detail = detail
        self.sequence = sequence
        self.stored_at = stored_at
        self._detail_json: str | None = None

    @property
    def event_id(self) -> str:
        return str(self.detail["id"])

    def detail_json(self) -> str:
        if self._detail_json is None:
            self._detail_json = json.dumps(self.detail, separators=(",", ":"), sort_keys=True, default=str)
        return self._detail_json

    def detail_bytes(self) -> int:
        return len(self.detail_json().encode())

    def __repr__(self) -> str:
        return f"OutgoingEvent({self.detail_type!r}, {self.entity_key!r}, {self.version!r}, id={self.detail.get('id')!r})"


def entity_key(detail_type: str, key: dict[str, str]) -> str:
    """The entity's key as one unambiguous string (a SKU may hold any character)."""
    return json.dumps([detail_type, *key.values()], separators=(",", ":"), ensure_ascii=False)


def event_id(entity: str, version: str | int) -> str:
    """The same entity at the same version always gets the same id: a subscriber deduplicates by it."""
    digest = hashlib.sha256(f"{entity}\n{version}".encode()).hexdigest()
    return digest[:32]
