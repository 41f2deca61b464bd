"""Change events over fakes: the bus, its DLQ and the order's PII in memory; stored items as the
adapters write them and as a change stream hands them back (numbers as Decimals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sellerstream import catalog
from sellerstream.adapters.dynamo import from_attribute_map, to_attribute_map
from sellerstream.domain.events import OutgoingEvent, StoredChange
from sellerstream.logic.change_events import ChangeEventsUseCase
from tests.support.fakes import FakeEventBus, FakeEventDeadLetters

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "events"
TABLE_NAMES = {table.role: f"sellerstream-test-{table.role}" for table in catalog.streamed_tables()}


def streamed(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item as a DynamoDB stream record carries it."""
    return from_attribute_map(to_attribute_map(item)) if item is not None else None


def change(
    table: catalog.Table, old: dict[str, Any] | None, new: dict[str, Any] | None, sequence: int = 1
) -> StoredChange:
    return StoredChange(
        table.role, f"{sequence:021d}", streamed(old), streamed(new), 1_796_000_000.0 + sequence
    )


def assert_valid(event: OutgoingEvent) -> None:
    """The event as a subscriber reads it (JSON) against its detail-type's schema in the repository."""
    schema = json.loads((SCHEMAS / catalog.change_event(event.detail_type).schema_file).read_text())
    jsonschema.validate(json.loads(event.detail_json()), schema)


@pytest.fixture
def bus() -> FakeEventBus:
    return FakeEventBus()


@pytest.fixture
def dead_letters() -> FakeEventDeadLetters:
    return FakeEventDeadLetters()


@pytest.fixture
def publisher(bus: FakeEventBus, dead_letters: FakeEventDeadLetters) -> ChangeEventsUseCase:
    return ChangeEventsUseCase(bus, dead_letters, table_names=TABLE_NAMES, sleep=lambda _: None)
