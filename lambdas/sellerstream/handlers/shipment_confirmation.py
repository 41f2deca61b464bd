"""Lambda entry point for the fulfillment queue (shipment requests from the seller's own systems)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.shipment_confirmation import runner

lambda_handler = queue_handler(runner)
