"""Amazon's notification JSON schemas, copied into tests/fixtures/amazon (see its README), and the
example notifications each schema carries in ``examples[]``."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"

SCHEMA_FILES = {
    "ORDER_CHANGE": "OrderChangeNotification.json",
    "LISTINGS_ITEM_STATUS_CHANGE": "ListingsItemStatusChangeNotification.json",
    "REPORT_PROCESSING_FINISHED": "ReportProcessingFinishedNotification.json",
}


@cache
def _schema(notification_type: str) -> dict[str, Any]:
    with (FIXTURES / "schemas" / "notifications" / SCHEMA_FILES[notification_type]).open(
        encoding="utf-8"
    ) as handle:
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
