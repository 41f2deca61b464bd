"""Lambda entry point for the reports queue (REPORT_PROCESSING_FINISHED)."""

from sellerstream.handlers.entry import sqs_notification_handler
from sellerstream.logic.report_finished import report_finished_use_case

lambda_handler = sqs_notification_handler(report_finished_use_case)
