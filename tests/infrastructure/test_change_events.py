"""SellerStream's bus, its archive, and the publisher reading the tables' change streams: one event per
stored change, nothing lost between the write and the event, buyer data only when opted in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.config import ChangeEventsSettings
from stacks import constants
from stacks.event_destinations import EventsOutputs
from tests.infrastructure.conftest import STAGE, Synthesized

PUBLISHER = catalog.CHANGE_EVENTS_PUBLISHER


def publisher_function(synthesized: Synthesized) -> dict[str, Any]:
    [found] = [
        f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == PUBLISHER.handler
    ]
    return found


def publisher_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    role_id = publisher_function(synthesized)["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stream_mappings(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The publisher's mappings, by the logical id of the table they read."""
    return {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: mapping["Properties"]
        for mapping in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    }


def test_given_a_stage_then_sellerstream_has_its_own_bus_named_for_it_and_output(
    synthesized: Synthesized, staged: Synthesized
) -> None:
    for deployed, name in ((synthesized, "sellerstream"), (staged, f"sellerstream-{STAGE}")):
        bus_id = deployed.output_target(EventsOutputs.BUS_NAME)
        bus = deployed.json["Resources"][bus_id]

        assert bus["Type"] == "AWS::Events::EventBus"
        assert bus["Properties"]["Name"] == name == deployed.names.events_bus_name
        assert "EventSourceName" not in bus["Properties"]
        assert deployed.json["Outputs"][EventsOutputs.BUS_ARN]["Value"] == {"Fn::GetAtt": [bus_id, "Arn"]}


def test_given_the_catalog_then_exactly_the_streamed_tables_stream_old_and_new_images(
    synthesized: Synthesized,
) -> None:
    streamed = {synthesized.output_target(table.output) for table in catalog.streamed_tables()}
    assert {table.role for table in catalog.streamed_tables()} == {
        "orders",
        "listings",
        "reports",
        "notifications",
        "feeds",
    }

    tables = synthesized.resources("AWS::DynamoDB::Table")

    assert {
        table_id for table_id, table in tables.items() if "StreamSpecification" in table["Properties"]
    } == (streamed)
    for table_id in streamed:
        assert tables[table_id]["Properties"]["StreamSpecification"] == {
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }


@pytest.mark.parametrize("table", catalog.streamed_tables(), ids=lambda table: table.role)
def test_given_each_streamed_table_then_one_mapping_in_order_with_partial_failures_retries_and_a_dlq(
    synthesized: Synthesized, table: catalog.Table
) -> None:
    mapping = stream_mappings(synthesized)[synthesized.output_target(table.output)]
    dlq_url = synthesized.json["Outputs"][EventsOutputs.DEAD_LETTER_QUEUE_URL]["Value"]

    assert mapping["FunctionName"] == {"Ref": synthesized.output_target(PUBLISHER.outputs[0])}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"  # nothing stored before the first poll is skipped
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is False
    assert mapping["ParallelizationFactor"] == 1  # an entity's records in the order they were stored
    assert mapping["MaximumRetryAttempts"] == -1
    assert mapping["MaximumRecordAgeInSeconds"] == PUBLISHER.max_record_age_seconds
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (
        PUBLISHER.sizing.batch_size,
        PUBLISHER.sizing.batching_window_seconds,
    )
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [dlq_url["Ref"], "Arn"]}}
    }


@pytest.mark.parametrize("table", catalog.streamed_tables(), ids=lambda table: table.role)
def test_given_each_streamed_table_then_only_inserts_and_changes_of_its_declared_entities_reach_the_function(
    synthesized: Synthesized, table: catalog.Table
) -> None:
    mapping = stream_mappings(synthesized)[synthesized.output_target(table.output)]
    prefixes = list(dict.fromkeys(e.sort_prefix for e in catalog.change_events() if e.table == table))

    patterns = [json.loads(entry["Pattern"]) for entry in mapping["FilterCriteria"]["Filters"]]

    # One pattern naming every prefix (Lambda allows five patterns per mapping; the notifications
    # table has a prefix per type).
    assert patterns == [
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {"sk": {"S": [{"prefix": prefix} for prefix in prefixes]}}},
        }
    ]
    if table == catalog.ORDERS_TABLE:
        assert prefixes == ["ORDER#", "PACKAGE#"]  # never the PII item (PII#ORDER#...)


