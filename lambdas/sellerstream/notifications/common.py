"""Envelope pieces shared by the notification types, in Amazon's two casings.

ORDER_CHANGE and LISTINGS_* use PascalCase (version "1.0"); REPORT_PROCESSING_FINISHED uses
camelCase (version "2020-09-04"). Both expose the same snake_case attributes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class AmazonModel(BaseModel):
    """Amazon adds fields without notice: unknown ones are tolerated, known ones validated."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class PascalMetadata(AmazonModel):
    application_id: str = Field(alias="ApplicationId")
    subscription_id: str = Field(alias="SubscriptionId")
    publish_time: datetime = Field(alias="PublishTime")
    notification_id: str = Field(alias="NotificationId", min_length=1)


class CamelMetadata(AmazonModel):
    application_id: str = Field(alias="applicationId")
    subscription_id: str = Field(alias="subscriptionId")
    publish_time: datetime = Field(alias="publishTime")
    notification_id: str = Field(alias="notificationId", min_length=1)


class PascalEnvelope(AmazonModel):
    notification_version: str = Field(alias="NotificationVersion")
    notification_type: str = Field(alias="NotificationType")
    payload_version: str = Field(alias="PayloadVersion")
    event_time: datetime = Field(alias="EventTime")
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
    event_time: datetime = Field(alias="eventTime")
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
