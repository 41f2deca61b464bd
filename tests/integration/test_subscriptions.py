"""``sellerstream subscribe``: destinations and subscriptions for a deployed stack, idempotently."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.spapi.endpoints import Region
from sellerstream_local.pipeline import LocalPipeline
from sellerstream_ops.errors import OperatorError, UsageError
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


# -- a seller in several SP-API regions: destinations and subscriptions in each --------------------

TWO_REGION_SELLER = "A2TWOREGIONSUB1"
REGIONS = ("NA", "EU")


def regional_tool(pipeline: LocalPipeline, seller_id: str) -> Subscriptions:
    """The command for ``seller_id`` against a deployment of the default types, on the emulator's
    regional endpoints (``<emulator>/{region}``, as the functions call them)."""
    outputs = StackOutputs(
        {
            **pipeline.stack_outputs(),
            catalog.StackOutputs.NOTIFICATION_TYPES: ",".join(sorted(catalog.DEFAULT_NOTIFICATION_TYPES)),
        }
    )
    settings = outputs.settings(
        {
            "SPAPI_ENDPOINT_OVERRIDE": pipeline.spapi_endpoint,
            "LWA_ENDPOINT_OVERRIDE": pipeline.emulator.lwa_token_url,
        }
    )
    return Subscriptions(outputs, settings, seller_id)


def test_given_a_seller_in_na_and_eu_when_subscribed_then_each_region_has_its_own_and_routes_them(
    pipeline: LocalPipeline,
) -> None:
    # Given: a seller that authorised the application in North America and in Europe (one refresh
    # token each, in the emulator and in the seller directory)
    directory = pipeline.seller_directory()
    for name in REGIONS:
        token = f"Atzr|two-regions-{name.lower()}"
        pipeline.emulator.register_seller(TWO_REGION_SELLER, token, region=name)
        directory.save_seller(TWO_REGION_SELLER, refresh_token=token, region=Region[name])
    tool = regional_tool(pipeline, TWO_REGION_SELLER)
    wanted = {t.name for t in tool.enabled_types()}

    # When: it is subscribed once
    actions = tool.subscribe()

    # Then: in each region, every destination and subscription created, each action naming its region
    named = {"orders", "reports", "eventbridge", *wanted}
    assert sorted(
        (a["region"], a.get("subscription") or a["destination"], a["action"]) for a in actions
    ) == sorted((region, name, "created") for region in REGIONS for name in named)
    # ... each region's subscriptions to its own destinations, each with an id of its own
    notifications = pipeline.emulator.notifications
    subscribed: dict[str, dict[str, dict[str, Any]]] = {}
    for region in REGIONS:
        subscriptions = notifications.subscriptions_in(region)
        assert set(subscriptions) == {(TWO_REGION_SELLER, kind) for kind in wanted}
        destinations = notifications.destinations_in(region)
        assert sorted(d["name"] for d in destinations.values()) == sorted(
            f"sellerstream-{name}" for name in named - wanted
        )
        assert all(sub["destinationId"] in destinations for sub in subscriptions.values())
        subscribed[region] = {kind: sub for (_, kind), sub in subscriptions.items()}
    for kind in wanted:
        assert subscribed["NA"][kind]["subscriptionId"] != subscribed["EU"][kind]["subscriptionId"]
    # ... each region's EventBridge destination with its own partner event source
    sources = {
        d["resource"]["eventBridge"]["name"]
        for region in REGIONS
        for d in notifications.destinations_in(region).values()
        if "eventBridge" in d["resource"]
    }
    assert len(sources) == 2
    # ... and the accounts table routes each subscription id to the seller with its region
    routes = {
        item["pk"]: (item["seller_id"], item.get("region"))
        for item in pipeline.table_items("accounts")
        if str(item["pk"]).startswith("SUBSCRIPTION#")
    }
    for region, by_kind in subscribed.items():
        for subscription in by_kind.values():
            assert routes[f"SUBSCRIPTION#{subscription['subscriptionId']}"] == (TWO_REGION_SELLER, region)

    # When: it is subscribed again
    before = {region: dict(notifications.subscriptions_in(region)) for region in REGIONS}
    again = tool.subscribe()

    # Then: everything is unchanged in both regions, and nothing more was created
    assert sorted(
        (a["region"], a.get("subscription") or a["destination"], a["action"]) for a in again
    ) == sorted((region, name, "unchanged") for region in REGIONS for name in named)
    assert {region: dict(notifications.subscriptions_in(region)) for region in REGIONS} == before
    assert pipeline.emulator.calls["createDestination"] == 6
    assert pipeline.emulator.calls["createSubscription"] == 6


# -- processing directives: the deployment's (its ProcessingDirectives output), a seller's own -------

ORDER_STATUS_ONLY = {
    "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "orderChangeTypes": ["OrderStatusChange"],
        "marketplaceIds": ["ATVPDKIKX0DER"],
    }
}
OFFERS_EVERY_FIVE_MINUTES = {
    "eventFilter": {
        "eventFilterType": "ANY_OFFER_CHANGED",
        "aggregationSettings": {"aggregationTimePeriod": "FiveMinutes"},
    }
}
ORDERS_AND_OFFERS = "ORDER_CHANGE,ANY_OFFER_CHANGED,REPORT_PROCESSING_FINISHED"


def with_directives(pipeline: LocalPipeline, notification_types: str, directives: object) -> Subscriptions:
    """The command against a deployment of ``notification_types`` whose ``ProcessingDirectives``
    output holds ``directives`` (JSON, as the stack writes it; a text: as it is)."""
    text = directives if isinstance(directives, str) else json.dumps(directives, separators=(",", ":"))
    outputs = StackOutputs(
        {
            **pipeline.stack_outputs(),
            catalog.StackOutputs.NOTIFICATION_TYPES: notification_types,
            catalog.StackOutputs.PROCESSING_DIRECTIVES: text,
        }
    )
    settings = outputs.settings(
        {
            "SPAPI_ENDPOINT_OVERRIDE": pipeline.emulator.base_url,
            "LWA_ENDPOINT_OVERRIDE": pipeline.emulator.lwa_token_url,
        }
    )
    return Subscriptions(outputs, settings, SELLER)


def stored_directives(pipeline: LocalPipeline) -> dict[str, Any]:
    return {
        kind: subscription.get("processingDirective")
        for (_, kind), subscription in pipeline.emulator.notifications.subscriptions.items()
    }


def test_given_a_stack_from_before_the_output_when_subscribed_then_order_change_has_the_catalogs_filter(
    pipeline: LocalPipeline, tool: Subscriptions
) -> None:
    tool.subscribe()

    assert stored_directives(pipeline) == {
        "ORDER_CHANGE": dict(catalog.ORDER_CHANGE.subscription.processing_directive),  # type: ignore[union-attr,arg-type]
        "LISTINGS_ITEM_STATUS_CHANGE": None,
        "REPORT_PROCESSING_FINISHED": None,
    }


def test_given_the_deployments_directives_when_subscribed_then_each_type_with_its_own(
    pipeline: LocalPipeline,
) -> None:
    tool = with_directives(
        pipeline,
        ORDERS_AND_OFFERS,
        {"ORDER_CHANGE": ORDER_STATUS_ONLY, "ANY_OFFER_CHANGED": OFFERS_EVERY_FIVE_MINUTES},
    )

    actions = tool.subscribe()

    assert {a["subscription"]: a["action"] for a in actions if "subscription" in a} == {
        "ORDER_CHANGE": "created",
        "ANY_OFFER_CHANGED": "created",
        "REPORT_PROCESSING_FINISHED": "created",
    }
    assert stored_directives(pipeline) == {
        "ORDER_CHANGE": ORDER_STATUS_ONLY,
        "ANY_OFFER_CHANGED": OFFERS_EVERY_FIVE_MINUTES,
        "REPORT_PROCESSING_FINISHED": None,
    }


def test_given_an_output_without_order_change_when_subscribed_then_it_has_no_directive(
    pipeline: LocalPipeline,
) -> None:
    """The output is the deployment's whole answer: a type it leaves out (``null`` in the context)
    is subscribed without a directive, not with the catalog's."""
    with_directives(pipeline, ORDERS_AND_OFFERS, {}).subscribe()

    assert set(stored_directives(pipeline).values()) == {None}