def test_given_the_publishers_dlq_then_encrypted_like_the_consumers_dlqs(synthesized: Synthesized) -> None:
    dlq_id = synthesized.output_target(EventsOutputs.DEAD_LETTER_QUEUE_URL)
    orders_dlq_id = synthesized.output_target(catalog.consumer("orders").outputs.dead_letter_queue_url)
    resources = synthesized.json["Resources"]

    dlq = resources[dlq_id]["Properties"]
    assert dlq["KmsMasterKeyId"] == resources[orders_dlq_id]["Properties"]["KmsMasterKeyId"]
    assert dlq["MessageRetentionPeriod"] == catalog.DLQ_RETENTION_DAYS * 86400


@pytest.mark.parametrize(
    ("fixture", "include_pii"), [("synthesized", "false"), ("with_destinations", "true")]
)
def test_given_the_publisher_then_its_environment_is_its_settings_class_with_the_bus_and_dlq(
    fixture: str, include_pii: str, request: pytest.FixtureRequest
) -> None:
    deployed: Synthesized = request.getfixturevalue(fixture)
    variables = publisher_function(deployed)["Environment"]["Variables"]

    assert variables["EVENTS_BUS_NAME"] == {"Ref": deployed.output_target(EventsOutputs.BUS_NAME)}
    assert variables["EVENTS_DEAD_LETTER_QUEUE_URL"] == {
        "Ref": deployed.output_target(EventsOutputs.DEAD_LETTER_QUEUE_URL)
    }
    for table in catalog.streamed_tables():
        assert variables[f"{table.role.upper()}_TABLE_NAME"] == {"Ref": deployed.output_target(table.output)}
    assert variables["EVENTS_INCLUDE_PII"] == include_pii
    settings = ChangeEventsSettings.from_environment(
        {
            name: value if isinstance(value, str) else "from-cloudformation"
            for name, value in variables.items()
        }
    )
    assert settings.events_include_pii is (include_pii == "true")


def test_given_the_publisher_then_it_runs_like_the_other_functions_and_its_names_are_outputs(
    synthesized: Synthesized,
) -> None:
    properties = publisher_function(synthesized)
    function_output, log_group_output = PUBLISHER.outputs

    assert (function_output, log_group_output) == ("ChangeEventsFunctionName", "ChangeEventsLogGroupName")
    assert properties["Runtime"] == f"python{constants.LAMBDA_RUNTIME_PYTHON}"
    assert "TracingConfig" not in properties  # as every function: only with -c tracing=true
    assert len(properties["Layers"]) == 1
    assert (properties["Timeout"], properties["MemorySize"]) == (
        PUBLISHER.sizing.timeout_seconds,
        PUBLISHER.sizing.memory_mb,
    )
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": synthesized.output_target(log_group_output)}
    assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == PUBLISHER.service_name


def test_given_the_publisher_then_it_puts_events_on_its_bus_only_and_sends_to_its_dlq_only(
    synthesized: Synthesized,
) -> None:
    statements = publisher_statements(synthesized)
    bus_id = synthesized.output_target(EventsOutputs.BUS_NAME)
    dlq_id = synthesized.output_target(EventsOutputs.DEAD_LETTER_QUEUE_URL)

    def resources_of(action: str) -> list[Any]:
        return [r for s in statements if action in as_list(s["Action"]) for r in as_list(s["Resource"])]

    assert resources_of("events:PutEvents") == [{"Fn::GetAtt": [bus_id, "Arn"]}]
    assert resources_of("sqs:SendMessage") == [{"Fn::GetAtt": [dlq_id, "Arn"]}]
    stream_reads = resources_of("dynamodb:GetRecords")
    assert sorted(json.dumps(r) for r in stream_reads) == sorted(
        json.dumps({"Fn::GetAtt": [synthesized.output_target(t.output), "StreamArn"]})
        for t in catalog.streamed_tables()
    )
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.endswith("*") for a in actions)
    assert not actions & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"}


def test_given_no_pii_opt_in_then_the_publisher_may_not_read_any_item_and_with_it_only_orders(
    synthesized: Synthesized, with_destinations: Synthesized
) -> None:
    def get_item_resources(deployed: Synthesized) -> list[Any]:
        return [
            r
            for s in publisher_statements(deployed)
            if "dynamodb:GetItem" in as_list(s["Action"])
            for r in as_list(s["Resource"])
        ]

    assert get_item_resources(synthesized) == []
    orders_id = with_destinations.output_target(catalog.ORDERS_TABLE.output)
    assert get_item_resources(with_destinations) == [{"Fn::GetAtt": [orders_id, "Arn"]}]


