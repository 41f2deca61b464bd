"""The one place Logger and Metrics are created (service name and namespace from env).

No tracer: the functions run with Lambda's active tracing, which records every invocation in X-Ray
without an SDK in the package. Powertools' Tracer is a wrapper around the X-Ray SDK (in maintenance
mode, and about 150 ms of every cold start), so it is not used. Logger adds the invocation's
``xray_trace_id`` to every line, which ties the logs to the trace.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics"]
