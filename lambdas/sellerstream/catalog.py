"""The catalog: every function SellerStream deploys and every message each one takes, declared once.

Pure Python (no CDK, no boto3), so everything derives from it: the stack builds each consumer's queue,
DLQ, function, environment, grants, alarms, dashboard row and outputs; the functions read which
types a consumer accepts and which model parses each; ``sellerstream subscribe`` reads how a seller
subscribes to each type; the dead-letter tools and local mode read the queues and their outputs.
A notification type's name is spelled here and in its own payload model, nowhere else.

A consumer is one queue and one function per cost profile (a slow report must never delay an
order); the transport of each type is Amazon's rule, not ours: SQS types arrive on the consumer's
queue through an SQS destination, EventBridge types through the partner bus and a rule that targets
the consumer's queue, so every type gets the same visibility timeout, partial batch failures and DLQ.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, NamedTuple

from sellerstream import config, metric_names


class Transport(StrEnum):
    """How a message reaches its consumer's queue."""

    SQS = "sqs"  # Amazon sends to an SQS destination: the queue itself
    EVENTBRIDGE = "eventbridge"  # Amazon's EventBridge destination, the partner bus, then a rule
    SCHEDULE = "schedule"  # the stack's own EventBridge schedule
    DIRECT = "direct"  # the seller's own systems send to the queue (IAM in this account)


class Subscription(NamedTuple):
    """How ``sellerstream subscribe`` subscribes a seller to a type (Amazon's Notifications API)."""

    payload_version: str
    processing_directive: Mapping[str, Any] | None = None


class Stored(NamedTuple):
    """What the generic consumer keeps of a type: one item per natural key, the newest change wins.

    Paths are dotted, into the payload as Amazon spells it (or into each element of ``each``)."""

    detail_type: str  # the event on SellerStream's bus when a newer one is stored
    key: tuple[tuple[str, str], ...] = ()  # (name, path) of each key part; (): every notification is one
    seller: str | None = None  # the seller's (or vendor account's) id; None: the subscription's seller
    version: str | None = None  # the payload's own time of the change; None: the envelope's EventTime
    each: str | None = None  # a list in the payload whose every element is one entity
    # With ``each``: key parts read from the payload around the list (they come first in the key);
    # an element's data then carries the payload's other fields beside its own.
    parent_key: tuple[tuple[str, str], ...] = ()
    retention_days: int = 30  # items expire (TTL) this long after the change they hold


class MessageType(NamedTuple):
    name: str  # Amazon's spelling (our own for SCHEDULED_EVENT and SHIPMENT_REQUEST)
    transport: Transport
    model: str  # "module:Class" that parses it, imported when the first such body arrives
    # The envelope and payload versions its model reads (a minor version more is read too; another
    # major version is parked): () for our own messages, which carry none.
    notification_versions: tuple[str, ...] = ()
    payload_versions: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()  # other names meaning this type (a typo in Amazon's schema)
    subscription: Subscription | None = None  # None: not a seller's subscription
    # A type without a model of its own: Amazon's JSON Schema of it (notifications/schemas/) and
    # what the generic consumer stores of it.
    schema: str | None = None
    stored: Stored | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.spellings)


class Sizing(NamedTuple):
    """One function's timeout and memory, and (consumers) its event source mapping."""

    timeout_seconds: int
    memory_mb: int
    batch_size: int = 1
    batching_window_seconds: int = 0
    max_concurrency: int = 2

    @property
    def visibility_timeout_seconds(self) -> int:
        # AWS's guidance for SQS event sources: a record is never visible again while a retrying
        # invocation still holds it.
        return self.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR


class LocalIndex(NamedTuple):
    """A local secondary index: the table's items of one partition ordered by a number attribute
    (only the items that have it), every attribute projected."""

    name: str
    sort_key: str


class Table(NamedTuple):
    role: str  # what the stack, local mode and the grants call it
    construct_id: str
    output: str  # the stack output holding its name
    partition_key: str = "pk"
    sort_key: str | None = None
    ttl_attribute: str | None = None
    retain: bool = True  # holds what cannot be fetched again (False: safe to recreate)
    # Days of point-in-time recovery (AWS's maximum, 35, where nothing expires for privacy's sake;
    # None: no continuous backups, for a table whose items must be gone when their TTL says).
    recovery_days: int | None = 35
    local_index: LocalIndex | None = None

    @property
    def local_name(self) -> str:
        return f"sellerstream-{self.role.replace('_', '-')}"


class Grant(NamedTuple):
    """Actions a function may take on one resource: a table (by role), or one of RESOURCES."""

    resource: str
    actions: tuple[str, ...]


class MetricAlarm(NamedTuple):
    """An alarm on a metric the function emits (namespace SellerStream, its service dimension)."""

    suffix: str  # the alarm's id after the function's name
    metric: str
    threshold: float
    description: str
    comparison: str = ">="  # ">=", ">", "<=" or "<"
    statistic: str = "Sum"
    period_seconds: int = 300
    missing: str = "NOT_BREACHING"  # missing data: NOT_BREACHING, BREACHING, IGNORE or MISSING


class Graph(NamedTuple):
    """A dashboard graph of metrics the function emits: (metric, label) pairs."""

    title: str
    metrics: tuple[tuple[str, str], ...]


class Schedule(NamedTuple):
    """The stack's own timer, putting an EventBridge Scheduled Event on the consumer's queue."""

    construct_id: str
    interval_hours: int
    description: str


class ChangeEvent(NamedTuple):
    """An event SellerStream puts on its own bus when a conditional write stored a newer version of
    an entity: read from the table's change stream (``logic.change_events``), never from the writer,
    so a function dying between its write and its acknowledgement loses no event."""

    detail_type: str  # "Order Changed": what the event's detail-type says
    table: Table  # where the entity is stored: its change stream is read
    sort_prefix: str  # which of the table's items are this entity (its sort key starts so)
    describe: str  # "module:function" building the detail's parts from the old and new item
    schema_version: int = 1  # the detail's JSON Schema: docs/events/<schema>.v<schema_version>.json
    schema: str | None = None  # a schema several events share (the generic types'); None: the slug

    @property
    def slug(self) -> str:
        return self.detail_type.lower().replace(" ", "-")

    @property
    def schema_file(self) -> str:
        return f"{self.schema or self.slug}.v{self.schema_version}.json"


