"""Composition roots: each function's use case built from its settings and the AWS adapters.

One module per function, so a function imports only what it uses (that is its cold start). Each
builder runs on the first invocation, not at import (no AWS client is created before then), and
is cached for the container's life; ``reset`` forgets them (local mode, tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from sellerstream import catalog
from sellerstream.adapters.idempotency import dynamodb_persistence_layer
from sellerstream.adapters.queue import SqsMessageQueue
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.sellers import AwsSellerDirectory, seller_directory
from sellerstream.config import QueueSettings, Settings, SpApiSettings
from sellerstream.logic.batch import BatchPolicy, BatchRunner, Clock, NotificationUseCase, RecordParser
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.notifications import parse_delivery
from sellerstream.ports import MessageQueue

S = TypeVar("S", bound=Settings)
_BUILT: list[Any] = []


def cached(builder: Callable[[], Any]) -> Any:
    """``builder`` run once per container (and forgotten by ``reset``)."""
    once = cache(builder)
    _BUILT.append(once)
    return once


def reset() -> None:
    """Forgets every built use case (local mode and tests rebuild them for new tables or clients)."""
    for built in _BUILT:
        built.cache_clear()


def settings_of(consumer: catalog.Consumer | catalog.Job | catalog.Publisher, kind: type[S]) -> S:
    """The function's settings, read from its environment (the stack rendered it from the same class)."""
    settings = consumer.settings.from_environment(os.environ)
    assert isinstance(settings, kind)
    return settings


def spapi(settings: SpApiSettings) -> tuple[AwsSellerDirectory, SpApiAccess]:
    """The seller directory and SP-API access, on the shared rate budget when the stack gives one."""
    directory = seller_directory(settings)
    budgets = SharedRateBudget(settings.rate_budget_table_name) if settings.rate_budget_table_name else None
    return directory, SpApiAccess(settings, directory, budgets=budgets)


def batch_runner(
    consumer: catalog.Consumer,
    settings: QueueSettings,
    use_case: NotificationUseCase,
    *,
    parse: RecordParser = parse_delivery,
    clock: Clock = time.time,
    queue: MessageQueue | None = None,
    idempotent: bool = True,
    also_accepts: frozenset[str] = frozenset(),
) -> BatchRunner:
    """The consumer's batches: idempotency in DynamoDB (unless the use case is idempotent itself),
    deferrals and dead letters on its own queues (``queue``: the consumer's, when the use case
    sends to them too); ``also_accepts``: the queue's own messages besides the consumer's types."""
    return BatchRunner(
        use_case,
        accepts=consumer.enabled(settings.notification_types).accepts | also_accepts,
        queue=queue or consumer_queue(settings),
        persistence=dynamodb_persistence_layer(settings.idempotency_table_name) if idempotent else None,
        policy=BatchPolicy.of(settings),
        idempotency_expires_after_seconds=settings.idempotency_expires_after_seconds,
        parse=parse,
        clock=clock,
    )


def consumer_queue(settings: QueueSettings) -> SqsMessageQueue:
    """The consumer's own queue and its dead-letter queue."""
    return SqsMessageQueue(settings.queue_url, settings.dead_letter_queue_url)
