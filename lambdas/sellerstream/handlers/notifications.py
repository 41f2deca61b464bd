"""Lambda entry point of the notifications queue (the types stored as Amazon sends them)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.notifications import runner

lambda_handler = queue_handler(runner)
