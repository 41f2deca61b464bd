"""A consumer's queue: standard SQS, KMS-encrypted, TLS only, redriving to its DLQ; and the
dead-letter queues of what is not a queue's consumer (an EventBridge rule, a stream mapping)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
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


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey, used_as: str) -> sqs.Queue:
    """A DLQ like the consumers' (encrypted, TLS only, 14 days) for what ``used_as`` names: a rule
    target's DeadLetterConfig or a stream mapping's on-failure destination."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(catalog.DLQ_RETENTION_DAYS),
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-SQS3",
            reason=f"This queue is {used_as}, which cdk-nag recognises as a dead-letter queue only in "
            "an SQS redrive policy.",
        )
    )
    return queue


def let_rule_send(queue: sqs.IQueue, rule: events.IRule, sid: str) -> None:
    """EventBridge may send to ``queue`` on behalf of ``rule`` only (its target or its DLQ)."""
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
        )
    )
