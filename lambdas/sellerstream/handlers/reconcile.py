"""Lambda entry point of reconciliation (the per-seller schedule, or one seller's window by hand)."""

from sellerstream.handlers.entry import invocation_handler
from sellerstream.logic.reconcile import run_reconcile

lambda_handler = invocation_handler(run_reconcile)
