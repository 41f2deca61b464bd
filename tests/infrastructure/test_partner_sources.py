"""Several partner event sources (a seller authorised in several SP-API regions): one partner bus and
rule each into the listings queue, one rule dead-letter queue and one delivery alarm for them all,
and the first source's resources exactly as a single source's, so an upgrade replaces nothing."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from app import _partner_event_source_names, build_app
from tests.infrastructure.conftest import (
    MANY_PARTNER_EVENT_SOURCES,
    PARTNER_EVENT_SOURCE,
    SECOND_PARTNER_EVENT_SOURCE,
    Synthesized,
)
from tests.infrastructure.test_stack import partner_buses, pattern_rules, queue, queue_policy_statements

EVENTS = {"Service": "events.amazonaws.com"}


def bus_of(synthesized: Synthesized, event_source_name: str) -> str:
    [bus_id] = [
        bus_id
        for bus_id, bus in partner_buses(synthesized).items()
        if bus["Properties"]["EventSourceName"] == event_source_name
    ]
    return bus_id


def rule_on(synthesized: Synthesized, bus_id: str) -> tuple[str, dict[str, Any]]:
    [(rule_id, rule)] = [
        (rule_id, rule)
        for rule_id, rule in pattern_rules(synthesized).items()
        if rule["Properties"].get("EventBusName") == {"Ref": bus_id}
    ]
    return rule_id, rule


def rule_dead_letter_queue(rule: dict[str, Any]) -> str:
    [target] = rule["Properties"]["Targets"]
    return str(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])


def delivery_alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm_id: alarm["Properties"]
        for alarm_id, alarm in synthesized.resources("AWS::CloudWatch::Alarm").items()
        if "AWS/Events" in json.dumps(alarm) and "ListingsRuleDeliveryFailures" in alarm_id
    }


def watched_rules(alarm: dict[str, Any]) -> set[str]:
    return {
        dimension["Value"]["Ref"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
        for dimension in query["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "RuleName"
    }


def test_given_two_sources_then_two_buses_each_with_a_rule_to_the_listings_queue(
    in_two_regions: Synthesized,
) -> None:
    queue_id, _, _ = queue(in_two_regions, "listings")

    buses = partner_buses(in_two_regions)

    # The first source named twice (both context keys) counts once.
    assert sorted(bus["Properties"]["EventSourceName"] for bus in buses.values()) == sorted(
        [PARTNER_EVENT_SOURCE, SECOND_PARTNER_EVENT_SOURCE]
    )
    for bus_id in buses:
        _, rule = rule_on(in_two_regions, bus_id)
        [target] = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert len(pattern_rules(in_two_regions)) == 2


def test_given_a_second_source_added_then_the_first_keeps_the_single_sources_resources_as_they_were(
    with_partner_bus: Synthesized, in_two_regions: Synthesized
) -> None:
    # Given the stage as deployed with one source, and as upgraded with a second one
    before, after = with_partner_bus, in_two_regions

    # When the first source's bus, rule, rule DLQ and alarm are looked up in each
    bus_id = bus_of(before, PARTNER_EVENT_SOURCE)
    rule_id, rule = rule_on(before, bus_id)
    dlq_id = rule_dead_letter_queue(rule)
    [alarm_id] = delivery_alarms(before)

    # Then the upgrade keeps their logical ids (nothing is replaced) and the bus, rule and DLQ as
    # they were; the outputs the operator's commands read still name them.
    assert bus_of(after, PARTNER_EVENT_SOURCE) == bus_id
    assert rule_on(after, bus_id) == (rule_id, rule)
    for logical_id in (bus_id, dlq_id):
        assert after.json["Resources"][logical_id] == before.json["Resources"][logical_id]
    assert list(delivery_alarms(after)) == [alarm_id]
    for output_id in ("PartnerEventBusName", "ListingsRuleArn", "ListingsRuleDeadLetterQueueUrl"):
        assert after.json["Outputs"][output_id] == before.json["Outputs"][output_id]


def test_given_two_sources_then_one_rule_dlq_for_both_and_each_rule_may_send_only_for_itself(
    in_two_regions: Synthesized,
) -> None:
    queue_id, _, _ = queue(in_two_regions, "listings")
    rules = dict(rule_on(in_two_regions, bus_id) for bus_id in partner_buses(in_two_regions))

    [dlq_id] = {rule_dead_letter_queue(rule) for rule in rules.values()}

    # What may send to the queue and to the DLQ: EventBridge, on behalf of each rule, one statement
    # each (aws:SourceArn), and nothing else.
    for target in (queue_id, dlq_id):
        allows = [s for s in queue_policy_statements(in_two_regions, target) if s["Effect"] == "Allow"]
        assert all((s["Principal"], s["Action"]) == (EVENTS, "sqs:SendMessage") for s in allows)
        assert sorted(
            s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in allows
        ) == sorted(rules)
    assert len([q for q in in_two_regions.resources("AWS::SQS::Queue") if "RuleDeadLetterQueue" in q]) == 1


def test_given_two_sources_then_one_alarm_and_one_graph_watch_both_rules(in_two_regions: Synthesized) -> None:
    rules = {rule_on(in_two_regions, bus_id)[0] for bus_id in partner_buses(in_two_regions)}

    [alarm] = delivery_alarms(in_two_regions).values()

    assert watched_rules(alarm) == rules
    [expression] = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    metric_ids = [q["Id"] for q in alarm["Metrics"] if "MetricStat" in q]
    assert len(metric_ids) == 6 and all(f"FILL({metric_id}, 0)" in expression for metric_id in metric_ids)
    [dashboard] = in_two_regions.resources("AWS::CloudWatch::Dashboard").values()
    assert json.dumps(dashboard).count("listings rules") == 1


def test_given_four_sources_then_a_second_alarm_for_the_fourth_rule(largest: Synthesized) -> None:
    # CloudWatch lets an alarm read 10 metrics: three rules' three each.
    rules = {rule_on(largest, bus_id)[0] for bus_id in partner_buses(largest)}

    alarms = delivery_alarms(largest)

    assert len(rules) == len(MANY_PARTNER_EVENT_SOURCES) == 4
    assert sorted(len(watched_rules(alarm)) for alarm in alarms.values()) == [1, 3]
    assert set().union(*(watched_rules(alarm) for alarm in alarms.values())) == rules
    assert all(len([q for q in alarm["Metrics"] if "MetricStat" in q]) <= 10 for alarm in alarms.values())


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("synthesized", []),
        ("with_partner_bus", [PARTNER_EVENT_SOURCE]),
        ("in_two_regions", [PARTNER_EVENT_SOURCE, SECOND_PARTNER_EVENT_SOURCE]),
    ],
    ids=["none", "one", "two"],
)
def test_given_partner_sources_then_an_output_lists_them_as_compact_json(
    request: pytest.FixtureRequest, fixture: str, expected: list[str]
) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)

    value = synthesized.json["Outputs"]["PartnerEventSources"]["Value"]

    assert value == json.dumps(expected, separators=(",", ":"))


NA, EU, FE = (f"{PARTNER_EVENT_SOURCE}-{region}" for region in ("na", "eu", "fe"))


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, ()),
        ({"partner_event_source_name": NA}, (NA,)),
        ({"partner_event_source_names": f"{NA}, {EU},{FE}"}, (NA, EU, FE)),  # -c text
        ({"partner_event_source_names": json.dumps([NA, EU])}, (NA, EU)),  # -c JSON text
        ({"partner_event_source_names": [EU, FE]}, (EU, FE)),  # cdk.json
        # Both keys: the single one first (a stage deployed with it keeps its bus), each name once.
        ({"partner_event_source_name": EU, "partner_event_source_names": [NA, EU, NA]}, (EU, NA)),
    ],
    ids=["none", "single", "comma-text", "json-text", "json-list", "both-merged"],
)
def test_given_partner_source_context_then_the_names_in_order_once_each(
    context: dict[str, Any], expected: tuple[str, ...]
) -> None:
    assert _partner_event_source_names(cdk.App(context=context)) == expected


@pytest.mark.parametrize(
    "context",
    [
        {"partner_event_source_names": f"{NA},aws.partner/other/1/x"},
        {"partner_event_source_names": [NA, "x"]},
        {"partner_event_source_name": NA, "partner_event_source_names": "[not json"},
    ],
    ids=["text", "list", "malformed-json"],
)
def test_given_a_malformed_partner_source_among_several_then_synthesis_refuses_in_one_line(
    context: dict[str, Any], tmp_path: Any
) -> None:
    with pytest.raises(SystemExit) as refused:
        build_app(context=context, outdir=str(tmp_path))

    assert "partner_event_source_name" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("fixture", ["in_two_regions", "largest"])
def test_given_several_sources_then_nag_still_clean(request: pytest.FixtureRequest, fixture: str) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)

    [report] = [
        r for r in synthesized.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]

    assert report["violations"] == []
