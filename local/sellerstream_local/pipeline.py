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
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
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
    """A message in a DLQ. ``message_id`` is the message Amazon's delivery arrived as (a copy
    dead-lettered at once names it in an attribute; SQS's redrive keeps the id)."""

    message_id: str
    body: str
    notification_id: str | None
    reason: str
    detail: str
    notification_type: str | None = None
    seller_id: str | None = None


class PublishRefused(Exception):
    """SQS or EventBridge refused a body (too large, characters SQS does not allow, ...)."""


class _Discard(io.StringIO):
    """Swallows the function's output when nobody asked to keep it (the demo keeps it in a file)."""

    def write(self, text: str) -> int:
        return len(text)


# SQS accepts only these characters in a body (its SendMessage reference); moto does not check.
_SQS_REFUSED_CHARACTERS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# What a handler's log line says became of the record it names (the last line for a record wins).
FATES = {
    "notification applied": "succeeded",
    "duplicate notification skipped": "duplicate",
    "poison message: dead-lettered": "dead_lettered",
    "notification throttled: deferred": "deferred",
}


class PipelineLog(logging.Handler):
    """Reads the handler's own log lines: failure reasons by SQS message id, outcomes, and what
    became of each message (with the message it is a copy of)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.failures_by_message: dict[str, dict[str, Any]] = {}
        self.outcomes: Counter[str] = Counter()
        self.fate_by_message: dict[str, str] = {}
        self.source_by_message: dict[str, str] = {}
        self.notification_by_message: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        message_id = getattr(record, "message_id", None)
        reason = getattr(record, "reason", None)
        if message_id and reason:
            self.failures_by_message[message_id] = {
                "reason": reason,
                "detail": getattr(record, "detail", ""),
                "notification_id": getattr(record, "notification_id", None),
                "notification_type": getattr(record, "notification_type", None),
                "seller_id": getattr(record, "seller_id", None),
            }
        if message_id:
            self.fate_by_message[message_id] = FATES.get(message, "failed")
            source = getattr(record, "source_message_id", None)
            if source and source != message_id:
                self.source_by_message[message_id] = source
            notification_id = getattr(record, "notification_id", None)
            if notification_id:
                self.notification_by_message[message_id] = notification_id
        if message == "notification throttled: deferred":
            self.outcomes["deferred"] += 1
            if reason == "NotReadyError":
                self.outcomes["deferred_not_ready"] += 1
        if message == "poison message: dead-lettered":
            self.outcomes["dead_lettered"] += 1
        result = getattr(record, "result", None)
        if message == "notification applied" and isinstance(result, dict):
            self.outcomes[str(result.get("outcome"))] += 1
        if message == "duplicate notification skipped":
            self.outcomes["duplicate"] += 1


HANDLERS = {
    "orders": "sellerstream.handlers.order_change",
    "listings": "sellerstream.handlers.listing_status",
    "reports": "sellerstream.handlers.report_finished",
    "app": "sellerstream.handlers.app_credentials",
    "fulfillment": "sellerstream.handlers.shipment_confirmation",
}
# Where a body goes by its notification type; anything unreadable goes to the orders queue.
QUEUE_BY_TYPE = {
    "ORDER_CHANGE": "orders",
    "LISTINGS_ITEM_STATUS_CHANGE": "listings",
    "LISTINGS_ITEM_STATUS_CHANGED": "listings",
    "REPORT_PROCESSING_FINISHED": "reports",
    **{notification_type: "app" for notification_type in constants.APP_NOTIFICATION_TYPES},
}
# Each consumer's log group output (local mode writes no log groups; tests may fill them).
LOG_GROUP_OUTPUTS = {
    "orders": constants.OUTPUT_ORDER_CHANGE_LOG_GROUP,
    "listings": constants.OUTPUT_LISTING_STATUS_LOG_GROUP,
    "reports": constants.OUTPUT_REPORT_FINISHED_LOG_GROUP,
    "app": constants.OUTPUT_APP_CREDENTIALS_LOG_GROUP,
    "fulfillment": constants.OUTPUT_SHIPMENT_CONFIRMATION_LOG_GROUP,
}
# The local stand-in of the stack's hourly schedule rule (it only names itself in the event).
LOCAL_EXPIRY_CHECK_RULE = "arn:aws:events:us-east-1:123456789012:rule/sellerstream-local-expiry-check"
# The name the reconcile function has in local mode's stack outputs.
LOCAL_RECONCILE_FUNCTION = "sellerstream-local-reconcile"


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
        # SQS message id -> the EventBridge event id it delivers (listings arrive through the bus).
        self.eventbridge_event_ids: dict[str, str] = {}

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
        # The Developer Console step: the app's client-secret notifications go to the app queue.
        for notification_type in constants.APP_NOTIFICATION_TYPES:
            self.emulator.register_app_notifications(notification_type, self._send_to_app_queue)
        # Sellers' ORDER_CHANGE subscriptions: the emulator's own changes (a confirmed shipment) arrive.
        self.emulator.register_order_notifications(self._send_to_orders_queue)
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
        """Delivers a body the way Amazon would: SQS for orders and reports, EventBridge for listings;
        a shipment request goes to the fulfillment queue, as the seller's systems send it.

        Returns the SQS message id (for a listings notification, the id EventBridge's put got).
        Raises ``PublishRefused`` when SQS or EventBridge would not take the body.
        """
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        if _SQS_REFUSED_CHARACTERS.search(body):
            raise PublishRefused("the body holds characters SQS does not accept (control characters)")
        kind, document, is_eventbridge_event = route(body)
        try:
            if kind == "listings" and not is_eventbridge_event and document is not None:
                return self._put_event(document)
            queue = self.resources.queues[kind]
            return str(self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"])
        except (ClientError, BotoCoreError, ValueError, RecursionError) as error:
            raise PublishRefused(f"{type(error).__name__}: {str(error)[:200]}") from None

    def _send_to_orders_queue(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.resources.queues["orders"].url, MessageBody=body)

    def _send_to_app_queue(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.resources.queues["app"].url, MessageBody=body)

    def run_secret_expiry_check(self, at: datetime | None = None) -> str:
        """What the stack's hourly schedule does: a Scheduled Event on the app queue."""
        from sellerstream_local.notifications_factory import scheduled_event  # noqa: PLC0415

        body = json.dumps(scheduled_event(at=at or datetime.now(UTC), rule_arn=LOCAL_EXPIRY_CHECK_RULE))
        queue_url = self.resources.queues["app"].url
        return str(self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])

    def rotate_app_secret(self) -> None:
        """What ``sellerstream rotate-app-secret`` does: Amazon's grantless rotation, with the app
        credentials the LWA app secret holds now (the new secret then arrives on the app queue)."""
        from sellerstream.spapi.applications import ApplicationsApi  # noqa: PLC0415
        from sellerstream.spapi.auth import LwaCredentials  # noqa: PLC0415
        from sellerstream.spapi.client import SpApiClient  # noqa: PLC0415

        current = json.loads(
            self.secrets.get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)["SecretString"]
        )
        client = SpApiClient(
            credentials=LwaCredentials(current["client_id"], current["client_secret"]),
            seller=None,
            base_url_override=self.emulator.base_url,
            lwa_token_url=self.emulator.lwa_token_url,
        )
        ApplicationsApi(client).rotate_client_secret()

    def _put_event(self, document: dict[str, Any]) -> str:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": LOCAL_EVENT_SOURCE,
                    "DetailType": str(document.get("NotificationType"))[:128],
                    "Detail": json.dumps(document),
                    "EventBusName": self.resources.event_bus,
                }
            ]
        )
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or not entry.get("EventId"):
            raise PublishRefused(f"EventBridge refused the event: {entry.get('ErrorCode', 'no event id')}")
        return str(entry["EventId"])

    def _observe(self, message: dict[str, Any]) -> None:
        """Notes which EventBridge event an SQS message delivers, to trace it back to its publish."""
        event_id = _eventbridge_event_id(message.get("Body", ""))
        if event_id:
            self.eventbridge_event_ids[message["MessageId"]] = event_id

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
                # What the stack gives each consumer of its own: its queue's DLQ.
                environment={"DEAD_LETTER_QUEUE_URL": self.resources.queues[kind].dlq_url},
                on_receive=self._observe,
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

    # -- reconciliation --------------------------------------------------------------------------
    def reconcile(
        self,
        seller_id: str,
        since: datetime,
        until: datetime | None = None,
        *,
        max_seconds: float = 900.0,
    ) -> dict[str, Any]:
        """What ``sellerstream reconcile`` runs in the account: the seller's orders updated in
        ``[since, until]`` (until: at most two minutes before the emulator's now; None: that) stored
        from searchOrders where the table lacks them or holds an older state.

        When the seller's searchOrders budget is spent the run stops at its checkpoint; here it
        then waits for the next slot and resumes the same window, until the window is done (or
        ``max_seconds`` passed). The budget's rate plans are sped up like the emulator's
        (``emulator_time_scale``). Returns the counts: ``pages``, ``orders_seen``,
        ``orders_refreshed``, ``calls`` (searchOrders requests the emulator served or refused),
        ``runs``, ``complete``, and the window as run (``since``, ``until``, RFC 3339).
        """
        from sellerstream.config import get_settings  # noqa: PLC0415 - after the environment is set
        from sellerstream.credentials import CredentialsResolver  # noqa: PLC0415
        from sellerstream.logic.reconcile import ReconcileUseCase  # noqa: PLC0415
        from sellerstream.logic.spapi_access import SpApiAccess  # noqa: PLC0415
        from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, RatePlan  # noqa: PLC0415
        from sellerstream.store.backlog import BacklogStore  # noqa: PLC0415
        from sellerstream.store.orders import OrderStore  # noqa: PLC0415
        from sellerstream.store.rate_budget import SharedRateBudget  # noqa: PLC0415

        settings = get_settings()
        credentials = CredentialsResolver(settings)
        scale = self.emulator.time_scale
        budget = SharedRateBudget(
            self.resources.tables["rate_budget"],
            plans={
                name: RatePlan(plan.rate * scale, plan.burst) for name, plan in DEFAULT_RATE_PLANS.items()
            },
        )
        use_case = ReconcileUseCase(
            settings,
            credentials,
            SpApiAccess(settings, credentials, shared_budget=budget),
            OrderStore(self.resources.tables["orders"]),
            BacklogStore(self.resources.tables["rate_budget"], clock=self.emulator.clock),
            clock=self.emulator.clock,
        )
        window_until = min(until, use_case.latest_until()) if until is not None else use_case.latest_until()
        calls_before = self.emulator.sp_api_calls().get("searchOrders", 0)
        deadline = time.monotonic() + max_seconds
        totals: dict[str, Any] = {"pages": 0, "orders_seen": 0, "orders_refreshed": 0, "runs": 0}
        while True:
            result = use_case.reconcile(seller_id, since, window_until, lambda: deadline - time.monotonic())
            totals["runs"] += 1
            for name in ("pages", "orders_seen", "orders_refreshed"):
                totals[name] += getattr(result, name)
            done = result.complete or result.stopped not in ("rate_budget", "time")
            wait = result.resume_in_seconds or 0.0
            if done or time.monotonic() + wait >= deadline:
                break
            time.sleep(max(wait, 0.05))
        window = result.as_dict()
        return {
            **totals,
            "calls": self.emulator.sp_api_calls().get("searchOrders", 0) - calls_before,
            "complete": result.complete,
            "stopped": result.stopped,
            "since": window["since"],
            "until": window["until"],
        }

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
        handles: list[str] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            if not fresh:
                for handle in handles:  # visible again: a later look sees the same letters
                    self.sqs.change_message_visibility(
                        QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
                    )
                return letters
            for message in fresh:
                seen.add(message["MessageId"])
                handles.append(message["ReceiptHandle"])
                letters.append(self._dead_letter(message))

    def _dead_letter(self, message: dict[str, Any]) -> DeadLetter:
        """A DLQ message with its reason: from its attributes (dead-lettered at once by the handler),
        else from the handler's last log line about it (redriven by SQS after its receives)."""
        from sellerstream.logic import dead_letter  # noqa: PLC0415
        from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE  # noqa: PLC0415

        attributes = {
            name: str(value.get("StringValue", ""))
            for name, value in message.get("MessageAttributes", {}).items()
        }
        if dead_letter.REASON_ATTRIBUTE in attributes:
            return DeadLetter(
                message_id=attributes.get(SOURCE_MESSAGE_ID_ATTRIBUTE, message["MessageId"]),
                body=message["Body"],
                notification_id=attributes.get(dead_letter.NOTIFICATION_ID_ATTRIBUTE),
                reason=attributes[dead_letter.REASON_ATTRIBUTE],
                detail=attributes.get(dead_letter.DETAIL_ATTRIBUTE, ""),
                notification_type=attributes.get(dead_letter.NOTIFICATION_TYPE_ATTRIBUTE),
                seller_id=attributes.get(dead_letter.SELLER_ID_ATTRIBUTE),
            )
        failure = self.log.failures_by_message.get(message["MessageId"], {})
        return DeadLetter(
            message_id=message["MessageId"],
            body=message["Body"],
            notification_id=failure.get("notification_id"),
            reason=failure.get("reason", "unknown"),
            detail=failure.get("detail", ""),
            notification_type=failure.get("notification_type"),
            seller_id=failure.get("seller_id"),
        )

    def stack_outputs(self) -> dict[str, str]:
        """The deployed stack's outputs, for the local resources (what the account commands read)."""
        queues, tables = self.resources.queues, self.resources.tables
        return {
            constants.OUTPUT_ORDERS_QUEUE_ARN: queues["orders"].arn,
            constants.OUTPUT_ORDERS_QUEUE_URL: queues["orders"].url,
            constants.OUTPUT_ORDERS_DLQ_URL: queues["orders"].dlq_url,
            constants.OUTPUT_LISTINGS_QUEUE_ARN: queues["listings"].arn,
            constants.OUTPUT_LISTINGS_QUEUE_URL: queues["listings"].url,
            constants.OUTPUT_LISTINGS_DLQ_URL: queues["listings"].dlq_url,
            constants.OUTPUT_REPORTS_QUEUE_ARN: queues["reports"].arn,
            constants.OUTPUT_REPORTS_QUEUE_URL: queues["reports"].url,
            constants.OUTPUT_REPORTS_DLQ_URL: queues["reports"].dlq_url,
            constants.OUTPUT_APP_CREDENTIALS_QUEUE_ARN: queues["app"].arn,
            constants.OUTPUT_APP_CREDENTIALS_QUEUE_URL: queues["app"].url,
            constants.OUTPUT_APP_CREDENTIALS_DLQ_URL: queues["app"].dlq_url,
            constants.OUTPUT_FULFILLMENT_QUEUE_ARN: queues["fulfillment"].arn,
            constants.OUTPUT_FULFILLMENT_QUEUE_URL: queues["fulfillment"].url,
            constants.OUTPUT_FULFILLMENT_DLQ_URL: queues["fulfillment"].dlq_url,
            constants.OUTPUT_ORDERS_TABLE: tables["orders"],
            constants.OUTPUT_LISTINGS_TABLE: tables["listings"],
            constants.OUTPUT_REPORTS_TABLE: tables["reports"],
            constants.OUTPUT_REPORT_ROWS_TABLE: tables["report_rows"],
            constants.OUTPUT_IDEMPOTENCY_TABLE: tables["idempotency"],
            constants.OUTPUT_ACCOUNTS_TABLE: tables["accounts"],
            constants.OUTPUT_REPORTS_BUCKET: self.resources.reports_bucket,
            constants.OUTPUT_LWA_SECRET_ARN: constants.LWA_APP_SECRET_NAME,
            constants.OUTPUT_SELLER_SECRET_PREFIX: constants.SELLER_SECRET_PREFIX,
            constants.OUTPUT_RECONCILE_FUNCTION: LOCAL_RECONCILE_FUNCTION,
            **{
                output: f"/aws/lambda/sellerstream-local-{kind}" for kind, output in LOG_GROUP_OUTPUTS.items()
            },
        }

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
    """The queue kind a body belongs to, its notification document, and whether it is an EventBridge
    event (recognised exactly as the handler's parser recognises one). A JSON object whose only key
    is ``shipment`` is a shipment request (the fulfillment queue's format)."""
    if is_shipment_request(body):
        return "fulfillment", None, False
    from sellerstream.errors import PoisonMessageError  # noqa: PLC0415
    from sellerstream.notifications import decode_body  # noqa: PLC0415
    from sellerstream.notifications.envelope import is_eventbridge_event  # noqa: PLC0415

    try:
        document = decode_body(body)
        outer = json.loads(body)
        if isinstance(outer, str):
            outer = json.loads(outer)
    except (ValueError, RecursionError, PoisonMessageError):
        return "orders", None, False
    eventbridge = isinstance(outer, dict) and is_eventbridge_event(outer)
    notification_type = document.get("NotificationType", document.get("notificationType"))
    return QUEUE_BY_TYPE.get(str(notification_type), "orders"), document, eventbridge


def _eventbridge_event_id(body: str) -> str | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(event, dict) and isinstance(event.get("id"), str) and "detail" in event:
        return str(event["id"])
    return None


def is_shipment_request(body: str) -> bool:
    """True for a body in the fulfillment queue's format, ``{"shipment": {...}}`` (valid or not)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and set(document) == {"shipment"}
