"""The listings function: everything Amazon sends through EventBridge, from its queue to the tables."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.listings import DynamoDBListingStore
from sellerstream.config import ListingStatusSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.listing_issues import ListingIssuesUseCase
from sellerstream.logic.listing_quantity import ListingQuantityUseCase
from sellerstream.logic.listing_status import ListingStatusUseCase
from sellerstream.logic.routing import ByType
from sellerstream.wiring import batch_runner, cached, settings_of, spapi
from sellerstream.wiring.notifications import generic_use_cases

CONSUMER = catalog.consumer("listings")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, ListingStatusSettings)
    directory, access = spapi(settings)
    listings = DynamoDBListingStore(settings.listings_table_name)
    use_case = ByType(
        {
            catalog.LISTINGS_ITEM_STATUS_CHANGE.name: ListingStatusUseCase(directory, access, listings),
            catalog.LISTINGS_ITEM_ISSUES_CHANGE.name: ListingIssuesUseCase(directory, access, listings),
            catalog.LISTINGS_ITEM_MFN_QUANTITY_CHANGE.name: ListingQuantityUseCase(directory, listings),
            **generic_use_cases(CONSUMER, settings, directory),
        }
    )
    return batch_runner(CONSUMER, settings, use_case)
