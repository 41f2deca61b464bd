"""ORDER_CHANGE batches through the real use case on moto and the in-process emulator, on a fake clock.

Each ``container()`` is a new use case with its own caches (its own view of the shared rate budget,
its own drainer), as separate Lambda containers have; the tables (the pending orders and their
drainers' leases among them), the emulator and the clock are shared. What the consumer sends to its
queue (the drainers' drain requests, deferred copies) is captured instead of sent, so a test can
deliver it again when it chooses.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import pytest

from sellerstream import aws, catalog
from sellerstream.adapters.backlog import DynamoDBSearchWindows
from sellerstream.adapters.orders import DynamoDBOrderStore
from sellerstream.adapters.pending_orders import DynamoDBPendingOrders
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.config import OrderChangeSettings, ReconcileSettings
from sellerstream.domain.orders import PendingChange, SellerAccount
from sellerstream.logic.batch import BatchPolicy, BatchRunner
from sellerstream.logic.drain_request import DRAIN_REQUEST, parse_orders_record
from sellerstream.logic.order_change import OrderChangeUseCase
from sellerstream.logic.order_drainer import OrderDrainer
from sellerstream.logic.reconcile import ReconcileUseCase
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.spapi.endpoints import Region
from sellerstream.timestamps import parse_sortable
from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.in_process import IN_PROCESS_BASE_URL, InProcessTransport
from sellerstream_local.notifications_factory import order_change
from sellerstream_local.pipeline import PipelineOutcomes
from sellerstream_local.resources import create_catalog_table, create_table
from tests.support.fakes import FakeClock, FakeMessageQueue

SELLER = "A1SELLERBATCHES"
OTHER_SELLER = "A2SELLERBATCHES"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"
TABLES = {
    "orders_table_name": ("orders", "pk", "sk"),
    "idempotency_table_name": ("idempotency", "id", None),
    "accounts_table_name": ("accounts", "pk", None),
    "rate_budget_table_name": ("rate-budget", "pk", None),
    "pending_orders_table_name": ("pending-orders", "pk", "sk"),
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
    # What the batch sent to the queue: the drainers' drain requests, copies of deferred records
    deferred: list[dict[str, Any]]
    outcomes: Counter[str] = field(default_factory=Counter)


class OrderBatches:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, orders_api_version: str) -> None:
        self.clock = clock
        self.emulator = SpApiEmulator(clock=clock)
        self.emulator.register_app("amzn1.application-oa2-client.batches", "secret")
        dynamodb = boto3.client("dynamodb")
        values: dict[str, object] = {
            "lwa_app_secret_id": "lwa-app",
            "seller_secret_prefix": "sellers/",
            "orders_api_version": orders_api_version,
            "spapi_endpoint_override": IN_PROCESS_BASE_URL,
            "lwa_endpoint_override": f"{IN_PROCESS_BASE_URL}/auth/o2/token",
            "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
            "dead_letter_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq",
        }
        for setting, (name, pk, sk) in TABLES.items():
            if setting == "pending_orders_table_name":
                create_catalog_table(dynamodb, catalog.PENDING_ORDERS_TABLE, name)
            else:
                create_table(dynamodb, name, pk, sk, None)
            values[setting] = name
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
        aws.reset_clients()
        self.settings = OrderChangeSettings.of(**values)
        self.reconcile_settings = ReconcileSettings.of(
            **{name: value for name, value in values.items() if name in ReconcileSettings.fields()}
        )
        self.store = DynamoDBOrderStore("orders")
        self.pending = DynamoDBPendingOrders("pending-orders")
        self.outcomes = PipelineOutcomes()
        # Drain requests and deferred copies are captured, not sent: a test delivers them when it chooses.
        self.queue = FakeMessageQueue()

    @property
    def deferred(self) -> list[tuple[str, int]]:
        return [(message.body, message.delay_seconds) for message in self.queue.deferred]

    def close(self) -> None:
        aws.reset_clients()

    def _access(self, directory: AwsSellerDirectory) -> SpApiAccess:
        budget = SharedRateBudget("rate-budget", clock=self.clock, sleep=self.clock.sleep)
        return SpApiAccess(
            self.settings,
            directory,
            budgets=budget,
            transport=InProcessTransport(self.emulator),
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def _directory(self) -> AwsSellerDirectory:
        return AwsSellerDirectory(
            accounts_table="accounts", app_secret_id="lwa-app", seller_secret_prefix="sellers/"
        )

    def container(self) -> OrderChangeUseCase:
        """The consumer's use case as ``wiring.order_change.orders_runner`` builds it, on the fake
        clock, sending to the captured queue."""
        directory = self._directory()
        access = self._access(directory)
        drainer = OrderDrainer(
            access,
            self.store,
            self.pending,
            self.queue,
            orders_api_version=self.settings.orders_api_version,
            clock=self.clock,
            sleep=self.clock.sleep,
        )
        return OrderChangeUseCase(directory, access, self.store, self.pending, drainer)

    def reconciler(self) -> ReconcileUseCase:
        """The reconcile function's use case in a container of its own (same tables, emulator, clock)."""
        directory = self._directory()
        return ReconcileUseCase(
            directory,
            self._access(directory),
            self.store,
            DynamoDBSearchWindows("rate-budget", clock=self.clock),
            overlap_seconds=self.reconcile_settings.reconcile_overlap_seconds,
            first_window_seconds=self.reconcile_settings.reconcile_first_window_seconds,
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
        before = Counter(self.outcomes.counts)
        self.queue.deferred.clear()
        # As ``orders_runner`` has it: no idempotency records (recording a change is idempotent), and
        # the drainers' own messages accepted beside ORDER_CHANGE.
        runner = BatchRunner(
            use_case,
            accepts=catalog.consumer("orders").accepts | {DRAIN_REQUEST},
            queue=self.queue,
            persistence=None,
            policy=BatchPolicy.of(self.settings),
            parse=parse_orders_record,
            clock=self.clock,
        )
        result = runner.run({"Records": records}, cast(Any, FakeContext(self.clock, seconds)))
        self.outcomes.record(result)
        return BatchResult(
            failed=[outcome.message_id for outcome in result.outcomes if not outcome.done],
            deferred=[json.loads(body) for body, _ in self.deferred],
            outcomes=Counter(self.outcomes.counts) - before,
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

    def pending_changes(self, seller: str = SELLER) -> list[PendingChange]:
        """The seller's pending changes in North America, oldest first."""
        return self.pending.oldest(SellerAccount(seller, Region.NA.value), 10_000)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)
