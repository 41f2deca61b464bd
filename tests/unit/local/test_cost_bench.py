"""The cost bench's meter: what AWS bills for a call, counted from the request and the items it
touches, and what the template's fixed costs are read from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

from aws_meter import Bill, MeteredServices, item_size, read_units  # noqa: E402
from cost import template_counts  # noqa: E402

from sellerstream import catalog  # noqa: E402
from sellerstream_local.resources import create_catalog_table, create_table  # noqa: E402
from sellerstream_local.simulation import SimulatedDynamoDB  # noqa: E402


def table() -> tuple[SimulatedDynamoDB, str]:
    dynamodb = SimulatedDynamoDB()
    return dynamodb, create_table(dynamodb, "orders", "pk", "sk", None)


def metered(dynamodb: SimulatedDynamoDB) -> tuple[Any, Bill]:
    bill = Bill()
    return MeteredServices({"dynamodb": dynamodb}, bill, lambda _thread: "orders")["dynamodb"], bill


def test_given_items_then_their_size_is_dynamodbs() -> None:
    # "DynamoDB item sizes and formats": names and strings in UTF-8 bytes, numbers by digits.
    assert item_size({"pk": {"S": "é"}}) == 2 + 2
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3
    assert item_size({"m": {"M": {"a": {"S": "x"}}}}) == 1 + 3 + 1 + 1 + 1


def test_given_a_put_of_a_3_kb_item_when_metered_then_3_write_units() -> None:
    dynamodb, name = table()
    client, bill = metered(dynamodb)

    client.put_item(TableName=name, Item={"pk": {"S": "A"}, "sk": {"S": "B"}, "body": {"S": "x" * 3000}})

    assert bill.total("dynamodb_write_units") == 3


def test_given_a_failed_conditional_write_when_metered_then_it_costs_the_larger_item() -> None:
    dynamodb, name = table()
    client, bill = metered(dynamodb)
    client.put_item(TableName=name, Item={"pk": {"S": "A"}, "sk": {"S": "B"}, "body": {"S": "x" * 2500}})

    with pytest.raises(ClientError):
        client.put_item(
            TableName=name,
            Item={"pk": {"S": "A"}, "sk": {"S": "B"}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    assert bill.total("dynamodb_write_units") == 3 + 3
    assert bill.total("dynamodb_failed_writes") == 1


def test_given_a_transaction_when_metered_then_each_item_costs_twice() -> None:
    dynamodb, name = table()
    client, bill = metered(dynamodb)

    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "A"}, "sk": {"S": "ORDER#1"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "A"}, "sk": {"S": "PII#ORDER#1"}}}},
        ]
    )

    assert bill.total("dynamodb_write_units") == 4
    assert bill.total("order_versions_stored") == 1


def test_given_a_projected_read_when_metered_then_the_whole_item_is_billed() -> None:
    dynamodb, name = table()
    client, bill = metered(dynamodb)
    client.put_item(TableName=name, Item={"pk": {"S": "A"}, "sk": {"S": "B"}, "body": {"S": "x" * 9000}})

    client.get_item(TableName=name, Key={"pk": {"S": "A"}, "sk": {"S": "B"}}, ProjectionExpression="pk")

    assert bill.total("dynamodb_read_units") == read_units(9000 + 7, consistent=False) == 1.5


def test_given_a_template_then_alarm_metrics_mappings_and_schedules_are_counted() -> None:
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Plain": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Errors"}},
            "Math": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"Metrics": [{"MetricStat": {}}, {"MetricStat": {}}, {"Expression": "m1+m2"}]},
            },
            "FromQueue": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}},
            },
            "FromStream": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]}},
            },
            "Hourly": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {"ScheduleExpression": "rate(1 hour)"},
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        }
    }

    counts = template_counts(template)

    assert (counts["alarms"], counts["alarm_metrics"]) == (2, 3)
    assert counts["sqs_event_source_mappings"] == 1
    assert counts["schedules"] == {"Hourly": 730.0}
    assert counts["kms_keys"] == 1


def test_given_the_pending_orders_table_when_entries_are_written_then_its_local_index_writes_are_billed() -> (
    None
):
    # "Local secondary indexes: write activity": an item gaining or losing the index's sort key
    # attribute writes the index once, a new value of it twice, the same value with other changes
    # once (every attribute is projected), an item without it never.
    dynamodb = SimulatedDynamoDB()
    name = create_catalog_table(dynamodb, catalog.PENDING_ORDERS_TABLE, "pending")
    client, bill = metered(dynamodb)
    entry = {"pk": {"S": "A1#eu"}, "sk": {"S": "O#1"}}
    lease = {"pk": {"S": "A1#eu"}, "sk": {"S": "LEASE"}}

    def index_units() -> float:
        return bill.total(f"dynamodb_index_write_units:{name}")

    def record(changed: str, notification_id: str) -> None:
        client.update_item(
            TableName=name,
            Key=entry,
            UpdateExpression="SET changed = :changed, notification_id = :id",
            ExpressionAttributeValues={":changed": {"N": changed}, ":id": {"S": notification_id}},
        )

    record("100", "n-1")  # a new entry: put into the index
    assert index_units() == 1
    record("200", "n-2")  # a newer change: the old index item deleted, the new one put
    assert index_units() == 1 + 2
    record("200", "n-3")  # the same change, another notification: updated in place
    assert index_units() == 1 + 2 + 1
    client.update_item(
        TableName=name,
        Key=lease,
        UpdateExpression="SET #owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": {"S": "drainer"}},
    )  # the lease has no change time: not in the index
    assert index_units() == 1 + 2 + 1 + 0
    with pytest.raises(ClientError):
        client.delete_item(
            TableName=name,
            Key=entry,
            ConditionExpression="changed <= :changed",
            ExpressionAttributeValues={":changed": {"N": "100"}},
        )  # a newer change is pending: nothing deleted, no index written
    assert index_units() == 1 + 2 + 1 + 0 + 0
    client.delete_item(TableName=name, Key=entry)  # removed from the index
    assert index_units() == 1 + 2 + 1 + 0 + 0 + 1
    client.delete_item(TableName=name, Key={"pk": {"S": "A1#eu"}, "sk": {"S": "O#2"}})  # absent
    assert index_units() == 1 + 2 + 1 + 0 + 0 + 1 + 0

    # The table's own units stay as they were (7 small writes, the failed delete included), and
    # the index's 5 come on top in the write units priced.
    assert bill.total(f"dynamodb_write_units:{name}") == 7
    assert bill.total("dynamodb_write_units") == 7 + 5
