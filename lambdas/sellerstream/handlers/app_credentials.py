"""Lambda entry point for the app-credentials queue (the LWA client secret's notifications, hourly check)."""

from sellerstream.handlers.entry import sqs_notification_handler
from sellerstream.logic.app_credentials import app_credentials_use_case

lambda_handler = sqs_notification_handler(app_credentials_use_case)
