"""SellerStream's own event bus (one per stage), where the change-events publisher puts one event per
stored change, and its archive, from which an operator replays a period to a destination."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

from sellerstream import catalog


class EventsBus(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, bus_name: str, archive_name: str, archive_days: int
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=bus_name,
            description="SellerStream: one event per stored change of an order, listing, report or package",
        )
        # Only SellerStream's own events: a replay gives back what the publisher put, nothing else.
        # Archived events are kept with EventBridge's own encryption for the retention days (0: no
        # archive at all, since EventBridge would read 0 as "forever").
        self.archive: events.Archive | None = None
        if archive_days:
            self.archive = events.Archive(
                self,
                "Archive",
                source_event_bus=self.bus,
                archive_name=archive_name,
                description=f"SellerStream events of the last {archive_days} days, to replay to a destination",
                event_pattern=events.EventPattern(source=[catalog.EVENT_SOURCE]),
                retention=Duration.days(archive_days),
            )
