"""Pending orders (``ports.PendingOrders``): per seller and SP-API region, the orders whose change is
not stored yet and the lease of the one drainer that fetches them, in the pending orders table.

One partition per account, ``pk = <seller id>#<region>``, holding two kinds of items:

- an entry per pending change: ``sk = C#<epoch seconds of the change, 12 digits>#<order id>``,
  ``notification_id``, and after a failed fetch ``attempts`` and ``not_before``. Zero-padded seconds sort as the changes do, so the oldest entries are the
  first of one Query, and an order changed at two moments has two entries. The same change recorded
  twice is the same key: entries are put (and deleted) by unconditional BatchWriteItem, idempotent
  and never a failed conditional write, 25 a request, what DynamoDB leaves unprocessed sent again
  a few times before the caller is told the batch is not stored (``PendingOrdersWriteError``).
- the lease, ``sk = LEASE``: ``owner`` (absent while the lease is free), ``until``, ``version`` and
  ``buckets`` (the drainer's rate buckets by metered operation: ``tat``, ``rate``, ``confirmed``),
  so the next holder spends from where the last one stopped. It is taken until the end of its
  holder's invocation (``until``) and never renewed. Taking reads it first and writes only when it
  is free or expired, conditional on the version read: a busy lease costs one read, never a failed
  conditional write, and of two containers that read it free only one takes it. Its holder releases
  it with the buckets as spent, conditional on its owner and version: a lease taken over since is
  left as the new holder wrote it.

Nothing expires: a drained entry is removed. The table holds no buyer data and is recreated
without backups: reconciliation stores whatever a lost entry stood for.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import is_condition_failure
from sellerstream.domain.orders import BucketState, DrainLease, PendingChange, SellerAccount
from sellerstream.errors import SellerStreamError

BATCH_WRITE_LIMIT: Final = 25  # DynamoDB's BatchWriteItem maximum
# Items DynamoDB left unprocessed (throttling) are sent again this many times, after a jittered
# backoff from BACKOFF_BASE_SECONDS doubling each round; then the caller is told.
WRITE_ROUNDS: Final = 5
BACKOFF_BASE_SECONDS: Final = 0.05
ENTRY_PREFIX: Final = "C#"
LEASE_KEY: Final = "LEASE"
_SECONDS_DIGITS: Final = 12
# "owner", "until" and "version" are DynamoDB reserved words: every name goes through a placeholder.
_NAMES: Final = {"#owner": "owner", "#until": "until", "#version": "version", "#buckets": "buckets"}


class PendingOrdersWriteError(SellerStreamError):
    """DynamoDB kept leaving part of a batch unprocessed: those entries are not added (or not
    removed). Transient: the record that asked is retried through its queue."""


class DynamoDBPendingOrders:
    def __init__(self, table_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table_name = table_name
        self._sleep = sleep

    # -- entries ------------------------------------------------------------------------------------

    def add(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        # By key: one request may not name an item twice; the last notification of a change wins.
        puts = {
            _entry_key(change): {"PutRequest": {"Item": _entry_item(account, change)}} for change in changes
        }
        self._write(list(puts.values()))

    def oldest(self, account: SellerAccount, limit: int) -> list[PendingChange]:
        entries: list[PendingChange] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :entry)",
            "ExpressionAttributeValues": {":pk": {"S": _partition(account)}, ":entry": {"S": ENTRY_PREFIX}},
            # Strongly consistent: the drainer's last look after releasing its lease must see every
            # entry added before it, or a change added meanwhile would wait with nobody draining it.
            "ConsistentRead": True,
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

    def remove(self, account: SellerAccount, changes: Sequence[PendingChange]) -> None:
        keys = {_entry_key(change) for change in changes}
        self._write(
            [
                {"DeleteRequest": {"Key": {"pk": {"S": _partition(account)}, "sk": {"S": key}}}}
                for key in sorted(keys)
            ]
        )

    def _write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            for attempt in range(WRITE_ROUNDS):
                response = aws.client("dynamodb").batch_write_item(RequestItems={self._table_name: pending})
                pending = (response.get("UnprocessedItems") or {}).get(self._table_name) or []
                if not pending:
                    break
                if attempt < WRITE_ROUNDS - 1:
                    # Full jitter: containers throttled together do not come back together.
                    self._sleep(random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempt))  # noqa: S311
            if pending:
                raise PendingOrdersWriteError(
                    f"{len(pending)} pending order entries still unprocessed after {WRITE_ROUNDS} attempts"
                )

    # -- the drainer's lease ------------------------------------------------------------------------

    def take_lease(
        self, account: SellerAccount, owner: str, *, now: float, until: float
    ) -> DrainLease | None:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self._table_name, Key=self._lease_key(account), ConsistentRead=True)
            .get("Item")
        )
        held_by = item.get("owner", {}).get("S") if item else None
        held_until = float(item["until"]["N"]) if item else 0.0
        if held_by and held_until > now:
            return None  # busy: a read, no write
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
        self, account: SellerAccount, lease: DrainLease, buckets: Mapping[str, BucketState]
    ) -> None:
        # Not released when lost: the buckets of whoever took it over stay as they are.
        self._update(
            account,
            "SET #until = :until, #buckets = :buckets, #version = :version REMOVE #owner",
            {":until": _number(0), ":buckets": _bucket_map(buckets), ":version": _number(lease.version + 1)},
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
                Key=self._lease_key(account),
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

    def _lease_key(self, account: SellerAccount) -> dict[str, Any]:
        return {"pk": {"S": _partition(account)}, "sk": {"S": LEASE_KEY}}


def _held(lease: DrainLease) -> tuple[str, dict[str, Any]]:
    """The condition that ``lease`` is still the one stored: its owner, at its version."""
    return "#owner = :me AND #version = :held", {":me": {"S": lease.owner}, ":held": _number(lease.version)}


def _partition(account: SellerAccount) -> str:
    return f"{account.seller_id}#{account.region}"


def _entry_key(change: PendingChange) -> str:
    # Whole seconds (a change is known to the second): a fraction would be truncated.
    seconds = int(change.changed.timestamp())
    return f"{ENTRY_PREFIX}{seconds:0{_SECONDS_DIGITS}d}#{change.order_id}"


def _entry_item(account: SellerAccount, change: PendingChange) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _partition(account)},
        "sk": {"S": _entry_key(change)},
        "notification_id": {"S": change.notification_id},
    }
    if change.attempts:
        item["attempts"] = _number(change.attempts)
        item["not_before"] = _number(change.not_before)
    return item


def _entry(item: dict[str, Any]) -> PendingChange:
    _, seconds, order_id = item["sk"]["S"].split("#", 2)
    return PendingChange(
        order_id,
        datetime.fromtimestamp(int(seconds), UTC),
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
