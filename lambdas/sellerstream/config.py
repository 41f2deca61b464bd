"""Runtime configuration: environment variables read once into one immutable, checked record.

The deployed stack sets these; local mode sets the same names. Secrets are never here:
only the names under which Secrets Manager holds them. Each field is read from the variable of
the same name in upper case (``orders_table_name`` from ``ORDERS_TABLE_NAME``).

A plain ``NamedTuple`` rather than a pydantic model: building a model class costs every cold start
about 10 ms, for thirty environment variables that need only a text, integer or flag check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Literal, NamedTuple


class Settings(NamedTuple):
    # Every consumer needs these.
    idempotency_table_name: str
    accounts_table_name: str
    lwa_app_secret_id: str
    seller_secret_prefix: str
    # Each consumer gets the names of the resources it uses; the others are unset.
    orders_table_name: str | None = None
    listings_table_name: str | None = None
    reports_table_name: str | None = None
    report_rows_table_name: str | None = None
    reports_bucket_name: str | None = None
    reports_queue_url: str | None = None
    # The consumer's own queue's DLQ: failures no retry can cure are copied there at once.
    dead_letter_queue_url: str | None = None
    orders_api_version: Literal["2026-01-01", "v0"] = "2026-01-01"
    spapi_sandbox: bool = False
    # Local mode and tests point these at the emulator; unset in AWS (Amazon's endpoints).
    spapi_endpoint_override: str | None = None
    lwa_endpoint_override: str | None = None
    # Bounds one invocation's share of a report (rows); the rest continues in the next. Unset: time decides.
    report_max_rows_per_invocation: int | None = None
    # Report rows expire (TTL) this many days after their report was first ingested, like the raw copy.
    report_rows_retention_days: int = 30
    # The charset of a report document served without one in its Content-Type (Java or Python name).
    report_default_charset: str = "UTF-8"
    # First delay of a throttled record's deferred copy when the wait is unknown (doubling up to the
    # maximum); a wait the rate budget knows is used as it is, up to the maximum (SQS's 900 s).
    throttle_deferral_base_seconds: int = 30
    throttle_deferral_max_seconds: int = 900
    # The queue's message retention: a record is deferred as long as the notification (counted
    # from its first delivery) would not outlive it, then fails normally towards the DLQ.
    queue_retention_seconds: int = 14 * 24 * 3600
    # How long a notification waits (deferred, counted from its first delivery) for its seller's
    # credentials to work again (LWA refused the refresh token, or the secret is unusable) before it
    # is dead-lettered with reason ``seller_credentials``: time for the seller to re-authorise.
    seller_credentials_wait_seconds: int = 24 * 3600
    # The rate budget shared by every container (DynamoDB); unset: each process keeps its own.
    rate_budget_table_name: str | None = None
    # The queue's redrive setting: the receive on which a failing record goes to the DLQ.
    max_receive_count: int = 5
    idempotency_expires_after_seconds: int = 7 * 24 * 3600
    # Cache for secrets read by the function (seconds); a rotated refresh token is picked up after it.
    secrets_cache_seconds: int = 300
    # The app-credentials consumer warns (and the stack alarms) when the LWA client secret expires
    # within this many days and no newer secret has arrived.
    lwa_secret_expiry_warning_days: int = 14
    # Reconciliation: each scheduled run starts this long before where the previous one ended (an
    # order stored late in DynamoDB's or Amazon's clock is not missed); a seller never reconciled
    # before starts this long before now.
    reconcile_overlap_seconds: int = 900
    reconcile_first_window_seconds: int = 24 * 3600

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings:
        """Reads every field from ``environment``; unknown variables are ignored.

        Raises ``MissingSettingError`` for an unset required variable and ``InvalidSettingError``
        for a value of the wrong kind, each naming the variable.
        """
        values: dict[str, object] = {}
        for name in cls._fields:
            variable = name.upper()
            text = environment.get(variable)
            if text is None:
                if name not in cls._field_defaults:
                    raise MissingSettingError(f"environment variable {variable} is not set")
                continue
            parse = _PARSERS.get(name)
            values[name] = text if parse is None else parse(variable, text)
        return cls(**values)  # type: ignore[arg-type]  # each value parsed for its field above


class MissingSettingError(RuntimeError):
    """A consumer started without an environment variable it needs: a deployment error."""


class InvalidSettingError(ValueError):
    """An environment variable holds a value of the wrong kind: a deployment error."""


def _integer(minimum: int | None = None) -> Callable[[str, str], int]:
    def parse(variable: str, text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise InvalidSettingError(f"environment variable {variable} must be an integer") from None
        if minimum is not None and value < minimum:
            raise InvalidSettingError(f"environment variable {variable} must be at least {minimum}")
        return value

    return parse


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _flag(variable: str, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InvalidSettingError(f"environment variable {variable} must be true or false")


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(variable: str, text: str) -> str:
        if text not in choices:
            raise InvalidSettingError(f"environment variable {variable} must be one of {', '.join(choices)}")
        return text

    return parse


# Fields that are not plain text (a unit test checks that every int and bool field is here).
_PARSERS: dict[str, Callable[[str, str], object]] = {
    "orders_api_version": _one_of("2026-01-01", "v0"),
    "spapi_sandbox": _flag,
    "report_max_rows_per_invocation": _integer(),
    "report_rows_retention_days": _integer(minimum=1),
    "throttle_deferral_base_seconds": _integer(),
    "throttle_deferral_max_seconds": _integer(),
    "queue_retention_seconds": _integer(),
    "seller_credentials_wait_seconds": _integer(minimum=0),
    "max_receive_count": _integer(),
    "idempotency_expires_after_seconds": _integer(),
    "secrets_cache_seconds": _integer(),
    "lwa_secret_expiry_warning_days": _integer(minimum=1),
    "reconcile_overlap_seconds": _integer(minimum=0),
    "reconcile_first_window_seconds": _integer(minimum=60),
}


def required(value: str | None, variable: str) -> str:
    if not value:
        raise MissingSettingError(f"environment variable {variable} is not set")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(os.environ)


def reset_settings_cache() -> None:
    """Tests and local mode change the environment between runs."""
    get_settings.cache_clear()
