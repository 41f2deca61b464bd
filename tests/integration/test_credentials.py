"""Resolving a notification's SP-API credentials from Secrets Manager and the accounts table (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.endpoints import Region
from sellerstream_local.resources import create_table


def directory() -> AwsSellerDirectory:
    return AwsSellerDirectory(
        accounts_table="accounts",
        app_secret_id="sellerstream/lwa-app",
        seller_secret_prefix="sellerstream/sellers/",
    )


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        aws.reset_clients()
        client = boto3.client("secretsmanager")
        create_table(boto3.client("dynamodb"), "accounts", "pk", None, None)
        yield client
    aws.reset_clients()


def add_seller(secrets: Any, seller: str, value: dict[str, Any] | str) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    secrets.create_secret(Name=f"sellerstream/sellers/{seller}", SecretString=text)


def test_given_seller_secret_when_resolved_then_refresh_token_and_configured_region(secrets: Any) -> None:
    add_seller(secrets, "A1", {"refresh_token": "Atzr|x", "region": "eu"})

    resolved = directory().for_notification(seller_id="A1", subscription_id="s")

    assert (resolved.seller_key, resolved.refresh_token, resolved.region) == ("A1", "Atzr|x", Region.EU)
    assert "Atzr|x" not in repr(resolved)


def test_given_no_region_when_resolved_then_taken_from_the_marketplace(secrets: Any) -> None:
    add_seller(secrets, "A1", {"refresh_token": "Atzr|x"})

    resolved = directory().for_notification(
        seller_id="A1", subscription_id="s", marketplace_id="A1VC38T7YXB528"
    )

    assert resolved.region is Region.FE


def test_given_no_seller_id_when_resolved_then_routed_through_the_subscription(secrets: Any) -> None:
    add_seller(secrets, "amzn1.vg.1", {"refresh_token": "Atzr|v"})
    boto3.client("dynamodb").put_item(
        TableName="accounts", Item={"pk": {"S": "SUBSCRIPTION#sub-v"}, "seller_id": {"S": "amzn1.vg.1"}}
    )

    resolved = directory().for_notification(seller_id=None, subscription_id="sub-v")

    assert resolved.seller_key == "amzn1.vg.1"


@pytest.mark.parametrize(
    ("seller_id", "subscription_id", "secret", "error"),
    [
        ("A9", "s", None, UnknownSellerError),
        (None, "sub-unknown", None, UnknownSellerError),
        ("A1", "s", "not json", SellerCredentialsError),
        ("A1", "s", {"region": "NA"}, SellerCredentialsError),
        ("A1", "s", {"refresh_token": "Atzr|x", "region": "MARS"}, SellerCredentialsError),
    ],
)
def test_given_unusable_credentials_when_resolved_then_typed_poison_error(
    secrets: Any, seller_id: str | None, subscription_id: str, secret: Any, error: type[Exception]
) -> None:
    if secret is not None:
        add_seller(secrets, "A1", secret)

    with pytest.raises(error) as caught:
        directory().for_notification(seller_id=seller_id, subscription_id=subscription_id)

    assert "Atzr|" not in str(caught.value)


@pytest.mark.parametrize(
    "seller_id", ["A1#MARKETPLACE#ATVPDKIKX0DER", "../lwa-app", "A1/../../lwa-app", "a1", " A1", "A" * 40]
)
def test_given_a_seller_id_that_is_no_id_when_resolved_then_unknown_seller_without_reading_a_secret(
    secrets: Any, seller_id: str
) -> None:
    add_seller(secrets, "A1", {"refresh_token": "Atzr|x"})
    secrets.create_secret(Name="sellerstream/lwa-app", SecretString=json.dumps({"refresh_token": "Atzr|y"}))

    with pytest.raises(UnknownSellerError) as caught:
        directory().for_notification(seller_id=seller_id, subscription_id="s")

    assert seller_id not in str(caught.value)


def test_given_a_subscription_routed_to_a_malformed_seller_when_resolved_then_unknown_seller(
    secrets: Any,
) -> None:
    boto3.client("dynamodb").put_item(
        TableName="accounts", Item={"pk": {"S": "SUBSCRIPTION#sub-x"}, "seller_id": {"S": "../lwa-app"}}
    )

    with pytest.raises(UnknownSellerError):
        directory().for_notification(seller_id=None, subscription_id="sub-x")


def test_given_a_cached_secret_when_forgotten_then_the_next_read_sees_the_new_token(secrets: Any) -> None:
    # Given: a seller's secret read once and cached (an hour), then replaced (re-authorised)
    add_seller(secrets, "A1", {"refresh_token": "Atzr|old"})
    cached = directory()
    assert cached.for_seller("A1").refresh_token == "Atzr|old"
    secrets.put_secret_value(
        SecretId="sellerstream/sellers/A1", SecretString=json.dumps({"refresh_token": "Atzr|new"})
    )
    assert cached.for_seller("A1").refresh_token == "Atzr|old"  # still cached

    # When
    cached.forget("A1")

    # Then: read afresh once, then cached again
    assert cached.for_seller("A1").refresh_token == "Atzr|new"
