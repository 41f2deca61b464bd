"""Settings: every environment variable read with its kind checked, and a clear error naming it."""

from __future__ import annotations

import typing

import pytest

from sellerstream import config
from sellerstream.config import InvalidSettingError, MissingSettingError, Settings

REQUIRED = {
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "ACCOUNTS_TABLE_NAME": "accounts",
    "LWA_APP_SECRET_ID": "sellerstream/lwa-app",
    "SELLER_SECRET_PREFIX": "sellerstream/sellers/",
}


def test_given_only_the_required_variables_when_read_then_every_other_field_has_its_default() -> None:
    settings = Settings.from_environment({**REQUIRED, "PATH": "/usr/bin"})

    assert settings.accounts_table_name == "accounts"
    assert settings.orders_table_name is None
    assert settings.orders_api_version == "2026-01-01"
    assert settings.spapi_sandbox is False
    assert settings.max_receive_count == 5
    assert settings.report_max_rows_per_invocation is None


def test_given_every_kind_of_value_when_read_then_each_field_has_its_type() -> None:
    settings = Settings.from_environment(
        {
            **REQUIRED,
            "ORDERS_TABLE_NAME": "orders",
            "ORDERS_API_VERSION": "v0",
            "SPAPI_SANDBOX": "True",
            "MAX_RECEIVE_COUNT": " 7 ",
            "REPORT_MAX_ROWS_PER_INVOCATION": "1000",
            "SELLER_CREDENTIALS_WAIT_SECONDS": "0",
        }
    )

    assert settings.orders_table_name == "orders"
    assert settings.orders_api_version == "v0"
    assert settings.spapi_sandbox is True
    assert settings.max_receive_count == 7
    assert settings.report_max_rows_per_invocation == 1000
    assert settings.seller_credentials_wait_seconds == 0


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_given_a_required_variable_unset_when_read_then_the_error_names_it(missing: str) -> None:
    environment = {name: value for name, value in REQUIRED.items() if name != missing}

    with pytest.raises(MissingSettingError, match=f"{missing} is not set"):
        Settings.from_environment(environment)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAX_RECEIVE_COUNT", "five", "MAX_RECEIVE_COUNT must be an integer"),
        ("QUEUE_RETENTION_SECONDS", "1.5", "QUEUE_RETENTION_SECONDS must be an integer"),
        ("REPORT_ROWS_RETENTION_DAYS", "0", "REPORT_ROWS_RETENTION_DAYS must be at least 1"),
        ("RECONCILE_FIRST_WINDOW_SECONDS", "59", "RECONCILE_FIRST_WINDOW_SECONDS must be at least 60"),
        ("SPAPI_SANDBOX", "maybe", "SPAPI_SANDBOX must be true or false"),
        ("ORDERS_API_VERSION", "2024-01-01", "ORDERS_API_VERSION must be one of 2026-01-01, v0"),
    ],
)
def test_given_a_value_of_the_wrong_kind_when_read_then_the_error_names_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        Settings.from_environment({**REQUIRED, variable: value})


def test_given_the_settings_fields_then_every_field_that_is_not_text_has_a_parser() -> None:
    hints = typing.get_type_hints(Settings)
    not_text = {name for name, hint in hints.items() if hint not in (str, str | None)}

    assert not_text == set(config._PARSERS)
