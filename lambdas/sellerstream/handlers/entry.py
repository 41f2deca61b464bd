"""The shape every SQS notification handler shares: Powertools around one batch of one use case."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from sellerstream.logic.batch import NotificationUseCase, RecordParser, process_batch
from sellerstream.notifications import parse_delivery
from sellerstream.observability import logger, metrics

if TYPE_CHECKING:  # annotations only: Powertools' batch utility is not imported at cold start
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    Handler: TypeAlias = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]
    InvocationHandler: TypeAlias = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def sqs_notification_handler(
    use_case: Callable[[], NotificationUseCase], *, parse: RecordParser = parse_delivery
) -> Handler:
    """``use_case`` is built on the first batch (not at import), then reused by the container;
    ``parse`` reads a record's body (Amazon's notifications unless the queue has its own format).

    Called last in each handler module, once its imports are done: the start-up objects are frozen
    and garbage collection resumes (see ``sellerstream.handlers``).
    """
    gc.freeze()
    gc.enable()

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_batch(event, context, use_case(), parse=parse)

    # Metrics' decorator is typed as returning Any; the wrapped handler keeps its signature.
    return cast("Handler", lambda_handler)


def invocation_handler(work: Callable[[object, Callable[[], float]], dict[str, Any]]) -> InvocationHandler:
    """A function invoked directly (a schedule, an operator): ``work(event, remaining_seconds)``
    returns the JSON answer; an error fails the invocation (the caller sees it, Errors alarms)."""
    gc.freeze()
    gc.enable()

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return work(event, lambda: context.get_remaining_time_in_millis() / 1000)

    return cast("InvocationHandler", lambda_handler)