class Consumer(NamedTuple):
    """One queue (with its DLQ) and the function that consumes it."""

    name: str  # construct id, alarm prefix, "<name>LogGroupName" / "<name>FunctionName" outputs
    kind: str  # the queue's short name: CLI arguments, local queue names, SP-API destination names
    queue: str  # construct id "<queue>Queue", outputs "<queue>QueueArn", "<queue>QueueUrl", ...
    service_name: str  # POWERTOOLS_SERVICE_NAME: the metrics' service dimension
    handler: str
    settings: type[config.Settings]
    types: tuple[MessageType, ...]
    sizing: Sizing
    grants: tuple[Grant, ...]
    description: str
    # Alarm when the 95th percentile of event-to-store lag stays above this (the type falls behind;
    # None: no lag alarm, for a consumer whose waits its backlog alarm already sees).
    lag_alarm_p95_seconds: int | None = 15 * 60
    # Alarm when nothing arrived for this many hours (0: none; context key no_notifications_alarm_hours
    # sets one value for every consumer that expects messages).
    quiet_alarm_hours: int = 24
    alarms: tuple[MetricAlarm, ...] = ()
    graphs: tuple[Graph, ...] = ()
    schedule: Schedule | None = None
    emits: tuple[ChangeEvent, ...] = ()  # the events its writes cause (published from the stream)

    @property
    def accepts(self) -> frozenset[str]:
        return frozenset(name for message_type in self.types for name in message_type.names)

    def enabled(self, notification_types: frozenset[str] | None) -> Consumer:
        """This consumer with only the types a deployment enabled (``enabled_types``); None: all.
        The types that are no seller's subscription (the app's own, schedules) stay."""
        if notification_types is None:
            return self
        kept = tuple(t for t in self.types if t.subscription is None or t.name in notification_types)
        return self._replace(types=kept)

    @property
    def transports(self) -> frozenset[Transport]:
        return frozenset(message_type.transport for message_type in self.types)

    def expects_messages(self, *, partner_bus: bool) -> bool:
        """Whether silence means trouble: Amazon's SQS types, a schedule, or EventBridge types once
        the partner bus exists; never what the seller's systems send when the seller ships, nor
        what comes only when the seller asks for it (``quiet_alarm_hours`` 0: feeds, offers)."""
        return self.quiet_alarm_hours > 0 and bool(
            self.transports & {Transport.SQS, Transport.SCHEDULE}
            or (partner_bus and Transport.EVENTBRIDGE in self.transports)
        )

    @property
    def outputs(self) -> ConsumerOutputs:
        return ConsumerOutputs(
            queue_arn=f"{self.queue}QueueArn",
            queue_url=f"{self.queue}QueueUrl",
            dead_letter_queue_url=f"{self.queue}DeadLetterQueueUrl",
            log_group=f"{self.name}LogGroupName",
            function=f"{self.name}FunctionName",
        )


class ConsumerOutputs(NamedTuple):
    queue_arn: str
    queue_url: str
    dead_letter_queue_url: str
    log_group: str
    function: str


class Job(NamedTuple):
    """A function invoked by a schedule or by hand rather than fed by a queue."""

    name: str
    service_name: str
    handler: str
    settings: type[config.Settings]
    sizing: Sizing
    grants: tuple[Grant, ...]
    description: str
    alarms: tuple[MetricAlarm, ...] = ()
    graphs: tuple[Graph, ...] = ()
    orders_api_versions: tuple[str, ...] = config.ORDERS_API_VERSIONS  # deployed only with these
    emits: tuple[ChangeEvent, ...] = ()

    @property
    def outputs(self) -> tuple[str, str]:
        """(function name output, log group output)"""
        return f"{self.name}FunctionName", f"{self.name}LogGroupName"


VISIBILITY_TIMEOUT_FACTOR: Final = 6
MAX_RECEIVE_COUNT: Final = 5
# SQS's maximum: a throttled record is deferred (as a delayed copy) for as long as the notification
# stays within this retention, so a backlog of any length up to it drains without dead letters.
QUEUE_RETENTION_DAYS: Final = 14
DLQ_RETENTION_DAYS: Final = 14
IDEMPOTENCY_EXPIRES_AFTER_SECONDS: Final = 7 * 24 * 3600
# Alarm (and warn in the log) when the LWA client secret expires within this many days and no newer
# secret has arrived; Amazon keeps an old secret working seven days after a rotation.
LWA_SECRET_EXPIRY_WARNING_DAYS: Final = 14


class StackOutputs:
    """The stack's own outputs (a consumer's and a table's are derived from them): stable logical ids
    that the operator's commands read."""

    LWA_APP_SECRET_ARN: Final = "LwaAppSecretArn"
    SELLER_SECRET_PREFIX: Final = "SellerSecretPrefix"
    ALARM_TOPIC_ARN: Final = "AlarmTopicArn"
    DASHBOARD_URL: Final = "DashboardUrl"
    REPORTS_BUCKET: Final = "ReportsBucketName"
    PARTNER_EVENT_BUS: Final = "PartnerEventBusName"
    # The types the deployment takes (context key notification_types), comma-separated.
    NOTIFICATION_TYPES: Final = "NotificationTypes"
    # The processing directive each enabled type is subscribed with (context key
    # processing_directives, else the catalog's), as compact JSON by type; a type with none is absent.
    PROCESSING_DIRECTIVES: Final = "ProcessingDirectives"
    # The partner bus rule (EventBridge types to their consumer's queue) and its own DLQ.
    EVENTBRIDGE_RULE_ARN: Final = "ListingsRuleArn"
    EVENTBRIDGE_RULE_DLQ_URL: Final = "ListingsRuleDeadLetterQueueUrl"
    # Every partner event source the stack associates (one bus and rule each; the first one's are
    # the three outputs above, and one rule DLQ serves them all), as a compact JSON list.
    PARTNER_EVENT_SOURCES: Final = "PartnerEventSources"
    # The onboarding API (context key onboarding): where a seller starts authorising the application,
    # and the redirect URI to register for it in the Developer Console.
    ONBOARDING_LOGIN_URL: Final = "OnboardingLoginUrl"
    ONBOARDING_REDIRECT_URL: Final = "OnboardingRedirectUrl"
    # IAM managed policies for the people running ``sellerstream``: every command, or only reads.
    OPERATOR_POLICY_ARN: Final = "OperatorPolicyArn"
    READ_ONLY_OPERATOR_POLICY_ARN: Final = "ReadOnlyOperatorPolicyArn"


# -- tables and other resources ------------------------------------------------------------------

# Amazon's Data Protection Policy: buyer data no longer than 30 days after the order's delivery, in
# backups too. DynamoDB deletes an expired item within about two days of its TTL, and a table's
# point-in-time recovery keeps what it deletes restorable for its window: so buyer data's TTL is set
# that much earlier.
BUYER_DATA_DAYS_AFTER_DELIVERY: Final = 30
TTL_DELETION_DAYS: Final = 2
ORDERS_RECOVERY_DAYS: Final = 7
PII_TTL_DAYS_AFTER_DELIVERY: Final = BUYER_DATA_DAYS_AFTER_DELIVERY - ORDERS_RECOVERY_DAYS - TTL_DELETION_DAYS

