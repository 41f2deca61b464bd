"""The app-credentials function: the application's client-secret notices and the hourly expiry check."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.app_secret import DynamoDBClientSecretStates, SecretsManagerAppSecret
from sellerstream.adapters.rate_budget import SharedRateBudget
from sellerstream.config import AppCredentialsSettings
from sellerstream.logic.app_credentials import AppCredentialsUseCase, RequestRotation
from sellerstream.logic.batch import BatchRunner, RemainingTime
from sellerstream.logic.spapi_access import MetricsObserver
from sellerstream.spapi import defaults
from sellerstream.spapi.applications import ApplicationsApi
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.client import SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL, Region
from sellerstream.wiring import batch_runner, cached, settings_of

CONSUMER = catalog.consumer("app")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, AppCredentialsSettings)
    use_case = AppCredentialsUseCase(
        SecretsManagerAppSecret(settings.lwa_app_secret_id),
        DynamoDBClientSecretStates(settings.accounts_table_name),
        warning_days=settings.lwa_secret_expiry_warning_days,
        rotate=rotation(settings) if settings.auto_rotate_app_secret else None,
    )
    return batch_runner(CONSUMER, settings, use_case)


def rotation(settings: AppCredentialsSettings) -> RequestRotation:
    """Amazon's grantless rotateApplicationClientSecret, on the shared rate budget when the stack gives
    one (its plan, one a minute, then holds every container to it; a spent one defers the notice)."""
    budgets = SharedRateBudget(settings.rate_budget_table_name) if settings.rate_budget_table_name else None
    observer = MetricsObserver()

    def rotate(app: LwaCredentials, remaining_time: RemainingTime) -> None:
        # Called (and metered) on the NA endpoint, as the operator's rotate-app-secret calls it.
        budget = budgets.for_account(app.client_id, Region.NA.value) if budgets else defaults.rate_limiter()
        client = SpApiClient(
            credentials=app,
            seller=None,
            region=Region.NA,
            sandbox=settings.spapi_sandbox,
            base_url_override=settings.spapi_endpoint_override,
            lwa_token_url=settings.lwa_endpoint_override or LWA_TOKEN_URL,
            rate_limiter=budget,
            remaining_time=remaining_time,
            observer=observer,
        )
        ApplicationsApi(client).rotate_client_secret()

    return rotate
