"""The pending orders table in the stack: its keys, billing and local index (the entries of an
account by change), the one function that drains it (the orders consumer) with its name and the
actions the adapter uses on the table and that index, and the others, reconciliation among them,
with neither."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from aws_cdk.assertions import Match

from sellerstream import catalog
from tests.infrastructure.conftest import Synthesized

DRAINERS = [catalog.consumer("orders")]
OTHERS = [catalog.consumer(kind) for kind in ("listings", "reports", "fulfillment")] + [catalog.RECONCILE]
# What DynamoDBPendingOrders calls: the lease read and written, entries read (BatchGetItem) then
# written (UpdateItem) and deleted one by one, read by change on the index.
ADAPTER_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
}
INDEX = f"/index/{catalog.PENDING_BY_CHANGE.name}"


def table_id(synthesized: Synthesized) -> str:
    return synthesized.output_target(catalog.PENDING_ORDERS_TABLE.output)


def table_properties(synthesized: Synthesized) -> dict[str, Any]:
    properties: dict[str, Any] = synthesized.json["Resources"][table_id(synthesized)]["Properties"]
    return properties


def function_of(synthesized: Synthesized, handler: str) -> dict[str, Any]:
    [found] = [
        f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    properties: dict[str, Any] = found
    return properties


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def on_table(synthesized: Synthesized, resource: Any) -> str | None:
    """Which part of the pending orders table a statement's resource names: "" the table, what
    follows its ARN (``/index/<name>``, ``/index/*``, ...), the resource as written when it names
    the table otherwise or names every resource ("*"); None when it is about something else."""
    arn = {"Fn::GetAtt": [table_id(synthesized), "Arn"]}
    if resource == arn:
        return ""
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        if separator == "" and len(parts) == 2 and parts[0] == arn and isinstance(parts[1], str):
            return str(parts[1])
    if resource == "*" or table_id(synthesized) in json.dumps(resource):
        return json.dumps(resource)
    return None


def grants_on_table(synthesized: Synthesized, handler: str) -> dict[str, set[str]]:
    """What the function's role may do on the pending orders table, by part of it (``on_table``):
    DynamoDB's actions only (another service's actions on "*" are no access to the table)."""
    role_id = function_of(synthesized, handler)["Role"]["Fn::GetAtt"][0]
    granted: dict[str, set[str]] = defaultdict(set)
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = {
                action
                for action in listed(statement["Action"])
                if action == "*" or action.startswith("dynamodb:")
            }
            if statement["Effect"] != "Allow" or not actions:
                continue
            for resource in listed(statement["Resource"]):
                part = on_table(synthesized, resource)
                if part is not None:
                    granted[part] |= actions
    return dict(granted)


def test_given_the_stack_then_the_pending_orders_table_has_string_keys_and_on_demand_billing(
    synthesized: Synthesized,
) -> None:
    # Then a table keyed pk (hash) and sk (range), both strings, billed per request
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with(
                [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
            ),
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    # And it is that one: recreatable (no backups, no deletion protection), nothing expiring, no stream
    table = synthesized.json["Resources"][table_id(synthesized)]
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert [key["AttributeName"] for key in properties["KeySchema"]] == ["pk", "sk"]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    assert table["DeletionPolicy"] == "Delete" and not properties.get("DeletionProtectionEnabled", False)
    assert "TimeToLiveSpecification" not in properties and "StreamSpecification" not in properties


def test_given_the_stack_then_the_table_orders_an_account_s_entries_by_change_on_its_one_local_index(
    synthesized: Synthesized,
) -> None:
    properties = table_properties(synthesized)

    # Then one local index, named as the adapter queries it: an account's partition (pk) by the
    # number `changed` (epoch seconds of an order's newest change), every attribute projected (an
    # entry is read whole from it)
    assert catalog.PENDING_BY_CHANGE.sort_key == "changed"
    assert properties["LocalSecondaryIndexes"] == [
        {
            "IndexName": catalog.PENDING_BY_CHANGE.name,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "changed", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert {"AttributeName": "changed", "AttributeType": "N"} in properties["AttributeDefinitions"]
    # And no global index (whose reads would lag the writes)
    assert "GlobalSecondaryIndexes" not in properties


@pytest.mark.parametrize("drainer", DRAINERS, ids=lambda drainer: drainer.name)
def test_given_a_drainer_then_it_knows_the_table_and_may_do_what_the_adapter_does_on_it_and_its_index(
    synthesized: Synthesized, drainer: catalog.Consumer
) -> None:
    variables = function_of(synthesized, drainer.handler)["Environment"]["Variables"]
    granted = grants_on_table(synthesized, drainer.handler)

    # Then its environment names the table (the setting's variable)
    assert variables["PENDING_ORDERS_TABLE_NAME"] == {"Ref": table_id(synthesized)}
    # And its role may do on the table what the adapter does, nothing more (no BatchWriteItem)
    assert granted[""] == ADAPTER_ACTIONS
    # And Query the index, named (no other index, no wildcard), nothing beyond the adapter's actions
    assert set(granted) == {"", INDEX}
    assert "dynamodb:Query" in granted[INDEX] and granted[INDEX] <= ADAPTER_ACTIONS


@pytest.mark.parametrize("other", OTHERS, ids=lambda other: other.name)
def test_given_another_function_then_it_neither_knows_nor_may_use_the_table_or_its_index(
    synthesized: Synthesized, other: catalog.Consumer | catalog.Job
) -> None:
    assert (
        "PENDING_ORDERS_TABLE_NAME" not in function_of(synthesized, other.handler)["Environment"]["Variables"]
    )
    assert grants_on_table(synthesized, other.handler) == {}
