"""Amazon's website authorization workflow on the emulator, strictly: Seller Central's consent page
redirects to a registered redirect URI with the state, the seller and a code, and LWA exchanges the
code once, within five minutes, for the client it was issued to, for a refresh token of the consent
page's region that works at once on that region's endpoint.

Called in process on a fake clock (the codes' five minutes are the emulator's clock's), one test
over HTTP as a browser sees the redirect.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from sellerstream_local.emulator import SpApiEmulator
from sellerstream_local.emulator.authorization import CODE_LIFETIME_SECONDS
from tests.support.fakes import FakeClock

START = 1_790_000_000.0
SELLER = "A2CONSENTINGSELLER"
APPLICATION_ID = "amzn1.sp.solution.0a1b2c3d-4e5f-4a6b-8c7d-000000000001"
CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.consent", "secret-1"
OTHER_CLIENT_ID, OTHER_SECRET = "amzn1.application-oa2-client.other", "secret-2"
REDIRECT_URI = "https://app.example.com/amazon/callback"
SECOND_REDIRECT_URI = "https://app.example.com/amazon/callback-2"
GERMAN_ORDER, US_ORDER = "302-0000002-0000002", "111-0000001-0000001"


def make_emulator(clock: FakeClock | None = None, *, draft: bool = True) -> SpApiEmulator:
    """The application (registered with two redirect URIs) and another application's client; the
    seller signed in to Seller Central Europe; an order of the seller's in Germany and in the US."""
    emulator = SpApiEmulator(clock=clock or FakeClock(START))
    emulator.register_app(
        CLIENT_ID,
        CLIENT_SECRET,
        application_id=APPLICATION_ID,
        redirect_uris=(REDIRECT_URI, SECOND_REDIRECT_URI),
        draft=draft,
    )
    emulator.register_app(OTHER_CLIENT_ID, OTHER_SECRET)
    emulator.sign_in_for_consent(SELLER, "eu")
    emulator.set_order(GERMAN_ORDER, seller_id=SELLER, marketplace_id="A1PA6795UKMFR9", status="Unshipped")
    emulator.set_order(US_ORDER, seller_id=SELLER, marketplace_id="ATVPDKIKX0DER", status="Unshipped")
    return emulator


def consent(emulator: SpApiEmulator, prefix: str = "/eu", **query: str) -> tuple[int, dict[str, str], bytes]:
    """The seller's browser opening the consent page (the application's id, a state, version=beta
    unless the query says otherwise)."""
    fields = {"application_id": APPLICATION_ID, "state": "state-123", "version": "beta", **query}
    fields = {name: value for name, value in fields.items() if value}
    status, headers, body = emulator.handle(
        "GET", f"{prefix}/apps/authorize/consent?{urllib.parse.urlencode(fields)}", {}, b""
    )
    assert isinstance(body, bytes)
    return status, headers, body


