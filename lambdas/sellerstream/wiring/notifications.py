"""The consumers of the types stored as Amazon sends them (``catalog.Stored``): no callback."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.notifications import DynamoDBNotificationStore
from sellerstream.config import NotificationsSettings, NotificationsTableSettings
from sellerstream.logic.batch import BatchRunner, NotificationUseCase
from sellerstream.logic.generic_notification import GenericNotificationUseCase
from sellerstream.ports import SellerDirectory
from sellerstream.wiring import batch_runner, cached, settings_of, spapi


def generic_use_cases(
    consumer: catalog.Consumer, settings: NotificationsTableSettings, directory: SellerDirectory
) -> dict[str, NotificationUseCase]:
    """One use case for every generic type ``consumer`` takes, by type."""
    use_case = GenericNotificationUseCase(
        directory,
        DynamoDBNotificationStore(settings.notifications_table_name),
        retention_days=settings.notification_retention_days,
    )
    return {t.name: use_case for t in consumer.types if t.stored is not None}


def _runner(kind: str) -> BatchRunner:
    consumer = catalog.consumer(kind)
    settings = settings_of(consumer, NotificationsSettings)
    directory, _ = spapi(settings)
    [use_case] = set(generic_use_cases(consumer, settings, directory).values())
    return batch_runner(consumer, settings, use_case)


@cached
def runner() -> BatchRunner:
    return _runner("notifications")


@cached
def offers_runner() -> BatchRunner:
    return _runner("offers")