def test_given_a_sellers_own_directive_when_subscribed_then_it_overrides_the_deployments_for_that_seller(
    pipeline: LocalPipeline,
) -> None:
    tool = with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY})
    own = {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["BuyerRequestedChange"]}}

    tool.subscribe({"ORDER_CHANGE": own, "ANY_OFFER_CHANGED": OFFERS_EVERY_FIVE_MINUTES})

    assert stored_directives(pipeline) == {
        "ORDER_CHANGE": own,
        "ANY_OFFER_CHANGED": OFFERS_EVERY_FIVE_MINUTES,
        "REPORT_PROCESSING_FINISHED": None,
    }


def test_given_subscribed_when_the_same_directive_is_wanted_in_another_order_then_unchanged(
    pipeline: LocalPipeline,
) -> None:
    with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY}).subscribe()
    reordered = {"eventFilter": dict(reversed(list(ORDER_STATUS_ONLY["eventFilter"].items())))}

    actions = with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": reordered}).subscribe()

    assert {a["action"] for a in actions} == {"unchanged"}
    assert pipeline.emulator.calls["createSubscription"] == 3


def test_given_subscribed_when_another_directive_is_wanted_then_left_alone_saying_unsubscribe_first(
    pipeline: LocalPipeline,
) -> None:
    with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY}).subscribe()
    before = dict(pipeline.emulator.notifications.subscriptions)
    tool = with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY})

    actions = tool.subscribe({"ORDER_CHANGE": None})

    [order] = [a for a in actions if a.get("subscription") == "ORDER_CHANGE"]
    assert order["action"] == (
        "left alone: its processing directive differs from the wanted one; "
        "Amazon cannot change a subscription (unsubscribe first)"
    )
    assert order["processingDirective"] == ORDER_STATUS_ONLY and order["wantedProcessingDirective"] is None
    assert {a["action"] for a in actions if a is not order} == {"unchanged"}
    assert pipeline.emulator.notifications.subscriptions == before
    assert pipeline.emulator.calls["createSubscription"] == 3
    routes = {item["pk"] for item in pipeline.table_items("accounts")}
    assert f"SUBSCRIPTION#{order['subscriptionId']}" in routes


