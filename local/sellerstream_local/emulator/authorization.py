"""Amazon's website authorization workflow: Seller Central's consent page and LWA's code grant.

As Amazon documents it ("Authorizing Selling Partner API applications", website workflow): the
application sends the seller to ``<Seller Central>/apps/authorize/consent?application_id=<app id>
&state=<state>[&version=beta][&redirect_uri=<uri>]``; once the signed-in seller consents, Amazon
redirects the browser to the redirect URI with ``state``, ``selling_partner_id`` and
``spapi_oauth_code``; the application exchanges the code at LWA (``grant_type=authorization_code``)
for a refresh token of that seller in that Seller Central's region.

Strictly: the redirect URI must be one the application registered (none given: its first one;
otherwise Amazon's error MD5101), an application in draft state is authorised only with
``version=beta`` (else MD1000), the code is good for one exchange, for five minutes on the
emulator's clock, by the client it was issued to, with the redirect URI it was issued for when one
is given. Seller Central's region is the path's prefix (``/eu/apps/authorize/consent``; none: North
America's). Which seller is signed in to a region's Seller Central is ``sign_in`` (no one: 401).
"""

from __future__ import annotations

import html
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

CONSENT_PATH: Final = "/apps/authorize/consent"
CODE_LIFETIME_SECONDS: Final = 300  # "An LWA authorization code expires after five minutes."
BETA: Final = "beta"
DRAFT_APP_ERROR: Final = "MD1000"  # Amazon's code: a draft application without version=beta
REDIRECT_URI_ERROR: Final = "MD5101"  # Amazon's code: a redirect URI the application did not register

Page = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Application:
    """An SP-API application as the Developer Console registers it."""

    application_id: str  # amzn1.sp.solution.… (older: amzn1.sellerapps.app.…)
    client_id: str  # its LWA client
    redirect_uris: tuple[str, ...]  # its OAuth redirect URIs, in order
    draft: bool


@dataclass
class _Code:
    seller_id: str
    region: str
    client_id: str
    redirect_uri: str
    expires_at: float  # on the emulator's clock
    used: bool = False


class GrantRefused(Exception):
    """LWA's answer to a code it does not take: ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


INVALID_GRANT: Final = ("invalid_grant", "The request has an invalid grant parameter")


class AuthorizationWorkflow:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._applications: dict[str, Application] = {}
        self._signed_in: dict[str, str] = {}  # region -> the seller signed in to its Seller Central
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()

    def register(
        self, application_id: str, client_id: str, redirect_uris: Sequence[str], *, draft: bool
    ) -> None:
        if not application_id:
            raise ValueError("an application id is required")
        with self._lock:
            self._applications[application_id] = Application(
                application_id, client_id, tuple(redirect_uris), draft
            )

    def sign_in(self, seller_id: str, region: str) -> None:
        with self._lock:
            self._signed_in[region] = seller_id

    def consent(self, region: str, query: dict[str, list[str]]) -> Page:
        """The consent page: a redirect to the application with a code, or an error page."""
        with self._lock:
            seller_id = self._signed_in.get(region)
        if seller_id is None:
            return _error_page(401, None, "Sign in to Seller Central to authorize an application.")
        single = {name: values[0] for name, values in query.items() if values}
        application = self._application(single.get("application_id", ""))
        if application is None:
            return _error_page(400, None, "The application_id is missing or names no application.")
        if application.draft and single.get("version") != BETA:
            return _error_page(
                400, DRAFT_APP_ERROR, "The application is in draft state: authorize it with version=beta."
            )
        asked = single.get("redirect_uri")
        if asked is not None and asked not in application.redirect_uris:
            return _error_page(
                400, REDIRECT_URI_ERROR, "The redirect_uri is not one of the application's redirect URIs."
            )
        redirect_uri = asked or (application.redirect_uris[0] if application.redirect_uris else None)
        if redirect_uri is None:
            return _error_page(400, REDIRECT_URI_ERROR, "The application has no OAuth redirect URI.")
        state = single.get("state")
        if not state:
            return _error_page(400, None, "The state parameter is required.")
        code = "AN" + secrets.token_urlsafe(15)
        with self._lock:
            self._codes[code] = _Code(
                seller_id, region, application.client_id, redirect_uri, self._clock() + CODE_LIFETIME_SECONDS
            )
        answer = urllib.parse.urlencode(
            {"state": state, "selling_partner_id": seller_id, "spapi_oauth_code": code}
        )
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{answer}"
        return 302, {"location": location, "referrer-policy": "no-referrer"}, b""

    def redeem(self, code: str, client_id: str, redirect_uri: str | None) -> tuple[str, str]:
        """The (seller, region) a code authorises, once; raises ``GrantRefused`` as LWA answers."""
        if not code:
            raise GrantRefused("invalid_request", "The request is missing a required parameter : code")
        with self._lock:
            issued = self._codes.get(code)
            if (
                issued is None
                or issued.used
                or issued.expires_at <= self._clock()
                or issued.client_id != client_id
                or (redirect_uri is not None and redirect_uri != issued.redirect_uri)
            ):
                raise GrantRefused(*INVALID_GRANT)
            issued.used = True
        return issued.seller_id, issued.region

    def _application(self, application_id: str) -> Application | None:
        with self._lock:
            return self._applications.get(application_id)


def _error_page(status: int, code: str | None, message: str) -> Page:
    """Seller Central's error page: a short HTML page with Amazon's error code when it has one."""
    shown = f"<p>Error code: {html.escape(code)}</p>" if code else ""
    body = (
        "<!DOCTYPE html><html><head><title>Amazon Seller Central</title></head><body>"
        f"<h1>We're sorry</h1><p>{html.escape(message)}</p>{shown}</body></html>"
    ).encode()
    return status, {"content-type": "text/html; charset=utf-8"}, body
