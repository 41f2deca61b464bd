"""The feed-processed function: FEED_PROCESSING_FINISHED, getFeed and its processing report, the feeds table."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.feeds import DynamoDBFeedStore
from sellerstream.config import FeedProcessedSettings
from sellerstream.logic.batch import BatchRunner
from sellerstream.logic.feed_processed import FeedProcessedUseCase
from sellerstream.wiring import batch_runner, cached, settings_of, spapi

CONSUMER = catalog.consumer("feeds")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, FeedProcessedSettings)
    directory, access = spapi(settings)
    use_case = FeedProcessedUseCase(
        directory,
        access,
        DynamoDBFeedStore(settings.feeds_table_name),
        default_charset=settings.feed_default_charset,
        retention_days=settings.feed_retention_days,
    )
    return batch_runner(CONSUMER, settings, use_case)
