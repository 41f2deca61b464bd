"""Any notification type without a model of its own, read through Amazon's JSON Schema of it.

The envelope (either of Amazon's casings) is read strictly: the type, versions, ids of the right
shape, RFC 3339 times. The whole notification is then checked against the type's schema
(``schema_check``: required fields and JSON types strict, new fields and values accepted). What a
type stores is declared in the catalog (``catalog.Stored``): the paths of the seller, of the
natural key's parts and of the payload's own time; each key part is checked before it reaches a key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, model_validator

from sellerstream import catalog, identifiers
from sellerstream.notifications.schema_check import schema
from sellerstream.timestamps import parse_rfc3339

MAX_KEY_PART_CHARS = 256
MAX_ENTITIES = 1000  # a notification listing more entities than this is refused (a hostile list)


class Entity(NamedTuple):
    """One thing a notification says changed: its natural key, the time of its change, its data."""

    key: dict[str, str]
    version: datetime
    data: dict[str, Any]


class GenericNotification(BaseModel):
    model_config = ConfigDict(frozen=True)

    notification_type: str
    notification_version: str
    payload_version: str
    notification_id: str
    subscription_id: str
    event_time: datetime
    payload: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _from_amazon(cls, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise ValueError("a notification is a JSON object")
        name = _field(document, "NotificationType")
        message_type = catalog.generic_type(name) if isinstance(name, str) else None
        if message_type is None or message_type.schema is None:
            raise ValueError("no schema for this notification type")
        problems = schema(message_type.schema).problems(document)
        if problems:
            raise ValueError("; ".join(problems))
        metadata = _field(document, "NotificationMetadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        notification_id = _field(metadata, "NotificationId")
        subscription_id = _field(metadata, "SubscriptionId")
        if not identifiers.is_notification_id(notification_id):
            raise ValueError("NotificationMetadata.NotificationId: not an id")
        if not identifiers.is_subscription_id(subscription_id):
            raise ValueError("NotificationMetadata.SubscriptionId: not an id")
        versions = (_field(document, "NotificationVersion"), _field(document, "PayloadVersion"))
        if not all(identifiers.is_version(version) for version in versions):
            raise ValueError("NotificationVersion/PayloadVersion: not a version")
        event_time = _field(document, "EventTime")
        payload = _field(document, "Payload")
        if not isinstance(payload, dict):
            raise ValueError("Payload: expected object")
        return {
            "notification_type": name,
            "notification_version": versions[0],
            "payload_version": versions[1],
            "notification_id": notification_id,
            "subscription_id": subscription_id,
            "event_time": parse_rfc3339(event_time),
            "payload": payload,
        }

    @property
    def stored(self) -> catalog.Stored:
        message_type = catalog.generic_type(self.notification_type)
        assert message_type is not None and message_type.stored is not None
        return message_type.stored

    @property
    def seller_id(self) -> str | None:
        """The seller (or vendor account) the payload names, None when the type names none (the
        subscription's seller then)."""
        path = self.stored.seller
        if path is None:
            return None
        value = _at(self.payload, path)
        if value is None and self.stored.each is not None:
            values = {_at(element, path) for element in self._elements()}
            value = values.pop() if len(values) == 1 else None
        return str(value) if identifiers.is_seller_key(value) else None

    def entities(self) -> list[Entity]:
        """What the notification says changed, one entity per natural key; raises ``ValueError``
        for a key part that cannot be stored (missing, not text, too long, not Unicode)."""
        stored = self.stored
        parent = _key(self.payload, stored.parent_key)
        around = {name: value for name, value in self.payload.items() if name != stored.each}
        entities: list[Entity] = []
        for element in self._elements():
            key = {**parent, **_key(element, stored.key)}
            if not key:
                key = {"notification_id": self.notification_id}
            version = self.event_time
            if stored.version is not None:
                moment = _at(element, stored.version)
                if moment is not None:
                    version = parse_rfc3339(moment)
            data = element if stored.each is None else {**around, **element}
            entities.append(Entity(key, version, data))
        return entities

    def _elements(self) -> list[dict[str, Any]]:
        if self.stored.each is None:
            return [self.payload]
        elements = _at(self.payload, self.stored.each)
        if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
            raise ValueError(f"{self.stored.each}: expected a list of objects")
        if len(elements) > MAX_ENTITIES:
            raise ValueError(f"{self.stored.each}: more than {MAX_ENTITIES} entries")
        return elements


def _key(document: dict[str, Any], parts: tuple[tuple[str, str], ...]) -> dict[str, str]:
    key: dict[str, str] = {}
    for name, path in parts:
        value = _at(document, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{path}: a key part must be non-empty text")
        if len(value) > MAX_KEY_PART_CHARS or identifiers.sku_problem(value):
            raise ValueError(f"{path}: a key part must be at most {MAX_KEY_PART_CHARS} characters of Unicode")
        key[name] = value
    return key


def _field(document: dict[str, Any], pascal: str) -> Any:
    """A field in either of Amazon's casings (PascalCase, camelCase)."""
    if pascal in document:
        return document[pascal]
    return document.get(pascal[0].lower() + pascal[1:])


def _at(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
