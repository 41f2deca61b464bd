"""Every tunable of the deployed pipeline, in one place.

Pure Python (no CDK imports) so local mode builds the same queues and tables from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

APP_NAME: Final = "SellerStream"

# Amazon's SP-API notifications service publishes to SQS from this account (Amazon's docs).
SPAPI_NOTIFICATIONS_ACCOUNT_ID: Final = "437568002678"

# Secrets Manager names. The LWA app secret holds {"client_id", "client_secret"};
# each seller's secret, named SELLER_SECRET_PREFIX + seller id, holds {"refresh_token", "region"}.
# These are the unstaged deployment's names (and local mode's); a stage gets its own, see StageNames.
LWA_APP_SECRET_NAME: Final = "sellerstream/lwa-app"
SELLER_SECRET_PREFIX: Final = "sellerstream/sellers/"
LISTINGS_RULE_NAME: Final = "sellerstream-listings-item-status-change"

# A stage (context key ``stage``) lets e.g. staging and production live in one account and region.
# Lowercase so one spelling fits every name it enters (stack, secrets, rule, dashboard); short so
# the rule name stays under EventBridge's 64 characters.
STAGE_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,19}")


@dataclass(frozen=True)
class StageNames:
    """Every name the stack sets explicitly, derived from the stage.

    No stage keeps the names a deployment had before stages existed, so it updates in place: a new
    stack id would be a second stack, and a new secret name would replace the LWA app secret with
    a placeholder. A stage's secrets live under ``sellerstream-<stage>/``, which no other stage's
    prefix (nor the unstaged ``sellerstream/``) can match.
    """

    stage: str | None = None

    def __post_init__(self) -> None:
        if self.stage is not None and not STAGE_PATTERN.fullmatch(self.stage):
            raise ValueError(
                f"stage must be 1-20 lowercase letters, digits or hyphens, starting with a letter, "
                f"not {self.stage!r}"
            )

    @property
    def _prefix(self) -> str:
        return f"sellerstream-{self.stage}" if self.stage else "sellerstream"

    @property
    def stack_id(self) -> str:
        return f"{APP_NAME}-{self.stage}" if self.stage else APP_NAME

    @property
    def lwa_app_secret_name(self) -> str:
        return f"{self._prefix}/lwa-app" if self.stage else LWA_APP_SECRET_NAME

    @property
    def seller_secret_prefix(self) -> str:
        return f"{self._prefix}/sellers/" if self.stage else SELLER_SECRET_PREFIX

    @property
    def listings_rule_name(self) -> str:
        return f"{self._prefix}-listings-item-status-change" if self.stage else LISTINGS_RULE_NAME

    @property
    def dashboard_name(self) -> str:
        return self.stack_id


# Lambda runtime settings shared by every consumer: the newest Python runtime Lambda offers, on
# arm64 (Graviton: cheaper per ms than x86_64). Its OS is Amazon Linux 2023 (glibc 2.34); the
# dependency layer takes wheels built for exactly this CPython ABI, glibc and CPU, and the code and
# layer ship bytecode for this Python version (stacks/bundling.py).
LAMBDA_RUNTIME_PYTHON: Final = "3.14"
LAMBDA_ARCHITECTURE: Final = "arm64"
LAMBDA_MACHINE: Final = "aarch64"
LAMBDA_GLIBC: Final = (2, 34)
LOG_RETENTION_DAYS: Final = 30

# One queue + one function per notification type. The visibility timeout is at least
# VISIBILITY_TIMEOUT_FACTOR x the function timeout (AWS guidance for SQS event sources),
# so a record is never visible again while a retrying invocation still holds it.
VISIBILITY_TIMEOUT_FACTOR: Final = 6
MAX_RECEIVE_COUNT: Final = 5
DLQ_RETENTION_DAYS: Final = 14
# SQS's maximum: a throttled record is deferred (as a delayed copy) for as long as the notification
# stays within this retention, so a backlog of any length up to it drains without dead letters.
QUEUE_RETENTION_DAYS: Final = 14


@dataclass(frozen=True)
class ConsumerSettings:
    """Sizing of one notification type's queue, function and event source mapping."""

    timeout_seconds: int
    memory_mb: int
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int
    # Alarm when the 95th percentile of event-to-store lag stays above this (the type falls behind).
    lag_alarm_p95_seconds: int = 15 * 60
    # Alarm when no notification of this type arrived for this many hours (context key
    # no_notifications_alarm_hours sets one value for every type; 0 turns these alarms off).
    quiet_alarm_hours: int = 24

    @property
    def visibility_timeout_seconds(self) -> int:
        return self.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR


# getOrder allows 0.5 req/s with a burst of 30 per seller: small batches and capped
# concurrency keep a Prime Day burst inside the bucket instead of burning receives on 429s.
ORDER_CHANGE: Final = ConsumerSettings(
    timeout_seconds=30,
    memory_mb=512,
    batch_size=10,
    batching_window_seconds=5,
    max_concurrency=5,
    quiet_alarm_hours=12,
)

# getListingsItem allows 5 req/s with a burst of 10 per seller.
LISTINGS_ITEM_STATUS_CHANGE: Final = ConsumerSettings(
    timeout_seconds=30,
    memory_mb=256,
    batch_size=10,
    batching_window_seconds=5,
    max_concurrency=5,
)

# A report can be hundreds of MB: one per invocation, the longest timeout Lambda allows, memory
# for throughput (memory use itself stays flat: the document is streamed). Larger reports
# continue in a new invocation from a checkpoint.
REPORT_PROCESSING_FINISHED: Final = ConsumerSettings(
    timeout_seconds=900,
    memory_mb=1024,
    batch_size=1,
    batching_window_seconds=0,
    max_concurrency=2,
    # A large report is stored over several 15-minute invocations; reports are requested, not
    # continuous, so two quiet days is the signal.
    lag_alarm_p95_seconds=60 * 60,
    quiet_alarm_hours=48,
)

# The application's LWA client secret: Amazon's APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY and
# APPLICATION_OAUTH_CLIENT_NEW_SECRET (SQS only, registered in the Developer Console) and the hourly
# expiry check share one small queue and function: a few messages a day, all about one secret.
APP_NOTIFICATION_TYPES: Final = (
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
    "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
)
APP_CREDENTIALS: Final = ConsumerSettings(
    timeout_seconds=30,
    memory_mb=256,
    batch_size=1,
    batching_window_seconds=0,
    max_concurrency=2,
    # The hourly check arrives whatever Amazon sends: six silent hours mean the schedule is broken.
    quiet_alarm_hours=6,
)
LWA_SECRET_CHECK_INTERVAL_HOURS: Final = 1

# Shipment requests from the seller's own systems (the fulfillment queue): confirmShipment allows
# 2 req/s with a burst of 10 per seller. Requests come when the seller ships, not continuously, so
# no "nothing arrived" alarm.
SHIPMENT_CONFIRMATION: Final = ConsumerSettings(
    timeout_seconds=30,
    memory_mb=256,
    batch_size=10,
    batching_window_seconds=2,
    max_concurrency=2,
    quiet_alarm_hours=0,
)
# Alarm (and warn in the log) when the client secret expires within this many days and no newer
# secret has arrived; Amazon keeps an old secret working seven days after a rotation.
LWA_SECRET_EXPIRY_WARNING_DAYS: Final = 14
# The client id the stack writes into the LWA app secret it creates, until the operator sets the app's.
LWA_PLACEHOLDER_CLIENT_ID: Final = "REPLACE_WITH_LWA_CLIENT_ID"

# Reconciliation: per interval (context key ``reconcile_interval_minutes``), every known seller's
# orders updated since its last reconciled point (minus the overlap) are paged from searchOrders and
# stored where the table lacks them or holds an older state. searchOrders allows one request every
# 180 s with a burst of 20 (100 orders a page), shared with backlog mode.
RECONCILE: Final = ConsumerSettings(
    timeout_seconds=300,
    memory_mb=512,
    batch_size=1,
    batching_window_seconds=0,
    max_concurrency=2,
)
RECONCILE_SERVICE_NAME: Final = "reconcile"
RECONCILE_INTERVAL_MINUTES: Final = 60
MIN_RECONCILE_INTERVAL_MINUTES: Final = 5
MAX_RECONCILE_INTERVAL_MINUTES: Final = 24 * 60
RECONCILE_OVERLAP_SECONDS: Final = 15 * 60
RECONCILE_FIRST_WINDOW_SECONDS: Final = 24 * 3600

