"""The whole pipeline on one machine: moto for AWS, the SP-API emulator, the real handler, a poller.

Used by the demo, ``sellerstream replay``, the integration tests and the benchmarks. Entering a
``LocalPipeline`` sets the same environment variables the stack gives the function, starts moto
in-process and the emulator on loopback, and creates the stack's resources; leaving restores it all.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, cast

import boto3
from moto import mock_aws

from sellerstream_local.emulator import Faults, SpApiEmulator
from sellerstream_local.moto_patches import faster_moto
from sellerstream_local.poller import LocalPoller, PollerStats, combine, difference, snapshot
from sellerstream_local.resources import (
    LOCAL_EVENT_SOURCE,
    QUEUE_SETTINGS,
    LocalResources,
    create_resources,
)
from sellerstream_local.runtime_reset import reset_runtime
from stacks import constants

LOCAL_REGION = "us-east-1"
LWA_CLIENT_ID = "amzn1.application-oa2-client.local"
LWA_CLIENT_SECRET = "local-client-secret"  # noqa: S105 - a fixed credential of the local emulator


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    notification_id: str | None
    reason: str
    detail: str


class _Discard(io.StringIO):
    """Swallows the function's output when nobody asked to keep it (the demo keeps it in a file)."""

    def write(self, text: str) -> int:
        return len(text)


