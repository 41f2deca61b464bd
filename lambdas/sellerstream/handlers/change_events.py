"""Lambda entry point of the change-events publisher (the tables' change streams)."""

from sellerstream.handlers.entry import invocation_handler
from sellerstream.wiring.change_events import run

lambda_handler = invocation_handler(run)
