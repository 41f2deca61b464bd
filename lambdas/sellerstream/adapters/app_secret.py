"""The LWA app secret in Secrets Manager, and what is known about its expiry (accounts table).

The secret holds ``{"client_id", "client_secret"}`` (other keys an operator added are kept). Only
a new secret from Amazon (or the operator) writes it; notices about its expiry never do, so a notice
processed at the same time as a new secret cannot write the old secret back. What is known about
the current secret's expiry lives in the accounts table under ``pk = LWA_CLIENT#<client id>``:

- ``expires_at``: when the current secret stops working (an expiry notice, or the new secret's
  ``newClientSecretExpiryTime``, or what the operator said);
- ``secret_updated_at``: Amazon's event time of the new secret stored (or when the operator set it);
- ``expiry_notice_at``: the event time of the latest expiry notice applied;
- ``previous_secret_expires_at``: when the secret before the current one stops working;
- ``rotation_expires_at``, ``rotation_requested_at``, ``rotation_held_until``, ``rotation_outcome``:
  the rotation an expiry notice asked Amazon for (``auto_rotate_app_secret``): for which expiry,
  when, until when the attempt holds it, and what Amazon said ("requested" or "refused").

Writes are conditional on those times, so a late or redelivered notification never rolls back a
newer state, and one expiry is rotated once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import SecretStr

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map, is_condition_failure
from sellerstream.domain.credentials import ClientSecretState
from sellerstream.timestamps import sortable_timestamp

STATE_KEY_PREFIX = "LWA_CLIENT#"


class AppSecretUnusable(RuntimeError):
    """The LWA app secret is missing or not a JSON object with a client id: a deployment error."""


def state_key(client_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{STATE_KEY_PREFIX}{client_id}"}}


class SecretsManagerAppSecret:
    """Reads (uncached: this is a read-modify-write) and replaces the app's client secret."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id

    def read(self) -> dict[str, Any]:
        try:
            value = aws.client("secretsmanager").get_secret_value(SecretId=self._secret_id)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise AppSecretUnusable(f"LWA app secret {self._secret_id!r} does not exist") from None
            raise
        try:
            document = json.loads(value.get("SecretString") or "")
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("client_id"), str):
            raise AppSecretUnusable(
                f"LWA app secret {self._secret_id!r} is not a JSON object with a client_id"
            )
        return document

    def client_id(self) -> str:
        return str(self.read()["client_id"])

    def replace_client_secret(self, current: dict[str, Any], client_secret: SecretStr) -> None:
        """Writes ``current`` (as just read) with the new client secret as the secret's new version."""
        updated = {**current, "client_secret": client_secret.get_secret_value()}
        aws.client("secretsmanager").put_secret_value(
            SecretId=self._secret_id, SecretString=json.dumps(updated)
        )


