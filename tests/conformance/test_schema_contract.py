"""The contract Amazon's notification schemas set our models: what Amazon may change without a new
version, they must take.

Amazon asks clients to handle new fields and new enumeration values, and its schemas say which
fields may be left out or null. For every type the catalog consumes whose schema is vendored in
``lambdas/sellerstream/notifications/schemas/`` (found by the type name the schema declares), the
cases below start from Amazon's own example in that schema, change one thing, and parse the result
as the catalog delivers it:

- ``absent``: a field the schema does not require, or that one of Amazon's own examples of its
  object leaves out (the examples are the evidence where they and the required list disagree), is
  removed: it parses;
- ``null``: a field the schema types with "null", or whose description says it will be null, is
  null: it parses;
- ``unknown``: a field Amazon has not announced is added to an object (the root, the metadata, the
  payload, nested objects, every item of an array): it parses to the same notification;
- ``new-value``: an enumeration (any but the type name itself) gets a value it does not list yet:
  it parses, and the model keeps the value wherever it reads the field.

The schema is walked generically (properties, required, type lists with "null", items, anyOf/oneOf,
$ref into its definitions), so a type added to the catalog is checked once its schema is vendored.
Every vendored schema must be a consumed type's, and every consumed type of Amazon's must have one
unless Amazon publishes none.
Today this walks 587 fields of 21 schemas and checks 60 of them, and adds an unknown field to 152
objects: 246 cases with the examples as published (the last test keeps these numbers true).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import pytest

from sellerstream import catalog
from sellerstream.notifications import parse_notification, schema_check
from sellerstream.notifications.envelope import AMAZON_TRANSPORTS
from sellerstream.notifications.generic import GenericNotification
from sellerstream_local.emulator.vendored import AMAZON

# Amazon's schemas as the functions carry them (the generic consumer reads the same files).
SCHEMA_DIRECTORY = schema_check.SCHEMA_DIRECTORY
# Schemas of types SellerStream does not take: Amazon's published files cannot be read (a reference
# to nothing; "#ref" for "$ref"), and Amazon ships no example of either.
AMAZON_EXAMPLES = AMAZON / "examples" / "notifications"
NOT_TAKEN = frozenset(
    {"B2bAnyOfferChangedNotification.json", "ShipmentTrackingMilestoneChangedNotification.json"}
)

# Consumed types Amazon publishes no JSON schema for: their shapes come from its Application
# Management guide and credential-rotation sample (application_oauth.py), and their unit tests.
WITHOUT_PUBLISHED_SCHEMA = frozenset(
    {"APPLICATION_OAUTH_CLIENT_NEW_SECRET", "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"}
)

EVERY_ITEM = "[]"  # a path step: every item of an array
UNANNOUNCED_FIELD = "FieldAmazonAddsLater"
UNANNOUNCED_VALUE = {"Nested": [1, "two", None, {"Deeper": True}]}
DOCUMENTED_NULL = re.compile(r"\bwill be null\b", re.IGNORECASE)
TYPE_FIELDS = ("NotificationType", "notificationType")
ENVELOPE_FIELDS = frozenset(
    {
        "notificationtype",
        "notificationversion",
        "payloadversion",
        "eventtime",
        "payload",
        "notificationmetadata",
    }
)
MAX_DEPTH = 32  # Amazon's schemas nest six deep; deeper is a reference cycle


FieldPath = tuple[str, ...]


def shown(path: FieldPath) -> str:
    return ".".join(path).replace(f".{EVERY_ITEM}", EVERY_ITEM)


# -- walking a schema ------------------------------------------------------------------------------


class SchemaNotCovered(AssertionError):
    """A construct the walk does not read: extend the walk before trusting its cases."""


@dataclass(frozen=True)
class SchemaField:
    path: FieldPath
    node: dict[str, Any] = field(repr=False)  # its schema, references resolved
    required: bool
    omitted_by_example: bool  # one of Amazon's examples of its object leaves it out
    types: frozenset[str]
    enumeration: tuple[Any, ...]  # its values, or its items' values for an array

    @property
    def may_be_absent(self) -> bool:
        if self.is_envelope:
            return False
        return not self.required or self.omitted_by_example

    @property
    def is_envelope(self) -> bool:
        """A field every notification carries, whatever its schema's required list says (one schema,
        FBA inventory's, requires none): without it a notification cannot be routed, ordered or
        deduplicated, so SellerStream requires it."""
        return len(self.path) == 1 and self.path[0].lower() in ENVELOPE_FIELDS

    @property
    def nullable(self) -> bool:
        return "null" in self.types or bool(DOCUMENTED_NULL.search(str(self.node.get("description", ""))))

    @property
    def is_type_name(self) -> bool:
        return len(self.path) == 1 and self.path[0] in TYPE_FIELDS


class _View(NamedTuple):
    """One schema node as the walk reads it: its own keywords merged with its allOf parts and its
    anyOf/oneOf alternatives (a property any alternative has is a property)."""

    types: frozenset[str]
    properties: dict[str, dict[str, Any]]
    required: frozenset[str]
    items: dict[str, Any] | None
    enumeration: tuple[Any, ...]
    examples: tuple[Any, ...]


class SchemaReader:
    """Reads the nodes of one schema, following its references."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen: set[str] = set()
        while "$ref" in node:
            reference = node["$ref"]
            if not isinstance(reference, str) or not reference.startswith("#/") or reference in seen:
                raise SchemaNotCovered(f"reference {reference!r}")
            seen.add(reference)
            target: Any = self.root
            for part in reference[2:].split("/"):
                if not isinstance(target, dict) or part not in target:
                    raise SchemaNotCovered(f"reference {reference!r} leads nowhere")
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target  # draft-07: keywords beside a $ref are ignored
        return node

    def view(self, node: dict[str, Any]) -> _View:
        node = self.resolve(node)
        if "not" in node or "patternProperties" in node:
            raise SchemaNotCovered(f"a keyword of {sorted(node)}")
        parts = [node, *(self.resolve(part) for part in node.get("allOf", []))]
        alternatives = [*node.get("anyOf", []), *node.get("oneOf", [])]
        if isinstance(node.get("items"), list):  # one schema per position: each is an item's
            alternatives.append({"type": "array", "items": {"anyOf": node["items"]}})
        own = [self._own(part) for part in parts]
        others = [self.view(alternative) for alternative in alternatives]
        everything = own + others
        required = frozenset().union(*(view.required for view in own))
        if others:
            required |= frozenset.intersection(*(view.required for view in others))
        properties: dict[str, dict[str, Any]] = {}
        for view in everything:
            for name, child in view.properties.items():
                properties.setdefault(name, child)
        return _View(
            types=frozenset().union(*(view.types for view in everything)),
            properties=properties,
            required=required,
            items=next((view.items for view in everything if view.items is not None), None),
            enumeration=tuple(value for view in everything for value in view.enumeration),
            examples=tuple(example for view in everything for example in view.examples),
        )

    @staticmethod
    def _own(node: dict[str, Any]) -> _View:
        kinds = node.get("type", [])
        types = frozenset([kinds] if isinstance(kinds, str) else kinds)
        if not types and "properties" in node:
            types = frozenset({"object"})
        items = node.get("items")
        return _View(
            types=types,
            properties=dict(node.get("properties", {})),
            required=frozenset(node.get("required", [])),
            items=items if isinstance(items, dict) else None,
            enumeration=tuple(node.get("enum", ())),
            examples=tuple(node.get("examples", ())),
        )