# Orders: a seller's orders are one query (pk), PII lives in its own item with a TTL; packages beside.
ORDERS_TABLE: Final = Table(
    "orders",
    "OrdersTable",
    "OrdersTableName",
    sort_key="sk",
    ttl_attribute="expires_at",
    recovery_days=ORDERS_RECOVERY_DAYS,
)
LISTINGS_TABLE: Final = Table("listings", "ListingsTable", "ListingsTableName", sort_key="sk")
REPORTS_TABLE: Final = Table("reports", "ReportsTable", "ReportsTableName", sort_key="sk")
# Report rows live in the reports bucket, in gzip blocks under REPORT_ROWS_PREFIX; this table holds
# their lookups (SKU, ASIN or order id -> row), packed into a fixed number of buckets per report.
# Both expire like the raw copy. They may hold buyer data and can be read again from the raw copy
# or Amazon: no backups, so an expired lookup is gone when DynamoDB deletes it.
REPORT_ROWS_TABLE: Final = Table(
    "report_rows",
    "ReportRowsTable",
    "ReportRowsTableName",
    sort_key="sk",
    ttl_attribute="expires_at",
    recovery_days=None,
)
REPORT_ROWS_PREFIX: Final = "rows/"  # rows/<seller>/<report id>/<first row, 10 digits>.gz
# Powertools idempotency records (its default layout), a week each: safe to recreate.
IDEMPOTENCY_TABLE: Final = Table(
    "idempotency",
    "IdempotencyTable",
    "IdempotencyTableName",
    partition_key="id",
    ttl_attribute="expiration",
    retain=False,
)
# Subscription -> seller routing and what is known about the LWA client secret.
ACCOUNTS_TABLE: Final = Table("accounts", "AccountsTable", "AccountsTableName")
# One item per Amazon rate bucket shared by every container, backlog windows, reconciliation
# checkpoints: idle items expire, and a new table starts from Amazon's default plans.
RATE_BUDGET_TABLE: Final = Table(
    "rate_budget", "RateBudgetTable", "RateBudgetTableName", ttl_attribute="expires_at", retain=False
)
# The newest state of every entity a generic type names (GENERIC_TYPES), by seller, type and key;
# items expire as each type's ``Stored.retention_days`` says, and may hold buyer data: no backups.
NOTIFICATIONS_TABLE: Final = Table(
    "notifications",
    "NotificationsTable",
    "NotificationsTableName",
    sort_key="sk",
    ttl_attribute="expires_at",
    recovery_days=None,
)
# Feeds: one head per seller and feed (getFeed and its processing report's summary), its
# per-message results beside it; expired with the type's retention.
FEEDS_TABLE: Final = Table("feeds", "FeedsTable", "FeedsTableName", sort_key="sk", ttl_attribute="expires_at")
# Per seller and SP-API region: the orders whose change is not stored yet (ids, change times and
# notification ids; no buyer data), one item per order ordered by its newest change (the index), and
# the lease of the one drainer that fetches them, with its rate buckets. Safe to recreate without
# backups: reconciliation stores whatever a lost entry stood for.
PENDING_BY_CHANGE: Final = LocalIndex("by-change", "changed")
PENDING_ORDERS_TABLE: Final = Table(
    "pending_orders",
    "PendingOrdersTable",
    "PendingOrdersTableName",
    sort_key="sk",
    retain=False,
    recovery_days=None,
    local_index=PENDING_BY_CHANGE,
)
TABLES: Final = (
    ORDERS_TABLE,
    IDEMPOTENCY_TABLE,
    LISTINGS_TABLE,
    REPORTS_TABLE,
    REPORT_ROWS_TABLE,
    ACCOUNTS_TABLE,
    RATE_BUDGET_TABLE,
    NOTIFICATIONS_TABLE,
    FEEDS_TABLE,
    PENDING_ORDERS_TABLE,
)
# Resources a Grant may name besides the tables.
REPORTS_BUCKET: Final = "reports_bucket"  # raw report documents, under REPORTS_PREFIX
REPORTS_PREFIX: Final = "reports/"
APP_SECRET: Final = "app_secret"  # the LWA app secret
SELLER_SECRETS: Final = "seller_secrets"  # the secrets under the seller prefix
SECRETS_LIST: Final = "secrets_list"  # ListSecrets (which sellers exist): no resource scope
RESOURCES: Final = frozenset({REPORTS_BUCKET, APP_SECRET, SELLER_SECRETS, SECRETS_LIST}) | {
    table.role for table in TABLES
}

GET, PUT, UPDATE, DELETE = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
READ_SECRET: Final = ("secretsmanager:GetSecretValue",)
# What every consumer does: idempotency records, vendors' subscriptions routed to their seller (and
# a seller's region recorded as deauthorised when LWA refuses its token), the rate budget all
# containers share.
CONSUMER_GRANTS: Final = (
    Grant(IDEMPOTENCY_TABLE.role, (GET, PUT, UPDATE, DELETE)),
    Grant(ACCOUNTS_TABLE.role, (GET, UPDATE)),
    Grant(RATE_BUDGET_TABLE.role, (GET, PUT, UPDATE)),
)
# An order stored from Amazon's answer: the conditional put, the PII item updated part by part.
ORDER_WRITES: Final = (PUT, UPDATE, "dynamodb:ConditionCheckItem")
# Draining pending orders: an order's entry read (BatchGetItem), then written (UpdateItem: newest
# change wins) and deleted on a condition, read by change (Query on the table's index); the
# drainer's lease read (GetItem), then taken and released (UpdateItem).
PENDING_ORDER_DRAINS: Final = (GET, UPDATE, DELETE, "dynamodb:Query", "dynamodb:BatchGetItem")

# -- the events SellerStream emits ---------------------------------------------------------------

# The ``source`` of every event on SellerStream's bus (``sellerstream-<stage>``).
EVENT_SOURCE: Final = "sellerstream"
ORDER_CHANGED: Final = ChangeEvent(
    "Order Changed", ORDERS_TABLE, "ORDER#", "sellerstream.logic.event_details:order_changed"
)
LISTING_CHANGED: Final = ChangeEvent(
    "Listing Changed", LISTINGS_TABLE, "SKU#", "sellerstream.logic.event_details:listing_changed"
)
# The stored version's issues read again, or its seller-fulfilled quantity updated: the same
# listing version (Amazon's lastUpdatedDate stays), so events of their own, each versioned by its
# own moment; their detail is shaped as Listing Changed's.
LISTING_ISSUES_CHANGED: Final = ChangeEvent(
    "Listing Issues Changed",
    LISTINGS_TABLE,
    "SKU#",
    "sellerstream.logic.event_details:listing_issues_changed",
    schema="listing-changed",
)
LISTING_QUANTITY_CHANGED: Final = ChangeEvent(
    "Listing Quantity Changed",
    LISTINGS_TABLE,
    "SKU#",
    "sellerstream.logic.event_details:listing_quantity_changed",
    schema="listing-changed",
)
REPORT_READY: Final = ChangeEvent(
    "Report Ready", REPORTS_TABLE, "REPORT#", "sellerstream.logic.event_details:report_ready"
)
SHIPMENT_CONFIRMED: Final = ChangeEvent(
    "Shipment Confirmed", ORDERS_TABLE, "PACKAGE#", "sellerstream.logic.event_details:shipment_confirmed"
)
FEED_PROCESSED: Final = ChangeEvent(
    "Feed Processed", FEEDS_TABLE, "FEED#", "sellerstream.domain.feeds:feed_processed"
)

# -- the message types ---------------------------------------------------------------------------

