"""Amazon's own SP-API models and notification schemas, loaded for conformance checks.

The research data lives beside the repository (``../shared/research/data``); tests that need it
skip cleanly when it is absent.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

REPO_ROOT = Path(__file__).resolve().parents[2]
RESEARCH_DATA = REPO_ROOT.parent / "shared" / "research" / "data"


@cache
def load_model(file_name: str) -> dict[str, Any]:
    """An OpenAPI (Swagger 2.0) model from research/data/models, e.g. ``orders_2026-01-01.json``."""
    with (RESEARCH_DATA / "models" / file_name).open() as handle:
        model: dict[str, Any] = json.load(handle)
    return model


def response_validator(file_name: str, definition: str) -> jsonschema.Draft4Validator:
    """A validator for one ``#/definitions/<definition>`` of a model (Swagger 2.0 is JSON Schema draft 4)."""
    model = load_model(file_name)
    schema = {"definitions": model["definitions"], "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft4Validator(schema)


def load_json(relative_path: str) -> Any:
    """Any JSON file under research/data, e.g. ``examples/notifications/ORDER_CHANGE.schema-example-1.json``."""
    with (RESEARCH_DATA / relative_path).open() as handle:
        return json.load(handle)
