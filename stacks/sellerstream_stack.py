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
from stacks.reconciliation import Reconciliation
from stacks.secret_expiry_check import SecretExpiryCheck
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
        names: constants.StageNames | None = None,
        alarm_email: str | None = None,
        no_notifications_alarm_hours: int | None = None,
        report_rows_retention_days: int = constants.REPORT_ROWS_RETENTION_DAYS,
        reconcile_interval_minutes: int = constants.RECONCILE_INTERVAL_MINUTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = names or constants.StageNames()
        self._no_notifications_alarm_hours = no_notifications_alarm_hours
        self.keys = EncryptionKeys(self, "Keys")
        self.storage = Storage(self, "Storage", key=self.keys.data_key)
        self.credentials = Credentials(self, "Credentials", names=names)
        self.monitoring = Monitoring(self, "Monitoring", key=self.keys.alarm_key, alarm_email=alarm_email)
        self.layer = bundling.dependencies_layer(self, "DependenciesLayer")
        self.common_environment = {
            "IDEMPOTENCY_TABLE_NAME": self.storage.idempotency_table.table_name,
            "ACCOUNTS_TABLE_NAME": self.storage.accounts_table.table_name,
            "LWA_APP_SECRET_ID": self.credentials.lwa_app_secret.secret_arn,
            "SELLER_SECRET_PREFIX": self.credentials.seller_secret_prefix,
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
        # UpdateItem: the PII item is updated part by part, keeping what a later response omits.
        # BatchGetItem: what is stored already, so a notification no newer than it costs no call.
        storage.orders_table.grant(
            order_change.role,
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:BatchGetItem",
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
            # Listings arrive only through the partner bus: nothing to miss until it exists.
            expects_notifications=partner_event_source_name is not None,
        )
        storage.listings_table.grant(listing_status.role, "dynamodb:PutItem", "dynamodb:UpdateItem")
        bus = None
        if partner_event_source_name:
            bus = ListingsEventBus(
                self,
                "ListingsEvents",
                event_source_name=partner_event_source_name,
                rule_name=names.listings_rule_name,
                queue=listings.queue,
                queue_key=self.keys.queue_key,
            )
            self.monitoring.watch_listings_rule(
                bus=bus.bus, rule=bus.rule, dead_letter_queue=bus.dead_letter_queue
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
                "REPORT_ROWS_RETENTION_DAYS": str(report_rows_retention_days),
            },
        )
        storage.reports_table.grant(report_finished.role, "dynamodb:GetItem", "dynamodb:PutItem")
        # By hand: Table.grant() would add the lookup index (``.../index/*``), which the writer never reads.
        report_finished.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
                resources=[storage.report_rows_table.table_arn],
            )
        )
        report_finished.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[storage.reports_bucket.arn_for_objects("reports/*")],
            )
        )
        # Without ListBucket, S3 answers a missing raw copy with 403 instead of 404: a continuation
        # whose copy expired could not tell "gone" (download again) from "forbidden".
        report_finished.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.reports_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["reports/*"]}},
            )
        )
        self.monitoring.watch_order_calls(service_name="order-change")
        self.monitoring.watch_report_decoding("ReportFinished", service_name="report-finished")
        Validations.of(report_finished.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/reports/*]",
                reason="Raw report documents are objects under reports/<seller>/<report id>/, created as "
                "reports arrive: the function may put and get objects under that prefix only.",
            )
        )

        # The application's LWA client secret: Amazon's notifications about it, and an hourly check
        # of its expiry. Application-level: the function reads and writes the app secret only.
        app = NotificationQueue(
            self,
            "AppCredentialsQueue",
            key=self.keys.queue_key,
            settings=constants.APP_CREDENTIALS,
            allow_spapi_sqs_destination=True,
        )
        app_credentials = self._consumer(
            "AppCredentials",
            "app-credentials",
            "sellerstream.handlers.app_credentials.lambda_handler",
            app,
            constants.APP_CREDENTIALS,
            {"LWA_SECRET_EXPIRY_WARNING_DAYS": str(constants.LWA_SECRET_EXPIRY_WARNING_DAYS)},
            reads_seller_secrets=False,
        )
        self.credentials.grant_client_secret_replacement(app_credentials.role)
        storage.accounts_table.grant(app_credentials.role, "dynamodb:UpdateItem")
        SecretExpiryCheck(self, "LwaSecretExpiryCheck", queue=app.queue, queue_key=self.keys.queue_key)
        self.monitoring.watch_lwa_secret_expiry("AppCredentials", service_name="app-credentials")

        # Shipment requests: the seller's own systems send them (IAM in this account), not Amazon.
        fulfillment = NotificationQueue(
            self,
            "FulfillmentQueue",
            key=self.keys.queue_key,
            settings=constants.SHIPMENT_CONFIRMATION,
            allow_spapi_sqs_destination=False,
        )
        shipment_confirmation = self._consumer(
            "ShipmentConfirmation",
            "shipment-confirmation",
            "sellerstream.handlers.shipment_confirmation.lambda_handler",
            fulfillment,
            constants.SHIPMENT_CONFIRMATION,
            {"ORDERS_TABLE_NAME": storage.orders_table.table_name},
            # Requests come when the seller ships: silence is no sign of trouble.
            expects_notifications=False,
        )
        # Query + GetItem: the order's items and packages, strongly consistent; PutItem: a package,
        # conditional on the version it was decided on.
        storage.orders_table.grant(
            shipment_confirmation.role, "dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"
        )
        # Reconciliation (Orders 2026-01-01 searchOrders, like backlog mode: its records are that
        # version's shape, so a v0 deployment has none).
        reconcile = self._reconciliation(orders_api_version, reconcile_interval_minutes)

        outputs = {
            constants.OUTPUT_ORDERS_QUEUE_ARN: orders.queue.queue_arn,
            constants.OUTPUT_ORDERS_QUEUE_URL: orders.queue.queue_url,
            constants.OUTPUT_ORDERS_DLQ_URL: orders.dead_letter_queue.queue_url,
            constants.OUTPUT_ORDERS_TABLE: storage.orders_table.table_name,
            constants.OUTPUT_IDEMPOTENCY_TABLE: storage.idempotency_table.table_name,
            constants.OUTPUT_ACCOUNTS_TABLE: storage.accounts_table.table_name,
            constants.OUTPUT_RATE_BUDGET_TABLE: storage.rate_budget_table.table_name,
            constants.OUTPUT_LWA_SECRET_ARN: self.credentials.lwa_app_secret.secret_arn,
            constants.OUTPUT_SELLER_SECRET_PREFIX: self.credentials.seller_secret_prefix,
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
            constants.OUTPUT_ORDER_CHANGE_LOG_GROUP: order_change.log_group.log_group_name,
            constants.OUTPUT_LISTING_STATUS_LOG_GROUP: listing_status.log_group.log_group_name,
            constants.OUTPUT_REPORT_FINISHED_LOG_GROUP: report_finished.log_group.log_group_name,
            constants.OUTPUT_APP_CREDENTIALS_LOG_GROUP: app_credentials.log_group.log_group_name,
            constants.OUTPUT_LISTINGS_QUEUE_URL: listings.queue.queue_url,
            constants.OUTPUT_REPORTS_QUEUE_URL: reports.queue.queue_url,
            constants.OUTPUT_APP_CREDENTIALS_QUEUE_ARN: app.queue.queue_arn,
            constants.OUTPUT_APP_CREDENTIALS_QUEUE_URL: app.queue.queue_url,
            constants.OUTPUT_APP_CREDENTIALS_DLQ_URL: app.dead_letter_queue.queue_url,
            constants.OUTPUT_FULFILLMENT_QUEUE_ARN: fulfillment.queue.queue_arn,
            constants.OUTPUT_FULFILLMENT_QUEUE_URL: fulfillment.queue.queue_url,
            constants.OUTPUT_FULFILLMENT_DLQ_URL: fulfillment.dead_letter_queue.queue_url,
            constants.OUTPUT_SHIPMENT_CONFIRMATION_LOG_GROUP: shipment_confirmation.log_group.log_group_name,
        }
        if reconcile is not None:
            outputs[constants.OUTPUT_RECONCILE_FUNCTION] = reconcile.function.function_name
            outputs[constants.OUTPUT_RECONCILE_LOG_GROUP] = reconcile.log_group.log_group_name
        dashboard = self.monitoring.add_dashboard(f"{names.dashboard_name}-{self.region}")
        outputs[constants.OUTPUT_DASHBOARD_URL] = (
            f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#dashboards/dashboard/{dashboard.dashboard_name}"
        )
        if bus is not None:
            outputs[constants.OUTPUT_PARTNER_EVENT_BUS] = bus.bus.event_bus_name
            outputs[constants.OUTPUT_LISTINGS_RULE_ARN] = bus.rule.rule_arn
            outputs[constants.OUTPUT_LISTINGS_RULE_DLQ_URL] = bus.dead_letter_queue.queue_url
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)

    def _reconciliation(self, orders_api_version: str, interval_minutes: int) -> Reconciliation | None:
        """Orders notifications never brought, from searchOrders, per seller (Orders 2026-01-01 only)."""
        if orders_api_version != "2026-01-01":
            return None
        reconcile = Reconciliation(
            self,
            "Reconcile",
            environment={
                **self.common_environment,
                "ORDERS_TABLE_NAME": self.storage.orders_table.table_name,
                "ORDERS_API_VERSION": orders_api_version,
            },
            layer=self.layer,
            interval_minutes=interval_minutes,
        )
        # The same conditional writes as the orders consumer (put_if_newer), nothing else.
        self.storage.orders_table.grant(
            reconcile.role, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"
        )
        # Checkpoints beside the backlog windows, and the shared searchOrders budget.
        self.storage.rate_budget_table.grant(
            reconcile.role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"
        )
        self.keys.data_key.grant(reconcile.role, *DATA_KEY_ACTIONS)
        self.credentials.grant_read(reconcile.role)
        reconcile.grant_list_sellers()
        self.monitoring.watch_reconciliation(
            "Reconcile", service_name=constants.RECONCILE_SERVICE_NAME, function=reconcile.function
        )

        return reconcile

    def _consumer(
        self,
        name: str,
        service_name: str,
        handler: str,
        queue: NotificationQueue,
        settings: constants.ConsumerSettings,
        environment: dict[str, str],
        *,
        expects_notifications: bool = True,
        reads_seller_secrets: bool = True,
    ) -> NotificationConsumer:
        """A consumer with what every notification type needs: idempotency, routing, credentials, alarms."""
        consumer = NotificationConsumer(
            self,
            name,
            handler=handler,
            service_name=service_name,
            queue=queue.queue,
            settings=settings,
            # Failures no retry can cure are copied to the queue's own DLQ at once, with their reason.
            environment={
                **self.common_environment,
                "DEAD_LETTER_QUEUE_URL": queue.dead_letter_queue.queue_url,
                **environment,
            },
            layer=self.layer,
        )
        self.storage.idempotency_table.grant(consumer.role, *IDEMPOTENCY_ACTIONS)
        self.storage.accounts_table.grant(consumer.role, "dynamodb:GetItem")
        # Every consumer's SP-API calls draw from the budget all containers share.
        self.storage.rate_budget_table.grant(
            consumer.role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"
        )
        self.keys.data_key.grant(consumer.role, *DATA_KEY_ACTIONS)
        if reads_seller_secrets:
            self.credentials.grant_read(consumer.role)
        # Throttled records are deferred as delayed copies on their own queue (and reports continue there).
        consumer.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueUrl"], resources=[queue.queue.queue_arn]
            )
        )
        consumer.role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.dead_letter_queue.queue_arn])
        )
        self.keys.queue_key.grant(consumer.role, "kms:GenerateDataKey", "kms:Decrypt")
        quiet_hours = settings.quiet_alarm_hours
        if self._no_notifications_alarm_hours is not None:
            quiet_hours = self._no_notifications_alarm_hours
        self.monitoring.watch_consumer(
            name,
            service_name=service_name,
            queue=queue.queue,
            dead_letter_queue=queue.dead_letter_queue,
            function=consumer.function,
            settings=settings,
            quiet_alarm_hours=quiet_hours if expects_notifications else 0,
        )
        return consumer
