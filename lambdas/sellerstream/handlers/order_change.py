"""Lambda entry point for the orders queue (ORDER_CHANGE)."""

from sellerstream.handlers.entry import sqs_notification_handler
from sellerstream.logic.order_change import order_change_use_case

lambda_handler = sqs_notification_handler(order_change_use_case)
