"""DynamoDB tables (orders, listings, reports and their rows, idempotency records, the subscription ->
seller routing, the shared rate budget) and the bucket of raw report documents."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import constants


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.orders_table = self._table(
            "OrdersTable",
            key,
            partition_key=constants.ORDERS_TABLE_PK,
            sort_key=constants.ORDERS_TABLE_SK,
            ttl_attribute=constants.ORDERS_TABLE_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.idempotency_table = self._table(
            "IdempotencyTable",
            key,
            partition_key=constants.IDEMPOTENCY_TABLE_PK,
            ttl_attribute=constants.IDEMPOTENCY_TABLE_TTL_ATTRIBUTE,
            # Only deduplication records that expire after a week: safe to recreate.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.listings_table = self._table(
            "ListingsTable",
            key,
            partition_key=constants.ORDERS_TABLE_PK,
            sort_key=constants.ORDERS_TABLE_SK,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.reports_table = self._table(
            "ReportsTable",
            key,
            partition_key=constants.ORDERS_TABLE_PK,
            sort_key=constants.ORDERS_TABLE_SK,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.report_rows_table = self._table(
            "ReportRowsTable",
            key,
            partition_key=constants.ORDERS_TABLE_PK,
            sort_key=constants.ORDERS_TABLE_SK,
            ttl_attribute=constants.REPORT_ROWS_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Rows looked up by SKU, ASIN or order id; sparse (rows without the value are not in it).
        self.report_rows_table.add_global_secondary_index(
            index_name=constants.REPORT_ROWS_LOOKUP_INDEX,
            partition_key=dynamodb.Attribute(
                name=constants.REPORT_ROWS_LOOKUP_PK, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=constants.REPORT_ROWS_LOOKUP_SK, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.reports_bucket = s3.Bucket(
            self,
            "ReportsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(constants.REPORT_DOCUMENT_RETENTION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.reports_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason="Raw report copies are written and read only by the reports function's role; "
                "enable CloudTrail S3 data events for an access trail instead of a second log bucket.",
            )
        )
        self.accounts_table = self._table(
            "AccountsTable",
            key,
            partition_key=constants.ACCOUNTS_TABLE_PK,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.rate_budget_table = self._table(
            "RateBudgetTable",
            key,
            partition_key=constants.RATE_BUDGET_TABLE_PK,
            ttl_attribute=constants.RATE_BUDGET_TABLE_TTL_ATTRIBUTE,
            # Rate buckets and backlog windows only: a new table starts from Amazon's default plans.
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _table(
        self,
        construct_id: str,
        key: kms.IKey,
        *,
        partition_key: str,
        sort_key: str | None = None,
        ttl_attribute: str | None = None,
        removal_policy: RemovalPolicy,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
            if sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=ttl_attribute,
            removal_policy=removal_policy,
            # A retained table holds what cannot be fetched again: no one deletes it by accident either.
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
        )
