"""The shape every handler shares: Powertools around one batch (or one invocation) of a use case."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from sellerstream.logic.batch import BatchResult, BatchRunner
from sellerstream.observability import logger, metrics

if TYPE_CHECKING:  # annotations only: Powertools' batch utility is not imported at cold start
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext


class QueueHandler:
    """A queue consumer's Lambda handler: ``runner`` (built on the first batch, not at import, then
    reused by the container) applies the batch; Lambda gets its partial batch response, and
    ``process`` gives local mode and the benchmarks each record's outcome as data."""

    def __init__(self, runner: Callable[[], BatchRunner]) -> None:
        self._runner = runner

        def process(event: dict[str, Any], context: LambdaContext) -> BatchResult:
            return runner().run(event, context)

        # Metrics' decorator is typed as returning Any; the wrapped function keeps its signature.
        # No ColdStart metric: each function's would be a custom metric billed every month (0.30 USD),
        # and Lambda's REPORT line already gives every cold start's Init Duration.
        self.process = cast(
            "Callable[[dict[str, Any], LambdaContext], BatchResult]",
            logger.inject_lambda_context(metrics.log_metrics(process)),
        )

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return self.process(event, context).response()


def queue_handler(runner: Callable[[], BatchRunner]) -> QueueHandler:
    """Called last in each handler module, once its imports are done: the start-up objects are frozen
    and garbage collection resumes (see ``sellerstream.handlers``)."""
    gc.freeze()
    gc.enable()
    return QueueHandler(runner)


def invocation_handler(
    work: Callable[[object, Callable[[], float]], dict[str, Any]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A function invoked directly (a schedule, an operator): ``work(event, remaining_seconds)``
    returns the JSON answer; an error fails the invocation (the caller sees it, Errors alarms)."""
    gc.freeze()
    gc.enable()

    @logger.inject_lambda_context
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return work(event, lambda: context.get_remaining_time_in_millis() / 1000)

    return cast("Callable[[dict[str, Any], LambdaContext], dict[str, Any]]", lambda_handler)


def api_handler(
    work: Callable[[object, Callable[[], float]], dict[str, Any]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A function behind an HTTP API (API Gateway, payload 2.0): ``work(event, remaining_seconds)``
    returns the HTTP response. The event is never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says:
    its query holds Amazon's authorization codes and signed states. An error fails the invocation
    (API Gateway answers 500, the Errors alarm sees it)."""
    gc.freeze()
    gc.enable()

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return work(event, lambda: context.get_remaining_time_in_millis() / 1000)

    return cast("Callable[[dict[str, Any], LambdaContext], dict[str, Any]]", lambda_handler)
