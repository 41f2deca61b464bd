"""The pending orders table in the stack: its keys and billing, the one function that drains it (the
orders consumer) with its name and the actions the adapter uses, and the others, reconciliation among
them, with neither."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from sellerstream import catalog
from tests.infrastructure.conftest import Synthesized

DRAINERS = [catalog.consumer("orders")]
OTHERS = [catalog.consumer(kind) for kind in ("listings", "reports", "fulfillment")] + [catalog.RECONCILE]
ADAPTER_ACTIONS = {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchWriteItem"}


def table_id(synthesized: Synthesized) -> str:
    return synthesized.output_target(catalog.PENDING_ORDERS_TABLE.output)


def function_of(synthesized: Synthesized, handler: str) -> dict[str, Any]:
    [found] = [
        f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    ]
    return found


def actions_on_table(synthesized: Synthesized, handler: str) -> set[str]:
    """What the function's role may do on the pending orders table."""
    role_id = function_of(synthesized, handler)["Role"]["Fn::GetAtt"][0]
    arn = {"Fn::GetAtt": [table_id(synthesized), "Arn"]}
    return {
        action
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        and arn
        in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }


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


@pytest.mark.parametrize("drainer", DRAINERS, ids=lambda drainer: drainer.name)
def test_given_a_drainer_then_it_knows_the_table_and_may_do_what_the_adapter_does_on_it(
    synthesized: Synthesized, drainer: catalog.Consumer
) -> None:
    variables = function_of(synthesized, drainer.handler)["Environment"]["Variables"]
    granted = actions_on_table(synthesized, drainer.handler)

    # Then its environment names the table (the setting's variable), and its role may do on it what
    # the adapter does (Query and BatchWriteItem among them), nothing more
    assert variables["PENDING_ORDERS_TABLE_NAME"] == {"Ref": table_id(synthesized)}
    assert {"dynamodb:Query", "dynamodb:BatchWriteItem"} <= granted
    assert granted == ADAPTER_ACTIONS


@pytest.mark.parametrize("other", OTHERS, ids=lambda other: other.name)
def test_given_another_function_then_it_neither_knows_nor_may_use_the_table(
    synthesized: Synthesized, other: catalog.Consumer | catalog.Job
) -> None:
    assert (
        "PENDING_ORDERS_TABLE_NAME" not in function_of(synthesized, other.handler)["Environment"]["Variables"]
    )
    assert actions_on_table(synthesized, other.handler) == set()
