"""The whole pipeline on one machine: moto for AWS, the SP-API emulator, the real handler, a poller.

Used by the demo, ``sellerstream replay``, the integration tests and the benchmarks. Entering a
``LocalPipeline`` sets the same environment variables the stack gives the function, starts moto
in-process and the emulator on loopback, and creates the stack's resources; leaving restores it all.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, cast

import boto3
from moto import mock_aws

from sellerstream_local.emulator import Faults, SpApiEmulator
from sellerstream_local.poller import LocalPoller, PollerStats
from sellerstream_local.resources import LocalResources, create_resources
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
        result = getattr(record, "result", None)
        if isinstance(result, dict):
            first_time = record.getMessage() == "notification applied"
            self.outcomes[str(result.get("outcome")) if first_time else "duplicate"] += 1


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
    ) -> None:
        self._visibility = visibility_timeout_seconds
        self._orders_api_version = orders_api_version
        # The function's stdout (JSON logs, EMF metrics), as CloudWatch Logs would receive it.
        self._function_output: IO[str] = log_stream or _Discard()
        self.emulator = SpApiEmulator(time_scale=emulator_time_scale, seed=seed, faults=faults)
        self.log = PipelineLog()
        self._saved_environ: dict[str, str] = {}
        self._mock = mock_aws()
        self.resources: LocalResources
        self.sqs: Any = None
        self.dynamodb: Any = None
        self.secrets: Any = None
        self.sellers: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalPipeline:
        self._saved_environ = dict(os.environ)
        self.emulator.start()
        self.emulator.register_app(LWA_CLIENT_ID, LWA_CLIENT_SECRET)
        os.environ.update(self._environment())
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(variable, None)
        self._mock.start()
        self.sqs = boto3.client("sqs", region_name=LOCAL_REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION)
        self.secrets = boto3.client("secretsmanager", region_name=LOCAL_REGION)
        self.resources = create_resources(self.sqs, self.dynamodb, self._visibility)
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
        self._mock.stop()
        self.emulator.stop()
        reset_runtime()
        os.environ.clear()
        os.environ.update(self._saved_environ)

    def _environment(self) -> dict[str, str]:
        return {
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "ORDERS_TABLE_NAME": "sellerstream-orders",
            "IDEMPOTENCY_TABLE_NAME": "sellerstream-idempotency",
            "ACCOUNTS_TABLE_NAME": "sellerstream-accounts",
            "LWA_APP_SECRET_ID": constants.LWA_APP_SECRET_NAME,
            "SELLER_SECRET_PREFIX": constants.SELLER_SECRET_PREFIX,
            "ORDERS_API_VERSION": self._orders_api_version,
            "SPAPI_ENDPOINT_OVERRIDE": self.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": self.emulator.lwa_token_url,
            "MAX_RECEIVE_COUNT": str(constants.MAX_RECEIVE_COUNT),
            "POWERTOOLS_SERVICE_NAME": "sellerstream-local",
            "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_LAMBDA_FUNCTION_NAME": "sellerstream-local",
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
                TableName=self.resources.accounts_table,
                Item={"pk": {"S": f"SUBSCRIPTION#{subscription_id}"}, "seller_id": {"S": seller_id}},
            )

    # -- traffic ---------------------------------------------------------------------------------
    def publish(self, body: str) -> str:
        return str(
            self.sqs.send_message(QueueUrl=self.resources.orders_queue.url, MessageBody=body)["MessageId"]
        )

    def order_change_poller(self) -> LocalPoller:
        from sellerstream.handlers.order_change import lambda_handler  # noqa: PLC0415 - env set first

        return LocalPoller(
            self.sqs,
            self.resources.orders_queue,
            lambda_handler,
            function_name="sellerstream-local",
            batch_size=constants.ORDER_CHANGE.batch_size,
            timeout_seconds=constants.ORDER_CHANGE.timeout_seconds,
            output=self._function_output,
        )

    def drain(self, poller: LocalPoller | None = None, *, max_seconds: float = 300.0) -> PollerStats:
        poller = poller or self.order_change_poller()
        if not poller.run_until_drained(max_seconds=max_seconds):
            raise TimeoutError(f"the queue did not drain within {max_seconds} s")
        return poller.stats

    # -- inspection ------------------------------------------------------------------------------
    def dead_letters(self) -> list[DeadLetter]:
        """Everything in the orders DLQ, with the reason the handler logged for it."""
        letters: list[DeadLetter] = []
        seen: set[str] = set()
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.resources.orders_queue.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            if not fresh:
                break
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
        return letters

    def table_names(self) -> list[str]:
        return [self.resources.orders_table, self.resources.idempotency_table, self.resources.accounts_table]

    def table_items(self, table_name: str) -> list[dict[str, Any]]:
        from sellerstream.store.dynamo import from_attribute_map  # noqa: PLC0415

        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table_name):
            items.extend(from_attribute_map(item) for item in page["Items"])
        return sorted(items, key=lambda item: (str(item.get("pk", item.get("id"))), str(item.get("sk", ""))))
