"""Onboarding by OAuth: the login URI (website and Appstore workflows), the signed state, and the
redirect URI (code exchanged, credentials stored for (seller, region), marketplaces, subscriptions)."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream import metric_names
from sellerstream.domain.credentials import MarketplaceParticipation, SellerCredentials, SellerMarketplaces
from sellerstream.logic.batch import RemainingTime
from sellerstream.logic.onboarding import (
    ANSWER_WITHIN_SECONDS,
    ApiAnswer,
    ApiRequest,
    OnboardingUseCase,
    handle,
    sign_state,
    state_key,
)
from sellerstream.observability import metrics
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import Region
from sellerstream.spapi.errors import LwaAuthError, SpApiServerError, SpApiTimeout

APP = LwaCredentials("amzn1.application-oa2-client.onboarding", "onboarding-client-secret")
APPLICATION_ID = "amzn1.sp.solution.0a1b2c3d-0000-4000-8000-000000000001"
SELLER = "A3TH9S8BH6GOGM"
CODE = "ANauthcodeXYZsecret"
REFRESH_TOKEN = "Atzr|refresh-token-from-code"
DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"
LOGIN_URI = f"https://{DOMAIN}/login"
REDIRECT_URI = f"https://{DOMAIN}/redirect"
NOW = 1_790_000_000.0
TTL = 900
GERMANY, FRANCE, US = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "ATVPDKIKX0DER"
APPSTORE_CALLBACK = (
    "https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sellerapps.app.2eca283f-9f5a"
)


# -- fakes of the use case's ports (the directory's two methods it uses, the exchange, the steps) --


class Directory:
    """The seller directory as onboarding uses it: the app's credentials, a seller's token saved."""

    def __init__(self, app: LwaCredentials = APP) -> None:
        self.app = app
        self.saved: list[tuple[str, str, Region]] = []
        self.failing: Exception | None = None

    def lwa_app(self) -> LwaCredentials:
        return self.app

    def save_seller(self, seller_key: str, *, refresh_token: str, region: Region) -> tuple[str, str]:
        if self.failing is not None:
            raise self.failing
        action = "added" if any(saved[0] == seller_key for saved in self.saved) else "created"
        self.saved.append((seller_key, refresh_token, region))
        return f"sellerstream/sellers/{seller_key}", action


class Lwa:
    """LWA's authorization-code grant, taking ``takes`` seconds of the clock; ``refusal`` raised
    instead when set."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.takes = 0.0
        self.exchanges: list[tuple[LwaCredentials, str, str]] = []
        self.refusal: Exception | None = None

    def __call__(self, app: LwaCredentials, code: str, redirect_uri: str) -> str:
        self.clock.now += self.takes
        self.exchanges.append((app, code, redirect_uri))
        if self.refusal is not None:
            raise self.refusal
        return REFRESH_TOKEN


class Steps:
    """The marketplaces and subscriptions steps: what they were called with, or their failure."""

    def __init__(self) -> None:
        self.marketplaces_for: list[SellerCredentials] = []
        self.subscribed: list[SellerCredentials] = []
        self.marketplaces_failure: Exception | None = None
        self.subscribe_failure: Exception | None = None
        self.time_left: list[float] = []  # what each step was told was left

    def marketplaces(self, seller: SellerCredentials, remaining_time: RemainingTime) -> SellerMarketplaces:
        self.time_left.append(remaining_time())
        self.marketplaces_for.append(seller)
        if self.marketplaces_failure is not None:
            raise self.marketplaces_failure
        return SellerMarketplaces(
            (
                MarketplaceParticipation(GERMANY, True, "DE"),
                MarketplaceParticipation(FRANCE, True, "FR"),
                MarketplaceParticipation(US, True, "US"),  # another region's: not listed for EU
            ),
            datetime.fromtimestamp(NOW, UTC),
        )

    def subscribe(self, seller: SellerCredentials, remaining_time: RemainingTime) -> list[dict[str, Any]]:
        self.time_left.append(remaining_time())
        self.subscribed.append(seller)
        if self.subscribe_failure is not None:
            raise self.subscribe_failure
        return [
            {"destination": "orders", "action": "created", "destinationId": "d-1"},
            {"subscription": "TYPE_ONE", "action": "created", "subscriptionId": "s-1"},
            {"subscription": "TYPE_TWO", "action": "unchanged", "subscriptionId": "s-2"},
        ]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self, **options: Any) -> None:
        self.directory = Directory()
        self.clock = Clock()
        self.lwa = Lwa(self.clock)
        self.steps = Steps()
        self.use_case = OnboardingUseCase(
            self.directory,
            exchange_code=self.lwa,
            marketplaces=self.steps.marketplaces,
            subscribe=self.steps.subscribe,
            application_id=APPLICATION_ID,
            state_ttl_seconds=TTL,
            clock=self.clock,
            **options,
        )

    def login(self, **query: str) -> ApiAnswer:
        return self.use_case.login(request("login", **query))

    def redirect(self, remaining: float = 20.0, **query: str) -> ApiAnswer:
        return self.use_case.redirect(request("redirect", **query), lambda: remaining)

    def state_for(self, region: str = "EU", **query: str) -> str:
        """The state of a website login for ``region`` (as the consent URL carries it)."""
        answer = self.login(region=region, **query)
        assert answer.status == 302, answer.body
        return parameters_of(answer.headers["location"])["state"]


