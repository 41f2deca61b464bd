"""Lambda entry point for the listings queue (LISTINGS_ITEM_STATUS_CHANGE, via EventBridge)."""

from sellerstream.handlers.entry import sqs_notification_handler
from sellerstream.logic.listing_status import listing_status_use_case

lambda_handler = sqs_notification_handler(listing_status_use_case)
