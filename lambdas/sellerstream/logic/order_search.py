"""Pages of Orders 2026-01-01 ``searchOrders`` over a ``lastUpdatedAfter`` .. ``lastUpdatedBefore``
window, on the seller's shared rate budget, stored with the same conditional write as getOrder's
answers. Shared by the drainer (``logic.order_drainer``) and reconciliation (``logic.reconcile``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, NamedTuple

from sellerstream import identifiers
from sellerstream.domain.orders import WriteOutcome
from sellerstream.logic.order_records import OrderResponseError, from_orders_2026
from sellerstream.observability import logger
from sellerstream.ports import OrderStore
from sellerstream.spapi.orders import DEFAULT_INCLUDED_DATA, OrdersApi
from sellerstream.timestamps import sortable_timestamp

SEARCH_ORDERS: Final = "orders/2026-01-01:searchOrders"
# Amazon: lastUpdatedBefore at least two minutes before the request (and a margin for clocks).
SEARCH_SETTLE_SECONDS: Final = 125.0
SEARCH_PAGE_SIZE: Final = 100
# A page stores up to 100 orders: do not start one with less time than this left.
SEARCH_PAGE_TIME_SECONDS: Final = 10.0


class StoredPage(NamedTuple):
    seen: int  # orders on the page (with a usable id and shape)
    refreshed: int  # orders the conditional write stored: missing or older in the table


def fetch_search_page(
    api: OrdersApi, *, after: datetime, before: datetime, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the window (100 orders, with what getOrder includes) and the next page's token."""
    return api.search_orders_page(
        last_updated_after=after,
        last_updated_before=before,
        pagination_token=token,
        included_data=DEFAULT_INCLUDED_DATA,
        max_results_per_page=SEARCH_PAGE_SIZE,
    )


def store_search_page(
    store: OrderStore,
    seller_key: str,
    page: list[dict[str, Any]],
    *,
    now: datetime,
    source: str,
    learn: Callable[[str, datetime], None] | None = None,
) -> StoredPage:
    """Stores each order of a page unless the table holds it at the same or a newer state.

    ``learn(order_id, last_updated)`` hears of every order on the page (stored or not); ``source``
    is recorded on what is written (``searchOrders`` for backlog pages, ``reconciliation``).
    """
    seen = refreshed = 0
    for document in page:
        if not identifiers.is_order_id(document.get("orderId")):
            # The id becomes a key: the same shape check as a notification's.
            logger.warning(
                "searchOrders returned an order without a valid id", extra={"seller_id": seller_key}
            )
            continue
        try:
            record = from_orders_2026(seller_key, document)
        except OrderResponseError as error:
            logger.warning(
                "searchOrders returned an unusable order",
                extra={"seller_id": seller_key, "reason": str(error)},
            )
            continue
        seen += 1
        record = record.with_attributes(
            {**record.attributes, "stored_at": sortable_timestamp(now), "source": source}
        )
        if store.put_if_newer(record) is WriteOutcome.WRITTEN:
            refreshed += 1
        if learn is not None:
            learn(record.order_id, record.last_updated)
    return StoredPage(seen=seen, refreshed=refreshed)
