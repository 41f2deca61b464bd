"""The SellerStream stack: composes one construct per concern, and nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks import bundling, constants
from stacks.consumers import NotificationConsumer
from stacks.credentials import Credentials
from stacks.encryption import EncryptionKeys
from stacks.monitoring import Monitoring
from stacks.queues import NotificationQueue
from stacks.storage import Storage


class SellerStreamStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        orders_api_version: str = "2026-01-01",
        spapi_sandbox: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        keys = EncryptionKeys(self, "Keys")
        storage = Storage(self, "Storage", key=keys.data_key)
        credentials = Credentials(self, "Credentials")
        monitoring = Monitoring(self, "Monitoring", key=keys.alarm_key)
        layer = bundling.dependencies_layer(self, "DependenciesLayer")
        common_environment = {
            "ORDERS_TABLE_NAME": storage.orders_table.table_name,
            "IDEMPOTENCY_TABLE_NAME": storage.idempotency_table.table_name,
            "ACCOUNTS_TABLE_NAME": storage.accounts_table.table_name,
            "LWA_APP_SECRET_ID": credentials.lwa_app_secret.secret_arn,
            "SELLER_SECRET_PREFIX": constants.SELLER_SECRET_PREFIX,
            "SPAPI_SANDBOX": "true" if spapi_sandbox else "false",
        }

        orders = NotificationQueue(
            self,
            "OrdersQueue",
            key=keys.queue_key,
            settings=constants.ORDER_CHANGE,
            allow_spapi_sqs_destination=True,
        )
        order_change = NotificationConsumer(
            self,
            "OrderChange",
            handler="sellerstream.handlers.order_change.lambda_handler",
            service_name="order-change",
            queue=orders.queue,
            settings=constants.ORDER_CHANGE,
            environment={**common_environment, "ORDERS_API_VERSION": orders_api_version},
            layer=layer,
        )
        storage.orders_table.grant(order_change.role, "dynamodb:PutItem", "dynamodb:ConditionCheckItem")
        storage.idempotency_table.grant(
            order_change.role,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        storage.accounts_table.grant(order_change.role, "dynamodb:GetItem")
        keys.data_key.grant(
            order_change.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"
        )
        credentials.grant_read(order_change.role)
        monitoring.watch_consumer(
            "OrderChange",
            queue=orders.queue,
            dead_letter_queue=orders.dead_letter_queue,
            function=order_change.function,
        )

        outputs = {
            constants.OUTPUT_ORDERS_QUEUE_ARN: orders.queue.queue_arn,
            constants.OUTPUT_ORDERS_QUEUE_URL: orders.queue.queue_url,
            constants.OUTPUT_ORDERS_DLQ_URL: orders.dead_letter_queue.queue_url,
            constants.OUTPUT_ORDERS_TABLE: storage.orders_table.table_name,
            constants.OUTPUT_IDEMPOTENCY_TABLE: storage.idempotency_table.table_name,
            constants.OUTPUT_ACCOUNTS_TABLE: storage.accounts_table.table_name,
            constants.OUTPUT_LWA_SECRET_ARN: credentials.lwa_app_secret.secret_arn,
            constants.OUTPUT_SELLER_SECRET_PREFIX: constants.SELLER_SECRET_PREFIX,
            constants.OUTPUT_ORDER_CHANGE_FUNCTION: order_change.function.function_name,
            constants.OUTPUT_ALARM_TOPIC_ARN: monitoring.topic.topic_arn,
        }
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)
