"""The SP-API partner event bus and the rule that sends LISTINGS_ITEM_STATUS_CHANGE to a queue.

The partner event source exists once SP-API created the EventBridge destination (one per AWS
account and region). Declaring ``EventBus(event_source_name=...)`` associates it: no console step.
The rule targets a queue, not the function, so listings get the same visibility-timeout,
delete-after-process and DLQ semantics as the SQS-delivered types.
"""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

LISTINGS_TYPE = "LISTINGS_ITEM_STATUS_CHANGE"
RULE_NAME = "sellerstream-listings-item-status-change"


class ListingsEventBus(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_source_name: str,
        queue: sqs.IQueue,
        queue_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "PartnerEventBus", event_source_name=event_source_name)
        self.rule = events.Rule(
            self,
            "ListingsRule",
            rule_name=RULE_NAME,
            event_bus=self.bus,
            description="SP-API LISTINGS_ITEM_STATUS_CHANGE to the listings queue",
            event_pattern=events.EventPattern(
                source=[event_source_name], detail={"NotificationType": [LISTINGS_TYPE]}
            ),
        )
        self.rule.add_target(_QueueTarget(queue))
        # EventBridge may send to the queue, and only on behalf of this rule.
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowListingsRuleOnly",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )
        stack = Stack.of(self)
        rule_arn = stack.format_arn(
            service="events", resource="rule", resource_name=f"{event_source_name}/{RULE_NAME}"
        )
        queue_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowListingsRuleToEncrypt",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                # The ARN is spelled out: referencing the rule would make key -> rule -> queue -> key a cycle.
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )


@jsii.implements(events.IRuleTarget)
class _QueueTarget:
    """A rule target that only names the queue. CDK's SqsQueue target also writes a queue policy
    (without the rule condition when the queue is KMS-encrypted, and with more actions than
    SendMessage), so the policy is written here instead."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._queue.queue_arn)
