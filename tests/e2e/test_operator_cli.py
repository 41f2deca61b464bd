"""``sellerstream``'s account commands as an operator runs them: the console script, against an AWS
account played by a moto server and Amazon played by the SP-API emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.resources import create_resources
from stacks import constants

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("operator-cli")]

SCRIPT = Path(sys.executable).with_name("sellerstream")
REGION = "us-east-1"
CLIENT_ID = "amzn1.application-oa2-client.e2etest"
CLIENT_SECRET = "amzn1.oa2-cs.v1.e2etestsecret"
SELLER = "A1E2ESELLER0001"
REFRESH_TOKEN = "Atzr|e2e-refresh-token"


@dataclass
class FakeAccount:
    endpoint: str
    emulator: SpApiEmulator
    outputs: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def env(self, **changes: str | None) -> dict[str, str]:
        """An operator's shell: credentials and region for the account, Amazon's endpoints emulated."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "SPAPI_ENDPOINT_OVERRIDE": self.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": self.emulator.lwa_token_url,
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env


@pytest.fixture(scope="module")
def account() -> Iterator[FakeAccount]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    emulator = SpApiEmulator(time_scale=50.0)
    emulator.start()
    emulator.register_app(CLIENT_ID, CLIENT_SECRET)
    emulator.register_seller(SELLER, REFRESH_TOKEN)
    fake = FakeAccount(f"http://{host}:{port}", emulator, {})
    try:
        resources = create_resources(
            fake.client("sqs"), fake.client("dynamodb"), fake.client("s3"), fake.client("events"), 30
        )
        secret_arn = fake.client("secretsmanager").create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps({"client_id": constants.LWA_PLACEHOLDER_CLIENT_ID, "client_secret": "x"}),
        )["ARN"]
        topic = fake.client("sns").create_topic(Name="sellerstream-alarms")["TopicArn"]
        queues, tables = resources.queues, resources.tables
        fake.outputs = {
            "OrdersQueueArn": queues["orders"].arn,
            "OrdersQueueUrl": queues["orders"].url,
            "OrdersDeadLetterQueueUrl": queues["orders"].dlq_url,
            "ListingsQueueArn": queues["listings"].arn,
            "ListingsDeadLetterQueueUrl": queues["listings"].dlq_url,
            "ReportsQueueArn": queues["reports"].arn,
            "ReportsDeadLetterQueueUrl": queues["reports"].dlq_url,
            "AppCredentialsQueueArn": queues["app"].arn,
            "AppCredentialsQueueUrl": queues["app"].url,
            "AppCredentialsDeadLetterQueueUrl": queues["app"].dlq_url,
            "AccountsTableName": tables["accounts"],
            "LwaAppSecretArn": secret_arn,
            "SellerSecretPrefix": constants.SELLER_SECRET_PREFIX,
            "AlarmTopicArn": topic,
        }
        # A deployed stack whose outputs name those resources (CloudFormation is where they are read).
        template = {
            "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in fake.outputs.items()},
        }
        fake.client("cloudformation").create_stack(
            StackName="SellerStream", TemplateBody=json.dumps(template)
        )
        yield fake
    finally:
        emulator.stop()
        server.stop()


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def refused(completed: subprocess.CompletedProcess[str], command: str) -> str:
    """The one line a first mistake gets."""
    assert completed.returncode == 1, completed
    assert "Traceback" not in completed.stderr
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith(f"sellerstream {command}: ")
    return line


def test_given_help_then_local_tools_and_account_commands_are_listed_apart() -> None:
    completed = run(dict(os.environ), "--help")

    assert completed.returncode == 0
    local, account = completed.stdout.split("account (")
    assert "local (no AWS account" in local and "demo" in local and "replay" in local
    for command in ("subscribe", "add-seller", "set-app-credentials", "dlq", "redrive", "status"):
        assert f"  {command} " in account
    assert "  subscribe " not in local


def test_given_no_region_then_one_line(account: FakeAccount) -> None:
    completed = run(account.env(AWS_REGION=None), "status")

    assert "no AWS region: set AWS_REGION" in refused(completed, "status")


def test_given_no_credentials_then_one_line(account: FakeAccount) -> None:
    completed = run(account.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None), "dlq")

    assert "no AWS credentials" in refused(completed, "dlq")


