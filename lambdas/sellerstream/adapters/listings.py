"""The listings table: a seller's SKUs per marketplace are one query.

Keys: ``pk = SELLER#<seller>#MARKETPLACE#<marketplace>``, ``sk = SKU#<percent-encoded sku>`` (ids
have Amazon's shapes, which hold no ``#``; a SKU may hold any character, so it is encoded and kept
readable in the ``sku`` attribute). Writes are
conditional on the listing's own last-update time (Amazon's ``lastUpdatedDate``, or the event time
when Amazon has no listing any more); a deleted listing keeps its history and is flagged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import NEWER_ONLY, is_condition_failure, newer_only_put, to_attribute_map
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.identifiers import key_part
from sellerstream.timestamps import sortable_timestamp


def listing_key(seller_id: str, marketplace_id: str, sku: str) -> dict[str, str]:
    return {"pk": f"SELLER#{seller_id}#MARKETPLACE#{marketplace_id}", "sk": f"SKU#{key_part(sku)}"}


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
        values = {name: value for name, value in values.items() if value is not None}
        names = {f"#a{index}": name for index, name in enumerate(values)}
        placeholders = {f":v{index}": value for index, value in enumerate(values.values())}
        assignments = ", ".join(f"#a{index} = :v{index}" for index in range(len(values)))
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=to_attribute_map(listing_key(seller_id, marketplace_id, sku)),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression=NEWER_ONLY,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **to_attribute_map(placeholders),
                    ":last_updated": {"S": last_updated},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN
