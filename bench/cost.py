"""What SellerStream costs to run on AWS: a month idle, a million ORDER_CHANGE notifications, a
million report rows; computed from what runs did, priced with one table (``bench/prices.py``).

**Idle, a month** (the default stack as ``python app.py`` synthesizes it, ``--sellers`` sellers):

- read from the template: each alarm's metrics (a metric-math alarm bills every metric it reads),
  dashboards, customer-managed KMS keys, secrets (the template's, plus one per seller), the SQS
  event source mappings' idle polling (``IDLE_POLLERS`` long polls of 20 s each at once, per
  mapping: assumed; AWS publishes no figure for standard pollers) and the schedules (their rate);
- measured: one run of each scheduled function through its real handler in local mode (moto and
  the SP-API emulator, every AWS call of the function counted through botocore's hooks): its AWS
  requests, the bytes it logs and the custom metrics it publishes (each distinct metric published
  within the month is billed the month: a schedule publishes its metrics every hour). Each run
  is billed a second of Lambda at its function's memory (a run takes a fraction of that here)
  and one X-Ray trace (tracing is active). Storage at rest is left out (a few MB when idle).

**Per million ORDER_CHANGE notifications, all in** (``--scale``, default 0.1, of
``bench/prime_day.py``'s Prime Day mix: one large seller's burst of 1 to 4 changes per order while
50 small sellers trickle; the real use case and batch processing in 5 simulated containers on the
SP-API emulator at Amazon's rate plans and 150 ms a call, on a virtual clock): every AWS call the
function makes is billed from its request (``bench/aws_meter.py``): DynamoDB read and write units
by item size (the idempotency records, the rate budget, the orders and their PII items, failed
conditional writes included), SQS requests (Amazon's send of each notification, which the queue's
owner pays, the mapping's receives and deletes, the function's deferred copies), Secrets Manager.
Lambda is billed at the function's memory for each invocation's virtual duration (SP-API latency,
rate-budget waits, 50 ms + 5 ms a record of the simulation's own model) plus ``AWS_CALL_SECONDS``
per AWS call; logs are the function's own JSON lines at INFO, its metrics (EMF) and Lambda's
platform lines (``PLATFORM_LOG_BYTES`` per invocation); when the template has active tracing
(``-c tracing=true``), one X-Ray trace per invocation (the default sampling rule records the first
request each second: about every invocation at these rates); KMS: the queue's data key is reused for 5 minutes (SQS's default), so a sender and the
mapping each call KMS once per 5 minutes of traffic. Events out: one "Order Changed" event per
order version stored (PutEvents per 64 KB), the publisher invoked once per ``MaximumBatchingWindow``
of the stream's mapping while changes flow (at most its batch size), ``PUBLISHER_SECONDS`` a call.
The dollars are the run's, divided by its notifications.

**Under faults**: the same bill for the ORDER_CHANGE consumer of ``bench/faults.py``'s fault matrix
(injected 429s, 5xx, timeouts, throttled DynamoDB, killed containers, 20 % duplicates, reordering;
``--fault-notifications``), per million of its ORDER_CHANGE notifications.

**Per million report rows**: ``bench/report_ingest.py``'s ``report_rows_bill`` (the rows' S3 blocks
and DynamoDB lookups, billed from the requests a real boto3 client made).

**Amazon's sample architecture** (the SP-API notifications sample: SQS, a Lambda that starts a
Step Functions Standard workflow per notification, whose Lambda tasks fetch the order and act):
modeled from the same price table with ``SAMPLE_*`` below, for comparison.

    python bench/cost.py [--scale 0.1] [--sellers 1] [--seed 3] [--fault-notifications 2000] [--json]

``--json`` prints one object: ``idle_usd_per_month``, ``usd_per_million_notifications``,
``usd_per_million_report_rows``, ``breakdown`` (``idle``, ``per_million_notifications``,
``per_million_notifications_under_faults``, ``per_million_report_rows``: per service),
``monthly`` (the bill at 100k, 1M and 10M notifications a month), ``amazon_sample``, ``counts``
(what the runs did) and ``prices``. About 3 minutes at the defaults on two cores.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_meter import Bill, MeteredServices, bill_call
from prices import PRICES, price_table

ROOT = Path(__file__).resolve().parents[1]
HOURS_PER_MONTH = 730
IDLE_POLLERS = 5  # concurrent long polls an idle SQS event source mapping keeps open: assumed
LONG_POLL_SECONDS = 20
SCHEDULED_RUN_SECONDS = 1.0  # billed per scheduled run (generous: a run takes a fraction here)
AWS_CALL_SECONDS = 0.005  # one in-region DynamoDB/SQS call from Lambda: assumed
PLATFORM_LOG_BYTES = 330  # Lambda's START, END and REPORT lines of one invocation
KMS_REUSE_SECONDS = 300  # SQS's default data key reuse period
PUBLISHER_SECONDS = 0.03  # one publisher invocation: its overhead and one PutEvents call
PUBLISHER_LOG_BYTES = 600  # its lines per invocation, platform lines included
TARGETS = {
    "usd_per_million_notifications": 5.0,
    "idle_usd_per_month": 10.0,
    "usd_per_million_report_rows": 0.25,
}
# Amazon's sample, per notification: the SQS trigger's Lambda starts one Standard execution whose
# workflow (start, fetch the order, act on it, succeed) makes 4 state transitions and runs 2
# Lambda tasks of 300 ms at 512 MB; the trigger runs 100 ms a notification.
SAMPLE_TRANSITIONS = 4
SAMPLE_TASKS = 2
SAMPLE_TASK_SECONDS = 0.3
SAMPLE_TRIGGER_SECONDS = 0.1
SAMPLE_MEMORY_GB = 0.5


# -- idle: the template ---------------------------------------------------------------------------------
def synthesized_template() -> dict[str, Any]:
    """The default stack's template, as ``python app.py`` writes it (cdk.out, assets reused)."""
    outdir = ROOT / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    return json.loads((outdir / "SellerStream.template.json").read_text())