def test_given_no_deployed_stack_then_one_line(account: FakeAccount) -> None:
    completed = run(account.env(), "status", "--stage", "nowhere")

    assert "no stack 'SellerStream-nowhere' in us-east-1: deploy it first" in refused(completed, "status")


def test_given_a_bad_outputs_file_then_one_line(account: FakeAccount, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text("SellerStream.OrdersQueueArn = arn:aws:sqs:...")

    completed = run(account.env(), "subscribe", "--seller", SELLER, "--outputs-file", str(outputs))

    assert "not JSON" in refused(completed, "subscribe")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {}}, indent=2).encode(), "over 4 lines"),
        (b"\x1f\x8b\x08\x00binary", "binary file"),
        (json.dumps([{"a": 1}, {"b": 2}]).encode(), "JSON array"),
    ],
)
def test_given_a_file_replay_cannot_read_then_one_line_saying_one_json_object_per_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_bytes(content)

    completed = run(dict(os.environ), "replay", str(capture))

    line = refused(completed, "replay")
    assert message in line and "one JSON object per line" in line


def test_given_a_fresh_deployment_when_operated_then_app_seller_subscriptions_and_status(
    account: FakeAccount,
) -> None:
    env = account.env()

    placeholder = run(env, "subscribe", "--seller", SELLER)
    app = run(env, "set-app-credentials", "--client-id", CLIENT_ID, stdin=CLIENT_SECRET + "\n")
    seller = run(env, "add-seller", "--seller", SELLER, "--seller-region", "NA", stdin=REFRESH_TOKEN + "\n")
    subscribed = run(env, "subscribe", "--seller", SELLER)
    state = run(env, "status")
    letters = run(env, "dlq")
    redriven = run(env, "redrive", "--dry-run")

    assert "placeholder client id: run sellerstream set-app-credentials" in refused(placeholder, "subscribe")
    for completed in (app, seller, subscribed, state, letters, redriven):
        assert completed.returncode == 0, completed.stderr
    stored = account.client("secretsmanager").get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)
    assert json.loads(stored["SecretString"]) == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    seller_secret = account.client("secretsmanager").get_secret_value(
        SecretId=f"{constants.SELLER_SECRET_PREFIX}{SELLER}"
    )
    assert json.loads(seller_secret["SecretString"]) == {"regions": {"NA": {"refresh_token": REFRESH_TOKEN}}}
    assert {entry["action"] for entry in json.loads(subscribed.stdout)} == {"created"}
    view = json.loads(state.stdout)
    assert view["app_credentials"]["client_id"] == CLIENT_ID
    assert view["sellers"][SELLER]["regions"]["NA"]["status"] == "active"
    assert set(view["sellers"][SELLER]["subscriptions"]["NA"].values()) != {"none"}
    assert json.loads(letters.stdout) == [] and json.loads(redriven.stdout) == []
    everything_printed = "".join(c.stdout + c.stderr for c in (app, seller, subscribed, state, letters))
    assert CLIENT_SECRET not in everything_printed and REFRESH_TOKEN not in everything_printed


@pytest.mark.parametrize(
    ("arguments", "status", "says"),
    [
        # Taken for --refresh-token-file before abbreviations were refused: the token printed as a file name.
        (
            ["--refresh-token", REFRESH_TOKEN],
            2,
            "unknown option --refresh-token (options are never abbreviated",
        ),
        ([f"--refresh-token={REFRESH_TOKEN}"], 2, "unknown option --refresh-token"),
        (["--refresh-token-file", REFRESH_TOKEN], 1, "not the refresh token itself"),
        ([REFRESH_TOKEN], 2, "unexpected argument (not shown)"),
    ],
)
def test_given_a_refresh_token_on_the_command_line_then_refused_in_one_line_that_does_not_show_it(
    account: FakeAccount, arguments: list[str], status: int, says: str
) -> None:
    completed = run(account.env(), "add-seller", "--seller", SELLER, "--seller-region", "NA", *arguments)

    assert completed.returncode == status and completed.stdout == ""
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("sellerstream add-seller: ") and says in line
    assert "e2e-refresh-token" not in completed.stderr


def test_given_a_reason_no_letter_can_have_when_redriving_then_one_line_listing_the_known_ones(
    account: FakeAccount,
) -> None:
    completed = run(account.env(), "redrive", "--reason", "unknwon_seller")

    line = refused(completed, "redrive")
    assert "'unknwon_seller' is no reason a dead letter can have" in line
    assert "unknown_seller" in line and "unsupported_payload_version" in line