ORDER_CHANGE: Final = MessageType(
    "ORDER_CHANGE",
    Transport.SQS,
    "sellerstream.notifications.order_change:OrderChangeNotification",
    notification_versions=("1.0",),
    payload_versions=("1.0",),
    subscription=Subscription(
        "1.0",
        {
            "eventFilter": {
                "eventFilterType": "ORDER_CHANGE",
                "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
            }
        },
    ),
)
LISTINGS_ITEM_STATUS_CHANGE: Final = MessageType(
    "LISTINGS_ITEM_STATUS_CHANGE",
    Transport.EVENTBRIDGE,
    "sellerstream.notifications.listings_item_status_change:ListingsItemStatusChangeNotification",
    notification_versions=("1.0",),
    payload_versions=("1.0",),
    # Amazon's JSON schema spells it with a trailing D; real traffic and Amazon's example do not.
    spellings=("LISTINGS_ITEM_STATUS_CHANGED",),
    subscription=Subscription("1.0"),
)
REPORT_PROCESSING_FINISHED: Final = MessageType(
    "REPORT_PROCESSING_FINISHED",
    Transport.SQS,
    "sellerstream.notifications.report_processing_finished:ReportProcessingFinishedNotification",
    notification_versions=("2020-09-04",),
    payload_versions=("2020-09-04",),
    subscription=Subscription("2020-09-04"),
)
LISTINGS_ITEM_ISSUES_CHANGE: Final = MessageType(
    "LISTINGS_ITEM_ISSUES_CHANGE",
    Transport.EVENTBRIDGE,
    "sellerstream.notifications.listings_item_issues_change:ListingsItemIssuesChangeNotification",
    notification_versions=("1.0",),
    # One model reads both payloads (the same fields); Amazon deprecated 1.0 for new subscriptions.
    payload_versions=("1.0", "2023-12-13"),
    subscription=Subscription("2023-12-13"),
)
LISTINGS_ITEM_MFN_QUANTITY_CHANGE: Final = MessageType(
    "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    Transport.EVENTBRIDGE,
    "sellerstream.notifications.listings_item_mfn_quantity_change:ListingsItemMfnQuantityChangeNotification",
    notification_versions=("1.0",),
    payload_versions=("1.0",),
    subscription=Subscription("1.0"),
)
FEED_PROCESSING_FINISHED: Final = MessageType(
    "FEED_PROCESSING_FINISHED",
    Transport.SQS,
    "sellerstream.notifications.feed_processing_finished:FeedProcessingFinishedNotification",
    notification_versions=("2020-09-04",),
    payload_versions=("2020-09-04",),
    subscription=Subscription("2020-09-04"),
)
# The application's own notifications: registered in the Developer Console, not per seller.
APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY: Final = MessageType(
    "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
    Transport.SQS,
    "sellerstream.notifications.application_oauth:ApplicationOAuthClientSecretExpiryNotification",
    notification_versions=("1.0",),
    payload_versions=("2023-11-30",),
)
APPLICATION_OAUTH_CLIENT_NEW_SECRET: Final = MessageType(
    "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
    Transport.SQS,
    "sellerstream.notifications.application_oauth:ApplicationOAuthClientNewSecretNotification",
    notification_versions=("1.0",),
    payload_versions=("2023-11-30",),
)
SCHEDULED_EVENT: Final = MessageType(
    "SCHEDULED_EVENT", Transport.SCHEDULE, "sellerstream.notifications.scheduled_event:ScheduledEvent"
)
SHIPMENT_REQUEST: Final = MessageType(
    "SHIPMENT_REQUEST", Transport.DIRECT, "sellerstream.notifications.shipment_request:ShipmentRequest"
)


# Amazon's other types, each read through its JSON Schema and stored by its natural key. Transports
# are Amazon's: the listings family and the catalog's item types through EventBridge only, the rest
# through SQS. Left out: SHIPMENT_TRACKING_MILESTONE_CHANGED and B2B_ANY_OFFER_CHANGED, whose
# published schemas cannot be read (a reference to nothing; "#ref" for "$ref", and no example).
def _generic(
    name: str,
    transport: Transport,
    schema: str,
    version: str,
    stored: Stored,
    *,
    notification_version: str | None = None,
) -> MessageType:
    return MessageType(
        name,
        transport,
        "sellerstream.notifications.generic:GenericNotification",
        notification_versions=(notification_version or version,),
        payload_versions=(version,),
        subscription=Subscription(version),
        schema=schema,
        stored=stored,
    )