@pytest.mark.parametrize(
    ("fixture", "days"), [("synthesized", constants.EVENTS_ARCHIVE_DAYS), ("with_destinations", 30)]
)
def test_given_the_archive_then_sellerstreams_events_kept_for_the_days_from_context(
    fixture: str, days: int, request: pytest.FixtureRequest
) -> None:
    deployed: Synthesized = request.getfixturevalue(fixture)
    [(archive_id, archive)] = deployed.resources("AWS::Events::Archive").items()
    bus_id = deployed.output_target(EventsOutputs.BUS_NAME)

    assert archive["Properties"]["RetentionDays"] == days == (7 if fixture == "synthesized" else 30)
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archive["Properties"]["EventPattern"] == {"source": [catalog.EVENT_SOURCE]}
    assert archive["Properties"]["ArchiveName"] == deployed.names.events_archive_name
    assert len(deployed.names.events_archive_name) <= 48
    assert deployed.json["Outputs"][EventsOutputs.ARCHIVE_NAME]["Value"] == {"Ref": archive_id}
    assert deployed.json["Outputs"][EventsOutputs.ARCHIVE_ARN]["Value"] == {"Fn::GetAtt": [archive_id, "Arn"]}


def test_given_longest_stage_then_the_archive_name_fits_eventbridge() -> None:
    assert len(constants.StageNames("a" * 20).events_archive_name) <= 48


def test_given_archive_days_zero_then_no_archive_and_no_archive_outputs(tmp_path) -> None:
    deployed = Synthesized(tmp_path, {"events_archive_days": "0"})

    assert deployed.resources("AWS::Events::Archive") == {}
    assert EventsOutputs.ARCHIVE_ARN not in deployed.json["Outputs"]
    assert EventsOutputs.BUS_ARN in deployed.json["Outputs"]


@pytest.mark.parametrize(
    ("context", "refusal"),
    [
        ({"events_archive_days": "a week"}, "events_archive_days must be a whole number of days"),
        ({"events_archive_days": "-1"}, "events_archive_days must be a whole number of days"),
        ({"events_include_pii": "yes"}, "events_include_pii must be true or false"),
    ],
)
def test_given_an_unusable_events_setting_then_synthesis_refuses_in_one_line(
    context: dict[str, str], refusal: str, tmp_path
) -> None:
    from app import build_app

    with pytest.raises(SystemExit, match=refusal) as refused:
        build_app(context=context, outdir=str(tmp_path))
    assert "\n" not in str(refused.value)


def alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm_id: alarm["Properties"]
        for alarm_id, alarm in synthesized.resources("AWS::CloudWatch::Alarm").items()
    }


def test_given_the_publisher_then_its_dlq_and_iterator_age_alarm_and_nothing_twice(
    synthesized: Synthesized,
) -> None:
    function_id = synthesized.output_target(PUBLISHER.outputs[0])
    dlq_id = synthesized.output_target(EventsOutputs.DEAD_LETTER_QUEUE_URL)
    on_function = {"Name": "FunctionName", "Value": {"Ref": function_id}}
    found = alarms(synthesized).values()

    [iterator_age] = [a for a in found if a.get("MetricName") == "IteratorAge"]
    assert iterator_age["Dimensions"] == [on_function]
    assert (iterator_age["Statistic"], iterator_age["ComparisonOperator"], iterator_age["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        constants.CHANGE_EVENTS_ITERATOR_AGE_ALARM_SECONDS * 1000,
    )
    # A failing publisher retries its batch (IteratorAge grows); a refused event is a new letter.
    assert [a.get("Dimensions") for a in found if a.get("MetricName") == "Errors"].count([on_function]) == 0
    new_letters = [
        a
        for a in found
        if any(
            q.get("MetricStat", {}).get("Metric", {}).get("Dimensions")
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
            for q in a.get("Metrics", [])
        )
    ]
    assert len(new_letters) == 1
    assert "DIFF" in json.dumps(new_letters[0]["Metrics"])
    assert [a for a in found if a.get("MetricName") == "ChangeEventsDeadLettered"] == []


def test_given_the_dashboard_then_the_publisher_has_its_row(synthesized: Synthesized) -> None:
    from tests.infrastructure.test_alarms_and_dashboard import dashboard_body

    function_id = synthesized.output_target(PUBLISHER.outputs[0])
    titles = {widget["properties"].get("title") for widget in dashboard_body(synthesized)["widgets"]}
    metrics = json.dumps(dashboard_body(synthesized))

    assert {
        f"{PUBLISHER.service_name}: stream iterator age (ms)",
        f"{PUBLISHER.service_name}: invocations",
        f"{PUBLISHER.service_name}: DLQ",
    } <= titles
    assert any(
        title and title.startswith(f"{PUBLISHER.service_name}: change events published") for title in titles
    )
    assert f"Ref:{function_id}" in metrics


def test_given_destinations_and_pii_then_cdk_nag_still_clean(with_destinations: Synthesized) -> None:
    [report] = [
        r for r in with_destinations.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    assert report["violations"] == []
