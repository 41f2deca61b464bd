"""Lambda entry point of the app-credentials queue (the LWA client secret's notices, the hourly check)."""

from sellerstream.handlers.entry import queue_handler
from sellerstream.wiring.app_credentials import runner

lambda_handler = queue_handler(runner)
