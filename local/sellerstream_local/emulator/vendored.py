"""Amazon's own material the emulator reads: OpenAPI models and example notifications.

Unmodified copies live in ``sellerstream_local/amazon/`` (sources in its README), so local mode
finds them wherever the repository runs. Each file is read once per process.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

AMAZON = Path(__file__).resolve().parents[1] / "amazon"
MODELS = AMAZON / "models"
NOTIFICATION_EXAMPLES = AMAZON / "examples" / "notifications"


@cache
def model(file_name: str) -> dict[str, Any]:
    """One OpenAPI (Swagger 2.0) model, e.g. ``orders_2026-01-01.json``."""
    document: dict[str, Any] = json.loads((MODELS / file_name).read_text(encoding="utf-8"))
    return document


def model_files() -> tuple[str, ...]:
    return tuple(sorted(path.name for path in MODELS.glob("*.json")))


@cache
def notification_examples() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every example notification as (file name, document), in file name order."""
    return tuple(
        (path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(NOTIFICATION_EXAMPLES.glob("*.json"))
    )
