"""The stack's queues, DLQs, tables and secrets, created in moto from the same constants.

Local mode cannot run CloudFormation, so this mirrors what ``stacks/`` declares: same keys, same
redrive (maxReceiveCount), same TTL attributes. Time-based settings are scaled down so that a
retry cycle takes seconds, not minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
    # by kind: orders, listings, reports, app (credentials), fulfillment (shipment requests)
    queues: dict[str, LocalQueue]
    # by role: orders, listings, reports, report_rows, idempotency, accounts, rate_budget
    tables: dict[str, str]
    reports_bucket: str
    event_bus: str
    listings_rule: str


QUEUE_SETTINGS = {
    "orders": constants.ORDER_CHANGE,
    "listings": constants.LISTINGS_ITEM_STATUS_CHANGE,
    "reports": constants.REPORT_PROCESSING_FINISHED,
    "app": constants.APP_CREDENTIALS,
    "fulfillment": constants.SHIPMENT_CONFIRMATION,
}
# moto cannot put a rule on a bus whose name holds "/" (a partner bus): a plain name stands in.
LOCAL_EVENT_BUS = "sellerstream-local-partner-bus"
LOCAL_EVENT_SOURCE = f"{constants.LISTINGS_EVENT_SOURCE_PREFIX}/amzn1.sellerapps.app.local"


def create_queue(sqs: Any, name: str, visibility_timeout_seconds: int) -> LocalQueue:
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": str(constants.DLQ_RETENTION_DAYS * 86400)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(constants.MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_seconds),
            "MessageRetentionPeriod": str(constants.QUEUE_RETENTION_DAYS * 86400),
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


def create_resources(
    sqs: Any, dynamodb: Any, s3: Any, events: Any, visibility_timeout_seconds: int
) -> LocalResources:
    queues = {
        kind: create_queue(sqs, f"sellerstream-{kind}", visibility_timeout_seconds) for kind in QUEUE_SETTINGS
    }
    pk, sk = constants.ORDERS_TABLE_PK, constants.ORDERS_TABLE_SK
    tables = {
        "orders": create_table(dynamodb, "sellerstream-orders", pk, sk, constants.ORDERS_TABLE_TTL_ATTRIBUTE),
        "listings": create_table(dynamodb, "sellerstream-listings", pk, sk, None),
        "reports": create_table(dynamodb, "sellerstream-reports", pk, sk, None),
        "report_rows": create_table(
            dynamodb,
            "sellerstream-report-rows",
            pk,
            sk,
            constants.REPORT_ROWS_TTL_ATTRIBUTE,
            index=(
                constants.REPORT_ROWS_LOOKUP_INDEX,
                constants.REPORT_ROWS_LOOKUP_PK,
                constants.REPORT_ROWS_LOOKUP_SK,
            ),
        ),
        "idempotency": create_table(
            dynamodb,
            "sellerstream-idempotency",
            constants.IDEMPOTENCY_TABLE_PK,
            None,
            constants.IDEMPOTENCY_TABLE_TTL_ATTRIBUTE,
        ),
        "accounts": create_table(dynamodb, "sellerstream-accounts", constants.ACCOUNTS_TABLE_PK, None, None),
        "rate_budget": create_table(
            dynamodb,
            "sellerstream-rate-budget",
            constants.RATE_BUDGET_TABLE_PK,
            None,
            constants.RATE_BUDGET_TABLE_TTL_ATTRIBUTE,
        ),
    }
    bucket = "sellerstream-reports-local"
    s3.create_bucket(Bucket=bucket)
    events.create_event_bus(Name=LOCAL_EVENT_BUS)
    rule = constants.LISTINGS_RULE_NAME
    # The deployed rule's own pattern (source prefix, both spellings of the type as detail-type).
    events.put_rule(
        Name=rule, EventBusName=LOCAL_EVENT_BUS, EventPattern=json.dumps(constants.listings_event_pattern())
    )
    events.put_targets(
        Rule=rule,
        EventBusName=LOCAL_EVENT_BUS,
        Targets=[{"Id": "listings-queue", "Arn": queues["listings"].arn}],
    )
    return LocalResources(queues, tables, bucket, LOCAL_EVENT_BUS, rule)
