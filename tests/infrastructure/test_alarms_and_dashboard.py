"""Alarms on the pipeline's own metrics and on its queues, and the dashboard, per notification type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog, metric_names
from sellerstream.config import SpApiSettings
from stacks import constants
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_stack import HANDLERS, KINDS, function, queue


def service_of(synthesized: Synthesized, kind: str) -> str:
    return str(function(synthesized, kind)["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])


def alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]


def pipeline_alarm(synthesized: Synthesized, metric_name: str, service: str) -> dict[str, Any]:
    [found] = [
        a
        for a in alarms(synthesized)
        if a.get("Namespace") == constants.METRICS_NAMESPACE
        and a.get("MetricName") == metric_name
        and a.get("Dimensions") == [{"Name": metric_names.SERVICE_DIMENSION, "Value": service}]
    ]
    return found


def queue_alarms(synthesized: Synthesized, queue_id: str, metric_name: str) -> list[dict[str, Any]]:
    """Alarms on an SQS metric of one queue, plain or inside metric math."""
    dimension = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    found = []
    for alarm in alarms(synthesized):
        plain = alarm.get("MetricName") == metric_name and alarm.get("Dimensions") == dimension
        in_math = any(
            q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == metric_name
            and q["MetricStat"]["Metric"]["Dimensions"] == dimension
            for q in alarm.get("Metrics", [])
        )
        if plain or in_math:
            found.append(alarm)
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_type_then_lag_and_credentials_alarms_on_its_own_service_and_none_per_cause(
    synthesized: Synthesized, kind: str
) -> None:
    service = service_of(synthesized, kind)
    settings = HANDLERS[kind][1]

    if settings.lag_alarm_p95_seconds is None:
        assert not [
            a
            for a in alarms(synthesized)
            if a.get("Dimensions") == [{"Name": "service", "Value": service}]
            and a.get("MetricName") == metric_names.EVENT_TO_STORE_LAG
        ]
    else:
        lag = pipeline_alarm(synthesized, metric_names.EVENT_TO_STORE_LAG, service)
        assert (lag["ExtendedStatistic"], lag["ComparisonOperator"]) == ("p95", "GreaterThanThreshold")
        assert lag["Threshold"] == settings.lag_alarm_p95_seconds * 1000  # the metric is in milliseconds
        assert lag["TreatMissingData"] == "notBreaching"  # no traffic is not a failure
    if issubclass(settings.settings, SpApiSettings):
        # A refused seller's notifications wait as new copies, unstored: no other alarm sees them.
        credentials = pipeline_alarm(synthesized, metric_names.SELLER_CREDENTIALS_FAILURES, service)
        assert (credentials["Statistic"], credentials["Threshold"]) == ("Sum", 1)
        assert credentials["TreatMissingData"] == "notBreaching"
    # Poison and parked versions reach the DLQ, spent quotas make the lag: alarms of their own would
    # bill again for what DeadLetters and Lag already say.
    for cause in (
        metric_names.POISON_MESSAGES,
        metric_names.THROTTLE_DEFERRALS,
        metric_names.UNSUPPORTED_PAYLOAD_VERSIONS,
    ):
        assert not [a for a in alarms(synthesized) if a.get("MetricName") == cause]


def alarm_names(synthesized: Synthesized, name: str) -> set[str]:
    """The alarms of one consumer or job, by their construct id after its name (``OrderChangeLag``:
    ``Lag``); logical ids end in an 8-character hash."""
    prefix = f"Monitoring{name}"
    return {
        logical_id[len(prefix) : -8]
        for logical_id in synthesized.resources("AWS::CloudWatch::Alarm")
        if logical_id.startswith(prefix) and not logical_id[len(prefix)].islower()
    }


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_consumer_then_one_alarm_per_way_its_notifications_come_to_harm(
    synthesized: Synthesized, kind: str
) -> None:
    consumer = HANDLERS[kind][1]
    expected = {"DeadLetters", "Backlog"} | {alarm.suffix for alarm in consumer.alarms}
    if consumer.lag_alarm_p95_seconds is not None:
        expected.add("Lag")
    if issubclass(consumer.settings, SpApiSettings):
        expected.add("SellerCredentials")

    # (Silence, NoNotifications, where silence means trouble: the quiet-hours tests.)
    assert alarm_names(synthesized, consumer.name) - {"NoNotifications"} == expected


@pytest.mark.parametrize("kind", KINDS)
def test_given_each_dlq_then_alarm_on_new_arrivals_so_later_dead_letters_notify_again(
    synthesized: Synthesized, kind: str
) -> None:
    _, main, _ = queue(synthesized, kind)
    dlq_id = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]

    [alarm] = queue_alarms(synthesized, dlq_id, "ApproximateNumberOfMessagesVisible")

    [expression] = [q for q in alarm["Metrics"] if "Expression" in q]
    [visible] = [q for q in alarm["Metrics"] if "MetricStat" in q]
    # The growth between periods: ALARM while letters arrive, OK once they stop (while they stay).
    assert expression["Expression"] == f"DIFF(FILL({visible['Id']}, 0))"
    assert expression["ReturnData"] is True and visible["ReturnData"] is False
    assert visible["MetricStat"]["Stat"] == "Maximum"
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("kind", ["orders", "reports", "app"])
def test_given_sqs_delivered_types_then_alarm_when_nothing_arrived_for_their_quiet_hours(
    synthesized: Synthesized, kind: str
) -> None:
    queue_id, _, _ = queue(synthesized, kind)
    hours = HANDLERS[kind][1].quiet_alarm_hours

    [alarm] = queue_alarms(synthesized, queue_id, "NumberOfMessagesSent")

    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 3600)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == hours
    # SQS reports nothing for an idle queue: silence itself must count as "nothing arrived".
    assert alarm["TreatMissingData"] == "breaching"


def test_given_no_partner_bus_then_no_quiet_alarm_for_listings_and_with_it_one(
    synthesized: Synthesized, with_partner_bus: Synthesized
) -> None:
    without_id, _, _ = queue(synthesized, "listings")
    with_id, _, _ = queue(with_partner_bus, "listings")

    assert queue_alarms(synthesized, without_id, "NumberOfMessagesSent") == []
    [alarm] = queue_alarms(with_partner_bus, with_id, "NumberOfMessagesSent")
    assert alarm["EvaluationPeriods"] == catalog.consumer("listings").quiet_alarm_hours


def test_given_quiet_hours_context_then_every_type_uses_it(staged: Synthesized) -> None:
    quiet = [a for a in alarms(staged) if a.get("MetricName") == "NumberOfMessagesSent"]

    # Shipment requests come when the seller ships, feeds when the seller submits one, offers and
    # the other stored types when Amazon has news: their queues have no "nothing arrived" alarm.
    silent = {"fulfillment", "feeds", "offers", "notifications"}
    assert len(quiet) == len(KINDS) - len(silent)
    assert {a["EvaluationPeriods"] for a in quiet} == {6}


def test_given_quiet_hours_zero_then_the_consumer_gets_no_quiet_alarm() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.assertions import Template

    from stacks.monitoring import Monitoring

    stack = cdk.Stack(cdk.App())
    monitoring = Monitoring(stack, "Monitoring", key=kms.Key(stack, "Key"))
    monitoring.watch_consumer(
        catalog.consumer("orders"),
        queue=sqs.Queue(stack, "Queue"),
        dead_letter_queue=sqs.Queue(stack, "Dlq"),
        function=lambda_.Function.from_function_name(stack, "Function", "order-change"),
        quiet_alarm_hours=0,
    )

    found = Template.from_stack(stack).find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "NumberOfMessagesSent"}}
    )
    assert found == {}
    assert len(monitoring.alarms) == 4  # dead-lettered, stuck, late and waiting on a seller


@pytest.mark.parametrize("value", ["-1", "169", "a day"])
def test_given_invalid_quiet_hours_then_synthesis_refuses_with_a_clear_message(value: str, tmp_path) -> None:
    from app import build_app

    with pytest.raises(SystemExit, match="no_notifications_alarm_hours must be 0"):
        build_app(context={"no_notifications_alarm_hours": value}, outdir=str(tmp_path))


def test_given_alarms_then_functions_and_queues_still_watched(synthesized: Synthesized) -> None:
    for kind in KINDS:
        queue_id, _, _ = queue(synthesized, kind)
        [backlog] = queue_alarms(synthesized, queue_id, "ApproximateAgeOfOldestMessage")
        assert backlog["Threshold"] == constants.OLDEST_MESSAGE_ALARM_SECONDS
    by_metric = [a.get("MetricName") for a in alarms(synthesized) if a.get("Namespace") == "AWS/Lambda"]
    # The reconcile function fails as a whole (a consumer's failures reach its DLQ, backlog or lag);
    # the publisher reads streams: how far behind it is (failing, throttled or slow).
    assert sorted(by_metric) == sorted(["Errors", "IteratorAge"])


# -- dashboard -------------------------------------------------------------------------------------
def dashboard_body(synthesized: Synthesized) -> dict[str, Any]:
    """The dashboard JSON with CloudFormation references spelled as 'Ref:X' or 'GetAtt:X.Attr'."""
    [dashboard] = synthesized.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]

    def spell(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"Ref:{part['Ref']}"
        return "GetAtt:{}.{}".format(*part["Fn::GetAtt"])

    return dict(json.loads("".join(spell(p) for p in parts)))


def dashboard_metrics(synthesized: Synthesized) -> list[list[Any]]:
    return [
        metric
        for widget in dashboard_body(synthesized)["widgets"]
        for metric in widget["properties"].get("metrics", [])
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_given_dashboard_then_each_type_shows_outcomes_and_lag_percentiles(
    synthesized: Synthesized, kind: str
) -> None:
    service = service_of(synthesized, kind)

    shown = {
        (m[1], m[-1]["stat"])
        for m in dashboard_metrics(synthesized)
        if m[0] == constants.METRICS_NAMESPACE and m[2:4] == [metric_names.SERVICE_DIMENSION, service]
    }

    assert shown >= {
        (metric_names.NOTIFICATIONS_PROCESSED, "Sum"),
        (metric_names.NOTIFICATIONS_FAILED, "Sum"),
        (metric_names.THROTTLE_DEFERRALS, "Sum"),
        (metric_names.POISON_MESSAGES, "Sum"),
        (metric_names.DUPLICATE_NOTIFICATIONS, "Sum"),
        (metric_names.EVENT_TO_STORE_LAG, "p50"),
        (metric_names.EVENT_TO_STORE_LAG, "p95"),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_given_dashboard_then_each_queue_shows_depth_and_oldest_age_and_its_dlq_depth(
    synthesized: Synthesized, kind: str
) -> None:
    queue_id, main, _ = queue(synthesized, kind)
    dlq_id = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]

    shown = {(m[1], m[3]) for m in dashboard_metrics(synthesized) if m[0] == "AWS/SQS"}

    assert ("ApproximateNumberOfMessagesVisible", f"GetAtt:{queue_id}.QueueName") in shown
    assert ("ApproximateAgeOfOldestMessage", f"GetAtt:{queue_id}.QueueName") in shown
    assert ("ApproximateNumberOfMessagesVisible", f"GetAtt:{dlq_id}.QueueName") in shown


def test_given_dashboard_then_sp_api_calls_and_429s_per_operation(synthesized: Synthesized) -> None:
    expressions = [m[0]["expression"] for m in dashboard_metrics(synthesized) if isinstance(m[0], dict)]

    for name in (metric_names.SP_API_CALLS, metric_names.SP_API_THROTTLES):
        assert (
            f"SEARCH('{{SellerStream,operation,service}} MetricName=\"{name}\"', 'Sum', 300)" in expressions
        )


def test_given_dashboard_then_every_alarm_is_listed_and_its_url_is_an_output(
    synthesized: Synthesized,
) -> None:
    [(dashboard_id, dashboard)] = synthesized.resources("AWS::CloudWatch::Dashboard").items()
    [status] = [w for w in dashboard_body(synthesized)["widgets"] if w["type"] == "alarm"]

    assert sorted(status["properties"]["alarms"]) == sorted(
        f"GetAtt:{alarm_id}.Arn" for alarm_id in synthesized.resources("AWS::CloudWatch::Alarm")
    )
    assert dashboard["Properties"]["DashboardName"] == {
        "Fn::Join": ["", ["SellerStream-", {"Ref": "AWS::Region"}]]
    }
    url = json.dumps(synthesized.json["Outputs"]["DashboardUrl"]["Value"])
    assert "cloudwatch/home?region=" in url and json.dumps({"Ref": dashboard_id}) in url


def test_given_partner_bus_then_dashboard_shows_the_rules_dead_letter_queue(
    with_partner_bus: Synthesized,
) -> None:
    dlq_url = with_partner_bus.json["Outputs"]["ListingsRuleDeadLetterQueueUrl"]["Value"]

    shown = {
        m[3]
        for m in dashboard_metrics(with_partner_bus)
        if m[:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
    }

    assert f"GetAtt:{dlq_url['Ref']}.QueueName" in shown


@pytest.mark.parametrize(
    ("service", "names"),
    [
        (
            "order-change",
            {
                metric_names.NOTIFICATIONS_SKIPPED,
                metric_names.NOTIFICATIONS_COALESCED,
                metric_names.STALE_CALLBACKS,
                metric_names.BACKLOG_SEARCH_PAGES,
                metric_names.BACKLOG_ORDERS_STORED,
            },
        ),
        (
            catalog.RECONCILE.service_name,
            {
                metric_names.RECONCILE_PAGES,
                metric_names.RECONCILE_ORDERS_REFRESHED,
                metric_names.RECONCILE_FAILURES,
            },
        ),
    ],
)
def test_given_dashboard_then_order_savings_and_reconciliation_are_graphed(
    synthesized: Synthesized, service: str, names: set[str]
) -> None:
    shown = {
        m[1]
        for m in dashboard_metrics(synthesized)
        if m[0] == constants.METRICS_NAMESPACE and m[2:4] == [metric_names.SERVICE_DIMENSION, service]
    }

    assert names <= shown
