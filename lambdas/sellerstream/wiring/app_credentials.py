"""The app-credentials function: the application's client-secret notices and the hourly expiry check."""

from __future__ import annotations

from sellerstream import catalog
from sellerstream.adapters.app_secret import DynamoDBClientSecretStates, SecretsManagerAppSecret
from sellerstream.config import AppCredentialsSettings
from sellerstream.logic.app_credentials import AppCredentialsUseCase
from sellerstream.logic.batch import BatchRunner
from sellerstream.wiring import batch_runner, cached, settings_of

CONSUMER = catalog.consumer("app")


@cached
def runner() -> BatchRunner:
    settings = settings_of(CONSUMER, AppCredentialsSettings)
    use_case = AppCredentialsUseCase(
        SecretsManagerAppSecret(settings.lwa_app_secret_id),
        DynamoDBClientSecretStates(settings.accounts_table_name),
        warning_days=settings.lwa_secret_expiry_warning_days,
    )
    return batch_runner(CONSUMER, settings, use_case)