def redirected(headers: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Where the consent page sent the browser: the URI without its query, and the query in order."""
    parts = urllib.parse.urlsplit(headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", urllib.parse.parse_qsl(parts.query)


def code_of(emulator: SpApiEmulator, prefix: str = "/eu", **query: str) -> str:
    status, headers, _ = consent(emulator, prefix, **query)
    assert status == 302
    return dict(redirected(headers)[1])["spapi_oauth_code"]


def exchange(
    emulator: SpApiEmulator,
    code: str,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    **form: str,
) -> tuple[int, dict[str, Any]]:
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        **form,
    }
    status, _, body = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(fields).encode())
    assert isinstance(body, bytes)
    return status, json.loads(body)


def refused_refresh_token(emulator: SpApiEmulator) -> dict[str, Any]:
    """LWA's answer to an unknown refresh token: the shape a refused code must share."""
    fields = {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|unknown",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    status, _, body = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(fields).encode())
    assert status == 400 and isinstance(body, bytes)
    return dict(json.loads(body))


def order_status(emulator: SpApiEmulator, prefix: str, order: str, access_token: str) -> int:
    return emulator.handle(
        "GET", f"{prefix}/orders/2026-01-01/orders/{order}", {"x-amz-access-token": access_token}, b""
    )[0]


def test_given_a_signed_in_seller_when_it_consents_then_redirected_with_state_seller_and_code() -> None:
    # Given: the seller signed in to Seller Central Europe
    emulator = make_emulator()

    # When: it opens the application's consent page there (a draft: version=beta)
    status, headers, body = consent(emulator)

    # Then: Amazon's redirect to the application's first redirect URI, with the state, the seller
    # and the code, in that order
    assert (status, body) == (302, b"")
    uri, query = redirected(headers)
    assert uri == REDIRECT_URI
    assert [name for name, _ in query] == ["state", "selling_partner_id", "spapi_oauth_code"]
    assert dict(query)["state"] == "state-123" and dict(query)["selling_partner_id"] == SELLER
    assert dict(query)["spapi_oauth_code"]


def test_given_a_registered_redirect_uri_when_consenting_then_the_browser_goes_there() -> None:
    # Given: the seller signed in
    emulator = make_emulator()

    # When: the consent page is given the application's second redirect URI
    status, headers, _ = consent(emulator, redirect_uri=SECOND_REDIRECT_URI)

    # Then: the browser goes to that one
    assert status == 302 and redirected(headers)[0] == SECOND_REDIRECT_URI


def test_given_a_code_when_exchanged_then_a_refresh_token_that_works_at_once_on_its_regions_endpoint() -> (
    None
):
    # Given: a code from Seller Central Europe's consent page
    emulator = make_emulator()
    code = code_of(emulator)

    # When: the application exchanges it at LWA
    status, tokens = exchange(emulator, code, redirect_uri=REDIRECT_URI)

    # Then: LWA's answer, a refresh token of the seller in Europe: its access token reads the German
    # order on Europe's endpoint and is refused on North America's
    assert status == 200
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (tokens["token_type"], tokens["expires_in"]) == ("bearer", 3600)
    assert tokens["refresh_token"].startswith("Atzr|") and tokens["access_token"].startswith("Atza|")
    assert emulator.seller_regions(SELLER) == ("eu",)
    assert order_status(emulator, "/eu", GERMAN_ORDER, tokens["access_token"]) == 200
    assert order_status(emulator, "/na", US_ORDER, tokens["access_token"]) == 403
    refreshed = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    again = emulator.handle("POST", "/auth/o2/token", {}, urllib.parse.urlencode(refreshed).encode())
    assert again[0] == 200


def test_given_a_seller_consenting_in_two_regions_when_both_codes_exchanged_then_a_refresh_token_each() -> (
    None
):
    # Given: the seller signed in to Seller Central in North America too
    emulator = make_emulator()
    emulator.sign_in_for_consent(SELLER, "na")

    # When: it consents on Europe's page and on North America's (no prefix: North America's)
    european = exchange(emulator, code_of(emulator, "/eu"))[1]
    american = exchange(emulator, code_of(emulator, ""))[1]

    # Then: two refresh tokens, each its region's
    assert european["refresh_token"] != american["refresh_token"]
    assert emulator.seller_regions(SELLER) == ("na", "eu")
    assert order_status(emulator, "/na", US_ORDER, american["access_token"]) == 200
    assert order_status(emulator, "/eu", GERMAN_ORDER, european["access_token"]) == 200


def test_given_a_code_exchanged_when_exchanged_again_then_lwa_refuses_it_as_an_invalid_grant() -> None:
    # Given: a code already exchanged
    emulator = make_emulator()
    code = code_of(emulator)
    assert exchange(emulator, code)[0] == 200

    # When: it is exchanged a second time
    status, body = exchange(emulator, code)

    # Then: LWA's invalid_grant, in the shape of its refusal of a refresh token
    assert status == 400
    assert body == refused_refresh_token(emulator)
    assert body["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("seconds_later", "status"),
    [(CODE_LIFETIME_SECONDS - 1, 200), (CODE_LIFETIME_SECONDS, 400), (CODE_LIFETIME_SECONDS + 3600, 400)],
    ids=["within-five-minutes", "at-five-minutes", "an-hour-later"],
)
def test_given_a_code_when_exchanged_later_then_only_within_five_minutes_of_its_issue(
    seconds_later: int, status: int
) -> None:
    # Given: a code issued now on the emulator's clock
    clock = FakeClock(START)
    emulator = make_emulator(clock)
    code = code_of(emulator)

    # When: it is exchanged some time later
    clock.now += seconds_later
    answered, body = exchange(emulator, code)

    # Then: Amazon's code lives five minutes
    assert answered == status
    if status == 400:
        assert body["error"] == "invalid_grant"


def test_given_a_code_when_another_client_exchanges_it_then_refused() -> None:
    # Given: a code issued for the application's client
    emulator = make_emulator()
    code = code_of(emulator)

    # When: another application's client (with its own valid secret) exchanges it
    status, body = exchange(emulator, code, client_id=OTHER_CLIENT_ID, client_secret=OTHER_SECRET)

    # Then: invalid_grant, and the code still works for its own client
    assert (status, body["error"]) == (400, "invalid_grant")
    assert exchange(emulator, code)[0] == 200


def test_given_a_code_when_exchanged_with_a_wrong_secret_then_the_client_is_refused() -> None:
    # Given: a code issued for the application's client
    emulator = make_emulator()
    code = code_of(emulator)

    # When: the exchange carries a secret that is not the client's
    status, body = exchange(emulator, code, client_secret="not-the-secret")

    # Then: LWA refuses the client before looking at the code
    assert (status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("consent_query", "exchange_form", "status"),
    [
        ({}, {}, 200),
        ({}, {"redirect_uri": REDIRECT_URI}, 200),
        ({}, {"redirect_uri": SECOND_REDIRECT_URI}, 400),
        ({"redirect_uri": SECOND_REDIRECT_URI}, {"redirect_uri": SECOND_REDIRECT_URI}, 200),
        ({"redirect_uri": SECOND_REDIRECT_URI}, {"redirect_uri": REDIRECT_URI}, 400),
    ],
    ids=[
        "none-given",
        "the-default-given",
        "another-than-the-default",
        "the-one-asked-for",
        "another-than-the-one-asked-for",
    ],
)
def test_given_a_code_when_exchanged_with_a_redirect_uri_then_it_must_be_the_consents(
    consent_query: dict[str, str], exchange_form: dict[str, str], status: int
) -> None:
    # Given: a code issued for a redirect URI (the default, or the one asked for)
    emulator = make_emulator()
    code = code_of(emulator, **consent_query)

    # When: it is exchanged with or without a redirect URI
    answered, body = exchange(emulator, code, **exchange_form)

    # Then: a redirect URI given must be the one the code was issued for
    assert answered == status
    if status == 400:
        assert body["error"] == "invalid_grant"


def test_given_no_code_when_exchanged_then_lwa_says_the_parameter_is_missing() -> None:
    # Given: an emulator with the application
    emulator = make_emulator()

    # When: the authorization_code grant comes without a code
    status, body = exchange(emulator, "")

    # Then: LWA's invalid_request, in its error shape
    assert status == 400
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("query", "status", "amazon_code"),
    [
        ({"redirect_uri": "https://evil.example.com/callback"}, 400, b"MD5101"),
        ({"application_id": "amzn1.sp.solution.unknown"}, 400, None),
        ({"application_id": ""}, 400, None),
        ({"version": ""}, 400, b"MD1000"),
        ({"state": ""}, 400, None),
    ],
    ids=[
        "unregistered-redirect-uri",
        "unknown-application",
        "no-application",
        "draft-without-beta",
        "no-state",
    ],
)
def test_given_a_consent_page_request_amazon_refuses_when_opened_then_an_error_page_and_no_code(
    query: dict[str, str], status: int, amazon_code: bytes | None
) -> None:
    # Given: the seller signed in, the application a draft
    emulator = make_emulator()

    # When: the consent page is opened with what Amazon refuses
    answered, headers, body = consent(emulator, **query)

    # Then: Seller Central's error page (Amazon's error code when it documents one), no redirect
    assert answered == status
    assert "location" not in headers
    assert headers["content-type"].startswith("text/html")
    if amazon_code is not None:
        assert amazon_code in body


def test_given_a_published_application_when_consenting_without_version_beta_then_redirected() -> None:
    # Given: the application published (no longer a draft)
    emulator = make_emulator(draft=False)

    # When: the consent page is opened without version=beta
    status, headers, _ = consent(emulator, version="")

    # Then: the seller is sent back with a code
    assert status == 302 and redirected(headers)[0] == REDIRECT_URI


def test_given_no_seller_signed_in_to_a_regions_seller_central_when_its_consent_page_opens_then_401() -> None:
    # Given: the seller signed in to Seller Central Europe only
    emulator = make_emulator()

    # When: Seller Central Far East's consent page is opened
    status, headers, _ = consent(emulator, "/fe")

    # Then: no one there to consent
    assert status == 401 and "location" not in headers


def test_given_the_consent_page_when_opened_then_counted_apart_from_sp_api_operations() -> None:
    # Given: the seller signed in
    emulator = make_emulator()

    # When: the consent page is opened and its code exchanged
    exchange(emulator, code_of(emulator))

    # Then: neither is an SP-API call, in any region
    assert emulator.sp_api_calls() == {}
    assert emulator.sp_api_calls_by_region() == {"NA": 0, "EU": 0, "FE": 0}
    assert emulator.calls["sellerCentralConsent"] == 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_given_the_emulator_on_loopback_when_a_browser_opens_the_consent_page_then_a_302_with_the_location() -> (
    None
):
    # Given: the emulator serving HTTP, the seller signed in to Seller Central Europe
    with SpApiEmulator() as emulator:
        emulator.register_app(
            CLIENT_ID, CLIENT_SECRET, application_id=APPLICATION_ID, redirect_uris=[REDIRECT_URI]
        )
        emulator.sign_in_for_consent(SELLER, "EU")
        query = urllib.parse.urlencode({"application_id": APPLICATION_ID, "state": "s-1", "version": "beta"})

        # When: a browser opens the consent page (without following the redirect)
        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(f"{emulator.base_url}/eu/apps/authorize/consent?{query}", timeout=5)

    # Then: a 302 whose Location is the redirect URI with the state, the seller and a code
    with answer.value as response:
        assert response.code == 302
        location = response.headers["location"]
    assert location.startswith(
        REDIRECT_URI + "?state=s-1&selling_partner_id=" + SELLER + "&spapi_oauth_code="
    )
