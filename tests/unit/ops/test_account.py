"""Where an account command acts: region, credentials and the stack's outputs, each missing one named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sellerstream_ops.account import NO_CREDENTIALS, NO_REGION, Target, connect
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.outputs import StackOutputs

ORDERS_ARN = "arn:aws:sqs:eu-west-1:123456789012:SellerStream-OrdersQueue"


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No region and no credentials from anywhere but what a test sets."""
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def with_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def deploy(region: str, stack_name: str = "SellerStream", outputs: dict[str, str] | None = None) -> None:
    """A stack with the given outputs (a real deployment's resources are not needed to read them)."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in (outputs or {}).items()},
    }
    boto3.client("cloudformation", region_name=region).create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template)
    )


@pytest.mark.usefixtures("no_aws_configuration")
def test_given_no_region_anywhere_when_connecting_then_one_line_saying_how_to_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_credentials(monkeypatch)

    with pytest.raises(OperatorError) as refused:
        connect(Target())

    assert str(refused.value) == NO_REGION


@pytest.mark.usefixtures("no_aws_configuration")
def test_given_only_aws_region_set_when_connecting_then_it_is_the_region_as_for_the_cdk_cli(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    with mock_aws():
        deploy("eu-west-1", outputs={"AccountsTableName": "accounts"})
        account = connect(Target())

    assert account.region == "eu-west-1"
    assert account.outputs["AccountsTableName"] == "accounts"


@pytest.mark.usefixtures("no_aws_configuration")
def test_given_no_credentials_when_connecting_then_one_line_saying_how_to_provide_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    with pytest.raises(OperatorError) as refused:
        connect(Target())

    assert str(refused.value) == NO_CREDENTIALS


@pytest.mark.usefixtures("no_aws_configuration")
def test_given_no_deployed_stack_when_connecting_then_names_the_stack_and_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    with (
        mock_aws(),
        pytest.raises(OperatorError, match="no stack 'SellerStream-staging' in us-east-1: deploy it"),
    ):
        connect(Target(stage="staging"))


@pytest.mark.usefixtures("no_aws_configuration")
def test_given_an_outputs_file_when_connecting_then_its_stack_and_the_region_of_its_arns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_credentials(monkeypatch)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream-prod": {"OrdersQueueArn": ORDERS_ARN}}))

    account = connect(Target(outputs_file=outputs))

    assert (account.stack_name, account.region) == ("SellerStream-prod", "eu-west-1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object of stacks"),
        ('{"A": {"x": "1"}, "B": {"x": "2"}}', "holds stacks A, B: name one with --stack"),
        ('{"SellerStream": {"OrdersQueueArn": 5}}', "output values must be strings"),
    ],
)
def test_given_a_bad_outputs_file_then_one_line_naming_the_file_and_the_problem(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(OperatorError, match=message) as refused:
        StackOutputs.from_file(path, None)

    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_given_an_outputs_file_without_the_named_stack_then_it_says_which_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"SellerStream": {}}))

    with pytest.raises(OperatorError, match=r"has no stack 'SellerStream-staging' \(it holds SellerStream\)"):
        StackOutputs.from_file(path, "SellerStream-staging")


def test_given_an_older_stack_when_an_output_is_missing_then_it_says_to_deploy_the_current_version() -> None:
    outputs = StackOutputs({}, "SellerStream")

    with pytest.raises(
        OperatorError, match="has no output 'AppCredentialsQueueArn': deploy the current version"
    ):
        outputs["AppCredentialsQueueArn"]
