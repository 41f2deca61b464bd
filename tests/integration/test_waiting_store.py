"""The newest waiting ORDER_CHANGE notification per order (DynamoDB conditional writes), against moto."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from sellerstream import aws
from sellerstream.adapters.waiting import DynamoDBWaitingNotifications, WaitingNotification

TABLE = "rate-budget"
SELLER, ORDER = "A1SELLER", "111-0000000-0000001"


@pytest.fixture
def store() -> Iterator[DynamoDBWaitingNotifications]:
    with mock_aws():
        aws.reset_clients()
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDBWaitingNotifications(TABLE, clock=lambda: 1_790_000_000.0)
    aws.reset_clients()


def test_given_a_newer_notification_recorded_when_an_older_one_records_then_the_newer_stays(
    store: DynamoDBWaitingNotifications,
) -> None:
    newer = WaitingNotification(1_790_000_060.0, "n-2")

    assert store.record(SELLER, ORDER, newer)
    assert not store.record(SELLER, ORDER, WaitingNotification(1_790_000_000.0, "n-1"))
    assert not store.record(
        SELLER, ORDER, WaitingNotification(1_790_000_060.0, "n-3")
    )  # as new: the first stays

    assert store.newest_of([(SELLER, ORDER), (SELLER, "111-0000000-0000002")]) == {(SELLER, ORDER): newer}


def test_given_a_newer_notification_when_it_records_then_it_replaces_the_older(
    store: DynamoDBWaitingNotifications,
) -> None:
    store.record(SELLER, ORDER, WaitingNotification(1_790_000_000.0, "n-1"))

    assert store.record(SELLER, ORDER, WaitingNotification(1_790_000_060.0, "n-2"))
    assert store.newest_of([(SELLER, ORDER)])[(SELLER, ORDER)].notification_id == "n-2"


def test_given_a_recorded_notification_then_it_supersedes_older_and_other_as_new_ones_but_not_itself() -> (
    None
):
    recorded = WaitingNotification(1_790_000_060.0, "n-2")

    assert recorded.supersedes(1_790_000_000.0, "n-1")
    assert recorded.supersedes(1_790_000_060.0, "n-3")
    assert not recorded.supersedes(1_790_000_060.0, "n-2")
    assert not recorded.supersedes(1_790_000_061.0, "n-4")
