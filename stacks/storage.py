"""The catalog's DynamoDB tables (orders, listings, reports and their rows' lookups, idempotency
records, the accounts, the shared rate budget) and the reports bucket (raw report documents under
``reports/``, report rows in blocks under ``rows/``)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sellerstream import catalog
from stacks import constants


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        rows_retention_days: int = constants.REPORT_ROWS_RETENTION_DAYS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables = {table.role: self._table(table, key) for table in catalog.TABLES}
        self.reports_bucket = s3.Bucket(
            self,
            "ReportsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Raw copies and row blocks expire on their own clocks: the rows' retention is the
            # report rows table's TTL (``report_rows_retention_days``), so a block never outlives
            # the lookups that find it by more than S3's rounding to the next midnight.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="RawReportDocuments",
                    prefix=catalog.REPORTS_PREFIX,
                    expiration=Duration.days(constants.REPORT_DOCUMENT_RETENTION_DAYS),
                ),
                s3.LifecycleRule(
                    id="ReportRowBlocks",
                    prefix=catalog.REPORT_ROWS_PREFIX,
                    expiration=Duration.days(rows_retention_days),
                ),
                s3.LifecycleRule(
                    id="IncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.reports_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason="Raw report copies and row blocks are written and read only by the reports function's "
                "role; enable CloudTrail S3 data events for an access trail instead of a second log bucket.",
            )
        )

    def table(self, role: str) -> dynamodb.Table:
        return self.tables[role]

    def _table(self, table: catalog.Table, key: kms.IKey) -> dynamodb.Table:
        removal_policy = RemovalPolicy.RETAIN if table.retain else RemovalPolicy.DESTROY
        created = dynamodb.Table(
            self,
            table.construct_id,
            partition_key=dynamodb.Attribute(name=table.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=table.sort_key, type=dynamodb.AttributeType.STRING)
            if table.sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=table.recovery_days is not None,
                recovery_period_in_days=table.recovery_days,
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=table.ttl_attribute,
            # The change-events publisher reads these: the old image tells what changed.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if table in catalog.streamed_tables() else None,
            removal_policy=removal_policy,
            # A retained table holds what cannot be fetched again: no one deletes it by accident either.
            deletion_protection=table.retain,
        )
        if table.local_index is not None:
            created.add_local_secondary_index(
                index_name=table.local_index.name,
                sort_key=dynamodb.Attribute(
                    name=table.local_index.sort_key, type=dynamodb.AttributeType.NUMBER
                ),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        if table.recovery_days is None:
            Validations.of(created).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-DDB3",
                    reason="Its items may hold buyer data that must be gone once expired (Amazon's Data "
                    "Protection Policy), backups included; they can be read again from the raw copy or Amazon."
                    if table.ttl_attribute
                    else "It holds only work in progress (orders still to fetch, a drainer's lease): "
                    "reconciliation stores whatever a lost item stood for, and a restored lease would be stale.",
                )
            )
        return created
