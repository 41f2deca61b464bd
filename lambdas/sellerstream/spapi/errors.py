"""Typed SP-API and LWA errors. Messages carry the operation, status, Amazon's error code and
request id; never a token, a secret or a response body (bodies can hold buyer data)."""

from __future__ import annotations


class SpApiError(Exception):
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
        self.message = message
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.operation}: {self.message}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class SpApiThrottled(SpApiError):
    retriable = True


class SpApiServerError(SpApiError):
    retriable = True


class SpApiTimeout(SpApiError):
    retriable = True


class MalformedResponse(SpApiError):
    """A 2xx whose body is not the JSON the operation promises."""

    retriable = True


class SpApiNotFound(SpApiError):
    pass


class SpApiClientError(SpApiError):
    pass


class SpApiAccessDenied(SpApiError):
    """403 that one token refresh did not cure: a missing role or a revoked authorisation."""


class RateBudgetExhausted(SpApiError):
    """Our own bucket cannot serve the call within the invocation's remaining time.

    The record goes back to the queue (visibility timeout) instead of sleeping past the deadline.
    """

    retriable = True


class LwaAuthError(SpApiError):
    """LWA refused the credentials (invalid_grant, invalid_client, ...): terminal, never retried."""
