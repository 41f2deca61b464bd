"""Amazon's notifications as the emulator sends them, shaped like the examples Amazon ships.

Each kind of notification built here is known by its payload's top-level keys (the
``OrderChangeNotification`` wrapper, a listing's ``Sku`` and ``Status``); Amazon's vendored example
with those keys gives it its type name, its versions and the spelling of its envelope
(``NotificationType`` or ``notificationType``). Every key of a built payload is one the example has
at the same place: the emulator never sends a field Amazon's example lacks. No type name is spelled
here: they are Amazon's, read from its examples.

Examples named ``<TYPE>.schema-example-<n>.json`` come from Amazon's notification schemas: the types
a seller subscribes to through the Notifications API. ``<TYPE>.sample-<n>.json`` come from Amazon's
samples: the application's own notifications, registered in the Developer Console.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import cache, cached_property
from types import MappingProxyType
from typing import Any

from sellerstream_local.emulator import vendored

APPLICATION_ID = "amzn1.sellerapps.app.00000000-0000-4000-8000-000000000001"
SCHEMA_EXAMPLE = ".schema-example-"
# Assembled from a schema's own payload example where Amazon ships no whole notification.
SCHEMA_PAYLOAD_EXAMPLE = ".schema-payload-example"
SAMPLE = ".sample-"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Example:
    """One of Amazon's example notifications."""

    def __init__(self, file: str, document: dict[str, Any]) -> None:
        self.file = file
        self.document = document
        self.type_name = str(self.envelope("notificationType"))
        self.payload_version = str(self.envelope("payloadVersion"))
        self.payload: dict[str, Any] = self.envelope("payload")
        # What every notification of its type carries as the example does, by lower-case key.
        self.fixed = {
            "notificationversion": self.envelope("notificationVersion"),
            "notificationtype": self.type_name,
            "payloadversion": self.payload_version,
        }
        # Its envelope's and metadata's keys, in its order and spelling, each with its lower case.
        self.layout = tuple((key, key.lower()) for key in document)
        self.metadata_layout = tuple((key, key.lower()) for key in self.envelope("notificationMetadata"))

    def envelope(self, name: str) -> Any:
        """A top-level field, whatever its case (``NotificationType`` / ``notificationType``)."""
        wanted = name.lower()
        return next(value for key, value in self.document.items() if key.lower() == wanted)


@cache
def amazon_examples() -> tuple[Example, ...]:
    return tuple(Example(name, document) for name, document in vendored.notification_examples())


@cache
def subscription_versions() -> Mapping[str, frozenset[str]]:
    """The types a seller may subscribe to (Amazon's schemas give an example of each) and the
    payload versions of their examples."""
    versions: dict[str, set[str]] = {}
    for example in amazon_examples():
        if SCHEMA_EXAMPLE in example.file or SCHEMA_PAYLOAD_EXAMPLE in example.file:
            versions.setdefault(example.type_name, set()).add(example.payload_version)
    return MappingProxyType({name: frozenset(found) for name, found in versions.items()})


@cache
def application_types() -> frozenset[str]:
    """The application's own notification types (Amazon's samples)."""
    return frozenset(example.type_name for example in amazon_examples() if SAMPLE in example.file)


class Kind:
    """One of Amazon's notification types, known by its payload's top-level keys."""

    def __init__(self, *payload_keys: str) -> None:
        self._payload_keys = frozenset(payload_keys)

    @cached_property
    def examples(self) -> tuple[Example, ...]:
        found = tuple(example for example in amazon_examples() if self._payload_keys <= set(example.payload))
        if len({example.type_name for example in found}) != 1:
            raise LookupError(
                f"Amazon's examples have {len(found)} notification types with a payload of "
                f"{sorted(self._payload_keys)}: expected one"
            )
        return found

    @property
    def type_name(self) -> str:
        return self.examples[0].type_name

    def build(
        self,
        payload: dict[str, Any],
        *,
        sent_at: datetime,
        subscription_id: str,
        notification_id: str | None = None,
    ) -> dict[str, Any]:
        """The notification, its envelope spelled and ordered as Amazon's example spells it."""
        example = next((found for found in self.examples if _fits(payload, found.payload)), None)
        if example is None:
            raise ValueError(f"the payload has fields Amazon's {self.type_name} example lacks: {payload}")
        sent = iso(sent_at)
        metadata = {
            "applicationid": APPLICATION_ID,
            "subscriptionid": subscription_id,
            "publishtime": sent,
            "notificationid": notification_id or str(uuid.uuid4()),
        }
        values = {**example.fixed, "eventtime": sent, "payload": payload}
        values["notificationmetadata"] = {key: metadata[lowered] for key, lowered in example.metadata_layout}
        return {key: values[lowered] for key, lowered in example.layout}