# Raw report documents are kept this long (they can hold buyer data: Amazon's 30-day rule).
REPORT_DOCUMENT_RETENTION_DAYS: Final = 30
# Report rows (which can hold the same buyer data) expire after the same time by default
# (``cdk deploy -c report_rows_retention_days=N`` changes it).
REPORT_ROWS_RETENTION_DAYS: Final = REPORT_DOCUMENT_RETENTION_DAYS
REPORT_ROWS_TTL_ATTRIBUTE: Final = "expires_at"
# The index users look report rows up by (SKU, ASIN or order id): partition ``lookup``, sort ``sk``.
REPORT_ROWS_LOOKUP_INDEX: Final = "lookup"
REPORT_ROWS_LOOKUP_PK: Final = "lookup"
REPORT_ROWS_LOOKUP_SK: Final = "sk"

# LISTINGS_ITEM_STATUS_CHANGE arrives on the SP-API partner event bus. SP-API's events carry the
# notification type as their detail-type, and Amazon's EventBridge tutorial matches the source by
# this prefix. Amazon's JSON schema spells the type ..._CHANGED while real traffic says ..._CHANGE;
# the parser accepts both, so the rule does too (an unmatched event would vanish without a trace).
LISTINGS_EVENT_SOURCE_PREFIX: Final = "aws.partner/sellingpartnerapi.amazon.com"
LISTINGS_NOTIFICATION_TYPES: Final = ("LISTINGS_ITEM_STATUS_CHANGE", "LISTINGS_ITEM_STATUS_CHANGED")


def listings_event_pattern() -> dict[str, list[Any]]:
    """The listings rule's event pattern (EventBridge JSON), for the stack and local mode alike."""
    return {
        "source": [{"prefix": LISTINGS_EVENT_SOURCE_PREFIX}],
        "detail-type": list(LISTINGS_NOTIFICATION_TYPES),
    }


# Orders table: a seller's orders are one query (pk), PII lives in its own item with a TTL.
ORDERS_TABLE_PK: Final = "pk"
ORDERS_TABLE_SK: Final = "sk"
ORDERS_TABLE_TTL_ATTRIBUTE: Final = "expires_at"

# Powertools idempotency table layout (Powertools defaults).
IDEMPOTENCY_TABLE_PK: Final = "id"
IDEMPOTENCY_TABLE_TTL_ATTRIBUTE: Final = "expiration"
IDEMPOTENCY_EXPIRES_AFTER_SECONDS: Final = 7 * 24 * 3600

# Accounts table: routes a SubscriptionId to the seller whose credentials it uses.
ACCOUNTS_TABLE_PK: Final = "pk"

# Rate budget table: one item per Amazon rate bucket (application, seller, region, operation) shared
# by every container, and each seller's backlog search window. Idle items expire.
RATE_BUDGET_TABLE_PK: Final = "pk"
RATE_BUDGET_TABLE_TTL_ATTRIBUTE: Final = "expires_at"

# Stack outputs: stable logical ids that tooling (``sellerstream subscribe``) reads.
OUTPUT_ORDERS_QUEUE_ARN: Final = "OrdersQueueArn"
OUTPUT_ORDERS_QUEUE_URL: Final = "OrdersQueueUrl"
OUTPUT_ORDERS_DLQ_URL: Final = "OrdersDeadLetterQueueUrl"
OUTPUT_ORDERS_TABLE: Final = "OrdersTableName"
OUTPUT_IDEMPOTENCY_TABLE: Final = "IdempotencyTableName"
OUTPUT_ACCOUNTS_TABLE: Final = "AccountsTableName"
OUTPUT_RATE_BUDGET_TABLE: Final = "RateBudgetTableName"
OUTPUT_LWA_SECRET_ARN: Final = "LwaAppSecretArn"
OUTPUT_SELLER_SECRET_PREFIX: Final = "SellerSecretPrefix"
OUTPUT_ORDER_CHANGE_FUNCTION: Final = "OrderChangeFunctionName"
OUTPUT_ALARM_TOPIC_ARN: Final = "AlarmTopicArn"