def request(route: str, **query: str) -> ApiRequest:
    return ApiRequest(route, query, LOGIN_URI, REDIRECT_URI)


def parameters_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def counted(name: str) -> float:
    entry = metrics.metric_set.get(name)
    return sum(entry["Value"]) if entry else 0


# -- GET /login: the website workflow ------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "seller_central", "signed"),
    [
        ("NA", "https://sellercentral.amazon.com", Region.NA),
        ("EU", "https://sellercentral-europe.amazon.com", Region.EU),
        ("fe", "https://sellercentral.amazon.co.jp", Region.FE),
    ],
)
def test_given_a_region_when_logging_in_then_redirected_to_its_seller_central_consent_page(
    world: World, region: str, seller_central: str, signed: Region
) -> None:
    # Given: a seller who chose a region on the login page
    # When: the login URI is opened with it
    answer = world.login(region=region)

    # Then: 302 to that region's Seller Central consent page for the application, with a signed
    # state for the region and this API's redirect URI, not a draft's version
    assert answer.status == 302
    location = answer.headers["location"]
    assert without_query(location) == f"{seller_central}/apps/authorize/consent"
    parameters = parameters_of(location)
    assert parameters["application_id"] == APPLICATION_ID
    assert parameters["redirect_uri"] == REDIRECT_URI
    assert "version" not in parameters
    assert answer.headers["cache-control"] == "no-store"
    # ... and the redirect takes that state as the region's
    world.redirect(state=parameters["state"], selling_partner_id=SELLER, spapi_oauth_code=CODE)
    assert world.directory.saved == [(SELLER, REFRESH_TOKEN, signed)]


@pytest.mark.parametrize(
    ("marketplace", "seller_central"),
    [
        (US, "https://sellercentral.amazon.com"),
        ("A2EUQ1WTGCTBG2", "https://sellercentral.amazon.ca"),
        ("A1AM78C64UM0Y8", "https://sellercentral.amazon.com.mx"),
        ("A2Q3Y263D00KWC", "https://sellercentral.amazon.com.br"),
        (GERMANY, "https://sellercentral-europe.amazon.com"),
        ("A1F83G8C2ARO7P", "https://sellercentral-europe.amazon.com"),
        ("A1805IZSGTT6HS", "https://sellercentral.amazon.nl"),
        ("A2NODRKZP88ZB9", "https://sellercentral.amazon.se"),
        ("A1C3SOZRARQ6R3", "https://sellercentral.amazon.pl"),
        ("A33AVAJ2PDY3EV", "https://sellercentral.amazon.com.tr"),
        ("A2VIGQ35RCS4UG", "https://sellercentral.amazon.ae"),
        ("A17E79C6D8DWNP", "https://sellercentral.amazon.sa"),
        ("ARBP9OOSHTCHU", "https://sellercentral.amazon.eg"),
        ("AMEN7PMS3EDWL", "https://sellercentral.amazon.com.be"),
        ("A21TJRUUN4KGV", "https://sellercentral.amazon.in"),
        ("A28R8C7NBKEWEA", "https://sellercentral-europe.amazon.com"),  # Ireland: not in Amazon's table
        ("A1VC38T7YXB528", "https://sellercentral.amazon.co.jp"),
        ("A39IBJ37TRP1C6", "https://sellercentral.amazon.com.au"),
        ("A19VAU5U5O7RUS", "https://sellercentral.amazon.sg"),
    ],
)
def test_given_a_marketplace_when_logging_in_then_its_seller_central_is_the_consent_page(
    world: World, marketplace: str, seller_central: str
) -> None:
    # Given/When: the login URI opened for a marketplace
    answer = world.login(marketplace=marketplace)

    # Then: the marketplace's own Seller Central (Amazon's "Seller Central URLs" table)
    assert answer.status == 302
    assert without_query(answer.headers["location"]) == f"{seller_central}/apps/authorize/consent"


