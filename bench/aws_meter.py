"""What AWS bills for the calls a run made: one meter for the benches that price SellerStream.

A ``Bill`` counts, per *who* (a function, Amazon's side, Lambda's event source mapping), the billed
units of each service as AWS counts them, from the requests themselves:

- DynamoDB write request units: per item written, its size by DynamoDB's rules (names and values in
  UTF-8, numbers one byte per two significant digits plus one, 3 bytes per list or map and 1 per
  element), per KB started, the larger of the item before and after; a write whose condition failed
  costs the same (the Developer Guide, "DynamoDB read and write operations"); a transaction's
  items twice. A PutItem, UpdateItem, DeleteItem or BatchWriteItem also writes each local secondary
  index (every attribute projected) whose sort key attribute the item has before or after ("Local
  secondary indexes: write activity"): one index write when the item gains or loses the attribute,
  or keeps its value but changes otherwise; two (a delete and a put) when the value changes; none
  when the condition failed; each per KB started of the item's size, in the write units and in
  ``dynamodb_index_write_units:<table>``. Read request units: per 4 KB started of what a read
  returned (a query's items summed first), half for an eventually consistent read, twice in a
  transaction.
- SQS requests per 64 KB of payload started; S3 PUTs and GETs; Secrets Manager and KMS calls;
  EventBridge entries per 64 KB started.
- Lambda requests and GB-seconds, and the bytes each function logs (CloudWatch Logs ingestion).

``MeteredServices`` wraps the simulated clients that ``sellerstream.aws.client`` hands the product
(``sellerstream_local.simulation``), so what the real use cases call is what is billed.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from prices import CHUNK_BYTES, PRICES

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


# -- DynamoDB's item size ---------------------------------------------------------------------------
def number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return 1 + (max(len(digits), 1) + 1) // 2


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(text.encode()) for text in inner)
    if kind == "NS":
        return sum(number_size(text) for text in inner)
    if kind == "BS":
        return sum(len(blob) for blob in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in inner.items())
    raise ValueError(f"no DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB counts it ("DynamoDB item sizes and formats"); 0 for none."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def chunks(payload_bytes: int) -> int:
    return max(1, math.ceil(payload_bytes / CHUNK_BYTES))


def index_write_units(
    attributes: Collection[str], old: dict[str, Any] | None, new: dict[str, Any] | None
) -> int:
    """The write units one table item's write costs its local indexes (every attribute projected,
    so an index item is as large as the table item), ``attributes`` their sort keys; ``old`` and
    ``new`` the item before and after (None: absent)."""
    units = 0
    for attribute in attributes:
        was, now = (old or {}).get(attribute), (new or {}).get(attribute)
        if was is None and now is None:
            continue  # not in the index before or after
        if was is None:
            units += write_units(item_size(new))  # put
        elif now is None:
            units += write_units(item_size(old))  # delete
        elif was != now:
            units += write_units(item_size(old)) + write_units(item_size(new))  # delete, then put
        elif old != new:
            units += write_units(max(item_size(old), item_size(new)))  # update in place
    return units


# -- the bill -----------------------------------------------------------------------------------------
class Bill:
    """Billed units by (who, unit name); ``usd`` prices them with ``bench/prices.py``."""

    def __init__(self) -> None:
        self.units: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (who, service, operation)
        self._lock = threading.Lock()

    def add(self, who: str, unit: str, amount: float) -> None:
        with self._lock:
            self.units[(who, unit)] += amount

    def total(self, unit: str, who: str | None = None) -> float:
        return sum(amount for (w, u), amount in self.units.items() if u == unit and (who is None or w == who))

    def lambda_invocation(self, who: str, seconds: float, memory_mb: int) -> None:
        self.add(who, "lambda_requests", 1)
        self.add(who, "lambda_gb_seconds", seconds * memory_mb / 1024)

    def usd(self, who: str | None = None) -> dict[str, float]:
        """Dollars per service for what ``who`` (or everyone) did."""

        def of(unit: str) -> float:
            return self.total(unit, who)

        return {
            "lambda": of("lambda_requests") / 1e6 * PRICES["lambda_per_million_requests"]
            + of("lambda_gb_seconds") * PRICES["lambda_per_gb_second_arm64"],
            "sqs": of("sqs_requests") / 1e6 * PRICES["sqs_per_million_64kb_requests"],
            "dynamodb": of("dynamodb_write_units") / 1e6 * PRICES["dynamodb_per_million_write_request_units"]
            + of("dynamodb_read_units") / 1e6 * PRICES["dynamodb_per_million_read_request_units"],
            "eventbridge": of("put_events_chunks") / 1e6 * PRICES["put_events_per_million_64kb_events"]
            + of("scheduler_invocations") / 1e6 * PRICES["scheduler_per_million_invocations"],
            "s3": of("s3_puts") / 1e6 * PRICES["s3_per_million_puts"]
            + of("s3_gets") / 1e6 * PRICES["s3_per_million_gets"],
            "kms": of("kms_requests") / 1e6 * PRICES["kms_per_million_requests"],
            "secrets_manager": of("secrets_calls") / 1e6 * PRICES["secrets_manager_per_million_api_calls"],
            "cloudwatch_logs": of("log_bytes") / 1e9 * PRICES["cloudwatch_logs_per_gb_ingested"],
            "xray": of("xray_traces") / 1e6 * PRICES["xray_per_million_traces"],
        }


# -- what a call is billed ------------------------------------------------------------------------------
Peek = Callable[[str, dict[str, Any]], dict[str, Any] | None]  # (table, key) -> the item stored now


def bill_call(
    bill: Bill,
    who: str,
    service: str,
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any] | None,
    before: list[int] | None = None,
    after: Callable[[], list[int]] | None = None,
) -> None:
    """Adds one call's billed units. ``response`` is None for a call that failed (a failed
    conditional write still costs its units); ``before``/``after`` are the sizes of the items a
    write touches, before and after it (DynamoDB bills the larger)."""
    bill.calls[(who, service, operation)] += 1
    if service == "dynamodb":
        _dynamodb(bill, who, operation, params, response, before or [], after)
    elif service == "sqs":
        if operation == "send_message":
            bill.add(who, "sqs_requests", chunks(len(params["MessageBody"].encode())))
        elif operation == "send_message_batch":
            size = sum(len(entry["MessageBody"].encode()) for entry in params["Entries"])
            bill.add(who, "sqs_requests", chunks(size))
        else:
            bill.add(who, "sqs_requests", 1)
    elif service == "s3":
        if operation in ("put_object", "upload_fileobj", "copy_object", "create_multipart_upload"):
            bill.add(who, "s3_puts", 1)
        elif operation in ("get_object", "head_object"):
            bill.add(who, "s3_gets", 1)
    elif service == "secretsmanager":
        bill.add(who, "secrets_calls", 1)
    elif service == "kms":
        bill.add(who, "kms_requests", 1)
    elif service == "events" and operation == "put_events":
        for entry in params.get("Entries", []):
            size = 14 + sum(
                len(str(entry.get(name, "")).encode()) for name in ("Source", "DetailType", "Detail")
            )
            bill.add(who, "put_events_chunks", chunks(size))


def _dynamodb(
    bill: Bill,
    who: str,
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any] | None,
    before: list[int],
    after: Callable[[], list[int]] | None,
) -> None:
    if operation in ("put_item", "update_item", "delete_item"):
        if response is not None and operation != "delete_item":
            _count_order_versions(bill, who, [params])
        attempted = [item_size(params["Item"])] if operation == "put_item" else (after() if after else [0])
        size = max([*before, *attempted, 0])
        bill.add(who, "dynamodb_write_units", write_units(size))
        bill.add(who, f"dynamodb_write_units:{params['TableName']}", write_units(size))
        bill.add(who, f"dynamodb_{operation}:{params['TableName']}", 1)
        if response is None:
            bill.add(who, "dynamodb_failed_writes", 1)
            bill.add(who, f"dynamodb_failed_writes:{params['TableName']}", 1)
    elif operation == "batch_write_item":
        for requests in params["RequestItems"].values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item")
                bill.add(who, "dynamodb_write_units", write_units(item_size(item)))
    elif operation == "transact_write_items":
        if response is not None:
            _count_order_versions(
                bill, who, [next(iter(action.values())) for action in params["TransactItems"]]
            )
        sizes = after() if after else []
        for index, action in enumerate(params["TransactItems"]):
            ((kind, body),) = action.items()
            attempted = (
                item_size(body["Item"]) if kind == "Put" else (sizes[index] if index < len(sizes) else 0)
            )
            prior = before[index] if index < len(before) else 0
            bill.add(who, "dynamodb_write_units", 2 * write_units(max(attempted, prior)))
            bill.add(who, f"dynamodb_write_units:{body['TableName']}", 2 * write_units(max(attempted, prior)))
        if response is None:
            bill.add(who, "dynamodb_failed_writes", 1)
    elif operation == "get_item":
        size = before[0] if before else item_size((response or {}).get("Item"))
        bill.add(who, "dynamodb_read_units", read_units(size, consistent=bool(params.get("ConsistentRead"))))
    elif operation == "batch_get_item":
        consistent = any(request.get("ConsistentRead") for request in params["RequestItems"].values())
        for size in before or []:
            if size:
                bill.add(who, "dynamodb_read_units", read_units(size, consistent=consistent))
    elif operation == "transact_get_items":
        for answer in (response or {}).get("Responses", []):
            bill.add(
                who, "dynamodb_read_units", 2 * read_units(item_size(answer.get("Item")), consistent=True)
            )
    elif operation in ("query", "scan"):
        size = sum(item_size(item) for item in (response or {}).get("Items", []))
        bill.add(who, "dynamodb_read_units", read_units(size, consistent=bool(params.get("ConsistentRead"))))


def _count_order_versions(bill: Bill, who: str, writes: list[dict[str, Any]]) -> None:
    """An order's version stored (its ``ORDER#`` item written): what becomes one "Order Changed"
    event on SellerStream's bus."""
    for write in writes:
        key = write.get("Item") or write.get("Key") or {}
        if "Put" in write or "Update" in write:  # a transaction's action, unwrapped by the caller
            continue
        if str(key.get("sk", {}).get("S", "")).startswith("ORDER#"):
            bill.add(who, "order_versions_stored", 1)


