"""Processing directives: Amazon's rules checked before Amazon sees a directive (the deployment's
``processing_directives`` context, a seller's ``--processing-directive``), the catalog's defaults,
and what the stack outputs."""

from __future__ import annotations

from typing import Any

import pytest

from sellerstream import catalog, processing_directives
from sellerstream_ops import cli
from sellerstream_ops.errors import UsageError
from sellerstream_ops.subscriptions import directive_options

ALL = catalog.enabled_types("all")
ORDER_FILTER: dict[str, Any] = {
    "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "orderChangeTypes": ["OrderStatusChange"],
        "marketplaceIds": ["ATVPDKIKX0DER"],
    }
}
OFFER_FILTER: dict[str, Any] = {
    "eventFilter": {
        "eventFilterType": "ANY_OFFER_CHANGED",
        "aggregationSettings": {"aggregationTimePeriod": "FiveMinutes"},
    }
}


def test_given_the_catalog_then_its_own_directives_pass_amazons_rules() -> None:
    for message_type in catalog.subscribed_types():
        directive = message_type.subscription.processing_directive  # type: ignore[union-attr]
        if directive is not None:
            assert processing_directives.check(message_type.name, dict(directive)) == directive


def test_given_every_type_taking_a_filter_then_it_is_one_amazons_model_names() -> None:
    assert set(catalog.EVENT_FILTER_FIELDS) == {"ORDER_CHANGE", "ANY_OFFER_CHANGED"}
    assert set(catalog.EVENT_FILTER_FIELDS) <= {t.name for t in catalog.subscribed_types()}


def test_given_the_briefs_example_when_read_from_context_then_each_directive_as_given() -> None:
    context = (
        '{"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", '
        '"orderChangeTypes": ["OrderStatusChange"], "marketplaceIds": ["ATVPDKIKX0DER"]}}, '
        '"ANY_OFFER_CHANGED": {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED", '
        '"aggregationSettings": {"aggregationTimePeriod": "FiveMinutes"}}}}'
    )

    assert processing_directives.from_context(context, ALL) == {
        "ORDER_CHANGE": ORDER_FILTER,
        "ANY_OFFER_CHANGED": OFFER_FILTER,
    }


@pytest.mark.parametrize("empty", [None, "", "  ", {}])
def test_given_no_context_then_no_directive_configured(empty: object) -> None:
    assert processing_directives.from_context(empty, ALL) == {}


def test_given_a_json_object_from_cdk_json_and_null_then_taken_and_null_means_none() -> None:
    assert processing_directives.from_context(
        {"ORDER_CHANGE": None, "ANY_OFFER_CHANGED": OFFER_FILTER}, ALL
    ) == {
        "ORDER_CHANGE": None,
        "ANY_OFFER_CHANGED": OFFER_FILTER,
    }


def test_given_another_spelling_of_a_type_then_its_catalog_name_and_twice_is_refused() -> None:
    assert processing_directives.from_context('{"LISTINGS_ITEM_STATUS_CHANGED": null}', ALL) == {
        "LISTINGS_ITEM_STATUS_CHANGE": None
    }
    with pytest.raises(ValueError, match="LISTINGS_ITEM_STATUS_CHANGE is named twice"):
        processing_directives.from_context(
            '{"LISTINGS_ITEM_STATUS_CHANGED": null, "LISTINGS_ITEM_STATUS_CHANGE": null}', ALL
        )


def test_given_every_value_amazon_enumerates_then_each_accepted() -> None:
    directive = {
        "eventFilter": {
            "eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange"],
            "marketplaceIds": ["A1PA6795UKMFR9", "A1VC38T7YXB528"],
        }
    }
    for period in ("FiveMinutes", "TenMinutes"):
        offers = {
            "eventFilter": {
                "eventFilterType": "ANY_OFFER_CHANGED",
                "aggregationSettings": {"aggregationTimePeriod": period},
            }
        }
        assert processing_directives.check("ANY_OFFER_CHANGED", offers) == offers

    assert processing_directives.check("ORDER_CHANGE", directive) == directive


