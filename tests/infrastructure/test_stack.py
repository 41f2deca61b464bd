"""The synthesized template: every setting the product promises, asserted on CloudFormation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from sellerstream import catalog
from sellerstream.logic import order_records
from stacks import constants
from tests.infrastructure.conftest import Synthesized

AMAZON = constants.SPAPI_NOTIFICATIONS_ACCOUNT_ID
HANDLERS = {consumer.kind: (consumer.handler, consumer) for consumer in catalog.CONSUMERS}
QUEUE_OUTPUTS = {consumer.kind: consumer.outputs.queue_arn for consumer in catalog.CONSUMERS}
KINDS = list(HANDLERS)


def queue(synthesized: Synthesized, kind: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    queue_id = synthesized.output_target(QUEUE_OUTPUTS[kind])
    main = synthesized.json["Resources"][queue_id]
    dlq_id = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return queue_id, main, synthesized.json["Resources"][dlq_id]


def queue_policy_statements(synthesized: Synthesized, queue_id: str) -> list[dict[str, Any]]:
    [policy] = [
        p
        for p in synthesized.resources("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def pattern_rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """EventBridge rules that match events (the listings rule, the events destinations' rules), not
    schedules."""
    return {
        rule_id: rule
        for rule_id, rule in synthesized.resources("AWS::Events::Rule").items()
        if "EventPattern" in rule["Properties"]
    }


def partner_buses(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """SP-API's partner bus (SellerStream's own bus has no event source)."""
    return {
        bus_id: bus
        for bus_id, bus in synthesized.resources("AWS::Events::EventBus").items()
        if "EventSourceName" in bus["Properties"]
    }


def function(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    handler = HANDLERS[kind][0]
    [found] = [
        f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_queue_then_standard_encrypted_tls_only_with_dlq_after_five_receives(
    synthesized: Synthesized, kind: str
) -> None:
    queue_id, main, dlq = queue(synthesized, kind)

    assert "FifoQueue" not in main["Properties"]
    assert main["Properties"]["RedrivePolicy"]["maxReceiveCount"] == catalog.MAX_RECEIVE_COUNT >= 5
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    # SQS's maximum: deferral by age keeps a throttled notification as long as the queue can.
    assert main["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    for q in (main, dlq):
        assert "Fn::GetAtt" in q["Properties"]["KmsMasterKeyId"]  # a customer-managed key, not aws/sqs
    [deny] = [s for s in queue_policy_statements(synthesized, queue_id) if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_function_then_visibility_at_least_six_times_its_timeout(
    synthesized: Synthesized, kind: str
) -> None:
    _, main, _ = queue(synthesized, kind)

    assert main["Properties"]["VisibilityTimeout"] >= 6 * function(synthesized, kind)["Timeout"]


@pytest.mark.parametrize("kind", ["orders", "reports"])
def test_given_sqs_destination_queues_then_amazon_may_only_send_and_read_attributes(
    synthesized: Synthesized, kind: str
) -> None:
    queue_id, _, _ = queue(synthesized, kind)

    allows = [s for s in queue_policy_statements(synthesized, queue_id) if s["Effect"] == "Allow"]

    assert len(allows) == 1
    assert sorted(allows[0]["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert json.dumps(allows[0]["Principal"]).count(AMAZON) == 1
    assert allows[0]["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_given_no_partner_source_then_listings_queue_admits_nobody_and_no_bus(
    synthesized: Synthesized,
) -> None:
    queue_id, _, _ = queue(synthesized, "listings")

    assert [s for s in queue_policy_statements(synthesized, queue_id) if s["Effect"] == "Allow"] == []
    assert not partner_buses(synthesized)
    assert not pattern_rules(synthesized)


def test_given_partner_source_then_bus_associated_and_rule_sends_listings_to_queue_only_for_that_rule(
    with_partner_bus: Synthesized,
) -> None:
    from tests.infrastructure.conftest import PARTNER_EVENT_SOURCE

    queue_id, _, _ = queue(with_partner_bus, "listings")
    [bus] = partner_buses(with_partner_bus).values()
    [(rule_id, rule)] = pattern_rules(with_partner_bus).items()

    assert bus["Properties"]["EventSourceName"] == PARTNER_EVENT_SOURCE
    # Every type Amazon sends through EventBridge (all enabled here), in each of its spellings.
    assert rule["Properties"]["EventPattern"] == {
        "source": [{"prefix": "aws.partner/sellingpartnerapi.amazon.com"}],
        "detail-type": [
            "LISTINGS_ITEM_STATUS_CHANGE",
            "LISTINGS_ITEM_STATUS_CHANGED",
            "LISTINGS_ITEM_ISSUES_CHANGE",
            "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
            "BRANDED_ITEM_CONTENT_CHANGE",
            "ITEM_PRODUCT_TYPE_CHANGE",
            "PRODUCT_TYPE_DEFINITIONS_CHANGE",
        ],
    }
    # local mode's too
    assert rule["Properties"]["EventPattern"] == constants.partner_event_pattern(
        catalog.eventbridge_detail_types(catalog.consumer("listings"))
    )
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    [allow] = [s for s in queue_policy_statements(with_partner_bus, queue_id) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    assert "ListingsRuleArn" in with_partner_bus.json["Outputs"]


def test_given_partner_source_then_nag_still_clean(with_partner_bus: Synthesized) -> None:
    [report] = [
        r for r in with_partner_bus.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    assert report["violations"] == []


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


@pytest.mark.parametrize("kind", KINDS)
def test_given_event_source_mappings_then_partial_batch_failures_and_settings_from_constants(
    synthesized: Synthesized, kind: str
) -> None:
    settings = HANDLERS[kind][1].sizing
    queue_id, _, _ = queue(synthesized, kind)
    expected = {
        "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BatchSize": settings.batch_size,
        "ScalingConfig": {"MaximumConcurrency": settings.max_concurrency},
    }
    if settings.batching_window_seconds:
        expected["MaximumBatchingWindowInSeconds"] = settings.batching_window_seconds

    synthesized.template.has_resource_properties("AWS::Lambda::EventSourceMapping", expected)


@pytest.mark.parametrize("kind", KINDS)
def test_given_functions_then_json_logs_tracing_retention_sizing_and_layer(
    synthesized: Synthesized, kind: str
) -> None:
    properties = function(synthesized, kind)
    settings = HANDLERS[kind][1].sizing

    assert properties["Runtime"] == f"python{constants.LAMBDA_RUNTIME_PYTHON}"
    assert properties["Architectures"] == [constants.LAMBDA_ARCHITECTURE]
    assert "TracingConfig" not in properties  # X-Ray bills every trace: only with -c tracing=true
    assert properties["LoggingConfig"]["LogFormat"] == "JSON"
    assert (properties["Timeout"], properties["MemorySize"]) == (settings.timeout_seconds, settings.memory_mb)
    assert len(properties["Layers"]) == 1
    log_group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30


def test_given_reports_function_then_sized_apart_from_orders(synthesized: Synthesized) -> None:
    reports, orders = function(synthesized, "reports"), function(synthesized, "orders")

    assert reports["Timeout"] > orders["Timeout"] and reports["MemorySize"] > orders["MemorySize"]
    synthesized.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {
            "CompatibleRuntimes": [f"python{constants.LAMBDA_RUNTIME_PYTHON}"],
            "CompatibleArchitectures": [constants.LAMBDA_ARCHITECTURE],
        },
    )


POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


@pytest.mark.parametrize(
    "declared", [*catalog.CONSUMERS, *catalog.JOBS], ids=lambda function: function.service_name
)
def test_given_each_function_then_its_environment_is_its_settings_class_and_reads_back(
    synthesized: Synthesized, declared: catalog.Consumer | catalog.Job
) -> None:
    [properties] = [
        f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == declared.handler
    ]
    variables = properties["Environment"]["Variables"]
    fields = declared.settings.fields().values()

    # Nothing the function does not declare; everything it requires; and what it reads back is
    # what the stack meant (tokens stand in for names CloudFormation fills in).
    assert set(variables) - POWERTOOLS <= {setting.variable for setting in fields}
    assert {setting.variable for setting in fields if setting.required} <= set(variables)
    readable = {
        name: value if isinstance(value, str) else "resolved-by-cloudformation"
        for name, value in variables.items()
    }
    declared.settings.from_environment(readable)


def test_given_function_environments_then_names_only_never_credentials(synthesized: Synthesized) -> None:
    for properties in (f["Properties"] for f in synthesized.resources("AWS::Lambda::Function").values()):
        rendered = json.dumps(properties.get("Environment", {}))
        # Secrets are named (a secret's ARN or prefix), never their values.
        assert "client_secret" not in rendered and "refresh_token" not in rendered and "Atzr|" not in rendered
    queue_consumers = [function(synthesized, kind)["Environment"]["Variables"] for kind in KINDS]
    assert all("IDEMPOTENCY_EXPIRES_AFTER_SECONDS" in variables for variables in queue_consumers)
    assert all({"QUEUE_URL", "DEAD_LETTER_QUEUE_URL"} <= set(variables) for variables in queue_consumers)
    assert "SELLER_SECRET_PREFIX" not in function(synthesized, "app")["Environment"]["Variables"]
    assert function(synthesized, "orders")["Environment"]["Variables"]["ORDERS_API_VERSION"] == "2026-01-01"


def test_given_tables_holding_buyer_data_then_no_backup_keeps_it_past_30_days_after_delivery(
    synthesized: Synthesized,
) -> None:
    """Amazon's Data Protection Policy: buyer data gone 30 days after delivery, backups included."""
    orders = synthesized.json["Resources"][synthesized.output_target("OrdersTableName")]["Properties"]
    rows = synthesized.json["Resources"][synthesized.output_target("ReportRowsTableName")]["Properties"]
    window = orders["PointInTimeRecoverySpecification"]["RecoveryPeriodInDays"]

    # The PII item's TTL, plus the days DynamoDB takes to delete it, plus the days a restore reaches back.
    assert order_records.PII_RETENTION_AFTER_DELIVERY.days + catalog.TTL_DELETION_DAYS + window <= 30
    assert rows["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    report = function(synthesized, "reports")["Environment"]["Variables"]
    assert int(report["REPORT_ROWS_RETENTION_DAYS"]) + catalog.TTL_DELETION_DAYS <= 30
    [bucket] = synthesized.resources("AWS::S3::Bucket").values()
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    # Every object is under an expiring prefix: the raw copies' or the row blocks'.
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "ExpirationInDays" in rule}
    assert set(expiring) == {catalog.REPORTS_PREFIX, catalog.REPORT_ROWS_PREFIX}
    assert all(days + catalog.TTL_DELETION_DAYS <= 30 for days in expiring.values())
    assert "VersioningConfiguration" not in bucket["Properties"]  # no old version outlives it


