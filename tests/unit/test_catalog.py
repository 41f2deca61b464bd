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

    assert expects == {
        "orders": True,
        "listings": False,
        "reports": True,
        "feeds": False,  # submitted by the seller: silence is normal
        "offers": False,
        "notifications": False,
        "app": True,
        "fulfillment": False,
    }
    assert with_bus["listings"] is True and with_bus["fulfillment"] is False


# -- which types a deployment takes ----------------------------------------------------------------


def test_given_no_types_named_then_the_three_taken_before() -> None:
    assert catalog.enabled_types(None) == catalog.enabled_types(" ") == catalog.DEFAULT_NOTIFICATION_TYPES
    assert catalog.enabled_types("all") == {t.name for t in catalog.subscribed_types()}


def test_given_names_with_spaces_and_another_spelling_then_the_catalogs_names() -> None:
    assert catalog.enabled_types(" ORDER_CHANGE , LISTINGS_ITEM_STATUS_CHANGED") == {
        "ORDER_CHANGE",
        "LISTINGS_ITEM_STATUS_CHANGE",
    }


@pytest.mark.parametrize("named", ["ORDER_CHANGES", "SCHEDULED_EVENT", "APPLICATION_OAUTH_CLIENT_NEW_SECRET"])
def test_given_a_name_no_seller_subscribes_to_then_refused_with_the_known_ones(named: str) -> None:
    with pytest.raises(ValueError, match=f"{named} is no type SellerStream takes.*ANY_OFFER_CHANGED"):
        catalog.enabled_types(f"ORDER_CHANGE,{named}")


def test_given_enabled_types_then_a_consumer_keeps_those_and_the_apps_own_and_none_is_left_empty() -> None:
    consumers = {
        c.kind: c for c in catalog.enabled_consumers(frozenset({"FBA_INVENTORY_AVAILABILITY_CHANGES"}))
    }

    assert set(consumers) == {"notifications", "app", "fulfillment"}
    assert consumers["notifications"].accepts == {"FBA_INVENTORY_AVAILABILITY_CHANGES"}
    assert consumers["app"].types == catalog.consumer("app").types  # never a seller's subscription
    assert catalog.consumer("listings").enabled(None) == catalog.consumer("listings")


def test_given_every_eventbridge_type_then_one_consumer_takes_them_all() -> None:
    owners = {c.kind for c in catalog.CONSUMERS if catalog.Transport.EVENTBRIDGE in c.transports}

    assert owners == {"listings"}  # the partner bus has one rule and one queue


def test_given_the_generic_types_then_each_emits_its_own_event_from_the_notifications_table() -> None:
    for message_type in catalog.GENERIC_TYPES:
        assert message_type.stored is not None
        event = catalog.change_event(message_type.stored.detail_type)
        assert (event.table, event.sort_prefix) == (catalog.NOTIFICATIONS_TABLE, f"{message_type.name}#")
        assert event.schema_file == "notification-changed.v1.json"
    assert len({t.stored.detail_type for t in catalog.GENERIC_TYPES if t.stored}) == len(
        catalog.GENERIC_TYPES
    )
