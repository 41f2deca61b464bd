"""Reports: one record per report in the reports table, its rows in the report rows table.

Row keys are deterministic (``pk = REPORT#<seller>#<report id>``, ``sk = ROW#<index>``), so an
ingestion resumed from a checkpoint, or replayed, rewrites the same items: nothing is duplicated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from sellerstream import aws
from sellerstream.store.dynamo import from_attribute_map, to_attribute_map

BATCH_SIZE = 25  # DynamoDB BatchWriteItem's limit
MAX_UNPROCESSED_RETRIES = 8


def report_key(seller_key: str, report_id: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_key}", "sk": f"REPORT#{report_id}"}


def row_key(seller_key: str, report_id: str, index: int) -> dict[str, str]:
    return {"pk": f"REPORT#{seller_key}#{report_id}", "sk": f"ROW#{index:010d}"}


class ReportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def get(self, seller_key: str, report_id: str) -> dict[str, Any] | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self._table_name,
                Key=to_attribute_map(report_key(seller_key, report_id)),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return from_attribute_map(item) if item else None

    def save(self, seller_key: str, report_id: str, attributes: dict[str, Any]) -> None:
        item = {
            **attributes,
            **report_key(seller_key, report_id),
            "report_id": report_id,
            "seller_key": seller_key,
        }
        aws.client("dynamodb").put_item(TableName=self._table_name, Item=to_attribute_map(item))


def _row_item(pk: str, index: int, row: dict[str, Any]) -> dict[str, Any]:
    """A row as DynamoDB attributes. Flat-file rows are all strings: built directly, as serialising
    them through the generic converter would be most of an ingestion's CPU time."""
    if all(type(value) is str for value in row.values()):
        cells = {name: {"S": value} for name, value in row.items()}
        return {"pk": {"S": pk}, "sk": {"S": f"ROW#{index:010d}"}, "row": {"M": cells}}
    return to_attribute_map({"pk": pk, "sk": f"ROW#{index:010d}", "row": row})


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept refusing part of a batch (throttled): the record is retried later."""


class RowWriter:
    """Writes rows in batches of 25, retrying what DynamoDB leaves unprocessed, with backoff."""

    def __init__(self, table_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table_name = table_name
        self._sleep = sleep

    def write(self, seller_key: str, report_id: str, rows: Iterable[tuple[int, dict[str, Any]]]) -> int:
        pk = f"REPORT#{seller_key}#{report_id}"
        requests = [{"PutRequest": {"Item": _row_item(pk, index, row)}} for index, row in rows]
        for start in range(0, len(requests), BATCH_SIZE):
            self._write_batch(requests[start : start + BATCH_SIZE])
        return len(requests)

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        pending: dict[str, list[dict[str, Any]]] = {self._table_name: batch}
        for attempt in range(MAX_UNPROCESSED_RETRIES):
            response = aws.client("dynamodb").batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            self._sleep(min(0.05 * 2**attempt, 2.0))
        raise UnprocessedItemsError(f"{len(pending.get(self._table_name, []))} rows still unprocessed")
