"""A function's permissions, from the catalog: each ``Grant`` becomes the narrowest statement for it."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam

from sellerstream import catalog, config
from stacks.credentials import Credentials
from stacks.encryption import EncryptionKeys
from stacks.queues import NotificationQueue
from stacks.storage import Storage

DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")


class Grants:
    """What the stack grants from: its tables, bucket, keys and secrets."""

    def __init__(self, storage: Storage, credentials: Credentials, keys: EncryptionKeys) -> None:
        self._storage = storage
        self._credentials = credentials
        self._keys = keys

    def apply(
        self, role: iam.Role, settings: type[config.Settings], grants: tuple[catalog.Grant, ...]
    ) -> None:
        """Every function may use the data key; one that holds the app secret's name may read it, one
        that calls SP-API for sellers may read their secrets; then the catalog's grants."""
        self._keys.data_key.grant(role, *DATA_KEY_ACTIONS)
        if issubclass(settings, config.SpApiSettings):
            self._credentials.grant_read(role)
        elif issubclass(settings, config.AppSecretSettings):
            self._credentials.lwa_app_secret.grant_read(role)
        for grant in grants:
            self._apply(role, grant)

    def send_to(self, role: iam.Role, queue: NotificationQueue) -> None:
        """A consumer's own queue takes its deferred copies and continuations, its DLQ the failures no
        retry can cure (SendMessage only, and the queue key to encrypt them)."""
        for target in (queue.queue, queue.dead_letter_queue):
            role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[target.queue_arn]))
        self._keys.queue_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")

    def _apply(self, role: iam.Role, grant: catalog.Grant) -> None:
        if grant.resource in self._storage.tables:
            table = self._storage.table(grant.resource)
            index = next(t.local_index for t in catalog.TABLES if t.role == grant.resource)
            if index is None:
                table.grant(role, *grant.actions)
            else:
                # The table and its one index by name (CDK's grant would name every index: a wildcard).
                resources = [table.table_arn, f"{table.table_arn}/index/{index.name}"]
                role.add_to_policy(iam.PolicyStatement(actions=list(grant.actions), resources=resources))
        elif grant.resource == catalog.APP_SECRET:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(grant.actions), resources=[self._credentials.lwa_app_secret.secret_arn]
                )
            )
        elif grant.resource == catalog.SELLER_SECRETS:
            # Under the prefix only; the finding on its wildcard is acknowledged with the read
            # (Credentials.grant_read: every function granted this is an SP-API one).
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(grant.actions), resources=[self._credentials.seller_secrets_arn]
                )
            )
        elif grant.resource == catalog.REPORTS_BUCKET:
            self._grant_reports_bucket(role, grant.actions)
        elif grant.resource == catalog.SECRETS_LIST:
            # The known sellers are the secrets under the seller prefix: ListSecrets has no resource scope.
            role.add_to_policy(iam.PolicyStatement(actions=list(grant.actions), resources=["*"]))
        else:
            raise ValueError(f"the catalog grants on {grant.resource!r}, which the stack does not have")

    def _grant_reports_bucket(self, role: iam.Role, actions: tuple[str, ...]) -> None:
        bucket = self._storage.reports_bucket
        prefix, rows = catalog.REPORTS_PREFIX, catalog.REPORT_ROWS_PREFIX
        role.add_to_policy(
            iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{prefix}*")])
        )
        # The bucket also holds report rows, in blocks under their own prefix: whoever may put and
        # get raw copies stores rows too (the reports function), with those two actions only.
        row_actions = [action for action in actions if action in ("s3:PutObject", "s3:GetObject")]
        if row_actions:
            role.add_to_policy(
                iam.PolicyStatement(actions=row_actions, resources=[bucket.arn_for_objects(f"{rows}*")])
            )
        # Without ListBucket, S3 answers a missing raw copy with 403 instead of 404: a continuation
        # whose copy expired could not tell "gone" (download again) from "forbidden".
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/{prefix}*]",
                reason=f"Raw report documents are objects under {prefix}<seller>/<report id>/, created as "
                "reports arrive: the function may put and get objects under that prefix only.",
            )
        )
        if row_actions:
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/{rows}*]",
                    reason=f"Report rows are blocks under {rows}<seller>/<report id>/, created as reports are "
                    "ingested: the function may put and get objects under that prefix only.",
                )
            )
