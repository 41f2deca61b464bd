"""The orders table: one item per order, plus one PII item per order that expires.

Keys: ``pk = SELLER#<seller>``, ``sk = ORDER#<order id>`` (a seller's orders are one query) and
``sk = PII#ORDER#<order id>`` for buyer and recipient data, which carries a TTL (Amazon's Data
Protection Policy: PII no longer than 30 days after delivery). Both items are written in one
transaction, conditional on Amazon's own last-update time of the order: an older response never
overwrites a newer one, and re-applying the same state is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.store.dynamo import is_condition_failure, newer_only_put, sortable_timestamp


class WriteOutcome(StrEnum):
    WRITTEN = "written"
    STALE = "stale"  # the table already holds this state or a newer one


@dataclass(frozen=True)
class OrderRecord:
    seller_id: str
    order_id: str
    last_updated: datetime
    attributes: dict[str, Any]
    pii: dict[str, Any] | None = field(default=None, repr=False)
    pii_expires_at: datetime | None = None


class OrderStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def put_if_newer(self, record: OrderRecord) -> WriteOutcome:
        last_updated = sortable_timestamp(record.last_updated)
        keys = {"pk": f"SELLER#{record.seller_id}", "last_updated": last_updated, "order_id": record.order_id}
        header = {**record.attributes, **keys, "sk": f"ORDER#{record.order_id}"}
        writes = [newer_only_put(self._table_name, header, last_updated)]
        if record.pii is not None:
            pii_item = {**keys, "sk": f"PII#ORDER#{record.order_id}", **record.pii}
            if record.pii_expires_at is not None:
                pii_item["expires_at"] = int(record.pii_expires_at.timestamp())
            writes.append(newer_only_put(self._table_name, pii_item, last_updated))
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=writes)
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN
