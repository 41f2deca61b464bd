"""ORDER_CHANGE batches through the real use case on moto and the in-process emulator, on a fake clock.

Each ``container()`` is a new use case with its own caches (its own view of the shared rate budget),
as separate Lambda containers have; the tables, the emulator and the clock are shared. Deferred
copies are captured instead of sent, so a test can deliver them again when it chooses.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import pytest

from sellerstream import aws
from sellerstream.config import Settings, reset_settings_cache
from sellerstream.credentials import CredentialsResolver
from sellerstream.logic import batch
from sellerstream.logic.batch import process_batch, reset_runtime_caches
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.reconcile import ReconcileUseCase
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.observability import logger
from sellerstream.store.backlog import BacklogStore
from sellerstream.store.orders import OrderStore, parse_sortable
from sellerstream.store.rate_budget import SharedRateBudget
from sellerstream.store.waiting import WaitingStore
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import order_change
from sellerstream_local.pipeline import PipelineLog
from tests.support.fakes import FakeClock

SELLER = "A1SELLERBATCHES"
OTHER_SELLER = "A2SELLERBATCHES"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"
TABLES = {
    "ORDERS_TABLE_NAME": ("orders", "pk", "sk"),
    "IDEMPOTENCY_TABLE_NAME": ("idempotency", "id", None),
    "ACCOUNTS_TABLE_NAME": ("accounts", "pk", None),
    "RATE_BUDGET_TABLE_NAME": ("rate-budget", "pk", None),
}


class FakeContext:
    """The parts of Lambda's context the batch uses, on the fake clock."""

    function_name = "order-change"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:order-change"
    aws_request_id = "request"

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self._clock = clock
        self._deadline = clock.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - self._clock.now) * 1000), 0)


@dataclass
class BatchResult:
    failed: list[str]  # message ids reported as batch item failures
    deferred: list[dict[str, Any]]  # the notifications whose copies went back to the queue
    outcomes: Counter[str] = field(default_factory=Counter)


class OrderBatches:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, orders_api_version: str) -> None:
        self.clock = clock
        self.emulator = SpApiEmulator(clock=clock)
        self.emulator.register_app("amzn1.application-oa2-client.batches", "secret")
        dynamodb = boto3.client("dynamodb")
        environment = {
            "LWA_APP_SECRET_ID": "lwa-app",
            "SELLER_SECRET_PREFIX": "sellers/",
            "ORDERS_API_VERSION": orders_api_version,
            "SPAPI_ENDPOINT_OVERRIDE": IN_PROCESS_BASE_URL,
            "LWA_ENDPOINT_OVERRIDE": f"{IN_PROCESS_BASE_URL}/auth/o2/token",
            "THROTTLE_DEFERRAL_BASE_SECONDS": "30",
        }
        for variable, (name, pk, sk) in TABLES.items():
            keys = [{"AttributeName": pk, "KeyType": "HASH"}] + (
                [{"AttributeName": sk, "KeyType": "RANGE"}] if sk else []
            )
            dynamodb.create_table(
                TableName=name,
                KeySchema=keys,
                AttributeDefinitions=[
                    {"AttributeName": k["AttributeName"], "AttributeType": "S"} for k in keys
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            environment[variable] = name
        for variable, value in environment.items():
            monkeypatch.setenv(variable, value)
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(
            Name="lwa-app",
            SecretString=json.dumps(
                {"client_id": "amzn1.application-oa2-client.batches", "client_secret": "secret"}
            ),
        )
        for seller in (SELLER, OTHER_SELLER):
            secrets.create_secret(
                Name=f"sellers/{seller}",
                SecretString=json.dumps({"refresh_token": f"Atzr|{seller}", "region": "NA"}),
            )
            self.emulator.register_seller(seller, f"Atzr|{seller}")
        reset_settings_cache()
        aws.reset_clients()
        reset_runtime_caches()
        self.settings = Settings.from_environment(dict(os.environ))
        self.store = OrderStore("orders")
        self.log = PipelineLog()
        cast(logging.Logger, logger).addHandler(self.log)
        self.deferred: list[tuple[str, int]] = []
        monkeypatch.setattr(
            batch, "defer", lambda record, delay, now: self.deferred.append((record.body, delay))
        )

    def close(self) -> None:
        cast(logging.Logger, logger).removeHandler(self.log)
        reset_settings_cache()
        reset_runtime_caches()
        aws.reset_clients()

    def container(self) -> OrderChangeUseCase:
        credentials = CredentialsResolver(self.settings)
        budget = SharedRateBudget("rate-budget", clock=self.clock, sleep=self.clock.sleep)
        access = SpApiAccess(
            self.settings,
            credentials,
            shared_budget=budget,
            transport=InProcessTransport(self.emulator),
            clock=self.clock,
            sleep=self.clock.sleep,
        )
        return OrderChangeUseCase(
            self.settings,
            credentials,
            access,
            self.store,
            backlog=BacklogStore("rate-budget", clock=self.clock),
            waiting=WaitingStore("rate-budget", clock=self.clock),
            clock=self.clock,
        )

    def reconciler(self) -> ReconcileUseCase:
        """The reconcile function's use case in a container of its own (same tables, emulator, clock)."""
        credentials = CredentialsResolver(self.settings)
        budget = SharedRateBudget("rate-budget", clock=self.clock, sleep=self.clock.sleep)
        access = SpApiAccess(
            self.settings,
            credentials,
            shared_budget=budget,
            transport=InProcessTransport(self.emulator),
            clock=self.clock,
            sleep=self.clock.sleep,
        )
        return ReconcileUseCase(
            self.settings,
            credentials,
            access,
            self.store,
            BacklogStore("rate-budget", clock=self.clock),
            clock=self.clock,
        )

    def run(
        self, use_case: OrderChangeUseCase, notifications: list[dict[str, Any]], *, seconds: float = 30.0
    ) -> BatchResult:
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": json.dumps(notification),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(self.clock.now * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
            for notification in notifications
        ]
        before_outcomes = Counter(self.log.outcomes)
        self.deferred.clear()
        response = process_batch(
            {"Records": records},
            cast(Any, FakeContext(self.clock, seconds)),
            use_case,
            clock=self.clock,
        )
        deferred = [json.loads(body) for body, _ in self.deferred]
        return BatchResult(
            failed=[failure["itemIdentifier"] for failure in response["batchItemFailures"]],
            deferred=deferred,
            outcomes=Counter(self.log.outcomes) - before_outcomes,
        )

    def notification(
        self, order_id: str, changed_at: datetime, *, seller: str = SELLER, notification_id: str | None = None
    ) -> dict[str, Any]:
        return order_change(
            seller_id=seller,
            order_id=order_id,
            status="Unshipped",
            changed_at=changed_at,
            notification_id=notification_id,
        )

    def stored_last_updated(self, order_id: str, seller: str = SELLER) -> datetime | None:
        item = (
            boto3.client("dynamodb")
            .get_item(
                TableName="orders", Key={"pk": {"S": f"SELLER#{seller}"}, "sk": {"S": f"ORDER#{order_id}"}}
            )
            .get("Item")
        )
        return parse_sortable(item["last_updated"]["S"]) if item else None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)
