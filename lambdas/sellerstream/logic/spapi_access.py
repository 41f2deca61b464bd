"""Builds an SP-API client for one seller from its credentials, on the rate budget all calls share.

The budget comes from the ``RateBudgets`` port: in AWS every client of every container draws from
the shared budget in DynamoDB; a process without one (a test) from its own buckets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sellerstream import metric_names
from sellerstream.config import SpApiSettings
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.observability import MetricUnit, emit_metric, logger, metrics
from sellerstream.ports import RateBudgets, SellerDirectory
from sellerstream.spapi import defaults
from sellerstream.spapi.auth import LwaTokenProvider
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.errors import LwaAuthError
from sellerstream.spapi.ratelimit import RateBudget
from sellerstream.spapi.transport import Transport


class MetricsObserver:
    """Counts SP-API calls and throttles as CloudWatch metrics (EMF), and logs each 429.

    Per function (batched into the invocation's one EMF line), and per operation: each call and
    each 429 also writes its own small EMF line with an ``operation`` dimension. That costs one log
    line of a few hundred bytes per call and two custom metrics per operation used, in exchange
    for seeing which operation spends a quota.
    """

    def on_call(self, operation: str, status: int | None, latency_ms: float) -> None:
        metrics.add_metric(name=metric_names.SP_API_CALLS, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=metric_names.SP_API_LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
        self._per_operation(metric_names.SP_API_CALLS, operation)

    def on_throttled(self, operation: str) -> None:
        metrics.add_metric(name=metric_names.SP_API_THROTTLES, unit=MetricUnit.Count, value=1)
        self._per_operation(metric_names.SP_API_THROTTLES, operation)
        # One line per 429 (the client retries or defers): it carries the notification's keys, so
        # "which seller and operation spend the quota" is one Logs Insights query.
        logger.warning("sp-api throttled (429)", extra={"operation": operation, "status": 429})

    @staticmethod
    def _per_operation(name: str, operation: str) -> None:
        emit_metric(name, MetricUnit.Count, 1, dimensions={metric_names.OPERATION_DIMENSION: operation})


class SpApiAccess:
    def __init__(
        self,
        settings: SpApiSettings,
        directory: SellerDirectory,
        *,
        budgets: RateBudgets | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._observer = MetricsObserver()
        self._budgets = budgets
        self._transport = transport
        # A transport of its own (tests, simulations) gets its own LWA token cache on it.
        self._tokens = LwaTokenProvider(transport, clock=clock) if transport is not None else None
        self._clock = clock
        self._sleep = sleep
        self._marked: set[tuple[str, str, str]] = set()  # refusals this container recorded

    def rate_budget(self, seller: SellerCredentials) -> RateBudget:
        """The budget the seller's calls draw from (Amazon meters per application and region too)."""
        if self._budgets is None:
            return defaults.rate_limiter()
        return self._budgets.for_account(self._directory.lwa_app().client_id, seller.region.value)

    def refused(self, seller: SellerCredentials) -> LwaAuthError | None:
        """LWA's refusal of the seller's refresh token when this container still remembers it: the
        seller's work can stop before it reserves rate budget or makes a call. A refusal also has
        the seller's secrets read afresh next time (they are cached for hours): a seller who
        re-authorised is served with the new token from the next batch on."""
        tokens = self._tokens or defaults.token_provider()
        refusal = tokens.refusal(
            self._directory.lwa_app(),
            refresh_token=seller.refresh_token,
            token_url=self._settings.lwa_endpoint_override or LWA_TOKEN_URL,
        )
        if refusal is not None:
            self._directory.forget(seller.seller_key)
        return refusal

    def client_for(
        self,
        seller: SellerCredentials,
        remaining_time: Callable[[], float],
        *,
        budget: RateBudget | None = None,
    ) -> SpApiClient:
        """A client for the seller's calls, on ``budget`` (the drainer's lease) or the shared one."""
        self.refused(seller)  # a refusal remembered: the secrets are read afresh next time
        return SpApiClient(
            credentials=self._directory.lwa_app(),
            seller=SellerContext(
                seller_key=seller.seller_key, refresh_token=seller.refresh_token, region=seller.region
            ),
            sandbox=self._settings.spapi_sandbox,
            base_url_override=self._settings.spapi_endpoint_override,
            lwa_token_url=self._settings.lwa_endpoint_override or LWA_TOKEN_URL,
            transport=self._transport,
            token_provider=self._tokens,
            rate_limiter=budget if budget is not None else self.rate_budget(seller),
            remaining_time=remaining_time,
            observer=self._observer,
            sleep=self._sleep,
            clock=self._clock,
            on_seller_refused=lambda error: self._record_refusal(seller, error),
        )

    def _record_refusal(self, seller: SellerCredentials, error: LwaAuthError) -> None:
        """LWA refused the seller's token in its region: the directory records it (``status`` shows
        the region deauthorised) once per container and token. The refusal itself still fails the
        work (the batch waits for re-authorisation, the SellerCredentials alarm fires); a failure to
        record it is logged, never put in its place."""
        key = (seller.seller_key, seller.region.value, seller.refresh_token)
        if key in self._marked:
            return
        self._marked.add(key)
        try:
            self._directory.mark_refused(
                seller.seller_key,
                seller.region,
                reason=f"LWA {error.code or error.status}",
                at=datetime.now(UTC),
            )
        except Exception as failure:
            logger.warning(
                "the seller's refused credentials could not be recorded",
                extra={
                    "seller_id": seller.seller_key,
                    "region": seller.region.name,
                    "reason": type(failure).__name__,
                },
            )
