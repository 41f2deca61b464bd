"""Takes two costs out of moto that grow with the data it holds (and that AWS does not have).

- DynamoDB: moto snapshots every table a TransactWriteItems touches (a deep copy of the whole
  table) so that it can roll back a cancelled transaction; with thousands of orders stored, each
  transaction takes longer than a real one by orders of magnitude. ``item_level_transaction_rollback``
  snapshots only the items the transaction touches and restores those on cancellation: the same
  outcome, at the cost of the transaction's own items. A cancelled transaction leaves no record in
  a table's change stream either (moto applies the parts before the failing one, each with its
  stream record, then rolls back: those records are dropped with it, as DynamoDB never wrote them).
- SQS: every receive and every queue-attributes call asks each message whether it is visible or
  delayed, and each answer builds datetimes twice. ``fast_sqs_clock`` answers from ``time.time``:
  the same epoch milliseconds, without the datetimes.

Used by the benchmarks and the tests that store many orders; moto is otherwise unchanged.

``faithful_streams`` makes moto's DynamoDB change streams write what DynamoDB's write: one record
per write that changed an item. moto writes two for an UpdateItem that creates its item (the bare
key, then the item) and one for a write that changed nothing, which DynamoDB does not write.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as dynamodb_models
import moto.sqs.models as sqs_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamShard, Table


def _keep_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


@contextmanager
def faster_moto() -> Iterator[None]:
    """Both patches, for as long as the context lasts."""
    with item_level_transaction_rollback(), fast_sqs_clock():
        yield


@contextmanager
def item_level_transaction_rollback() -> Iterator[None]:
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[Table, Any, Any, Any]] = []
        stream_lengths: dict[int, tuple[Table, int]] = {}
        for entry in transact_items:
            operation, details = next(iter(entry.items()))
            table = self.tables.get(details.get("TableName"))
            if table is None:
                continue
            try:
                hash_key, range_key = self.get_keys_value(
                    table, details["Item"] if operation == "Put" else details.get("Key", {})
                )
            except Exception:  # noqa: S112 - moto's own validation reports it below
                continue
            snapshots.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                stream_lengths.setdefault(id(table), (table, len(table.stream_shard.items)))
        try:
            return original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, previous in reversed(snapshots):
                table.delete_item(hash_key, range_key)
                if previous is not None:
                    if range_key is not None:
                        table.items[hash_key][range_key] = previous
                    else:
                        table.items[hash_key] = previous
            for table, length in stream_lengths.values():
                if table.stream_shard is not None:
                    del table.stream_shard.items[length:]
            raise

    # moto's transaction deep-copies the tables it touches through the module's ``copy``.
    previous_copy = getattr(dynamodb_models, "copy")  # noqa: B009 - not exported
    setattr(dynamodb_models, "copy", SimpleNamespace(deepcopy=_keep_tables))  # noqa: B010
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        setattr(dynamodb_models, "copy", previous_copy)  # noqa: B010


@contextmanager
def fast_sqs_clock() -> Iterator[None]:
    original = getattr(sqs_models, "unix_time_millis")  # noqa: B009 - not exported

    def unix_time_millis(moment: Any = None) -> float:
        return time.time() * 1000.0 if moment is None else float(original(moment))

    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010 - not exported
    try:
        yield
    finally:
        setattr(sqs_models, "unix_time_millis", original)  # noqa: B010


@contextmanager
def faithful_streams() -> Iterator[None]:
    original_add = StreamShard.add
    original_update = DynamoDBBackend.update_item

    def add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        if old is not None and new is not None and old.to_json() == new.to_json():
            return  # DynamoDB: "a write that does not change any data writes no stream record"
        original_add(self, old, new)

    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Item:
        shard = self.get_table(table_name).stream_shard
        before = len(shard.items) if shard is not None else 0
        item = original_update(self, table_name, *args, **kwargs)
        if shard is not None and len(shard.items) == before + 2:
            created, written = shard.items[before:]
            if created.record["eventName"] == written.record["eventName"] == "INSERT":
                # The bare key moto put first is no write of DynamoDB's: one INSERT, in its place.
                written.record["dynamodb"]["SequenceNumber"] = created.record["dynamodb"]["SequenceNumber"]
                del shard.items[before]
        return item

    StreamShard.add = add  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    try:
        yield
    finally:
        StreamShard.add = original_add  # type: ignore[method-assign]
        DynamoDBBackend.update_item = original_update  # type: ignore[method-assign]
