"""Search windows being paged through, shared by all containers: reconciliation's checkpoints
(orders' ``RECONCILE#...`` and listings').

One item per key in the rate budget table: the window (``after`` .. ``before``, Amazon's
``lastUpdatedAfter``/``lastUpdatedBefore``), the token of the next page, whether the window is done,
and a lease. Pages of one window follow each other (each needs the previous page's token), so one
container at a time holds the lease, fetches a page, stores its orders and writes the next token;
every write is conditional on the version it read. A lease that its holder did not release (the
container died) expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.domain.orders import BacklogWindow
from sellerstream.timestamps import parse_sortable, sortable_timestamp

IDLE_EXPIRY_SECONDS: Final = 14 * 24 * 3600


class DynamoDBSearchWindows:
    def __init__(self, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock

    def load(self, key: str) -> BacklogWindow | None:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self._table_name, Key={"pk": {"S": key}}, ConsistentRead=True)
            .get("Item")
        )
        return _parse(item)

    def start(
        self,
        key: str,
        *,
        after: datetime,
        before: datetime,
        previous: BacklogWindow | None,
        lease_seconds: float,
    ) -> BacklogWindow | None:
        """Opens a new window, leased to the caller; None when another container changed the item first."""
        window = BacklogWindow(
            after=after,
            before=before,
            next_token=None,
            done=False,
            version=(previous.version if previous else 0) + 1,
            lease_until=self._clock() + lease_seconds,
            pages=0,
            orders=0,
        )
        return self._put(key, window, previous)

    def claim(self, key: str, window: BacklogWindow, lease_seconds: float) -> BacklogWindow | None:
        """Takes the lease of an open window nobody holds; None when someone else has it."""
        if window.done or window.leased(self._clock()):
            return None
        claimed = window._replace(version=window.version + 1, lease_until=self._clock() + lease_seconds)
        return self._put(key, claimed, window)

    def advance(
        self, key: str, window: BacklogWindow, *, next_token: str | None, orders_stored: int
    ) -> BacklogWindow | None:
        """Records a fetched page (and releases the lease); done when Amazon gave no next token."""
        advanced = window._replace(
            next_token=next_token,
            done=next_token is None,
            version=window.version + 1,
            lease_until=0.0,
            pages=window.pages + 1,
            orders=window.orders + orders_stored,
        )
        return self._put(key, advanced, window)

    def release(self, key: str, window: BacklogWindow) -> None:
        """Gives the lease back without progress (the page could not be fetched now)."""
        self._put(key, window._replace(version=window.version + 1, lease_until=0.0), window)

    def _put(self, key: str, window: BacklogWindow, previous: BacklogWindow | None) -> BacklogWindow | None:
        item: dict[str, Any] = {
            "pk": {"S": key},
            "after": {"S": sortable_timestamp(window.after)},
            "before": {"S": sortable_timestamp(window.before)},
            "done": {"BOOL": window.done},
            "version": {"N": str(window.version)},
            "lease_until": {"N": f"{window.lease_until:.3f}"},
            "pages": {"N": str(window.pages)},
            "orders": {"N": str(window.orders)},
            "expires_at": {"N": str(int(self._clock() + IDLE_EXPIRY_SECONDS))},
        }
        if window.next_token is not None:
            item["next_token"] = {"S": window.next_token}
        condition: dict[str, Any] = (
            {
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": {":version": {"N": str(previous.version)}},
            }
            if previous
            else {"ConditionExpression": "attribute_not_exists(pk)"}
        )
        try:
            aws.client("dynamodb").put_item(TableName=self._table_name, Item=item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return window


def _parse(item: dict[str, Any] | None) -> BacklogWindow | None:
    if not item:
        return None
    return BacklogWindow(
        after=parse_sortable(item["after"]["S"]),
        before=parse_sortable(item["before"]["S"]),
        next_token=item["next_token"]["S"] if "next_token" in item else None,
        done=bool(item["done"]["BOOL"]),
        version=int(item["version"]["N"]),
        lease_until=float(item["lease_until"]["N"]),
        pages=int(item["pages"]["N"]),
        orders=int(item["orders"]["N"]),
    )
