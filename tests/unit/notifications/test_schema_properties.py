"""Property tests: notifications generated from Amazon's own JSON schemas, and mutations of Amazon's
examples, are accepted or refused with a typed error, never anything else.

The generator reads the draft-07 subset Amazon's notification schemas use (object, required,
properties, array/items, enum, type lists with null, string/integer/boolean). Strings are mostly
the schema's own examples (so that many generated notifications are valid) and otherwise
arbitrary text; optional properties come and go; integers and timestamps range widely.
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sellerstream.errors import PoisonMessageError
from sellerstream.notifications import parse_notification
from tests.support.amazon_fixtures import SCHEMA_FILES, examples, schema

TYPES = sorted(SCHEMA_FILES)
PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces locally
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Timestamps, valid RFC 3339 and not: naive, date-only, epoch, offsets without a colon, far years.
TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.timezones() | st.just(None)).map(lambda moment: moment.isoformat()),
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 60),
        st.sampled_from(["", ".1", ".109", ".123456789"]),
        st.sampled_from(["Z", "z", "+00:00", "-05:30", "+0000", "", "+24:00"]),
    ),
    st.integers(-(2**40), 2**40).map(str),
)


def _text() -> st.SearchStrategy[str]:
    return st.text(max_size=12) | st.text(alphabet=string.ascii_uppercase + string.digits, max_size=16)


def _strings(node: dict[str, Any], name: str) -> st.SearchStrategy[str]:
    known = [value for value in node.get("examples", []) if isinstance(value, str)]
    arbitrary = _text()
    if node.get("format") == "date-time" or name.endswith(("Time", "Date")):
        arbitrary = arbitrary | TIMESTAMPS
    return _mostly(st.sampled_from(known), arbitrary) if known else arbitrary


@st.composite
def _mostly(draw: st.DrawFn, usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]) -> Any:
    """``usual`` about 15 times in 16: with some twenty strings in a notification, a good share of
    the generated ones are valid, and most others differ from a valid one in a field or two. (A
    middle value decides: Hypothesis favours the ends of a range, and one_of's last branch.)"""
    return draw(unusual) if draw(st.integers(0, 15)) == 7 else draw(usual)


def from_schema(node: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """A strategy for JSON values valid (mostly) for one node of Amazon's schemas."""
    kinds = node.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of(*(from_schema({**node, "type": kind}, name) for kind in kinds))
    if "enum" in node:
        return _mostly(st.sampled_from(node["enum"]), _text())
    if kinds == "object":
        properties = node.get("properties", {})
        required = set(node.get("required", []))
        return st.fixed_dictionaries(
            {key: from_schema(child, key) for key, child in properties.items() if key in required},
            optional={
                key: from_schema(child, key) for key, child in properties.items() if key not in required
            },
        )
    if kinds == "array":
        items = from_schema(node.get("items", {"type": "string"}), name)
        return st.lists(items, max_size=3, unique=bool(node.get("uniqueItems")))
    if kinds == "string":
        return _strings(node, name)
    if kinds == "integer":
        return _mostly(st.integers(0, 20), st.integers(-(2**70), 2**70))
    if kinds == "boolean":
        return st.booleans()
    if kinds == "null":
        return st.none()
    raise AssertionError(f"schema construct not covered: {kinds}")


def notifications(notification_type: str) -> st.SearchStrategy[dict[str, Any]]:
    document_schema = schema(notification_type)
    if notification_type == "LISTINGS_ITEM_STATUS_CHANGE":
        # Amazon's schema has a typo in its type enum; real traffic and its own example omit the D.
        document_schema["properties"]["NotificationType"]["enum"].append("LISTINGS_ITEM_STATUS_CHANGE")
    return from_schema(document_schema)


def eventbridge_event(detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "LISTINGS_ITEM_STATUS_CHANGE",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.x",
        "time": "2025-01-11T00:09:53Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


ENVELOPES: dict[str, Callable[[Any], str]] = {
    "raw": json.dumps,
    "double-encoded": lambda document: json.dumps(json.dumps(document)),
    "eventbridge": lambda document: json.dumps(eventbridge_event(document)),
}


def outcome(body: str) -> tuple[Any, ...]:
    """What parsing a body gave: the notification, or the typed error's class, reason and report.
    Any other exception propagates and fails the test."""
    try:
        return ("accepted", parse_notification(body))
    except PoisonMessageError as error:
        ids = (error.notification_id, error.notification_type, error.seller_id)
        return ("refused", type(error), error.reason, error.detail, ids)


@pytest.mark.parametrize("notification_type", TYPES)
def test_given_notifications_generated_from_amazons_schema_then_same_verdict_in_all_three_envelopes(
    notification_type: str,
) -> None:
    verdicts: list[str] = []

    @PROPERTY_SETTINGS
    @given(document=notifications(notification_type))
    def same_verdict_in_every_envelope(document: dict[str, Any]) -> None:
        by_envelope = {name: outcome(envelope(document)) for name, envelope in ENVELOPES.items()}
        assert by_envelope["raw"] == by_envelope["double-encoded"] == by_envelope["eventbridge"]
        verdicts.append(by_envelope["raw"][0])

    same_verdict_in_every_envelope()

    # The generator is worth its examples only if it yields both valid and invalid notifications.
    assert set(verdicts) == {"accepted", "refused"}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


AMAZON_EXAMPLES = [example for notification_type in TYPES for example in examples(notification_type)]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """One of Amazon's examples with a few values replaced, keys removed or keys added."""
    document = copy.deepcopy(draw(st.sampled_from(AMAZON_EXAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=20))] = draw(JSON_VALUES)
    return document


@PROPERTY_SETTINGS
@given(document=mutated_documents())
def test_given_mutated_amazon_examples_then_never_a_crash_and_same_verdict_in_all_envelopes(
    document: Any,
) -> None:
    verdicts = {name: outcome(envelope(document)) for name, envelope in ENVELOPES.items()}

    assert verdicts["raw"] == verdicts["double-encoded"] == verdicts["eventbridge"]


HOSTILE_FRAGMENTS = st.sampled_from(
    [
        "[" * 5_000,
        "{" * 5_000,
        "9" * 5_000,
        "NaN",
        "-Infinity",
        '"\\ud800"',
        "\x00",
        "\u2028",
        '"',
        "\\",
        "}",
        ",",
        "",
    ]
)


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """The text of one of Amazon's examples, cut, spliced or with hostile fragments inserted."""
    text = json.dumps(draw(st.sampled_from(AMAZON_EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "cut", "truncate", "wrap"]))
        if action == "insert":
            text = text[:position] + draw(HOSTILE_FRAGMENTS | st.text(max_size=5)) + text[position:]
        elif action == "cut":
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
        elif action == "truncate":
            text = text[:position]
        else:
            depth = draw(st.sampled_from([1, 10, 5_000]))
            text = "[" * depth + text + "]" * depth
    return text


@PROPERTY_SETTINGS
@given(body=mutated_texts())
def test_given_mutated_body_text_then_accepted_or_refused_with_a_typed_error(body: str) -> None:
    assert outcome(body)[0] in ("accepted", "refused")