def test_given_a_marketplace_and_its_region_when_logging_in_then_accepted_and_another_region_refused(
    world: World,
) -> None:
    # Given/When: a marketplace with its own region, then with another region
    agreeing = world.login(marketplace=GERMANY, region="EU")
    disagreeing = world.login(marketplace=GERMANY, region="NA")

    # Then: the first goes to Amazon, the second is refused (which region is meant is unclear)
    assert agreeing.status == 302
    assert disagreeing.status == 400
    assert "location" not in disagreeing.headers


@pytest.mark.parametrize("query", [{"region": "CN"}, {"marketplace": "AUNKNOWN12345"}])
def test_given_an_unknown_region_or_marketplace_when_logging_in_then_refused(
    world: World, query: dict[str, str]
) -> None:
    # Given/When: a region or marketplace Amazon does not have
    answer = world.login(**query)

    # Then: 400, counted as a refused request
    assert answer.status == 400
    assert counted(metric_names.ONBOARDING_REQUESTS_REFUSED) == 1


def test_given_no_region_when_logging_in_then_a_page_to_choose_one(world: World) -> None:
    # Given/When: the login URI opened bare (the "Authorize" button)
    answer = world.login()

    # Then: a page linking each region's login
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    for region in ("NA", "EU", "FE"):
        assert f"{LOGIN_URI}?region={region}" in answer.body


def test_given_a_draft_application_when_logging_in_then_the_consent_url_says_version_beta() -> None:
    # Given: the application is still a draft
    world = World(draft=True)

    # When: a seller logs in
    answer = world.login(region="NA")

    # Then: Amazon's consent page is asked for the draft (version=beta)
    assert parameters_of(answer.headers["location"])["version"] == "beta"


def test_given_a_seller_central_override_when_logging_in_then_its_region_is_filled_in() -> None:
    # Given: local mode's emulator in place of Seller Central
    world = World(seller_central_override="http://127.0.0.1:8080/{region}/")

    # When: a seller logs in for Europe
    answer = world.login(marketplace=GERMANY)

    # Then: the emulator's consent page of the region
    assert without_query(answer.headers["location"]) == "http://127.0.0.1:8080/eu/apps/authorize/consent"


# -- GET /login: the Appstore workflow ----------------------------------------------------------


def test_given_amazons_appstore_callback_when_logging_in_then_sent_back_to_amazon_with_both_states(
    world: World,
) -> None:
    # Given: Amazon calling the login URI from the Appstore (a draft's workflow: version=beta)
    answer = world.login(
        amazon_callback_uri=APPSTORE_CALLBACK,
        amazon_state="amazon-state-123",
        selling_partner_id=SELLER,
        version="beta",
    )

    # Then: 302 back to Amazon's callback with Amazon's state, ours, the redirect URI and the version
    assert answer.status == 302
    location = answer.headers["location"]
    assert without_query(location) == APPSTORE_CALLBACK
    parameters = parameters_of(location)
    assert parameters["amazon_state"] == "amazon-state-123"
    assert parameters["redirect_uri"] == REDIRECT_URI
    assert parameters["version"] == "beta"
    # ... and the state is the callback host's region's, for that seller only
    other = world.redirect(
        state=parameters["state"], selling_partner_id="A2OTHERSELLER", spapi_oauth_code=CODE
    )
    assert other.status == 400
    world.redirect(state=parameters["state"], selling_partner_id=SELLER, spapi_oauth_code=CODE)
    assert world.directory.saved == [(SELLER, REFRESH_TOKEN, Region.NA)]


