"""The synthesized template: every setting the foundation promises, asserted on CloudFormation."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from stacks import constants
from tests.infrastructure.conftest import Synthesized

AMAZON = constants.SPAPI_NOTIFICATIONS_ACCOUNT_ID


def queue_by_role(synthesized: Synthesized) -> tuple[dict[str, Any], dict[str, Any], str]:
    queues = synthesized.resources("AWS::SQS::Queue")
    [(main_id, main)] = [(qid, q) for qid, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    dlq_id = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return main, queues[dlq_id], main_id


def function_by_handler(synthesized: Synthesized, handler: str) -> dict[str, Any]:
    [function] = [
        f
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return function


ORDER_HANDLER = "sellerstream.handlers.order_change.lambda_handler"


def test_given_orders_queue_then_standard_encrypted_with_dlq_after_five_receives(
    synthesized: Synthesized,
) -> None:
    queue, dlq, _ = queue_by_role(synthesized)

    assert "FifoQueue" not in queue["Properties"]
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == constants.MAX_RECEIVE_COUNT >= 5
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    for q in (queue, dlq):
        assert "Fn::GetAtt" in q["Properties"]["KmsMasterKeyId"]  # a customer-managed key, not aws/sqs


def test_given_function_timeout_then_visibility_is_at_least_six_times(synthesized: Synthesized) -> None:
    queue, _, _ = queue_by_role(synthesized)
    function = function_by_handler(synthesized, ORDER_HANDLER)

    assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


def test_given_queue_policy_then_amazon_may_only_send_and_read_attributes_and_tls_is_required(
    synthesized: Synthesized,
) -> None:
    _, _, queue_id = queue_by_role(synthesized)
    [policy] = [
        p
        for p in synthesized.resources("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert sorted(allows[0]["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert json.dumps(allows[0]["Principal"]).count(AMAZON) == 1
    assert allows[0]["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_given_queue_key_then_amazon_may_generate_data_keys_and_decrypt_only(
    synthesized: Synthesized,
) -> None:
    keys = synthesized.resources("AWS::KMS::Key")
    amazon_statements = [
        statement
        for key in keys.values()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if AMAZON in json.dumps(statement.get("Principal", {}))
    ]

    assert len(amazon_statements) == 1
    assert sorted(amazon_statements[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert all(key["Properties"]["EnableKeyRotation"] for key in keys.values())


def test_given_event_source_mapping_then_partial_batch_failures_and_settings_from_constants(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": constants.ORDER_CHANGE.batch_size,
            "MaximumBatchingWindowInSeconds": constants.ORDER_CHANGE.batching_window_seconds,
            "ScalingConfig": {"MaximumConcurrency": constants.ORDER_CHANGE.max_concurrency},
        },
    )


def test_given_function_then_json_logs_tracing_retention_and_layer(synthesized: Synthesized) -> None:
    function = function_by_handler(synthesized, ORDER_HANDLER)["Properties"]

    assert function["Runtime"] == "python3.11"
    assert function["Architectures"] == ["x86_64"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["Timeout"] == constants.ORDER_CHANGE.timeout_seconds
    assert function["MemorySize"] == constants.ORDER_CHANGE.memory_mb
    assert len(function["Layers"]) == 1
    log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30
    synthesized.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.11"], "CompatibleArchitectures": ["x86_64"]},
    )


def test_given_function_environment_then_names_only_never_credentials(synthesized: Synthesized) -> None:
    variables = function_by_handler(synthesized, ORDER_HANDLER)["Properties"]["Environment"]["Variables"]

    assert set(variables) == {
        "ORDERS_TABLE_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "ACCOUNTS_TABLE_NAME",
        "LWA_APP_SECRET_ID",
        "SELLER_SECRET_PREFIX",
        "ORDERS_API_VERSION",
        "SPAPI_SANDBOX",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "MAX_RECEIVE_COUNT",
    }
    assert variables["ORDERS_API_VERSION"] == "2026-01-01"
    assert variables["SELLER_SECRET_PREFIX"] == constants.SELLER_SECRET_PREFIX


def test_given_template_then_no_credential_material_anywhere(synthesized: Synthesized) -> None:
    text = json.dumps(synthesized.json)

    for marker in ("refresh_token", "Atzr|", 'client_secret":', "amzn1.application-oa2-client"):
        assert marker not in text
    assert not synthesized.resources("AWS::SSM::Parameter")
    [secret] = synthesized.resources("AWS::SecretsManager::Secret").values()
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "client_secret"
    assert "SecretString" not in secret["Properties"]


def test_given_tables_then_on_demand_pitr_customer_key_and_ttl(synthesized: Synthesized) -> None:
    tables = {
        tuple(key["AttributeName"] for key in table["Properties"]["KeySchema"]): table["Properties"]
        for table in synthesized.resources("AWS::DynamoDB::Table").values()
    }

    assert set(tables) == {("pk", "sk"), ("id",), ("pk",)}
    for table in tables.values():
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"]["SSEEnabled"] is True
        assert table["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in table["SSESpecification"]
    assert tables[("pk", "sk")]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert tables[("id",)]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_given_function_role_then_least_privilege(synthesized: Synthesized) -> None:
    function = function_by_handler(synthesized, ORDER_HANDLER)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = synthesized.json["Resources"][role_id]["Properties"]
    policies = [
        p["Properties"]
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]

    assert "ManagedPolicyArns" not in role
    actions = [
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert all(not action.endswith("*") for action in actions), actions
    for statement in statements:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if any(a.startswith("dynamodb:") for a in statement["Action"]):
            assert all("Fn::GetAtt" in r for r in resources), statement
        if resources == ["*"]:
            assert set(statement["Action"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, (
                statement
            )
    assert "dynamodb:Scan" not in actions and "dynamodb:DeleteTable" not in actions


def test_given_alarms_then_dlq_backlog_errors_and_throttles_notify_the_topic(
    synthesized: Synthesized,
) -> None:
    alarms = synthesized.resources("AWS::CloudWatch::Alarm").values()

    metrics = sorted(alarm["Properties"]["MetricName"] for alarm in alarms)
    assert metrics == [
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
    ]
    assert all(len(alarm["Properties"]["AlarmActions"]) == 1 for alarm in alarms)
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_given_outputs_then_stable_ids(synthesized: Synthesized) -> None:
    outputs = synthesized.json["Outputs"]

    for output_id in (
        constants.OUTPUT_ORDERS_QUEUE_ARN,
        constants.OUTPUT_ORDERS_QUEUE_URL,
        constants.OUTPUT_ORDERS_DLQ_URL,
        constants.OUTPUT_ORDERS_TABLE,
        constants.OUTPUT_IDEMPOTENCY_TABLE,
        constants.OUTPUT_ACCOUNTS_TABLE,
        constants.OUTPUT_LWA_SECRET_ARN,
        constants.OUTPUT_SELLER_SECRET_PREFIX,
        constants.OUTPUT_ORDER_CHANGE_FUNCTION,
        constants.OUTPUT_ALARM_TOPIC_ARN,
    ):
        assert output_id in outputs
    _, _, queue_id = queue_by_role(synthesized)
    assert outputs[constants.OUTPUT_ORDERS_QUEUE_ARN]["Value"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_given_cdk_nag_aws_solutions_then_no_unacknowledged_findings_and_every_acknowledgement_has_a_reason(
    synthesized: Synthesized,
) -> None:
    [report] = [
        r for r in synthesized.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    assert report["violations"] == []
    assert report["suppressedViolations"], "expected the documented acknowledgements"
    for suppressed in report["suppressedViolations"]:
        assert len(suppressed["reason"]) > 30, suppressed["ruleName"]
