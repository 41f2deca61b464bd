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
    orders_queue: LocalQueue
    orders_table: str
    idempotency_table: str
    accounts_table: str


NAMES = {
    "orders_queue": "sellerstream-orders",
    "orders_table": "sellerstream-orders",
    "idempotency_table": "sellerstream-idempotency",
    "accounts_table": "sellerstream-accounts",
}


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
    dynamodb: Any, name: str, partition_key: str, sort_key: str | None, ttl_attribute: str | None
) -> str:
    key_schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": partition_key, "AttributeType": "S"}]
    if sort_key:
        key_schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort_key, "AttributeType": "S"})
    dynamodb.create_table(
        TableName=name, KeySchema=key_schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return name


def create_resources(sqs: Any, dynamodb: Any, visibility_timeout_seconds: int) -> LocalResources:
    return LocalResources(
        orders_queue=create_queue(sqs, NAMES["orders_queue"], visibility_timeout_seconds),
        orders_table=create_table(
            dynamodb,
            NAMES["orders_table"],
            constants.ORDERS_TABLE_PK,
            constants.ORDERS_TABLE_SK,
            constants.ORDERS_TABLE_TTL_ATTRIBUTE,
        ),
        idempotency_table=create_table(
            dynamodb,
            NAMES["idempotency_table"],
            constants.IDEMPOTENCY_TABLE_PK,
            None,
            constants.IDEMPOTENCY_TABLE_TTL_ATTRIBUTE,
        ),
        accounts_table=create_table(
            dynamodb, NAMES["accounts_table"], constants.ACCOUNTS_TABLE_PK, None, None
        ),
    )