@pytest.mark.parametrize(
    ("callback", "region"),
    [
        ("https://sellercentral-europe.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x", Region.EU),
        ("https://sellercentral.amazon.co.jp/apps/authorize/confirm/amzn1.sp.solution.x", Region.FE),
        ("https://amazon.com/apps/authorize/confirm/amzn1.sellerapps.app.x", Region.NA),  # Amazon's example
        ("https://vendorcentral.amazon.de/apps/authorize/confirm/amzn1.sp.solution.x", Region.EU),
    ],
)
def test_given_an_amazon_callback_host_when_logging_in_then_its_region_is_the_states(
    world: World, callback: str, region: Region
) -> None:
    # Given/When: Amazon's callback on a host of a region
    answer = world.login(amazon_callback_uri=callback, amazon_state="s", selling_partner_id=SELLER)

    # Then: accepted, and the state carries that region
    assert answer.status == 302
    state = parameters_of(answer.headers["location"])["state"]
    world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)
    assert world.directory.saved[0][2] is region


@pytest.mark.parametrize(
    "callback",
    [
        "https://evil.example/apps/authorize/confirm/x",
        "http://sellercentral.amazon.com/apps/authorize/confirm/x",
        "https://sellercentral.amazon.com.evil.example/apps/authorize/confirm/x",
        "https://sellercentral.amazon.com@evil.example/apps/authorize/confirm/x",
        "https://evil.example@sellercentral.amazon.com/apps/authorize/confirm/x",
        "https://sellercentral.amazon.com:8443/apps/authorize/confirm/x",
        "https://sellercentral.amazon.com/gp/redirect?to=https://evil.example",
        "https://sellercentral.amazon.com\\@evil.example/apps/authorize/confirm/x",
        "//evil.example/apps/authorize/confirm/x",
        "javascript:alert(1)//sellercentral.amazon.com/apps/authorize/confirm",
        "https://sellercentral.amazon.com/apps/authorize/confirm/x#https://evil.example",
        "https://sellercentral.amazon.com/apps/authorize/confirm/x\r\nSet-Cookie: a=b",
        "https://xn--sellercentral-amazon-com.example/apps/authorize/confirm/x",
    ],
)
def test_given_a_callback_that_is_not_amazons_when_logging_in_then_refused_never_redirected(
    world: World, callback: str
) -> None:
    # Given/When: a login URI called with a callback anywhere but Amazon's confirm page
    answer = world.login(amazon_callback_uri=callback, amazon_state="s", selling_partner_id=SELLER)

    # Then: 400, no redirect at all (never an open redirect)
    assert answer.status == 400
    assert "location" not in answer.headers
    assert counted(metric_names.ONBOARDING_REQUESTS_REFUSED) == 1


def test_given_an_appstore_login_without_amazon_state_or_with_a_bad_seller_id_when_logging_in_then_refused(
    world: World,
) -> None:
    # Given/When: an Appstore login missing Amazon's state, then with a seller id of no Amazon shape
    without_state = world.login(amazon_callback_uri=APPSTORE_CALLBACK, selling_partner_id=SELLER)
    bad_seller = world.login(
        amazon_callback_uri=APPSTORE_CALLBACK, amazon_state="s", selling_partner_id="<script>"
    )

    # Then: both refused
    assert (without_state.status, bad_seller.status) == (400, 400)
    assert "<script>" not in bad_seller.body


def test_given_a_region_that_contradicts_the_callback_when_logging_in_then_refused(world: World) -> None:
    # Given/When: a North America callback with region=EU
    answer = world.login(amazon_callback_uri=APPSTORE_CALLBACK, amazon_state="s", region="EU")

    # Then: refused (the token would be stored under the wrong region)
    assert answer.status == 400


