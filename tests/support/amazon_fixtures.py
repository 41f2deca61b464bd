"""Amazon's notification JSON schemas, as the functions carry them (``sellerstream/notifications/
schemas``, see its README), and the example notifications each schema carries in ``examples[]``."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from sellerstream.notifications.schema_check import SCHEMA_DIRECTORY

SCHEMA_FILES = {
    "ORDER_CHANGE": "OrderChangeNotification.json",
    "LISTINGS_ITEM_STATUS_CHANGE": "ListingsItemStatusChangeNotification.json",
    "REPORT_PROCESSING_FINISHED": "ReportProcessingFinishedNotification.json",
}


@cache
def _schema(notification_type: str) -> dict[str, Any]:
    with (SCHEMA_DIRECTORY / SCHEMA_FILES[notification_type]).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def schema(notification_type: str) -> dict[str, Any]:
    """Amazon's schema for a type (a copy: callers may change it)."""
    return copy.deepcopy(_schema(notification_type))


def examples(notification_type: str) -> list[dict[str, Any]]:
    """Amazon's example notifications of a type, from its schema (copies)."""
    return copy.deepcopy(_schema(notification_type)["examples"])


def example(notification_type: str, index: int = 0) -> dict[str, Any]:
    return examples(notification_type)[index]
