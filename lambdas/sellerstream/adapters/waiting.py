"""The newest ORDER_CHANGE notification waiting in the queue for each order, shared by all containers.

A seller's deep backlog keeps many notifications of one order waiting (each comes back every
15 minutes, SQS's longest delay). Only the newest matters: the call made for it returns a state
that includes every older change. So a notification that defers records itself here (``WAITING#
<seller>#<order>`` in the rate budget table: its change time and notification id, kept only when
newer), and an older one that finds a newer one recorded is acknowledged as superseded instead of
waiting too. The newest one stays in the queue until its order is stored at or after its change,
so nothing it stands for is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import batch_get, is_condition_failure
from sellerstream.domain.orders import WaitingNotification

# Longer than the queue's retention (14 days): a record outlives any notification it stands for.
EXPIRY_SECONDS: Final = 15 * 24 * 3600


class DynamoDBWaitingNotifications:
    def __init__(self, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock

    def newest_of(self, orders: Iterable[tuple[str, str]]) -> dict[tuple[str, str], WaitingNotification]:
        """The recorded newest waiting notification of each (seller id, order id), where there is one."""
        wanted = {_key(seller, order): (seller, order) for seller, order in orders}
        keys = [{"pk": {"S": key}} for key in wanted]
        found: dict[tuple[str, str], WaitingNotification] = {}
        for item in batch_get(self._table_name, keys, "pk, change_time, notification_id"):
            order = wanted.get(item["pk"]["S"])
            if order is not None:
                found[order] = WaitingNotification(
                    float(item["change_time"]["N"]), item["notification_id"]["S"]
                )
        return found

    def record(self, seller_id: str, order_id: str, waiting: WaitingNotification) -> bool:
        """Records ``waiting`` unless a newer one (or as new, another) is recorded; True if written."""
        try:
            aws.client("dynamodb").put_item(
                TableName=self._table_name,
                Item={
                    "pk": {"S": _key(seller_id, order_id)},
                    "change_time": {"N": repr(waiting.change)},
                    "notification_id": {"S": waiting.notification_id},
                    "expires_at": {"N": str(int(self._clock() + EXPIRY_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(pk) OR change_time < :change",
                ExpressionAttributeValues={":change": {"N": repr(waiting.change)}},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def _key(seller_id: str, order_id: str) -> str:
    return f"WAITING#{seller_id}#{order_id}"
