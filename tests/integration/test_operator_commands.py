"""The account commands against the local pipeline's account (moto) and the SP-API emulator."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from sellerstream import catalog
from sellerstream.spapi.endpoints import Region
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LOCAL_REGION, LWA_CLIENT_ID, LWA_CLIENT_SECRET, LocalPipeline
from sellerstream_local.resources import create_catalog_table
from sellerstream_ops import cli, credentials, dead_letters, status
from sellerstream_ops.account import Account
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.outputs import StackOutputs
from sellerstream_ops.subscriptions import Subscriptions
from stacks import constants
from tests.integration.conftest import SELLER

T0 = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
ORDER = "123-4567890-1234567"
NEW_SELLERS_ORDER = "123-4567890-7654321"
NEW_SELLER = "A2NEWSELLER0001"
TOPIC_NAME = "sellerstream-local-alarms"


@pytest.fixture
def account(pipeline: LocalPipeline) -> Account:
    topic = boto3.client("sns", region_name=LOCAL_REGION).create_topic(Name=TOPIC_NAME)["TopicArn"]
    outputs = {**pipeline.stack_outputs(), "AlarmTopicArn": topic}
    return Account(LOCAL_REGION, StackOutputs(outputs))


def ship_logs(pipeline: LocalPipeline, log_stream: io.StringIO, kind: str = "orders") -> None:
    """What Lambda does with a function's output: each line an event in the function's log group."""
    logs = boto3.client("logs", region_name=LOCAL_REGION)
    group = pipeline.stack_outputs()["OrderChangeLogGroupName"]
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="local")
    now = int(time.time() * 1000)
    events = [
        {"timestamp": now + i, "message": line} for i, line in enumerate(log_stream.getvalue().splitlines())
    ]
    logs.put_log_events(logGroupName=group, logStreamName="local", logEvents=events)


def order(notification_id: str, seller: str = SELLER, order_id: str = ORDER) -> str:
    return as_body(
        order_change(
            seller_id=seller,
            order_id=order_id,
            status="Unshipped",
            changed_at=T0,
            notification_id=notification_id,
        )
    )


def poison_and_transient_letters(pipeline: LocalPipeline, log_stream: io.StringIO) -> None:
    """One letter copied at once (unknown seller), one moved by SQS after 5 failed receives (the
    pending orders table unavailable: its change could not be recorded)."""
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=T0, status="Unshipped")
    pipeline.emulator.set_order(NEW_SELLERS_ORDER, seller_id=NEW_SELLER, last_updated=T0, status="Unshipped")
    pipeline.publish(order("n-unknown-seller", seller=NEW_SELLER, order_id=NEW_SELLERS_ORDER))
    pending = pipeline.resources.tables[catalog.PENDING_ORDERS_TABLE.role]
    pipeline.dynamodb.delete_table(TableName=pending)
    pipeline.publish(order("n-transient"))
    pipeline.drain()
    create_catalog_table(pipeline.dynamodb, catalog.PENDING_ORDERS_TABLE, pending)
    ship_logs(pipeline, log_stream)


def test_given_letters_of_both_kinds_when_listed_then_reasons_from_attributes_and_logs_without_bodies(
    pipeline: LocalPipeline, account: Account, log_stream: io.StringIO
) -> None:
    poison_and_transient_letters(pipeline, log_stream)

    letters = dead_letters.list_dead_letters(account, ["orders"], limit=10)

    by_id = {letter.notification_id: letter for letter in letters}
    unknown, transient = by_id["n-unknown-seller"], by_id["n-transient"]
    assert (unknown.reason, unknown.reason_from, unknown.dead_lettered_by) == (
        "unknown_seller",
        "attributes",
        "function",
    )
    assert unknown.seller_id == NEW_SELLER and unknown.notification_type == "ORDER_CHANGE"
    assert (transient.reason, transient.reason_from, transient.dead_lettered_by) == (
        "ResourceNotFoundException",
        "logs",
        "queue",
    )
    assert transient.receive_count == catalog.MAX_RECEIVE_COUNT and transient.seller_id == SELLER
    assert "48110" not in json.dumps([vars(letter) for letter in letters])  # the bodies' postal code
    # Looking is not taking: both are still there.
    assert len(dead_letters.list_dead_letters(account, ["orders"], limit=10)) == 2


def test_given_a_fixed_cause_when_redriven_by_reason_then_only_those_move_and_succeed(
    pipeline: LocalPipeline, account: Account, log_stream: io.StringIO
) -> None:
    poison_and_transient_letters(pipeline, log_stream)

    dry = dead_letters.redrive(
        account, ["orders"], reasons=["unknown_seller"], notification_ids=None, dry_run=True, limit=10
    )
    pipeline.provision_seller(NEW_SELLER)  # the cause: the seller's secret was missing
    moved = dead_letters.redrive(
        account, ["orders"], reasons=["unknown_seller"], notification_ids=None, dry_run=False, limit=10
    )
    stats = pipeline.poller("orders").poll_once()

    assert [entry["action"] for entry in dry] == ["would move"]
    assert [(entry["notification_id"], entry["action"]) for entry in moved] == [("n-unknown-seller", "moved")]
    assert stats == 1
    headers = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("ORDER#")]
    assert [header["seller_id"] for header in headers] == [NEW_SELLER]
    [left] = dead_letters.list_dead_letters(account, ["orders"], limit=10)
    assert left.notification_id == "n-transient"


def test_given_a_continuation_letter_when_redriven_then_part_kept_and_diagnostics_dropped(
    pipeline: LocalPipeline, account: Account
) -> None:
    sqs = pipeline.sqs
    reports = pipeline.resources.queues["reports"]

    def text(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    sqs.send_message(
        QueueUrl=reports.dlq_url,
        MessageBody='{"notificationType": "REPORT_PROCESSING_FINISHED"}',
        MessageAttributes={
            "sellerstream-continuation-part": {"DataType": "Number", "StringValue": "2"},
            "sellerstream-source-message-id": text("m-original"),
            "sellerstream-reason": text("aws_validation"),
            "sellerstream-detail": text("PutItem: ValidationException"),
            "sellerstream-notification-id": text("n-report"),
            "sellerstream-receive-count": {"DataType": "Number", "StringValue": "1"},
        },
    )

    [moved] = dead_letters.redrive(
        account,
        dead_letters.kinds_of(["REPORT_PROCESSING_FINISHED"]),
        reasons=None,
        notification_ids=["n-report"],
        dry_run=False,
        limit=5,
    )

    assert moved["to"] == reports.url
    [message] = sqs.receive_message(QueueUrl=reports.url, MessageAttributeNames=["All"])["Messages"]
    assert {name: value["StringValue"] for name, value in message["MessageAttributes"].items()} == {
        "sellerstream-continuation-part": "2",
        "sellerstream-source-message-id": "m-original",
    }
    assert "Messages" not in sqs.receive_message(QueueUrl=reports.dlq_url)


def test_given_a_valid_refresh_token_when_seller_added_then_secret_written_and_subscriptions_routed(
    pipeline: LocalPipeline, account: Account
) -> None:
    pipeline.emulator.register_seller(NEW_SELLER, "Atzr|new-seller-token", region="eu")

    first = credentials.add_seller(account, NEW_SELLER, "EU", "Atzr|new-seller-token")
    Subscriptions(account.outputs, account.settings(), NEW_SELLER).subscribe()
    again = credentials.add_seller(account, NEW_SELLER, "EU", "Atzr|new-seller-token")

    name = f"{constants.SELLER_SECRET_PREFIX}{NEW_SELLER}"
    stored = json.loads(pipeline.secrets.get_secret_value(SecretId=name)["SecretString"])
    assert stored == {"regions": {"EU": {"refresh_token": "Atzr|new-seller-token"}}}
    assert (first["action"], first["routed_subscriptions"], first["next"]) == (
        "created",
        [],
        f"sellerstream subscribe --seller {NEW_SELLER} --seller-region EU",
    )
    # One subscription per type the deployment takes (local mode takes every one).
    assert again["action"] == "updated" and len(again["routed_subscriptions"]) == len(
        catalog.subscribed_types()
    )
    assert "Atzr|" not in json.dumps([first, again])


def test_given_a_seller_in_na_when_added_in_eu_then_both_regions_kept_and_each_removable(
    pipeline: LocalPipeline, account: Account
) -> None:
    # Given a seller authorised in NA and in EU (one refresh token each)
    pipeline.emulator.register_seller(NEW_SELLER, "Atzr|na-token", region="na")
    pipeline.emulator.register_seller(NEW_SELLER, "Atzr|eu-token", region="eu")
    first = credentials.add_seller(account, NEW_SELLER, "NA", "Atzr|na-token")

    # When the EU token is added, then NA is kept beside it
    second = credentials.add_seller(account, NEW_SELLER, "EU", "Atzr|eu-token")
    assert (first["action"], second["action"], second["regions"]) == ("created", "added", ["NA", "EU"])
    directory = pipeline.seller_directory()
    assert {c.region.name: c.refresh_token for c in directory.regions_of(NEW_SELLER)} == {
        "NA": "Atzr|na-token",
        "EU": "Atzr|eu-token",
    }
    listed = status.sellers(account)[NEW_SELLER]["regions"]
    assert set(listed) == {"NA", "EU"} and listed["EU"]["status"] == "active"
    # A refusal of the EU token (recorded by the functions) shows that region deauthorised only
    directory.mark_refused(NEW_SELLER, Region.EU, reason="LWA invalid_grant", at=datetime.now(UTC))
    refused = status.sellers(account)[NEW_SELLER]["regions"]
    assert (refused["NA"]["status"], refused["EU"]["status"]) == ("active", "deauthorised")
    assert refused["EU"]["refused"] == "LWA invalid_grant"

    # When NA is removed, then EU alone is left; removing EU again is refused
    removed = credentials.remove_seller(account, NEW_SELLER, "NA")
    assert removed["regions"] == ["EU"]
    assert [c.region.name for c in pipeline.seller_directory().regions_of(NEW_SELLER)] == ["EU"]
    with pytest.raises(OperatorError, match="no credentials in NA"):
        credentials.remove_seller(account, NEW_SELLER, "NA")
    assert "Atzr|" not in json.dumps([first, second, removed, listed])


def test_given_a_refused_refresh_token_when_adding_a_seller_then_nothing_written(
    pipeline: LocalPipeline, account: Account
) -> None:
    with pytest.raises(OperatorError, match="LWA refused the refresh token for A2NEWSELLER0001"):
        credentials.add_seller(account, NEW_SELLER, "NA", "Atzr|not-authorised")

    names = [s["Name"] for s in pipeline.secrets.list_secrets()["SecretList"]]
    assert f"{constants.SELLER_SECRET_PREFIX}{NEW_SELLER}" not in names


def test_given_app_credentials_when_set_then_validated_written_in_shape_and_expiry_recorded(
    pipeline: LocalPipeline, account: Account
) -> None:
    expires = datetime.now(UTC) + timedelta(days=100)

    with pytest.raises(OperatorError, match="LWA refused the client id and secret"):
        credentials.set_app_credentials(account, LWA_CLIENT_ID, "wrong-secret", None)
    result = credentials.set_app_credentials(account, LWA_CLIENT_ID, LWA_CLIENT_SECRET, expires)

    stored = json.loads(
        pipeline.secrets.get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)["SecretString"]
    )
    assert stored == {"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}
    assert LWA_CLIENT_SECRET not in json.dumps(result)
    app = status.status(account, sellers=[], spapi=False)["app_credentials"]
    assert app["client_id"] == LWA_CLIENT_ID and 99 < app["secret_days_left"] <= 100


def test_given_placeholder_app_secret_then_commands_needing_the_app_refuse_and_say_what_to_do(
    pipeline: LocalPipeline, account: Account
) -> None:
    pipeline.secrets.put_secret_value(
        SecretId=constants.LWA_APP_SECRET_NAME,
        SecretString=json.dumps(
            {"client_id": constants.LWA_PLACEHOLDER_CLIENT_ID, "client_secret": "generated"}
        ),
    )

    for command in (
        lambda: credentials.rotate_app_secret(account),
        lambda: credentials.add_seller(account, NEW_SELLER, "NA", "Atzr|x"),
        account.app_credentials,
    ):
        with pytest.raises(
            OperatorError, match="placeholder client id: run sellerstream set-app-credentials"
        ):
            command()
    assert status.status(account, sellers=[], spapi=True)["app_credentials"]["client_id_set"] is False


def test_given_console_registration_when_rotated_then_new_secret_stored_by_the_function(
    pipeline: LocalPipeline, account: Account
) -> None:
    result = credentials.rotate_app_secret(account)
    pipeline.drain()

    stored = json.loads(
        pipeline.secrets.get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)["SecretString"]
    )
    assert result["rotation"] == "requested"
    assert stored["client_secret"] == pipeline.emulator.applications.current_secret(LWA_CLIENT_ID)
    assert status.status(account, sellers=[], spapi=False)["app_credentials"]["secret_days_left"] > 179


def test_given_no_console_registration_when_rotating_then_refused_with_the_next_step(
    pipeline: LocalPipeline, account: Account
) -> None:
    pipeline.emulator.applications._destinations.clear()

    with pytest.raises(OperatorError, match="not enrolled for rotation notifications"):
        credentials.rotate_app_secret(account)

    steps = credentials.app_notifications(account)
    assert steps["destination"] == pipeline.resources.queues["app"].arn
    assert steps["notificationTypes"] == list(
        ("APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "APPLICATION_OAUTH_CLIENT_NEW_SECRET")
    )


def test_given_traffic_letters_and_an_alarm_when_status_asked_then_one_view_of_it_all(
    pipeline: LocalPipeline, account: Account, log_stream: io.StringIO
) -> None:
    Subscriptions(account.outputs, account.settings(), SELLER).subscribe()
    pipeline.publish("not json")
    pipeline.drain()
    # An event EventBridge refused for good waits on the publisher's DLQ.
    boto3.client("sqs", region_name=LOCAL_REGION).send_message(
        QueueUrl=account.outputs["ChangeEventsDeadLetterQueueUrl"],
        MessageBody='{"detail-type": "Order Changed"}',
    )
    cloudwatch = boto3.client("cloudwatch", region_name=LOCAL_REGION)
    topic = account.outputs["AlarmTopicArn"]
    for name, actions in (("OrderChangeDeadLetters", [topic]), ("SomeoneElsesAlarm", [])):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="X",
            Namespace="Y",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=actions,
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")

    view: dict[str, Any] = status.status(account, sellers=[], spapi=True)

    assert view["queues"]["orders"]["dead_letters"] == 1
    assert view["queues"]["orders"]["queue"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    # Every consumer's queue (local mode takes every type); no partner bus, no rule DLQ.
    assert set(view["queues"]) == {consumer.kind for consumer in catalog.CONSUMERS}
    assert [alarm["name"] for alarm in view["alarms_in_alarm"]] == ["OrderChangeDeadLetters"]
    assert view["events"] == {"bus": "sellerstream-local", "publisher_dead_letters": 1, "destinations": {}}
    seller = view["sellers"][SELLER]
    assert seller["regions"]["NA"]["status"] == "active"
    # Each type the deployment takes (local mode: every one), each subscribed, in the seller's region.
    subscriptions = seller["subscriptions"]["NA"]
    assert set(subscriptions) == {message_type.name for message_type in catalog.subscribed_types()}
    assert all(value != "none" for value in subscriptions.values())


def ship_command(pipeline: LocalPipeline, tmp_path: Path, seller: str, marketplace: str) -> list[str]:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))
    return [
        "ship",
        *("--outputs-file", str(outputs), "--region", LOCAL_REGION),
        *("--seller", seller, "--order", ORDER, "--carrier", "UPS", "--tracking", "1Z0001"),
        *("--item", "79039765272157:1", "--marketplace", marketplace),
    ]


@pytest.mark.parametrize(
    ("seller", "marketplace", "refusal"),
    [
        (
            SELLER,
            "A1PA6795UKMFR9",  # Germany
            f"marketplace A1PA6795UKMFR9 is in SP-API region EU, outside seller {SELLER}'s region NA: "
            "nothing was queued",
        ),
        (
            NEW_SELLER,
            "ATVPDKIKX0DER",
            f"seller {NEW_SELLER} is not in the seller directory: nothing was queued "
            f"(sellerstream add-seller --seller {NEW_SELLER} first)",
        ),
    ],
)
def test_given_a_shipment_the_sellers_region_cannot_confirm_when_shipped_then_one_line_and_nothing_queued(
    pipeline: LocalPipeline,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    seller: str,
    marketplace: str,
    refusal: str,
) -> None:
    status = cli.main(ship_command(pipeline, tmp_path, seller, marketplace))

    assert status == 1
    assert capsys.readouterr().err == f"sellerstream ship: {refusal}\n"
    fulfillment = pipeline.resources.queues["fulfillment"].url
    assert "Messages" not in pipeline.sqs.receive_message(QueueUrl=fulfillment, WaitTimeSeconds=0)


def test_given_a_marketplace_in_the_sellers_region_when_shipped_then_the_request_is_queued(
    pipeline: LocalPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(ship_command(pipeline, tmp_path, SELLER, "A2EUQ1WTGCTBG2"))  # Canada: NA

    assert status == 0
    queued = json.loads(capsys.readouterr().out)
    fulfillment = pipeline.resources.queues["fulfillment"].url
    [message] = pipeline.sqs.receive_message(QueueUrl=fulfillment, WaitTimeSeconds=0)["Messages"]
    assert json.loads(message["Body"])["shipment"]["marketplaceId"] == "A2EUQ1WTGCTBG2"
    assert queued["message_id"] == message["MessageId"]
