"""A seller's subscriptions in one SP-API region: destinations and subscriptions for the types a
deployment takes, found or created, and each recorded in the seller directory with its region.

Amazon's destinations and subscriptions are per region: a seller authorised in NA and EU is
subscribed on each region's endpoint with that region's token, to destinations created on that
endpoint (the same SQS queues; an EventBridge destination per region, each creating its own
partner event source in the stack's account). Running it again changes nothing. Amazon cannot
change a subscription: one whose destination or processing directive is not the wanted one is left
alone, and the answer says so. The operator's ``subscribe`` and the onboarding API both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from sellerstream import catalog, processing_directives
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.ports import SellerDirectory
from sellerstream.spapi.errors import SpApiError
from sellerstream.spapi.notifications import NotificationsApi

EVENTBRIDGE: Final = "eventbridge"  # the name of the EventBridge destination
PROCESSING_DIRECTIVE: Final = "processingDirective"  # Amazon's name, in a subscription
UNSUBSCRIBE_FIRST: Final = "Amazon cannot change a subscription (unsubscribe first)"


class WantedSubscription(NamedTuple):
    """A type the deployment takes, the destination it goes to (a consumer's kind or
    ``EVENTBRIDGE``) with Amazon's resource for it, and its processing directive (None: none)."""

    message_type: catalog.MessageType
    destination: str
    resource: dict[str, Any]
    directive: dict[str, Any] | None


def destination_of(message_type: catalog.MessageType) -> str:
    """The destination a type is subscribed with: its consumer's kind (an SQS destination on that
    queue), or the EventBridge destination."""
    if message_type.transport is catalog.Transport.EVENTBRIDGE:
        return EVENTBRIDGE
    consumer = catalog.consumer_of(message_type.name)
    assert consumer is not None
    return consumer.kind


def wanted_subscriptions(
    types: Iterable[catalog.MessageType],
    queue_arns: Mapping[str, str],
    directives: Mapping[str, dict[str, Any] | None],
) -> tuple[WantedSubscription, ...]:
    """What each type is subscribed with: an SQS destination on its consumer's queue
    (``queue_arns`` by consumer kind), or the EventBridge destination in the account and AWS region
    of those queues (SP-API then creates the partner event source there)."""
    wanted = []
    for message_type in types:
        destination = destination_of(message_type)
        if destination == EVENTBRIDGE:
            any_arn = next(iter(queue_arns.values()), None)
            if any_arn is None:
                raise ValueError("the EventBridge destination needs the stack's account: no queue ARN given")
            _, _, _, aws_region, account, _ = any_arn.split(":", 5)
            resource: dict[str, Any] = {"eventBridge": {"region": aws_region, "accountId": account}}
        else:
            if destination not in queue_arns:
                raise ValueError(f"no queue ARN for the {destination} consumer")
            resource = {"sqs": {"arn": queue_arns[destination]}}
        wanted.append(
            WantedSubscription(message_type, destination, resource, directives.get(message_type.name))
        )
    return tuple(wanted)


