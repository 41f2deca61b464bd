"""The onboarding function: Amazon's authorization workflows (GET /login, GET /redirect) to a
seller's stored credentials, marketplaces and subscriptions."""

from __future__ import annotations

from typing import Any

from sellerstream import catalog, processing_directives
from sellerstream.config import OnboardingSettings
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.onboarding import ExchangeCode, OnboardingUseCase, Subscribe, handle
from sellerstream.logic.seller_marketplaces import SellerMarketplacesSource
from sellerstream.logic.spapi_access import SpApiAccess
from sellerstream.logic.subscriptions import SellerSubscriber, WantedSubscription, wanted_subscriptions
from sellerstream.ports import SellerDirectory
from sellerstream.spapi import defaults
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.notifications import NotificationsApi
from sellerstream.wiring import cached, settings_of, spapi


@cached
def use_case() -> OnboardingUseCase:
    settings = settings_of(catalog.ONBOARDING, OnboardingSettings)
    directory, access = spapi(settings)
    return OnboardingUseCase(
        directory,
        exchange_code=code_exchange(settings),
        marketplaces=SellerMarketplacesSource(directory, access).refresh,
        subscribe=subscriber(settings, directory, access),
        application_id=settings.spapi_application_id,
        draft=settings.onboarding_draft_app,
        state_ttl_seconds=settings.onboarding_state_ttl_seconds,
        seller_central_override=settings.seller_central_url_override,
    )


def code_exchange(settings: OnboardingSettings) -> ExchangeCode:
    """LWA's authorization-code grant on the container's token provider: the access token of its
    answer is the one the seller's first SP-API calls (marketplaces, subscriptions) then use."""
    tokens = defaults.token_provider()
    token_url = settings.lwa_endpoint_override or LWA_TOKEN_URL

    def exchange(app: LwaCredentials, code: str, redirect_uri: str) -> str:
        return tokens.exchange_authorization_code(
            app, code=code, redirect_uri=redirect_uri, token_url=token_url
        )

    return exchange


def subscriber(settings: OnboardingSettings, directory: SellerDirectory, access: SpApiAccess) -> Subscribe:
    """The seller subscribed in its region to the deployment's types, as ``sellerstream subscribe``
    subscribes it: each type's consumer queue (or the EventBridge destination) and the deployment's
    processing directive."""

    def subscribe(seller: SellerCredentials, remaining_time: RemainingTime) -> list[dict[str, Any]]:
        def api_for(credentials: SellerCredentials) -> NotificationsApi:
            return NotificationsApi(access.client_for(credentials, remaining_time))

        # Worked out here, not at start-up: a setting the stack got wrong fails this step only (the
        # page says so), not the seller's authorization.
        return SellerSubscriber(directory, api_for).subscribe(seller, wanted(settings))

    return subscribe


def wanted(settings: OnboardingSettings) -> tuple[WantedSubscription, ...]:
    """The deployment's types (its settings' names, ``all``; none: the default types), each with its
    destination and processing directive (the deployment's; none given: the catalog's)."""
    named = settings.notification_types
    enabled = catalog.enabled_types(",".join(sorted(named)) if named else None)
    types = tuple(t for t in catalog.subscribed_types() if t.name in enabled)
    names = frozenset(t.name for t in types)
    configured = processing_directives.by_type(
        settings.processing_directives,
        names,
        OnboardingSettings.fields()["processing_directives"].variable,
        "the deployment's types",
    )
    directives = catalog.processing_directives(names, configured)
    return wanted_subscriptions(types, settings.subscription_destinations, directives)


def run(event: object, remaining_time: RemainingTime) -> dict[str, Any]:
    return handle(use_case(), event, remaining_time)
