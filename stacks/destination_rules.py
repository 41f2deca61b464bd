"""A destination of SellerStream's events (context ``events_destinations``, stacks/event_destinations.py):
a rule on SellerStream's bus matching its filters, one target with a retry policy, and the target's
own dead-letter queue.

- ``sqs``: a queue of this account receives from EventBridge's service principal, on behalf of this
  rule only (AWS's documented form; no role, which would break KMS-encrypted queues). Another
  account's queue receives from a role of this account that EventBridge takes (cross-account
  targets need one). Which applies is decided at deploy time, from the queue's account, so a
  template synthesized without an account still picks right. Either way the queue's owner adds the
  policy the stack outputs: the stack cannot change a queue it did not create.
- ``webhook``: an EventBridge connection (API key, basic or OAuth client credentials, read from the
  operator's Secrets Manager secret at deploy time: EventBridge keeps its own copy) and an API
  destination with its rate limit; the body is the whole event.
- ``bus``: another event bus, through a role allowed PutEvents on that bus only; the bus's owner
  lets that role put events (the policy output).
"""

from __future__ import annotations

import jsii
from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnCondition,
    CfnRule,
    CfnRuleAssertion,
    Fn,
    SecretValue,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from stacks import constants
from stacks.event_destinations import SECRET_FIELDS, Destination
from stacks.queues import dead_letter_queue, let_rule_send

EVENTS_SERVICE = "events.amazonaws.com"


class DestinationRule(Construct):
    def __init__(
        self,
        scope: Construct,
        destination: Destination,
        *,
        bus: events.IEventBus,
        bus_name: str,
        queue_key: kms.IKey,
    ) -> None:
        super().__init__(scope, destination.construct_id)
        self.destination = destination
        self._bus_name = bus_name
        self._sid = f"Allow{destination.construct_id}"
        pattern = destination.event_pattern()
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            description=f"SellerStream events to {destination.kind} destination {destination.name}",
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern.get("detail-type"), detail=pattern.get("detail")
            ),
        )
        # What the target could not take within its retry policy, with EventBridge's error attributes.
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=queue_key,
            used_as=f"events destination {destination.name}'s dead-letter queue (the rule target's "
            "DeadLetterConfig)",
        )
        let_rule_send(self.dead_letter_queue, self.rule, "AllowDestinationRuleDlqOnly")
        # The statement the target's owner adds to its resource policy (sqs and bus), as JSON.
        self.policy: str | None = None
        if destination.kind == "sqs":
            self._sqs()
        elif destination.kind == "bus":
            self._bus()
        else:
            self._webhook()

    # -- kinds -----------------------------------------------------------------------------------
    def _sqs(self) -> None:
        arn = str(self.destination.arn)
        _, partition, _, region, account, _ = arn.split(":", 5)
        # Cross-account targets must be in the bus's region, and an SQS target always is: refused
        # before anything is created rather than failing at the first delivery.
        CfnRule(
            self,
            "SameRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(region, Aws.REGION),
                    assert_description=f"events destination {self.destination.name}: the queue must be "
                    "in the stack's region (EventBridge delivers to SQS within a region only)",
                )
            ],
        )
        other_account = CfnCondition(
            self, "OtherAccount", expression=Fn.condition_not(Fn.condition_equals(account, Aws.ACCOUNT_ID))
        )
        statements = [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[arn])]
        # Another account's queue may be encrypted with its own key: that account's keys, used
        # through SQS only (its key policy must allow this role too).
        key_arns = f"arn:{partition}:kms:{region}:{account}:key/*"
        statements.append(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key_arns],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
            )
        )
        # Created either way (unused for a queue of this account): the policy output names it.
        role = self._target_role(statements)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{key_arns}]",
                reason="The other account's queue may be encrypted with any key of that account, which "
                "this stack cannot know: the role may use that account's keys only through SQS "
                "(kms:ViaService), and only if their key policies allow it.",
            )
        )
        self.rule.add_target(_Target(arn, self.dead_letter_queue.queue_arn))
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override(
            "Targets.0.RoleArn", Fn.condition_if(other_account.logical_id, role.role_arn, Aws.NO_VALUE)
        )
        same_account_policy = _policy(
            {"Service": EVENTS_SERVICE},
            "sqs:SendMessage",
            arn,
            {"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            sid=self._sid,
        )
        other_account_policy = _policy({"AWS": role.role_arn}, "sqs:SendMessage", arn, sid=self._sid)
        self.policy = Token.as_string(
            Fn.condition_if(
                other_account.logical_id,
                Stack.of(self).to_json_string(other_account_policy),
                Stack.of(self).to_json_string(same_account_policy),
            )
        )

    def _bus(self) -> None:
        arn = str(self.destination.arn)
        role = self._target_role([iam.PolicyStatement(actions=["events:PutEvents"], resources=[arn])])
        self.rule.add_target(_Target(arn, self.dead_letter_queue.queue_arn, role))
        self.policy = Stack.of(self).to_json_string(
            _policy({"AWS": role.role_arn}, "events:PutEvents", arn, sid=self._sid)
        )

    def _webhook(self) -> None:
        destination = self.destination
        connection = events.Connection(
            self,
            "Connection",
            authorization=_authorization(destination),
            description=f"SellerStream events destination {destination.name} ({destination.auth})",
        )
        api_destination = events.ApiDestination(
            self,
            "ApiDestination",
            connection=connection,
            endpoint=str(destination.url),
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=destination.rate_per_second,
            description=f"SellerStream events destination {destination.name}",
        )
        role = self._target_role(
            [
                iam.PolicyStatement(
                    actions=["events:InvokeApiDestination"],
                    resources=[
                        api_destination.api_destination_arn_for_policy or api_destination.api_destination_arn
                    ],
                )
            ]
        )
        self.rule.add_target(
            _Target(api_destination.api_destination_arn, self.dead_letter_queue.queue_arn, role)
        )

    def _target_role(self, statements: list[iam.PolicyStatement]) -> iam.Role:
        """A role EventBridge takes for this stack's rules on SellerStream's bus only (confused deputy),
        allowed what the target needs and nothing else (inline: one resource, one condition)."""
        stack = Stack.of(self)
        return iam.Role(
            self,
            "TargetRole",
            description=f"SellerStream: EventBridge delivers to events destination {self.destination.name}",
            assumed_by=iam.ServicePrincipal(
                EVENTS_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="events", resource="rule", resource_name=f"{self._bus_name}/*"
                        )
                    },
                },
            ),
            inline_policies={"Deliver": iam.PolicyDocument(statements=statements)},
        )


