"""The shipment-confirmation function: the seller's shipment requests to confirmShipment."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.packages import DynamoDBPackageStore
from sellerstream.config import ShipmentSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.shipments import ShipmentUseCase
from sellerstream.notifications.shipment_request import parse_shipment_delivery
from sellerstream.wiring import batch_runner, cached, settings_of, spapi

CONSUMER = catalog.consumer("fulfillment")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, ShipmentSettings)
    directory, access = spapi(settings)
    use_case = ShipmentUseCase(directory, access, DynamoDBPackageStore(settings.orders_table_name))
    return batch_runner(CONSUMER, settings, use_case, parse=parse_shipment_delivery)
