"""``sellerstream events``: the destinations from the stack's outputs, and a replay from the bus's
archive to one destination's rule only (moto's EventBridge: its archives and replays)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws, catalog
from sellerstream_ops import cli
from sellerstream_ops.account import Account
from sellerstream_ops.errors import OperatorError, UsageError
from sellerstream_ops.events import destinations, parse_time, replay, replay_name
from sellerstream_ops.outputs import StackOutputs
from stacks.event_destinations import EventsOutputs, destination_outputs

REGION = "us-east-1"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
QUEUE_POLICY = {
    "Sid": "AllowEventsDestinationCrm",
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": "arn:aws:sqs:us-east-1:210987654321:crm-events",
    "Condition": {"ArnEquals": {"aws:SourceArn": "RULE"}},
}


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    """The bus, its archive and two destinations' rules, and the outputs the stack gives them."""
    with mock_aws():
        aws.reset_clients()
        events = boto3.client("events", region_name=REGION)
        bus_arn = events.create_event_bus(Name="sellerstream")["EventBusArn"]
        archive_arn = events.create_archive(
            ArchiveName="sellerstream-archive",
            EventSourceArn=bus_arn,
            EventPattern=json.dumps({"source": [catalog.EVENT_SOURCE]}),
            RetentionDays=7,
        )["ArchiveArn"]
        outputs = {
            EventsOutputs.BUS_NAME: "sellerstream",
            EventsOutputs.BUS_ARN: bus_arn,
            EventsOutputs.ARCHIVE_NAME: "sellerstream-archive",
            EventsOutputs.ARCHIVE_ARN: archive_arn,
            EventsOutputs.DESTINATIONS: json.dumps({"crm": "sqs", "hooks": "webhook"}),
        }
        for name in ("crm", "hooks"):
            rule_arn = events.put_rule(
                Name=f"sellerstream-{name}",
                EventBusName="sellerstream",
                EventPattern=json.dumps({"source": [catalog.EVENT_SOURCE]}),
            )["RuleArn"]
            names = destination_outputs(name)
            outputs[names.rule_arn] = rule_arn
            outputs[names.dead_letter_queue_url] = (
                f"https://sqs.{REGION}.amazonaws.com/123456789012/{name}-dlq"
            )
        outputs[destination_outputs("crm").policy] = json.dumps(QUEUE_POLICY)
        yield outputs
        aws.reset_clients()


def account_of(outputs: dict[str, str]) -> Account:
    return Account(REGION, StackOutputs(outputs))


def test_given_destinations_when_listed_then_kind_rule_dlq_and_the_queue_policy_to_add(
    stack: dict[str, str],
) -> None:
    listed = destinations(account_of(stack))

    assert [(d["name"], d["kind"]) for d in listed] == [("crm", "sqs"), ("hooks", "webhook")]
    crm, hooks = listed
    assert crm["rule_arn"] == stack[destination_outputs("crm").rule_arn]
    assert crm["dead_letter_queue_url"].endswith("/crm-dlq")
    assert crm["policy"] == QUEUE_POLICY and crm["policy_to_add_to"] == "the queue's access policy"
    assert "policy" not in hooks


def test_given_a_period_when_replayed_then_from_the_archive_to_the_bus_for_that_rule_only(
    stack: dict[str, str],
) -> None:
    result = replay(account_of(stack), "crm", SINCE, NOW - timedelta(hours=1), now=NOW)

    rule_arn = stack[destination_outputs("crm").rule_arn]
    assert result["replay"] == replay_name("crm", SINCE, NOW) == "crm-20261127T080000-20261128T120000"
    assert result["state"] in ("STARTING", "RUNNING", "COMPLETED")
    assert (result["since"], result["until"], result["rule_arn"]) == (
        "2026-11-27T08:00:00Z",
        "2026-11-28T11:00:00Z",
        rule_arn,
    )
    described = boto3.client("events", region_name=REGION).describe_replay(ReplayName=result["replay"])
    assert described["EventSourceArn"] == stack[EventsOutputs.ARCHIVE_ARN]
    assert described["Destination"] == {"Arn": stack[EventsOutputs.BUS_ARN], "FilterArns": [rule_arn]}
    assert described["EventStartTime"] == SINCE and described["EventEndTime"] == NOW - timedelta(hours=1)