def runs_per_month(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        raise ValueError(f"a schedule this bench cannot read: {expression}")
    every = int(match.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[match.group(2).rstrip("s")]
    return HOURS_PER_MONTH * 60 / every


def template_counts(template: dict[str, Any]) -> dict[str, Any]:
    resources = template["Resources"]
    types = Counter(resource["Type"] for resource in resources.values())
    alarm_metrics = 0
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            metrics = resource["Properties"].get("Metrics")
            alarm_metrics += sum(1 for metric in metrics if "MetricStat" in metric) if metrics else 1
    sqs_mappings = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and resources.get(_referenced(resource["Properties"].get("EventSourceArn")), {}).get("Type")
        == "AWS::SQS::Queue"
    ]
    schedules = {
        name: runs_per_month(resource["Properties"]["ScheduleExpression"])
        for name, resource in resources.items()
        if resource["Type"] in ("AWS::Scheduler::Schedule", "AWS::Events::Rule")
        and "ScheduleExpression" in resource["Properties"]
    }
    return {
        "alarms": types["AWS::CloudWatch::Alarm"],
        "alarm_metrics": alarm_metrics,
        "dashboards": types["AWS::CloudWatch::Dashboard"],
        "kms_keys": types["AWS::KMS::Key"],
        "secrets": types["AWS::SecretsManager::Secret"],
        "sqs_event_source_mappings": len(sqs_mappings),
        "schedules": schedules,
        "scheduler_schedules": types["AWS::Scheduler::Schedule"],
        "traced": any(
            resource["Properties"].get("TracingConfig", {}).get("Mode") == "Active"
            for resource in resources.values()
            if resource["Type"] == "AWS::Lambda::Function"
        ),
    }


def _referenced(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return ""


# -- idle: the scheduled runs, measured -----------------------------------------------------------------
class BotocoreMeter:
    """``bill_call`` for every call a boto3 client made after ``register`` (botocore's hooks)."""

    def __init__(self, bill: Bill, who: str) -> None:
        self.bill, self.who = bill, who

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_params"] = params

    def after(
        self, parsed: dict[str, Any], model: Any, context: dict[str, Any], http_response: Any, **_: Any
    ) -> None:
        operation = re.sub(r"(?<!^)(?=[A-Z])", "_", model.name).lower()
        ok = http_response.status_code < 300
        bill_call(
            self.bill,
            self.who,
            model.service_model.service_name,
            operation,
            context.get("cost_params", {}),
            parsed if ok else None,
        )

    def register(self) -> None:
        import boto3

        boto3.DEFAULT_SESSION.events.register("before-parameter-build", self.before)
        boto3.DEFAULT_SESSION.events.register("after-call", self.after)

    def unregister(self) -> None:
        import boto3

        boto3.DEFAULT_SESSION.events.unregister("before-parameter-build", self.before)
        boto3.DEFAULT_SESSION.events.unregister("after-call", self.after)


class CapturedOutput(io.StringIO):
    """What the functions print (JSON log lines and EMF metrics), kept to be read."""


def custom_metrics(output: str) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Each distinct (namespace, metric, dimensions) the EMF lines of ``output`` publish."""
    found = set()
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []) or [[]]:
                dimensions = tuple(sorted((name, str(document.get(name, ""))) for name in dimension_set))
                for metric in directive.get("Metrics", []):
                    found.add((directive.get("Namespace", ""), metric["Name"], dimensions))
    return found


def scheduled_runs(sellers: int) -> dict[str, Any]:
    """One run of each scheduled function through its real handler, every call counted."""
    from sellerstream import catalog
    from sellerstream_local.pipeline import LocalPipeline
    from sellerstream_local.poller import LocalLambdaContext, function_environment
    from sellerstream_local.runtime_reset import reset_runtime

    bill = Bill()
    output = CapturedOutput()
    runs: dict[str, dict[str, Any]] = {}
    with LocalPipeline(log_stream=output) as pipeline:
        for index in range(sellers):
            pipeline.provision_seller(f"A{index:013d}", subscription_ids=(f"sub-{index}",))
        meter = BotocoreMeter(bill, "app")
        meter.register()
        try:
            reset_runtime()
            # The hourly secret-expiry check: the rule's event on the app queue, through its consumer.
            [app] = [c for c in catalog.CONSUMERS if catalog.Transport.SCHEDULE in c.transports]
            started, before = time.perf_counter(), len(output.getvalue())
            pipeline.run_secret_expiry_check()
            pipeline.drain(pipeline.poller(app.kind))
            runs["app_credentials"] = _run(output, before, started, app.sizing.memory_mb)
            # The hourly reconciliation: its handler with the schedule's input.
            meter.who = "reconcile"
            job = catalog.RECONCILE
            module, _, name = job.handler.rpartition(".")
            import importlib

            handler = getattr(importlib.import_module(module), name)
            started, before = time.perf_counter(), len(output.getvalue())
            context = LocalLambdaContext(
                "sellerstream-local-reconcile", job.sizing.timeout_seconds, job.sizing.memory_mb
            )
            with function_environment(pipeline.function_environment(job)):
                from contextlib import redirect_stdout

                with redirect_stdout(output):
                    handler({}, context)
            runs["reconcile"] = _run(output, before, started, job.sizing.memory_mb)
        finally:
            meter.unregister()
    runs["app_credentials"]["usd"] = bill.usd("app")
    runs["reconcile"]["usd"] = bill.usd("reconcile")
    runs["app_credentials"]["calls"] = {f"{s}.{o}": n for (w, s, o), n in bill.calls.items() if w == "app"}
    runs["reconcile"]["calls"] = {f"{s}.{o}": n for (w, s, o), n in bill.calls.items() if w == "reconcile"}
    return runs


def _run(output: CapturedOutput, before: int, started: float, memory_mb: int) -> dict[str, Any]:
    text = output.getvalue()[before:]
    return {
        "seconds_here": round(time.perf_counter() - started, 3),
        "log_bytes": len(text.encode()),
        "custom_metrics": sorted(
            f"{metric}{list(dimensions)}" for _, metric, dimensions in custom_metrics(text)
        ),
        "memory_mb": memory_mb,
    }


def idle_month(template: dict[str, Any], sellers: int) -> tuple[dict[str, float], dict[str, Any]]:
    counts = template_counts(template)
    runs = scheduled_runs(sellers)
    per_hour = {"app_credentials": runs["app_credentials"], "reconcile": runs["reconcile"]}
    scheduled = sum(counts["schedules"].values())  # runs a month of every schedule
    each = HOURS_PER_MONTH  # both schedules are hourly in the default stack (checked below)
    if set(counts["schedules"].values()) != {float(HOURS_PER_MONTH)}:
        raise SystemExit(f"the bench expects hourly schedules, the template has {counts['schedules']}")
    metrics = {metric for run in per_hour.values() for metric in run["custom_metrics"]}
    run_usd = sum(sum(run["usd"].values()) for run in per_hour.values()) * each
    lambda_usd = sum(
        each
        * (
            PRICES["lambda_per_million_requests"] / 1e6
            + SCHEDULED_RUN_SECONDS * run["memory_mb"] / 1024 * PRICES["lambda_per_gb_second_arm64"]
        )
        for run in per_hour.values()
    )
    log_bytes = sum(run["log_bytes"] + PLATFORM_LOG_BYTES for run in per_hour.values()) * each
    idle_polls = (
        counts["sqs_event_source_mappings"] * IDLE_POLLERS * 3600 / LONG_POLL_SECONDS * HOURS_PER_MONTH
    )
    # The expiry check's rule puts its event on the app queue (a send the owner pays) and the
    # mapping receives and deletes it: 3 requests a run besides the idle polls.
    schedule_sqs = 3 * each
    breakdown = {
        "alarms": counts["alarm_metrics"] * PRICES["alarm_per_metric_month"],
        "dashboards": counts["dashboards"] * PRICES["dashboard_per_month"],
        "kms_keys": counts["kms_keys"] * PRICES["kms_per_key_month"],
        "secrets": (counts["secrets"] + sellers) * PRICES["secret_per_month"],
        "custom_metrics": len(metrics) * PRICES["custom_metric_per_month"],
        "sqs_idle_polling": (idle_polls + schedule_sqs) / 1e6 * PRICES["sqs_per_million_64kb_requests"],
        "scheduled_runs": run_usd
        + lambda_usd
        + counts["scheduler_schedules"] * each / 1e6 * PRICES["scheduler_per_million_invocations"],
        "logs": log_bytes / 1e9 * PRICES["cloudwatch_logs_per_gb_ingested"],
        "xray": scheduled / 1e6 * PRICES["xray_per_million_traces"] if counts["traced"] else 0.0,
    }
    details = {
        **counts,
        "sellers": sellers,
        "custom_metrics_published": sorted(metrics),
        "scheduled_runs": per_hour,
        "idle_polls_per_month": idle_polls,
    }
    return breakdown, details


# -- per million ORDER_CHANGE: the Prime Day mix, metered ---------------------------------------------------
class ConsumerObserver:
    """What a simulation (``prime_day.simulate``, ``fault_matrix.run``) tells an observer, billed
    for one consumer: each call to whoever makes it (``payer`` of the thread's name), and the
    consumer's own invocations, log lines and metrics."""

    def __init__(self, memory_mb: int, payer: Callable[[str], str], consumer: str = "orders") -> None:
        self.bill = Bill()
        self.memory_mb = memory_mb
        self.payer = payer
        self.consumer = consumer
        self.log_stream = _CountingStream(self._own_thread)
        self.metrics_bytes = 0
        self.invocations = 0
        self.seconds = 0.0

    def _own_thread(self) -> bool:
        return self.payer(threading.current_thread().name) == self.consumer

    def wrap(self, services: dict[str, Any]) -> MeteredServices:
        return MeteredServices(services, self.bill, self.payer)

    def metrics(self, blob: dict[str, Any]) -> None:
        if self._own_thread():
            self.metrics_bytes += len(json.dumps(blob).encode()) + 1

    def consumer_invoked(self, seconds: float, records: int, acknowledged: int, polls: int = 1) -> None:
        self.invocations += 1
        self.seconds += seconds
        self.bill.lambda_invocation(self.consumer, seconds, self.memory_mb)
        self.bill.add("esm", "sqs_requests", polls)  # the mapping's receives that gathered the batch
        if acknowledged:
            self.bill.add("esm", "sqs_requests", math.ceil(acknowledged / 10))  # DeleteMessageBatch


class PrimeDayObserver(ConsumerObserver):
    """``prime_day.simulate``'s containers (threads ``container-<n>``) are the orders consumer's;
    its ``publisher`` is Amazon sending."""

    def __init__(self, memory_mb: int) -> None:
        super().__init__(memory_mb, lambda thread: "amazon" if thread == "publisher" else "orders")

    def invoked(self, seconds: float, records: int, acknowledged: int, polls: int) -> None:
        self.consumer_invoked(seconds, records, acknowledged, polls)


class FaultMatrixObserver(ConsumerObserver):
    """``fault_matrix.run``'s containers are threads ``<kind>-<n>``; its ``publisher`` is Amazon
    sending. Only the orders consumer's invocations, logs and metrics are billed here."""

    def __init__(self, memory_mb: int) -> None:
        super().__init__(memory_mb, _fault_matrix_payer)

    def invoked(self, kind: str, seconds: float, records: int, acknowledged: int) -> None:
        if kind == self.consumer:
            self.consumer_invoked(seconds, records, acknowledged)


def _fault_matrix_payer(thread: str) -> str:
    if thread == "publisher":
        return "amazon"
    return thread.rsplit("-", 1)[0] if "-" in thread else thread


class _CountingStream(io.TextIOBase):
    """The functions' log output, as CloudWatch Logs would ingest it: the bytes ``counted()`` lines."""

    def __init__(self, counted: Callable[[], bool]) -> None:
        self.bytes = 0
        self._counted = counted

    def write(self, text: str) -> int:
        if self._counted():
            self.bytes += len(text.encode())
        return len(text)


def order_change_per_million(
    scale: float, seed: int, *, traced: bool
) -> tuple[dict[str, float], dict[str, Any]]:
    import prime_day

    from sellerstream import catalog

    consumer = catalog.consumer("orders")
    big_orders, big_notifications = (
        int(prime_day.BIG_ORDERS * scale),
        int(prime_day.BIG_NOTIFICATIONS * scale),
    )
    notices = prime_day.workload(random.Random(seed), big_orders, big_notifications, with_burst=True)
    observer = PrimeDayObserver(consumer.sizing.memory_mb)
    started = time.monotonic()
    outcome = prime_day.simulate(
        notices, seed, observer=observer, batching_window=consumer.sizing.batching_window_seconds
    )
    notifications = outcome.notifications
    bill = observer.bill
    # Amazon's send of each notification to the queue (a body of about 1 KB: one request), which
    # the queue's owner pays.
    bill.add("amazon", "sqs_requests", notifications)
    span = max(notice.at for notice in notices) - min(notice.at for notice in notices)
    _bill_invocations(bill, observer, consumer.sizing.memory_mb, traced=traced, span=span)
    stored = bill.total("order_versions_stored")
    usd = bill.usd()
    per_million = {service: amount / notifications * 1e6 for service, amount in usd.items()}
    counts = {
        "type": catalog.consumer("orders").types[0].name,
        "notifications": notifications,
        "orders": outcome.orders,
        "orders_latest": outcome.orders_latest,
        "valid_dead_lettered": outcome.dead_lettered,
        "invocations": observer.invocations,
        "receives": outcome.receives,
        "sp_api_calls": dict(outcome.calls),
        "order_versions_stored": int(stored),
        "dynamodb_write_units_per_notification": round(bill.total("dynamodb_write_units") / notifications, 2),
        "dynamodb_read_units_per_notification": round(bill.total("dynamodb_read_units") / notifications, 2),
        "failed_conditional_writes": int(bill.total("dynamodb_failed_writes")),
        "per_notification_by_table": {
            unit.removeprefix("dynamodb_"): round(amount / notifications, 3)
            for (who, unit), amount in sorted(bill.units.items())
            if who == "orders" and unit.startswith("dynamodb_") and ":" in unit
        },
        "sqs_requests_per_notification": round(bill.total("sqs_requests") / notifications, 2),
        "lambda_seconds_per_notification": round(observer.seconds / notifications, 3),
        "log_bytes_per_notification": round(bill.total("log_bytes", "orders") / notifications),
        "aws_calls": {f"{s}.{o}": n for (who, s, o), n in sorted(bill.calls.items()) if who == "orders"},
        "real_seconds": round(time.monotonic() - started, 1),
        "scale": scale,
    }
    return per_million, counts


def _bill_invocations(
    bill: Bill, observer: ConsumerObserver, memory_mb: int, *, traced: bool, span: float
) -> None:
    """What the consumer's invocations add beyond their calls: AWS call latency, logs, traces,
    KMS data keys, and the events out of each order version stored."""
    aws_calls = sum(count for (who, _, _), count in bill.calls.items() if who == "orders")
    bill.add("orders", "lambda_gb_seconds", aws_calls * AWS_CALL_SECONDS * memory_mb / 1024)
    platform = observer.invocations * PLATFORM_LOG_BYTES
    bill.add("orders", "log_bytes", observer.log_stream.bytes + observer.metrics_bytes + platform)
    if traced:  # active tracing (-c tracing=true): a trace per invocation
        bill.add("orders", "xray_traces", observer.invocations)
    bill.add("orders", "kms_requests", 2 * math.ceil(span / KMS_REUSE_SECONDS))
    # Events out: one per order version stored, the publisher once per batching window.
    from sellerstream import catalog

    publisher = catalog.CHANGE_EVENTS_PUBLISHER.sizing
    stored = bill.total("order_versions_stored", observer.consumer)
    windows = span / max(publisher.batching_window_seconds, 1)
    publisher_invocations = min(stored, max(stored / publisher.batch_size, windows))
    bill.add("events", "put_events_chunks", stored)
    bill.add("events", "lambda_requests", publisher_invocations)
    bill.add(
        "events", "lambda_gb_seconds", publisher_invocations * PUBLISHER_SECONDS * publisher.memory_mb / 1024
    )
    bill.add("events", "log_bytes", publisher_invocations * PUBLISHER_LOG_BYTES)


# -- under faults: the fault matrix's ORDER_CHANGE consumer, metered ------------------------------------------
def order_change_under_faults(
    notifications: int, seed: int, *, traced: bool
) -> tuple[dict[str, float], dict[str, Any]]:
    from sellerstream import catalog
    from sellerstream_local import fault_matrix

    consumer = catalog.consumer("orders")
    observer = FaultMatrixObserver(consumer.sizing.memory_mb)
    started = time.monotonic()
    outcome = fault_matrix.run(notifications, seed, observer=observer)
    bill = observer.bill
    bill.add("amazon", "sqs_requests", outcome.consumers["orders"].deliveries)  # duplicates included
    _bill_invocations(bill, observer, consumer.sizing.memory_mb, traced=traced, span=outcome.virtual_seconds)
    # The other consumers' calls are billed to them: only the orders consumer's, Amazon's and the events'.
    own = Bill()
    for (who, unit), amount in bill.units.items():
        if who in ("orders", "esm", "amazon", "events"):
            own.add(who, unit, amount)
    usd = own.usd()
    per_million = {service: amount / notifications * 1e6 for service, amount in usd.items()}
    figures = outcome.by_consumer["orders"]
    counts = {
        "notifications": notifications,
        "lost": figures.get("lost", 0),
        "applied_twice": figures.get("applied_twice", 0),
        "valid_dead_lettered": figures.get("valid_dead_lettered", 0),
        "invocations": observer.invocations,
        "dynamodb_write_units_per_notification": round(own.total("dynamodb_write_units") / notifications, 2),
        "failed_conditional_writes": int(own.total("dynamodb_failed_writes")),
        "real_seconds": round(time.monotonic() - started, 1),
    }
    return per_million, counts


# -- Amazon's sample architecture ---------------------------------------------------------------------------
def amazon_sample_per_million() -> dict[str, float]:
    per = 1e6
    return {
        "sqs": 3 * per / 1e6 * PRICES["sqs_per_million_64kb_requests"],
        "lambda": (1 + SAMPLE_TASKS) * per / 1e6 * PRICES["lambda_per_million_requests"]
        + per
        * (SAMPLE_TRIGGER_SECONDS + SAMPLE_TASKS * SAMPLE_TASK_SECONDS)
        * SAMPLE_MEMORY_GB
        * PRICES["lambda_per_gb_second_arm64"],
        "step_functions": SAMPLE_TRANSITIONS
        * per
        / 1e6
        * PRICES["step_functions_per_million_state_transitions"],
    }


# -- the report --------------------------------------------------------------------------------------------
def local_environment() -> None:
    """The functions' environment as deployed (logs at INFO: what CloudWatch Logs ingests, metrics
    kept), no AWS account reachable."""
    import prime_day

    prime_day.simulation_environment(log_level="INFO", metrics=True)


def rounded(values: dict[str, float], digits: int = 4) -> dict[str, float]:
    return {name: round(value, digits) for name, value in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--scale", type=float, default=0.1, help="share of the Prime Day mix's large seller")
    parser.add_argument("--sellers", type=int, default=1, help="sellers the idle month holds")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--fault-notifications",
        type=int,
        default=2000,
        help="notifications of the fault matrix run (the orders consumer's)",
    )
    args = parser.parse_args()
    local_environment()

    template = synthesized_template()
    idle, idle_details = idle_month(template, args.sellers)
    per_million, counts = order_change_per_million(args.scale, args.seed, traced=idle_details["traced"])
    under_faults, fault_counts = order_change_under_faults(
        args.fault_notifications, 7, traced=idle_details["traced"]
    )
    rows: dict[str, Any] | None = None
    try:
        from report_ingest import report_rows_bill
    except ImportError:
        rows = None
    else:
        rows = report_rows_bill(100_000)
    sample = amazon_sample_per_million()

    idle_total = sum(idle.values())
    per_notification = sum(per_million.values())
    monthly = {
        label: round(idle_total + per_notification * volume / 1e6, 2)
        for label, volume in (("100k", 100_000), ("1M", 1_000_000), ("10M", 10_000_000))
    }
    sample_total = sum(sample.values())
    figures = {
        "idle_usd_per_month": round(idle_total, 2),
        "usd_per_million_notifications": round(per_notification, 2),
        "usd_per_million_report_rows": round(rows["usd_per_million_rows"], 4) if rows else None,
        "breakdown": {
            "idle": rounded(idle),
            "per_million_notifications": rounded(per_million),
            "per_million_notifications_under_faults": rounded(under_faults),
            "per_million_report_rows": rounded(rows["rows_breakdown"]) if rows else None,
        },
        "monthly": monthly,
        "amazon_sample": {
            "usd_per_million_notifications": round(sample_total, 2),
            "breakdown": rounded(sample),
            "monthly": {
                label: round(sample_total * volume / 1e6, 2)
                for label, volume in (("100k", 100_000), ("1M", 1_000_000), ("10M", 10_000_000))
            },
        },
        "targets": TARGETS,
        "usd_per_million_notifications_under_faults": round(sum(under_faults.values()), 2),
        "counts": {"idle": idle_details, "order_change": counts, "order_change_under_faults": fault_counts},
        "prices": price_table(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"SellerStream's AWS bill ({figures['prices']['as_of']})")
    print(
        f"  idle, a month ({args.sellers} seller): ${idle_total:.2f} (target <= ${TARGETS['idle_usd_per_month']:.0f})"
    )
    for name, amount in sorted(idle.items(), key=lambda item: -item[1]):
        print(f"    {name:<22} ${amount:7.3f}")
    print(
        f"  per million {counts['type']}, all in (Prime Day mix, scale {args.scale}: {counts['notifications']:,} "
        f"notifications): ${per_notification:.2f} (target <= ${TARGETS['usd_per_million_notifications']:.0f})"
    )
    for name, amount in sorted(per_million.items(), key=lambda item: -item[1]):
        print(f"    {name:<22} ${amount:7.3f}")
    print(
        f"  the same under the fault matrix's faults ({fault_counts['notifications']:,} notifications, "
        f"seed 7): ${sum(under_faults.values()):.2f}"
    )
    if rows:
        print(f"  per million report rows: ${rows['usd_per_million_rows']:.4f} (target <= $0.25)")
    print(
        "  a month at 100k / 1M / 10M notifications: "
        + " / ".join(f"${value:,.2f}" for value in monthly.values())
    )
    print(f"  Amazon's sample architecture (modeled): ${sample_total:.2f} per million notifications")


if __name__ == "__main__":
    main()