class SellerSubscriber:
    """Subscribes a seller in its regions; ``api_for`` gives the Notifications API on the endpoint
    of a seller's region, with that region's token."""

    def __init__(
        self, directory: SellerDirectory, api_for: Callable[[SellerCredentials], NotificationsApi]
    ) -> None:
        self._directory = directory
        self._api_for = api_for

    def subscribe(
        self, seller: SellerCredentials, wanted: Sequence[WantedSubscription]
    ) -> list[dict[str, Any]]:
        """Destinations and subscriptions in the seller's region, each action with the region."""
        api = self._api_for(seller)
        region = {"region": seller.region.name}
        destinations = self._ensure_destinations(api, wanted)
        actions: list[dict[str, Any]] = [
            {"destination": name, **region, **detail} for name, detail in destinations.items()
        ]
        for entry in wanted:
            name = entry.message_type.name
            subscription = entry.message_type.subscription
            assert subscription is not None
            destination_id = destinations[entry.destination]["destinationId"]
            existing = api.get_subscription(name)
            if existing is None:
                created = api.create_subscription(
                    name,
                    destination_id=destination_id,
                    payload_version=subscription.payload_version,
                    processing_directive=entry.directive,
                )
                actions.append({"subscription": name, **region, "action": "created", **created})
                self._route(seller, created["subscriptionId"])
            elif existing.get("destinationId") != destination_id:
                actions.append(
                    {
                        "subscription": name,
                        **region,
                        "action": "left alone: it points at another destination (unsubscribe first)",
                        **existing,
                    }
                )
            else:
                # Its notifications come to this deployment whatever it filters: routed either way.
                self._route(seller, existing["subscriptionId"])
                mismatch = directive_mismatch(name, existing, entry.directive)
                if mismatch is None:
                    actions.append({"subscription": name, **region, "action": "unchanged", **existing})
                else:
                    actions.append(
                        {
                            "subscription": name,
                            **region,
                            "action": f"left alone: its processing directive {mismatch}; {UNSUBSCRIBE_FIRST}",
                            **existing,
                            "wantedProcessingDirective": entry.directive,
                        }
                    )
        return actions

    def route_existing(
        self, seller: SellerCredentials, types: Iterable[catalog.MessageType]
    ) -> list[dict[str, Any]]:
        """Records the seller's existing subscriptions in its region (none are created)."""
        api = self._api_for(seller)
        routed = []
        for message_type in types:
            subscription = api.get_subscription(message_type.name)
            if subscription:
                self._route(seller, subscription["subscriptionId"])
                routed.append(
                    {
                        "notificationType": message_type.name,
                        "region": seller.region.name,
                        "subscriptionId": subscription["subscriptionId"],
                    }
                )
        return routed

    def _ensure_destinations(
        self, api: NotificationsApi, wanted: Sequence[WantedSubscription]
    ) -> dict[str, dict[str, Any]]:
        resources = {entry.destination: entry.resource for entry in wanted}
        result: dict[str, dict[str, Any]] = {}
        existing = api.get_destinations()
        for name, resource in resources.items():
            match = next((d for d in existing if same_resource(d["resource"], resource)), None)
            if match is not None:
                result[name] = {"action": "unchanged", **match}
                continue
            try:
                created = api.create_destination(f"sellerstream-{name}", resource)
            except SpApiError as error:
                if error.status != 409:
                    raise
                # Created concurrently (or by an earlier, interrupted run): find it again.
                existing = api.get_destinations()
                created = next(d for d in existing if same_resource(d["resource"], resource))
            result[name] = {"action": "created", **created}
        return result

    def _route(self, seller: SellerCredentials, subscription_id: str) -> None:
        self._directory.route_subscription(subscription_id, seller.seller_key, seller.region)


def directive_mismatch(
    type_name: str, subscription: Mapping[str, Any], wanted: Mapping[str, Any] | None
) -> str | None:
    """None when ``subscription`` (Amazon's) filters as ``wanted`` does (None: no directive); else
    how it differs: "differs from the wanted one", or "cannot be read (why)" when what Amazon
    returned is not a directive SellerStream knows (whether it is the wanted one is not guessed)."""
    found = subscription.get(PROCESSING_DIRECTIVE)
    if found is not None and found != {}:
        expression_only = isinstance(found, dict) and set(found) == {processing_directives.FILTER_EXPRESSION}
        if not (expression_only and isinstance(found[processing_directives.FILTER_EXPRESSION], str)):
            try:
                found = processing_directives.check(type_name, found)
            except ValueError as error:
                return f"cannot be read ({error})"
    else:
        found = None
    return None if processing_directives.same(found, wanted) else "differs from the wanted one"


def same_resource(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if "sqs" in wanted:
        return bool((existing.get("sqs") or {}).get("arn") == wanted["sqs"]["arn"])
    bridge, want = existing.get("eventBridge") or {}, wanted["eventBridge"]
    return bool(bridge.get("accountId") == want["accountId"] and bridge.get("region") == want["region"])
