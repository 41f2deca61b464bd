"""The report-finished function: REPORT_PROCESSING_FINISHED to the reports tables and bucket."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.queue import SqsMessageQueue
from sellerstream.adapters.report_documents import S3DocumentStore
from sellerstream.adapters.reports import DynamoDBReportStore, ReportRowWriter
from sellerstream.config import ReportFinishedSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.report_finished import ReportFinishedUseCase
from sellerstream.wiring import batch_runner, cached, settings_of, spapi

CONSUMER = catalog.consumer("reports")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, ReportFinishedSettings)
    directory, access = spapi(settings)
    use_case = ReportFinishedUseCase(
        directory,
        access,
        DynamoDBReportStore(settings.reports_table_name),
        ReportRowWriter(settings.reports_bucket_name, settings.report_rows_table_name),
        S3DocumentStore(settings.reports_bucket_name),
        SqsMessageQueue(settings.queue_url, settings.dead_letter_queue_url),
        rows_retention_days=settings.report_rows_retention_days,
        max_rows_per_invocation=settings.report_max_rows_per_invocation,
        default_charset=settings.report_default_charset,
    )
    return batch_runner(CONSUMER, settings, use_case)
