"""REPORT_PROCESSING_FINISHED (camelCase envelope, notificationVersion 2020-09-04).

Vendors' notifications carry no ``sellerId`` (only ``accountId``): credentials then resolve
through the subscription id. A DONE report names its document (``reportDocumentId``): without it
there is nothing to ingest, and recording it as complete would claim rows that were never read.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from sellerstream.notifications.common import (
    WHOLE_NOTIFICATION,
    AccountId,
    AmazonModel,
    CamelEnvelope,
    ReportDocumentId,
    ReportId,
    SellerId,
    Word,
)


class ReportProcessingFinishedDetails(AmazonModel):
    seller_id: SellerId | None = Field(None, alias="sellerId")
    account_id: AccountId = Field(alias="accountId")
    report_id: ReportId = Field(alias="reportId")
    report_type: Word = Field(alias="reportType")
    # DONE, CANCELLED or FATAL today; kept open so a new status is recorded, not dead-lettered.
    processing_status: Word = Field(alias="processingStatus")
    report_document_id: ReportDocumentId | None = Field(None, alias="reportDocumentId")

    @model_validator(mode="after")
    def _done_names_its_document(self) -> Self:
        if self.processing_status == "DONE" and self.report_document_id is None:
            raise ValueError("a DONE report must have a reportDocumentId")
        return self


class ReportProcessingFinishedPayload(AmazonModel):
    report: ReportProcessingFinishedDetails = Field(alias="reportProcessingFinishedNotification")


class ReportProcessingFinishedNotification(CamelEnvelope):
    model_config = WHOLE_NOTIFICATION

    notification_type: Literal["REPORT_PROCESSING_FINISHED"] = Field(alias="notificationType")
    payload: ReportProcessingFinishedPayload = Field(alias="payload")

    @property
    def seller_id(self) -> str | None:
        return self.payload.report.seller_id
