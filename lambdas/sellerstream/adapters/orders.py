"""The orders table: one item per order, plus one PII item per order that expires.

Keys: ``pk = SELLER#<seller>``, ``sk = ORDER#<order id>`` (a seller's orders are one query) and
``sk = PII#ORDER#<order id>`` for buyer and recipient data, which carries a TTL (Amazon's Data
Protection Policy: PII no longer than 30 days after delivery). Each item is written on its own,
conditional on Amazon's own last-update time of the order: an older response never overwrites a
newer one, and re-applying the same state is a no-op. The PII item goes first, so an order's
version (and its "Order Changed" event) is never stored ahead of the PII that came with it; a
write interrupted between the two leaves the PII ahead, and the retry stores the order. (One
transaction would bill both items twice: 2x the write units of two plain writes.)

Amazon withholds buyer and recipient data until an order is Unshipped (and again once it is
Canceled), so an order gains its PII later, and a later response may omit what an earlier one
had. The PII item is therefore updated part by part (``buyer``, ``recipient``, v0's
``BuyerInfo``...): a part a response carries replaces the stored one, a part it omits is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import (
    NEWER_ONLY,
    batch_get,
    is_condition_failure,
    newer_only_put,
    set_attributes,
    to_attribute_map,
)
from sellerstream.domain.orders import OrderRecord, WriteOutcome
from sellerstream.timestamps import parse_sortable, sortable_timestamp


def order_item(record: OrderRecord) -> dict[str, Any]:
    """The order's item (without its PII, which has its own)."""
    return {
        **record.attributes,
        "pk": f"SELLER#{record.seller_id}",
        "sk": f"ORDER#{record.order_id}",
        "last_updated": sortable_timestamp(record.last_updated),
        "seller_id": record.seller_id,
        "order_id": record.order_id,
    }


class DynamoDBOrderStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def put_if_newer(self, record: OrderRecord) -> WriteOutcome:
        last_updated = sortable_timestamp(record.last_updated)
        client = aws.client("dynamodb")
        if record.pii:
            try:
                client.update_item(**self._pii_update(record, last_updated))
            except ClientError as error:
                # Stored at this version or a newer one already (a retry, or a newer response).
                if not is_condition_failure(error):
                    raise
        try:
            client.put_item(**newer_only_put(self._table_name, order_item(record), last_updated)["Put"])
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN

    def _pii_update(self, record: OrderRecord, last_updated: str) -> dict[str, Any]:
        """Sets the PII parts this response carries; parts it omits stay as stored."""
        # A part Amazon sent as null is left as stored (DynamoDB has no value for null here).
        parts = {name: value for name, value in (record.pii or {}).items() if value is not None}
        values: dict[str, Any] = {
            **parts,
            "seller_id": record.seller_id,
            "order_id": record.order_id,
        }
        values["last_updated"] = last_updated
        if record.pii_expires_at is not None:
            values["expires_at"] = int(record.pii_expires_at.timestamp())
        update = set_attributes(values)
        update["ExpressionAttributeValues"][":last_updated"] = {"S": last_updated}
        return {
            "TableName": self._table_name,
            "Key": to_attribute_map(
                {"pk": f"SELLER#{record.seller_id}", "sk": f"PII#ORDER#{record.order_id}"}
            ),
            "ConditionExpression": NEWER_ONLY,
            **update,
        }

    def last_updated_of(self, orders: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """Amazon's last-update time of each stored order, by (seller id, order id); absent ones are left out.

        Eventually consistent: a read that lags shows an older time (or none), never a newer one, so a
        decision "the stored order is already at least this new" taken on it is always right.
        """
        keys = [
            {"pk": {"S": f"SELLER#{seller}"}, "sk": {"S": f"ORDER#{order}"}}
            for seller, order in dict.fromkeys(orders)
        ]
        found: dict[tuple[str, str], datetime] = {}
        for item in batch_get(self._table_name, keys, "seller_id, order_id, last_updated"):
            found[(item["seller_id"]["S"], item["order_id"]["S"])] = parse_sortable(item["last_updated"]["S"])
        return found
