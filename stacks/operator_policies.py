"""IAM managed policies for the people who run ``sellerstream`` (ops/sellerstream_ops) against this
stack: one for every command, one for the commands that only read. Attach either to a role, group or
user; neither is attached by the stack.

Each statement names this stack's resources and what a command does with them:

- every command reads the stack's outputs (DescribeStacks on this stack only);
- ``status``, ``sellers``, ``subscriptions``, ``app-notifications``: queue attributes, alarms in
  ALARM, the app secret and the sellers' secrets (SP-API is asked with them), the accounts table;
- ``dlq`` and ``redrive``: receive, hide again and delete dead letters, send them back to their
  queue, search the consumers' logs for reasons;
- ``add-seller``, ``remove-seller``, ``set-app-credentials``, ``rotate-app-secret``, ``subscribe``,
  ``unsubscribe``: the secrets under the seller prefix and the app secret, the accounts table;
- ``ship``: the order's marketplace from the orders table, a message on the fulfillment queue;
- ``reconcile``: the reconcile function, invoked; ``events replay``: a replay from the archive.

The read-only policy has no write and no SQS ReceiveMessage (receiving hides a message from its
consumer for the visibility timeout: not a read). It still reads the credentials, since ``status`` and
``subscriptions`` ask SP-API with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, Stack, Tags, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.credentials import Credentials

# The tag (its value the stack's name) that the operator policies find the dead-letter queues
# ``status`` only counts by (SQS takes aws:ResourceTag conditions in IAM policies).
STACK_TAG = "sellerstream:stack"


@dataclass
class OperatedResources:
    """What the operator's commands touch, as the stack built it."""

    credentials: Credentials
    accounts_table: dynamodb.ITable
    orders_table: dynamodb.ITable
    data_key: kms.IKey
    queue_key: kms.IKey
    # Consumers' queues (redrive and ship send to them) and the dead-letter queues ``dlq`` and
    # ``redrive`` take letters from (the consumers' and the listings rules').
    queues: list[sqs.IQueue] = field(default_factory=list)
    dead_letter_queues: list[sqs.IQueue] = field(default_factory=list)
    # Queues ``status`` only counts: the change-events publisher's DLQ and the events destinations'
    # (up to 20). Found by a tag rather than named, so that a policy stays within IAM's 6,144
    # characters whatever the number of destinations.
    watched_queues: list[sqs.IQueue] = field(default_factory=list)
    # The consumers' log groups, where dlq finds a letter's reason.
    log_groups: list[logs.ILogGroup] = field(default_factory=list)
    reconcile_function: lambda_.IFunction | None = None
    events_archive: events.Archive | None = None


class OperatorPolicies(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, resources: OperatedResources) -> None:
        super().__init__(scope, construct_id)
        stack_name = Stack.of(self).stack_name
        for queue in resources.watched_queues:
            Tags.of(queue).add(STACK_TAG, stack_name)
        self.read_only = iam.ManagedPolicy(
            self,
            "ReadOnlyOperatorPolicy",
            description=f"{stack_name}: the read-only commands of the operator's CLI (sellerstream status, "
            "sellers, subscriptions, app-notifications, events destinations)",
            statements=_statements(resources, write=False),
        )
        self.operator = iam.ManagedPolicy(
            self,
            "OperatorPolicy",
            description=f"{stack_name}: every command of the operator's CLI (sellerstream)",
            statements=_statements(resources, write=True),
        )
        for policy in (self.read_only, self.operator):
            replays = policy is self.operator and resources.events_archive is not None
            _acknowledge(
                policy, resources.credentials, replays=replays, tagged_queues=bool(resources.watched_queues)
            )