def test_given_the_override_when_amazons_callback_is_the_emulators_then_accepted() -> None:
    # Given: local mode, whose "Amazon" is the emulator
    world = World(seller_central_override="http://127.0.0.1:8080/{region}")

    # When: the callback is on the emulator's Far East pages, then on Amazon's real host
    local = world.login(
        amazon_callback_uri="http://127.0.0.1:8080/fe/apps/authorize/confirm/x", amazon_state="s"
    )
    real = world.login(amazon_callback_uri=APPSTORE_CALLBACK, amazon_state="s")

    # Then: only the override's host is accepted, its region from the path
    assert local.status == 302
    assert real.status == 400
    state = parameters_of(local.headers["location"])["state"]
    world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)
    assert world.directory.saved[0][2] is Region.FE


# -- the state -----------------------------------------------------------------------------------


def test_given_a_state_when_signed_then_compact_url_safe_and_unique(world: World) -> None:
    # Given/When: two logins for the same region
    first, second = world.state_for("EU"), world.state_for("EU")

    # Then: each state is short, needs no URL escaping, and differs (a random nonce)
    assert first != second
    assert len(first) <= 96
    assert all(character.isalnum() or character in "._-" for character in first)


def test_given_a_tampered_state_when_redirected_then_refused_and_nothing_exchanged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a Europe state whose region was rewritten to North America
    state = world.state_for("EU")
    tampered = state.replace(".eu.", ".na.", 1)
    caplog.set_level(logging.INFO)

    # When: the redirect arrives with it
    answer = world.redirect(state=tampered, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: 400 with a short page, a warning logged (never the code or the state), nothing exchanged
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert world.lwa.exchanges == []
    assert world.directory.saved == []
    assert counted(metric_names.ONBOARDING_REQUESTS_REFUSED) == 1
    refusals = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert refusals and getattr(refusals[0], "reason", None) == "state_signature"
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert CODE not in logged
    assert state.rsplit(".", 1)[1] not in logged


def test_given_an_expired_state_when_redirected_then_refused(world: World) -> None:
    # Given: a state older than its time to live
    state = world.state_for("EU")
    world.clock.now += TTL + 1

    # When: the redirect arrives with it
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: refused, nothing exchanged
    assert answer.status == 400
    assert "expired" in answer.body
    assert world.lwa.exchanges == []


def test_given_a_state_just_within_its_time_when_redirected_then_accepted(world: World) -> None:
    # Given: a state at the last second of its time to live
    state = world.state_for("EU")
    world.clock.now += TTL

    # When: the redirect arrives with it
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: accepted
    assert answer.status == 200


def test_given_a_state_signed_for_no_region_when_redirected_then_refused(world: World) -> None:
    # Given: a correctly signed state whose region is not an SP-API region
    state = sign_state(state_key(APP), region="cn", expires_at=int(NOW) + 60, nonce="A" * 16)

    # When: the redirect arrives with it
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: refused, nothing exchanged
    assert answer.status == 400
    assert world.lwa.exchanges == []


@pytest.mark.parametrize("state", ["", "1.eu.w.1790000900", "not-a-state", "1.eu.w.1.AAAAAAAAAAAAAAAA.short"])
def test_given_a_malformed_or_missing_state_when_redirected_then_refused(world: World, state: str) -> None:
    # Given/When: a redirect whose state is not one this API signs (or none)
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: refused
    assert answer.status == 400
    assert world.lwa.exchanges == []


def test_given_the_client_secret_rotated_when_an_older_state_arrives_then_refused(world: World) -> None:
    # Given: a state signed before the application's client secret was rotated
    state = world.state_for("EU")
    world.directory.app = LwaCredentials(APP.client_id, "the-new-client-secret")

    # When: its redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: refused (the seller starts again; states live minutes)
    assert answer.status == 400


# -- GET /redirect: the code exchanged, the seller stored --------------------------------------------


def test_given_a_valid_redirect_when_completed_then_stored_for_seller_and_region_and_subscribed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a seller back from Europe's consent page
    state = world.state_for("EU")
    caplog.set_level(logging.DEBUG)

    # When: Amazon redirects with its code
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: the code is exchanged with the app's credentials for this API's redirect URI
    assert world.lwa.exchanges == [(APP, CODE, REDIRECT_URI)]
    # ... the refresh token stored for (seller, Europe)
    assert world.directory.saved == [(SELLER, REFRESH_TOKEN, Region.EU)]
    # ... the seller's marketplaces read and its subscriptions made in Europe
    assert [(s.seller_key, s.refresh_token, s.region) for s in world.steps.marketplaces_for] == [
        (SELLER, REFRESH_TOKEN, Region.EU)
    ]
    assert [(s.seller_key, s.region) for s in world.steps.subscribed] == [(SELLER, Region.EU)]
    # ... and the page says so: seller, region, its marketplaces there, each subscription
    assert answer.status == 200
    assert SELLER in answer.body
    assert "Europe" in answer.body
    assert f"{GERMANY} (DE)" in answer.body
    assert f"{FRANCE} (FR)" in answer.body
    assert US not in answer.body
    assert "TYPE_ONE: created" in answer.body
    assert "TYPE_TWO: unchanged" in answer.body
    assert "failed" not in answer.body
    assert counted(metric_names.ONBOARDING_SELLERS_AUTHORIZED) == 1
    # ... never a token or the code, on the page or in a log line
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    for secret in (REFRESH_TOKEN, CODE, APP.client_secret):
        assert secret not in answer.body
        assert secret not in logged


@pytest.mark.parametrize("lwa_error", ["invalid_grant", "invalid_request"])
def test_given_lwa_refuses_the_code_when_redirected_then_400_and_nothing_stored(
    world: World, lwa_error: str
) -> None:
    # Given: a code LWA refuses (reused, expired, or for another redirect URI)
    state = world.state_for("EU")
    world.lwa.refusal = LwaAuthError("lwaToken", "LWA refused the credentials", status=400, code=lwa_error)

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: 400 "authorization code refused, start again", counted; nothing stored or called
    assert answer.status == 400
    assert "refused" in answer.body
    assert f'href="{LOGIN_URI}"' in answer.body
    assert world.directory.saved == []
    assert world.steps.marketplaces_for == world.steps.subscribed == []
    assert counted(metric_names.ONBOARDING_CODES_REFUSED) == 1


@pytest.mark.parametrize(
    "failure",
    [
        SpApiTimeout("lwaToken", "timed out"),
        SpApiServerError("lwaToken", "LWA token request failed", status=503),
    ],
)
def test_given_lwa_unreachable_when_redirected_then_503_and_nothing_stored(
    world: World, failure: Exception
) -> None:
    # Given: LWA does not answer the exchange
    state = world.state_for("NA")
    world.lwa.refusal = failure

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: 503, the seller told to start again, counted as a lost authorization
    assert answer.status == 503
    assert world.directory.saved == []
    assert counted(metric_names.ONBOARDING_FAILURES) == 1


def test_given_the_store_fails_when_redirected_then_500_and_no_steps(world: World) -> None:
    # Given: the directory cannot store the token
    state = world.state_for("NA")
    world.directory.failing = RuntimeError("secrets manager is down")

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: 500, nothing subscribed, counted as a lost authorization
    assert answer.status == 500
    assert world.steps.subscribed == []
    assert counted(metric_names.ONBOARDING_FAILURES) == 1


@pytest.mark.parametrize("seller_id", ["a3th9s8bh6gogm", "A3TH#9S8", "A" * 300, "amzn1..x"])
def test_given_a_seller_id_of_no_amazon_shape_when_redirected_then_refused_before_any_exchange(
    world: World, seller_id: str
) -> None:
    # Given: a valid state but a seller id Amazon never gives
    state = world.state_for("EU")

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=seller_id, spapi_oauth_code=CODE)

    # Then: refused before the code is spent
    assert answer.status == 400
    assert world.lwa.exchanges == []
    assert world.directory.saved == []


