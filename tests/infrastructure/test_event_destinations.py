"""Destinations of SellerStream's events from CDK context, without code: each a rule on SellerStream's
bus with its filters, a target that retries then dead-letters to its own alarmed DLQ, and outputs the
operator (and ``sellerstream events``) read. A malformed value is refused at synth, in one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog
from stacks import constants
from stacks.event_destinations import (
    MAX_RATE_PER_SECOND,
    EventsOutputs,
    destination_outputs,
    parse_destinations,
)
from tests.infrastructure.conftest import DESTINATIONS, OTHER_ACCOUNT, SECRET_ARN, Synthesized
from tests.infrastructure.test_delivery_paths import EVENTS, key_statements
from tests.infrastructure.test_stack import pattern_rules, queue_policy_statements

BY_NAME = {destination["name"]: destination for destination in DESTINATIONS}


def rule_of(deployed: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    rule_id = deployed.output_target(destination_outputs(name).rule_arn)
    return rule_id, deployed.json["Resources"][rule_id]["Properties"]


def target_of(deployed: Synthesized, name: str) -> dict[str, Any]:
    [target] = rule_of(deployed, name)[1]["Targets"]
    return dict(target)


def role_statements(deployed: Synthesized, role_id: str) -> list[dict[str, Any]]:
    role = deployed.json["Resources"][role_id]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_given_no_destinations_then_no_rule_on_the_bus_and_an_empty_index(synthesized: Synthesized) -> None:
    assert pattern_rules(synthesized) == {}
    assert synthesized.json["Outputs"][EventsOutputs.DESTINATIONS]["Value"] == "{}"


def test_given_destinations_then_the_index_output_names_each_with_its_kind(
    with_destinations: Synthesized,
) -> None:
    index = json.loads(with_destinations.json["Outputs"][EventsOutputs.DESTINATIONS]["Value"])

    assert index == {d["name"]: d["kind"] for d in DESTINATIONS}


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        (
            "crm",
            {
                "source": [catalog.EVENT_SOURCE],
                "detail-type": ["Order Changed", "Shipment Confirmed"],
                "detail": {"seller_id": ["A3TH9S8BH6GOGM", "A1SELLERSTREAMT"]},
            },
        ),
        ("hooks", {"source": [catalog.EVENT_SOURCE]}),
        ("erp", {"source": [catalog.EVENT_SOURCE], "detail-type": ["Report Ready"]}),
    ],
)
def test_given_each_destination_then_its_own_rule_on_sellerstreams_bus_matches_its_filters(
    with_destinations: Synthesized, name: str, pattern: dict[str, Any]
) -> None:
    _, rule = rule_of(with_destinations, name)

    assert rule["EventBusName"] == {"Ref": with_destinations.output_target(EventsOutputs.BUS_NAME)}
    assert rule["EventPattern"] == pattern


@pytest.mark.parametrize("name", list(BY_NAME))
def test_given_each_destination_then_retries_a_day_then_dead_letters_to_its_own_encrypted_queue(
    with_destinations: Synthesized, name: str
) -> None:
    rule_id, _ = rule_of(with_destinations, name)
    target = target_of(with_destinations, name)
    dlq_id = with_destinations.output_target(destination_outputs(name).dead_letter_queue_url)
    publisher_dlq_id = with_destinations.output_target(EventsOutputs.DEAD_LETTER_QUEUE_URL)
    resources = with_destinations.json["Resources"]

    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": constants.DESTINATION_MAX_EVENT_AGE_SECONDS,
        "MaximumRetryAttempts": constants.DESTINATION_MAX_RETRY_ATTEMPTS,
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    dlq = resources[dlq_id]["Properties"]
    assert dlq["KmsMasterKeyId"] == resources[publisher_dlq_id]["Properties"]["KmsMasterKeyId"]
    assert dlq["MessageRetentionPeriod"] == catalog.DLQ_RETENTION_DAYS * 86400
    [allow] = [s for s in queue_policy_statements(with_destinations, dlq_id) if s["Effect"] == "Allow"]
    assert (allow["Principal"], allow["Action"]) == (EVENTS, "sqs:SendMessage")
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


@pytest.mark.parametrize("name", list(BY_NAME))
def test_given_each_destination_then_new_dead_letters_and_failed_deliveries_alarm(
    with_destinations: Synthesized, name: str
) -> None:
    rule_id, _ = rule_of(with_destinations, name)
    dlq_id = with_destinations.output_target(destination_outputs(name).dead_letter_queue_url)
    found = [a["Properties"] for a in with_destinations.resources("AWS::CloudWatch::Alarm").values()]

    on_dlq = [a for a in found if json.dumps({"Fn::GetAtt": [dlq_id, "QueueName"]}) in json.dumps(a)]
    on_rule = [a for a in found if json.dumps({"Ref": rule_id}) in json.dumps(a)]

    assert len(on_dlq) == 1 and "DIFF(FILL(visible, 0))" in json.dumps(on_dlq[0])
    assert f"--destination {name}" in on_dlq[0]["AlarmDescription"]
    assert len(on_rule) == 1 and "InvocationsFailedToBeSentToDlq" in json.dumps(on_rule[0])


def test_given_destinations_then_eventbridge_may_use_the_queue_key_for_their_dlqs(
    with_destinations: Synthesized,
) -> None:
    [(_, statement)] = key_statements(with_destinations, EVENTS, "AllowEventBridgeToUseTheKey")

    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_given_an_sqs_destination_then_a_role_only_for_another_accounts_queue_decided_at_deploy(
    with_destinations: Synthesized,
) -> None:
    target = target_of(with_destinations, "crm")
    condition_id, role, no_role = target["RoleArn"]["Fn::If"]
    role_id = role["Fn::GetAtt"][0]

    assert target["Arn"] == BY_NAME["crm"]["arn"]
    assert no_role == {"Ref": "AWS::NoValue"}  # this account's queue: EventBridge's service principal
    assert with_destinations.json["Conditions"][condition_id] == {
        "Fn::Not": [{"Fn::Equals": [OTHER_ACCOUNT, {"Ref": "AWS::AccountId"}]}]
    }
    statements = role_statements(with_destinations, role_id)
    assert statements[0] == {
        "Action": "sqs:SendMessage",
        "Effect": "Allow",
        "Resource": BY_NAME["crm"]["arn"],
    }
    assert statements[1]["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}
    [rule] = [r for r in with_destinations.json["Rules"].values() if "queue must be" in json.dumps(r)]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": ["us-east-1", {"Ref": "AWS::Region"}]}


def rendered(value: Any, references: dict[str, str]) -> str:
    """An output's Fn::Join as text, each reference spelled by ``references``."""
    parts = value["Fn::Join"][1]
    return "".join(
        part if isinstance(part, str) else references[json.dumps(part, sort_keys=True)] for part in parts
    )