# -- the simulated clients, metered ----------------------------------------------------------------------
class MeteredServices:
    """``sellerstream.aws.client``'s services, each call billed to whoever makes it: the thread's
    participant name (``VirtualTime`` runs each participant in a thread of that name), mapped by
    ``who``."""

    def __init__(self, services: dict[str, Any], bill: Bill, who: Callable[[str], str]) -> None:
        self._services = {name: _MeteredClient(name, client, bill, who) for name, client in services.items()}

    def __getitem__(self, name: str) -> Any:
        return self._services[name]


class _MeteredClient:
    def __init__(self, service: str, client: Any, bill: Bill, who: Callable[[str], str]) -> None:
        self._service, self._client, self._bill, self._who = service, client, bill, who

    def __getattr__(self, operation: str) -> Any:
        target = getattr(self._client, operation)
        if not callable(target) or operation.startswith("_") or operation in ("get_paginator", "exceptions"):
            return target
        service, client, bill, who = self._service, self._client, self._bill, self._who

        def call(**params: Any) -> Any:
            payer = who(threading.current_thread().name)
            before = _sizes(client, operation, params) if service == "dynamodb" else None
            indexed = _indexed(client, operation, params) if service == "dynamodb" else []
            try:
                response = target(**params)
            except Exception as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
                if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                    bill_call(bill, payer, service, operation, params, None, before, lambda: before or [])
                else:
                    bill.calls[(payer, service, f"{operation}:failed")] += 1
                raise
            bill_call(
                bill,
                payer,
                service,
                operation,
                params,
                response,
                before,
                lambda: _sizes(client, operation, params),
            )
            for table, key, attributes, old in indexed:  # a failed condition wrote no index
                units = index_write_units(attributes, old, _stored(client, table, key))
                if units:
                    bill.add(payer, "dynamodb_write_units", units)
                    bill.add(payer, f"dynamodb_index_write_units:{table}", units)
            return response

        return call


