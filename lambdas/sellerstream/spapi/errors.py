"""Typed SP-API and LWA errors. Messages carry the operation, status, Amazon's error code and
request id; never a token, a secret or a response body (bodies can hold buyer data)."""

from __future__ import annotations

import re

# Amazon's error messages name fields, not data; still keep them to one short line in logs.
_MAX_MESSAGE_LENGTH = 200
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


class SpApiError(Exception):
    """Base of every client error. ``retriable`` says whether a later attempt may succeed."""

    retriable = False

    def __init__(
        self,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.status = status
        self.code = code
        self.message = _one_line(message)
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.operation}: {self.message}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={_one_line(self.code)}")
        if self.request_id:
            parts.append(f"request_id={_one_line(self.request_id)}")
        return " ".join(parts)


class SpApiThrottled(SpApiError):
    """429 from Amazon (or from LWA): the record goes back to the queue for later."""

    retriable = True


class SpApiServerError(SpApiError):
    retriable = True


class SpApiTimeout(SpApiError):
    """No HTTP answer in time (or the connection failed), or no time left to ask."""

    retriable = True


class MalformedResponse(SpApiError):
    """A 2xx whose body is not the JSON the operation promises."""

    retriable = True


class SpApiNotFound(SpApiError):
    pass


class SpApiClientError(SpApiError):
    pass


class DocumentUrlExpired(SpApiClientError):
    """A report document's presigned URL is past its five minutes: fetch a fresh one with
    getReportDocument."""


class SpApiAccessDenied(SpApiError):
    """403 that one token refresh did not cure: a missing role or a revoked authorisation."""


class RateBudgetExhausted(SpApiError):
    """Our own bucket cannot serve the call within the invocation's remaining time.

    The record goes back to the queue (visibility timeout) instead of sleeping past the deadline.
    ``wait_needed`` is the wait the bucket asked for, in seconds.
    """

    retriable = True

    def __init__(self, operation: str, message: str, *, wait_needed: float = 0.0) -> None:
        super().__init__(operation, message)
        self.wait_needed = wait_needed


class LwaAuthError(SpApiError):
    """LWA refused the credentials (invalid_grant, invalid_client, ...): terminal, never retried.

    ``code`` is LWA's ``error`` value; the secret and the refresh token are never part of it.
    ``region``: the SP-API region (NA, EU, FE) of the seller's refused token, when a seller's.
    """

    region: str | None = None


def _one_line(text: str) -> str:
    return _CONTROL_CHARACTERS.sub(" ", text).strip()[:_MAX_MESSAGE_LENGTH]
