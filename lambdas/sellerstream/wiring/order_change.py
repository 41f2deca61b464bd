"""The order-change function: ORDER_CHANGE from its queue to the orders table."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.waiting import DynamoDBWaitingNotifications
from sellerstream.config import OrderChangeSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.wiring import batch_runner, cached, settings_of, spapi

CONSUMER = catalog.consumer("orders")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, OrderChangeSettings)
    directory, access = spapi(settings)
    shared = settings.rate_budget_table_name
    use_case = OrderChangeUseCase(
        directory,
        access,
        DynamoDBOrderStore(settings.orders_table_name),
        orders_api_version=settings.orders_api_version,
        backlog=DynamoDBSearchWindows(shared) if shared else None,
        waiting=DynamoDBWaitingNotifications(shared) if shared else None,
    )
    return batch_runner(CONSUMER, settings, use_case)
