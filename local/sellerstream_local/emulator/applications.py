"""The application's LWA client secrets, Application Management API 2023-11-30, and the app's notifications.

As Amazon documents it: ``rotateApplicationClientSecret`` is grantless (scope
``sellingpartnerapi::client_credential:rotation``) and answers 204 without the secret; the new
secret is delivered as a new-secret notification to the queue registered in the Developer Console
(without one, 400 "Application is not enrolled for rotation notification"), and the old secret
keeps working for seven days. A new secret lives 180 days. The Developer Console's registration is
``register_destination`` here: a callable that delivers a body to the local queue. The two
notification types are Amazon's, read from its credential-rotation sample.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.notification_bodies import (
    NEW_SECRET,
    SECRET_EXPIRY,
    application_oauth_client_new_secret,
    application_oauth_client_secret_expiry,
    application_types,
)

ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
SECRET_LIFETIME = timedelta(days=180)
OLD_SECRET_GRACE = timedelta(days=7)

Deliver = Callable[[str], None]
# (client id, grant scope) behind an access token, or None for an unknown token.
TokenGrant = Callable[[str], tuple[str, str | None] | None]


@dataclass
class _ClientSecret:
    value: str = field(repr=False)
    expires_at: datetime


class ApplicationsApi:
    def __init__(self, token_grant: TokenGrant, clock: Callable[[], datetime] | None = None) -> None:
        self._token_grant = token_grant
        self._now = clock or (lambda: datetime.now(UTC))
        self._secrets: dict[str, list[_ClientSecret]] = {}  # client id -> its secrets, newest last
        self._destinations: dict[str, Deliver] = {}  # notification type -> delivery to a queue
        self._lock = threading.Lock()
        self.rotations = 0

    def routes(self) -> list[Route]:
        return [
            Route(
                "POST", r"/applications/2023-11-30/clientSecret", "rotateApplicationClientSecret", self.rotate
            )
        ]

    # -- the application's secrets ---------------------------------------------------------------
    def register(self, client_id: str, client_secret: str, *, expires_at: datetime | None = None) -> None:
        with self._lock:
            self._secrets.setdefault(client_id, []).append(
                _ClientSecret(client_secret, expires_at or self._now() + SECRET_LIFETIME)
            )

    @property
    def has_apps(self) -> bool:
        with self._lock:
            return bool(self._secrets)

    def accepts(self, client_id: str, client_secret: str) -> bool:
        now = self._now()
        with self._lock:
            return any(
                secrets.compare_digest(known.value, client_secret) and known.expires_at > now
                for known in self._secrets.get(client_id, [])
            )

    def current_secret(self, client_id: str) -> str:
        with self._lock:
            return self._secrets[client_id][-1].value

    def expire_previous_secrets(self, client_id: str) -> None:
        """As if the grace period were over: only the newest secret still works."""
        with self._lock:
            self._secrets[client_id] = self._secrets[client_id][-1:]

    # -- notifications about them ----------------------------------------------------------------
    def register_destination(self, notification_type: str, deliver: Deliver) -> None:
        """The Developer Console's "Notification preferences" row for an application notification."""
        if notification_type not in application_types():
            raise ValueError(f"{notification_type} is not an application notification")
        with self._lock:
            self._destinations[notification_type] = deliver

    def announce_expiry(self, client_id: str, *, expires_at: datetime | None = None) -> datetime:
        """Announces the current secret's expiry (its own unless given); returns the announced time."""
        with self._lock:
            deliver = self._destinations.get(SECRET_EXPIRY.type_name)
            current = self._secrets[client_id][-1]
            if expires_at is not None:
                current.expires_at = expires_at
            announced = current.expires_at
        if deliver is None:
            raise ApiError(
                400, "InvalidInput", "No destination registered for the secret expiry notification."
            )
        body = application_oauth_client_secret_expiry(
            client_id=client_id, expires_at=announced, sent_at=self._now()
        )
        deliver(json.dumps(body))
        return announced

    def rotate(self, request: EmulatorRequest) -> Reply:
        grant = self._token_grant(request.headers.get("x-amz-access-token", ""))
        if request.caller != "grantless" or grant is None or grant[1] != ROTATION_SCOPE:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
        client_id = grant[0]
        now = self._now()
        with self._lock:
            deliver = self._destinations.get(NEW_SECRET.type_name)
            if deliver is None:
                raise ApiError(
                    400,
                    "InvalidInput",
                    "Application is not enrolled for rotation notification. "
                    "Please update application notification preference in Developer console.",
                )
            known = self._secrets.setdefault(client_id, [])
            old_expiry = now + OLD_SECRET_GRACE
            for previous in known:
                previous.expires_at = min(previous.expires_at, old_expiry)
            fresh = _ClientSecret("amzn1.oa2-cs.v1." + secrets.token_hex(32), now + SECRET_LIFETIME)
            known.append(fresh)
            self.rotations += 1
        body = application_oauth_client_new_secret(
            client_id=client_id,
            new_client_secret=fresh.value,
            sent_at=now,
            new_secret_expires_at=fresh.expires_at,
            old_secret_expires_at=old_expiry,
        )
        deliver(json.dumps(body))
        return Reply(204, None)
