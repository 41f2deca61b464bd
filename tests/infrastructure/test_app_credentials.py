"""The app-credentials consumer: Amazon's client-secret notifications, the hourly expiry check, its alarm."""

from __future__ import annotations

import json
from typing import Any

from sellerstream import catalog, metric_names
from stacks import constants
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_stack import AMAZON, function, queue, queue_policy_statements

EVENTS = {"Service": "events.amazonaws.com"}


def schedule_rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        rule_id: rule["Properties"]
        for rule_id, rule in synthesized.resources("AWS::Events::Rule").items()
        if "ScheduleExpression" in rule["Properties"]
    }


def role_statements(synthesized: Synthesized, kind: str) -> list[dict[str, Any]]:
    role_id = function(synthesized, kind)["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_given_app_queue_then_amazon_and_the_hourly_schedule_only_may_send(synthesized: Synthesized) -> None:
    queue_id, _, _ = queue(synthesized, "app")
    [(rule_id, rule)] = schedule_rules(synthesized).items()

    allows = [s for s in queue_policy_statements(synthesized, queue_id) if s["Effect"] == "Allow"]

    [amazon] = [s for s in allows if AMAZON in json.dumps(s["Principal"])]
    [schedule] = [s for s in allows if s["Principal"] == EVENTS]
    assert len(allows) == 2
    assert sorted(amazon["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert schedule["Action"] == "sqs:SendMessage"
    assert schedule["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert "Input" not in target  # the Scheduled Event itself, with its own id, is the body


def test_given_app_function_then_it_may_replace_the_lwa_secret_but_read_no_sellers_secret(
    synthesized: Synthesized,
) -> None:
    [secret_id] = synthesized.resources("AWS::SecretsManager::Secret")
    statements = role_statements(synthesized, "app")

    secret_actions = {
        action: statement["Resource"]
        for statement in statements
        for action in actions_of(statement)
        if action.startswith("secretsmanager:")
    }
    assert set(secret_actions) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
    }
    assert all(resource == {"Ref": secret_id} for resource in secret_actions.values())
    assert constants.SELLER_SECRET_PREFIX not in json.dumps(statements)
    accounts_id = synthesized.output_target("AccountsTableName")
    table_actions = {
        action
        for statement in statements
        if {"Fn::GetAtt": [accounts_id, "Arn"]}
        in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        for action in actions_of(statement)
    }
    assert table_actions == {"dynamodb:GetItem", "dynamodb:UpdateItem"}


def test_given_other_consumers_then_they_may_not_write_the_lwa_secret(synthesized: Synthesized) -> None:
    for kind in ("orders", "listings", "reports"):
        actions = {
            action for statement in role_statements(synthesized, kind) for action in actions_of(statement)
        }
        assert "secretsmanager:PutSecretValue" not in actions, kind


def test_given_secret_expiry_metric_then_alarm_when_days_left_fall_to_the_warning_days(
    synthesized: Synthesized,
) -> None:
    service = function(synthesized, "app")["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]

    [alarm] = [
        a["Properties"]
        for a in synthesized.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric_names.LWA_CLIENT_SECRET_DAYS_LEFT
    ]

    assert alarm["Namespace"] == constants.METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": metric_names.SERVICE_DIMENSION, "Value": service}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Minimum", 3600)
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert alarm["Threshold"] == catalog.LWA_SECRET_EXPIRY_WARNING_DAYS
    # No datapoint (expiry not known yet, a late check) keeps the state instead of flapping to OK.
    assert alarm["TreatMissingData"] == "ignore"
    env = function(synthesized, "app")["Environment"]["Variables"]
    assert env["LWA_SECRET_EXPIRY_WARNING_DAYS"] == str(catalog.LWA_SECRET_EXPIRY_WARNING_DAYS)


def test_given_outputs_then_queue_for_the_developer_console_and_every_log_group(
    synthesized: Synthesized,
) -> None:
    queue_id, _, _ = queue(synthesized, "app")
    outputs = synthesized.json["Outputs"]

    assert outputs["AppCredentialsQueueArn"]["Value"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    for kind, output_id in (
        ("orders", "OrderChangeLogGroupName"),
        ("listings", "ListingStatusLogGroupName"),
        ("reports", "ReportFinishedLogGroupName"),
        ("app", "AppCredentialsLogGroupName"),
    ):
        log_group_id = function(synthesized, kind)["LoggingConfig"]["LogGroup"]["Ref"]
        assert outputs[output_id]["Value"] == {"Ref": log_group_id}, kind
