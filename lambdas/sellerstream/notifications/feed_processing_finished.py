"""FEED_PROCESSING_FINISHED (camelCase envelope, notificationVersion and payloadVersion 2020-09-04).

Amazon sends it when a feed reaches DONE, CANCELLED or FATAL. Vendors' notifications carry no
``sellerId`` (only ``accountId``, a vendor group ``amzn1.vg.*``): credentials then resolve through
the subscription id, as for reports. ``resultFeedDocumentId`` names the processing report; Amazon's
schema does not require it, and getFeed is asked anyway (``logic.feed_processed``), so a DONE feed
without it is accepted here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AccountId,
    AmazonModel,
    CamelEnvelope,
    FeedDocumentId,
    FeedId,
    SellerId,
    Word,
)


class FeedProcessingFinishedDetails(AmazonModel):
    seller_id: SellerId | None = Field(None, alias="sellerId")
    account_id: AccountId = Field(alias="accountId")
    feed_id: FeedId = Field(alias="feedId")
    feed_type: Word = Field(alias="feedType")
    # DONE, CANCELLED or FATAL today; kept open so a new status is recorded, not dead-lettered.
    processing_status: Word = Field(alias="processingStatus")
    result_feed_document_id: FeedDocumentId | None = Field(None, alias="resultFeedDocumentId")


class FeedProcessingFinishedPayload(AmazonModel):
    feed: FeedProcessingFinishedDetails = Field(alias="feedProcessingFinishedNotification")


class FeedProcessingFinishedNotification(CamelEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["FEED_PROCESSING_FINISHED"] = Field(alias="notificationType")
    payload: FeedProcessingFinishedPayload = Field(alias="payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.feed.seller_id
