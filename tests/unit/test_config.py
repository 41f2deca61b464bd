"""Settings: one class per function, each variable read with its kind checked, and a clear error naming it."""

from __future__ import annotations

import pytest

from sellerstream import catalog
from sellerstream.config import (
    InvalidSettingError,
    MissingSettingError,
    NotificationsSettings,
    OrderChangeSettings,
    ReconcileSettings,
    ReportFinishedSettings,
    Settings,
)

ORDER_CHANGE = {
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "QUEUE_URL": "https://sqs.example/orders",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.example/orders-dlq",
    "ACCOUNTS_TABLE_NAME": "accounts",
    "LWA_APP_SECRET_ID": "sellerstream/lwa-app",
    "SELLER_SECRET_PREFIX": "sellerstream/sellers/",
    "ORDERS_TABLE_NAME": "orders",
    "PENDING_ORDERS_TABLE_NAME": "pending-orders",
}


def test_given_only_the_required_variables_when_read_then_every_other_setting_has_its_default() -> None:
    settings = OrderChangeSettings.from_environment({**ORDER_CHANGE, "PATH": "/usr/bin"})

    assert settings.orders_table_name == "orders"
    assert settings.pending_orders_table_name == "pending-orders"
    assert settings.orders_api_version == "2026-01-01"
    assert settings.spapi_sandbox is False
    assert settings.max_receive_count == 5
    assert settings.rate_budget_table_name is None


def test_given_every_kind_of_value_when_read_then_each_setting_has_its_type() -> None:
    settings = ReportFinishedSettings.from_environment(
        {
            **ORDER_CHANGE,
            "REPORTS_TABLE_NAME": "reports",
            "REPORT_ROWS_TABLE_NAME": "rows",
            "REPORTS_BUCKET_NAME": "bucket",
            "SPAPI_SANDBOX": "True",
            "MAX_RECEIVE_COUNT": " 7 ",
            "REPORT_MAX_ROWS_PER_INVOCATION": "1000",
            "SELLER_CREDENTIALS_WAIT_SECONDS": "0",
        }
    )

    assert settings.spapi_sandbox is True
    assert settings.max_receive_count == 7
    assert settings.report_max_rows_per_invocation == 1000
    assert settings.seller_credentials_wait_seconds == 0


@pytest.mark.parametrize("missing", sorted(ORDER_CHANGE))
def test_given_a_required_variable_unset_when_read_then_the_error_names_it(missing: str) -> None:
    environment = {name: value for name, value in ORDER_CHANGE.items() if name != missing}

    with pytest.raises(MissingSettingError, match=f"{missing} is not set"):
        OrderChangeSettings.from_environment(environment)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAX_RECEIVE_COUNT", "five", "MAX_RECEIVE_COUNT must be an integer"),
        ("QUEUE_RETENTION_SECONDS", "1.5", "QUEUE_RETENTION_SECONDS must be an integer"),
        ("SPAPI_SANDBOX", "maybe", "SPAPI_SANDBOX must be true or false"),
        ("ORDERS_API_VERSION", "2024-01-01", "ORDERS_API_VERSION must be one of 2026-01-01, v0"),
        ("ORDERS_TABLE_NAME", "", "ORDERS_TABLE_NAME must not be empty"),
    ],
)
def test_given_a_value_of_the_wrong_kind_when_read_then_the_error_names_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        OrderChangeSettings.from_environment({**ORDER_CHANGE, variable: value})


def test_given_a_minimum_when_a_value_is_below_it_then_refused() -> None:
    environment = {
        "ACCOUNTS_TABLE_NAME": "accounts",
        "LWA_APP_SECRET_ID": "lwa",
        "SELLER_SECRET_PREFIX": "sellers/",
        "ORDERS_TABLE_NAME": "orders",
        "RATE_BUDGET_TABLE_NAME": "budget",
        "RECONCILE_FIRST_WINDOW_SECONDS": "59",
    }

    with pytest.raises(InvalidSettingError, match="RECONCILE_FIRST_WINDOW_SECONDS must be at least 60"):
        ReconcileSettings.from_environment(environment)


def test_given_values_when_rendered_then_read_back_the_same() -> None:
    values = {"orders_table_name": "orders", "spapi_sandbox": True, "max_receive_count": 7, "unrelated": "x"}
    values |= {name.lower(): value for name, value in ORDER_CHANGE.items() if name != "ORDERS_TABLE_NAME"}

    environment = OrderChangeSettings.environment(values)

    assert environment["SPAPI_SANDBOX"] == "true" and environment["MAX_RECEIVE_COUNT"] == "7"
    assert "UNRELATED" not in environment
    settings = OrderChangeSettings.from_environment(environment)
    assert (settings.spapi_sandbox, settings.max_receive_count) == (True, 7)


def test_given_a_required_setting_nobody_gives_when_rendered_then_the_error_names_it() -> None:
    with pytest.raises(MissingSettingError, match="nothing gives ORDERS_TABLE_NAME"):
        OrderChangeSettings.environment(
            {name.lower(): value for name, value in ORDER_CHANGE.items() if name != "ORDERS_TABLE_NAME"}
        )


def test_given_a_value_its_parser_refuses_when_rendered_then_refused_before_any_function_runs() -> None:
    values = {name.lower(): value for name, value in ORDER_CHANGE.items()}

    with pytest.raises(InvalidSettingError, match="ORDERS_API_VERSION"):
        OrderChangeSettings.environment({**values, "orders_api_version": "2019"})


def test_given_python_values_when_built_then_unknown_or_missing_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="no settings"):
        ReconcileSettings.of(orders_table_name="orders", queue_url="not a reconcile setting")
    with pytest.raises(MissingSettingError, match="ORDERS_TABLE_NAME"):
        ReconcileSettings.of(
            accounts_table_name="a",
            lwa_app_secret_id="l",
            seller_secret_prefix="s/",
            rate_budget_table_name="b",
        )


@pytest.mark.parametrize(
    "function", [*catalog.CONSUMERS, *catalog.JOBS], ids=lambda function: function.service_name
)
def test_given_the_catalog_then_every_function_has_a_settings_class_whose_variables_are_spelled_once(
    function: catalog.Consumer | catalog.Job,
) -> None:
    fields = function.settings.fields()

    assert issubclass(function.settings, Settings)
    assert all(setting.variable == name.upper() for name, setting in fields.items())


def test_given_a_list_of_names_then_read_and_rendered_the_same_way() -> None:
    setting = NotificationsSettings.fields()["notification_types"]

    assert setting.parse("NOTIFICATION_TYPES", " B , A,,") == {"A", "B"}
    assert setting.parse("NOTIFICATION_TYPES", "") is None
    assert setting.render(frozenset({"B", "A"})) == "A,B"


@pytest.mark.parametrize("text", ["ANY_OFFER_CHANGED", "=3", "ANY_OFFER_CHANGED=0", "ANY_OFFER_CHANGED=x"])
def test_given_days_by_name_that_are_not_then_the_variable_is_named(text: str) -> None:
    setting = NotificationsSettings.fields()["notification_retention_days"]

    with pytest.raises(InvalidSettingError, match="NOTIFICATION_RETENTION_DAYS"):
        setting.parse("NOTIFICATION_RETENTION_DAYS", text)
    assert setting.parse("NOTIFICATION_RETENTION_DAYS", "A=3, B=90") == {"A": 3, "B": 90}
    assert setting.render({"B": 90, "A": 3}) == "A=3,B=90"