def _statements(r: OperatedResources, *, write: bool) -> list[iam.PolicyStatement]:
    """One policy's statements: each resource named once (a managed policy holds 6,144 characters,
    and every queue's and log group's ARN is long), with the actions ``write`` adds."""

    def writes(*actions: str) -> list[str]:
        return list(actions) if write else []

    stack = Stack.of(r.credentials)
    credentials = r.credentials
    secret_reads = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    statements = [
        _statement(["cloudformation:DescribeStacks"], [stack.stack_id]),
        # set-app-credentials writes the app secret; add-seller creates a seller's secret (or puts a
        # new refresh token), remove-seller deletes it.
        _statement(
            [*secret_reads, *writes("secretsmanager:PutSecretValue")], [credentials.lwa_app_secret.secret_arn]
        ),
        _statement(
            [
                *secret_reads,
                *writes(
                    "secretsmanager:CreateSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DeleteSecret",
                ),
            ],
            [credentials.seller_secrets_arn],
        ),
        # Which sellers have a secret under the prefix, and the alarms in ALARM (kept when they notify
        # this stack's topic): neither takes a resource scope.
        _statement(["secretsmanager:ListSecrets", "cloudwatch:DescribeAlarms"], ["*"]),
        # Subscriptions routed to their seller, the sellers' marketplaces, the client secret's state.
        _statement(
            [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                *writes("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
            ],
            [r.accounts_table.table_arn],
        ),
        # The tables are encrypted with the data key: DynamoDB uses it for the caller.
        _statement(
            ["kms:Decrypt", "kms:DescribeKey", *writes("kms:Encrypt", "kms:GenerateDataKey")],
            [r.data_key.key_arn],
        ),
        # status counts every queue; redrive and ship send to the consumers' queues; dlq and redrive
        # receive each letter once, make it visible again or delete it once its copy is back.
        _statement(["sqs:GetQueueAttributes", *writes("sqs:SendMessage")], _arns(r.queues)),
        _statement(
            [
                "sqs:GetQueueAttributes",
                *writes("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"),
            ],
            _arns(r.dead_letter_queues),
        ),
        # dlq's reasons, from the consumers' log lines.
        _statement(["logs:FilterLogEvents"], [group.log_group_arn for group in r.log_groups]),
    ]
    if r.watched_queues:
        statements.append(
            iam.PolicyStatement(
                actions=["sqs:GetQueueAttributes"],
                resources=[stack.format_arn(service="sqs", resource="*")],
                conditions={"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack.stack_name}},
            )
        )
    if not write:
        return statements
    # The queues are encrypted with the queue key: sending encrypts, receiving decrypts.
    statements.append(_statement(["kms:GenerateDataKey", "kms:Decrypt"], [r.queue_key.key_arn]))
    # ship: the stored order's marketplace.
    statements.append(_statement(["dynamodb:GetItem"], [r.orders_table.table_arn]))
    if r.reconcile_function is not None:
        statements.append(_statement(["lambda:InvokeFunction"], [r.reconcile_function.function_arn]))
    if r.events_archive is not None:
        statements.append(_statement(["events:StartReplay"], [r.events_archive.archive_arn]))
        # The replay's progress (its name is chosen when it starts: any replay of the account).
        statements.append(
            _statement(["events:DescribeReplay"], [stack.format_arn(service="events", resource="replay/*")])
        )
    return statements


def _statement(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources)


def _arns(queues: Sequence[sqs.IQueue]) -> list[str]:
    return [queue.queue_arn for queue in queues]


def _acknowledge(
    policy: iam.ManagedPolicy, credentials: Credentials, *, replays: bool, tagged_queues: bool
) -> None:
    """The wildcards cdk-nag finds, each for its reason (and nothing else)."""
    prefix = credentials.seller_secret_prefix
    Validations.of(policy).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
            f"<AWS::AccountId>:secret:{prefix}*]",
            reason="Sellers are added after deployment, one secret each under this prefix (Secrets Manager "
            "appends a random suffix to each ARN): the operator's commands act on that prefix only.",
        ),
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            reason="secretsmanager:ListSecrets (which sellers have a secret under the prefix) and "
            "cloudwatch:DescribeAlarms (alarms in ALARM, kept when they notify this stack's topic) take no "
            "resource scope; both only read.",
        ),
    )
    if replays:
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:"
                "<AWS::AccountId>:replay/*]",
                reason="events replay names each replay when it starts it; DescribeReplay only reads a "
                "replay's progress.",
            )
        )
    if tagged_queues:
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:"
                "<AWS::AccountId>:*]",
                reason=f"GetQueueAttributes (message counts) only, on the queues tagged {STACK_TAG} with this "
                "stack's name: the change-events and events destinations' dead-letter queues (up to 21), "
                "which named one by one would outgrow a managed policy's 6,144 characters.",
            )
        )
