"""What the generic consumer stores: the newest state of one entity a notification type names."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sellerstream.domain.events import Description


class NotificationRecord(NamedTuple):
    notification_type: str
    seller_key: str  # the seller or vendor account
    key: dict[str, str]  # the type's natural key (catalog.Stored.key), by name
    version: datetime  # the change's own time: the newest one wins
    notification_id: str
    data: dict[str, Any]  # the payload (or its element) as Amazon sent it
    expires_at: datetime


def notification_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """The ``<what> Changed`` event of a generic type's write: a newer state of one entity (the
    conditional write stores nothing else; an equal or older one rewritten is no event)."""
    version = new.get("last_updated")
    if not isinstance(version, str):
        return None
    previous = old.get("last_updated") if old else None
    if isinstance(previous, str) and previous >= version:
        return None
    data = _data(new)
    before = _data(old) if old else {}
    changed = sorted(name for name in {*data, *before} if data.get(name) != before.get(name))
    seller = str(new["seller_id"])
    return Description(
        seller_id=seller,
        key={"seller_id": seller, **{str(name): str(value) for name, value in dict(new["key"]).items()}},
        version=version,
        previous_version=previous if isinstance(previous, str) else None,
        changes={"fields": changed},
        record={
            "notification_type": new.get("notification_type"),
            "notification_id": new.get("notification_id"),
            "last_updated": version,
            "data": data,
        },
    )


def _data(item: dict[str, Any]) -> dict[str, Any]:
    data = item.get("data")
    return data if isinstance(data, dict) else {}
