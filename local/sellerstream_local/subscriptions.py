"""``sellerstream subscribe | subscriptions | unsubscribe``: wiring a deployed stack to SP-API.

For one seller: find or create the SQS destinations (orders and reports queues) and the
EventBridge destination (grantless calls), then find or create the subscription of each type
with its payload version (and ORDER_CHANGE's event filter). Running it again changes nothing.
Each subscription is also recorded in the accounts table, so notifications that carry no seller
id (vendors' reports) resolve to this seller's credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from sellerstream.config import Settings
from sellerstream.credentials import CredentialsResolver
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.errors import SpApiError
from sellerstream.spapi.notifications import NotificationsApi
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


class StackOutputs:
    """The deployed stack's outputs: from CloudFormation, or a ``cdk deploy --outputs-file`` JSON."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    @classmethod
    def from_file(cls, path: Path, stack_name: str) -> StackOutputs:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(dict(document.get(stack_name, document)))

    @classmethod
    def from_cloudformation(cls, stack_name: str) -> StackOutputs:
        [stack] = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        return cls({output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])})

    def __getitem__(self, output_id: str) -> str:
        try:
            return self.values[output_id]
        except KeyError:
            raise SystemExit(
                f"the stack has no output {output_id!r}: deploy the current version first"
            ) from None

    def settings(self, overrides: dict[str, str]) -> Settings:
        return Settings.model_validate(
            {
                "IDEMPOTENCY_TABLE_NAME": self.values.get(constants.OUTPUT_IDEMPOTENCY_TABLE, "unused"),
                "ACCOUNTS_TABLE_NAME": self[constants.OUTPUT_ACCOUNTS_TABLE],
                "LWA_APP_SECRET_ID": self[constants.OUTPUT_LWA_SECRET_ARN],
                "SELLER_SECRET_PREFIX": self[constants.OUTPUT_SELLER_SECRET_PREFIX],
                "SECRETS_CACHE_SECONDS": "0",
                **overrides,
            }
        )


class Subscriptions:
    def __init__(self, outputs: StackOutputs, settings: Settings, seller_id: str) -> None:
        self._outputs = outputs
        self._settings = settings
        self._seller_id = seller_id
        credentials = CredentialsResolver(settings)
        seller = credentials.for_notification(seller_id=seller_id, subscription_id="")
        self._api = NotificationsApi(
            SpApiClient(
                credentials=credentials.lwa_app(),
                seller=SellerContext(seller.seller_key, seller.refresh_token, seller.region),
                sandbox=settings.spapi_sandbox,
                base_url_override=settings.spapi_endpoint_override,
                lwa_token_url=settings.lwa_endpoint_override or LWA_TOKEN_URL,
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
        boto3.client("dynamodb").put_item(
            TableName=self._settings.accounts_table_name,
            Item={"pk": {"S": f"SUBSCRIPTION#{subscription_id}"}, "seller_id": {"S": self._seller_id}},
        )


def _same_resource(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if "sqs" in wanted:
        return bool((existing.get("sqs") or {}).get("arn") == wanted["sqs"]["arn"])
    bridge, want = existing.get("eventBridge") or {}, wanted["eventBridge"]
    return bool(bridge.get("accountId") == want["accountId"] and bridge.get("region") == want["region"])
