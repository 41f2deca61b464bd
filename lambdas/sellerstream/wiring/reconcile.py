"""The reconcile function: searchOrders over each seller's window, into the orders table, and
searchListingsItems over each of its marketplaces' windows, into the listings table."""

from __future__ import annotations

from typing import Any

from sellerstream import catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.config import ReconcileSettings
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.listings_reconcile import ListingsReconcileUseCase
from sellerstream.logic.reconcile import ReconcileUseCase, handle
from sellerstream.wiring import cached, settings_of, spapi


@cached
def use_case() -> ReconcileUseCase:
    settings = settings_of(catalog.RECONCILE, ReconcileSettings)
    directory, access = spapi(settings)
    checkpoints = DynamoDBSearchWindows(settings.rate_budget_table_name)
    listings = (
        ListingsReconcileUseCase(
            directory,
            access,
            DynamoDBListingStore(settings.listings_table_name),
            checkpoints,
            overlap_seconds=settings.reconcile_overlap_seconds,
            first_window_seconds=settings.reconcile_first_window_seconds,
        )
        if settings.listings_table_name
        else None
    )
    return ReconcileUseCase(
        directory,
        access,
        DynamoDBOrderStore(settings.orders_table_name),
        checkpoints,
        overlap_seconds=settings.reconcile_overlap_seconds,
        first_window_seconds=settings.reconcile_first_window_seconds,
        listings=listings,
    )


def run(event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    return handle(use_case(), event, remaining_time)