def test_given_an_sqs_destination_then_the_queue_policy_to_add_is_an_output(
    with_destinations: Synthesized,
) -> None:
    rule_id, _ = rule_of(with_destinations, "crm")
    role_id = target_of(with_destinations, "crm")["RoleArn"]["Fn::If"][1]["Fn::GetAtt"][0]
    output = with_destinations.json["Outputs"][destination_outputs("crm").policy]["Value"]
    references = {
        json.dumps({"Fn::GetAtt": [rule_id, "Arn"]}, sort_keys=True): "RULE-ARN",
        json.dumps({"Fn::GetAtt": [role_id, "Arn"]}, sort_keys=True): "ROLE-ARN",
    }

    _, other_account, same_account = output["Fn::If"]

    assert json.loads(rendered(same_account, references)) == {
        "Sid": "AllowEventsDestinationCrm",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": BY_NAME["crm"]["arn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": "RULE-ARN"}},
    }
    assert json.loads(rendered(other_account, references))["Principal"] == {"AWS": "ROLE-ARN"}


@pytest.mark.parametrize(
    ("name", "auth_type", "parameters"),
    [
        ("hooks", "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "name", "ApiKeyValue": "value"}}),
        ("ledger", "BASIC", {"BasicAuthParameters": {"Username": "username", "Password": "password"}}),
    ],
)
def test_given_a_webhook_then_its_connection_reads_the_credentials_from_the_secret(
    with_destinations: Synthesized, name: str, auth_type: str, parameters: dict[str, dict[str, str]]
) -> None:
    connection = connection_of(with_destinations, name)

    assert connection["AuthorizationType"] == auth_type
    [(block, fields)] = parameters.items()
    assert connection["AuthParameters"][block] == {
        key: f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString:{field}::}}}}"
        for key, field in fields.items()
    }


def connection_of(deployed: Synthesized, name: str) -> dict[str, Any]:
    target = target_of(deployed, name)
    api_destination = deployed.json["Resources"][target["Arn"]["Fn::GetAtt"][0]]
    assert api_destination["Type"] == "AWS::Events::ApiDestination"
    connection_id = api_destination["Properties"]["ConnectionArn"]["Fn::GetAtt"][0]
    return dict(deployed.json["Resources"][connection_id]["Properties"])


def test_given_an_oauth_webhook_then_client_credentials_to_the_token_url_with_the_scope(
    with_destinations: Synthesized,
) -> None:
    oauth = connection_of(with_destinations, "erp")["AuthParameters"]["OAuthParameters"]

    assert connection_of(with_destinations, "erp")["AuthorizationType"] == "OAUTH_CLIENT_CREDENTIALS"
    assert oauth["AuthorizationEndpoint"] == BY_NAME["erp"]["token_url"]
    assert oauth["ClientParameters"] == {
        "ClientID": f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString:client_id::}}}}",
        "ClientSecret": f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString:client_secret::}}}}",
    }
    body = {p["Key"]: p["Value"] for p in oauth["OAuthHttpParameters"]["BodyParameters"]}
    assert body == {"grant_type": "client_credentials", "scope": "events.write"}


