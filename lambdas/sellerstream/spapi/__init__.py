"""A thin SP-API client on the standard library: LWA, endpoints, rate limits, retries, APIs."""

from sellerstream.spapi.defaults import reset as reset_spapi_state

__all__ = ["reset_spapi_state"]
