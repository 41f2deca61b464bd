"""REPORT_PROCESSING_FINISHED (camelCase envelope, notificationVersion 2020-09-04).

Vendors' notifications carry no ``sellerId`` (only ``accountId``): credentials then resolve
through the subscription id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sellerstream.notifications.common import AmazonModel, CamelEnvelope

REPORT_PROCESSING_FINISHED = "REPORT_PROCESSING_FINISHED"


class ReportProcessingFinishedDetails(AmazonModel):
    seller_id: str | None = Field(None, alias="sellerId")
    account_id: str = Field(alias="accountId")
    report_id: str = Field(alias="reportId", min_length=1)
    report_type: str = Field(alias="reportType")
    # DONE, CANCELLED or FATAL today; kept open so a new status is recorded, not dead-lettered.
    processing_status: str = Field(alias="processingStatus")
    report_document_id: str | None = Field(None, alias="reportDocumentId")


class ReportProcessingFinishedPayload(AmazonModel):
    report: ReportProcessingFinishedDetails = Field(alias="reportProcessingFinishedNotification")


class ReportProcessingFinishedNotification(CamelEnvelope):
    notification_type: Literal["REPORT_PROCESSING_FINISHED"] = Field(alias="notificationType")
    payload: ReportProcessingFinishedPayload = Field(alias="payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.report.seller_id
