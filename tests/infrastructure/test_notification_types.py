"""Which types a deployment takes (context ``notification_types``): what each enabled type needs is
built, nothing for a type left out, and each function is told which of its types are enabled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sellerstream import catalog, config
from tests.infrastructure.conftest import PARTNER_EVENT_SOURCE, Synthesized


@pytest.fixture(scope="module")
def default_types(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(tmp_path_factory.mktemp("cdk.out"), {"notification_types": ""})


@pytest.fixture(scope="module")
def inventory_and_issues(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "notification_types": "FBA_INVENTORY_AVAILABILITY_CHANGES, LISTINGS_ITEM_ISSUES_CHANGE",
            "partner_event_source_name": PARTNER_EVENT_SOURCE,
            "notification_retention_days": "FBA_INVENTORY_AVAILABILITY_CHANGES=3",
        },
    )


def queue_kinds(deployed: Synthesized) -> set[str]:
    return {c.kind for c in catalog.CONSUMERS if c.outputs.queue_arn in deployed.json["Outputs"]}


def environment(deployed: Synthesized, consumer: catalog.Consumer) -> dict[str, str]:
    function_id = deployed.output_target(consumer.outputs.function)
    variables: dict[str, str] = deployed.json["Resources"][function_id]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def test_given_no_types_named_then_the_three_of_before_and_the_apps_own(default_types: Synthesized) -> None:
    assert queue_kinds(default_types) == {"orders", "listings", "reports", "app", "fulfillment"}
    outputs = default_types.json["Outputs"]
    assert outputs[catalog.StackOutputs.NOTIFICATION_TYPES]["Value"] == (
        "LISTINGS_ITEM_STATUS_CHANGE,ORDER_CHANGE,REPORT_PROCESSING_FINISHED"
    )
    listings = environment(default_types, catalog.consumer("listings"))
    settings = config.ListingStatusSettings.from_environment(
        {name: value if isinstance(value, str) else "x" for name, value in listings.items()}
    )
    # The listings function takes status changes only: issues or quantities are dead-lettered unknown.
    assert catalog.consumer("listings").enabled(settings.notification_types).accepts == {
        "LISTINGS_ITEM_STATUS_CHANGE",
        "LISTINGS_ITEM_STATUS_CHANGED",
    }


def test_given_two_types_named_then_their_consumers_only_and_the_rule_matches_the_enabled_one(
    inventory_and_issues: Synthesized,
) -> None:
    assert queue_kinds(inventory_and_issues) == {"listings", "notifications", "app", "fulfillment"}
    [rule] = [
        r
        for r in inventory_and_issues.resources("AWS::Events::Rule").values()
        if "source" in r["Properties"].get("EventPattern", {})
        and "aws.partner" in str(r["Properties"]["EventPattern"]["source"])
    ]
    assert rule["Properties"]["EventPattern"]["detail-type"] == ["LISTINGS_ITEM_ISSUES_CHANGE"]
    stored = environment(inventory_and_issues, catalog.consumer("notifications"))
    assert stored["NOTIFICATION_TYPES"] == "FBA_INVENTORY_AVAILABILITY_CHANGES,LISTINGS_ITEM_ISSUES_CHANGE"
    assert stored["NOTIFICATION_RETENTION_DAYS"] == "FBA_INVENTORY_AVAILABILITY_CHANGES=3"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"notification_types": "ORDER_CHANGE,NO_SUCH_TYPE"}, "NO_SUCH_TYPE is no type SellerStream takes"),
        (
            {"notification_retention_days": "ORDER_CHANGE=3"},
            "ORDER_CHANGE is no type stored as Amazon sends it",
        ),
        ({"notification_retention_days": "ANY_OFFER_CHANGED=0"}, "must be at least 1"),
        (
            {"notification_types": "ORDER_CHANGE", "partner_event_source_name": PARTNER_EVENT_SOURCE},
            "no type Amazon sends through EventBridge is enabled",
        ),
    ],
)
def test_given_a_context_that_cannot_be_deployed_then_the_synth_says_why(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    with pytest.raises((SystemExit, ValueError), match=message):
        Synthesized(tmp_path, context)


# -- processing directives (context ``processing_directives``) -----------------------------------------

BRIEF_DIRECTIVES = {
    "ORDER_CHANGE": {
        "eventFilter": {
            "eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["OrderStatusChange"],
            "marketplaceIds": ["ATVPDKIKX0DER"],
        }
    },
    "ANY_OFFER_CHANGED": {
        "eventFilter": {
            "eventFilterType": "ANY_OFFER_CHANGED",
            "aggregationSettings": {"aggregationTimePeriod": "FiveMinutes"},
        }
    },
}


@pytest.fixture(scope="module")
def with_directives(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "notification_types": "ORDER_CHANGE,ANY_OFFER_CHANGED,REPORT_PROCESSING_FINISHED",
            "processing_directives": json.dumps(BRIEF_DIRECTIVES),
        },
    )


def directives_output(deployed: Synthesized) -> str:
    value: str = deployed.json["Outputs"][catalog.StackOutputs.PROCESSING_DIRECTIVES]["Value"]
    return value


def test_given_no_directives_configured_then_the_output_holds_order_changes_default_compactly(
    default_types: Synthesized,
) -> None:
    assert directives_output(default_types) == (
        '{"ORDER_CHANGE":{"eventFilter":{"eventFilterType":"ORDER_CHANGE",'
        '"orderChangeTypes":["OrderStatusChange","BuyerRequestedChange"]}}}'
    )


def test_given_no_type_that_has_a_directive_then_the_output_is_an_empty_object(
    inventory_and_issues: Synthesized,
) -> None:
    assert directives_output(inventory_and_issues) == "{}"


def test_given_directives_configured_then_the_output_holds_them_for_the_operator_commands(
    with_directives: Synthesized,
) -> None:
    output = directives_output(with_directives)

    assert json.loads(output) == BRIEF_DIRECTIVES
    assert output == json.dumps(BRIEF_DIRECTIVES, separators=(",", ":"))


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ('{"NO_SUCH_TYPE": null}', '"NO_SUCH_TYPE" is no type SellerStream takes'),
        ('{"ANY_OFFER_CHANGED": null}', "ANY_OFFER_CHANGED is not among the deployment's notification_types"),
        (
            '{"REPORT_PROCESSING_FINISHED": {"eventFilter": {"eventFilterType": "REPORT_PROCESSING_FINISHED"}}}',
            "REPORT_PROCESSING_FINISHED: Amazon takes no processing directive for this type",
        ),
        (
            '{"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED"}}}',
            "ORDER_CHANGE: eventFilter.eventFilterType must be ORDER_CHANGE",
        ),
        (
            '{"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["Shipped"]}}}',
            '"Shipped" is not one of BuyerRequestedChange, DeliveryTipChange, OrderStatusChange',
        ),
        (
            '{"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["AZZZZZZZZZZZZ"]}}}',
            "AZZZZZZZZZZZZ is no marketplace Amazon lists",
        ),
        ("ORDER_CHANGE=OrderStatusChange", r"not JSON \("),
    ],
)
def test_given_processing_directives_amazon_would_refuse_then_the_synth_fails_saying_what_is_wrong(
    tmp_path: Path, directives: str, message: str
) -> None:
    with pytest.raises(SystemExit, match=f"^processing_directives: .*{message}"):
        Synthesized(tmp_path, {"notification_types": "", "processing_directives": directives})
