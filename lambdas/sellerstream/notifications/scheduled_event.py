"""An EventBridge Scheduled Event: the stack's own timer, delivered to a queue like a notification.

A schedule rule puts AWS's "Scheduled Event" (source ``aws.events``) on the app-credentials queue
every hour, so the secret-expiry check runs with the same queue, retries, DLQ and alarms as every
notification. Amazon never sends this shape; only an EventBridge event with exactly an event's keys,
``source`` ``aws.events`` and ``detail-type`` ``Scheduled Event`` is read as one (AWS's EventBridge
event reference), and it is accepted only by the consumer whose use case asks for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from sellerstream.notifications.common import WHOLE_NOTIFICATION, AmazonModel, EventId, Timestamp

SCHEDULED_EVENT = "SCHEDULED_EVENT"


class ScheduledEvent(AmazonModel):
    model_config = WHOLE_NOTIFICATION

    event_id: EventId = Field(alias="id")
    source: Literal["aws.events"] = Field(alias="source")
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    time: Timestamp = Field(alias="time")
    resources: list[Annotated[str, StringConstraints(max_length=2048)]] = Field(
        alias="resources", max_length=5, fail_fast=True
    )

    @property
    def notification_type(self) -> str:
        return SCHEDULED_EVENT

    @property
    def notification_id(self) -> str:
        return self.event_id

    @property
    def subscription_id(self) -> str:
        return ""

    @property
    def event_time(self) -> datetime:
        return self.time

    @property
    def seller_id(self) -> str | None:
        return None