_OFFER = "AnyOfferChangedNotification"
_FULFILLMENT = "FulfillmentOrderStatusNotification"
GENERIC_TYPES: Final = (
    _generic(
        "ANY_OFFER_CHANGED",
        Transport.SQS,
        "AnyOfferChangedNotification.json",
        "1.0",
        Stored(
            "Any Offer Changed",
            key=(
                ("marketplace_id", f"{_OFFER}.OfferChangeTrigger.MarketplaceId"),
                ("asin", f"{_OFFER}.OfferChangeTrigger.ASIN"),
                ("item_condition", f"{_OFFER}.OfferChangeTrigger.ItemCondition"),
            ),
            seller=f"{_OFFER}.SellerId",
            version=f"{_OFFER}.OfferChangeTrigger.TimeOfOfferChange",
            retention_days=7,
        ),
    ),
    _generic(
        "PRICING_HEALTH",
        Transport.SQS,
        "PricingHealthNotification.json",
        "1.0",
        Stored(
            "Pricing Health Changed",
            key=(
                ("marketplace_id", "offerChangeTrigger.marketplaceId"),
                ("asin", "offerChangeTrigger.asin"),
                ("item_condition", "offerChangeTrigger.itemCondition"),
                ("issue_type", "issueType"),
            ),
            seller="sellerId",
            version="offerChangeTrigger.timeOfOfferChange",
            retention_days=7,
        ),
    ),
    _generic(
        "FBA_INVENTORY_AVAILABILITY_CHANGES",
        Transport.SQS,
        "FBAInventoryAvailabilityChangeNotification.json",
        "1.0",
        # The payload is the SKU's whole FBA inventory, one entry per marketplace: one entity each.
        Stored(
            "Inventory Changed",
            parent_key=(("sku", "SKU"), ("fnsku", "FNSKU")),
            key=(("marketplace_id", "MarketplaceId"),),
            seller="SellerId",
            each="FulfillmentInventoryByMarketplace",
        ),
    ),
    _generic(
        "FBA_OUTBOUND_SHIPMENT_STATUS",
        Transport.SQS,
        "FBAOutboundShipmentStatusNotification.json",
        "1.0",
        Stored(
            "FBA Outbound Shipment Changed",
            key=(
                ("amazon_order_id", "FBAOutboundShipmentStatusNotification.AmazonOrderId"),
                ("amazon_shipment_id", "FBAOutboundShipmentStatusNotification.AmazonShipmentId"),
            ),
            seller="FBAOutboundShipmentStatusNotification.SellerId",
        ),
    ),
    _generic(
        "FULFILLMENT_ORDER_STATUS",
        Transport.SQS,
        "FulfillmentOrderStatusNotification.json",
        "1.0",
        Stored(
            "Fulfillment Order Changed",
            key=(("seller_fulfillment_order_id", f"{_FULFILLMENT}.SellerFulfillmentOrderId"),),
            seller=f"{_FULFILLMENT}.SellerId",
            version=f"{_FULFILLMENT}.StatusUpdatedDateTime",
        ),
    ),
    _generic(
        "FEE_PROMOTION",
        Transport.SQS,
        "FeePromotionNotification.json",
        "1.0",
        Stored(
            "Fee Promotion Changed",
            key=(
                ("marketplace_id", "FeePromotionNotification.MarketplaceId"),
                ("fee_promotion_type", "FeePromotionNotification.FeePromotionType"),
            ),
            seller="FeePromotionNotification.MerchantId",
        ),
    ),
    _generic(
        "TRANSACTION_UPDATE",
        Transport.SQS,
        "TransactionUpdateNotification.json",
        "1.0",
        # A transaction has no id of its own in the payload: every notification is one entity.
        Stored(
            "Transaction Posted",
            seller="TransactionUpdateNotification.SellingPartnerMetadata.SellingPartnerId",
            version="TransactionUpdateNotification.PostedDate",
            retention_days=90,
        ),
    ),
    _generic(
        "DATA_KIOSK_QUERY_PROCESSING_FINISHED",
        Transport.SQS,
        "DataKioskQueryProcessingFinishedNotification.json",
        "2023-11-15",
        Stored("Data Kiosk Query Finished", key=(("query_id", "queryId"),), seller="accountId"),
    ),
    _generic(
        "DETAIL_PAGE_TRAFFIC_EVENT",
        Transport.SQS,
        "DetailPageTrafficEventNotification.json",
        "2020-09-04",
        Stored(
            "Detail Page Traffic Changed",
            key=(("marketplace_id", "marketplaceId"), ("asin", "asin"), ("start_time", "startTime")),
            seller="accountId",
            version="endTime",
            each="detailPageTrafficEvents",
        ),
    ),
    _generic(
        "ITEM_INVENTORY_EVENT_CHANGE",
        Transport.SQS,
        "ItemInventoryEventChangeNotification.json",
        "2020-09-04",
        Stored(
            "Item Inventory Changed",
            key=(("marketplace_id", "marketplaceId"), ("asin", "asin"), ("start_time", "startTime")),
            seller="accountId",
            version="endTime",
            each="itemInventoryEventChanges",
        ),
    ),
    _generic(
        "ITEM_SALES_EVENT_CHANGE",
        Transport.SQS,
        "ItemSalesEventChangeNotification.json",
        "2020-09-04",
        Stored(
            "Item Sales Changed",
            key=(("marketplace_id", "marketplaceId"), ("asin", "asin"), ("start_time", "startTime")),
            seller="accountId",
            version="endTime",
            each="itemSalesEventChanges",
        ),
    ),
    _generic(
        "BRANDED_ITEM_CONTENT_CHANGE",
        Transport.EVENTBRIDGE,
        "BrandedItemContentChangeNotification.json",
        "1.0",
        Stored("Branded Item Content Changed", key=(("marketplace_id", "MarketplaceId"), ("asin", "Asin"))),
    ),
    _generic(
        "ITEM_PRODUCT_TYPE_CHANGE",
        Transport.EVENTBRIDGE,
        "ItemProductTypeChangeNotification.json",
        "1.0",
        Stored("Item Product Type Changed", key=(("marketplace_id", "MarketplaceId"), ("asin", "Asin"))),
    ),
    _generic(
        "PRODUCT_TYPE_DEFINITIONS_CHANGE",
        Transport.EVENTBRIDGE,
        "ProductTypeDefinitionsChangeNotification.json",
        "1.0",
        Stored(
            "Product Type Definitions Changed",
            key=(("marketplace_id", "MarketplaceId"),),
            seller="AccountId",
        ),
    ),
)

GENERIC_BY_NAME: Final = {message_type.name: message_type for message_type in GENERIC_TYPES}


def _stored_change(message_type: MessageType) -> ChangeEvent:
    """The event of a generic type: ``<what> Changed`` when a newer state of an entity is stored."""
    assert message_type.stored is not None
    return ChangeEvent(
        message_type.stored.detail_type,
        NOTIFICATIONS_TABLE,
        f"{message_type.name}#",
        "sellerstream.domain.notifications:notification_changed",
        schema="notification-changed",
    )


# The partner bus has one rule and one queue: the generic EventBridge types (catalog items, product
# types: a few a day) share the listings consumer's. The noisiest type has a consumer of its own so
# a burst of offers never delays anything else; the other SQS types share one.
_EVENTBRIDGE_GENERIC: Final = tuple(t for t in GENERIC_TYPES if t.transport is Transport.EVENTBRIDGE)
ANY_OFFER_CHANGED: Final = GENERIC_BY_NAME["ANY_OFFER_CHANGED"]
_SQS_GENERIC: Final = tuple(
    t for t in GENERIC_TYPES if t.transport is Transport.SQS and t is not ANY_OFFER_CHANGED
)

# -- the consumers -------------------------------------------------------------------------------