class SchemaWalk(SchemaReader):
    """Every field and object of one notification schema, with the instances Amazon's examples give."""

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self.fields: list[SchemaField] = []
        self.objects: list[FieldPath] = []
        self._walk(schema, (), [], 0)

    def _walk(self, node: dict[str, Any], path: FieldPath, instances: list[Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SchemaNotCovered(f"nesting past {MAX_DEPTH} at {shown(path)}")
        view = self.view(node)
        instances = [*instances, *view.examples]
        if "object" in view.types or view.properties:
            self.objects.append(path)
            objects = [instance for instance in instances if isinstance(instance, dict)]
            for name, child in view.properties.items():
                child_view = self.view(child)
                item_enumeration = self.view(child_view.items).enumeration if child_view.items else ()
                self.fields.append(
                    SchemaField(
                        path=(*path, name),
                        node=self.resolve(child),
                        required=name in view.required,
                        omitted_by_example=any(name not in instance for instance in objects),
                        types=child_view.types,
                        enumeration=child_view.enumeration or item_enumeration,
                    )
                )
                self._walk(child, (*path, name), [o[name] for o in objects if name in o], depth + 1)
        if view.items is not None:
            items = [item for instance in instances if isinstance(instance, list) for item in instance]
            self._walk(view.items, (*path, EVERY_ITEM), items, depth + 1)


def declared_type_names(schema: dict[str, Any]) -> frozenset[str]:
    """The type names a schema gives: its type field's enum, const and examples, and the type its
    own example notifications carry."""
    names: set[str] = set()
    try:
        properties = SchemaReader(schema).view(schema).properties
    except SchemaNotCovered:
        properties = {}
    for type_field in TYPE_FIELDS:
        node = properties.get(type_field, {})
        names.update(node.get("enum", ()), node.get("examples", ()))
        if "const" in node:
            names.add(node["const"])
        names.update(
            example[type_field]
            for example in schema.get("examples", ())
            if isinstance(example, dict) and type_field in example
        )
    return frozenset(name for name in names if isinstance(name, str))


# -- which schema is whose -------------------------------------------------------------------------


@cache
def vendored_schemas() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIRECTORY.glob("*.json"))
        if path.name not in NOT_TAKEN
    }


