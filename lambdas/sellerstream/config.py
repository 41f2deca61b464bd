"""Runtime configuration: environment variables as one validated model.

The deployed stack sets these; local mode sets the same names. Secrets are never here:
only the names under which Secrets Manager holds them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME")
    accounts_table_name: str = Field(alias="ACCOUNTS_TABLE_NAME")
    # Each consumer gets the names of the resources it uses; the others are unset.
    orders_table_name: str | None = Field(None, alias="ORDERS_TABLE_NAME")
    listings_table_name: str | None = Field(None, alias="LISTINGS_TABLE_NAME")
    reports_table_name: str | None = Field(None, alias="REPORTS_TABLE_NAME")
    report_rows_table_name: str | None = Field(None, alias="REPORT_ROWS_TABLE_NAME")
    reports_bucket_name: str | None = Field(None, alias="REPORTS_BUCKET_NAME")
    reports_queue_url: str | None = Field(None, alias="REPORTS_QUEUE_URL")
    # The consumer's own queue's DLQ: failures no retry can cure are copied there at once.
    dead_letter_queue_url: str | None = Field(None, alias="DEAD_LETTER_QUEUE_URL")
    lwa_app_secret_id: str = Field(alias="LWA_APP_SECRET_ID")
    seller_secret_prefix: str = Field(alias="SELLER_SECRET_PREFIX")
    orders_api_version: Literal["2026-01-01", "v0"] = Field("2026-01-01", alias="ORDERS_API_VERSION")
    spapi_sandbox: bool = Field(False, alias="SPAPI_SANDBOX")
    # Local mode and tests point these at the emulator; unset in AWS (Amazon's endpoints).
    spapi_endpoint_override: str | None = Field(None, alias="SPAPI_ENDPOINT_OVERRIDE")
    lwa_endpoint_override: str | None = Field(None, alias="LWA_ENDPOINT_OVERRIDE")
    # Bounds one invocation's share of a report (rows); the rest continues in the next. Unset: time decides.
    report_max_rows_per_invocation: int | None = Field(None, alias="REPORT_MAX_ROWS_PER_INVOCATION")
    # Report rows expire (TTL) this many days after their report was first ingested, like the raw copy.
    report_rows_retention_days: int = Field(30, alias="REPORT_ROWS_RETENTION_DAYS", ge=1)
    # The charset of a report document served without one in its Content-Type (Java or Python name).
    report_default_charset: str = Field("UTF-8", alias="REPORT_DEFAULT_CHARSET")
    # First delay of a throttled record's deferred copy when the wait is unknown (doubling up to the
    # maximum); a wait the rate budget knows is used as it is, up to the maximum (SQS's 900 s).
    throttle_deferral_base_seconds: int = Field(30, alias="THROTTLE_DEFERRAL_BASE_SECONDS")
    throttle_deferral_max_seconds: int = Field(900, alias="THROTTLE_DEFERRAL_MAX_SECONDS")
    # The queue's message retention: a record is deferred as long as the notification (counted
    # from its first delivery) would not outlive it, then fails normally towards the DLQ.
    queue_retention_seconds: int = Field(14 * 24 * 3600, alias="QUEUE_RETENTION_SECONDS")
    # How long a notification waits (deferred, counted from its first delivery) for its seller's
    # credentials to work again (LWA refused the refresh token, or the secret is unusable) before it
    # is dead-lettered with reason ``seller_credentials``: time for the seller to re-authorise.
    seller_credentials_wait_seconds: int = Field(24 * 3600, alias="SELLER_CREDENTIALS_WAIT_SECONDS", ge=0)
    # The rate budget shared by every container (DynamoDB); unset: each process keeps its own.
    rate_budget_table_name: str | None = Field(None, alias="RATE_BUDGET_TABLE_NAME")
    # The queue's redrive setting: the receive on which a failing record goes to the DLQ.
    max_receive_count: int = Field(5, alias="MAX_RECEIVE_COUNT")
    idempotency_expires_after_seconds: int = Field(7 * 24 * 3600, alias="IDEMPOTENCY_EXPIRES_AFTER_SECONDS")
    # Cache for secrets read by the function (seconds); a rotated refresh token is picked up after it.
    secrets_cache_seconds: int = Field(300, alias="SECRETS_CACHE_SECONDS")
    # The app-credentials consumer warns (and the stack alarms) when the LWA client secret expires
    # within this many days and no newer secret has arrived.
    lwa_secret_expiry_warning_days: int = Field(14, alias="LWA_SECRET_EXPIRY_WARNING_DAYS", ge=1)
    # Reconciliation: each scheduled run starts this long before where the previous one ended (an
    # order stored late in DynamoDB's or Amazon's clock is not missed); a seller never reconciled
    # before starts this long before now.
    reconcile_overlap_seconds: int = Field(900, alias="RECONCILE_OVERLAP_SECONDS", ge=0)
    reconcile_first_window_seconds: int = Field(24 * 3600, alias="RECONCILE_FIRST_WINDOW_SECONDS", ge=60)


class MissingSettingError(RuntimeError):
    """A consumer started without an environment variable it needs: a deployment error."""


def required(value: str | None, variable: str) -> str:
    if not value:
        raise MissingSettingError(f"environment variable {variable} is not set")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))


def reset_settings_cache() -> None:
    """Tests and local mode change the environment between runs."""
    get_settings.cache_clear()
