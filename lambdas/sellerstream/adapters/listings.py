"""The listings table: a seller's SKUs per marketplace are one query.

Keys: ``pk = SELLER#<seller>#MARKETPLACE#<marketplace>``, ``sk = SKU#<percent-encoded sku>`` (ids
have Amazon's shapes, which hold no ``#``; a SKU may hold any character, so it is encoded and kept
readable in the ``sku`` attribute). Writes are
conditional on the listing's own last-update time (Amazon's ``lastUpdatedDate``, or the event time
when Amazon has no listing any more); a deleted listing keeps its history and is flagged.

Two parts of a stored version may be refreshed without a new version, each under its own time, so
neither ever moves ``last_updated``: the issues (Amazon changes them without touching
``lastUpdatedDate``), read again at ``issues_as_of``; and a fulfillment channel's seller-fulfilled
quantity, from a notification as of ``mfn_quantity[channel].as_of``. Both count as read when their
version was (``stored_at``) until refreshed, and a new version replaces them with its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import (
    NEWER_ONLY,
    batch_get,
    from_attribute_map,
    is_condition_failure,
    newer_only_put,
    set_attributes,
    to_attribute_map,
)
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.identifiers import key_part
from sellerstream.timestamps import sortable_timestamp

# The issues of the same version, read before now (at their own time, else with their version).
_SAME_VERSION_ISSUES_OLDER: Final = (
    "#last_updated = :version AND #deleted = :false AND (#issues_as_of < :observed_at OR "
    "(attribute_not_exists(#issues_as_of) AND (attribute_not_exists(#stored_at) OR #stored_at < :observed_at)))"
)
# A quantity update is a read-modify-write: it lands only on the item as read (same version, not
# deleted, no other quantity update since); otherwise the item is read again, this many times.
QUANTITY_ATTEMPTS: Final = 5
_AS_READ: Final = "#last_updated = :version AND #deleted = :false AND "
_QUANTITY_UNTOUCHED: Final = "attribute_not_exists(#quantity_revision)"
_QUANTITY_AS_READ: Final = "#quantity_revision = :read_revision"


def listing_key(seller_id: str, marketplace_id: str, sku: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_id}#MARKETPLACE#{marketplace_id}", "sk": f"SKU#{key_part(sku)}"}


def quantity_change(
    item: dict[str, Any], channel: str, quantity: int, as_of: str, notification_id: str
) -> dict[str, Any] | None:
    """The attributes a channel's quantity as of ``as_of`` (sortable) sets on a stored listing item,
    or None when the item knows that channel's quantity as of then or later: from an earlier
    notification (``mfn_quantity``), else from the read of its version (``stored_at``, at least
    ``last_updated``)."""
    entries = _plain(item.get("mfn_quantity"))
    entries = entries if isinstance(entries, dict) else {}
    known = [item.get("stored_at"), item.get("last_updated")]
    entry = entries.get(channel)
    if isinstance(entry, dict):
        known.append(entry.get("as_of"))
    if any(isinstance(moment, str) and moment >= as_of for moment in known):
        return None
    availability = [e for e in _plain(item.get("fulfillment_availability")) or [] if isinstance(e, dict)]
    for entry_of_channel in availability:
        if entry_of_channel.get("fulfillmentChannelCode") == channel:
            entry_of_channel["quantity"] = quantity
            break
    else:
        availability.append({"fulfillmentChannelCode": channel, "quantity": quantity})
    quantities = [whole for whole in (_whole(e.get("quantity")) for e in availability) if whole is not None]
    entries[channel] = {"quantity": quantity, "as_of": as_of, "notification_id": notification_id}
    updated_at = item.get("quantity_updated_at")
    return {
        "fulfillment_availability": availability,
        "quantity": sum(quantities),
        "mfn_quantity": entries,
        "quantity_updated_at": max(updated_at, as_of) if isinstance(updated_at, str) else as_of,
    }


def _plain(value: Any) -> Any:
    """A copy of a value read from DynamoDB with its numbers as Python's again (Decimals would be
    written back as strings)."""
    if isinstance(value, dict):
        return {name: _plain(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    return value


def _whole(value: Any) -> int | None:
    """A quantity as a listing read counts it: an integer, never a boolean."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def listing_item(record: ListingRecord) -> dict[str, Any]:
    return {
        **record.attributes,
        **listing_key(record.seller_id, record.marketplace_id, record.sku),
        "seller_id": record.seller_id,
        "marketplace_id": record.marketplace_id,
        "sku": record.sku,
        "last_updated": sortable_timestamp(record.last_updated),
        "deleted": False,
    }


class DynamoDBListingStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def put_if_newer(self, record: ListingRecord) -> WriteOutcome:
        last_updated = sortable_timestamp(record.last_updated)
        put = newer_only_put(self._table_name, listing_item(record), last_updated)["Put"]
        try:
            aws.client("dynamodb").put_item(**put)
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN

    def mark_deleted(
        self, seller_id: str, marketplace_id: str, sku: str, *, as_of: datetime, attributes: dict[str, Any]
    ) -> WriteOutcome:
        """Flags the listing deleted (creating a tombstone if unknown); its stored history stays."""
        last_updated = sortable_timestamp(as_of)
        values = {
            **attributes,
            "seller_id": seller_id,
            "marketplace_id": marketplace_id,
            "sku": sku,
            "deleted": True,
            "deleted_at": last_updated,
            "last_updated": last_updated,
        }
        update = set_attributes(values)
        update["ExpressionAttributeValues"][":last_updated"] = {"S": last_updated}
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=to_attribute_map(listing_key(seller_id, marketplace_id, sku)),
                ConditionExpression=NEWER_ONLY,
                **update,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN

    def refresh_issues(
        self,
        seller_id: str,
        marketplace_id: str,
        sku: str,
        *,
        version: datetime,
        observed_at: datetime,
        issues: list[Any],
        attributes: dict[str, Any],
    ) -> WriteOutcome:
        """The same version's issues, read again (see ``ListingStore.refresh_issues``)."""
        values = {
            **{name: value for name, value in attributes.items() if value is not None},
            "issues": issues,
            "issues_as_of": sortable_timestamp(observed_at),
        }
        update = set_attributes(values)
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=to_attribute_map(listing_key(seller_id, marketplace_id, sku)),
                UpdateExpression=update["UpdateExpression"],
                ConditionExpression=_SAME_VERSION_ISSUES_OLDER,
                ExpressionAttributeNames={
                    **update["ExpressionAttributeNames"],
                    "#last_updated": "last_updated",
                    "#deleted": "deleted",
                    "#issues_as_of": "issues_as_of",
                    "#stored_at": "stored_at",
                },
                ExpressionAttributeValues={
                    **update["ExpressionAttributeValues"],
                    ":version": {"S": sortable_timestamp(version)},
                    ":observed_at": {"S": sortable_timestamp(observed_at)},
                    ":false": {"BOOL": False},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN

    def update_mfn_quantity(
        self,
        seller_id: str,
        sku: str,
        marketplace_ids: Sequence[str],
        *,
        channel: str,
        quantity: int,
        as_of: datetime,
        notification_id: str,
    ) -> dict[str, WriteOutcome]:
        """A channel's quantity in each stored listing of the SKU (see ``ListingStore``): which of
        the marketplaces hold one is one BatchGetItem (eventually consistent: a listing stored a
        moment ago may be missed, and its read is as recent), then each is read consistently and
        written only as read."""
        marketplaces = list(dict.fromkeys(marketplace_ids))
        keys = {m: listing_key(seller_id, m, sku) for m in marketplaces}
        found = {
            str(item["pk"]["S"])
            for item in batch_get(self._table_name, [to_attribute_map(key) for key in keys.values()], "pk")
        }
        outcomes: dict[str, WriteOutcome] = {}
        for marketplace_id in marketplaces:
            if keys[marketplace_id]["pk"] not in found:
                continue
            outcome = self._update_quantity(
                keys[marketplace_id], channel, quantity, sortable_timestamp(as_of), notification_id
            )
            if outcome is not None:
                outcomes[marketplace_id] = outcome
        return outcomes

    def _update_quantity(
        self, key: dict[str, str], channel: str, quantity: int, as_of: str, notification_id: str
    ) -> WriteOutcome | None:
        """None: no listing (any more), or a deleted one."""
        client = aws.client("dynamodb")
        attempts = 0
        while True:
            attempts += 1
            found = client.get_item(
                TableName=self._table_name, Key=to_attribute_map(key), ConsistentRead=True
            ).get("Item")
            item = from_attribute_map(found) if found else None
            if (
                item is None
                or item.get("deleted") is not False
                or not isinstance(item.get("last_updated"), str)
            ):
                return None
            change = quantity_change(item, channel, quantity, as_of, notification_id)
            if change is None:
                return WriteOutcome.STALE
            read_revision = item.get("quantity_revision")
            change["quantity_revision"] = int(read_revision or 0) + 1
            update = set_attributes(change)
            condition_values = {":version": {"S": item["last_updated"]}, ":false": {"BOOL": False}}
            if read_revision is None:
                condition = _AS_READ + _QUANTITY_UNTOUCHED
            else:
                condition = _AS_READ + _QUANTITY_AS_READ
                condition_values[":read_revision"] = {"N": str(int(read_revision))}
            try:
                client.update_item(
                    TableName=self._table_name,
                    Key=to_attribute_map(key),
                    UpdateExpression=update["UpdateExpression"],
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        **update["ExpressionAttributeNames"],
                        "#last_updated": "last_updated",
                        "#deleted": "deleted",
                        "#quantity_revision": "quantity_revision",
                    },
                    ExpressionAttributeValues={**update["ExpressionAttributeValues"], **condition_values},
                )
            except ClientError as error:
                if is_condition_failure(error) and attempts < QUANTITY_ATTEMPTS:
                    continue  # changed since it was read: read it again
                raise
            return WriteOutcome.WRITTEN