def consumed_types() -> list[catalog.MessageType]:
    return [
        message_type
        for message_type in catalog.message_types()
        if message_type.transport in AMAZON_TRANSPORTS
    ]


def schemas_of(message_type: catalog.MessageType) -> list[str]:
    return [
        name
        for name, schema in vendored_schemas().items()
        if declared_type_names(schema) & set(message_type.names)
    ]


def checked_types() -> list[tuple[catalog.MessageType, dict[str, Any]]]:
    """Each consumed type with each of its schemas (one per payload version it reads)."""
    return [
        (message_type, vendored_schemas()[name])
        for message_type in consumed_types()
        for name in schemas_of(message_type)
    ]


# -- the cases -------------------------------------------------------------------------------------


def found_at(document: Any, path: FieldPath) -> list[Any]:
    """The values at ``path`` in ``document`` (each item's where the path says ``[]``)."""
    found = [document]
    for step in path:
        following: list[Any] = []
        for value in found:
            if step == EVERY_ITEM and isinstance(value, list):
                following.extend(value)
            elif step != EVERY_ITEM and isinstance(value, dict) and step in value:
                following.append(value[step])
        found = following
    return found


def unlisted_value(values: tuple[Any, ...]) -> Any:
    """A value the enumeration does not list yet, in the style of those it does."""
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return max(values) + 1
    if all(isinstance(value, str) and value == value.upper() for value in values):
        candidate = "ADDED_LATER"
    else:
        candidate = "AddedLater"
    while candidate in values:
        candidate += "X"
    return candidate


@dataclass(frozen=True)
class Case:
    message_type: catalog.MessageType
    kind: str
    path: FieldPath
    example: dict[str, Any] = field(repr=False)  # Amazon's, unchanged
    document: dict[str, Any] = field(repr=False)  # Amazon's, with this case's one change
    value: Any = None

    @property
    def id(self) -> str:
        name = self.message_type.name
        return f"{name}-{self.kind}-{shown(self.path)}" if self.path else f"{name}-{self.kind}"


def _changed(example: dict[str, Any], path: FieldPath, change: Any) -> dict[str, Any] | None:
    """A copy of ``example`` with ``change(object)`` applied to every object holding the last step
    of ``path``; None where the example has no such object, or the change applies to none."""
    document = copy.deepcopy(example)
    holders = [holder for holder in found_at(document, path[:-1]) if isinstance(holder, dict)]
    applied = [change(holder) for holder in holders]
    return document if any(applied) else None