def test_given_a_malformed_partner_event_source_then_synthesis_refuses_in_one_line(tmp_path) -> None:
    from app import build_app

    for name in (
        "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.x",
        "aws.partner/other/1/x",
        "x",
    ):
        with pytest.raises(SystemExit, match="<AWS account id>/<application id>") as refused:
            build_app(context={"partner_event_source_name": name}, outdir=str(tmp_path))
        assert "\n" not in str(refused.value)


def test_given_the_reconcile_schedule_then_its_role_trusts_scheduler_for_this_account_only(
    synthesized: Synthesized,
) -> None:
    [role] = [
        r["Properties"]
        for r in synthesized.resources("AWS::IAM::Role").values()
        if "scheduler.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]

    assert set(trust["Condition"]) == {"StringEquals", "ArnEquals"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "schedule-group/default" in json.dumps(trust["Condition"]["ArnEquals"]["aws:SourceArn"])


def dead_letter_queue_id(synthesized: Synthesized, kind: str) -> str:
    _, main, _ = queue(synthesized, kind)
    return str(main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_consumer_then_it_knows_and_may_send_to_its_own_dlq_only(
    synthesized: Synthesized, kind: str
) -> None:
    properties = function(synthesized, kind)
    role_id = properties["Role"]["Fn::GetAtt"][0]
    send_targets = [
        resource
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    own = dead_letter_queue_id(synthesized, kind)
    others = [dead_letter_queue_id(synthesized, other) for other in HANDLERS if other != kind]

    assert properties["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"] == {"Ref": own}
    assert {"Fn::GetAtt": [own, "Arn"]} in send_targets
    assert all({"Fn::GetAtt": [other, "Arn"]} not in send_targets for other in others)


@pytest.mark.parametrize("kind", ["orders", "listings", "reports", "fulfillment"])
def test_given_each_consumer_then_it_shares_the_rate_budget_table_and_knows_the_queue_retention(
    synthesized: Synthesized, kind: str
) -> None:
    variables = function(synthesized, kind)["Environment"]["Variables"]
    budget_id = synthesized.output_target("RateBudgetTableName")
    role_id = function(synthesized, kind)["Role"]["Fn::GetAtt"][0]
    granted = {
        action
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if {"Fn::GetAtt": [budget_id, "Arn"]}
        in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }

    assert variables["RATE_BUDGET_TABLE_NAME"] == {"Ref": budget_id}
    assert variables["QUEUE_RETENTION_SECONDS"] == str(catalog.QUEUE_RETENTION_DAYS * 86400)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= granted


def test_given_template_then_no_credential_material_anywhere(synthesized: Synthesized) -> None:
    text = json.dumps(synthesized.json)

    for marker in ("refresh_token", "Atzr|", '"client_secret":', "amzn1.application-oa2-client"):
        assert marker not in text
    assert not synthesized.resources("AWS::SSM::Parameter")
    [secret] = synthesized.resources("AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "client_secret"
    assert "SecretString" not in secret["Properties"]


def test_given_tables_then_on_demand_pitr_customer_key_and_ttl(synthesized: Synthesized) -> None:
    tables = {
        synthesized.output_target(output): synthesized.json["Resources"][synthesized.output_target(output)][
            "Properties"
        ]
        for output in (
            "OrdersTableName",
            "IdempotencyTableName",
            "AccountsTableName",
            "RateBudgetTableName",
            "ListingsTableName",
            "ReportsTableName",
            "ReportRowsTableName",
            "NotificationsTableName",
            "FeedsTableName",
            "PendingOrdersTableName",
        )
    }

    assert len(tables) == len(synthesized.resources("AWS::DynamoDB::Table")) == 10
    # Tables that may hold buyer data keep no (or short) backups: what TTL deletes is gone. The
    # pending orders keep none either: reconciliation repairs what a recreated table lost.
    short_backups = {
        synthesized.output_target(output)
        for output in (
            "OrdersTableName",
            "ReportRowsTableName",
            "NotificationsTableName",
            "PendingOrdersTableName",
        )
    }
    for table_id, table in tables.items():
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        if table_id not in short_backups:
            assert table["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 35,
            }
        assert (
            table["SSESpecification"]["SSEEnabled"] is True and table["SSESpecification"]["SSEType"] == "KMS"
        )
        assert "KMSMasterKeyId" in table["SSESpecification"]
    orders = tables[synthesized.output_target("OrdersTableName")]
    idempotency = tables[synthesized.output_target("IdempotencyTableName")]
    assert [k["AttributeName"] for k in orders["KeySchema"]] == ["pk", "sk"]
    assert orders["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in idempotency["KeySchema"]] == ["id"]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    budget = tables[synthesized.output_target("RateBudgetTableName")]
    assert [k["AttributeName"] for k in budget["KeySchema"]] == ["pk"]
    assert budget["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_given_report_rows_then_lookups_expire_without_an_index_and_blocks_expire_after_the_same_days(
    synthesized: Synthesized,
) -> None:
    rows_table = synthesized.json["Resources"][synthesized.output_target("ReportRowsTableName")]
    properties = rows_table["Properties"]
    environment = function(synthesized, "reports")["Environment"]["Variables"]
    bucket = synthesized.json["Resources"][synthesized.output_target("ReportsBucketName")]["Properties"]
    [blocks] = [
        rule
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if rule.get("Prefix") == catalog.REPORT_ROWS_PREFIX
    ]

    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in properties["KeySchema"]] == ["pk", "sk"]
    assert "GlobalSecondaryIndexes" not in properties  # lookups are packed items of the table itself
    assert environment["REPORT_ROWS_RETENTION_DAYS"] == str(constants.REPORT_ROWS_RETENTION_DAYS)
    assert (blocks["Status"], blocks["ExpirationInDays"]) == ("Enabled", constants.REPORT_ROWS_RETENTION_DAYS)


def test_given_a_report_rows_retention_when_synthesized_then_the_row_blocks_expire_with_the_lookups(
    tmp_path: Path,
) -> None:
    other = Synthesized(
        tmp_path, {"report_rows_retention_days": "7", "notification_types": "REPORT_PROCESSING_FINISHED"}
    )
    bucket = other.json["Resources"][other.output_target("ReportsBucketName")]["Properties"]
    expiring = {
        rule.get("Prefix"): rule.get("ExpirationInDays") for rule in bucket["LifecycleConfiguration"]["Rules"]
    }
    environment = function(other, "reports")["Environment"]["Variables"]

    assert expiring[catalog.REPORT_ROWS_PREFIX] == 7 == int(environment["REPORT_ROWS_RETENTION_DAYS"])
    assert expiring[catalog.REPORTS_PREFIX] == constants.REPORT_DOCUMENT_RETENTION_DAYS


def test_given_reports_function_then_it_may_put_and_get_row_blocks_under_their_prefix_only(
    synthesized: Synthesized,
) -> None:
    role_id = function(synthesized, "reports")["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    bucket_id = synthesized.output_target("ReportsBucketName")
    rows_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{catalog.REPORT_ROWS_PREFIX}*"]]}

    [rows] = [statement for statement in statements if statement["Resource"] == rows_arn]
    assert sorted(rows["Action"]) == ["s3:GetObject", "s3:PutObject"]
    every_policy = json.dumps(synthesized.resources("AWS::IAM::Policy"))
    assert every_policy.count(f"/{catalog.REPORT_ROWS_PREFIX}*") == 1  # the reports function's alone


def test_given_reports_function_then_it_may_list_only_the_raw_copies_prefix(synthesized: Synthesized) -> None:
    # Without s3:ListBucket S3 answers a missing raw copy with 403, and a continuation dead-letters.
    synthesized.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:ListBucket",
                                "Condition": {"StringLike": {"s3:prefix": ["reports/*"]}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_given_report_decode_failures_then_alarmed_on_the_reports_service_metric(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ReportDecodeFailures",
            "Namespace": constants.METRICS_NAMESPACE,
            "Dimensions": [{"Name": "service", "Value": "report-finished"}],
            "AlarmActions": Match.any_value(),
        },
    )


def test_given_reports_bucket_then_private_encrypted_tls_only_and_expiring(synthesized: Synthesized) -> None:
    bucket_id = synthesized.output_target("ReportsBucketName")
    bucket = synthesized.json["Resources"][bucket_id]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert (rules["RawReportDocuments"]["Prefix"], rules["RawReportDocuments"]["ExpirationInDays"]) == (
        catalog.REPORTS_PREFIX,
        constants.REPORT_DOCUMENT_RETENTION_DAYS,
    )
    assert rules["IncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    synthesized.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def _named_index(resource: Any) -> bool:
    """``<a table's Arn>/index/<an index the catalog names>``, as CloudFormation joins it."""
    parts = resource.get("Fn::Join", ["", []])[1] if isinstance(resource, dict) else []
    indexes = {f"/index/{t.local_index.name}" for t in catalog.TABLES if t.local_index is not None}
    return len(parts) == 2 and "Fn::GetAtt" in parts[0] and parts[1] in indexes


@pytest.mark.parametrize("kind", KINDS)
def test_given_function_roles_then_least_privilege(synthesized: Synthesized, kind: str) -> None:
    role_id = function(synthesized, kind)["Role"]["Fn::GetAtt"][0]
    role = synthesized.json["Resources"][role_id]["Properties"]
    statements = [
        s
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]

    assert "ManagedPolicyArns" not in role
    actions = [
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert all(not action.endswith("*") for action in actions), actions
    for statement in statements:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        statement_actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("dynamodb:") for a in statement_actions):
            # A table, or one of its indexes by name (never index/*)
            assert all("Fn::GetAtt" in r or _named_index(r) for r in resources), statement
        if resources == ["*"]:
            assert set(statement_actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, statement
    assert "dynamodb:Scan" not in actions and "dynamodb:DeleteTable" not in actions
    assert ("s3:PutObject" in actions) == (kind == "reports")


def test_given_alarms_then_every_alarm_notifies_the_encrypted_topic(synthesized: Synthesized) -> None:
    alarms = list(synthesized.resources("AWS::CloudWatch::Alarm").values())
    [topic_id] = synthesized.resources("AWS::SNS::Topic")

    assert alarms
    assert all(alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for alarm in alarms)
    assert "ReportDecodeFailures" in {alarm["Properties"].get("MetricName") for alarm in alarms}
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_given_outputs_then_stable_ids(synthesized: Synthesized) -> None:
    outputs = synthesized.json["Outputs"]
    expected = {value for name, value in vars(constants).items() if name.startswith("OUTPUT_")} - {
        "PartnerEventBusName",
        "ListingsRuleArn",
        "ListingsRuleDeadLetterQueueUrl",
    }

    assert expected <= set(outputs)
    queue_id, _, _ = queue(synthesized, "orders")
    assert outputs["OrdersQueueArn"]["Value"] == {"Fn::GetAtt": [queue_id, "Arn"]}


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


def granted_on(synthesized: Synthesized, kind: str, resource_id: str) -> set[str]:
    role_id = function(synthesized, kind)["Role"]["Fn::GetAtt"][0]
    return {
        action
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if {"Fn::GetAtt": [resource_id, "Arn"]}
        in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


def test_given_fulfillment_queue_then_only_this_account_sends_and_its_url_is_an_output(
    synthesized: Synthesized,
) -> None:
    queue_id, _, _ = queue(synthesized, "fulfillment")

    # The seller's own systems send with IAM in this account: no resource policy admits anyone else.
    allows = [s for s in queue_policy_statements(synthesized, queue_id) if s["Effect"] == "Allow"]
    assert allows == []
    assert synthesized.output_target("FulfillmentQueueUrl") == queue_id
    dlq_url_target = synthesized.output_target("FulfillmentDeadLetterQueueUrl")
    assert dlq_url_target == dead_letter_queue_id(synthesized, "fulfillment")
    assert "ShipmentConfirmationLogGroupName" in synthesized.json["Outputs"]


def test_given_shipment_function_then_reads_the_order_and_writes_packages_in_the_orders_table_only(
    synthesized: Synthesized,
) -> None:
    variables = function(synthesized, "fulfillment")["Environment"]["Variables"]
    orders_id = synthesized.output_target("OrdersTableName")

    assert variables["ORDERS_TABLE_NAME"] == {"Ref": orders_id}
    assert granted_on(synthesized, "fulfillment", orders_id) == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    for other in ("ListingsTableName", "ReportsTableName"):
        assert granted_on(synthesized, "fulfillment", synthesized.output_target(other)) == set()


def test_given_auto_rotate_app_secret_then_the_app_credentials_function_rotates_on_the_shared_budget(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    rotating = Synthesized(tmp_path, {"auto_rotate_app_secret": "true"})

    variables = function(rotating, "app")["Environment"]["Variables"]
    budget_id = rotating.output_target("RateBudgetTableName")

    assert variables["AUTO_ROTATE_APP_SECRET"] == "true"
    assert variables["RATE_BUDGET_TABLE_NAME"] == {"Ref": budget_id}
    assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= granted_on(rotating, "app", budget_id)
    assert (
        function(synthesized, "app")["Environment"]["Variables"].get("AUTO_ROTATE_APP_SECRET", "false")
        == "false"
    )


def test_given_tracing_asked_for_then_every_function_runs_with_active_tracing(staged: Synthesized) -> None:
    functions = staged.resources("AWS::Lambda::Function")

    assert functions and all(
        resource["Properties"]["TracingConfig"] == {"Mode": "Active"} for resource in functions.values()
    )