def test_given_no_until_when_replayed_then_up_to_now() -> None:
    requests: list[dict[str, Any]] = []

    class Events:
        def start_replay(self, **request: Any) -> dict[str, Any]:
            requests.append(request)
            return {"ReplayArn": "arn:aws:events:us-east-1:123456789012:replay/x", "State": "STARTING"}

    class StubAccount(Account):
        def client(self, service: str) -> Any:
            return Events()

    outputs = {
        EventsOutputs.BUS_ARN: "arn:aws:events:us-east-1:123456789012:event-bus/sellerstream",
        EventsOutputs.ARCHIVE_ARN: "arn:aws:events:us-east-1:123456789012:archive/sellerstream-archive",
        EventsOutputs.DESTINATIONS: '{"crm":"sqs"}',
        destination_outputs("crm").rule_arn: "arn:aws:events:us-east-1:123456789012:rule/sellerstream/crm",
    }

    result = replay(StubAccount(REGION, StackOutputs(outputs)), "crm", SINCE, None, now=NOW)

    [request] = requests
    assert request["EventEndTime"] == NOW and result["until"] == "2026-11-28T12:00:00Z"
    assert request["Destination"]["FilterArns"] == [outputs[destination_outputs("crm").rule_arn]]


@pytest.mark.parametrize(
    ("destination", "since", "until", "complaint"),
    [
        ("erp", SINCE, None, "--destination 'erp' is not one of the stack's destinations: crm, hooks"),
        ("crm", NOW, NOW - timedelta(hours=1), "--since must be before --until"),
        ("crm", SINCE, NOW + timedelta(hours=1), "--until is in the future"),
    ],
)
def test_given_a_replay_the_stack_cannot_take_then_a_usage_error_and_no_replay(
    stack: dict[str, str], destination: str, since: datetime, until: datetime | None, complaint: str
) -> None:
    with pytest.raises(UsageError, match=complaint):
        replay(account_of(stack), destination, since, until, now=NOW)

    assert boto3.client("events", region_name=REGION).list_replays()["Replays"] == []


def test_given_a_stack_without_archive_when_replaying_then_one_line_saying_so(stack: dict[str, str]) -> None:
    outputs = {
        k: v for k, v in stack.items() if k not in (EventsOutputs.ARCHIVE_ARN, EventsOutputs.ARCHIVE_NAME)
    }

    with pytest.raises(OperatorError, match="keeps no archive") as raised:
        replay(account_of(outputs), "crm", SINCE, None, now=NOW)

    assert not isinstance(raised.value, UsageError)


def test_given_a_stack_before_events_when_listing_then_deploy_the_current_version(
    stack: dict[str, str],
) -> None:
    outputs = {k: v for k, v in stack.items() if k != EventsOutputs.DESTINATIONS}

    with pytest.raises(OperatorError, match="has no output 'EventsDestinations': deploy the current version"):
        destinations(account_of(outputs))


def test_given_the_console_script_when_replaying_then_one_json_object_with_name_and_state(
    stack: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps({"SellerStream": stack}))
    common = ["--outputs-file", str(outputs_file), "--region", REGION]

    status = cli.main(
        ["events", "replay", "--destination", "hooks", "--since", "2026-11-27T08:00:00Z", *common]
    )

    out = capsys.readouterr().out
    assert status == 0
    printed = json.loads(out)
    assert printed["replay"].startswith("hooks-20261127T080000-") and printed["state"]
    assert cli.main(["events", "destinations", *common]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)] == ["crm", "hooks"]


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (
            ["events", "replay", "--destination", "crm", "--since", "yesterday"],
            "sellerstream events replay: argument --since: 'yesterday' is not an ISO 8601 time",
        ),
        (
            ["events", "replay", "--destination", "crm", "--since", "2026-11-27T08:00:00"],
            "sellerstream events replay: argument --since: '2026-11-27T08:00:00' needs a date, a time and an offset",
        ),
        (
            ["events", "replay", "--since", "2026-11-27T08:00:00Z"],
            "sellerstream events replay: the following",
        ),
        (["events"], "sellerstream events: the following arguments are required: EVENTS_COMMAND"),
        (
            ["events", "destinations", "extra"],
            "sellerstream events destinations: unexpected argument 'extra'; see sellerstream events destinations",
        ),
    ],
)
def test_given_a_mistyped_replay_then_one_line_and_exit_2(
    argv: list[str], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)

    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert error.startswith(refusal) and error.count("\n") == 1


def test_given_an_unknown_destination_on_the_console_then_one_line_and_exit_2(
    stack: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack))

    status = cli.main(
        [
            "events",
            "replay",
            "--destination",
            "erp",
            "--since",
            "2026-11-27T08:00:00Z",
            "--outputs-file",
            str(outputs_file),
            "--region",
            REGION,
        ]
    )

    error = capsys.readouterr().err
    assert status == 2
    assert error == (
        "sellerstream events replay: --destination 'erp' is not one of the stack's destinations: crm, hooks\n"
    )


def test_given_times_with_offsets_then_read_as_utc() -> None:
    assert parse_time("2026-11-27T09:00:00+01:00") == SINCE
    assert parse_time("2026-11-27t08:00:00z") == SINCE
