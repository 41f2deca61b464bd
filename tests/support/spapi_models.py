"""Amazon's own SP-API models and notification schemas, loaded for conformance checks.

They are copied, unmodified, into the repository (provenance in the READMEs), so the conformance
tests run wherever the repository does: the models and example notifications the local emulator
reads in ``local/sellerstream_local/amazon``, the rest in ``tests/fixtures/amazon``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from sellerstream.notifications.schema_check import SCHEMA_DIRECTORY
from sellerstream_local.emulator.vendored import AMAZON

REPO_ROOT = Path(__file__).resolve().parents[2]
RESEARCH_DATA = REPO_ROOT / "tests" / "fixtures" / "amazon"
NOTIFICATION_SCHEMAS = "schemas/notifications/"


@cache
def load_model(file_name: str) -> dict[str, Any]:
    """An OpenAPI (Swagger 2.0) model, e.g. ``orders_2026-01-01.json``."""
    with (AMAZON / "models" / file_name).open() as handle:
        model: dict[str, Any] = json.load(handle)
    return model


def response_validator(file_name: str, definition: str) -> jsonschema.Draft4Validator:
    """A validator for one ``#/definitions/<definition>`` of a model (Swagger 2.0 is JSON Schema draft 4)."""
    model = load_model(file_name)
    schema = {"definitions": model["definitions"], "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft4Validator(schema)


def load_json(relative_path: str) -> Any:
    """Any of Amazon's JSON files, e.g. ``examples/notifications/ORDER_CHANGE.schema-example-1.json``
    (``schemas/notifications/...``: the schemas the functions carry)."""
    if relative_path.startswith(NOTIFICATION_SCHEMAS):
        path = SCHEMA_DIRECTORY / relative_path.removeprefix(NOTIFICATION_SCHEMAS)
    else:
        path = (RESEARCH_DATA if (RESEARCH_DATA / relative_path).exists() else AMAZON) / relative_path
    with path.open() as handle:
        return json.load(handle)


def validate_request(model_file: str, method: str, url: str, body: bytes | None = None) -> str:
    """Checks one request against Amazon's model for it; returns the operationId.

    Path template and method must exist; required path and query parameters must be present; no
    query parameter the operation does not declare; each value must fit its declared type, enum,
    format and array limits (arrays in Swagger's default csv format).
    """
    model = load_model(model_file)
    parts = urllib.parse.urlsplit(url)
    operation, path_values = _match_operation(model, method, parts.path)
    parameters = [_resolve(model, parameter) for parameter in operation.get("parameters", [])]
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    declared = {p["name"] for p in parameters if p["in"] == "query"}
    unknown = set(query) - declared
    assert not unknown, f"{operation['operationId']}: undeclared query parameters {sorted(unknown)}"
    for parameter in parameters:
        name, location = parameter["name"], parameter["in"]
        if location == "path":
            _check_value(operation, parameter, path_values[name])
        elif location == "query":
            if name not in query:
                assert not parameter.get("required"), (
                    f"{operation['operationId']}: required query {name} missing"
                )
                continue
            assert len(query[name]) == 1, f"{operation['operationId']}: {name} repeated; arrays are csv"
            _check_value(operation, parameter, query[name][0])
        elif location == "body":
            assert body is not None or not parameter.get("required"), (
                f"{operation['operationId']}: body missing"
            )
            if body is not None:
                schema = {"definitions": model["definitions"], **parameter["schema"]}
                jsonschema.Draft4Validator(schema).validate(json.loads(body))
    if not any(p["in"] == "body" for p in parameters):
        assert not body, f"{operation['operationId']}: takes no body"
    return str(operation["operationId"])


def _match_operation(model: dict[str, Any], method: str, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    base = model.get("basePath", "").rstrip("/")
    wanted = path.strip("/").split("/")
    for template, operations in model["paths"].items():
        segments = (base + template).strip("/").split("/")
        if len(segments) != len(wanted) or method.lower() not in operations:
            continue
        values: dict[str, str] = {}
        for segment, actual in zip(segments, wanted, strict=True):
            if segment.startswith("{") and segment.endswith("}"):
                values[segment[1:-1]] = urllib.parse.unquote(actual)
            elif segment != actual:
                break
        else:
            return operations[method.lower()], values
    raise AssertionError(f"{method} {path} matches no operation of the model")


def _resolve(model: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = model
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


def _check_value(operation: dict[str, Any], parameter: dict[str, Any], raw: str) -> None:
    label = f"{operation['operationId']}.{parameter['name']}"
    if parameter.get("type") == "array":
        values = raw.split(",") if raw else []
        if "maxItems" in parameter:
            assert len(values) <= parameter["maxItems"], f"{label}: more than {parameter['maxItems']} items"
        if "minItems" in parameter:
            assert len(values) >= parameter["minItems"], f"{label}: fewer than {parameter['minItems']} items"
        for value in values:
            _check_scalar(label, parameter.get("items", {}), value)
    else:
        _check_scalar(label, parameter, raw)


def _check_scalar(label: str, schema: dict[str, Any], raw: str) -> None:
    kind = schema.get("type", "string")
    if kind == "integer":
        value = int(raw)
        assert value >= schema.get("minimum", value), f"{label}: {value} below minimum"
        assert value <= schema.get("maximum", value), f"{label}: {value} above maximum"
    elif kind == "boolean":
        assert raw in ("true", "false"), f"{label}: {raw!r} is not a boolean"
    if "enum" in schema:
        assert raw in schema["enum"], f"{label}: {raw!r} not in {schema['enum']}"
    if schema.get("format") == "date-time":
        datetime.fromisoformat(raw.replace("Z", "+00:00"))


def validate_request_headers(
    model_file: str, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
) -> str:
    """Checks the headers of one request against Amazon's model for it; returns the operationId.

    SP-API authenticates with an LWA token in ``x-amz-access-token``; ``accept`` must name a type
    the operation produces and ``content-type`` (with a body) one it consumes; every header
    parameter the model declares as required must be present and fit its type and enum.
    """
    model = load_model(model_file)
    operation, _ = _match_operation(model, method, urllib.parse.urlsplit(url).path)
    operation_id = str(operation["operationId"])
    lowered = {name.lower(): value for name, value in headers.items()}
    assert lowered.get("x-amz-access-token"), f"{operation_id}: no x-amz-access-token header"
    assert lowered.get("user-agent"), f"{operation_id}: no user-agent header"
    produces = operation.get("produces", model.get("produces", ["application/json"]))
    accept = lowered.get("accept", "*/*").split(";")[0].strip()
    assert accept == "*/*" or accept in produces, f"{operation_id}: accept {accept!r} not in {produces}"
    if body:
        consumes = operation.get("consumes", model.get("consumes", ["application/json"]))
        content_type = lowered.get("content-type", "").split(";")[0].strip()
        assert content_type in consumes, f"{operation_id}: content-type {content_type!r} not in {consumes}"
    for parameter in (_resolve(model, p) for p in operation.get("parameters", [])):
        if parameter["in"] != "header":
            continue
        value = lowered.get(parameter["name"].lower())
        if value is None:
            assert not parameter.get("required"), (
                f"{operation_id}: required header {parameter['name']} missing"
            )
            continue
        _check_value(operation, parameter, value)
    return operation_id


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def validate_http_request(
    model_file: str, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
) -> str:
    """The whole request against Amazon's model (URL, query, body, headers); returns the operationId.

    On top of ``validate_request`` and ``validate_request_headers``: a value that does not parse
    as its declared type is an AssertionError (not a crash), ``date-time`` values are full RFC 3339
    timestamps, and csv arrays have no empty or repeated element.
    """
    try:
        operation_id = validate_request(model_file, method, url, body)
    except (ValueError, jsonschema.ValidationError) as error:  # int("x"), fromisoformat("x"), a bad body
        path = urllib.parse.urlsplit(url).path
        raise AssertionError(f"{method} {path}: invalid value ({str(error).splitlines()[0]})") from None
    assert validate_request_headers(model_file, method, url, headers, body) == operation_id
    model = load_model(model_file)
    parts = urllib.parse.urlsplit(url)
    operation, _ = _match_operation(model, method, parts.path)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    for parameter in (_resolve(model, p) for p in operation.get("parameters", [])):
        if parameter["in"] != "query" or parameter["name"] not in query:
            continue
        raw = query[parameter["name"]][0]
        label = f"{operation_id}.{parameter['name']}"
        if parameter.get("type") == "array":
            elements = raw.split(",")
            assert all(elements), f"{label}: empty element in {elements}"
            assert len(set(elements)) == len(elements), f"{label}: repeated element in {elements}"
        elif parameter.get("format") == "date-time":
            assert _RFC3339.match(raw), f"{label}: {raw!r} is not an RFC 3339 date-time"
    return operation_id


def _rfc3339(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.match(value))


STRICT_FORMATS = jsonschema.FormatChecker(formats=())
STRICT_FORMATS.checks("date-time")(_rfc3339)


def _closed(node: Any) -> Any:
    """A copy of a schema in which every object with ``properties`` admits no other keys."""
    if isinstance(node, dict):
        closed = {key: _closed(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_closed(value) for value in node]
    return node


def strict_response_validator(file_name: str, definition: str) -> jsonschema.Draft4Validator:
    """Like ``response_validator``, but stricter than Amazon's models say: unknown keys are errors
    (definitions with properties are closed) and ``date-time`` values must be RFC 3339."""
    model = load_model(file_name)
    schema = {"definitions": _closed(model["definitions"]), "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft4Validator(schema, format_checker=STRICT_FORMATS)


def strict_request_validator(file_name: str, definition: str) -> jsonschema.Draft4Validator:
    """A request body against Amazon's definition, closed like ``strict_response_validator``: a key
    the model does not define is an error (Amazon would ignore it, so it would silently mean nothing)."""
    return strict_response_validator(file_name, definition)
