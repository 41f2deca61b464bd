"""Onboarding end to end in local mode: the real handler over moto and the SP-API emulator, a seller
taken from the login URI to the emulator's Seller Central consent page and back to the redirect URI,
whose code becomes the seller's stored refresh token for that region."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.config import OnboardingSettings
from sellerstream.spapi.endpoints import Region
from sellerstream_local.pipeline import (
    LOCAL_REDIRECT_URI,
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    LocalPipeline,
    onboarding_event,
)
from sellerstream_local.runtime_reset import reset_runtime
from tests.support.lambda_events import FakeLambdaContext

SELLER = "A2ONBOARDEDEU1"
APPLICATION_ID = "amzn1.sp.solution.0a1b2c3d-0000-4000-8000-00000000e2e1"
DOMAIN = "onboard.execute-api.eu-west-1.amazonaws.com"
REDIRECT_URI = f"https://{DOMAIN}/redirect"
GERMANY, FRANCE = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def follow(location: str) -> tuple[int, str]:
    """The seller's browser opening ``location`` once: the status and where it is sent next."""
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(location, timeout=10) as answer:
            return answer.status, answer.headers.get("location", "")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("location", "")


def api_event(route: str, query: str = "") -> dict[str, Any]:
    """API Gateway's HTTP API event (payload 2.0) for ``GET /<route>?<query>`` on this API's domain."""
    return onboarding_event(route, query, domain=DOMAIN)


@pytest.fixture
def local() -> Iterator[LocalPipeline]:
    with LocalPipeline() as pipeline:
        base = pipeline.emulator.base_url
        # The Developer Console: the application (a draft) with this API's redirect URI.
        pipeline.emulator.register_app(
            LWA_CLIENT_ID,
            LWA_CLIENT_SECRET,
            application_id=APPLICATION_ID,
            redirect_uris=[REDIRECT_URI],
            draft=True,
        )
        pipeline.emulator.set_marketplaces(SELLER, [GERMANY, FRANCE])
        # The function's environment as the stack renders it, on the emulator's regional endpoints
        # and consent pages.
        os.environ.update(
            OnboardingSettings.environment(
                {
                    **pipeline.settings_values(),
                    "spapi_application_id": APPLICATION_ID,
                    "onboarding_draft_app": True,
                    "seller_central_url_override": f"{base}/{{region}}",
                    "spapi_endpoint_override": f"{base}/{{region}}",
                    "secrets_cache_seconds": 0,
                    # A deployment of the default types (local mode takes all twenty: each is
                    # two calls at Amazon's one a second), on the stack's queues by consumer kind.
                    "notification_types": catalog.DEFAULT_NOTIFICATION_TYPES,
                    "subscription_destinations": {
                        kind: queue.arn for kind, queue in pipeline.resources.queues.items()
                    },
                }
            )
        )
        reset_runtime()
        yield pipeline


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    # Imported once the environment is set (a handler reads it on its first invocation).
    from sellerstream.handlers.onboarding import lambda_handler

    return lambda_handler(event, FakeLambdaContext(time.monotonic, seconds=28.0))  # type: ignore[arg-type]


def test_given_a_seller_signed_in_to_seller_central_when_it_consents_then_its_region_is_stored(
    local: LocalPipeline,
) -> None:
    # Given: a seller signed in to Europe's Seller Central
    local.emulator.sign_in_for_consent(SELLER, "eu")

    # When: it opens the login URI for Germany, follows it to the consent page, and is sent back
    login = invoke(api_event("login", f"marketplace={GERMANY}"))
    assert login["statusCode"] == 302, login["body"]
    consent_status, back = follow(login["headers"]["location"])
    assert consent_status == 302
    assert back.startswith(f"{REDIRECT_URI}?")
    redirect = invoke(api_event("redirect", urllib.parse.urlsplit(back).query))

    # Then: the seller's refresh token for Europe is stored and works there, its marketplaces are
    # recorded, and the page says so (without a token)
    assert redirect["statusCode"] == 200, redirect["body"]
    directory = local.seller_directory()
    stored = directory.for_seller(SELLER, Region.EU)
    assert stored.region is Region.EU
    assert stored.refresh_token.startswith("Atzr|")
    assert stored.refresh_token not in redirect["body"]
    assert local.emulator.seller_regions(SELLER) == ("eu",)
    marketplaces = directory.marketplaces_of(SELLER, Region.EU)
    assert marketplaces is not None
    assert set(marketplaces.listing_marketplaces(Region.EU)) == {GERMANY, FRANCE}
    assert SELLER in redirect["body"]
    assert GERMANY in redirect["body"]
    # ... and it is subscribed in Europe to the deployment's types, each subscription routed to it
    for type_name in catalog.DEFAULT_NOTIFICATION_TYPES:
        assert f"{type_name}: created" in redirect["body"]
    assert "failed" not in redirect["body"]
    assert SELLER in directory.routed_sellers()