def test_given_a_directive_amazon_returns_in_an_unknown_shape_then_left_alone_saying_it_cannot_be_read(
    pipeline: LocalPipeline, tool: Subscriptions
) -> None:
    tool.subscribe()
    stored = pipeline.emulator.notifications.subscriptions[(SELLER, "ORDER_CHANGE")]
    stored["processingDirective"] = {
        "eventFilter": {
            "eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["OrderStatusChange"],
            "newFilter": 1,
        }
    }

    actions = tool.subscribe()
    listed = {entry["notificationType"]: entry for entry in tool.current()}

    [order] = [a for a in actions if a.get("subscription") == "ORDER_CHANGE"]
    assert order["action"].startswith(
        'left alone: its processing directive cannot be read (eventFilter has no field "newFilter"; '
    )
    assert order["action"].endswith("Amazon cannot change a subscription (unsubscribe first)")
    assert listed["ORDER_CHANGE"]["processingDirectiveCheck"].startswith("cannot be read (")
    assert listed["ORDER_CHANGE"]["processingDirective"] == stored["processingDirective"]


def test_given_subscriptions_when_listed_then_each_shows_its_directive_checked_against_the_deployments(
    pipeline: LocalPipeline,
) -> None:
    tool = with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY})
    tool.subscribe({"ANY_OFFER_CHANGED": OFFERS_EVERY_FIVE_MINUTES})

    listed = {entry["notificationType"]: entry for entry in tool.current()}

    assert listed["ORDER_CHANGE"]["processingDirective"] == ORDER_STATUS_ONLY
    assert listed["ORDER_CHANGE"]["processingDirectiveCheck"] == "as the deployment's"
    assert listed["REPORT_PROCESSING_FINISHED"]["processingDirective"] is None
    assert listed["REPORT_PROCESSING_FINISHED"]["processingDirectiveCheck"] == "as the deployment's"
    assert listed["ANY_OFFER_CHANGED"]["processingDirective"] == OFFERS_EVERY_FIVE_MINUTES
    assert listed["ANY_OFFER_CHANGED"]["processingDirectiveCheck"] == (
        "differs from the wanted one (the deployment's)"
    )
    assert listed["ANY_OFFER_CHANGED"]["deploymentProcessingDirective"] is None


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        (
            {"LISTINGS_ITEM_ISSUES_CHANGE": None},
            "LISTINGS_ITEM_ISSUES_CHANGE is not among the deployment's types",
        ),
        ({"NO_SUCH_TYPE": None}, '"NO_SUCH_TYPE" is no type SellerStream takes'),
        (
            {
                "REPORT_PROCESSING_FINISHED": {
                    "eventFilter": {"eventFilterType": "REPORT_PROCESSING_FINISHED"}
                }
            },
            "REPORT_PROCESSING_FINISHED: Amazon takes no processing directive for this type",
        ),
        (
            {"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["US"]}}},
            'ORDER_CHANGE: eventFilter.marketplaceIds: "US" is not a marketplace id',
        ),
    ],
)
def test_given_a_sellers_directive_the_deployment_cannot_take_then_refused_before_any_call(
    pipeline: LocalPipeline, directives: dict[str, Any], message: str
) -> None:
    tool = with_directives(pipeline, ORDERS_AND_OFFERS, {"ORDER_CHANGE": ORDER_STATUS_ONLY})

    with pytest.raises(UsageError, match=f"^--processing-directive: {message}"):
        tool.subscribe(directives)

    assert pipeline.emulator.calls["createDestination"] == pipeline.emulator.calls["createSubscription"] == 0


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{not json", "cannot be read"),
        ('["ORDER_CHANGE"]', r"cannot be read \(not a JSON object\)"),
        ('{"LISTINGS_ITEM_ISSUES_CHANGE": null}', "is not among its NotificationTypes"),
        (
            '{"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED"}}}',
            "eventFilterType must be",
        ),
    ],
)
def test_given_an_output_that_cannot_be_read_then_one_line_saying_deploy_again(
    pipeline: LocalPipeline, output: str, message: str
) -> None:
    tool = with_directives(pipeline, ORDERS_AND_OFFERS, output)

    with pytest.raises(
        OperatorError, match=f"^the stack's ProcessingDirectives output .*{message}.*make deploy"
    ):
        tool.subscribe()
    with pytest.raises(OperatorError, match="ProcessingDirectives"):
        tool.current()