def _absent(key: str) -> Any:
    def change(holder: dict[str, Any]) -> bool:
        if key not in holder:
            return False
        del holder[key]
        return True

    return change


def _null(key: str) -> Any:
    def change(holder: dict[str, Any]) -> bool:
        holder[key] = None
        return True

    return change


def _new_value(key: str, value: Any) -> Any:
    def change(holder: dict[str, Any]) -> bool:
        if key not in holder:
            return False
        if isinstance(holder[key], list):
            holder[key] = [*holder[key], value]
        else:
            holder[key] = value
        return True

    return change


def _unknown(holder: dict[str, Any]) -> bool:
    holder[UNANNOUNCED_FIELD] = copy.deepcopy(UNANNOUNCED_VALUE)
    return True


def _first(
    examples: list[dict[str, Any]], path: FieldPath, change: Any
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The first of Amazon's examples the change applies to, and the changed copy."""
    for example in examples:
        document = _changed(example, path, change)
        if document is not None:
            return example, document
    return None


def assembled_examples(message_type: catalog.MessageType) -> list[dict[str, Any]]:
    """Where Amazon's schema holds only a payload example: the notification local mode assembles
    from it (its README says how)."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(AMAZON_EXAMPLES.glob(f"{message_type.name}.schema-payload-example*.json"))
    ]


def cases_of(message_type: catalog.MessageType, schema: dict[str, Any]) -> Iterator[Case]:
    walk = SchemaWalk(schema)
    examples = list(schema.get("examples", ())) or assembled_examples(message_type)
    if not examples:
        raise SchemaNotCovered(f"{message_type.name}: the schema has no example to start from")
    for example in examples[:1]:
        yield Case(message_type, "example", (), example, copy.deepcopy(example))
    for schema_field in walk.fields:
        path, key = schema_field.path, schema_field.path[-1]
        changes: list[tuple[str, Any, Any]] = []
        if schema_field.may_be_absent:
            changes.append(("absent", _absent(key), None))
        if schema_field.nullable:
            changes.append(("null", _null(key), None))
        if schema_field.enumeration and not schema_field.is_type_name:
            value = unlisted_value(schema_field.enumeration)
            changes.append(("new-value", _new_value(key, value), value))
        for kind, change, value in changes:
            found = _first(examples, path, change)
            if found is not None:
                yield Case(message_type, kind, path, found[0], found[1], value)
    for object_path in walk.objects:
        found = _first(examples, (*object_path, UNANNOUNCED_FIELD), _unknown)
        if found is not None:
            yield Case(message_type, "unknown", (*object_path, UNANNOUNCED_FIELD), found[0], found[1])


CASES = [case for message_type, schema in checked_types() for case in cases_of(message_type, schema)]


def delivered(message_type: catalog.MessageType, document: dict[str, Any]) -> str:
    """The SQS body that carries ``document`` by the type's transport."""
    if message_type.transport is not catalog.Transport.EVENTBRIDGE:
        return json.dumps(document)
    return json.dumps(
        {
            "version": "0",
            "id": "3f0a7c4e-58b1-4a9e-9d0c-2b7e1c5d6f70",
            "detail-type": message_type.name,
            "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.contract",
            "account": "123456789012",
            "time": "2025-01-11T00:09:53Z",
            "region": "us-east-1",
            "resources": [],
            "detail": document,
        }
    )


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if c.kind != "unknown"], ids=lambda case: case.id)
def test_given_amazons_example_changed_as_amazon_may_when_parsed_then_accepted(case: Case) -> None:
    notification = parse_notification(delivered(case.message_type, case.document))

    if case.kind == "new-value":
        kept = found_at(notification.model_dump(mode="json", by_alias=True), case.path)
        assert all(value == case.value or (isinstance(value, list) and case.value in value) for value in kept)


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "unknown"], ids=lambda case: case.id)
def test_given_a_field_amazon_adds_later_when_parsed_then_the_same_notification(case: Case) -> None:
    as_published = parse_notification(delivered(case.message_type, case.example))

    parsed = parse_notification(delivered(case.message_type, case.document))

    if isinstance(parsed, GenericNotification):  # stored as Amazon sent it: the new field kept
        assert parsed.payload == case.document.get("Payload", case.document.get("payload"))
        assert parsed.model_copy(update={"payload": as_published.payload}) == as_published
    else:
        assert parsed == as_published


