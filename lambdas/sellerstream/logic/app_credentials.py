"""The application's LWA client secret: stored when Amazon sends a new one, watched until it expires.

An LWA client secret lives 180 days. Amazon announces its expiry
(``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``) and delivers each new secret
(``APPLICATION_OAUTH_CLIENT_NEW_SECRET``, after a rotation) to the queue registered in the Developer
Console. A new secret replaces the client secret in the LWA app secret (Secrets Manager), which every
function reads; the old one keeps working until ``oldClientSecretExpiryTime`` (seven days), longer
than any function caches it. An hourly scheduled event re-reads when the current secret expires and
reports the days left as the ``LwaClientSecretDaysLeft`` metric, which the stack alarms on.

With ``auto_rotate_app_secret``, an expiry notice also asks Amazon for a new secret
(``rotateApplicationClientSecret``, grantless, with the app's own credentials), as Amazon's rotation
sample does: once per expiry, recorded in the accounts table before the call. The new secret then
arrives as a new-secret notification like any other.

A notification for another client id than the app secret's is poison (it would store another
application's secret, or the app secret still holds the stack's placeholder): it goes to the DLQ
with its reason and can be redriven once ``sellerstream set-app-credentials`` has set the right app.
The secret itself is never logged, returned, or put in an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerstream import metric_names
from sellerstream.domain.credentials import PLACEHOLDER_CLIENT_ID, ClientSecretState
from sellerstream.errors import PermanentFailureError
from sellerstream.logic.batch import RemainingTime
from sellerstream.notifications.application_oauth import (
    ApplicationOAuthClientNewSecretNotification,
    ApplicationOAuthClientSecretExpiryNotification,
)
from sellerstream.notifications.scheduled_event import ScheduledEvent
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import AppSecret, ClientSecretStates
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.errors import SpApiError
from sellerstream.timestamps import sortable_timestamp

AppNotification = (
    ApplicationOAuthClientNewSecretNotification
    | ApplicationOAuthClientSecretExpiryNotification
    | ScheduledEvent
)
SECONDS_PER_DAY = 86400
# Asks Amazon for a new client secret with the app's own LWA credentials, within the invocation's
# remaining time and the shared rate budget; raises the client's SpApiError when it cannot.
RequestRotation = Callable[[LwaCredentials, RemainingTime], None]
ROTATION_REQUESTED = "requested"
ROTATION_REFUSED = "refused"


class AppCredentialsUseCase:
    def __init__(
        self,
        secret: AppSecret,
        state: ClientSecretStates,
        *,
        warning_days: int,
        clock: Callable[[], datetime] | None = None,
        rotate: RequestRotation | None = None,
    ) -> None:
        self._secret = secret
        self._state = state
        self._warning_days = warning_days
        self._now = clock or (lambda: datetime.now(UTC))
        self._rotate = rotate  # None: auto_rotate_app_secret is off

    def apply(self, notification: AppNotification, remaining_time: RemainingTime) -> dict[str, Any]:
        if isinstance(notification, ApplicationOAuthClientNewSecretNotification):
            return self._store_new_secret(notification)
        if isinstance(notification, ApplicationOAuthClientSecretExpiryNotification):
            return self._record_expiry(notification, remaining_time)
        return self._check_expiry()

    # -- APPLICATION_OAUTH_CLIENT_NEW_SECRET -------------------------------------------------------
    def _store_new_secret(self, notification: ApplicationOAuthClientNewSecretNotification) -> dict[str, Any]:
        new = notification.payload.new_secret
        current = self._secret.read()
        self._require_same_client(new.client_id, str(current["client_id"]), notification)
        known = self._state.get(new.client_id)
        result: dict[str, Any] = {"client_id": new.client_id}
        recorded = known.secret_updated_at if known else None
        if recorded is not None and recorded > notification.event_time:
            # An older rotation arriving after a newer one: the stored secret is newer.
            return {**result, "outcome": "stale"}
        if recorded == notification.event_time:
            # This rotation was recorded before: the secret itself is written only if an invocation
            # ended between the two writes (a redelivery finishes it).
            if current.get("client_secret") == new.new_client_secret.get_secret_value():
                return {**result, "outcome": "stale"}
        elif not self._state.record_new_secret(
            new.client_id,
            expires_at=new.new_client_secret_expiry_time,
            updated_at=notification.event_time,
            previous_expires_at=new.old_client_secret_expiry_time,
        ):
            return {**result, "outcome": "stale"}
        # Recorded first, written second: a rotation older than one recorded meanwhile by a concurrent
        # invocation is refused by the conditional write above instead of overwriting the newer secret.
        self._secret.replace_client_secret(current, new.new_client_secret)
        logger.info(
            "LWA client secret replaced by the new one from Amazon",
            extra={
                "client_id": new.client_id,
                "expires_at": _shown(new.new_client_secret_expiry_time),
                "previous_secret_expires_at": _shown(new.old_client_secret_expiry_time),
            },
        )
        self._report_days_left(new.new_client_secret_expiry_time)
        return {
            **result,
            "outcome": "secret_stored",
            "expires_at": _shown(new.new_client_secret_expiry_time),
            "previous_secret_expires_at": _shown(new.old_client_secret_expiry_time),
        }

    # -- APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY ----------------------------------------------------
    def _record_expiry(
        self, notification: ApplicationOAuthClientSecretExpiryNotification, remaining_time: RemainingTime
    ) -> dict[str, Any]:
        expiry = notification.payload.expiry
        current = self._secret.read()
        self._require_same_client(expiry.client_id, str(current["client_id"]), notification)
        result: dict[str, Any] = {
            "client_id": expiry.client_id,
            "expires_at": _shown(expiry.client_secret_expiry_time),
        }
        known = self._state.get(expiry.client_id)
        if (
            known is not None
            and known.previous_secret_expires_at is not None
            and known.secret_updated_at is not None
            and expiry.client_secret_expiry_time <= known.previous_secret_expires_at
        ):
            # The secret replaced by the newest one expires then: the notice is about that one.
            return {**result, "outcome": "about_previous_secret"}
        recorded = self._state.record_expiry_notice(
            expiry.client_id,
            expires_at=expiry.client_secret_expiry_time,
            reason=expiry.client_secret_expiry_reason,
            notice_time=notification.event_time,
        )
        # A notice recorded by an earlier attempt whose rotation failed goes on to the rotation again.
        if not recorded and not (self._rotate is not None and _recorded_before(known, notification)):
            return {**result, "outcome": "stale"}
        days_left = self._report_days_left(expiry.client_secret_expiry_time)
        result = {**result, "outcome": "expiry_recorded", "days_left": days_left}
        if self._rotate is None:
            return result
        return {
            **result,
            "rotation": self._request_rotation(self._rotate, notification, current, remaining_time),
        }

    def _request_rotation(
        self,
        rotate: RequestRotation,
        notification: ApplicationOAuthClientSecretExpiryNotification,
        current: dict[str, Any],
        remaining_time: RemainingTime,
    ) -> str:
        """Asks Amazon for a new secret, once per expiry: ``requested``, ``refused``, or
        ``already_requested`` (for this expiry, by this notice or another, or a newer secret is stored).

        The request is recorded (claimed) before the call, conditionally, so two notices of one
        expiry never both call; recording only after a success would let concurrent notices both
        call. The claim is held only until this attempt's deadline, so it never blocks a retry for
        good: a call that fails transiently gives it up at once, and an attempt that dies lets it
        lapse before the notice's retry (the visibility timeout outlasts any attempt). Had the dead
        call reached Amazon, the new secret it sends is usually stored by then and refuses the
        retry's claim; if not, the retry rotates once more, which is harmless (the later secret wins).
        """
        expiry = notification.payload.expiry
        expires_at = expiry.client_secret_expiry_time
        now = self._now()
        if not self._state.claim_rotation(
            expiry.client_id,
            expires_at=expires_at,
            notice_time=notification.event_time,
            now=now,
            until=now + timedelta(seconds=max(remaining_time(), 0.0)),
        ):
            return "already_requested"
        shown = {"client_id": expiry.client_id, "expires_at": _shown(expires_at)}
        app = LwaCredentials(str(current["client_id"]), str(current.get("client_secret") or ""))
        try:
            rotate(app, remaining_time)
        except SpApiError as error:
            if error.retriable:  # throttled, 5xx, timeout: the record is deferred or retried
                self._state.release_rotation(expiry.client_id, expires_at=expires_at, requested_at=now)
                raise
            # Refused (4xx, or LWA refused the app's credentials): asking again would be refused the
            # same way until someone acts, so the refusal is kept and the notice applied, not
            # dead-lettered in a loop. Its expiry is recorded, and SecretExpiring alarms on it.
            self._state.finish_rotation(
                expiry.client_id, expires_at=expires_at, requested_at=now, outcome=ROTATION_REFUSED
            )
            metrics.add_metric(
                name=metric_names.LWA_CLIENT_SECRET_ROTATION_FAILURES, unit=MetricUnit.Count, value=1
            )
            logger.error(
                "Amazon refused to rotate the LWA client secret: rotate it by hand before it expires",
                extra={**shown, "status": error.status, "code": error.code, "reason": error.message},
            )
            return ROTATION_REFUSED
        self._state.finish_rotation(
            expiry.client_id, expires_at=expires_at, requested_at=now, outcome=ROTATION_REQUESTED
        )
        logger.info(
            "LWA client secret rotation requested: Amazon sends the new secret to this queue", extra=shown
        )
        return ROTATION_REQUESTED

    # -- the hourly check -------------------------------------------------------------------------
    def _check_expiry(self) -> dict[str, Any]:
        client_id = self._secret.client_id()
        if client_id == PLACEHOLDER_CLIENT_ID:
            logger.warning(
                "LWA app secret still holds the stack's placeholder: run sellerstream set-app-credentials"
            )
            return {"outcome": "no_app_credentials"}
        known = self._state.get(client_id)
        if known is None or known.expires_at is None:
            return {"client_id": client_id, "outcome": "expiry_unknown"}
        days_left = self._report_days_left(known.expires_at)
        return {
            "client_id": client_id,
            "outcome": "checked",
            "expires_at": _shown(known.expires_at),
            "days_left": days_left,
        }

    # -- shared ----------------------------------------------------------------------------------
    def _require_same_client(
        self,
        client_id: str,
        stored_client_id: str,
        notification: ApplicationOAuthClientNewSecretNotification
        | ApplicationOAuthClientSecretExpiryNotification,
    ) -> None:
        if client_id == stored_client_id:
            return
        held = (
            "the stack's placeholder (run sellerstream set-app-credentials, then redrive)"
            if stored_client_id == PLACEHOLDER_CLIENT_ID
            else f"client id {stored_client_id!r}"
        )
        raise PermanentFailureError(
            "lwa_client_mismatch",
            f"{notification.notification_type} is for LWA client {client_id!r}; the app secret holds {held}",
            notification_id=notification.notification_id,
            notification_type=notification.notification_type,
        )

    def _report_days_left(self, expires_at: datetime | None) -> float | None:
        if expires_at is None:
            return None
        days_left = round((expires_at - self._now()).total_seconds() / SECONDS_PER_DAY, 2)
        metrics.add_metric(
            name=metric_names.LWA_CLIENT_SECRET_DAYS_LEFT, unit=MetricUnit.Count, value=days_left
        )
        if days_left <= self._warning_days:
            logger.warning(
                "LWA client secret expires soon and no newer secret has arrived",
                extra={"expires_at": _shown(expires_at), "days_left": days_left},
            )
        return days_left


def _shown(moment: datetime | None) -> str | None:
    return sortable_timestamp(moment) if moment else None


def _recorded_before(
    known: ClientSecretState | None, notification: ApplicationOAuthClientSecretExpiryNotification
) -> bool:
    """This very notice is the one recorded (a retry, or a copy with the same event time)."""
    return (
        known is not None
        and known.expiry_notice_at == notification.event_time
        and known.expires_at == notification.payload.expiry.client_secret_expiry_time
    )
