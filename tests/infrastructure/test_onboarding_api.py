"""The onboarding API (``-c onboarding=true``): an HTTP API whose GET /login and GET /redirect go to
one function, given what a new (seller, region) is subscribed with; throttled, access-logged, and
public by design (cdk-nag's finding acknowledged with why); absent unless asked for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import build_app
from sellerstream import catalog, metric_names
from sellerstream.config import OnboardingSettings, SpApiSettings
from tests.infrastructure.conftest import SPAPI_APPLICATION_ID, Synthesized

HANDLER = catalog.ONBOARDING.handler


def onboarding_function(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    [(function_id, function)] = [
        (function_id, function["Properties"])
        for function_id, function in synthesized.resources("AWS::Lambda::Function").items()
        if function["Properties"].get("Handler") == HANDLER
    ]
    return function_id, function


def role_statements(synthesized: Synthesized, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def joined(value: Any) -> str:
    """A Fn::Join of texts and references as one text, each reference as <logical id>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" not in value:
        return f"<{value.get('Ref') or value['Fn::GetAtt'][0]}>"
    separator, parts = value["Fn::Join"]
    return str(separator).join(joined(part) for part in parts)


def test_given_onboarding_not_asked_for_then_no_api_and_no_function(synthesized: Synthesized) -> None:
    assert not [
        r for r in synthesized.json["Resources"].values() if r["Type"].startswith("AWS::ApiGatewayV2::")
    ]
    assert not [
        f
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == HANDLER
    ]
    assert not {"OnboardingLoginUrl", "OnboardingRedirectUrl"} & set(synthesized.json["Outputs"])


