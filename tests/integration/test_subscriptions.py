"""``sellerstream subscribe``: destinations and subscriptions for a deployed stack, idempotently."""

from __future__ import annotations

import pytest

from sellerstream_local.pipeline import LocalPipeline
from sellerstream_ops.outputs import StackOutputs
from sellerstream_ops.subscriptions import Subscriptions
from tests.integration.conftest import SELLER


@pytest.fixture
def tool(pipeline: LocalPipeline) -> Subscriptions:
    outputs = StackOutputs(pipeline.stack_outputs())
    settings = outputs.settings(
        {
            "SPAPI_ENDPOINT_OVERRIDE": pipeline.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": pipeline.emulator.lwa_token_url,
        }
    )
    return Subscriptions(outputs, settings, SELLER)


def test_given_fresh_account_when_subscribed_then_destinations_and_three_subscriptions_created(
    pipeline: LocalPipeline, tool: Subscriptions
) -> None:
    actions = tool.subscribe()

    created = {a.get("subscription") or a.get("destination"): a["action"] for a in actions}
    assert created == {
        "orders": "created",
        "reports": "created",
        "eventbridge": "created",
        "ORDER_CHANGE": "created",
        "LISTINGS_ITEM_STATUS_CHANGE": "created",
        "REPORT_PROCESSING_FINISHED": "created",
    }
    notifications = pipeline.emulator.notifications
    versions = {kind: sub["payloadVersion"] for (_, kind), sub in notifications.subscriptions.items()}
    assert versions == {
        "ORDER_CHANGE": "1.0",
        "LISTINGS_ITEM_STATUS_CHANGE": "1.0",
        "REPORT_PROCESSING_FINISHED": "2020-09-04",
    }
    order_filter = notifications.subscriptions[(SELLER, "ORDER_CHANGE")]["processingDirective"]["eventFilter"]
    assert order_filter["eventFilterType"] == "ORDER_CHANGE"
    resources = sorted(next(iter(d["resource"])) for d in notifications.destinations.values())
    assert resources == ["eventBridge", "sqs", "sqs"]
    routes = {item["pk"]: item["seller_id"] for item in pipeline.table_items("accounts")}
    for subscription in notifications.subscriptions.values():
        assert routes[f"SUBSCRIPTION#{subscription['subscriptionId']}"] == SELLER


def test_given_subscribed_when_run_again_then_nothing_changes(
    pipeline: LocalPipeline, tool: Subscriptions
) -> None:
    tool.subscribe()
    before = (
        dict(pipeline.emulator.notifications.destinations),
        dict(pipeline.emulator.notifications.subscriptions),
    )

    actions = tool.subscribe()

    assert {a["action"] for a in actions} == {"unchanged"}
    assert (
        pipeline.emulator.notifications.destinations,
        pipeline.emulator.notifications.subscriptions,
    ) == before
    assert pipeline.emulator.calls["createDestination"] == 3
    assert pipeline.emulator.calls["createSubscription"] == 3


def test_given_subscriptions_when_listed_then_each_type_shown(tool: Subscriptions) -> None:
    tool.subscribe()

    listed = tool.current()

    assert [entry["notificationType"] for entry in listed] == [
        "ORDER_CHANGE",
        "LISTINGS_ITEM_STATUS_CHANGE",
        "REPORT_PROCESSING_FINISHED",
    ]
    assert all(entry["subscription"]["subscriptionId"] for entry in listed)


def test_given_subscribed_when_unsubscribed_with_destinations_then_all_removed(
    pipeline: LocalPipeline, tool: Subscriptions
) -> None:
    tool.subscribe()

    actions = tool.unsubscribe(delete_destinations=True)

    assert [a["action"] for a in actions].count("deleted") == 6
    assert pipeline.emulator.notifications.subscriptions == {}
    assert pipeline.emulator.notifications.destinations == {}
    assert [entry["subscription"] for entry in tool.current()] == [None, None, None]
