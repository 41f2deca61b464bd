"""Lambda entry point of the offers queue (ANY_OFFER_CHANGED, stored as Amazon sends it)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.notifications import offers_runner

lambda_handler = queue_handler(offers_runner)
