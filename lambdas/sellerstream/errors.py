"""Typed errors shared by every layer of the runtime package.

A ``PoisonMessageError`` can never succeed on retry (bad JSON, wrong schema, unknown type, unknown
seller); it still fails its record, so SQS redrives it to the DLQ after maxReceiveCount receives,
but it is logged once, clearly, with the reason. Everything else is treated as transient.
"""

from __future__ import annotations


class SellerStreamError(Exception):
    """Base class of the product's own errors."""


class PoisonMessageError(SellerStreamError):
    """A message that will fail on every receive. ``reason`` is a short machine-friendly tag."""

    reason = "poison"

    def __init__(self, detail: str, *, notification_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.notification_id = notification_id


class InvalidNotificationError(PoisonMessageError):
    reason = "invalid_notification"


class UnknownNotificationTypeError(PoisonMessageError):
    reason = "unknown_notification_type"


class UnknownSellerError(PoisonMessageError):
    reason = "unknown_seller"


class SellerCredentialsError(PoisonMessageError):
    """The seller's secret exists but is unusable (missing keys, LWA says invalid_grant)."""

    reason = "seller_credentials"


class NotReadyError(SellerStreamError):
    """The record cannot be completed yet, through no fault of its own: it waits in the queue.

    E.g. SP-API answered with a state older than the change the notification announces (Amazon's
    read-after-publish lag). ``wait_seconds`` is how long to wait before trying again.
    """

    def __init__(self, detail: str, *, wait_seconds: float) -> None:
        super().__init__(detail)
        self.wait_seconds = wait_seconds
