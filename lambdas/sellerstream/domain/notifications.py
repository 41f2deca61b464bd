"""What the generic consumer stores: the newest state of one entity a notification type names."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple


class NotificationRecord(NamedTuple):
    notification_type: str
    seller_key: str  # the seller or vendor account
    key: dict[str, str]  # the type's natural key (catalog.Stored.key), by name
    version: datetime  # the change's own time: the newest one wins
    notification_id: str
    data: dict[str, Any]  # the payload (or its element) as Amazon sent it
    expires_at: datetime