def test_given_no_code_when_redirected_then_refused(world: World) -> None:
    # Given/When: a redirect without Amazon's code (the seller did not consent)
    answer = world.redirect(state=world.state_for("EU"), selling_partner_id=SELLER)

    # Then: refused
    assert answer.status == 400
    assert world.lwa.exchanges == []


def test_given_the_marketplaces_fail_after_storing_when_redirected_then_200_saying_which_step_failed(
    world: World,
) -> None:
    # Given: Sellers API fails for the new seller
    state = world.state_for("EU")
    world.steps.marketplaces_failure = SpApiServerError("getMarketplaceParticipations", "boom", status=500)

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: the credentials are stored and the subscriptions made, and the page says the
    # marketplaces step failed and how to complete it
    assert answer.status == 200
    assert world.directory.saved == [(SELLER, REFRESH_TOKEN, Region.EU)]
    assert len(world.steps.subscribed) == 1
    assert "marketplaces step failed" in answer.body
    assert f"sellerstream subscribe --seller {SELLER}" in answer.body
    assert counted(metric_names.ONBOARDING_INCOMPLETE) == 1


def test_given_the_subscriptions_fail_after_storing_when_redirected_then_200_saying_which_step_failed(
    world: World,
) -> None:
    # Given: subscribing fails (or is not available yet)
    state = world.state_for("EU")
    world.steps.subscribe_failure = NotImplementedError("not yet")

    # When: the redirect arrives
    answer = world.redirect(state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: stored, marketplaces listed, and the page names the failed step and the command
    assert answer.status == 200
    assert world.directory.saved == [(SELLER, REFRESH_TOKEN, Region.EU)]
    assert f"{GERMANY} (DE)" in answer.body
    assert "subscriptions step failed" in answer.body
    assert f"sellerstream subscribe --seller {SELLER}" in answer.body
    assert counted(metric_names.ONBOARDING_INCOMPLETE) == 1


def test_given_a_slow_exchange_when_the_steps_run_then_they_stop_before_api_gateway_gives_up(
    world: World,
) -> None:
    # Given: a function with a minute left, and an exchange that takes 5 s
    state = world.state_for("EU")
    world.lwa.takes = 5.0

    # When: the redirect arrives
    answer = world.redirect(60.0, state=state, selling_partner_id=SELLER, spapi_oauth_code=CODE)

    # Then: both steps are given what is left of API Gateway's time, not the function's
    assert answer.status == 200
    assert world.steps.time_left == [ANSWER_WITHIN_SECONDS - 5] * 2


# -- the HTTP API event ----------------------------------------------------------------------------


def api_event(path: str, query: str = "", *, stage: str = "$default", proto: str = "https") -> dict[str, Any]:
    route = "/" + path.rsplit("/", 1)[1]
    return {
        "version": "2.0",
        "routeKey": f"GET {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": DOMAIN, "x-forwarded-proto": proto},
        "requestContext": {
            "domainName": DOMAIN,
            "stage": stage,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
        },
        "isBase64Encoded": False,
    }