@pytest.mark.parametrize("schema_name", sorted(vendored_schemas()))
def test_given_a_vendored_schema_then_it_declares_exactly_one_consumed_type(schema_name: str) -> None:
    declared = declared_type_names(vendored_schemas()[schema_name])

    declaring = [t.name for t in consumed_types() if declared & set(t.names)]

    # A schema no consumed type claims would check nothing: a spelling the catalog lacks, or a
    # schema vendored for a type nothing consumes.
    assert len(declaring) == 1, f"{schema_name} declares {sorted(declared)}"


@pytest.mark.parametrize("message_type", consumed_types(), ids=lambda message_type: message_type.name)
def test_given_a_consumed_amazon_type_then_one_schema_checks_it_unless_amazon_publishes_none(
    message_type: catalog.MessageType,
) -> None:
    # One schema per payload version the type's model reads (Amazon publishes one for each).
    expected = 0 if message_type.name in WITHOUT_PUBLISHED_SCHEMA else len(message_type.payload_versions)

    assert len(schemas_of(message_type)) == expected


def test_given_the_types_said_to_have_no_schema_then_each_is_consumed() -> None:
    assert WITHOUT_PUBLISHED_SCHEMA.issubset(message_type.name for message_type in consumed_types())


def _as_references(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every object and array below the root moved into definitions and referred to."""
    moved = copy.deepcopy(schema)
    definitions: dict[str, Any] = {}

    def hoist(node: dict[str, Any]) -> None:
        for name, child in list(node.get("properties", {}).items()):
            hoist(child)
            if child.get("type") in ("object", "array"):
                key = f"Hoisted{len(definitions)}"
                definitions[key] = child
                node["properties"][name] = {"$ref": f"#/definitions/{key}"}
        if isinstance(node.get("items"), dict):
            hoist(node["items"])

    hoist(moved)
    moved["definitions"] = {**moved.get("definitions", {}), **definitions}
    return moved


@pytest.mark.parametrize("schema_name", sorted(vendored_schemas()))
def test_given_a_schema_written_with_references_then_the_walk_finds_the_same_fields(schema_name: str) -> None:
    schema = vendored_schemas()[schema_name]

    inline, referred = SchemaWalk(schema), SchemaWalk(_as_references(schema))

    assert [
        (f.path, f.required, f.omitted_by_example, f.nullable, f.enumeration) for f in referred.fields
    ] == [(f.path, f.required, f.omitted_by_example, f.nullable, f.enumeration) for f in inline.fields]
    assert referred.objects == inline.objects


def test_given_the_consumed_schemas_then_the_module_summary_counts_what_is_checked() -> None:
    walks = [SchemaWalk(schema) for _, schema in checked_types()]
    checked_fields = {
        (case.message_type.name, case.path) for case in CASES if case.kind not in ("unknown", "example")
    }
    counts = {
        "fields": sum(len(walk.fields) for walk in walks),
        "schemas": len(walks),
        "checked": len(checked_fields),
        "objects": sum(1 for case in CASES if case.kind == "unknown"),
        "cases": len(CASES),
    }

    summary = re.search(
        r"walks (?P<fields>\d+) fields of (?P<schemas>\d+) schemas and checks (?P<checked>\d+) of them, "
        r"and adds an unknown field to (?P<objects>\d+)\s+objects: (?P<cases>\d+) cases",
        " ".join((__doc__ or "").split()),
    )
    assert summary is not None
    assert {name: int(value) for name, value in summary.groupdict().items()} == counts
