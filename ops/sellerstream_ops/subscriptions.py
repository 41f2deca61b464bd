"""``sellerstream subscribe | subscriptions | unsubscribe``: wiring a deployed stack to SP-API.

For one seller: find or create the SQS destinations (orders and reports queues) and the
EventBridge destination (grantless calls), then find or create the subscription of each type
with its payload version (and ORDER_CHANGE's event filter). Running it again changes nothing.
Each subscription is also recorded in the accounts table, so notifications that carry no seller
id (vendors' reports) resolve to this seller's credentials.

The application's own notifications (its LWA client secret) are not a seller's: Amazon takes their
destination in the Developer Console (``sellerstream app-notifications``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sellerstream import aws
from sellerstream.config import Settings
from sellerstream.credentials import CredentialsResolver
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.errors import SpApiError
from sellerstream.spapi.notifications import NotificationsApi
from sellerstream_ops.outputs import StackOutputs
from stacks import constants


@dataclass(frozen=True)
class SubscriptionSpec:
    notification_type: str
    payload_version: str
    destination: str  # "orders", "reports" (SQS) or "eventbridge"
    processing_directive: dict[str, Any] | None = None


SPECS = (
    SubscriptionSpec(
        "ORDER_CHANGE",
        "1.0",
        "orders",
        {
            "eventFilter": {
                "eventFilterType": "ORDER_CHANGE",
                "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
            }
        },
    ),
    SubscriptionSpec("LISTINGS_ITEM_STATUS_CHANGE", "1.0", "eventbridge"),
    SubscriptionSpec("REPORT_PROCESSING_FINISHED", "2020-09-04", "reports"),
)


def spapi_client(
    settings: Settings, app: LwaCredentials, seller: SellerContext | None, region: Any = None
) -> SpApiClient:
    """An SP-API client as the functions build one (the emulator's endpoints in local mode)."""
    return SpApiClient(
        credentials=app,
        seller=seller,
        region=region,
        sandbox=settings.spapi_sandbox,
        base_url_override=settings.spapi_endpoint_override,
        lwa_token_url=settings.lwa_endpoint_override or LWA_TOKEN_URL,
    )


class Subscriptions:
    def __init__(
        self, outputs: StackOutputs, settings: Settings, seller_id: str, app: LwaCredentials | None = None
    ) -> None:
        self._outputs = outputs
        self._settings = settings
        self._seller_id = seller_id
        credentials = CredentialsResolver(settings)
        seller = credentials.for_notification(seller_id=seller_id, subscription_id="")
        self._api = NotificationsApi(
            spapi_client(
                settings,
                app or credentials.lwa_app(),
                SellerContext(seller.seller_key, seller.refresh_token, seller.region),
            )
        )

    def subscribe(self) -> list[dict[str, Any]]:
        destinations = self._ensure_destinations()
        actions: list[dict[str, Any]] = [
            {"destination": name, **detail} for name, detail in destinations.items()
        ]
        for spec in SPECS:
            destination_id = destinations[spec.destination]["destinationId"]
            existing = self._api.get_subscription(spec.notification_type)
            if existing is None:
                created = self._api.create_subscription(
                    spec.notification_type,
                    destination_id=destination_id,
                    payload_version=spec.payload_version,
                    processing_directive=spec.processing_directive,
                )
                actions.append({"subscription": spec.notification_type, "action": "created", **created})
                self._route(created["subscriptionId"])
            elif existing.get("destinationId") == destination_id:
                actions.append({"subscription": spec.notification_type, "action": "unchanged", **existing})
                self._route(existing["subscriptionId"])
            else:
                actions.append(
                    {
                        "subscription": spec.notification_type,
                        "action": "left alone: it points at another destination (unsubscribe first)",
                        **existing,
                    }
                )
        return actions

    def current(self) -> list[dict[str, Any]]:
        found = []
        for spec in SPECS:
            subscription = self._api.get_subscription(spec.notification_type)
            found.append({"notificationType": spec.notification_type, "subscription": subscription})
        return found

    def route_existing(self) -> list[dict[str, Any]]:
        """Records the seller's existing subscriptions in the accounts table (none are created)."""
        routed = []
        for entry in self.current():
            subscription = entry["subscription"]
            if subscription:
                self._route(subscription["subscriptionId"])
                routed.append(
                    {
                        "notificationType": entry["notificationType"],
                        "subscriptionId": subscription["subscriptionId"],
                    }
                )
        return routed

    def unsubscribe(self, *, delete_destinations: bool) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        for spec in SPECS:
            existing = self._api.get_subscription(spec.notification_type)
            if existing is None:
                actions.append({"subscription": spec.notification_type, "action": "none"})
                continue
            self._api.delete_subscription(spec.notification_type, existing["subscriptionId"])
            actions.append({"subscription": spec.notification_type, "action": "deleted", **existing})
        if delete_destinations:
            wanted = self._wanted_resources()
            for destination in self._api.get_destinations():
                if any(_same_resource(destination["resource"], resource) for resource in wanted.values()):
                    self._api.delete_destination(destination["destinationId"])
                    actions.append({"destination": destination["name"], "action": "deleted"})
        return actions

    def _wanted_resources(self) -> dict[str, dict[str, Any]]:
        orders_arn = self._outputs[constants.OUTPUT_ORDERS_QUEUE_ARN]
        _, _, _, region, account, _ = orders_arn.split(":", 5)
        return {
            "orders": {"sqs": {"arn": orders_arn}},
            "reports": {"sqs": {"arn": self._outputs[constants.OUTPUT_REPORTS_QUEUE_ARN]}},
            "eventbridge": {"eventBridge": {"region": region, "accountId": account}},
        }

    def _ensure_destinations(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        existing = self._api.get_destinations()
        for name, resource in self._wanted_resources().items():
            match = next((d for d in existing if _same_resource(d["resource"], resource)), None)
            if match is not None:
                result[name] = {"action": "unchanged", **match}
                continue
            try:
                created = self._api.create_destination(f"sellerstream-{name}", resource)
            except SpApiError as error:
                if error.status != 409:
                    raise
                # Created concurrently (or by an earlier, interrupted run): find it again.
                existing = self._api.get_destinations()
                created = next(d for d in existing if _same_resource(d["resource"], resource))
            result[name] = {"action": "created", **created}
        return result

    def _route(self, subscription_id: str) -> None:
        aws.client("dynamodb").put_item(
            TableName=self._settings.accounts_table_name,
            Item={"pk": {"S": f"SUBSCRIPTION#{subscription_id}"}, "seller_id": {"S": self._seller_id}},
        )


def _same_resource(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if "sqs" in wanted:
        return bool((existing.get("sqs") or {}).get("arn") == wanted["sqs"]["arn"])
    bridge, want = existing.get("eventBridge") or {}, wanted["eventBridge"]
    return bool(bridge.get("accountId") == want["accountId"] and bridge.get("region") == want["region"])