def _stored(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The whole item a key names, as the simulated table holds it now: read in place, around any
    injected fault and without counting as one of the simulation's calls."""
    return client._items[table].get(client._key(table, key))


Indexed = list[tuple[str, dict[str, Any], tuple[str, ...], dict[str, Any] | None]]


def _indexed(client: Any, operation: str, params: dict[str, Any]) -> Indexed:
    """Each item a write names in a table with local indexes: (table, key, the indexes' sort key
    attributes, the item stored before the write)."""
    indexes: dict[str, dict[str, str]] = getattr(client, "_indexes", {})
    if operation in ("put_item", "update_item", "delete_item"):
        writes = [(params["TableName"], params.get("Key") or params["Item"])]
    elif operation == "batch_write_item":
        writes = [
            (table, request.get("DeleteRequest", {}).get("Key") or request["PutRequest"]["Item"])
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    else:
        return []
    return [
        (table, key, tuple(indexes[table].values()), _stored(client, table, key))
        for table, key in writes
        if indexes.get(table)
    ]


def _sizes(client: Any, operation: str, params: dict[str, Any]) -> list[int]:
    """The sizes of the items a call names (a write's before and after; a read's whole items, which
    DynamoDB bills whatever a projection leaves out)."""
    if operation == "put_item":
        return [item_size(_stored(client, params["TableName"], params["Item"]))]
    if operation in ("update_item", "delete_item", "get_item"):
        return [item_size(_stored(client, params["TableName"], params["Key"]))]
    if operation == "batch_get_item":
        return [
            item_size(_stored(client, table, key))
            for table, request in params["RequestItems"].items()
            for key in request["Keys"]
        ]
    if operation == "transact_write_items":
        sizes = []
        for action in params["TransactItems"]:
            ((_, body),) = action.items()
            sizes.append(
                item_size(_stored(client, body["TableName"], body.get("Key") or body.get("Item", {})))
            )
        return sizes
    return []
