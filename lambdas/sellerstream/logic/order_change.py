"""ORDER_CHANGE: fetch the order's current state from SP-API and store it unless newer is stored.

The notification only says *that* an order changed; the stored record is Amazon's response, and
its own last-update time (not EventTime, which is the publish time) decides what is newer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sellerstream.config import Settings, get_settings, required
from sellerstream.credentials import CredentialsResolver
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.order_records import OrderResponseError, from_orders_2026, from_orders_v0
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications.order_change import ORDER_CHANGE, OrderChangeNotification
from sellerstream.spapi.orders import OrdersApi
from sellerstream.store.dynamo import sortable_timestamp
from sellerstream.store.orders import OrderRecord, OrderStore


class OrderChangeUseCase:
    accepts = frozenset({ORDER_CHANGE})

    def __init__(
        self, settings: Settings, credentials: CredentialsResolver, spapi: SpApiAccess, store: OrderStore
    ):
        self._settings = settings
        self._credentials = credentials
        self._spapi = spapi
        self._store = store

    def apply(self, notification: OrderChangeNotification, remaining_time: RemainingTime) -> dict[str, Any]:
        change = notification.payload.order_change
        seller = self._credentials.for_notification(
            seller_id=change.seller_id,
            subscription_id=notification.subscription_id,
            marketplace_id=change.summary.marketplace_id,
        )
        orders = OrdersApi(self._spapi.client_for(seller, remaining_time))
        record = self._fetch(orders, change.seller_id, change.amazon_order_id)
        if record.order_id != change.amazon_order_id:
            # The key must be the id the notification named (and whose shape was checked).
            raise OrderResponseError("Amazon's response is for another order than the one requested")
        record = _with_provenance(record, notification)
        outcome = self._store.put_if_newer(record)
        return {
            "order_id": record.order_id,
            "outcome": outcome.value,
            "last_updated": sortable_timestamp(record.last_updated),
        }

    def _fetch(self, orders: OrdersApi, seller_id: str, order_id: str) -> OrderRecord:
        if self._settings.orders_api_version == "v0":
            return from_orders_v0(
                seller_id, orders.get_order_v0_with_pii(order_id), orders.get_order_items_v0(order_id)
            )
        return from_orders_2026(seller_id, orders.get_order(order_id))


def _with_provenance(record: OrderRecord, notification: OrderChangeNotification) -> OrderRecord:
    attributes = {
        **record.attributes,
        "notification_id": notification.notification_id,
        "event_time": sortable_timestamp(notification.event_time),
        "stored_at": sortable_timestamp(datetime.now(UTC)),
    }
    return replace(record, attributes=attributes)


@cache
def order_change_use_case() -> OrderChangeUseCase:
    """Built once per container, on the first batch (no AWS clients at import)."""
    settings = get_settings()
    credentials = CredentialsResolver(settings)
    return OrderChangeUseCase(
        settings,
        credentials,
        SpApiAccess(settings, credentials),
        OrderStore(required(settings.orders_table_name, "ORDERS_TABLE_NAME")),
    )
