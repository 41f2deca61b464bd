"""The order-change function: ORDER_CHANGE from its queue into the pending set, drained to the orders table."""

from __future__ import annotations

import time
from collections.abc import Callable

from sellerstream import catalog
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.config import OrderChangeSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.drain_request import DRAIN_REQUEST, parse_orders_record
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.order_drainer import OrderDrainer
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.ports import SellerDirectory
from sellerstream.wiring import batch_runner, cached, consumer_queue, settings_of, spapi

CONSUMER = catalog.consumer("orders")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, OrderChangeSettings)
    directory, access = spapi(settings)
    return orders_runner(settings, directory, access)


def orders_runner(
    settings: OrderChangeSettings,
    directory: SellerDirectory,
    access: SpApiAccess,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchRunner:
    """The consumer's batches over its AWS adapters (the simulations run it on their own clock)."""
    store = DynamoDBOrderStore(settings.orders_table_name)
    pending = DynamoDBPendingOrders(settings.pending_orders_table_name)
    queue = consumer_queue(settings)
    drainer = OrderDrainer(
        access,
        store,
        pending,
        queue,
        orders_api_version=settings.orders_api_version,
        clock=clock,
        sleep=sleep,
    )
    use_case = OrderChangeUseCase(directory, access, store, pending, drainer)
    # Recording a change is idempotent itself: no idempotency record per notification.
    return batch_runner(
        CONSUMER,
        settings,
        use_case,
        parse=parse_orders_record,
        clock=clock,
        queue=queue,
        idempotent=False,
        also_accepts=frozenset({DRAIN_REQUEST}),
    )
