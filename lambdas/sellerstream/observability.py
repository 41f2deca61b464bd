"""The one place Logger, Tracer and Metrics are created (service name and namespace from env)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

logger = Logger()
tracer = Tracer()
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


__all__ = ["MetricUnit", "emit_metric", "logger", "metrics", "tracer"]