CONSUMERS: Final = (
    Consumer(
        name="OrderChange",
        kind="orders",
        queue="Orders",
        service_name="order-change",
        handler="sellerstream.handlers.order_change.lambda_handler",
        settings=config.OrderChangeSettings,
        types=(ORDER_CHANGE,),
        # getOrder allows 0.5 req/s with a burst of 30 per seller: small batches and capped
        # concurrency keep a Prime Day burst inside the bucket instead of burning receives on 429s.
        sizing=Sizing(
            timeout_seconds=30, memory_mb=512, batch_size=10, batching_window_seconds=5, max_concurrency=5
        ),
        # BatchGetItem: what is stored already, so a notification no newer than it costs no call.
        grants=(
            *CONSUMER_GRANTS,
            Grant(ORDERS_TABLE.role, (*ORDER_WRITES, "dynamodb:BatchGetItem")),
            Grant(PENDING_ORDERS_TABLE.role, PENDING_ORDER_DRAINS),
        ),
        description="SellerStream order-change consumer",
        emits=(ORDER_CHANGED,),
        quiet_alarm_hours=12,
        alarms=(
            # The queue no longer holds the backlog (a change is acknowledged once pending): its
            # oldest-message alarm cannot see a seller's orders waiting, this one does.
            MetricAlarm(
                "PendingOrders",
                metric_names.PENDING_ORDER_AGE,
                threshold=3600,
                statistic="Maximum",
                description="a seller's oldest order change has waited an hour for its drainer (a "
                "Prime Day backlog at the Orders rate plan, or a drain failing: see the function's log)",
            ),
        ),
        graphs=(
            Graph(
                "calls saved, lagging reads, backlog pages",
                (
                    (metric_names.NOTIFICATIONS_SKIPPED, "skipped (already stored)"),
                    (metric_names.NOTIFICATIONS_COALESCED, "coalesced"),
                    (metric_names.STALE_CALLBACKS, "lagging reads"),
                    (metric_names.BACKLOG_SEARCH_PAGES, "backlog pages"),
                    (metric_names.BACKLOG_ORDERS_STORED, "backlog orders stored"),
                ),
            ),
        ),
    ),
    Consumer(
        name="ListingStatus",
        kind="listings",
        queue="Listings",
        service_name="listing-status",
        handler="sellerstream.handlers.listing_status.lambda_handler",
        settings=config.ListingStatusSettings,
        # Everything Amazon sends through EventBridge: the listings family, and the catalog's item
        # and product-type changes (generic).
        types=(
            LISTINGS_ITEM_STATUS_CHANGE,
            LISTINGS_ITEM_ISSUES_CHANGE,
            LISTINGS_ITEM_MFN_QUANTITY_CHANGE,
            *_EVENTBRIDGE_GENERIC,
        ),
        # getListingsItem allows 5 req/s with a burst of 10 per seller.
        sizing=Sizing(
            timeout_seconds=30, memory_mb=256, batch_size=10, batching_window_seconds=5, max_concurrency=5
        ),
        # UpdateItem on the accounts table: a seller's marketplaces, fetched when an event without
        # a marketplace finds them missing. GetItem and BatchGetItem: the stored listing an issues
        # refresh or a quantity updates.
        grants=(
            *CONSUMER_GRANTS,
            Grant(LISTINGS_TABLE.role, (GET, PUT, UPDATE, "dynamodb:BatchGetItem")),
            Grant(NOTIFICATIONS_TABLE.role, (PUT,)),
        ),
        description="SellerStream listings consumer (and the other EventBridge types)",
        emits=(
            LISTING_CHANGED,
            LISTING_ISSUES_CHANGED,
            LISTING_QUANTITY_CHANGED,
            *(_stored_change(t) for t in _EVENTBRIDGE_GENERIC),
        ),
    ),
    Consumer(
        name="ReportFinished",
        kind="reports",
        queue="Reports",
        service_name="report-finished",
        handler="sellerstream.handlers.report_finished.lambda_handler",
        settings=config.ReportFinishedSettings,
        types=(REPORT_PROCESSING_FINISHED,),
        # A report can be hundreds of MB: one per invocation, the longest timeout Lambda allows, memory
        # for throughput (memory use itself stays flat: the document is streamed). Larger reports
        # continue in a new invocation from a checkpoint.
        sizing=Sizing(timeout_seconds=900, memory_mb=1024),
        grants=(
            *CONSUMER_GRANTS,
            Grant(REPORTS_TABLE.role, (GET, PUT)),
            Grant(REPORT_ROWS_TABLE.role, ("dynamodb:BatchWriteItem", PUT)),
            Grant(REPORTS_BUCKET, ("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload")),
        ),
        description="SellerStream report-finished consumer",
        emits=(REPORT_READY,),
        # A large report is stored over several 15-minute invocations; reports are requested, not
        # continuous, so two quiet days is the signal.
        lag_alarm_p95_seconds=60 * 60,
        quiet_alarm_hours=48,
        alarms=(
            MetricAlarm(
                "DecodeFailures",
                metric_names.REPORT_DECODE_FAILURES,
                threshold=1,
                description="a report document could not be decoded in its declared charset "
                "(raw copy kept, report recorded FAILED)",
            ),
        ),
    ),
    Consumer(
        name="FeedProcessed",
        kind="feeds",
        queue="Feeds",
        service_name="feed-processed",
        handler="sellerstream.handlers.feed_processed.lambda_handler",
        settings=config.FeedProcessedSettings,
        types=(FEED_PROCESSING_FINISHED,),
        # getFeedDocument allows one call every 45 s (burst 10) per seller: one feed per invocation,
        # two at a time; a processing report is bounded in size and parsed in memory.
        sizing=Sizing(timeout_seconds=120, memory_mb=1024, max_concurrency=2),
        grants=(*CONSUMER_GRANTS, Grant(FEEDS_TABLE.role, (GET, PUT, DELETE))),
        description="SellerStream feed-processed consumer",
        emits=(FEED_PROCESSED,),
        # Feeds are submitted, not continuous: silence says nothing.
        quiet_alarm_hours=0,
    ),
    Consumer(
        name="AnyOfferChanged",
        kind="offers",
        queue="Offers",
        service_name="any-offer-changed",
        handler="sellerstream.handlers.offers.lambda_handler",
        settings=config.NotificationsSettings,
        types=(ANY_OFFER_CHANGED,),
        # The noisiest type (one per change of any offer on a seller's ASINs, thousands a minute for
        # a large catalog) and no callback: large batches, one conditional write per notification.
        sizing=Sizing(
            timeout_seconds=60, memory_mb=256, batch_size=100, batching_window_seconds=5, max_concurrency=10
        ),
        grants=(*CONSUMER_GRANTS, Grant(NOTIFICATIONS_TABLE.role, (PUT,))),
        description="SellerStream ANY_OFFER_CHANGED consumer",
        emits=(_stored_change(ANY_OFFER_CHANGED),),
        quiet_alarm_hours=0,
    ),
    Consumer(
        name="Notifications",
        kind="notifications",
        queue="Notifications",
        service_name="notifications",
        handler="sellerstream.handlers.notifications.lambda_handler",
        settings=config.NotificationsSettings,
        types=_SQS_GENERIC,
        sizing=Sizing(
            timeout_seconds=30, memory_mb=256, batch_size=10, batching_window_seconds=5, max_concurrency=5
        ),
        grants=(*CONSUMER_GRANTS, Grant(NOTIFICATIONS_TABLE.role, (PUT,))),
        description="SellerStream consumer of the types stored as Amazon sends them",
        emits=tuple(_stored_change(t) for t in _SQS_GENERIC),
        quiet_alarm_hours=0,
    ),
    Consumer(
        name="AppCredentials",
        kind="app",
        queue="AppCredentials",
        service_name="app-credentials",
        handler="sellerstream.handlers.app_credentials.lambda_handler",
        settings=config.AppCredentialsSettings,
        # The application's LWA client secret: Amazon's notices (SQS only, registered in the Developer
        # Console) and the hourly expiry check share one small queue: a few messages a day.
        types=(APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY, APPLICATION_OAUTH_CLIENT_NEW_SECRET, SCHEDULED_EVENT),
        sizing=Sizing(timeout_seconds=30, memory_mb=256),
        grants=(
            *CONSUMER_GRANTS,
            Grant(APP_SECRET, ("secretsmanager:PutSecretValue",)),
        ),
        description="SellerStream app-credentials consumer",
        # The hourly check arrives whatever Amazon sends: six silent hours mean the schedule is broken.
        quiet_alarm_hours=6,
        # Nothing here waits as a new copy (no SP-API quota, no seller): a stuck message ages, and
        # its backlog alarm sees it.
        lag_alarm_p95_seconds=None,
        alarms=(
            # The hourly check reports the days left once the expiry is known; with no datapoint
            # (expiry not known yet, or a late check) the alarm keeps its state rather than flapping.
            MetricAlarm(
                "SecretExpiring",
                metric_names.LWA_CLIENT_SECRET_DAYS_LEFT,
                threshold=LWA_SECRET_EXPIRY_WARNING_DAYS,
                comparison="<=",
                statistic="Minimum",
                period_seconds=3600,
                missing="IGNORE",
                description=f"the application's LWA client secret expires within {LWA_SECRET_EXPIRY_WARNING_DAYS} "
                "days and no new "
                "secret has arrived: rotate it (sellerstream rotate-app-secret, or the Developer Console) "
                "and check that the new secret reaches the app-credentials queue (with "
                "auto_rotate_app_secret, the function's LwaClientSecretRotationFailures and logs say why "
                "its own rotation failed)",
            ),
        ),
        schedule=Schedule(
            "LwaSecretExpiryCheck", 1, "SellerStream: hourly check of the LWA client secret's expiry"
        ),
    ),
    Consumer(
        name="ShipmentConfirmation",
        kind="fulfillment",
        queue="Fulfillment",
        service_name="shipment-confirmation",
        handler="sellerstream.handlers.shipment_confirmation.lambda_handler",
        settings=config.ShipmentSettings,
        types=(SHIPMENT_REQUEST,),
        # confirmShipment allows 2 req/s with a burst of 10 per seller.
        sizing=Sizing(timeout_seconds=30, memory_mb=256, batch_size=10, batching_window_seconds=2),
        # Query + GetItem: the order's items and packages, strongly consistent; PutItem: a package,
        # conditional on the version it was decided on.
        grants=(*CONSUMER_GRANTS, Grant(ORDERS_TABLE.role, ("dynamodb:Query", GET, PUT))),
        description="SellerStream shipment-confirmation consumer",
        emits=(SHIPMENT_CONFIRMED,),
        quiet_alarm_hours=0,
    ),
)

