"""Notifications API v1: destinations (grantless) and subscriptions (per seller)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sellerstream.spapi.client import SpApiClient, SpApiResponse
from sellerstream.spapi.errors import MalformedResponse, SpApiNotFound

NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"


class NotificationsApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    # -- destinations: grantless, one per resource per application ------------------------------
    def get_destinations(self) -> list[dict[str, Any]]:
        response = self._client.request(
            "getDestinations", "GET", "/notifications/v1/destinations", grantless_scope=NOTIFICATIONS_SCOPE
        )
        payload = response.body.get("payload") if isinstance(response.body, dict) else None
        if payload is None:
            return []
        if not isinstance(payload, list) or not all(isinstance(entry, dict) for entry in payload):
            raise _malformed(response, "getDestinations", "payload is not a list of destinations")
        return payload

    def create_destination(self, name: str, resource_specification: dict[str, Any]) -> dict[str, Any]:
        response = self._client.request(
            "createDestination",
            "POST",
            "/notifications/v1/destinations",
            body={"name": name, "resourceSpecification": resource_specification},
            grantless_scope=NOTIFICATIONS_SCOPE,
        )
        return _payload(response, "createDestination")

    def delete_destination(self, destination_id: str) -> None:
        self._client.request(
            "deleteDestination",
            "DELETE",
            f"/notifications/v1/destinations/{quote(destination_id, safe='')}",
            grantless_scope=NOTIFICATIONS_SCOPE,
        )

    # -- subscriptions: the seller's own -----------------------------------------------------------
    def get_subscription(self, notification_type: str) -> dict[str, Any] | None:
        try:
            response = self._client.request(
                "getSubscription",
                "GET",
                f"/notifications/v1/subscriptions/{quote(notification_type, safe='')}",
            )
        except SpApiNotFound:
            return None
        payload = response.body.get("payload") if isinstance(response.body, dict) else None
        return _payload(response, "getSubscription") if payload else None

    def create_subscription(
        self,
        notification_type: str,
        *,
        destination_id: str,
        payload_version: str,
        processing_directive: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"payloadVersion": payload_version, "destinationId": destination_id}
        if processing_directive:
            request["processingDirective"] = processing_directive
        response = self._client.request(
            "createSubscription",
            "POST",
            f"/notifications/v1/subscriptions/{quote(notification_type, safe='')}",
            body=request,
        )
        return _payload(response, "createSubscription")

    def delete_subscription(self, notification_type: str, subscription_id: str) -> None:
        self._client.request(
            "deleteSubscriptionById",
            "DELETE",
            f"/notifications/v1/subscriptions/{quote(notification_type, safe='')}/{quote(subscription_id, safe='')}",
            grantless_scope=NOTIFICATIONS_SCOPE,
        )


def _payload(response: SpApiResponse, operation: str) -> dict[str, Any]:
    payload = response.body.get("payload") if isinstance(response.body, dict) else None
    if not isinstance(payload, dict):
        raise _malformed(response, operation, "response has no 'payload' object")
    return payload


def _malformed(response: SpApiResponse, operation: str, message: str) -> MalformedResponse:
    return MalformedResponse(operation, message, status=response.status, request_id=response.request_id)
