"""The SellerStream stack: composes one construct per concern, and nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import bundling, constants
from stacks.consumers import NotificationConsumer
from stacks.credentials import Credentials
from stacks.encryption import EncryptionKeys
from stacks.listings_bus import ListingsEventBus
from stacks.monitoring import Monitoring
from stacks.queues import NotificationQueue
from stacks.storage import Storage

DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


class SellerStreamStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        orders_api_version: str = "2026-01-01",
        spapi_sandbox: bool = False,
        partner_event_source_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.keys = EncryptionKeys(self, "Keys")
        self.storage = Storage(self, "Storage", key=self.keys.data_key)
        self.credentials = Credentials(self, "Credentials")
        self.monitoring = Monitoring(self, "Monitoring", key=self.keys.alarm_key)
        self.layer = bundling.dependencies_layer(self, "DependenciesLayer")
        self.common_environment = {
            "IDEMPOTENCY_TABLE_NAME": self.storage.idempotency_table.table_name,
            "ACCOUNTS_TABLE_NAME": self.storage.accounts_table.table_name,
            "LWA_APP_SECRET_ID": self.credentials.lwa_app_secret.secret_arn,
            "SELLER_SECRET_PREFIX": constants.SELLER_SECRET_PREFIX,
            "SPAPI_SANDBOX": "true" if spapi_sandbox else "false",
            "RATE_BUDGET_TABLE_NAME": self.storage.rate_budget_table.table_name,
            "QUEUE_RETENTION_SECONDS": str(constants.QUEUE_RETENTION_DAYS * 24 * 3600),
        }
        storage = self.storage

        # ORDER_CHANGE: SQS destination.
        orders = NotificationQueue(
            self,
            "OrdersQueue",
            key=self.keys.queue_key,
            settings=constants.ORDER_CHANGE,
            allow_spapi_sqs_destination=True,
        )
        order_change = self._consumer(
            "OrderChange",
            "order-change",
            "sellerstream.handlers.order_change.lambda_handler",
            orders,
            constants.ORDER_CHANGE,
            {"ORDERS_TABLE_NAME": storage.orders_table.table_name, "ORDERS_API_VERSION": orders_api_version},
        )
        storage.orders_table.grant(
            order_change.role, "dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem"
        )

        # LISTINGS_ITEM_STATUS_CHANGE: EventBridge destination -> partner bus -> rule -> queue.
        listings = NotificationQueue(
            self,
            "ListingsQueue",
            key=self.keys.queue_key,
            settings=constants.LISTINGS_ITEM_STATUS_CHANGE,
            allow_spapi_sqs_destination=False,
        )
        listing_status = self._consumer(
            "ListingStatus",
            "listing-status",
            "sellerstream.handlers.listing_status.lambda_handler",
            listings,
            constants.LISTINGS_ITEM_STATUS_CHANGE,
            {"LISTINGS_TABLE_NAME": storage.listings_table.table_name},
        )
        storage.listings_table.grant(listing_status.role, "dynamodb:PutItem", "dynamodb:UpdateItem")
        bus = None
        if partner_event_source_name:
            bus = ListingsEventBus(
                self,
                "ListingsEvents",
                event_source_name=partner_event_source_name,
                queue=listings.queue,
                queue_key=self.keys.queue_key,
            )

        # REPORT_PROCESSING_FINISHED: SQS destination; large reports continue via their own queue.
        reports = NotificationQueue(
            self,
            "ReportsQueue",
            key=self.keys.queue_key,
            settings=constants.REPORT_PROCESSING_FINISHED,
            allow_spapi_sqs_destination=True,
        )
        report_finished = self._consumer(
            "ReportFinished",
            "report-finished",
            "sellerstream.handlers.report_finished.lambda_handler",
            reports,
            constants.REPORT_PROCESSING_FINISHED,
            {
                "REPORTS_TABLE_NAME": storage.reports_table.table_name,
                "REPORT_ROWS_TABLE_NAME": storage.report_rows_table.table_name,
                "REPORTS_BUCKET_NAME": storage.reports_bucket.bucket_name,
                "REPORTS_QUEUE_URL": reports.queue.queue_url,
            },
        )
        storage.reports_table.grant(report_finished.role, "dynamodb:GetItem", "dynamodb:PutItem")
        storage.report_rows_table.grant(report_finished.role, "dynamodb:BatchWriteItem", "dynamodb:PutItem")
        report_finished.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[storage.reports_bucket.arn_for_objects("reports/*")],
            )
        )
        Validations.of(report_finished.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/reports/*]",
                reason="Raw report documents are objects under reports/<seller>/<report id>/, created as "
                "reports arrive: the function may put and get objects under that prefix only.",
            )
        )

        outputs = {
            constants.OUTPUT_ORDERS_QUEUE_ARN: orders.queue.queue_arn,
            constants.OUTPUT_ORDERS_QUEUE_URL: orders.queue.queue_url,
            constants.OUTPUT_ORDERS_DLQ_URL: orders.dead_letter_queue.queue_url,
            constants.OUTPUT_ORDERS_TABLE: storage.orders_table.table_name,
            constants.OUTPUT_IDEMPOTENCY_TABLE: storage.idempotency_table.table_name,
            constants.OUTPUT_ACCOUNTS_TABLE: storage.accounts_table.table_name,
            constants.OUTPUT_RATE_BUDGET_TABLE: storage.rate_budget_table.table_name,
            constants.OUTPUT_LWA_SECRET_ARN: self.credentials.lwa_app_secret.secret_arn,
            constants.OUTPUT_SELLER_SECRET_PREFIX: constants.SELLER_SECRET_PREFIX,
            constants.OUTPUT_ORDER_CHANGE_FUNCTION: order_change.function.function_name,
            constants.OUTPUT_ALARM_TOPIC_ARN: self.monitoring.topic.topic_arn,
            constants.OUTPUT_LISTINGS_QUEUE_ARN: listings.queue.queue_arn,
            constants.OUTPUT_LISTINGS_DLQ_URL: listings.dead_letter_queue.queue_url,
            constants.OUTPUT_LISTINGS_TABLE: storage.listings_table.table_name,
            constants.OUTPUT_REPORTS_QUEUE_ARN: reports.queue.queue_arn,
            constants.OUTPUT_REPORTS_DLQ_URL: reports.dead_letter_queue.queue_url,
            constants.OUTPUT_REPORTS_TABLE: storage.reports_table.table_name,
            constants.OUTPUT_REPORT_ROWS_TABLE: storage.report_rows_table.table_name,
            constants.OUTPUT_REPORTS_BUCKET: storage.reports_bucket.bucket_name,
        }
        if bus is not None:
            outputs[constants.OUTPUT_PARTNER_EVENT_BUS] = bus.bus.event_bus_name
            outputs[constants.OUTPUT_LISTINGS_RULE_ARN] = bus.rule.rule_arn
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)

    def _consumer(
        self,
        name: str,
        service_name: str,
        handler: str,
        queue: NotificationQueue,
        settings: constants.ConsumerSettings,
        environment: dict[str, str],
    ) -> NotificationConsumer:
        """A consumer with what every notification type needs: idempotency, routing, credentials, alarms."""
        consumer = NotificationConsumer(
            self,
            name,
            handler=handler,
            service_name=service_name,
            queue=queue.queue,
            settings=settings,
            environment={**self.common_environment, **environment},
            layer=self.layer,
        )
        self.storage.idempotency_table.grant(consumer.role, *IDEMPOTENCY_ACTIONS)
        self.storage.accounts_table.grant(consumer.role, "dynamodb:GetItem")
        # Every consumer's SP-API calls draw from the budget all containers share.
        self.storage.rate_budget_table.grant(
            consumer.role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"
        )
        self.keys.data_key.grant(consumer.role, *DATA_KEY_ACTIONS)
        self.credentials.grant_read(consumer.role)
        # Throttled records are deferred as delayed copies on their own queue (and reports continue there).
        consumer.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueUrl"], resources=[queue.queue.queue_arn]
            )
        )
        self.keys.queue_key.grant(consumer.role, "kms:GenerateDataKey", "kms:Decrypt")
        self.monitoring.watch_consumer(
            name, queue=queue.queue, dead_letter_queue=queue.dead_letter_queue, function=consumer.function
        )
        return consumer
