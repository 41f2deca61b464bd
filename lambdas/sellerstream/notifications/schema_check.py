"""A notification checked against Amazon's own JSON Schema of its type: strict where a wrong value
would be stored or keyed (a required field missing, a value of the wrong JSON type), lenient where
Amazon grows (new fields, new enumeration values, patterns, lengths and formats are not checked).

The subset of JSON Schema Amazon's notification schemas use: ``type`` (one or a list, ``null``
included), ``properties``, ``required``, ``items``, ``allOf`` / ``anyOf`` / ``oneOf`` (any one branch
is enough), and ``$ref`` within the document (``#/definitions/...``). A schema whose ``$ref`` points
nowhere is refused when it is loaded, not when a notification arrives. Problems name paths, never
values: bodies carry buyer data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Final

SCHEMA_DIRECTORY: Final = Path(__file__).parent / "schemas"
MAX_DEPTH: Final = 32
MAX_PROBLEMS: Final = 5


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


class SchemaError(ValueError):
    """A schema SellerStream cannot read (a reference to nothing, a type JSON Schema has not)."""


class Schema:
    def __init__(self, document: dict[str, Any], name: str) -> None:
        self.document = document
        self.name = name
        self._check_references(document, 0)

    def problems(self, value: Any) -> list[str]:
        """What in ``value`` breaks the schema (at most ``MAX_PROBLEMS``), as paths and reasons."""
        found: list[str] = []
        self._walk(self.document, value, "", found, 0)
        return found[:MAX_PROBLEMS]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in node:
            reference = node["$ref"]
            if not isinstance(reference, str) or not reference.startswith("#/"):
                raise SchemaError(f"{self.name}: reference {reference!r} is not within the schema")
            target: Any = self.document
            for part in reference[2:].split("/"):
                if not isinstance(target, dict) or part not in target:
                    raise SchemaError(f"{self.name}: reference {reference!r} points nowhere")
                target = target[part]
            if not isinstance(target, dict):
                raise SchemaError(f"{self.name}: reference {reference!r} is not a schema")
            node = target
            seen += 1
            if seen > MAX_DEPTH:
                raise SchemaError(f"{self.name}: references loop at {reference!r}")
        return node

    def _check_references(self, node: Any, depth: int) -> None:
        if depth > MAX_DEPTH * 4:
            return
        if isinstance(node, dict):
            if "$ref" in node:
                self._resolve(node)
            for key, child in node.items():
                if key not in {"example", "examples"}:
                    self._check_references(child, depth + 1)
        elif isinstance(node, list):
            for child in node:
                self._check_references(child, depth + 1)

    def _walk(self, node: dict[str, Any], value: Any, path: str, found: list[str], depth: int) -> None:
        if len(found) >= MAX_PROBLEMS:
            return
        if depth > MAX_DEPTH:
            found.append(f"{path or '<root>'}: nested too deeply")
            return
        node = self._resolve(node)
        for branch in node.get("allOf", []):
            self._walk(branch, value, path, found, depth + 1)
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword)
            if branches and not any(not self._branch_problems(b, value, path, depth) for b in branches):
                found.append(f"{path or '<root>'}: matches none of the {len(branches)} shapes allowed")
        types = node.get("type")
        if types is not None:
            allowed = [types] if isinstance(types, str) else list(types)
            unknown = [name for name in allowed if name not in _JSON_TYPES]
            if unknown:
                raise SchemaError(f"{self.name}: type {unknown[0]!r} at {path or '<root>'}")
            if not any(_JSON_TYPES[name](value) for name in allowed):
                found.append(f"{path or '<root>'}: expected {' or '.join(allowed)}, got {_json_type(value)}")
                return
        if isinstance(value, dict):
            for name in node.get("required", []):
                if name not in value:
                    found.append(f"{_join(path, name)}: required")
            for name, child in (node.get("properties") or {}).items():
                if name in value and isinstance(child, dict):
                    self._walk(child, value[name], _join(path, name), found, depth + 1)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for index, element in enumerate(value):
                before = len(found)
                self._walk(node["items"], element, f"{path}[{index}]", found, depth + 1)
                if len(found) > before:
                    return  # the first bad element is enough: a hostile list is not walked to its end

    def _branch_problems(self, branch: dict[str, Any], value: Any, path: str, depth: int) -> list[str]:
        found: list[str] = []
        self._walk(branch, value, path, found, depth + 1)
        return found


@cache
def schema(file_name: str) -> Schema:
    """Amazon's schema ``file_name`` (in ``schemas/``), read and its references checked once."""
    path = SCHEMA_DIRECTORY / file_name
    if path.parent != SCHEMA_DIRECTORY or not path.is_file():
        raise SchemaError(f"no schema {file_name!r}")
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise SchemaError(f"{file_name}: not a JSON Schema object")
    return Schema(document, file_name)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    for name, check in _JSON_TYPES.items():
        if name != "number" and check(value):
            return name
    return "number" if _is_number(value) else type(value).__name__