def test_given_an_http_api_event_when_handled_then_this_apis_own_redirect_uri_is_used(world: World) -> None:
    # Given: the API on a named stage (its path prefixed with it)
    event = api_event("/prod/login", "region=EU")

    # When: the login is handled
    response = handle(world.use_case, event, lambda: 20.0)

    # Then: API Gateway's response, whose consent URL names this API's redirect URI on that stage
    assert response["statusCode"] == 302
    parameters = parameters_of(response["headers"]["location"])
    assert parameters["redirect_uri"] == f"https://{DOMAIN}/prod/redirect"


def test_given_the_redirect_event_when_handled_then_the_seller_is_stored(world: World) -> None:
    # Given: a login's state, and the redirect's event as API Gateway gives it
    state = world.state_for("EU")
    query = urllib.parse.urlencode({"state": state, "selling_partner_id": SELLER, "spapi_oauth_code": CODE})

    # When: handled
    response = handle(world.use_case, api_event("/redirect", query), lambda: 20.0)

    # Then: 200 page, the exchange made for this API's redirect URI
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert world.lwa.exchanges == [(APP, CODE, REDIRECT_URI)]


def test_given_a_parameter_twice_or_an_unknown_route_when_handled_then_refused(world: World) -> None:
    # Given/When: a query naming the region twice, and a path the API does not answer
    twice = handle(world.use_case, api_event("/login", "region=EU&region=NA"), lambda: 20.0)
    unknown = handle(world.use_case, api_event("/elsewhere"), lambda: 20.0)

    # Then: 400 and 404
    assert (twice["statusCode"], unknown["statusCode"]) == (400, 404)


def test_given_a_malformed_event_when_handled_then_400(world: World) -> None:
    # Given/When: an event without a domain name
    response = handle(world.use_case, {"rawPath": "/login"}, lambda: 20.0)

    # Then: 400
    assert response["statusCode"] == 400