def test_given_a_code_used_once_when_the_redirect_is_replayed_then_refused_and_the_token_kept(
    local: LocalPipeline,
) -> None:
    # Given: a seller onboarded through the consent page
    local.emulator.sign_in_for_consent(SELLER, "eu")
    login = invoke(api_event("login", "region=EU"))
    _, back = follow(login["headers"]["location"])
    query = urllib.parse.urlsplit(back).query
    assert invoke(api_event("redirect", query))["statusCode"] == 200
    stored = local.seller_directory().for_seller(SELLER, Region.EU).refresh_token

    # When: the same redirect arrives again (a reload, a replay)
    replay = invoke(api_event("redirect", query))

    # Then: LWA refuses the spent code: 400 "start again", and the stored token is unchanged
    assert replay["statusCode"] == 400
    assert "refused" in replay["body"]
    assert local.seller_directory().for_seller(SELLER, Region.EU).refresh_token == stored


def test_given_a_state_tampered_with_when_redirected_then_refused_and_the_code_not_spent(
    local: LocalPipeline,
) -> None:
    # Given: the consent page's answer with the state's region rewritten
    local.emulator.sign_in_for_consent(SELLER, "eu")
    login = invoke(api_event("login", "region=EU"))
    _, back = follow(login["headers"]["location"])
    parameters = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    tampered = {**parameters, "state": parameters["state"].replace(".eu.", ".na.", 1)}

    # When: the redirect arrives with it
    refused = invoke(api_event("redirect", urllib.parse.urlencode(tampered)))

    # Then: refused before any exchange: nothing stored, and the code still good for the real state
    assert refused["statusCode"] == 400
    assert SELLER not in local.seller_directory().known_sellers()
    assert invoke(api_event("redirect", urllib.parse.urlencode(parameters)))["statusCode"] == 200


def test_given_local_mode_when_a_seller_is_authorised_then_the_onboarding_function_stored_and_subscribed_it(
    pipeline: LocalPipeline,
) -> None:
    # Given: local mode, and a seller whose marketplaces are in Europe
    pipeline.emulator.set_marketplaces(SELLER, [GERMANY, FRANCE])
    environment = dict(os.environ)

    # When: it authorises the local application in Europe (through the onboarding function's login
    # URI, the consent page and its redirect URI), subscribed to the default types
    answer = pipeline.authorize_seller(SELLER, "eu", notification_types=catalog.DEFAULT_NOTIFICATION_TYPES)

    # Then: the function stored its refresh token for Europe, recorded its marketplaces and subscribed
    # it there, each subscription routed with the region; the answer says so without a token
    assert {name: answer[name] for name in ("region", "selling_partner_id", "status", "complete")} == {
        "region": "EU",
        "selling_partner_id": SELLER,
        "status": 200,
        "complete": True,
    }
    assert answer["redirect_uri"] == LOCAL_REDIRECT_URI
    assert answer["subscriptions"] == sorted(catalog.DEFAULT_NOTIFICATION_TYPES)
    directory = pipeline.seller_directory()
    stored = directory.for_seller(SELLER, Region.EU)
    assert stored.refresh_token.startswith("Atzr|")
    assert "Atzr|" not in repr(answer) and "Atza|" not in repr(answer) and "code" not in repr(answer)
    assert pipeline.emulator.seller_regions(SELLER) == ("eu",)
    assert pipeline.seller_regions[SELLER] == ["EU"]
    marketplaces = directory.marketplaces_of(SELLER, Region.EU)
    assert marketplaces is not None
    assert set(marketplaces.listing_marketplaces(Region.EU)) == {GERMANY, FRANCE}
    routes = {
        item["pk"]: (item["seller_id"], item.get("region"))
        for item in pipeline.table_items("accounts")
        if str(item["pk"]).startswith("SUBSCRIPTION#")
    }
    for subscription in pipeline.emulator.notifications.subscriptions_in("eu").values():
        assert routes[f"SUBSCRIPTION#{subscription['subscriptionId']}"] == (SELLER, "EU")
    # ... and the function's environment and use case are gone: nothing else run here sees them
    assert dict(os.environ) == environment
    from sellerstream.wiring import onboarding

    assert onboarding.use_case.cache_info().currsize == 0