def _authorization(destination: Destination) -> events.Authorization:
    """The connection's credentials from the operator's secret (CloudFormation dynamic references:
    the template names the secret, never holds its value)."""

    def field(name: str) -> SecretValue:
        return SecretValue.secrets_manager(str(destination.secret_arn), json_field=name)

    # The secret's two fields per auth: who (a header name, a user, a client) and the secret part.
    who, secret = SECRET_FIELDS[str(destination.auth)]
    if destination.auth == "api_key":
        return events.Authorization.api_key(field(who).unsafe_unwrap(), field(secret))
    if destination.auth == "basic":
        return events.Authorization.basic(field(who).unsafe_unwrap(), field(secret))
    # OAuth client credentials (RFC 6749 4.4): EventBridge sends the client id and secret to the
    # token URL, caches the token and renews it when the endpoint answers 401 or 407.
    body = {"grant_type": events.HttpParameter.from_string("client_credentials")}
    if destination.scope:
        body["scope"] = events.HttpParameter.from_string(destination.scope)
    return events.Authorization.oauth(
        authorization_endpoint=str(destination.token_url),
        client_id=field(who).unsafe_unwrap(),
        client_secret=field(secret),
        http_method=events.HttpMethod.POST,
        body_parameters=body,
    )


def _policy(
    principal: dict[str, str],
    action: str,
    resource: str,
    condition: dict[str, object] | None = None,
    *,
    sid: str,
) -> dict[str, object]:
    statement: dict[str, object] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


@jsii.implements(events.IRuleTarget)
class _Target:
    """A rule target naming its DLQ and retry policy (and a role where the target needs one). CDK's
    own targets write resource policies the stack cannot own (another account's queue or bus)."""

    def __init__(self, arn: str, dead_letter_queue_arn: str, role: iam.IRole | None = None) -> None:
        self._arn = arn
        self._dead_letter_queue_arn = dead_letter_queue_arn
        self._role = role

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(
            arn=self._arn,
            role=self._role,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=constants.DESTINATION_MAX_EVENT_AGE_SECONDS,
                maximum_retry_attempts=constants.DESTINATION_MAX_RETRY_ATTEMPTS,
            ),
        )
