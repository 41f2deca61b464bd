"""Delivery paths that cannot fail silently: alarms reach the topic's subscribers, listings reach
their queue (or the rule's dead-letter queue), and retained tables cannot be deleted by accident."""

from __future__ import annotations

import json
from typing import Any

from sellerstream import catalog
from stacks import constants
from tests.infrastructure.conftest import ALARM_EMAIL, Synthesized
from tests.infrastructure.test_stack import partner_buses, pattern_rules, queue, queue_policy_statements

CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
EVENTS = {"Service": "events.amazonaws.com"}
ALARMS_OF_THIS_ACCOUNT = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {
        "aws:SourceArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudwatch:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":alarm:*",
                ],
            ]
        }
    },
}


def key_statements(
    synthesized: Synthesized, principal: dict[str, str], sid: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    return [
        (key_id, statement)
        for key_id, key in synthesized.resources("AWS::KMS::Key").items()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"] == principal and sid in (None, statement.get("Sid"))
    ]


LISTINGS_RULE_KEY_SID = "AllowEventBridgeToUseTheKey"


def test_given_alarm_topic_then_only_this_accounts_cloudwatch_alarms_may_publish(
    synthesized: Synthesized,
) -> None:
    [(topic_id, topic)] = synthesized.resources("AWS::SNS::Topic").items()
    [policy] = synthesized.resources("AWS::SNS::TopicPolicy").values()

    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    assert (allow["Principal"], allow["Action"], allow["Resource"]) == (
        CLOUDWATCH,
        "sns:Publish",
        {"Ref": topic_id},
    )
    assert allow["Condition"] == ALARMS_OF_THIS_ACCOUNT
    assert [s["Condition"] for s in statements if s["Effect"] == "Deny"] == [
        {"Bool": {"aws:SecureTransport": "false"}}
    ]
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    [(granting_key, statement)] = key_statements(synthesized, CLOUDWATCH)
    assert granting_key == key_id
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"] == ALARMS_OF_THIS_ACCOUNT


def test_given_no_alarm_email_then_no_subscription(synthesized: Synthesized) -> None:
    assert synthesized.resources("AWS::SNS::Subscription") == {}


def test_given_alarm_email_then_the_topic_emails_it(staged: Synthesized) -> None:
    [topic_id] = staged.resources("AWS::SNS::Topic")

    [subscription] = staged.resources("AWS::SNS::Subscription").values()

    assert subscription["Properties"] == {
        "Endpoint": ALARM_EMAIL,
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }


def test_given_partner_source_then_queue_key_has_the_form_aws_documents_for_eventbridge_sqs_targets(
    with_partner_bus: Synthesized, synthesized: Synthesized
) -> None:
    [(key_id, statement)] = key_statements(with_partner_bus, EVENTS, LISTINGS_RULE_KEY_SID)
    queue_id, _, _ = queue(with_partner_bus, "listings")

    assert with_partner_bus.json["Resources"][queue_id]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }
    assert {k: v for k, v in statement.items() if k != "Sid"} == {
        "Effect": "Allow",
        "Principal": EVENTS,
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
    }
    assert key_statements(synthesized, EVENTS, LISTINGS_RULE_KEY_SID) == []  # no bus, no grant for it


def test_given_partner_source_then_rule_target_retries_then_dead_letters_to_its_own_encrypted_queue(
    with_partner_bus: Synthesized,
) -> None:
    [(rule_id, rule)] = pattern_rules(with_partner_bus).items()
    queue_id, _, _ = queue(with_partner_bus, "listings")

    [target] = rule["Properties"]["Targets"]

    dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert dlq_id != queue_id
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": constants.LISTINGS_RULE_MAX_EVENT_AGE_SECONDS,
        "MaximumRetryAttempts": constants.LISTINGS_RULE_MAX_RETRY_ATTEMPTS,
    }
    dlq = with_partner_bus.json["Resources"][dlq_id]["Properties"]
    assert (
        dlq["KmsMasterKeyId"] == with_partner_bus.json["Resources"][queue_id]["Properties"]["KmsMasterKeyId"]
    )
    assert dlq["MessageRetentionPeriod"] == catalog.DLQ_RETENTION_DAYS * 86400
    statements = queue_policy_statements(with_partner_bus, dlq_id)
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert (allow["Principal"], allow["Action"]) == (EVENTS, "sqs:SendMessage")
    assert allow["Resource"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    assert [s["Condition"] for s in statements if s["Effect"] == "Deny"] == [
        {"Bool": {"aws:SecureTransport": "false"}}
    ]
    output = with_partner_bus.json["Outputs"]["ListingsRuleDeadLetterQueueUrl"]["Value"]
    assert output == {"Ref": dlq_id}


def test_given_partner_source_then_undelivered_listings_events_alarm(with_partner_bus: Synthesized) -> None:
    [bus_id] = partner_buses(with_partner_bus)
    [rule_id] = pattern_rules(with_partner_bus)

    [alarm] = [
        a["Properties"]
        for a in with_partner_bus.resources("AWS::CloudWatch::Alarm").values()
        if "AWS/Events" in json.dumps(a)
    ]

    queries = {q["Id"]: q for q in alarm["Metrics"]}
    expression = queries[next(i for i, q in queries.items() if "Expression" in q)]["Expression"]
    watched = {
        q["MetricStat"]["Metric"]["MetricName"]: q["MetricStat"]["Metric"]["Dimensions"]
        for q in queries.values()
        if "MetricStat" in q
    }
    assert set(watched) == {"FailedInvocations", "InvocationsSentToDlq", "InvocationsFailedToBeSentToDlq"}
    for dimensions in watched.values():
        assert sorted(dimensions, key=lambda d: d["Name"]) == [
            {"Name": "EventBusName", "Value": {"Ref": bus_id}},
            {"Name": "RuleName", "Value": {"Ref": rule_id}},
        ]
    assert all(
        f"FILL({query_id}, 0)" in expression for query_id in queries if "MetricStat" in queries[query_id]
    )
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_given_retained_tables_then_deletion_protected_and_the_recreatable_ones_not(
    synthesized: Synthesized,
) -> None:
    tables = synthesized.resources("AWS::DynamoDB::Table")
    # Idempotency records and rate buckets are rebuilt on their own, and reconciliation repairs the
    # pending orders: nothing of a seller's is lost.
    recreatable = {
        synthesized.output_target("IdempotencyTableName"),
        synthesized.output_target("RateBudgetTableName"),
        synthesized.output_target("PendingOrdersTableName"),
    }

    for table_id, table in tables.items():
        retained = table["DeletionPolicy"] == "Retain"
        assert table["Properties"].get("DeletionProtectionEnabled", False) is retained, table_id
        assert retained is (table_id not in recreatable)
