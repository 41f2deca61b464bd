"""The catalog: every consumer and type declared once, and nothing else spelling a type's name."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

from sellerstream import catalog, config

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    path
    for folder in ("lambdas", "local", "ops", "stacks", "bench")
    for path in (ROOT / folder).rglob("*.py")
    if "__pycache__" not in path.parts
] + [ROOT / "app.py"]


def string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every string literal in code, docstrings left out (prose may name a type)."""
    source = path.read_text(encoding="utf-8")
    docstrings = {
        node.body[0].value.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.start[0] not in docstrings:
            text = token.string
            if "f" in text[: text.index(text[-1])].lower():  # an f-string: its expressions are code
                text = re.sub(r"\{[^{}]*\}", "", text)
            found.append((token.start[0], text))
    return found


def own_model(message_type: catalog.MessageType) -> Path:
    module = importlib.import_module(message_type.model.split(":")[0])
    return Path(str(module.__file__)).resolve()


@pytest.mark.parametrize("message_type", catalog.message_types(), ids=lambda message_type: message_type.name)
def test_given_a_type_then_its_name_is_spelled_only_in_the_catalog_and_its_own_model(
    message_type: catalog.MessageType,
) -> None:
    allowed = {(ROOT / "lambdas/sellerstream/catalog.py").resolve(), own_model(message_type)}
    spelled = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in PRODUCT
        if path.resolve() not in allowed
        for line, literal in string_literals(path)
        for name in message_type.names
        if name in literal
    ]

    assert spelled == []


def test_given_the_catalog_then_each_type_has_one_consumer_and_a_model_that_reads_it() -> None:
    names = [name for message_type in catalog.message_types() for name in message_type.names]

    assert len(names) == len(set(names))
    for message_type in catalog.message_types():
        module, _, model = message_type.model.partition(":")
        assert hasattr(importlib.import_module(module), model), message_type.model
        assert catalog.consumer_of(message_type.name) is not None


def test_given_the_catalog_then_kinds_queues_outputs_and_services_are_unique() -> None:
    for attribute in ("kind", "queue", "name", "service_name", "handler"):
        values = [getattr(consumer, attribute) for consumer in catalog.CONSUMERS]
        assert len(values) == len(set(values)), attribute
    outputs = [output for consumer in catalog.CONSUMERS for output in consumer.outputs] + [
        table.output for table in catalog.TABLES
    ]
    assert len(outputs) == len(set(outputs))


@pytest.mark.parametrize("consumer", catalog.CONSUMERS, ids=lambda consumer: consumer.kind)
def test_given_a_consumer_then_its_handler_exists_and_its_settings_are_a_queue_consumers(
    consumer: catalog.Consumer,
) -> None:
    module, _, name = consumer.handler.rpartition(".")

    assert callable(getattr(importlib.import_module(module), name))
    assert issubclass(consumer.settings, config.QueueSettings)
    assert consumer.sizing.visibility_timeout_seconds >= 6 * consumer.sizing.timeout_seconds


def test_given_grants_then_each_names_a_resource_the_stack_has() -> None:
    for function in (*catalog.CONSUMERS, *catalog.JOBS):
        for grant in function.grants:
            assert grant.resource in catalog.RESOURCES, (function.name, grant.resource)


def test_given_transports_then_silence_alarms_only_where_messages_must_come() -> None:
    expects = {c.kind: c.expects_messages(partner_bus=False) for c in catalog.CONSUMERS}
    with_bus = {c.kind: c.expects_messages(partner_bus=True) for c in catalog.CONSUMERS}

    assert expects == {"orders": True, "listings": False, "reports": True, "app": True, "fulfillment": False}
    assert with_bus["listings"] is True and with_bus["fulfillment"] is False
