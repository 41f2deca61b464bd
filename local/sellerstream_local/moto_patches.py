"""Makes moto's DynamoDB transactions cost what they cost on AWS: nothing per item already in the table.

moto snapshots every table a TransactWriteItems touches (a deep copy of the whole table) so that it
can roll back a cancelled transaction; with thousands of orders stored, each transaction then takes
longer than a real one by orders of magnitude. This snapshots only the items the transaction
touches and restores those on cancellation: the same outcome, at the cost of the transaction's own
items. Used by the benchmarks and the tests that store many orders; moto is otherwise unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table


def _keep_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


@contextmanager
def item_level_transaction_rollback() -> Iterator[None]:
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[Table, Any, Any, Any]] = []
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
            raise

    # moto's transaction deep-copies the tables it touches through the module's ``copy``.
    setattr(dynamodb_models, "copy", SimpleNamespace(deepcopy=_keep_tables))  # noqa: B010 - not exported
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        setattr(dynamodb_models, "copy", copy)  # noqa: B010