# Reconciliation: per interval (context key ``reconcile_interval_minutes``), every known seller's
# orders updated since its last reconciled point (minus the overlap) are paged from searchOrders and
# stored where the table lacks them or holds an older state, and so are its listings updated since,
# from searchListingsItems in each of its marketplaces. Orders 2026-01-01 only: its records are that
# version's shape.
RECONCILE: Final = Job(
    name="Reconcile",
    service_name="reconcile",
    handler="sellerstream.handlers.reconcile.lambda_handler",
    settings=config.ReconcileSettings,
    # Runs of the schedule and by hand share checkpoints (leased): a few at once is plenty.
    sizing=Sizing(timeout_seconds=300, memory_mb=512, max_concurrency=2),
    grants=(
        Grant(ORDERS_TABLE.role, ORDER_WRITES),
        # Listings from searchListingsItems: the same conditional put as the listing-status function's.
        Grant(LISTINGS_TABLE.role, (PUT,)),
        # Each seller's marketplaces: read, and refreshed at most once a day.
        Grant(ACCOUNTS_TABLE.role, (GET, UPDATE)),
        Grant(RATE_BUDGET_TABLE.role, (GET, PUT, UPDATE)),
        Grant(SECRETS_LIST, ("secretsmanager:ListSecrets",)),
    ),
    description="SellerStream reconciliation: orders (searchOrders) and listings (searchListingsItems) "
    "that notifications missed",
    alarms=(
        MetricAlarm(
            "SellerFailures",
            metric_names.RECONCILE_FAILURES,
            threshold=1,
            description="a seller's reconciliation failed (credentials, SP-API or DynamoDB); it resumes "
            "from its checkpoint on the next run",
        ),
    ),
    graphs=(
        Graph(
            "pages read, orders and listings refreshed, seller failures",
            (
                (metric_names.RECONCILE_PAGES, "pages"),
                (metric_names.RECONCILE_ORDERS_REFRESHED, "orders refreshed"),
                (metric_names.RECONCILE_LISTINGS_PAGES, "listings pages"),
                (metric_names.RECONCILE_LISTINGS_REFRESHED, "listings refreshed"),
                (metric_names.RECONCILE_FAILURES, "seller failures"),
            ),
        ),
    ),
    orders_api_versions=("2026-01-01",),
    emits=(ORDER_CHANGED, LISTING_CHANGED),
)
JOBS: Final = (RECONCILE,)

# The onboarding API (context key ``onboarding``, off by default): Amazon's website authorization
# workflow. API Gateway invokes it for GET /login (the consent page, with a signed state) and GET
# /redirect (Amazon's code exchanged, the (seller, region) stored and subscribed). Neither scheduled
# nor fed by a queue, so not one of JOBS (which the stack schedules).
ONBOARDING: Final = Job(
    name="Onboarding",
    service_name="onboarding",
    handler="sellerstream.handlers.onboarding.lambda_handler",
    settings=config.OnboardingSettings,
    # API Gateway gives up on an integration after 29 s (HTTP APIs' maximum): the function stops
    # first, so its own log says where the time went.
    sizing=Sizing(timeout_seconds=28, memory_mb=256),
    grants=(
        # A new (seller, region)'s secret under the seller prefix, created or overwritten (reading
        # it comes with SpApiSettings).
        Grant(
            SELLER_SECRETS,
            ("secretsmanager:DescribeSecret", "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"),
        ),
        # Subscriptions routed to their seller, the seller's marketplaces, the login's state.
        Grant(ACCOUNTS_TABLE.role, (GET, PUT, UPDATE, DELETE)),
        Grant(RATE_BUDGET_TABLE.role, (GET, PUT, UPDATE)),
    ),
    description="SellerStream onboarding: a seller authorises the application (login and redirect)",
    alarms=(
        MetricAlarm(
            "OnboardingFailures",
            metric_names.ONBOARDING_FAILURES,
            threshold=1,
            description="a seller's authorisation could not be completed (the code exchange or storing "
            "its token failed): the seller was asked to start again; the function's log says why",
        ),
    ),
    graphs=(
        Graph(
            "sellers authorised, incomplete (marketplaces or subscriptions left), refused, failed",
            (
                (metric_names.ONBOARDING_SELLERS_AUTHORIZED, "authorised"),
                (metric_names.ONBOARDING_INCOMPLETE, "incomplete"),
                (metric_names.ONBOARDING_CODES_REFUSED, "codes refused"),
                (metric_names.ONBOARDING_REQUESTS_REFUSED, "requests refused"),
                (metric_names.ONBOARDING_FAILURES, "failed"),
            ),
        ),
    ),
)


class Publisher(NamedTuple):
    """The function that reads the tables' change streams and puts SellerStream's events on its bus."""

    name: str
    service_name: str
    handler: str
    settings: type[config.Settings]
    sizing: Sizing
    grants: tuple[Grant, ...]
    description: str
    # Lambda retries a failing stream batch until its records are this old (DynamoDB keeps a
    # stream's records 24 hours), then leaves a pointer to them on the publisher's DLQ.
    max_record_age_seconds: int = 24 * 3600
    alarms: tuple[MetricAlarm, ...] = ()
    graphs: tuple[Graph, ...] = ()

    @property
    def outputs(self) -> tuple[str, str]:
        """(function name output, log group output)"""
        return f"{self.name}FunctionName", f"{self.name}LogGroupName"


CHANGE_EVENTS_PUBLISHER: Final = Publisher(
    name="ChangeEvents",
    service_name="change-events",
    handler="sellerstream.handlers.change_events.lambda_handler",
    settings=config.ChangeEventsSettings,
    # A stream batch of up to 100 records, one shard at a time in order (an entity's events leave in
    # the order its versions were stored).
    sizing=Sizing(timeout_seconds=60, memory_mb=256, batch_size=100, batching_window_seconds=1),
    # GetItem: the order's PII item, when the deployment opts in to PII in events.
    grants=(Grant(ORDERS_TABLE.role, (GET,)),),
    description="SellerStream change events: the tables' change streams to the SellerStream bus",
    # (An event EventBridge refused for good goes to the publisher's DLQ, whole: its dead-letter
    # alarm says so; the count is graphed.)
    graphs=(
        Graph(
            "change events published, unchanged writes, refused",
            (
                (metric_names.CHANGE_EVENTS_PUBLISHED, "published"),
                (metric_names.CHANGE_EVENTS_UNCHANGED, "writes that changed no version"),
                (metric_names.CHANGE_EVENTS_RETRIED, "publish retried"),
                (metric_names.CHANGE_EVENTS_DEAD_LETTERED, "dead-lettered"),
            ),
        ),
    ),
)


