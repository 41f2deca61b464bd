"""A consumer's queue: standard SQS, KMS-encrypted, TLS only, redriving to its DLQ."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellerstream import catalog
from stacks import constants


class NotificationQueue(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, consumer: catalog.Consumer
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(catalog.DLQ_RETENTION_DAYS),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(consumer.sizing.visibility_timeout_seconds),
            retention_period=Duration.days(catalog.QUEUE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=catalog.MAX_RECEIVE_COUNT
            ),
        )
        if catalog.Transport.SQS in consumer.transports:
            # Amazon's documented minimum for an SP-API SQS destination, and nothing more.
            self.queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowSellingPartnerApiNotifications",
                    principals=[iam.AccountPrincipal(constants.SPAPI_NOTIFICATIONS_ACCOUNT_ID)],
                    actions=["sqs:SendMessage", "sqs:GetQueueAttributes"],
                    resources=[self.queue.queue_arn],
                )
            )
