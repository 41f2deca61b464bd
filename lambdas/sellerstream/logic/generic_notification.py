"""Any type without a use case of its own: each entity the notification names stored by its
natural key, the newest change winning (``catalog.Stored``); no callback to Amazon."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sellerstream.domain.notifications import NotificationRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.errors import InvalidNotificationError
from sellerstream.notifications.generic import GenericNotification
from sellerstream.ports import NotificationStore, SellerDirectory


class GenericNotificationUseCase:
    def __init__(
        self,
        directory: SellerDirectory,
        store: NotificationStore,
        *,
        retention_days: Mapping[str, int] | None = None,
    ) -> None:
        """``retention_days``: days a type's items are kept, where the deployment changes the catalog's."""
        self._directory = directory
        self._store = store
        self._retention_days = dict(retention_days or {})

    def apply(self, notification: GenericNotification, remaining_time: object = None) -> dict[str, Any]:
        try:
            entities = notification.entities()
        except ValueError as error:
            raise InvalidNotificationError(
                f"{notification.notification_type}: {error}",
                notification_id=notification.notification_id,
                notification_type=notification.notification_type,
            ) from None
        seller_key = (
            notification.seller_id
            or self._directory.for_notification(
                seller_id=None, subscription_id=notification.subscription_id
            ).seller_key
        )
        days = self._retention_days.get(notification.notification_type, notification.stored.retention_days)
        retention = timedelta(days=days)
        outcomes = [
            self._store.put_if_newer(
                NotificationRecord(
                    notification_type=notification.notification_type,
                    seller_key=seller_key,
                    key=entity.key,
                    version=entity.version,
                    notification_id=notification.notification_id,
                    data=entity.data,
                    expires_at=entity.version + retention,
                )
            )
            for entity in entities
        ]
        return {
            "notification_type": notification.notification_type,
            "stored": outcomes.count(WriteOutcome.WRITTEN),
            "unchanged": outcomes.count(WriteOutcome.STALE),
        }
