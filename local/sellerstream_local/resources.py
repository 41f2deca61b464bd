"""The stack's queues, DLQs, tables and rules, created in moto from the same catalog.

Local mode cannot run CloudFormation, so this builds what ``stacks/`` declares from the catalog the
stack reads: one queue and DLQ per consumer, the same tables (keys, TTL, index, a change stream on
each table the change-events publisher reads), the same redrive (maxReceiveCount), the partner bus
rule's pattern, SellerStream's own bus with the publisher's DLQ. Time-based settings are scaled down
so that a retry cycle takes seconds, not minutes.

What a user would add downstream is here too, as local stand-ins: an "events sink" queue that a rule
on SellerStream's bus feeds (every event, read back as a subscriber reads it), and the connection
and API destination of a webhook (``create_webhook_destination``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sellerstream import catalog
from stacks import constants


@dataclass(frozen=True)
class LocalQueue:
    name: str
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
    visibility_timeout_seconds: int


@dataclass(frozen=True)
class LocalChangeEvents:
    """SellerStream's bus and what hangs off it locally."""

    bus_name: str
    bus_arn: str
    dead_letter_queue_url: str  # the publisher's DLQ (events EventBridge refused for good)
    dead_letter_queue_arn: str
    sink_rule: str  # every SellerStream event to the sink queue: a subscriber's view
    sink_queue_url: str
    sink_queue_arn: str
    # by table role (catalog.streamed_tables): the table's latest stream ARN
    streams: dict[str, str]


@dataclass(frozen=True)
class WebhookDestination:
    """A webhook as EventBridge reaches it: an API destination over a connection (API key auth)."""

    name: str
    arn: str
    connection_name: str
    connection_arn: str
    endpoint: str


@dataclass(frozen=True)
class LocalResources:
    # by consumer kind (catalog): orders, listings, reports, app, fulfillment
    queues: dict[str, LocalQueue]
    # by table role (catalog): orders, listings, reports, report_rows, idempotency, accounts, rate_budget
    tables: dict[str, str]
    reports_bucket: str
    event_bus: str
    listings_rule: str
    change_events: LocalChangeEvents


# moto cannot put a rule on a bus whose name holds "/" (a partner bus): a plain name stands in.
LOCAL_EVENT_BUS = "sellerstream-local-partner-bus"
LOCAL_EVENT_SOURCE = f"{constants.PARTNER_EVENT_SOURCE_PREFIX}/amzn1.sellerapps.app.local"
# SellerStream's own bus (the stack's is ``sellerstream-<stage>``), the publisher's DLQ, and the
# local subscriber: a rule matching every SellerStream event, to a queue.
LOCAL_SELLERSTREAM_BUS = "sellerstream-local"
CHANGE_EVENTS_DLQ = "sellerstream-change-events-dlq"
EVENTS_SINK_RULE = "sellerstream-local-events-sink"
EVENTS_SINK_QUEUE = "sellerstream-local-events-sink"
# DynamoDB's view type for the streamed tables: the publisher compares the item before and after.
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


def create_queue(sqs: Any, name: str, visibility_timeout_seconds: int) -> LocalQueue:
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": str(catalog.DLQ_RETENTION_DAYS * 86400)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(catalog.MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "MessageRetentionPeriod": str(catalog.QUEUE_RETENTION_DAYS * 86400),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return LocalQueue(name, url, arn, dlq_url, dlq_arn, visibility_timeout_seconds)


