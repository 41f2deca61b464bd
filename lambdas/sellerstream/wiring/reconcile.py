"""The reconcile function: searchOrders over each seller's window, into the orders table."""

from __future__ import annotations

from typing import Any

from sellerstream import catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.config import ReconcileSettings
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.reconcile import ReconcileUseCase, handle
from sellerstream.wiring import cached, settings_of, spapi


@cached
def use_case() -> ReconcileUseCase:
    settings = settings_of(catalog.RECONCILE, ReconcileSettings)
    directory, access = spapi(settings)
    return ReconcileUseCase(
        directory,
        access,
        DynamoDBOrderStore(settings.orders_table_name),
        DynamoDBSearchWindows(settings.rate_budget_table_name),
        overlap_seconds=settings.reconcile_overlap_seconds,
        first_window_seconds=settings.reconcile_first_window_seconds,
    )


def run(event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    return handle(use_case(), event, remaining_time)
