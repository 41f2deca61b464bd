"""Our notification models against Amazon's own JSON schemas and example notifications.

For every field of every Amazon example, removing that one field must be rejected by our model
exactly when Amazon's schema rejects it: our required fields are Amazon's required fields, except
those Amazon's own examples in the schema leave out, where the examples are the evidence.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from sellerstream.errors import InvalidNotificationError
from sellerstream.notifications import parse_notification
from tests.conformance.test_schema_contract import EVERY_ITEM, SchemaWalk
from tests.support.spapi_models import load_json

EXAMPLES = {
    "ORDER_CHANGE.schema-example-1.json": "OrderChangeNotification.json",
    "LISTINGS_ITEM_STATUS_CHANGE.schema-example-1.json": "ListingsItemStatusChangeNotification.json",
    "REPORT_PROCESSING_FINISHED.schema-example-1.json": "ReportProcessingFinishedNotification.json",
    "REPORT_PROCESSING_FINISHED.schema-example-2.json": "ReportProcessingFinishedNotification.json",
}


def schema_validator(schema_file: str) -> jsonschema.Validator:
    schema = copy.deepcopy(load_json(f"schemas/notifications/{schema_file}"))
    if schema_file.startswith("ListingsItemStatusChange"):
        # Amazon's schema has a typo in its type enum; real traffic and its own example omit the D.
        schema["properties"]["NotificationType"]["enum"].append("LISTINGS_ITEM_STATUS_CHANGE")
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def field_paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from field_paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from field_paths(value, (*prefix, index))


def without(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node: Any = copied
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return copied


def left_out_by_amazons_examples(schema_file: str) -> set[tuple[Any, ...]]:
    """Fields the schema requires that one of its own examples leaves out (every item: ``[]``)."""
    walk = SchemaWalk(load_json(f"schemas/notifications/{schema_file}"))
    return {field.path for field in walk.fields if field.required and field.omitted_by_example}


def schema_path(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(EVERY_ITEM if isinstance(part, int) else part for part in path)


def model_accepts(document: dict[str, Any]) -> bool:
    try:
        parse_notification(json.dumps(document))
    except InvalidNotificationError:
        return False
    return True


@pytest.mark.parametrize(("example", "schema_file"), EXAMPLES.items())
def test_given_amazons_example_when_parsed_then_valid_for_schema_and_model(
    example: str, schema_file: str
) -> None:
    document = load_json(f"examples/notifications/{example}")

    schema_validator(schema_file).validate(document)
    notification = parse_notification(json.dumps(document))

    assert notification.notification_type == document.get(
        "NotificationType", document.get("notificationType")
    )
    assert notification.notification_id


@pytest.mark.parametrize(("example", "schema_file"), EXAMPLES.items())
def test_given_one_field_removed_when_validated_then_model_and_schema_agree(
    example: str, schema_file: str
) -> None:
    document = load_json(f"examples/notifications/{example}")
    validator = schema_validator(schema_file)
    optional_by_example = left_out_by_amazons_examples(schema_file)
    disagreements = []

    for path in field_paths(document):
        mutated = without(document, path)
        expected = validator.is_valid(mutated) or schema_path(path) in optional_by_example
        if model_accepts(mutated) != expected:
            disagreements.append(("/".join(map(str, path)), "accept" if expected else "reject"))

    assert disagreements == []


def test_given_listings_schema_spelling_when_parsed_then_accepted() -> None:
    document = load_json("examples/notifications/LISTINGS_ITEM_STATUS_CHANGE.schema-example-1.json")
    document["NotificationType"] = "LISTINGS_ITEM_STATUS_CHANGED"

    assert model_accepts(document)