def create_table(
    dynamodb: Any,
    name: str,
    partition_key: str,
    sort_key: str | None,
    ttl_attribute: str | None,
    *,
    stream: bool = False,
    local_index: catalog.LocalIndex | None = None,
) -> str:
    """A table like the stack's; ``stream``: with a change stream of new and old images."""
    key_schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    attributes = {partition_key: "S"}
    if sort_key:
        key_schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes[sort_key] = "S"
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
    if local_index is not None:
        attributes[local_index.sort_key] = "N"
        extra["LocalSecondaryIndexes"] = [
            {
                "IndexName": local_index.name,
                "KeySchema": [
                    {"AttributeName": partition_key, "KeyType": "HASH"},
                    {"AttributeName": local_index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    dynamodb.create_table(
        TableName=name,
        KeySchema=key_schema,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return name


def create_catalog_table(
    dynamodb: Any, table: catalog.Table, name: str | None = None, *, stream: bool = False
) -> str:
    """``table`` as the stack declares it (keys, expiry, index), named ``name`` or its local name."""
    return create_table(
        dynamodb,
        name or table.local_name,
        table.partition_key,
        table.sort_key,
        table.ttl_attribute,
        stream=stream,
        local_index=table.local_index,
    )


def create_catalog_tables(dynamodb: Any) -> dict[str, str]:
    """Every table of the catalog, by role, as the stack declares it (streamed tables with their stream)."""
    streamed = {table.role for table in catalog.streamed_tables()}
    return {
        table.role: create_catalog_table(dynamodb, table, stream=table.role in streamed)
        for table in catalog.TABLES
    }


def create_resources(
    sqs: Any, dynamodb: Any, s3: Any, events: Any, visibility_timeout_seconds: int
) -> LocalResources:
    queues = {
        consumer.kind: create_queue(sqs, f"sellerstream-{consumer.kind}", visibility_timeout_seconds)
        for consumer in catalog.CONSUMERS
    }
    tables = create_catalog_tables(dynamodb)
    bucket = "sellerstream-reports-local"
    s3.create_bucket(Bucket=bucket)
    events.create_event_bus(Name=LOCAL_EVENT_BUS)
    rule = constants.LISTINGS_RULE_NAME
    # The deployed rule's own pattern: the EventBridge types' detail-types, to their consumer's queue.
    [owner] = [c for c in catalog.CONSUMERS if catalog.Transport.EVENTBRIDGE in c.transports]
    pattern = constants.partner_event_pattern(catalog.eventbridge_detail_types(owner))
    events.put_rule(Name=rule, EventBusName=LOCAL_EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=rule,
        EventBusName=LOCAL_EVENT_BUS,
        Targets=[{"Id": f"{owner.kind}-queue", "Arn": queues[owner.kind].arn}],
    )
    change_events = create_change_events(sqs, dynamodb, events, tables)
    return LocalResources(queues, tables, bucket, LOCAL_EVENT_BUS, rule, change_events)


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(
        QueueName=name, Attributes={"MessageRetentionPeriod": str(catalog.DLQ_RETENTION_DAYS * 86400)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def create_change_events(sqs: Any, dynamodb: Any, events: Any, tables: dict[str, str]) -> LocalChangeEvents:
    """SellerStream's bus, the publisher's DLQ, and the local subscriber (a rule on ``source`` to a
    queue, as a user subscribes an SQS queue: ``{"source": ["sellerstream"]}``)."""
    bus_arn = events.create_event_bus(Name=LOCAL_SELLERSTREAM_BUS)["EventBusArn"]
    dlq_url, dlq_arn = _queue(sqs, CHANGE_EVENTS_DLQ)
    sink_url, sink_arn = _queue(sqs, EVENTS_SINK_QUEUE)
    events.put_rule(
        Name=EVENTS_SINK_RULE,
        EventBusName=LOCAL_SELLERSTREAM_BUS,
        EventPattern=json.dumps({"source": [catalog.EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule=EVENTS_SINK_RULE,
        EventBusName=LOCAL_SELLERSTREAM_BUS,
        Targets=[{"Id": "events-sink", "Arn": sink_arn}],
    )
    streams = {
        table.role: str(dynamodb.describe_table(TableName=tables[table.role])["Table"]["LatestStreamArn"])
        for table in catalog.streamed_tables()
    }
    return LocalChangeEvents(
        LOCAL_SELLERSTREAM_BUS, str(bus_arn), dlq_url, dlq_arn, EVENTS_SINK_RULE, sink_url, sink_arn, streams
    )


def create_webhook_destination(
    events: Any,
    *,
    name: str,
    endpoint: str,
    api_key_header: str,
    api_key: str,
    rate_limit_per_second: int,
) -> WebhookDestination:
    """A webhook's connection (API key auth: EventBridge keeps the key in a Secrets Manager secret of
    its own) and API destination (POST to ``endpoint``), as the stack declares one from context."""
    connection = events.create_connection(
        Name=f"{name}-connection",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": api_key_header, "ApiKeyValue": api_key}},
    )
    destination = events.create_api_destination(
        Name=name,
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint,
        HttpMethod="POST",
        InvocationRateLimitPerSecond=rate_limit_per_second,
    )
    return WebhookDestination(
        name,
        str(destination["ApiDestinationArn"]),
        f"{name}-connection",
        str(connection["ConnectionArn"]),
        endpoint,
    )
