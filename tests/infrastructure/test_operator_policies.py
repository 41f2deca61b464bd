"""The operator's managed policies: what ``sellerstream`` needs on this stack's resources and nothing
more, every command (OperatorPolicyArn) or the reads only (ReadOnlyOperatorPolicyArn), each within
IAM's 6,144 characters in the largest deployment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sellerstream import catalog
from stacks.operator_policies import STACK_TAG
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_stack import queue

OPERATOR, READ_ONLY = "OperatorPolicyArn", "ReadOnlyOperatorPolicyArn"
# What reading takes: describe, get, list, filter, query and scan; and kms:Decrypt, with which
# DynamoDB reads the tables' items for the caller (the tables' key is the stack's own).
READ_VERB = re.compile(r"[a-z0-9-]+:(Describe|Get|List|Filter|Query|Scan)[A-Za-z]*")
READ_ONLY_EXCEPTIONS = {"kms:Decrypt"}
MANAGED_POLICY_MAX_CHARACTERS = 6144


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(synthesized: Synthesized, output_id: str) -> list[dict[str, Any]]:
    policy = synthesized.json["Resources"][synthesized.output_target(output_id)]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def grants(synthesized: Synthesized, output_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs, each resource as JSON."""
    return {
        (action, json.dumps(resource, sort_keys=True))
        for statement in statements(synthesized, output_id)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def actions_on(synthesized: Synthesized, output_id: str, resource: Any) -> set[str]:
    wanted = json.dumps(resource, sort_keys=True)
    return {action for action, granted in grants(synthesized, output_id) if granted == wanted}


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


@pytest.mark.parametrize("output_id", [OPERATOR, READ_ONLY])
def test_given_the_stack_then_each_policy_is_a_managed_policy_output(
    synthesized: Synthesized, output_id: str
) -> None:
    value = synthesized.json["Outputs"][output_id]["Value"]

    assert value == {"Ref": synthesized.output_target(output_id)}
    # Attached to nothing by the stack: the account's administrator chooses who operates.
    policy = synthesized.json["Resources"][value["Ref"]]["Properties"]
    assert not {"Roles", "Users", "Groups"} & set(policy)


@pytest.mark.parametrize("fixture", ["synthesized", "in_two_regions", "with_destinations"])
def test_given_the_read_only_policy_then_it_only_reads_and_never_receives(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)

    actions = {action for action, _ in grants(synthesized, READ_ONLY)}

    assert actions
    assert all(READ_VERB.fullmatch(a) or a in READ_ONLY_EXCEPTIONS for a in actions), sorted(actions)
    # Receiving hides a message from its consumer for the visibility timeout: not a read.
    assert "sqs:ReceiveMessage" not in actions
    # Everything it may do, the operator may do too.
    assert grants(synthesized, READ_ONLY) <= grants(synthesized, OPERATOR)


def test_given_the_operator_policy_then_every_command_may_do_what_it_does(
    in_two_regions: Synthesized,
) -> None:
    synthesized = in_two_regions
    resources = synthesized.json["Resources"]
    consumers = catalog.enabled_consumers(catalog.enabled_types("all"))
    rule_dlq = synthesized.output_target(catalog.StackOutputs.EVENTBRIDGE_RULE_DLQ_URL)

    def on(resource: Any) -> set[str]:
        return actions_on(synthesized, OPERATOR, resource)

    # Every command: the stack's outputs.
    assert on({"Ref": "AWS::StackId"}) == {"cloudformation:DescribeStacks"}
    # dlq and redrive: each consumer's DLQ and the listings rules' one; ship and redrive: the queues.
    for consumer in consumers:
        queue_id, main, _ = queue(synthesized, consumer.kind)
        dlq_id = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert on(arn(queue_id)) == {"sqs:GetQueueAttributes", "sqs:SendMessage"}
        assert on(arn(dlq_id)) == {
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
        }
        log_group = synthesized.output_target(consumer.outputs.log_group)
        assert on(arn(log_group)) == {"logs:FilterLogEvents"}
    assert "sqs:ReceiveMessage" in on(arn(rule_dlq))
    # reconcile: its function; events replay: the archive.
    assert on(arn(synthesized.output_target(catalog.RECONCILE.outputs[0]))) == {"lambda:InvokeFunction"}
    [archive_id] = synthesized.resources("AWS::Events::Archive")
    assert on(arn(archive_id)) == {"events:StartReplay"}
    # add-seller, remove-seller, set-app-credentials: the secrets; the accounts table.
    [app_secret] = synthesized.resources("AWS::SecretsManager::Secret")
    assert "secretsmanager:PutSecretValue" in on({"Ref": app_secret})
    sellers = [
        resource
        for s in statements(synthesized, OPERATOR)
        for resource in as_list(s["Resource"])
        if ":secret:sellerstream/sellers/*" in json.dumps(resource)
    ]
    assert on(sellers[0]) >= {
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DeleteSecret",
    }
    accounts = synthesized.output_target(catalog.ACCOUNTS_TABLE.output)
    assert on(arn(accounts)) >= {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    # ship: the stored order's marketplace, read only.
    assert on(arn(synthesized.output_target(catalog.ORDERS_TABLE.output))) == {"dynamodb:GetItem"}
    # No other table, and no function but reconcile.
    tables = {synthesized.output_target(table.output) for table in catalog.TABLES}
    functions = set(synthesized.resources("AWS::Lambda::Function"))
    named = {
        r["Fn::GetAtt"][0]
        for s in statements(synthesized, OPERATOR)
        for r in as_list(s["Resource"])
        if isinstance(r, dict) and "Fn::GetAtt" in r
    }
    assert named & tables == {accounts, synthesized.output_target(catalog.ORDERS_TABLE.output)}
    assert named & functions == {synthesized.output_target(catalog.RECONCILE.outputs[0])}
    assert all(resources[logical_id]["Type"] != "AWS::IAM::Role" for logical_id in named)


@pytest.mark.parametrize("output_id", [OPERATOR, READ_ONLY])
def test_given_either_policy_then_no_action_wildcard_and_all_resources_only_where_there_is_no_scope(
    with_destinations: Synthesized, output_id: str
) -> None:
    found = statements(with_destinations, output_id)

    actions = [a for s in found for a in as_list(s["Action"])]
    everywhere = {a for s in found if as_list(s["Resource"]) == ["*"] for a in as_list(s["Action"])}

    assert not [a for a in actions if "*" in a]
    assert everywhere == {"secretsmanager:ListSecrets", "cloudwatch:DescribeAlarms"}
    # Queues found by a tag rather than named: counts only, and this stack's tag value only.
    tagged = [s for s in found if "Condition" in s]
    assert [as_list(s["Action"]) for s in tagged] == [["sqs:GetQueueAttributes"]]
    assert tagged[0]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": "SellerStream"}}


def test_given_destinations_then_their_dlqs_and_the_publishers_carry_the_tag_status_counts_them_by(
    with_destinations: Synthesized,
) -> None:
    outputs = with_destinations.json["Outputs"]
    watched = {
        outputs[name]["Value"]["Ref"]
        for name in outputs
        if name.startswith("EventsDestination") and name.endswith("DeadLetterQueueUrl")
    } | {with_destinations.output_target("ChangeEventsDeadLetterQueueUrl")}

    tagged = {
        queue_id
        for queue_id, found in with_destinations.resources("AWS::SQS::Queue").items()
        if {"Key": STACK_TAG, "Value": "SellerStream"} in found["Properties"].get("Tags", [])
    }

    assert len(watched) == 6 and tagged == watched


# -- size: IAM refuses a managed policy over 6,144 characters (whitespace not counted), counted
# with CloudFormation's values in place of the template's references ----------------------------

REGION, ACCOUNT = "ap-southeast-2", "123456789012"  # a region with one of the longest names
# CloudFormation names what the template leaves unnamed <stack>-<logical id>-<12 characters>,
# within the service's limit (SQS 80, Lambda 64).
NAME_LIMITS = {"AWS::SQS::Queue": 80, "AWS::Lambda::Function": 64}
ARN_FORMATS = {
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Events::Archive": "arn:aws:events:{region}:{account}:archive/{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/12345678-1234-1234-1234-123456789012",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf",
}


def resolved(value: Any, synthesized: Synthesized) -> Any:
    stack = synthesized.names.stack_id
    if isinstance(value, list):
        return [resolved(item, synthesized) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolved(part, synthesized) for part in parts)
    reference = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
    if reference is None:
        return {key: resolved(item, synthesized) for key, item in value.items()}
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/"
        "12345678-1234-1234-1234-123456789012",
    }
    if reference in pseudo:
        return pseudo[reference]
    resource_type = synthesized.json["Resources"][reference]["Type"]
    name = f"{stack}-{reference}-ABCDEFGHIJKL"[: NAME_LIMITS.get(resource_type, 512)]
    return ARN_FORMATS[resource_type].format(region=REGION, account=ACCOUNT, name=name)


@pytest.mark.parametrize("output_id", [OPERATOR, READ_ONLY])
def test_given_the_largest_deployment_then_each_policy_fits_in_a_managed_policy(
    largest: Synthesized, output_id: str
) -> None:
    # Given the longest stage, every type, four partner sources, onboarding and 20 destinations
    policy = largest.json["Resources"][largest.output_target(output_id)]["Properties"]["PolicyDocument"]

    # When CloudFormation has put its names in
    document = json.dumps(resolved(policy, largest), separators=(",", ":"))

    # Then IAM takes it (a consumer more in the catalog may need its queues found by the stack's
    # tag, as the destinations' DLQs are, rather than named)
    assert len(document) < MANAGED_POLICY_MAX_CHARACTERS, len(document)


@pytest.mark.parametrize("fixture", ["synthesized", "with_destinations"])
def test_given_the_policies_then_nag_acknowledges_only_their_scoped_wildcards(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)
    [report] = [
        r for r in synthesized.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    acknowledged = {
        s["ruleName"]
        for s in report["suppressedViolations"]
        if "OperatorPolicies" in json.dumps(s["violatingConstructs"])
    }

    assert report["violations"] == []
    assert acknowledged == {
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
        "secret:sellerstream/sellers/*]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay/*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:*]",
    }