@pytest.mark.parametrize(("name", "rate"), [("hooks", 5), ("ledger", 10)])
def test_given_a_webhook_then_posts_to_its_url_at_its_rate_through_a_role_that_may_invoke_it_only(
    with_destinations: Synthesized, name: str, rate: int
) -> None:
    target = target_of(with_destinations, name)
    api_id = target["Arn"]["Fn::GetAtt"][0]
    api_destination = with_destinations.json["Resources"][api_id]["Properties"]

    assert api_destination["InvocationEndpoint"] == BY_NAME[name]["url"]
    assert (api_destination["HttpMethod"], api_destination["InvocationRateLimitPerSecond"]) == ("POST", rate)
    [statement] = role_statements(with_destinations, target["RoleArn"]["Fn::GetAtt"][0])
    assert statement["Action"] == "events:InvokeApiDestination"
    assert statement["Resource"] == {"Fn::GetAtt": [api_id, "ArnForPolicy"]}


def test_given_another_bus_then_a_role_that_may_put_events_on_it_only_and_its_policy_output(
    with_destinations: Synthesized,
) -> None:
    target = target_of(with_destinations, "analytics")
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = with_destinations.json["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    output = with_destinations.json["Outputs"][destination_outputs("analytics").policy]["Value"]

    assert target["Arn"] == BY_NAME["analytics"]["arn"]
    assert role_statements(with_destinations, role_id) == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": BY_NAME["analytics"]["arn"]}
    ]
    assert trust["Principal"] == EVENTS
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "rule/sellerstream/*" in json.dumps(trust["Condition"]["ArnLike"])
    policy = json.loads(rendered(output, {json.dumps({"Fn::GetAtt": [role_id, "Arn"]}): "ROLE-ARN"}))
    assert (policy["Principal"], policy["Action"], policy["Resource"]) == (
        {"AWS": "ROLE-ARN"},
        "events:PutEvents",
        BY_NAME["analytics"]["arn"],
    )


def test_given_destinations_in_cdk_json_then_a_list_is_taken_as_it_is() -> None:
    assert parse_destinations(DESTINATIONS) == parse_destinations(json.dumps(DESTINATIONS))
    assert parse_destinations(None) == parse_destinations("") == ()


def webhook(**changes: Any) -> dict[str, Any]:
    return {**BY_NAME["hooks"], **changes}


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("[{", "events_destinations must be a JSON list of destinations: "),
        ('{"name": "crm"}', "events_destinations must be a JSON list of destinations, not dict"),
        (["crm"], "destination 1 must be a JSON object"),
        ([{"kind": "sqs"}], "destination 1: name must be 1-32 letters or digits"),
        ([{**BY_NAME["crm"], "name": "my-crm"}], "name must be 1-32 letters or digits"),
        ([{"name": "x", "kind": "sns"}], "destination 'x': kind must be one of sqs, webhook, bus, not 'sns'"),
        ([{"name": "x", "kind": "sqs"}], "destination 'x': arn is required"),
        ([{"name": "x", "kind": "sqs", "arn": "arn:aws:sns:us-east-1:123456789012:t"}], "an SQS queue's ARN"),
        ([{"name": "x", "kind": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q.fifo"}], "FIFO queue"),
        ([{"name": "x", "kind": "bus", "arn": "arn:aws:sqs:us-east-1:123456789012:q"}], "an event bus's ARN"),
        ([{**BY_NAME["crm"], "url": "https://x"}], "unknown field 'url' for kind sqs"),
        ([{**BY_NAME["crm"], "detail_types": ["Order Shipped"]}], "unknown detail-type 'Order Shipped'"),
        ([{**BY_NAME["crm"], "detail_types": []}], "detail_types must be a non-empty list"),
        ([{**BY_NAME["crm"], "sellers": ["not a seller"]}], "is not a seller id"),
        ([webhook(url="http://hooks.example.com/")], "url must be an https:// URL"),
        ([webhook(url="https://user:pw@hooks.example.com/")], "url must be an https:// URL"),
        ([webhook(auth="bearer")], "auth must be one of api_key, basic, oauth"),
        ([webhook(secret_arn="sellerstream/hooks")], "secret_arn must be a Secrets Manager secret's ARN"),
        (
            [webhook(rate_per_second=0)],
            f"rate_per_second must be a whole number from 1 to {MAX_RATE_PER_SECOND}",
        ),
        ([webhook(rate_per_second=301)], "rate_per_second must be a whole number"),
        ([webhook(token_url="https://login.example.com/")], "token_url is for auth oauth only"),
        ([webhook(auth="oauth")], "token_url is required"),
        ([BY_NAME["crm"], {**BY_NAME["hooks"], "name": "CRM"}], "two destinations named 'crm' and 'CRM'"),
        ([{**BY_NAME["crm"], "name": f"d{i}"} for i in range(21)], "at most 20 destinations"),
    ],
)
def test_given_a_malformed_destination_then_synthesis_refuses_in_one_line(
    value: Any, refusal: str, tmp_path
) -> None:
    from app import build_app

    with pytest.raises(SystemExit) as refused:
        build_app(context={"events_destinations": value}, outdir=str(tmp_path))

    message = str(refused.value)
    assert refusal in message and "\n" not in message and message.startswith("events_destinations")
