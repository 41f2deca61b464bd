"""Reconciliation in the stack: the function, its schedule, what it may do, its alarms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream import catalog, metric_names
from stacks import constants
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_alarms_and_dashboard import alarms, pipeline_alarm
from tests.infrastructure.test_app_credentials import actions_of
from tests.infrastructure.test_stack import function

HANDLER = "sellerstream.handlers.reconcile.lambda_handler"


def reconcile_function(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    [(function_id, found)] = [
        (logical_id, f["Properties"])
        for logical_id, f in synthesized.resources("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == HANDLER
    ]
    return function_id, found


def schedules(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [s["Properties"] for s in synthesized.resources("AWS::Scheduler::Schedule").values()]


def statements_of(synthesized: Synthesized, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.fixture(scope="module")
def with_orders_v0(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield Synthesized(tmp_path_factory.mktemp("cdk.out"), {"orders_api_version": "v0"})


def test_given_the_stack_then_the_reconcile_function_runs_like_the_consumers(
    synthesized: Synthesized,
) -> None:
    _, reconcile = reconcile_function(synthesized)
    orders = function(synthesized, "orders")

    for setting in ("Runtime", "Architectures", "Layers", "TracingConfig"):
        assert reconcile.get(setting) == orders.get(setting)
    assert reconcile["LoggingConfig"]["LogFormat"] == orders["LoggingConfig"]["LogFormat"] == "JSON"
    assert reconcile["LoggingConfig"]["LogGroup"] != orders["LoggingConfig"]["LogGroup"]  # its own
    variables = reconcile["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == catalog.RECONCILE.service_name
    assert variables["ORDERS_TABLE_NAME"] == orders["Environment"]["Variables"]["ORDERS_TABLE_NAME"]
    assert variables["RATE_BUDGET_TABLE_NAME"] == orders["Environment"]["Variables"]["RATE_BUDGET_TABLE_NAME"]
    assert variables["RECONCILE_OVERLAP_SECONDS"] == str(constants.RECONCILE_OVERLAP_SECONDS)
    assert reconcile["Timeout"] == catalog.RECONCILE.sizing.timeout_seconds


def test_given_the_default_interval_then_a_schedule_invokes_the_function_hourly_for_every_seller(
    synthesized: Synthesized,
) -> None:
    function_id, _ = reconcile_function(synthesized)

    [schedule] = schedules(synthesized)

    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert schedule["Target"]["Input"] == "{}"
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0


def test_given_an_interval_in_context_then_the_schedule_follows_it(staged: Synthesized) -> None:
    [schedule] = schedules(staged)

    assert schedule["ScheduleExpression"] == "rate(15 minutes)"


@pytest.mark.parametrize("interval", ["0", "4", "abc", str(constants.MAX_RECONCILE_INTERVAL_MINUTES + 1)])
def test_given_an_unusable_interval_then_synthesis_refuses_it(interval: str) -> None:
    from app import build_app

    with pytest.raises(SystemExit, match="reconcile_interval_minutes must be"):
        build_app(context={"reconcile_interval_minutes": interval, "aws:cdk:bundling-stacks": []})


def test_given_the_function_then_it_lists_sellers_reads_their_secrets_and_writes_orders_only(
    synthesized: Synthesized,
) -> None:
    _, reconcile = reconcile_function(synthesized)
    statements = statements_of(synthesized, reconcile["Role"]["Fn::GetAtt"][0])
    actions = {action for statement in statements for action in actions_of(statement)}

    assert "secretsmanager:ListSecrets" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"} <= actions
    assert not {action for action in actions if action.startswith(("sqs:", "s3:"))}
    assert "secretsmanager:PutSecretValue" not in actions


def test_given_the_function_then_its_errors_and_seller_failures_alarm(synthesized: Synthesized) -> None:
    function_id, _ = reconcile_function(synthesized)

    failures = pipeline_alarm(synthesized, metric_names.RECONCILE_FAILURES, catalog.RECONCILE.service_name)
    errors = [
        a
        for a in alarms(synthesized)
        if a.get("MetricName") == "Errors"
        and a.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    ]

    assert failures["Threshold"] == 1 and failures["AlarmActions"]
    assert len(errors) == 1 and errors[0]["AlarmActions"]


def test_given_outputs_then_the_cli_finds_the_function(synthesized: Synthesized) -> None:
    function_id, _ = reconcile_function(synthesized)

    assert synthesized.output_target("ReconcileFunctionName") == function_id


def test_given_orders_v0_then_no_reconciliation(with_orders_v0: Synthesized) -> None:
    assert schedules(with_orders_v0) == []
    assert "ReconcileFunctionName" not in with_orders_v0.json["Outputs"]


def table_actions(statements: list[dict[str, Any]], table_id: str) -> set[str]:
    """The actions the statements allow on one table (its own ARN)."""
    arn = {"Fn::GetAtt": [table_id, "Arn"]}
    return {
        action
        for statement in statements
        if arn
        in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        for action in actions_of(statement)
    }


def test_given_the_function_then_it_writes_listings_and_refreshes_sellers_marketplaces(
    synthesized: Synthesized,
) -> None:
    _, reconcile = reconcile_function(synthesized)
    statements = statements_of(synthesized, reconcile["Role"]["Fn::GetAtt"][0])
    listings = function(synthesized, "listings")

    variables = reconcile["Environment"]["Variables"]
    assert variables["LISTINGS_TABLE_NAME"] == listings["Environment"]["Variables"]["LISTINGS_TABLE_NAME"]
    assert table_actions(statements, synthesized.output_target("ListingsTableName")) == {"dynamodb:PutItem"}
    assert table_actions(statements, synthesized.output_target("AccountsTableName")) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }
    listing_statements = statements_of(synthesized, listings["Role"]["Fn::GetAtt"][0])
    assert "dynamodb:UpdateItem" in table_actions(
        listing_statements, synthesized.output_target("AccountsTableName")
    )
