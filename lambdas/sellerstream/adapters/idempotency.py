"""Powertools' idempotency records in DynamoDB (the batch runner takes any persistence layer)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from sellerstream import aws


def dynamodb_persistence_layer(table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.client("dynamodb"))
