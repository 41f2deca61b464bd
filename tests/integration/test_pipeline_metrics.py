"""The metrics the stack's alarms and dashboard read, as the functions emit them (CloudWatch EMF)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream import metric_names
from sellerstream_local.emulator.server import Faults
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LocalPipeline
from tests.integration.conftest import SELLER

T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
ORDER = "123-4567890-1234567"


@pytest.fixture
def metrics_enabled(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the pipeline set the function's environment (which disables metrics, as tests do)."""
    from sellerstream.observability import metrics

    metrics.clear_metrics()  # earlier tests ran with metrics disabled, which keeps them buffered
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def emitted(log_stream: io.StringIO) -> list[tuple[str, tuple[str, ...], dict[str, str], float]]:
    """(metric name, dimension names, dimension values, summed value) for every EMF metric written."""
    found = []
    for line in log_stream.getvalue().splitlines():
        document: dict[str, Any] = json.loads(line) if line.startswith("{") else {}
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            [dimension_names] = directive["Dimensions"]
            values = {name: document[name] for name in dimension_names}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                total = sum(value) if isinstance(value, list) else value
                found.append((metric["Name"], tuple(sorted(dimension_names)), values, float(total)))
    return found


def publish_order(pipeline: LocalPipeline, notification_id: str = "n-1") -> None:
    pipeline.publish(
        as_body(
            order_change(
                seller_id=SELLER,
                order_id=ORDER,
                status="Unshipped",
                changed_at=T0,
                notification_id=notification_id,
            )
        )
    )


@pytest.mark.usefixtures("metrics_enabled")
def test_given_an_order_processed_then_sp_api_calls_are_counted_per_operation_and_service(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    publish_order(pipeline)

    pipeline.order_change_poller().poll_once()

    per_operation = [
        (values[metric_names.OPERATION_DIMENSION], value)
        for name, dimensions, values, value in emitted(log_stream)
        if name == metric_names.SP_API_CALLS
        and dimensions == (metric_names.OPERATION_DIMENSION, metric_names.SERVICE_DIMENSION)
    ]
    assert per_operation == [("getOrder", 1.0)]
    per_service = [
        value
        for name, dimensions, _, value in emitted(log_stream)
        if name == metric_names.SP_API_CALLS and dimensions == (metric_names.SERVICE_DIMENSION,)
    ]
    assert per_service == [1.0]


@pytest.mark.usefixtures("metrics_enabled")
def test_given_sp_api_answers_429_then_throttles_are_counted_for_that_operation(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.emulator.faults = Faults(error_rate=1.0, error_status=429, operations=frozenset({"getOrder"}))
    publish_order(pipeline)

    pipeline.order_change_poller().poll_once()

    throttled_operations = {
        values[metric_names.OPERATION_DIMENSION]
        for name, dimensions, values, _ in emitted(log_stream)
        if name == metric_names.SP_API_THROTTLES and metric_names.OPERATION_DIMENSION in dimensions
    }
    assert throttled_operations == {"getOrder"}


@pytest.mark.usefixtures("metrics_enabled")
def test_given_revoked_refresh_token_then_seller_credentials_failure_is_counted(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.secrets.put_secret_value(
        SecretId=f"sellerstream/sellers/{SELLER}", SecretString=json.dumps({"refresh_token": "Atzr|revoked"})
    )
    publish_order(pipeline, "n-revoked")

    pipeline.order_change_poller().poll_once()

    failures = [
        (
            dimensions,
            values.get(metric_names.SELLER_DIMENSION),
            values.get(metric_names.REGION_DIMENSION),
            value,
        )
        for name, dimensions, values, value in emitted(log_stream)
        if name == metric_names.SELLER_CREDENTIALS_FAILURES
    ]
    # Counted for the consumer, and for the seller in the region whose token LWA refused.
    seller_and_region = (
        metric_names.REGION_DIMENSION,
        metric_names.SELLER_DIMENSION,
        metric_names.SERVICE_DIMENSION,
    )
    assert sorted(failures, key=lambda failure: len(failure[0])) == [
        ((metric_names.SERVICE_DIMENSION,), None, None, 1.0),
        (tuple(sorted(seller_and_region)), SELLER, "NA", 1.0),
    ]


def test_given_metrics_disabled_then_no_per_operation_metric_is_written(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    publish_order(pipeline)

    pipeline.order_change_poller().poll_once()

    assert pipeline.emulator.calls["getOrder"] == 1
    assert emitted(log_stream) == []
