"""Every tunable of the deployed pipeline, in one place.

Pure Python (no CDK imports) so local mode builds the same queues and tables from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

APP_NAME: Final = "SellerStream"

# Amazon's SP-API notifications service publishes to SQS from this account (Amazon's docs).
SPAPI_NOTIFICATIONS_ACCOUNT_ID: Final = "437568002678"

# Secrets Manager names. The LWA app secret holds {"client_id", "client_secret"};
# each seller's secret, named SELLER_SECRET_PREFIX + seller id, holds {"refresh_token", "region"}.
LWA_APP_SECRET_NAME: Final = "sellerstream/lwa-app"
SELLER_SECRET_PREFIX: Final = "sellerstream/sellers/"

# Lambda runtime settings shared by every consumer.
LAMBDA_RUNTIME_PYTHON: Final = "3.11"
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
)

# Raw report documents are kept this long (they can hold buyer data: Amazon's 30-day rule).
REPORT_DOCUMENT_RETENTION_DAYS: Final = 30

# LISTINGS_ITEM_STATUS_CHANGE arrives on the SP-API partner event bus; the rule matches it by
# the type in the notification.
LISTINGS_EVENT_SOURCE_PREFIX: Final = "aws.partner/sellingpartnerapi.amazon.com"

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
