"""Pending orders (``ports.PendingOrders``): per seller and SP-API region, the orders whose change is
not stored yet and the lease of the one drainer that fetches them, in the pending orders table.

One partition per account, ``pk = <seller id>#<region>``, holding two kinds of items:

- an entry per pending order: ``sk = O#<order id>``, ``changed`` (epoch seconds of its newest
  change), ``notification_id``, and after a failed fetch ``attempts`` and ``not_before``. The
  table's local index (``catalog.PENDING_BY_CHANGE``) orders a partition's entries
  by ``changed``: one Query gives the orders that changed least recently (the lease has no
  ``changed``, so it is not in the index). The orders' entries are read first: a change no newer
  than the one pending is not written (the same change again is written only to count a failed
  fetch). The write has no condition: two containers recording two changes of one order at once
  both succeed, and the one that replaced the newer change (it gets the old item back) writes that
  change back (the newest change wins without a failed write). An entry is deleted only if its
  order has no change newer than the state stored: a change recorded while its order was being
  fetched stays. A delete that loses its condition is not an error (the newer change is the one
  pending).
- the lease, ``sk = LEASE``: ``owner`` (absent while the lease is free), ``until``, ``version`` and
  ``buckets`` (the drainer's rate buckets by metered operation: ``tat``, ``rate``, ``confirmed``),
  so the next holder spends from where the last one stopped. It is taken until the end of its
  holder's invocation (``until``) and never renewed. Taking reads it first and writes only when it
  is free or expired, conditional on the version read: a busy lease costs one read, never a failed
  conditional write, and of two containers that read it free only one takes it. Its holder releases
  it with the buckets as spent, conditional on its owner and version: a lease taken over since is
  left as the new holder wrote it. A holder that rests (its next call is a bucket's refill away)
  releases it with ``until`` set to when its drain request comes: until then only a drain request
  takes it, and intakes leave their entries to that request.

Nothing expires: a drained entry is removed. The table holds no buyer data and is recreated
without backups: reconciliation stores whatever a lost entry stood for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from sellerstream import aws, catalog
from sellerstream.adapters.dynamo import batch_get, is_condition_failure
from sellerstream.domain.orders import BucketState, DrainLease, PendingChange, SellerAccount

ENTRY_PREFIX: Final = "O#"
LEASE_KEY: Final = "LEASE"
BY_CHANGE: Final = catalog.PENDING_BY_CHANGE.name
CHANGED: Final = catalog.PENDING_BY_CHANGE.sort_key
# "owner", "until" and "version" are DynamoDB reserved words: every name goes through a placeholder.
_NAMES: Final = {"#owner": "owner", "#until": "until", "#version": "version", "#buckets": "buckets"}
# An entry is deleted when its order has not changed since the state stored: a missing one quietly.
_NOT_NEWER: Final = "attribute_not_exists(sk) OR changed <= :changed"


class DynamoDBPendingOrders:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    # -- entries ------------------------------------------------------------------------------------

    def add(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        newest: dict[str, PendingChange] = {}
        for change in changes:
            kept = newest.get(change.order_id)
            if kept is None or _rank(change) >= _rank(kept):
                newest[change.order_id] = change
        # Read first (a read costs a fifth of a write): a change no newer than the one pending is
        # not written at all, so notifications out of order or twice cost no write. A race with
        # another container's write since the read is settled by _record, without a condition.
        keys = [_key(account, _entry_key(order_id)) for order_id in newest]
        pending = {
            item["sk"]["S"].removeprefix(ENTRY_PREFIX): (
                int(item[CHANGED]["N"]),
                int(item.get("attempts", {"N": "0"})["N"]),
            )
            for item in batch_get(self._table_name, keys, f"sk, {CHANGED}, attempts")
        }
        for order_id, change in newest.items():
            if order_id not in pending or _rank(change) > pending[order_id]:
                self._record(account, change)

    def _record(self, account: SellerAccount, change: PendingChange) -> None:
        """Writes the entry without a condition, so two containers recording two changes of one order
        at once both succeed; a write that replaced an entry that wins over it (a newer change, or
        the same one with more failed fetches counted) puts that entry back. Each write back is of
        a winner, so this ends with the newest change stored; a drainer that removed the entry in
        between finds it again."""
        while True:
            replaced = (
                aws.client("dynamodb")
                .update_item(
                    TableName=self._table_name,
                    Key=_key(account, _entry_key(change.order_id)),
                    **_entry_update(change),
                    ReturnValues="ALL_OLD",
                )
                .get("Attributes")
            )
            if not replaced or _rank(_entry(replaced)) <= _rank(change):
                return
            change = _entry(replaced)

    def oldest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        # Strongly consistent: the drainer's last look after releasing its lease must see every
        # entry added before it, or a change added meanwhile would wait with nobody draining it.
        return self._query(account, limit, newest_first=False)

    def _query(self, account: SellerAccount, limit: int, *, newest_first: bool) -> list[PendingChange]:
        entries: list[PendingChange] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": BY_CHANGE,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _partition(account)}},
            "ConsistentRead": not newest_first,
            "ScanIndexForward": not newest_first,
        }
        while len(entries) < limit:
            response = aws.client("dynamodb").query(**request, Limit=limit - len(entries))
            entries.extend(_entry(item) for item in response.get("Items", []))
            # A page may end before the limit (1 MB read): the next one starts where it stopped.
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        return entries[:limit]

    def newest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        # Eventually consistent: whether changes still arrive tolerates a write of the last moment
        # unseen (the last look after a lease, which must see everything, is oldest's).
        return self._query(account, limit, newest_first=True)

    def remove(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        for change in changes:
            try:
                aws.client("dynamodb").delete_item(
                    TableName=self._table_name,
                    Key=_key(account, _entry_key(change.order_id)),
                    ConditionExpression=_NOT_NEWER,
                    ExpressionAttributeValues=_changed(change),
                )
            except ClientError as error:
                if not is_condition_failure(error):
                    raise

    # -- the drainer's lease ------------------------------------------------------------------------

    def take_lease(
        self, account: SellerAccount, owner: str, *, now: float, until: float, resuming: bool = False
    ) -> DrainLease | None:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self._table_name, Key=_key(account, LEASE_KEY), ConsistentRead=True)
            .get("Item")
        )
        held_by = item.get("owner", {}).get("S") if item else None
        held_until = float(item["until"]["N"]) if item else 0.0
        if held_until > now and (held_by or not resuming):
            return None  # busy, or resting until its drain request comes: a read, no write
        read_version = int(item["version"]["N"]) if item else 0
        # Free or expired as read: taken only if nobody wrote it since (or created it meanwhile).
        condition, condition_values = (
            ("#version = :read", {":read": _number(read_version)})
            if item
            else ("attribute_not_exists(pk)", {})
        )
        taken = self._update(
            account,
            "SET #owner = :owner, #until = :until, #version = :version",
            {":owner": {"S": owner}, ":until": _number(until), ":version": _number(read_version + 1)},
            condition,
            condition_values,
        )
        if not taken:
            return None  # another container took it since the read
        return DrainLease(
            owner,
            until,
            read_version + 1,
            _buckets(item),
            # Its holder vanished: it may have spent until then.
            expired_until=held_until if held_by else None,
        )

    def release_lease(
        self,
        account: SellerAccount,
        lease: DrainLease,
        buckets: Mapping[str, BucketState],
        *,
        resting_until: float = 0.0,
    ) -> None:
        # Not released when lost: the buckets of whoever took it over stay as they are.
        self._update(
            account,
            "SET #until = :until, #buckets = :buckets, #version = :version REMOVE #owner",
            {
                ":until": _number(resting_until),
                ":buckets": _bucket_map(buckets),
                ":version": _number(lease.version + 1),
            },
            *_held(lease),
        )

    def _update(
        self,
        account: SellerAccount,
        expression: str,
        values: dict[str, Any],
        condition: str,
        condition_values: dict[str, Any],
    ) -> bool:
        """Writes the lease item if ``condition`` holds; False when it did not."""
        used = " ".join((expression, condition))
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=_key(account, LEASE_KEY),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={name: value for name, value in _NAMES.items() if name in used},
                ExpressionAttributeValues={**values, **condition_values},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def _held(lease: DrainLease) -> tuple[str, dict[str, Any]]:
    """The condition that ``lease`` is still the one stored: its owner, at its version."""
    return "#owner = :me AND #version = :held", {":me": {"S": lease.owner}, ":held": _number(lease.version)}


def _key(account: SellerAccount, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": _partition(account)}, "sk": {"S": sort_key}}


def _partition(account: SellerAccount) -> str:
    return f"{account.seller_id}#{account.region}"


def _entry_key(order_id: str) -> str:
    return f"{ENTRY_PREFIX}{order_id}"


def _rank(change: PendingChange) -> tuple[int, int]:
    """Of two entries for one order, the one of higher rank stays pending: the newer change, or of
    the same change the one with more failed fetches counted (a duplicate carries none)."""
    return int(change.changed.timestamp()), change.attempts


def _seconds(change: PendingChange) -> dict[str, str]:
    # Whole seconds (a change is known to the second): a fraction would be truncated.
    return {"N": str(int(change.changed.timestamp()))}


def _changed(change: PendingChange) -> dict[str, Any]:
    return {":changed": _seconds(change)}


def _entry_update(change: PendingChange) -> dict[str, Any]:
    """The UpdateItem expression that leaves the entry as ``change`` says, whatever it was."""
    values: dict[str, Any] = {":changed": _seconds(change), ":id": {"S": change.notification_id}}
    expression = f"SET {CHANGED} = :changed, notification_id = :id"
    if change.attempts:
        values |= {":attempts": _number(change.attempts), ":not_before": _number(change.not_before)}
        expression += ", attempts = :attempts, not_before = :not_before"
    else:
        expression += " REMOVE attempts, not_before"
    return {"UpdateExpression": expression, "ExpressionAttributeValues": values}


def _entry(item: dict[str, Any]) -> PendingChange:
    return PendingChange(
        item["sk"]["S"].removeprefix(ENTRY_PREFIX),
        datetime.fromtimestamp(int(item[CHANGED]["N"]), UTC),
        item["notification_id"]["S"],
        int(item["attempts"]["N"]) if "attempts" in item else 0,
        float(item["not_before"]["N"]) if "not_before" in item else 0.0,
    )


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def _bucket_map(buckets: Mapping[str, BucketState]) -> dict[str, Any]:
    return {
        "M": {
            operation: {
                "M": {
                    "tat": _number(bucket.tat),
                    "rate": _number(bucket.rate),
                    "confirmed": {"BOOL": bool(bucket.confirmed)},
                }
            }
            for operation, bucket in buckets.items()
        }
    }


def _buckets(item: dict[str, Any] | None) -> dict[str, BucketState]:
    stored = (item or {}).get("buckets", {}).get("M", {})
    return {
        operation: BucketState(
            float(bucket["M"]["tat"]["N"]),
            float(bucket["M"]["rate"]["N"]),
            bool(bucket["M"]["confirmed"]["BOOL"]),
        )
        for operation, bucket in stored.items()
    }