class DynamoDBClientSecretStates:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def get(self, client_id: str) -> ClientSecretState | None:
        response = aws.client("dynamodb").get_item(
            TableName=self._table_name, Key=state_key(client_id), ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None
        values = from_attribute_map(item)
        return ClientSecretState(
            client_id=client_id,
            expires_at=_time(values.get("expires_at")),
            secret_updated_at=_time(values.get("secret_updated_at")),
            expiry_notice_at=_time(values.get("expiry_notice_at")),
            previous_secret_expires_at=_time(values.get("previous_secret_expires_at")),
            expiry_reason=_text(values.get("expiry_reason")),
            expires_at_source=_text(values.get("expires_at_source")),
        )

    def record_expiry_notice(
        self, client_id: str, *, expires_at: datetime, reason: str | None, notice_time: datetime
    ) -> bool:
        """Records an expiry notice unless a newer notice or a secret stored later is known."""
        return self._update(
            client_id,
            {
                "expires_at": sortable_timestamp(expires_at),
                "expires_at_source": "expiry_notice",
                "expiry_notice_at": sortable_timestamp(notice_time),
                "expiry_reason": reason,
            },
            condition="(attribute_not_exists(secret_updated_at) OR secret_updated_at < :at) "
            "AND (attribute_not_exists(expiry_notice_at) OR expiry_notice_at < :at)",
            at=notice_time,
        )

    def record_new_secret(
        self,
        client_id: str,
        *,
        expires_at: datetime | None,
        updated_at: datetime,
        previous_expires_at: datetime | None,
    ) -> bool:
        """Records that a new secret (Amazon's event time ``updated_at``) is the current one."""
        return self._update(
            client_id,
            {
                "expires_at": sortable_timestamp(expires_at) if expires_at else None,
                "expires_at_source": "new_secret" if expires_at else None,
                "secret_updated_at": sortable_timestamp(updated_at),
                "previous_secret_expires_at": (
                    sortable_timestamp(previous_expires_at) if previous_expires_at else None
                ),
                "expiry_reason": None,
            },
            condition="attribute_not_exists(secret_updated_at) OR secret_updated_at < :at",
            at=updated_at,
        )

    def claim_rotation(
        self, client_id: str, *, expires_at: datetime, notice_time: datetime, now: datetime, until: datetime
    ) -> bool:
        """Records a rotation requested for the secret expiring at ``expires_at``, held until
        ``until``, unless one for that expiry finished or is held, one for a later expiry is known,
        or a secret newer than the notice is stored."""
        return self._update(
            client_id,
            {
                "rotation_expires_at": sortable_timestamp(expires_at),
                "rotation_requested_at": sortable_timestamp(now),
                "rotation_held_until": sortable_timestamp(until),
                "rotation_outcome": None,
            },
            condition="(attribute_not_exists(secret_updated_at) OR secret_updated_at < :at) "
            "AND (attribute_not_exists(rotation_expires_at) OR rotation_expires_at < :rotation_expires_at "
            "OR (rotation_expires_at = :rotation_expires_at AND attribute_not_exists(rotation_outcome) "
            "AND (attribute_not_exists(rotation_held_until) OR rotation_held_until < :rotation_requested_at)))",
            at=notice_time,
        )

    def finish_rotation(
        self, client_id: str, *, expires_at: datetime, requested_at: datetime, outcome: str
    ) -> bool:
        return self._update(
            client_id,
            {"rotation_outcome": outcome},
            condition="rotation_expires_at = :expires_at AND rotation_requested_at = :at",
            at=requested_at,
            extra={":expires_at": sortable_timestamp(expires_at)},
        )

    def release_rotation(self, client_id: str, *, expires_at: datetime, requested_at: datetime) -> bool:
        # The hold ends (the next claim for this expiry succeeds) but the expiry stays recorded: a
        # notice of an earlier one still finds this later one.
        return self._update(
            client_id,
            {"rotation_held_until": None},
            condition="rotation_expires_at = :expires_at AND rotation_requested_at = :at "
            "AND attribute_not_exists(rotation_outcome)",
            at=requested_at,
            extra={":expires_at": sortable_timestamp(expires_at)},
        )

    def record_operator_secret(
        self, client_id: str, *, updated_at: datetime, expires_at: datetime | None
    ) -> None:
        """The operator set the secret by hand: what was known about the old one no longer holds."""
        item: dict[str, Any] = {
            **state_key(client_id),
            "client_id": {"S": client_id},
            "secret_updated_at": {"S": sortable_timestamp(updated_at)},
        }
        if expires_at is not None:
            item["expires_at"] = {"S": sortable_timestamp(expires_at)}
            item["expires_at_source"] = {"S": "operator"}
        aws.client("dynamodb").put_item(TableName=self._table_name, Item=item)

    def _update(
        self,
        client_id: str,
        values: dict[str, str | None],
        *,
        condition: str,
        at: datetime,
        extra: dict[str, str] | None = None,
    ) -> bool:
        assignments = ["client_id = :client_id"]
        removals = []
        attribute_values: dict[str, Any] = {
            ":client_id": {"S": client_id},
            ":at": {"S": sortable_timestamp(at)},
            **{name: {"S": value} for name, value in (extra or {}).items()},
        }
        for name, value in values.items():
            if value is None:
                removals.append(name)
            else:
                assignments.append(f"{name} = :{name}")
                attribute_values[f":{name}"] = {"S": value}
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key=state_key(client_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=attribute_values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
