"""``sellerstream subscribe``: destinations and subscriptions for a deployed stack, idempotently."""

from __future__ import annotations

import pytest

from sellerstream import catalog
from sellerstream_local.pipeline import LocalPipeline
from sellerstream_ops.outputs import StackOutputs
from sellerstream_ops.subscriptions import Subscriptions
from tests.integration.conftest import SELLER


def subscriptions_of(pipeline: LocalPipeline, notification_types: str) -> Subscriptions:
    """The command against a deployment of ``notification_types`` (its stack output)."""
    outputs = StackOutputs(
        {**pipeline.stack_outputs(), catalog.StackOutputs.NOTIFICATION_TYPES: notification_types}
    )
    settings = outputs.settings(
        {
            "SPAPI_ENDPOINT_OVERRIDE": pipeline.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": pipeline.emulator.lwa_token_url,
        }
    )
    return Subscriptions(outputs, settings, SELLER)


@pytest.fixture
def tool(pipeline: LocalPipeline) -> Subscriptions:
    """A deployment of the types taken when none are named."""
    return subscriptions_of(pipeline, ",".join(sorted(catalog.DEFAULT_NOTIFICATION_TYPES)))


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


def test_given_every_type_enabled_when_subscribed_then_each_with_its_destination_kind_and_version(
    pipeline: LocalPipeline,
) -> None:
    tool = subscriptions_of(pipeline, "all")

    tool.subscribe()

    notifications = pipeline.emulator.notifications
    destinations = {d["destinationId"]: d["resource"] for d in notifications.destinations.values()}
    queue_of = {pipeline.resources.queues[c.kind].arn: c.kind for c in catalog.CONSUMERS}
    subscribed = {}
    for (_, kind), subscription in notifications.subscriptions.items():
        resource = destinations[subscription["destinationId"]]
        where = "eventbridge" if "eventBridge" in resource else queue_of[resource["sqs"]["arn"]]
        subscribed[kind] = (where, subscription["payloadVersion"])
    assert subscribed == {
        t.name: (
            "eventbridge"
            if t.transport is catalog.Transport.EVENTBRIDGE
            else catalog.consumer_of(t.name).kind,  # type: ignore[union-attr]
            t.subscription.payload_version,  # type: ignore[union-attr]
        )
        for t in catalog.subscribed_types()
    }
    assert (
        subscribed["ANY_OFFER_CHANGED"][0] == "offers"
        and subscribed["FEED_PROCESSING_FINISHED"][0] == "feeds"
    )
    assert subscribed["LISTINGS_ITEM_ISSUES_CHANGE"] == ("eventbridge", "2023-12-13")
