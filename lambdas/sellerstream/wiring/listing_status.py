"""The listing-status function: the listings family from its queue to the listings table."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.config import ListingStatusSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.wiring import batch_runner, cached, settings_of, spapi

CONSUMER = catalog.consumer("listings")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, ListingStatusSettings)
    directory, access = spapi(settings)
    use_case = ListingStatusUseCase(directory, access, DynamoDBListingStore(settings.listings_table_name))
    return batch_runner(CONSUMER, settings, use_case)