ORDER = '{"ORDER_CHANGE": %s}'
OFFER = '{"ANY_OFFER_CHANGED": %s}'


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ('{"NO_SUCH_TYPE": null}', '"NO_SUCH_TYPE" is no type SellerStream takes; one of ANY_OFFER_CHANGED'),
        ('{"SCHEDULED_EVENT": null}', '"SCHEDULED_EVENT" is no type SellerStream takes'),
        (
            '{"REPORT_PROCESSING_FINISHED": {"eventFilter": {"eventFilterType": "REPORT_PROCESSING_FINISHED"}}}',
            "REPORT_PROCESSING_FINISHED: Amazon takes no processing directive for this type "
            r"\(only for ANY_OFFER_CHANGED and ORDER_CHANGE\)",
        ),
        (
            ORDER % '{"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED"}}',
            'ORDER_CHANGE: eventFilter.eventFilterType must be ORDER_CHANGE .*not "ANY_OFFER_CHANGED"',
        ),
        (ORDER % '{"eventFilter": {}}', "eventFilter.eventFilterType must be ORDER_CHANGE .*not null"),
        (
            ORDER
            % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["StatusChange"]}}',
            '"StatusChange" is not one of BuyerRequestedChange, DeliveryTipChange, OrderStatusChange',
        ),
        (
            ORDER % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": []}}',
            r"orderChangeTypes must be a non-empty list \(leave it out for all\)",
        ),
        (
            ORDER
            % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange", "OrderStatusChange"]}}',
            "orderChangeTypes names a value twice",
        ),
        (
            ORDER
            % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "aggregationSettings": {"aggregationTimePeriod": "FiveMinutes"}}}',
            'eventFilter has no field "aggregationSettings"; its fields: eventFilterType, marketplaceIds, orderChangeTypes',
        ),
        (
            OFFER
            % '{"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED", "orderChangeTypes": ["OrderStatusChange"]}}',
            'eventFilter has no field "orderChangeTypes"; its fields: eventFilterType, marketplaceIds, aggregationSettings',
        ),
        (
            OFFER
            % '{"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED", "aggregationSettings": {"aggregationTimePeriod": "OneMinute"}}}',
            'aggregationSettings.aggregationTimePeriod must be one of FiveMinutes, TenMinutes, not "OneMinute"',
        ),
        (
            OFFER % '{"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED", "aggregationSettings": {}}}',
            "aggregationTimePeriod must be one of FiveMinutes, TenMinutes, not null",
        ),
        (
            ORDER
            % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["atvpdkikx0der"]}}',
            r'marketplaceIds: "atvpdkikx0der" is not a marketplace id \(e.g. ATVPDKIKX0DER\)',
        ),
        (
            ORDER
            % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["AZZZZZZZZZZZZ"]}}',
            "marketplaceIds: AZZZZZZZZZZZZ is no marketplace Amazon lists",
        ),
        (
            ORDER % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": "ATVPDKIKX0DER"}}',
            "marketplaceIds must be a non-empty list",
        ),
        (
            ORDER % '{"filterExpression": "OrderChangeNotification.OrderStatus == `Shipped`"}',
            "filterExpression is not supported",
        ),
        (
            ORDER % '{"eventFilter": {"eventFilterType": "ORDER_CHANGE"}, "extra": 1}',
            'the directive has no field "extra"',
        ),
        (ORDER % "{}", r"needs eventFilter \(null, not an empty object, for no directive\)"),
        (ORDER % '"OrderStatusChange"', 'must be a JSON object with eventFilter, not "OrderStatusChange"'),
        ('["ORDER_CHANGE"]', " must be a JSON object by notification type"),
        ("{ORDER_CHANGE: 1}", r": not JSON \("),
    ],
)
def test_given_a_directive_amazon_would_refuse_then_refused_naming_the_type_and_the_field(
    context: str, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^processing_directives.*{message}"):
        processing_directives.from_context(context, ALL)


def test_given_a_type_the_deployment_does_not_take_then_refused_naming_the_ones_it_takes() -> None:
    with pytest.raises(
        ValueError,
        match=r"^processing_directives: ANY_OFFER_CHANGED is not among the deployment's notification_types: "
        r"LISTINGS_ITEM_STATUS_CHANGE, ORDER_CHANGE, REPORT_PROCESSING_FINISHED$",
    ):
        processing_directives.from_context(
            '{"ORDER_CHANGE": null, "ANY_OFFER_CHANGED": null}', catalog.DEFAULT_NOTIFICATION_TYPES
        )


def test_given_a_long_unknown_value_then_the_message_cuts_it_short() -> None:
    with pytest.raises(ValueError) as refused:
        processing_directives.from_context({"X" * 500: None}, ALL)

    assert len(str(refused.value)) < 700 and "…" in str(refused.value)


def test_given_lists_in_another_order_then_the_same_directive_but_not_another_value() -> None:
    reordered = {
        "eventFilter": {
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "orderChangeTypes": ["OrderStatusChange"],
            "eventFilterType": "ORDER_CHANGE",
        }
    }
    default = catalog.ORDER_CHANGE.subscription.processing_directive  # type: ignore[union-attr]
    swapped = {
        "eventFilter": {
            **default["eventFilter"],
            "orderChangeTypes": ["BuyerRequestedChange", "OrderStatusChange"],
        }
    }  # type: ignore[index]

    assert processing_directives.same(ORDER_FILTER, reordered)
    assert processing_directives.same(default, swapped)
    assert not processing_directives.same(ORDER_FILTER, default)
    assert not processing_directives.same(ORDER_FILTER, None)
    assert processing_directives.same(None, None)


# -- the effective directives (the stack's output) -------------------------------------------------


def test_given_nothing_configured_then_order_change_keeps_the_catalogs_filter_and_others_none() -> None:
    effective = catalog.processing_directives(ALL)

    assert effective == {
        "ORDER_CHANGE": {
            "eventFilter": {
                "eventFilterType": "ORDER_CHANGE",
                "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
            }
        }
    }


def test_given_configured_directives_then_they_replace_the_catalogs_and_null_removes_it() -> None:
    assert catalog.processing_directives(ALL, {"ANY_OFFER_CHANGED": OFFER_FILTER}) == {
        "ORDER_CHANGE": dict(catalog.ORDER_CHANGE.subscription.processing_directive),  # type: ignore[union-attr,arg-type]
        "ANY_OFFER_CHANGED": OFFER_FILTER,
    }
    assert catalog.processing_directives(ALL, {"ORDER_CHANGE": None}) == {}
    assert catalog.processing_directives(
        catalog.DEFAULT_NOTIFICATION_TYPES, {"ORDER_CHANGE": ORDER_FILTER}
    ) == {"ORDER_CHANGE": ORDER_FILTER}


def test_given_the_effective_directives_then_the_catalogs_own_is_never_shared_or_changed() -> None:
    effective = catalog.processing_directives(ALL)
    effective["ORDER_CHANGE"]["eventFilter"]["orderChangeTypes"].append("DeliveryTipChange")

    assert catalog.ORDER_CHANGE.subscription.processing_directive["eventFilter"]["orderChangeTypes"] == [  # type: ignore[union-attr,index]
        "OrderStatusChange",
        "BuyerRequestedChange",
    ]


# -- a seller's own: sellerstream subscribe --processing-directive TYPE=JSON -------------------------


def test_given_directive_options_then_parsed_by_type_and_null_kept() -> None:
    options = [
        'ORDER_CHANGE={"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange"]}}',
        "ANY_OFFER_CHANGED=null",
    ]

    assert directive_options(options) == {
        "ORDER_CHANGE": {
            "eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange"]}
        },
        "ANY_OFFER_CHANGED": None,
    }
    assert directive_options(None) == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (['{"eventFilter": {}}'], "--processing-directive must read TYPE=JSON"),
        (["=null"], "--processing-directive must read TYPE=JSON"),
        (["ORDER_CHANGE={eventFilter}"], r"--processing-directive ORDER_CHANGE: not JSON \("),
        (["ORDER_CHANGE=null", "ORDER_CHANGE=null"], "--processing-directive ORDER_CHANGE is given twice"),
    ],
)
def test_given_a_malformed_directive_option_then_a_usage_error(options: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        directive_options(options)


def test_given_a_sellers_directive_then_checked_by_the_same_rules_naming_the_option() -> None:
    with pytest.raises(
        ValueError, match=r"^--processing-directive: ORDER_CHANGE: eventFilter.orderChangeTypes"
    ):
        processing_directives.by_type(
            {"ORDER_CHANGE": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["X"]}}},
            ALL,
            "--processing-directive",
            "the deployment's types",
        )


def test_given_a_malformed_directive_on_the_command_line_then_one_line_and_exit_status_2_before_any_aws_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(
        ["subscribe", "--seller", "A1SELLER", "--processing-directive", "ORDER_CHANGE={orderChangeTypes}"]
    )

    lines = capsys.readouterr().err.splitlines()
    assert status == 2
    assert lines == [
        "sellerstream subscribe: --processing-directive ORDER_CHANGE: not JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    ]
