"""Lambda entry point of the listings queue (the listing-status consumer of the catalog)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.listing_status import runner

lambda_handler = queue_handler(runner)
