"""Envelope pieces shared by the notification types, in Amazon's two casings, and strict field types.

ORDER_CHANGE and LISTINGS_* use PascalCase (version "1.0"); REPORT_PROCESSING_FINISHED uses
camelCase (version "2020-09-04"). Both expose the same snake_case attributes, but only Amazon's
field names are read: the Python names are not aliases a body could use instead.

Validation is strict where Amazon's type is known: a string is a string (no number coerced into
one), an integer a JSON integer (no "10" or "1_0"), a boolean a JSON boolean (no "yes"), a
timestamp RFC 3339 with an offset, and every id must have its shape (``sellerstream.identifiers``).
Lists stop at their first bad element, so a hostile body is refused without formatting thousands
of errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from sellerstream import identifiers
from sellerstream.timestamps import parse_rfc3339


class AmazonModel(BaseModel):
    """Amazon adds fields without notice: unknown ones are tolerated (and never read), known ones
    validated strictly, by Amazon's names only.

    Parts of a notification (envelope, metadata, payload) are never validated on their own, so
    they are not built on their own (``defer_build``): the whole notification's model builds their
    schemas within its own. Each whole notification model sets ``model_config = WHOLE_NOTIFICATION``
    and is built when its module is imported.
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, strict=True, populate_by_name=False, defer_build=True
    )


WHOLE_NOTIFICATION = ConfigDict(defer_build=False)


def _shaped(pattern: str) -> StringConstraints:
    # Anchored here for pydantic's (Rust) regex engine, where "$" is the end of the text.
    return StringConstraints(pattern=rf"^(?:{pattern})$", max_length=256)


SellerId = Annotated[str, _shaped(identifiers.SELLER_ID)]
AccountId = Annotated[str, _shaped(identifiers.ACCOUNT_ID)]
MarketplaceId = Annotated[str, _shaped(identifiers.MARKETPLACE_ID)]
OrderId = Annotated[str, _shaped(identifiers.ORDER_ID)]
ReportId = Annotated[str, _shaped(identifiers.REPORT_ID)]
ReportDocumentId = Annotated[str, _shaped(identifiers.REPORT_DOCUMENT_ID)]
FeedId = Annotated[str, _shaped(identifiers.FEED_ID)]
FeedDocumentId = Annotated[str, _shaped(identifiers.FEED_DOCUMENT_ID)]
NotificationId = Annotated[str, _shaped(identifiers.NOTIFICATION_ID)]
SubscriptionId = Annotated[str, _shaped(identifiers.SUBSCRIPTION_ID)]
OpaqueId = Annotated[str, _shaped(identifiers.OPAQUE_ID)]
Asin = Annotated[str, _shaped(identifiers.ASIN)]
Word = Annotated[str, _shaped(identifiers.WORD)]
LwaClientId = Annotated[str, _shaped(identifiers.LWA_CLIENT_ID)]
EventId = Annotated[str, _shaped(identifiers.EVENT_ID)]


def _storable_sku(value: str) -> str:
    problem = identifiers.sku_problem(value)
    if problem:
        raise ValueError(f"SKU {problem}")
    return value


Sku = Annotated[str, AfterValidator(_storable_sku)]

# Before: the parsed value then passes the (strict) datetime check as a datetime instance.
Timestamp = Annotated[datetime, BeforeValidator(parse_rfc3339)]


class PascalMetadata(AmazonModel):
    application_id: OpaqueId = Field(alias="ApplicationId")
    subscription_id: SubscriptionId = Field(alias="SubscriptionId")
    publish_time: Timestamp = Field(alias="PublishTime")
    notification_id: NotificationId = Field(alias="NotificationId")


class CamelMetadata(AmazonModel):
    application_id: OpaqueId = Field(alias="applicationId")
    subscription_id: SubscriptionId = Field(alias="subscriptionId")
    publish_time: Timestamp = Field(alias="publishTime")
    notification_id: NotificationId = Field(alias="notificationId")


class PascalEnvelope(AmazonModel):
    notification_version: str = Field(alias="NotificationVersion")
    notification_type: str = Field(alias="NotificationType")
    payload_version: str = Field(alias="PayloadVersion")
    event_time: Timestamp = Field(alias="EventTime")
    metadata: PascalMetadata = Field(alias="NotificationMetadata")

    @property
    def notification_id(self) -> str:
        return self.metadata.notification_id

    @property
    def subscription_id(self) -> str:
        return self.metadata.subscription_id

    @property
    def publish_time(self) -> datetime:
        return self.metadata.publish_time


class CamelEnvelope(AmazonModel):
    notification_version: str = Field(alias="notificationVersion")
    notification_type: str = Field(alias="notificationType")
    payload_version: str = Field(alias="payloadVersion")
    event_time: Timestamp = Field(alias="eventTime")
    metadata: CamelMetadata = Field(alias="notificationMetadata")

    @property
    def notification_id(self) -> str:
        return self.metadata.notification_id

    @property
    def subscription_id(self) -> str:
        return self.metadata.subscription_id

    @property
    def publish_time(self) -> datetime:
        return self.metadata.publish_time


class Notification(Protocol):
    """What the logic layer may rely on for any notification type."""

    @property
    def notification_type(self) -> str: ...

    @property
    def notification_id(self) -> str: ...

    @property
    def subscription_id(self) -> str: ...

    @property
    def event_time(self) -> datetime: ...

    @property
    def seller_id(self) -> str | None: ...
