"""Lambda entry point of reconciliation (the per-seller schedule, or one seller's window by hand)."""

from sellerstream.handlers.entry import invocation_handler
from sellerstream.wiring.reconcile import run

lambda_handler = invocation_handler(run)
