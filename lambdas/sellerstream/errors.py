"""Typed errors shared by every layer of the runtime package.

A ``PoisonMessageError`` can never succeed on retry (bad JSON, wrong schema, unknown type, unknown
seller, or an answer from Amazon or AWS that no retry changes): the handler copies its message to
the queue's dead-letter queue at once, with the reason, and logs it once. Everything else is
treated as transient and retried through the queue.
"""

from __future__ import annotations


class SellerStreamError(Exception):
    """Base class of the product's own errors."""


class PoisonMessageError(SellerStreamError):
    """A message that will fail on every receive. ``reason`` is a short machine-friendly tag.

    ``detail`` never holds message content (bodies carry buyer data); the ids are set only when
    they have Amazon's shape, so they are safe in a log line or a message attribute."""

    reason = "poison"

    def __init__(
        self,
        detail: str,
        *,
        notification_id: str | None = None,
        notification_type: str | None = None,
        seller_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.notification_id = notification_id
        self.notification_type = notification_type
        self.seller_id = seller_id


class InvalidNotificationError(PoisonMessageError):
    reason = "invalid_notification"


class UnknownNotificationTypeError(PoisonMessageError):
    reason = "unknown_notification_type"


class UnsupportedPayloadVersionError(PoisonMessageError):
    """A notification in an envelope or payload version its consumer does not read yet (a new major
    version may keep field names and change their meaning): parked, not guessed at. ``version`` is
    the version it came with (shape-checked)."""

    reason = "unsupported_payload_version"

    def __init__(self, detail: str, *, version: str, **ids: str | None) -> None:
        super().__init__(detail, **ids)
        self.version = version


class UnknownSellerError(PoisonMessageError):
    reason = "unknown_seller"


class SellerCredentialsError(PoisonMessageError):
    """The seller's secret exists but is unusable (missing keys, LWA says invalid_grant).
    ``region``: the SP-API region whose token LWA refused (None: the secret itself is unusable)."""

    reason = "seller_credentials"
    region: str | None = None


class PermanentFailureError(PoisonMessageError):
    """A valid notification that cannot succeed on retry: Amazon says the report does not exist
    (404), AWS refuses the write as invalid (ValidationException). ``reason`` names the cause."""

    reason = "permanent_failure"

    def __init__(self, reason: str, detail: str, **ids: str | None) -> None:
        super().__init__(detail, **ids)
        self.reason = reason


class NotReadyError(SellerStreamError):
    """The record cannot be completed yet, through no fault of its own: it waits in the queue.

    E.g. SP-API answered with a state older than the change the notification announces (Amazon's
    read-after-publish lag). ``wait_seconds`` is how long to wait before trying again.
    """

    def __init__(self, detail: str, *, wait_seconds: float) -> None:
        super().__init__(detail)
        self.wait_seconds = wait_seconds


class OnboardingRefusedError(SellerStreamError):
    """A login or redirect of the onboarding API that cannot go on: a state tampered with, expired
    or of no region, a callback URI that is not Amazon's, a seller id of no Amazon shape, a parameter
    missing. Answered 400 before any exchange with LWA. ``reason`` is a short tag for the log; the
    detail never quotes the request (it carries the authorization code and the state)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# Every reason the functions give a dead letter: the ``sellerstream-reason`` of one they copy at
# once (a failure no retry can cure), and the tag they log for a record that waits until the queue
# dead-letters it. A transient failure is logged by its exception's class name instead
# (``SpApiServerError``): that set is open, and not listed here. ``sellerstream redrive --reason``
# takes these names.
DEAD_LETTER_REASONS = frozenset(
    {
        InvalidNotificationError.reason,
        UnknownNotificationTypeError.reason,
        UnsupportedPayloadVersionError.reason,
        UnknownSellerError.reason,
        SellerCredentialsError.reason,
        "invalid_shipment_request",  # notifications.shipment_request
        "spapi_not_found",  # logic.dead_letter: Amazon's answers no retry changes
        "spapi_access_denied",
        "spapi_client_error",
        "aws_validation",
        "lwa_client_mismatch",  # logic.app_credentials
        "inconsistent_shipment",  # logic.shipments: refused before any call
        "unknown_order_items",
        "ambiguous_package",
        "report_stalled",  # logic.report_finished: parts in a row interrupted before storing a row
        "in_progress_elsewhere",  # logic.batch: another delivery held it longer than the queue keeps
        "order_fetch_failed",  # logic.order_drainer: a pending order's calls failed MAX_FETCH_ATTEMPTS times
    }
)