def test_given_onboarding_then_login_and_redirect_go_to_one_function(in_two_regions: Synthesized) -> None:
    function_id, _ = onboarding_function(in_two_regions)

    [api_id] = in_two_regions.resources("AWS::ApiGatewayV2::Api")
    routes = in_two_regions.resources("AWS::ApiGatewayV2::Route").values()
    integrations = in_two_regions.resources("AWS::ApiGatewayV2::Integration")

    assert sorted(route["Properties"]["RouteKey"] for route in routes) == ["GET /login", "GET /redirect"]
    targets = {joined(route["Properties"]["Target"]) for route in routes}
    [integration_id] = integrations
    assert targets == {f"integrations/<{integration_id}>"}
    assert integrations[integration_id]["Properties"]["IntegrationUri"] == {
        "Fn::GetAtt": [function_id, "Arn"]
    }
    assert integrations[integration_id]["Properties"]["PayloadFormatVersion"] == "2.0"
    # API Gateway gives up after 29 s: the function stops first.
    assert integrations[integration_id]["Properties"]["TimeoutInMillis"] == 29000
    assert catalog.ONBOARDING.sizing.timeout_seconds < 29
    # Only this API may invoke it, on its two paths.
    permissions = [
        p["Properties"]
        for p in in_two_regions.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    assert sorted(joined(p["SourceArn"]).rsplit(f"<{api_id}>", 1)[1] for p in permissions) == [
        "/*/*/login",
        "/*/*/redirect",
    ]


def test_given_onboarding_then_the_stage_is_throttled_and_access_logged_without_query_strings(
    in_two_regions: Synthesized,
) -> None:
    [stage] = in_two_regions.resources("AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]

    assert properties["StageName"] == "$default" and properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"] == {"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20}
    log_group_id = properties["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    log_group = in_two_regions.json["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 30
    fields = json.loads(properties["AccessLogSettings"]["Format"])
    assert fields["requestId"] == "$context.requestId"
    # Amazon's code, the signed state and the seller's id travel in the query string: never logged.
    assert not [
        value for value in fields.values() if "path" in value.lower() or "querystring" in value.lower()
    ]


def test_given_onboarding_then_its_environment_is_its_settings_and_what_sellers_are_subscribed_with(
    in_two_regions: Synthesized,
) -> None:
    _, function = onboarding_function(in_two_regions)
    variables = function["Environment"]["Variables"]

    # The SP-API settings as every SP-API function has them.
    for setting in SpApiSettings.fields().values():
        if setting.required or setting.variable == "RATE_BUDGET_TABLE_NAME":
            assert setting.variable in variables
    assert variables["SPAPI_APPLICATION_ID"] == SPAPI_APPLICATION_ID
    assert variables["ONBOARDING_DRAFT_APP"] == "true"
    enabled = {t.name for t in catalog.subscribed_types()}  # every type (the fixtures' default)
    assert set(variables["NOTIFICATION_TYPES"].split(",")) == enabled
    assert (
        variables["PROCESSING_DIRECTIVES"] == in_two_regions.json["Outputs"]["ProcessingDirectives"]["Value"]
    )
    # Every queue Amazon sends a seller's subscribed types to, by consumer kind; not the
    # app-credentials queue (the application's own notifications) nor the listings queue (through
    # the partner bus).
    destinations = dict(
        entry.split("=") for entry in joined(variables["SUBSCRIPTION_DESTINATIONS"]).split(",")
    )
    expected = {
        consumer.kind: f"<{in_two_regions.output_target(consumer.outputs.queue_arn)}>"
        for consumer in catalog.CONSUMERS
        if any(t.transport is catalog.Transport.SQS and t.subscription for t in consumer.types)
    }
    assert destinations == expected
    assert not {"app", "fulfillment", "listings"} & set(destinations)
    # And the function reads it back (tokens stand in for what CloudFormation fills in).
    readable = {name: value if isinstance(value, str) else joined(value) for name, value in variables.items()}
    settings = OnboardingSettings.from_environment(readable)
    assert settings.onboarding_draft_app is True
    assert settings.processing_directives == json.loads(variables["PROCESSING_DIRECTIVES"])


def test_given_onboarding_then_the_function_may_write_seller_secrets_and_accounts_only(
    in_two_regions: Synthesized,
) -> None:
    _, function = onboarding_function(in_two_regions)
    statements = role_statements(in_two_regions, function["Role"]["Fn::GetAtt"][0])
    accounts = in_two_regions.output_target(catalog.ACCOUNTS_TABLE.output)
    budget = in_two_regions.output_target(catalog.RATE_BUDGET_TABLE.output)

    def granted(resource_part: str) -> set[str]:
        return {
            action
            for s in statements
            if any(resource_part in json.dumps(r) for r in as_list(s["Resource"]))
            for action in as_list(s["Action"])
        }

    assert granted(":secret:sellerstream/sellers/*") == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
    }
    assert "secretsmanager:GetSecretValue" in granted("CredentialsLwaAppSecret")
    assert "secretsmanager:PutSecretValue" not in granted("CredentialsLwaAppSecret")
    assert granted(accounts) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert granted(budget) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    tables = {in_two_regions.output_target(table.output) for table in catalog.TABLES}
    assert {t for t in tables if granted(t)} == {accounts, budget}
    assert "secretsmanager:DeleteSecret" not in {a for s in statements for a in as_list(s["Action"])}


def test_given_onboarding_then_the_urls_to_give_sellers_and_the_developer_console_are_outputs(
    in_two_regions: Synthesized,
) -> None:
    [api_id] = in_two_regions.resources("AWS::ApiGatewayV2::Api")
    outputs = in_two_regions.json["Outputs"]

    login = joined(outputs["OnboardingLoginUrl"]["Value"])
    redirect = joined(outputs["OnboardingRedirectUrl"]["Value"])

    assert login.startswith(f"https://<{api_id}>.execute-api.") and login.endswith("/login")
    assert redirect == login.removesuffix("login") + "redirect"
    assert {"OnboardingFunctionName", "OnboardingLogGroupName"} <= set(outputs)


def test_given_onboarding_then_nag_clean_and_only_the_public_routes_acknowledged_for_authorization(
    in_two_regions: Synthesized,
) -> None:
    [report] = [
        r for r in in_two_regions.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    assert report["violations"] == []
    acknowledged = [
        s for s in report["suppressedViolations"] if s["ruleName"].startswith("AwsSolutions-APIG")
    ]
    assert {s["ruleName"] for s in acknowledged} == {"AwsSolutions-APIG4"}
    assert all("Public by design" in s["reason"] for s in acknowledged)


def test_given_the_catalog_then_onboarding_is_described_but_not_a_scheduled_job() -> None:
    assert catalog.ONBOARDING not in catalog.JOBS
    assert catalog.ONBOARDING.settings is OnboardingSettings


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"onboarding": "true"}, "onboarding=true needs -c spapi_application_id=amzn1.sp.solution."),
        ({"onboarding": "true", "spapi_application_id": "amzn1.application-oa2-client.x"}, "App ID"),
        (
            {"onboarding": "yes", "spapi_application_id": SPAPI_APPLICATION_ID},
            "onboarding must be true or false",
        ),
        (
            {"onboarding": "true", "spapi_application_id": SPAPI_APPLICATION_ID, "onboarding_draft_app": "1"},
            "onboarding_draft_app must be true or false",
        ),
    ],
    ids=["no-application-id", "not-an-application-id", "onboarding-not-a-flag", "draft-not-a-flag"],
)
def test_given_onboarding_misconfigured_then_synthesis_refuses_in_one_line(
    context: dict[str, Any], message: str, tmp_path: Any
) -> None:
    with pytest.raises(SystemExit) as refused:
        build_app(context=context, outdir=str(tmp_path))

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_given_onboarding_then_a_seller_sent_back_to_start_again_alarms(in_two_regions: Synthesized) -> None:
    # Given the stack with the onboarding API; then its failures (code exchange or store) alarm,
    # on the function's own metric
    alarms = in_two_regions.template.find_resources("AWS::CloudWatch::Alarm")
    failures = [
        alarm["Properties"]
        for alarm in alarms.values()
        if alarm["Properties"].get("MetricName") == metric_names.ONBOARDING_FAILURES
    ]

    assert len(failures) == 1 and failures[0]["Threshold"] == 1
    assert failures[0]["Dimensions"][0]["Value"] == catalog.ONBOARDING.service_name