METRICS_NAMESPACE: Final = "SellerStream"
# Alarm when the oldest message waits longer than this: the consumer is falling behind.
OLDEST_MESSAGE_ALARM_SECONDS: Final = 15 * 60
# Period of the alarms on counts (poison messages, credentials failures, dead letters).
ALARM_PERIOD_SECONDS: Final = 5 * 60
# Throttled records deferred this many times within DEFERRALS_ALARM_PERIOD_SECONDS: a seller's
# quota has been spent for a sustained spell, not a burst.
DEFERRALS_ALARM_THRESHOLD: Final = 100
DEFERRALS_ALARM_PERIOD_SECONDS: Final = 15 * 60
LAG_ALARM_PERIOD_SECONDS: Final = 15 * 60
# CloudWatch evaluates an alarm with a one-hour period over at most seven days.
MAX_QUIET_ALARM_HOURS: Final = 7 * 24
# The listings rule retries a failed delivery for up to a day (EventBridge's maximum), then
# dead-letters the event to the rule's own DLQ.
LISTINGS_RULE_MAX_EVENT_AGE_SECONDS: Final = 24 * 3600
LISTINGS_RULE_MAX_RETRY_ATTEMPTS: Final = 185
OUTPUT_LISTINGS_QUEUE_ARN: Final = "ListingsQueueArn"
OUTPUT_LISTINGS_DLQ_URL: Final = "ListingsDeadLetterQueueUrl"
OUTPUT_LISTINGS_TABLE: Final = "ListingsTableName"
OUTPUT_LISTINGS_RULE_ARN: Final = "ListingsRuleArn"
OUTPUT_REPORTS_QUEUE_ARN: Final = "ReportsQueueArn"
OUTPUT_REPORTS_DLQ_URL: Final = "ReportsDeadLetterQueueUrl"
OUTPUT_REPORTS_TABLE: Final = "ReportsTableName"
OUTPUT_REPORT_ROWS_TABLE: Final = "ReportRowsTableName"
OUTPUT_REPORTS_BUCKET: Final = "ReportsBucketName"
OUTPUT_PARTNER_EVENT_BUS: Final = "PartnerEventBusName"
OUTPUT_LISTINGS_RULE_DLQ_URL: Final = "ListingsRuleDeadLetterQueueUrl"
OUTPUT_DASHBOARD_URL: Final = "DashboardUrl"
# Each consumer's log group (CloudFormation names them): what Logs Insights queries and
# ``sellerstream dlq`` search for the reason of a message SQS dead-lettered after its receives.
OUTPUT_ORDER_CHANGE_LOG_GROUP: Final = "OrderChangeLogGroupName"
OUTPUT_LISTING_STATUS_LOG_GROUP: Final = "ListingStatusLogGroupName"
OUTPUT_REPORT_FINISHED_LOG_GROUP: Final = "ReportFinishedLogGroupName"
OUTPUT_APP_CREDENTIALS_LOG_GROUP: Final = "AppCredentialsLogGroupName"
OUTPUT_LISTINGS_QUEUE_URL: Final = "ListingsQueueUrl"
OUTPUT_REPORTS_QUEUE_URL: Final = "ReportsQueueUrl"
# Where the Developer Console sends the app's client-secret notifications.
OUTPUT_APP_CREDENTIALS_QUEUE_ARN: Final = "AppCredentialsQueueArn"
OUTPUT_APP_CREDENTIALS_QUEUE_URL: Final = "AppCredentialsQueueUrl"
OUTPUT_APP_CREDENTIALS_DLQ_URL: Final = "AppCredentialsDeadLetterQueueUrl"
# The reconcile function (``sellerstream reconcile`` invokes it) and its log group.
OUTPUT_RECONCILE_FUNCTION: Final = "ReconcileFunctionName"
OUTPUT_RECONCILE_LOG_GROUP: Final = "ReconcileLogGroupName"
# Where the seller's systems (and ``sellerstream ship``) send shipment requests.
OUTPUT_FULFILLMENT_QUEUE_ARN: Final = "FulfillmentQueueArn"
OUTPUT_FULFILLMENT_QUEUE_URL: Final = "FulfillmentQueueUrl"
OUTPUT_FULFILLMENT_DLQ_URL: Final = "FulfillmentDeadLetterQueueUrl"
OUTPUT_SHIPMENT_CONFIRMATION_LOG_GROUP: Final = "ShipmentConfirmationLogGroupName"
