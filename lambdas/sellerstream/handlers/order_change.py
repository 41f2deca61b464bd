"""Lambda entry point of the orders queue (the order-change consumer of the catalog)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.order_change import runner

lambda_handler = queue_handler(runner)
