"""The application's LWA client secret: stored when Amazon sends a new one, watched until it expires.

An LWA client secret lives 180 days. Amazon announces its expiry
(``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``) and delivers each new secret
(``APPLICATION_OAUTH_CLIENT_NEW_SECRET``, after a rotation) to the queue registered in the Developer
Console. A new secret replaces the client secret in the LWA app secret (Secrets Manager), which every
function reads; the old one keeps working until ``oldClientSecretExpiryTime`` (seven days), longer
than any function caches it. An hourly scheduled event re-reads when the current secret expires and
reports the days left as the ``LwaClientSecretDaysLeft`` metric, which the stack alarms on.

A notification for another client id than the app secret's is poison (it would store another
application's secret, or the app secret still holds the stack's placeholder): it goes to the DLQ
with its reason and can be redriven once ``sellerstream set-app-credentials`` has set the right app.
The secret itself is never logged, returned, or put in an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sellerstream import metric_names
from sellerstream.domain.credentials import PLACEHOLDER_CLIENT_ID
from sellerstream.errors import PermanentFailureError
from sellerstream.logic.batch import RemainingTime
from sellerstream.notifications.application_oauth import (
    ApplicationOAuthClientNewSecretNotification,
    ApplicationOAuthClientSecretExpiryNotification,
)
from sellerstream.notifications.scheduled_event import ScheduledEvent
from sellerstream.observability import MetricUnit, logger, metrics
from sellerstream.ports import AppSecret, ClientSecretStates
from sellerstream.timestamps import sortable_timestamp

AppNotification = (
    ApplicationOAuthClientNewSecretNotification
    | ApplicationOAuthClientSecretExpiryNotification
    | ScheduledEvent
)
SECONDS_PER_DAY = 86400


class AppCredentialsUseCase:
    def __init__(
        self,
        secret: AppSecret,
        state: ClientSecretStates,
        *,
        warning_days: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._secret = secret
        self._state = state
        self._warning_days = warning_days
        self._now = clock or (lambda: datetime.now(UTC))

    def apply(self, notification: AppNotification, remaining_time: RemainingTime) -> dict[str, Any]:
        if isinstance(notification, ApplicationOAuthClientNewSecretNotification):
            return self._store_new_secret(notification)
        if isinstance(notification, ApplicationOAuthClientSecretExpiryNotification):
            return self._record_expiry(notification)
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
    def _record_expiry(self, notification: ApplicationOAuthClientSecretExpiryNotification) -> dict[str, Any]:
        expiry = notification.payload.expiry
        self._require_same_client(expiry.client_id, self._secret.client_id(), notification)
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
        if not self._state.record_expiry_notice(
            expiry.client_id,
            expires_at=expiry.client_secret_expiry_time,
            reason=expiry.client_secret_expiry_reason,
            notice_time=notification.event_time,
        ):
            return {**result, "outcome": "stale"}
        days_left = self._report_days_left(expiry.client_secret_expiry_time)
        return {**result, "outcome": "expiry_recorded", "days_left": days_left}

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
