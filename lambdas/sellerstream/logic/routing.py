"""A consumer whose queue takes several types: each notification to the use case of its type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sellerstream import catalog
from sellerstream.errors import UnknownNotificationTypeError
from sellerstream.logic.batch import NotificationUseCase, RemainingTime


class ByType:
    """``use_cases`` by the catalog's name of each type (any of a type's spellings reaches it)."""

    def __init__(self, use_cases: Mapping[str, NotificationUseCase]) -> None:
        self.use_cases = dict(use_cases)

    def apply(self, notification: Any, remaining_time: RemainingTime) -> dict[str, Any]:
        declared = catalog.message_type(notification.notification_type)
        use_case = self.use_cases.get(declared.name) if declared is not None else None
        if use_case is None:  # the queue accepted a type this function was not built for
            raise UnknownNotificationTypeError(
                f"no use case for {notification.notification_type} in this function",
                notification_id=notification.notification_id,
            )
        return use_case.apply(notification, remaining_time)
