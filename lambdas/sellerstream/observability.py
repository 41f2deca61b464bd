"""The one place Logger and Metrics are created (service name and namespace from env).

No tracer: with ``-c tracing=true`` the functions run with Lambda's active tracing, which records
every invocation in X-Ray without an SDK in the package. Powertools' Tracer is a wrapper around the
X-Ray SDK (in maintenance mode, and about 150 ms of every cold start), so it is not used. Logger
adds the invocation's ``xray_trace_id`` to every line, which ties the logs to the trace.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

logger = Logger()
metrics = Metrics()


def emit_metric(name: str, unit: MetricUnit, value: float, *, dimensions: dict[str, str]) -> None:
    """Writes one metric now with dimensions of its own besides ``service`` (one EMF line).

    ``metrics`` holds one dimension set for everything it flushes, so a metric that needs another
    (e.g. per SP-API operation) goes out on its own. Like ``metrics``, it honours
    POWERTOOLS_METRICS_DISABLED (Powertools' ``single_metric`` does not).
    """
    emf = AmazonCloudWatchEMFProvider()
    for dimension, dimension_value in dimensions.items():
        emf.add_dimension(name=dimension, value=dimension_value)
    emf.add_metric(name=name, unit=unit, value=value)
    emf.flush_metrics()


__all__ = ["MetricUnit", "emit_metric", "logger", "metrics"]
