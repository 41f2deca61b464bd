"""Builds an SP-API client for one seller from the runtime settings and its resolved credentials."""

from __future__ import annotations

from collections.abc import Callable

from sellerstream.config import Settings
from sellerstream.credentials import CredentialsResolver, SellerCredentials
from sellerstream.observability import MetricUnit, metrics
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL


class MetricsObserver:
    """Counts SP-API calls and throttles as CloudWatch metrics (EMF)."""

    def on_call(self, operation: str, status: int | None, latency_ms: float) -> None:
        metrics.add_metric(name="SpApiCalls", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="SpApiLatency", unit=MetricUnit.Milliseconds, value=latency_ms)

    def on_throttled(self, operation: str) -> None:
        metrics.add_metric(name="SpApiThrottles", unit=MetricUnit.Count, value=1)


class SpApiAccess:
    def __init__(self, settings: Settings, credentials: CredentialsResolver) -> None:
        self._settings = settings
        self._credentials = credentials
        self._observer = MetricsObserver()

    def client_for(self, seller: SellerCredentials, remaining_time: Callable[[], float]) -> SpApiClient:
        return SpApiClient(
            credentials=self._credentials.lwa_app(),
            seller=SellerContext(
                seller_key=seller.seller_key, refresh_token=seller.refresh_token, region=seller.region
            ),
            sandbox=self._settings.spapi_sandbox,
            base_url_override=self._settings.spapi_endpoint_override,
            lwa_token_url=self._settings.lwa_endpoint_override or LWA_TOKEN_URL,
            remaining_time=remaining_time,
            observer=self._observer,
        )