def _fits(value: Any, example: Any) -> bool:
    """Whether every key of ``value`` is one ``example`` has at the same place (list items against
    the example's first item; any scalar, None included, where the example has a scalar)."""
    if isinstance(value, dict):
        return isinstance(example, dict) and all(
            key in example and _fits(item, example[key]) for key, item in value.items()
        )
    if isinstance(value, list):
        return isinstance(example, list) and all(example and _fits(item, example[0]) for item in value)
    return not isinstance(example, dict | list)


ORDER_CHANGES = Kind("OrderChangeNotification")
LISTING_STATUS = Kind("Sku", "Status")
REPORT_FINISHED = Kind("reportProcessingFinishedNotification")
NEW_SECRET = Kind("applicationOAuthClientNewSecret")
SECRET_EXPIRY = Kind("applicationOAuthClientSecretExpiry")


def order_change(
    *,
    seller_id: str,
    order_id: str,
    status: str,
    changed_at: datetime,
    subscription_id: str = "subscription-local-order-change",
    notification_id: str | None = None,
    marketplace_id: str = "ATVPDKIKX0DER",
    quantity: int = 1,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An order's status change. ``items``: the order's items as Amazon lists them
    (``OrderItemId``, ``SellerSKU``, ``Quantity``); default one generated item of ``quantity``."""
    order_items = [
        {"SupplySourceId": None, **item}
        for item in items
        or [{"OrderItemId": f"{order_id[-7:]}01", "SellerSKU": f"SKU-{order_id[-4:]}", "Quantity": quantity}]
    ]
    payload = {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": seller_id,
            "AmazonOrderId": order_id,
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {
                "TimeOfOrderChange": iso(changed_at),
                "ChangeReason": "Order status changed",
            },
            "Summary": {
                "MarketplaceId": marketplace_id,
                "OrderStatus": status,
                "PurchaseDate": iso(changed_at),
                "DestinationPostalCode": "48110",
                "FulfillmentType": "MFN",
                "OrderType": "StandardOrder",
                "OrderItems": order_items,
            },
        }
    }
    return ORDER_CHANGES.build(
        payload, sent_at=changed_at, subscription_id=subscription_id, notification_id=notification_id
    )


def listings_status_change(
    *,
    seller_id: str,
    sku: str,
    status: list[str],
    changed_at: datetime,
    marketplace_id: str = "ATVPDKIKX0DER",
    notification_id: str | None = None,
    subscription_id: str = "subscription-local-listings",
) -> dict[str, Any]:
    payload = {
        "SellerId": seller_id,
        "MarketplaceId": marketplace_id,
        "Sku": sku,
        "CreatedDate": iso(changed_at),
        "Status": status,
    }
    return LISTING_STATUS.build(
        payload, sent_at=changed_at, subscription_id=subscription_id, notification_id=notification_id
    )


def report_processing_finished(
    *,
    report_id: str,
    status: str,
    finished_at: datetime,
    seller_id: str | None,
    account_id: str,
    document_id: str | None = None,
    report_type: str = "GET_MERCHANT_LISTINGS_ALL_DATA",
    subscription_id: str = "subscription-local-reports",
) -> dict[str, Any]:
    """A report's end; a vendor's (``seller_id`` None) has no ``sellerId``, like Amazon's example."""
    report: dict[str, Any] = {
        "accountId": account_id,
        "reportId": report_id,
        "reportType": report_type,
        "processingStatus": status,
    }
    if seller_id:
        report["sellerId"] = seller_id
    if document_id:
        report["reportDocumentId"] = document_id
    return REPORT_FINISHED.build(
        {"reportProcessingFinishedNotification": report}, sent_at=finished_at, subscription_id=subscription_id
    )


def application_oauth_client_new_secret(
    *,
    client_id: str,
    new_client_secret: str,
    sent_at: datetime,
    new_secret_expires_at: datetime | None,
    old_secret_expires_at: datetime | None,
    subscription_id: str = "subscription-local-app-new-secret",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """The application's new LWA client secret, as Amazon's credential-rotation sample shows it."""
    new_secret: dict[str, Any] = {"clientId": client_id, "newClientSecret": new_client_secret}
    if new_secret_expires_at:
        new_secret["newClientSecretExpiryTime"] = iso(new_secret_expires_at)
    if old_secret_expires_at:
        new_secret["oldClientSecretExpiryTime"] = iso(old_secret_expires_at)
    return NEW_SECRET.build(
        {"applicationOAuthClientNewSecret": new_secret},
        sent_at=sent_at,
        subscription_id=subscription_id,
        notification_id=notification_id,
    )


def application_oauth_client_secret_expiry(
    *,
    client_id: str,
    expires_at: datetime,
    sent_at: datetime,
    reason: str = "PERIODIC_ROTATION",
    subscription_id: str = "subscription-local-app-secret-expiry",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """The application's LWA client secret expires soon."""
    expiry = {
        "clientId": client_id,
        "clientSecretExpiryTime": iso(expires_at),
        "clientSecretExpiryReason": reason,
    }
    return SECRET_EXPIRY.build(
        {"applicationOAuthClientSecretExpiry": expiry},
        sent_at=sent_at,
        subscription_id=subscription_id,
        notification_id=notification_id,
    )
