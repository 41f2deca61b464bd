"""Lambda entry point for the fulfillment queue (shipment requests from the seller's own systems)."""

from sellerstream.handlers.entry import sqs_notification_handler
from sellerstream.logic.shipments import shipment_use_case
from sellerstream.notifications.shipment_request import parse_shipment_delivery

lambda_handler = sqs_notification_handler(shipment_use_case, parse=parse_shipment_delivery)
