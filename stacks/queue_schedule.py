"""A catalog schedule: an EventBridge rule that puts a Scheduled Event on its consumer's queue
(hourly, on the app-credentials queue).

The app-credentials function then re-reads when the LWA client secret expires and reports the days
left as a metric, which the stack alarms on: an alarm needs a datapoint every period, and Amazon's
notifications about the secret are days or months apart. Through the queue, the check has the same
retries, DLQ and alarms as a notification (the queue's "nothing arrived" alarm notices a broken
schedule). The queue admits EventBridge for this rule only.
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from sellerstream import catalog


class QueueSchedule(Construct):
    def __init__(
        self, scope: Construct, schedule: catalog.Schedule, *, queue: sqs.IQueue, queue_key: kms.IKey
    ) -> None:
        super().__init__(scope, schedule.construct_id)
        self.rule = events.Rule(
            self,
            "Schedule",
            description=schedule.description,
            schedule=events.Schedule.rate(Duration.hours(schedule.interval_hours)),
        )
        self.rule.add_target(_ScheduleToQueue(queue))
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSecretExpiryScheduleOnly",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )
        # As for the listings rule (stacks/listings_bus.py): the key policy form AWS documents for a
        # KMS-encrypted SQS target of an EventBridge rule, without conditions (EventBridge's KMS calls
        # need not carry aws:SourceArn); who may send is narrowed by the queue policy above.
        queue_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeScheduleToUseTheKey",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )


@jsii.implements(events.IRuleTarget)
class _ScheduleToQueue:
    """The queue as the rule's target, without the queue policy CDK's SqsQueue target would write
    (it drops the rule condition for KMS-encrypted queues): the policy is written above instead."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._queue.queue_arn)
