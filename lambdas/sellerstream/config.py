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

    orders_table_name: str = Field(alias="ORDERS_TABLE_NAME")
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME")
    accounts_table_name: str = Field(alias="ACCOUNTS_TABLE_NAME")
    lwa_app_secret_id: str = Field(alias="LWA_APP_SECRET_ID")
    seller_secret_prefix: str = Field(alias="SELLER_SECRET_PREFIX")
    orders_api_version: Literal["2026-01-01", "v0"] = Field("2026-01-01", alias="ORDERS_API_VERSION")
    spapi_sandbox: bool = Field(False, alias="SPAPI_SANDBOX")
    # Local mode and tests point these at the emulator; unset in AWS (Amazon's endpoints).
    spapi_endpoint_override: str | None = Field(None, alias="SPAPI_ENDPOINT_OVERRIDE")
    lwa_endpoint_override: str | None = Field(None, alias="LWA_ENDPOINT_OVERRIDE")
    # The queue's redrive setting: the receive on which a failing record goes to the DLQ.
    max_receive_count: int = Field(5, alias="MAX_RECEIVE_COUNT")
    idempotency_expires_after_seconds: int = Field(7 * 24 * 3600, alias="IDEMPOTENCY_EXPIRES_AFTER_SECONDS")
    # Cache for secrets read by the function (seconds); a rotated refresh token is picked up after it.
    secrets_cache_seconds: int = Field(300, alias="SECRETS_CACHE_SECONDS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))


def reset_settings_cache() -> None:
    """Tests and local mode change the environment between runs."""
    get_settings.cache_clear()
