"""The notifications table: the newest state of every entity a generic type names.

Keys: ``pk = SELLER#<seller or account>``, ``sk = <TYPE>#<key part>#<key part>...`` (each part
percent-encoded, ``identifiers.key_part``): one query reads a seller's entities of a type. Writes
are conditional on the change's own time (``last_updated``), so a duplicate, an older change or a
redelivery changes nothing; items expire (TTL ``expires_at``) as the catalog says per type.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import is_condition_failure, newer_only_put
from sellerstream.domain.notifications import NotificationRecord
from sellerstream.domain.orders import WriteOutcome
from sellerstream.identifiers import key_part
from sellerstream.timestamps import sortable_timestamp


def notification_key(notification_type: str, seller_key: str, key: dict[str, str]) -> dict[str, str]:
    parts = "#".join(key_part(value) for value in key.values())
    return {"pk": f"SELLER#{seller_key}", "sk": f"{notification_type}#{parts}"}


def notification_item(record: NotificationRecord) -> dict[str, Any]:
    return {
        **notification_key(record.notification_type, record.seller_key, record.key),
        "notification_type": record.notification_type,
        "seller_id": record.seller_key,
        "key": record.key,
        "last_updated": sortable_timestamp(record.version),
        "notification_id": record.notification_id,
        "data": record.data,
        "expires_at": int(record.expires_at.timestamp()),
    }


class DynamoDBNotificationStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def put_if_newer(self, record: NotificationRecord) -> WriteOutcome:
        put = newer_only_put(self._table_name, notification_item(record), sortable_timestamp(record.version))
        try:
            aws.client("dynamodb").put_item(**put["Put"])
        except ClientError as error:
            if is_condition_failure(error):
                return WriteOutcome.STALE
            raise
        return WriteOutcome.WRITTEN
