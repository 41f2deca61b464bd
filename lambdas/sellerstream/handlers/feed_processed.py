"""Lambda entry point of the feeds queue (the feed-processed consumer of the catalog)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.feed_processed import runner

lambda_handler = queue_handler(runner)
