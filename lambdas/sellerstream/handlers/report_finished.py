"""Lambda entry point of the reports queue (the report-finished consumer of the catalog)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.report_finished import runner

lambda_handler = queue_handler(runner)