class PipelineLog(logging.Handler):
    """Reads the handler's own log lines: failure reasons by SQS message id, and outcomes."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.failures_by_message: dict[str, dict[str, Any]] = {}
        self.outcomes: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message_id = getattr(record, "message_id", None)
        reason = getattr(record, "reason", None)
        if message_id and reason:
            self.failures_by_message[message_id] = {
                "reason": reason,
                "detail": getattr(record, "detail", ""),
                "notification_id": getattr(record, "notification_id", None),
            }
        if record.getMessage() == "notification throttled: deferred":
            self.outcomes["deferred"] += 1
            if reason == "NotReadyError":
                self.outcomes["deferred_not_ready"] += 1
        result = getattr(record, "result", None)
        if isinstance(result, dict):
            first_time = record.getMessage() == "notification applied"
            self.outcomes[str(result.get("outcome")) if first_time else "duplicate"] += 1


HANDLERS = {
    "orders": "sellerstream.handlers.order_change",
    "listings": "sellerstream.handlers.listing_status",
    "reports": "sellerstream.handlers.report_finished",
}
# Where a body goes by its notification type; anything unreadable goes to the orders queue.
QUEUE_BY_TYPE = {
    "ORDER_CHANGE": "orders",
    "LISTINGS_ITEM_STATUS_CHANGE": "listings",
    "LISTINGS_ITEM_STATUS_CHANGED": "listings",
    "REPORT_PROCESSING_FINISHED": "reports",
}


class LocalPipeline:
    def __init__(
        self,
        *,
        emulator_time_scale: float = 1.0,
        visibility_timeout_seconds: int = 1,
        orders_api_version: str = "2026-01-01",
        seed: int = 0,
        faults: Faults | None = None,
        log_stream: IO[str] | None = None,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        self._visibility = visibility_timeout_seconds
        self._orders_api_version = orders_api_version
        self._extra_environment = extra_environment or {}
        # The function's stdout (JSON logs, EMF metrics), as CloudWatch Logs would receive it.
        self._function_output: IO[str] = log_stream or _Discard()
        self.emulator = SpApiEmulator(time_scale=emulator_time_scale, seed=seed, faults=faults)
        self.log = PipelineLog()
        self._saved_environ: dict[str, str] = {}
        self._mock = mock_aws()
        # moto's SQS clock and DynamoDB transaction snapshots cost time per message / item held.
        self._faster_moto = faster_moto()
        self.resources: LocalResources
        self.sqs: Any = None
        self.dynamodb: Any = None
        self.secrets: Any = None
        self.s3: Any = None
        self.events: Any = None
        self.sellers: set[str] = set()
        self.pollers: dict[str, LocalPoller] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalPipeline:
        self._saved_environ = dict(os.environ)
        self.emulator.start()
        self.emulator.register_app(LWA_CLIENT_ID, LWA_CLIENT_SECRET)
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(variable, None)
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_REGION": LOCAL_REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        )
        self._mock.start()
        self._faster_moto.__enter__()
        self.sqs = boto3.client("sqs", region_name=LOCAL_REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION)
        self.secrets = boto3.client("secretsmanager", region_name=LOCAL_REGION)
        self.s3 = boto3.client("s3", region_name=LOCAL_REGION)
        self.events = boto3.client("events", region_name=LOCAL_REGION)
        self.resources = create_resources(self.sqs, self.dynamodb, self.s3, self.events, self._visibility)
        os.environ.update(self._environment())
        self.secrets.create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps({"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}),
        )
        reset_runtime()
        self._attach_logging()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._detach_logging()
        self._faster_moto.__exit__(None, None, None)
        self._mock.stop()
        self.emulator.stop()
        reset_runtime()
        os.environ.clear()
        os.environ.update(self._saved_environ)

    def _environment(self) -> dict[str, str]:
        """What the stack gives the functions, pointing at moto and the emulator."""
        tables = self.resources.tables
        return {
            "ORDERS_TABLE_NAME": tables["orders"],
            "LISTINGS_TABLE_NAME": tables["listings"],
            "REPORTS_TABLE_NAME": tables["reports"],
            "REPORT_ROWS_TABLE_NAME": tables["report_rows"],
            "IDEMPOTENCY_TABLE_NAME": tables["idempotency"],
            "ACCOUNTS_TABLE_NAME": tables["accounts"],
            "RATE_BUDGET_TABLE_NAME": tables["rate_budget"],
            "REPORTS_BUCKET_NAME": self.resources.reports_bucket,
            "REPORTS_QUEUE_URL": self.resources.queues["reports"].url,
            "LWA_APP_SECRET_ID": constants.LWA_APP_SECRET_NAME,
            "SELLER_SECRET_PREFIX": constants.SELLER_SECRET_PREFIX,
            "ORDERS_API_VERSION": self._orders_api_version,
            "SPAPI_ENDPOINT_OVERRIDE": self.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": self.emulator.lwa_token_url,
            "MAX_RECEIVE_COUNT": str(constants.MAX_RECEIVE_COUNT),
            # Scaled down like the visibility timeout: a deferred record returns within seconds.
            "THROTTLE_DEFERRAL_BASE_SECONDS": "1",
            "POWERTOOLS_SERVICE_NAME": "sellerstream-local",
            "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_LAMBDA_FUNCTION_NAME": "sellerstream-local",
            **self._extra_environment,
        }

    def _attach_logging(self) -> None:
        from sellerstream.observability import logger  # noqa: PLC0415 - after the environment is set

        cast(logging.Logger, logger).addHandler(self.log)
        handler = logger.logger_handler
        if isinstance(handler, logging.StreamHandler):
            self._previous_stream = handler.setStream(self._function_output)

    def _detach_logging(self) -> None:
        from sellerstream.observability import logger  # noqa: PLC0415

        cast(logging.Logger, logger).removeHandler(self.log)
        handler = logger.logger_handler
        if isinstance(handler, logging.StreamHandler) and getattr(self, "_previous_stream", None) is not None:
            handler.setStream(self._previous_stream)

    # -- provisioning ----------------------------------------------------------------------------
    def provision_seller(self, seller_id: str, *, subscription_ids: tuple[str, ...] = ()) -> None:
        """Gives a seller local credentials (secret + emulator) and routes its subscriptions to it."""
        if seller_id not in self.sellers:
            refresh_token = f"Atzr|local-{seller_id}"
            self.secrets.create_secret(
                Name=f"{constants.SELLER_SECRET_PREFIX}{seller_id}",
                SecretString=json.dumps({"refresh_token": refresh_token, "region": "NA"}),
            )
            self.emulator.register_seller(seller_id, refresh_token)
            self.sellers.add(seller_id)
        for subscription_id in subscription_ids:
            self.dynamodb.put_item(
                TableName=self.resources.tables["accounts"],
                Item={"pk": {"S": f"SUBSCRIPTION#{subscription_id}"}, "seller_id": {"S": seller_id}},
            )

    # -- traffic ---------------------------------------------------------------------------------
    def publish(self, body: str) -> str:
        """Delivers a body the way Amazon would: SQS for orders and reports, EventBridge for listings.

        Returns the SQS message id (for a listings notification, the id EventBridge's put got).
        """
        kind, document, is_eventbridge_event = route(body)
        if kind == "listings" and not is_eventbridge_event and document is not None:
            response = self.events.put_events(
                Entries=[
                    {
                        "Source": LOCAL_EVENT_SOURCE,
                        "DetailType": str(document.get("NotificationType")),
                        "Detail": json.dumps(document),
                        "EventBusName": self.resources.event_bus,
                    }
                ]
            )
            return str(response["Entries"][0].get("EventId", ""))
        queue = self.resources.queues[kind]
        return str(self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"])

    def poller(self, kind: str) -> LocalPoller:
        """The local event source mapping for one queue (created once, so its statistics add up)."""
        if kind not in self.pollers:
            handler = importlib.import_module(HANDLERS[kind]).lambda_handler
            settings = QUEUE_SETTINGS[kind]
            self.pollers[kind] = LocalPoller(
                self.sqs,
                self.resources.queues[kind],
                handler,
                function_name=f"sellerstream-local-{kind}",
                batch_size=settings.batch_size,
                timeout_seconds=settings.timeout_seconds,
                output=self._function_output,
            )
        return self.pollers[kind]

    def order_change_poller(self) -> LocalPoller:
        return self.poller("orders")

    def drain(self, poller: LocalPoller | None = None, *, max_seconds: float = 300.0) -> PollerStats:
        """Runs the pollers until every queue is empty; returns the combined statistics of this run."""
        pollers = [poller] if poller else [self.poller(kind) for kind in HANDLERS]
        before = [snapshot(p.stats) for p in pollers]
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            received = sum(p.poll_once() for p in pollers)
            if received:
                continue
            if all(p.queue_is_empty() for p in pollers):
                return combine([difference(p.stats, b) for p, b in zip(pollers, before, strict=True)])
            time.sleep(0.2)
        raise TimeoutError(f"the queues did not drain within {max_seconds} s")

    # -- inspection ------------------------------------------------------------------------------
    def dead_letters(self) -> list[DeadLetter]:
        """Everything in the DLQs, with the reason the handler logged for it."""
        letters: list[DeadLetter] = []
        for queue in self.resources.queues.values():
            letters.extend(self._dead_letters(queue.dlq_url))
        return letters

    def _dead_letters(self, dlq_url: str) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        seen: set[str] = set()
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            if not fresh:
                return letters
            for message in fresh:
                seen.add(message["MessageId"])
                failure = self.log.failures_by_message.get(message["MessageId"], {})
                letters.append(
                    DeadLetter(
                        message_id=message["MessageId"],
                        body=message["Body"],
                        notification_id=failure.get("notification_id"),
                        reason=failure.get("reason", "unknown"),
                        detail=failure.get("detail", ""),
                    )
                )

    def table_names(self) -> list[str]:
        return list(self.resources.tables.values())

    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table (by role, e.g. "orders", or by name) as Python values."""
        from sellerstream.store.dynamo import from_attribute_map  # noqa: PLC0415

        table_name = self.resources.tables.get(table, table)
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table_name):
            items.extend(from_attribute_map(item) for item in page["Items"])
        return sorted(items, key=lambda item: (str(item.get("pk", item.get("id"))), str(item.get("sk", ""))))


def route(body: str) -> tuple[str, dict[str, Any] | None, bool]:
    """The queue kind a body belongs to, its notification document, and whether it is an EventBridge event."""
    from sellerstream.errors import PoisonMessageError  # noqa: PLC0415
    from sellerstream.notifications import decode_body  # noqa: PLC0415

    try:
        outer = json.loads(body)
        if isinstance(outer, str):
            outer = json.loads(outer)
        document = decode_body(body)
    except (ValueError, PoisonMessageError):
        return "orders", None, False
    is_eventbridge_event = isinstance(outer, dict) and "detail" in outer
    notification_type = document.get("NotificationType", document.get("notificationType"))
    return QUEUE_BY_TYPE.get(str(notification_type), "orders"), document, is_eventbridge_event
