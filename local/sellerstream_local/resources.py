"""The stack's queues, DLQs, tables and rule, created in moto from the same catalog.

Local mode cannot run CloudFormation, so this builds what ``stacks/`` declares from the catalog the
stack reads: one queue and DLQ per consumer, the same tables (keys, TTL, index), the same redrive
(maxReceiveCount), the partner bus rule's pattern. Time-based settings are scaled down so that a
retry cycle takes seconds, not minutes.
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
class LocalResources:
    # by consumer kind (catalog): orders, listings, reports, app, fulfillment
    queues: dict[str, LocalQueue]
    # by table role (catalog): orders, listings, reports, report_rows, idempotency, accounts, rate_budget
    tables: dict[str, str]
    reports_bucket: str
    event_bus: str
    listings_rule: str


# moto cannot put a rule on a bus whose name holds "/" (a partner bus): a plain name stands in.
LOCAL_EVENT_BUS = "sellerstream-local-partner-bus"
LOCAL_EVENT_SOURCE = f"{constants.PARTNER_EVENT_SOURCE_PREFIX}/amzn1.sellerapps.app.local"


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
    index: tuple[str, str, str] | None = None,
) -> str:
    """A table like the stack's; ``index`` = (name, partition key, sort key) of a GSI (all projected)."""
    key_schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    attributes = {partition_key: "S"}
    if sort_key:
        key_schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes[sort_key] = "S"
    extra: dict[str, Any] = {}
    if index:
        index_name, index_pk, index_sk = index
        attributes.update({index_pk: "S", index_sk: "S"})
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index_name,
                "KeySchema": [
                    {"AttributeName": index_pk, "KeyType": "HASH"},
                    {"AttributeName": index_sk, "KeyType": "RANGE"},
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


def create_catalog_tables(dynamodb: Any) -> dict[str, str]:
    """Every table of the catalog, by role, as the stack declares it."""
    return {
        table.role: create_table(
            dynamodb,
            table.local_name,
            table.partition_key,
            table.sort_key,
            table.ttl_attribute,
            index=table.lookup_index,
        )
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
    return LocalResources(queues, tables, bucket, LOCAL_EVENT_BUS, rule)
