"""The SP-API partner event bus and the rule that sends the EventBridge types to their consumer's queue.

The partner event source exists once SP-API created the EventBridge destination (one per AWS
account and region). Declaring ``EventBus(event_source_name=...)`` associates it: no console step.
The rule targets a queue, not the function, so listings get the same visibility-timeout,
delete-after-process and DLQ semantics as the SQS-delivered types. What the rule cannot deliver
(after its retries) goes to the rule's own dead-letter queue, never nowhere.

A seller authorised in several SP-API regions brings one partner event source per region: one bus
and rule each, all targeting the same queue, and one dead-letter queue for all their rules (the
first bus's, under the ids it always had), so one alarm and one graph watch it.
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from stacks import constants
from stacks.queues import dead_letter_queue as rule_dead_letter_queue
from stacks.queues import let_rule_send


class ListingsEventBus(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_source_name: str,
        rule_name: str,
        queue: sqs.IQueue,
        queue_key: kms.IKey,
        detail_types: tuple[str, ...],
        description: str,
        dead_letter_queue: sqs.IQueue | None = None,
        sid_suffix: str = "",
    ) -> None:
        """``dead_letter_queue``: another bus's rule DLQ to share (None: this bus creates it);
        ``sid_suffix`` tells this rule's queue policy statements from the other rules'."""
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "PartnerEventBus", event_source_name=event_source_name)
        self.rule = events.Rule(
            self,
            "ListingsRule",
            rule_name=rule_name,
            event_bus=self.bus,
            description=description,
            event_pattern=events.EventPattern(
                source=events.Match.prefix(constants.PARTNER_EVENT_SOURCE_PREFIX),
                detail_type=list(detail_types),
            ),
        )
        # Events the rule could not deliver within its retry policy (a disabled key, a broken
        # policy) are kept here for 14 days with EventBridge's error attributes, and alarmed on.
        self.dead_letter_queue = dead_letter_queue or rule_dead_letter_queue(
            self,
            "RuleDeadLetterQueue",
            key=queue_key,
            used_as="the listings rules' dead-letter queue (each rule target's DeadLetterConfig)",
        )
        self.rule.add_target(_QueueTarget(queue, self.dead_letter_queue))
        # EventBridge may send to the queue and to the rule's DLQ, and only on behalf of this rule.
        # EventBridge encrypts what it sends to both with the queue key (the stack lets it:
        # EncryptionKeys.let_eventbridge_use_queue_key); who may send is narrowed here.
        let_rule_send(queue, self.rule, f"AllowListingsRuleOnly{sid_suffix}")
        let_rule_send(self.dead_letter_queue, self.rule, f"AllowListingsRuleDlqOnly{sid_suffix}")


@jsii.implements(events.IRuleTarget)
class _QueueTarget:
    """A rule target that names the queue, its DLQ and its retry policy. CDK's SqsQueue target also
    writes a queue policy (without the rule condition when the queue is KMS-encrypted, and with more
    actions than SendMessage), so the policies are written above instead."""

    def __init__(self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> None:
        self._queue = queue
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(
            arn=self._queue.queue_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=constants.LISTINGS_RULE_MAX_EVENT_AGE_SECONDS,
                maximum_retry_attempts=constants.LISTINGS_RULE_MAX_RETRY_ATTEMPTS,
            ),
        )