# -- lookups -------------------------------------------------------------------------------------


def consumer(kind: str) -> Consumer:
    for candidate in CONSUMERS:
        if candidate.kind == kind:
            return candidate
    raise KeyError(f"no consumer {kind!r}: one of {', '.join(c.kind for c in CONSUMERS)}")


def consumer_of(type_name: str) -> Consumer | None:
    """The consumer whose queue takes ``type_name`` (any of its spellings), or None."""
    return _CONSUMER_BY_TYPE.get(type_name)


def message_type(type_name: str) -> MessageType | None:
    return _TYPE_BY_NAME.get(type_name)


def message_types() -> tuple[MessageType, ...]:
    return tuple(message_type for consumer in CONSUMERS for message_type in consumer.types)


def subscribed_types() -> tuple[MessageType, ...]:
    """The types ``sellerstream subscribe`` subscribes a seller to."""
    return tuple(message_type for message_type in message_types() if message_type.subscription is not None)


# What a deployment takes unless it names its types (context key ``notification_types``).
DEFAULT_NOTIFICATION_TYPES: Final = frozenset(
    {ORDER_CHANGE.name, LISTINGS_ITEM_STATUS_CHANGE.name, REPORT_PROCESSING_FINISHED.name}
)


def enabled_types(spec: str | None) -> frozenset[str]:
    """The types a deployment takes: ``all``, or Amazon's names separated by commas; None or empty:
    ``DEFAULT_NOTIFICATION_TYPES``. Raises ``ValueError`` naming what is not a type SellerStream takes."""
    known = {t.name for t in subscribed_types()}
    if spec is None or not spec.strip():
        return DEFAULT_NOTIFICATION_TYPES
    if spec.strip().lower() == "all":
        return frozenset(known)
    named = {name.strip() for name in spec.split(",") if name.strip()}
    spelled = {name: message_type(name) for name in named}
    unknown = sorted(name for name, t in spelled.items() if t is None or t.name not in known)
    if unknown:
        raise ValueError(
            f"notification_types: {', '.join(unknown)} is no type SellerStream takes; "
            f"one or more of {', '.join(sorted(known))}, or all"
        )
    return frozenset(t.name for t in spelled.values() if t is not None)


# The types whose subscription takes a processing directive, Amazon's ``eventFilter`` (its
# Notification Type Values): its ``eventFilterType`` is the type's name, and besides it the filter
# takes these fields. ``sellerstream.processing_directives`` checks a directive against Amazon's rules.
EVENT_FILTER_FIELDS: Final = {
    "ANY_OFFER_CHANGED": ("marketplaceIds", "aggregationSettings"),
    ORDER_CHANGE.name: ("marketplaceIds", "orderChangeTypes"),
}


def processing_directives(
    types: frozenset[str], configured: Mapping[str, Mapping[str, Any] | None] | None = None
) -> dict[str, dict[str, Any]]:
    """The processing directive each of ``types`` is subscribed with, in the catalog's order: the
    configured one (already checked; None: none), else its ``Subscription``'s. A type with none is
    left out."""
    chosen = configured or {}
    directives: dict[str, dict[str, Any]] = {}
    for subscribed in subscribed_types():
        if subscribed.name not in types or subscribed.subscription is None:
            continue
        if subscribed.name in chosen:
            directive = chosen[subscribed.name]
        else:
            directive = subscribed.subscription.processing_directive
        if directive is not None:
            directives[subscribed.name] = copy.deepcopy(dict(directive))
    return directives


def enabled_consumers(types: frozenset[str]) -> tuple[Consumer, ...]:
    """The consumers a deployment of ``types`` needs, each with only its enabled types; one whose
    every seller type is disabled is not deployed (the app's own consumers always are)."""
    consumers = []
    for candidate in CONSUMERS:
        enabled = candidate.enabled(types)
        subscribed = [t for t in candidate.types if t.subscription is not None]
        if enabled.types and (not subscribed or any(t.subscription for t in enabled.types)):
            consumers.append(enabled)
    return tuple(consumers)


def eventbridge_detail_types(owner: Consumer) -> tuple[str, ...]:
    """What SP-API's events on the partner bus carry as detail-type for ``owner``'s types (the type's
    name, in every spelling): the rule matches all of them, since an unmatched event would vanish."""
    return tuple(
        name
        for message_type in owner.types
        if message_type.transport is Transport.EVENTBRIDGE
        for name in message_type.names
    )


def change_events() -> tuple[ChangeEvent, ...]:
    """Every event SellerStream emits, once each, in the order the functions declare them."""
    declared = [event for function in (*CONSUMERS, *JOBS) for event in function.emits]
    return tuple(dict.fromkeys(declared))


def change_event(detail_type: str) -> ChangeEvent:
    for candidate in change_events():
        if candidate.detail_type == detail_type:
            return candidate
    raise KeyError(f"no event {detail_type!r}: one of {', '.join(e.detail_type for e in change_events())}")


def streamed_tables() -> tuple[Table, ...]:
    """The tables whose change streams the publisher reads."""
    return tuple(dict.fromkeys(event.table for event in change_events()))


def sort_prefixes(streamed: Table) -> tuple[str, ...]:
    """The sort-key prefixes of the items whose changes ``streamed``'s events are about."""
    return tuple(dict.fromkeys(event.sort_prefix for event in change_events() if event.table == streamed))


def stream_filters(streamed: Table) -> list[dict[str, Any]]:
    """Lambda's filter pattern for ``streamed``'s change stream: inserts and modifications of the
    items whose sort key starts with one of the entities' prefixes (checkpoints, PII items, report
    rows and TTL deletions cost no invocation). One pattern whatever the number of prefixes (Lambda
    allows five per mapping). Local mode applies the same pattern."""
    if streamed.sort_key is None:
        raise ValueError(f"table {streamed.role!r} has no sort key: its entities cannot be told apart")
    prefixes = [{"prefix": prefix} for prefix in sort_prefixes(streamed)]
    return [{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {streamed.sort_key: {"S": prefixes}}}}]


def generic_type(type_name: str) -> MessageType | None:
    """A type the generic consumer reads through its schema (``GENERIC_TYPES``), or None."""
    return GENERIC_BY_NAME.get(type_name)


def table(role: str) -> Table:
    for candidate in TABLES:
        if candidate.role == role:
            return candidate
    raise KeyError(f"no table {role!r}")


_CONSUMER_BY_TYPE: Final = {name: c for c in CONSUMERS for t in c.types for name in t.names}
_TYPE_BY_NAME: Final = {name: t for c in CONSUMERS for t in c.types for name in t.names}
