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
from sellerstream.store.dynamo import sortable_timestamp, to_attribute_map


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


_NEWER_ONLY = "attribute_not_exists(pk) OR last_updated < :last_updated"


class OrderStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def put_if_newer(self, record: OrderRecord) -> WriteOutcome:
        last_updated = sortable_timestamp(record.last_updated)
        condition_values = {":last_updated": {"S": last_updated}}
        keys = {"pk": f"SELLER#{record.seller_id}", "last_updated": last_updated}
        writes = [
            self._conditional_put(
                {**record.attributes, **keys, "sk": f"ORDER#{record.order_id}", "order_id": record.order_id},
                condition_values,
            )
        ]
        if record.pii is not None:
            pii_item = {
                **keys,
                "sk": f"PII#ORDER#{record.order_id}",
                "order_id": record.order_id,
                **record.pii,
            }
            if record.pii_expires_at is not None:
                pii_item["expires_at"] = int(record.pii_expires_at.timestamp())
            writes.append(self._conditional_put(pii_item, condition_values))
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _only_condition_failures(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN

    def _conditional_put(self, item: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table_name,
                "Item": to_attribute_map(item),
                "ConditionExpression": _NEWER_ONLY,
                "ExpressionAttributeValues": values,
            }
        }


def _only_condition_failures(error: ClientError) -> bool:
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
    if not reasons:
        # Some DynamoDB implementations only say so in the message.
        return "ConditionalCheckFailed" in str(error)
    return (
        all(code in ("ConditionalCheckFailed", "None") for code in reasons)
        and "ConditionalCheckFailed" in reasons
    )
