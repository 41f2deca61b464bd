"""Customer-managed KMS keys: one for the notification queues (and the alarm topic), one for data
at rest. (Each key is billed 1 USD a month: the alarm topic shares the queues' key, whose policy
already lets AWS services of this account in, rather than keep a third.)"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks import constants


class EncryptionKeys(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._eventbridge_allowed = False
        # Amazon's notifications service encrypts what it sends to our queues with this key,
        # so its account may generate data keys and decrypt, nothing else (Amazon's SQS guide).
        self.queue_key = kms.Key(
            self,
            "QueueKey",
            description="SellerStream notification queues",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.queue_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSellingPartnerApiToSendEncryptedMessages",
                principals=[iam.AccountPrincipal(constants.SPAPI_NOTIFICATIONS_ACCOUNT_ID)],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
            )
        )
        self.data_key = kms.Key(
            self,
            "DataKey",
            description="SellerStream tables (orders with buyer PII, idempotency, accounts)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def let_eventbridge_use_queue_key(self) -> None:
        """The key policy form AWS documents for a KMS-encrypted SQS target (or DLQ) of an EventBridge
        rule ("Event bus targets in Amazon EventBridge", docs.aws.amazon.com/eventbridge/latest/
        userguide/eb-targets.html): no condition, because EventBridge's KMS calls for an SQS target
        need not carry aws:SourceArn. Who may send is narrowed by each queue's policy. Once per key,
        however many rules need it."""
        if self._eventbridge_allowed:
            return
        self._eventbridge_allowed = True
        self.queue_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToUseTheKey",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
