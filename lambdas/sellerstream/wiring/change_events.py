"""The change-events function: the tables' change streams to SellerStream's bus."""

from __future__ import annotations

from typing import Any

from sellerstream import catalog
from sellerstream.adapters.events import DynamoDBOrderPii, EventBridgeBus, SqsEventDeadLetters, stored_changes
from sellerstream.config import ChangeEventsSettings
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.change_events import ChangeEventsUseCase
from sellerstream.wiring import cached, settings_of


@cached
def publisher() -> tuple[ChangeEventsUseCase, dict[str, str]]:
    """The use case, and each streamed table's role by its name (a stream record names its table)."""
    settings = settings_of(catalog.CHANGE_EVENTS_PUBLISHER, ChangeEventsSettings)
    table_names = {
        table.role: getattr(settings, f"{table.role}_table_name") for table in catalog.streamed_tables()
    }
    use_case = ChangeEventsUseCase(
        EventBridgeBus(settings.events_bus_name),
        SqsEventDeadLetters(settings.events_dead_letter_queue_url),
        table_names=table_names,
        order_pii=DynamoDBOrderPii(settings.orders_table_name) if settings.events_include_pii else None,
    )
    return use_case, {name: role for role, name in table_names.items()}


def run(event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    """A stream batch: its events published; Lambda's partial batch response names the record the
    stream must retry from, if any."""
    if not isinstance(event, dict):
        raise TypeError("a DynamoDB stream batch is a JSON object with Records")
    use_case, roles = publisher()
    outcome = use_case.publish(stored_changes(event, roles))
    failures = [{"itemIdentifier": outcome.retry_from}] if outcome.retry_from is not None else []
    return {"batchItemFailures": failures}
