"""``sellerstream subscribe | subscriptions | unsubscribe``: wiring a deployed stack to SP-API.

For one seller, every type the catalog subscribes: find or create the destination of each (the
SQS queue of the type's consumer, or the account's EventBridge destination: grantless calls), then
find or create the subscription with the type's payload version and processing directive (the
deployment's, its ``ProcessingDirectives`` output; ``--processing-directive`` overrides it for one
seller). Running it again changes nothing. Amazon cannot change a subscription: one whose
destination or processing directive is not the wanted one is left alone, and the answer says so.
Each subscription is also recorded in the seller directory, so notifications that carry no seller
id (vendors' reports) resolve to this seller's credentials.

The application's own notifications (its LWA client secret) are not a seller's: Amazon takes their
destination in the Developer Console (``sellerstream app-notifications``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sellerstream import catalog, processing_directives
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.config import SpApiSettings
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL
from sellerstream.spapi.errors import SpApiError
from sellerstream.spapi.notifications import NotificationsApi
from sellerstream_ops.errors import OperatorError, UsageError
from sellerstream_ops.outputs import StackOutputs

EVENTBRIDGE = "eventbridge"  # the name of the account's EventBridge destination
DIRECTIVE_OPTION = "--processing-directive"
PROCESSING_DIRECTIVE = "processingDirective"  # Amazon's name, in a subscription
UNSUBSCRIBE_FIRST = "Amazon cannot change a subscription (unsubscribe first)"


def directive_options(values: Sequence[str] | None) -> dict[str, object]:
    """``subscribe --processing-directive TYPE=JSON`` (repeatable) by type name, JSON parsed; null:
    no directive. Amazon's rules and the deployment's types are checked by ``Subscriptions.subscribe``."""
    parsed: dict[str, object] = {}
    for value in values or ():
        name, equals, text = value.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UsageError(
                f"{DIRECTIVE_OPTION} must read TYPE=JSON, e.g. "
                'TYPE=\'{"eventFilter": {"eventFilterType": "TYPE", ...}}\' (null: none)'
            )
        try:
            parsed_value = json.loads(text)
        except ValueError as error:
            raise UsageError(f"{DIRECTIVE_OPTION} {name[:60]}: not JSON ({error})") from None
        if name in parsed:
            raise UsageError(f"{DIRECTIVE_OPTION} {name[:60]} is given twice")
        parsed[name] = parsed_value
    return parsed


def destination_of(message_type: catalog.MessageType) -> str:
    """The destination a type is subscribed with: its consumer's kind (an SQS destination on that
    queue), or the EventBridge destination."""
    if message_type.transport is catalog.Transport.EVENTBRIDGE:
        return EVENTBRIDGE
    consumer = catalog.consumer_of(message_type.name)
    assert consumer is not None
    return consumer.kind


def spapi_client(
    settings: SpApiSettings, app: LwaCredentials, seller: SellerContext | None, region: Any = None
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
        self,
        outputs: StackOutputs,
        settings: SpApiSettings,
        seller_id: str,
        app: LwaCredentials | None = None,
    ) -> None:
        self._outputs = outputs
        self._seller_id = seller_id
        self._directory = AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
            secrets_cache_seconds=0,
        )
        seller = self._directory.for_seller(seller_id)
        self._api = NotificationsApi(
            spapi_client(
                settings,
                app or self._directory.lwa_app(),
                SellerContext(seller.seller_key, seller.refresh_token, seller.region),
            )
        )

    def subscribe(self, directives: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Destinations and subscriptions for every enabled type, each subscription with its wanted
        processing directive: ``directives`` (by type; None: none) over the deployment's."""
        wanted = self.wanted_directives(directives)
        destinations = self._ensure_destinations()
        actions: list[dict[str, Any]] = [
            {"destination": name, **detail} for name, detail in destinations.items()
        ]
        for message_type in self.enabled_types():
            subscription = message_type.subscription
            assert subscription is not None
            destination_id = destinations[destination_of(message_type)]["destinationId"]
            directive = wanted.get(message_type.name)
            existing = self._api.get_subscription(message_type.name)
            if existing is None:
                created = self._api.create_subscription(
                    message_type.name,
                    destination_id=destination_id,
                    payload_version=subscription.payload_version,
                    processing_directive=directive,
                )
                actions.append({"subscription": message_type.name, "action": "created", **created})
                self._route(created["subscriptionId"])
            elif existing.get("destinationId") != destination_id:
                actions.append(
                    {
                        "subscription": message_type.name,
                        "action": "left alone: it points at another destination (unsubscribe first)",
                        **existing,
                    }
                )
            else:
                # Its notifications come to this deployment whatever it filters: routed either way.
                self._route(existing["subscriptionId"])
                mismatch = directive_mismatch(message_type.name, existing, directive)
                if mismatch is None:
                    actions.append({"subscription": message_type.name, "action": "unchanged", **existing})
                else:
                    actions.append(
                        {
                            "subscription": message_type.name,
                            "action": f"left alone: its processing directive {mismatch}; {UNSUBSCRIBE_FIRST}",
                            **existing,
                            "wantedProcessingDirective": directive,
                        }
                    )
        return actions

    def wanted_directives(self, directives: Mapping[str, object] | None = None) -> dict[str, dict[str, Any]]:
        """The directive each enabled type is to be subscribed with: ``directives`` (a seller's own,
        checked here: ``UsageError``) over the deployment's; a type with none is left out."""
        types = frozenset(t.name for t in self.enabled_types())
        try:
            own = processing_directives.by_type(
                directives or {}, types, DIRECTIVE_OPTION, "the deployment's types (NotificationTypes)"
            )
        except ValueError as error:
            raise UsageError(str(error)) from None
        merged: dict[str, dict[str, Any] | None] = {**self.deployment_directives(), **own}
        return {name: directive for name, directive in merged.items() if directive is not None}

    def deployment_directives(self) -> dict[str, dict[str, Any]]:
        """The directive each enabled type is subscribed with: the stack's ``ProcessingDirectives``
        output (a type it leaves out: none); a stack from before the output: the catalog's."""
        types = frozenset(t.name for t in self.enabled_types())
        output = catalog.StackOutputs.PROCESSING_DIRECTIVES
        text = self._outputs.get(output)
        if text is None:
            return catalog.processing_directives(types)
        try:
            listed = json.loads(text)
            if not isinstance(listed, dict):
                raise ValueError("not a JSON object")
            checked = processing_directives.by_type(listed, types, output, "its NotificationTypes")
        except ValueError as error:
            raise OperatorError(
                f"the stack's {output} output cannot be read ({error}): deploy the current version (make deploy)"
            ) from None
        return {name: directive for name, directive in checked.items() if directive is not None}

    def enabled_types(self) -> tuple[catalog.MessageType, ...]:
        """The types the deployment takes (its ``NotificationTypes`` output; a stack from before
        the output: the types it has always taken)."""
        listed = self._outputs.get(catalog.StackOutputs.NOTIFICATION_TYPES)
        enabled = catalog.enabled_types(listed) if listed is not None else catalog.DEFAULT_NOTIFICATION_TYPES
        return tuple(t for t in catalog.subscribed_types() if t.name in enabled)

    def current(self) -> list[dict[str, Any]]:
        """Each enabled type's subscription (None: none) and its processing directive, checked
        against the deployment's."""
        deployment = self.deployment_directives()
        found = []
        for entry in self._subscriptions():
            subscription = entry["subscription"]
            entry[PROCESSING_DIRECTIVE] = (subscription or {}).get(PROCESSING_DIRECTIVE)
            if subscription is not None:
                wanted = deployment.get(entry["notificationType"])
                mismatch = directive_mismatch(entry["notificationType"], subscription, wanted)
                entry["processingDirectiveCheck"] = (
                    "as the deployment's" if mismatch is None else f"{mismatch} (the deployment's)"
                )
                if mismatch is not None:
                    entry["deploymentProcessingDirective"] = wanted
            found.append(entry)
        return found

    def route_existing(self) -> list[dict[str, Any]]:
        """Records the seller's existing subscriptions in the accounts table (none are created)."""
        routed = []
        for entry in self._subscriptions():
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

    def _subscriptions(self) -> list[dict[str, Any]]:
        return [
            {"notificationType": t.name, "subscription": self._api.get_subscription(t.name)}
            for t in self.enabled_types()
        ]

    def unsubscribe(self, *, delete_destinations: bool) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        for message_type in catalog.subscribed_types():
            existing = self._api.get_subscription(message_type.name)
            if existing is None:
                actions.append({"subscription": message_type.name, "action": "none"})
                continue
            self._api.delete_subscription(message_type.name, existing["subscriptionId"])
            actions.append({"subscription": message_type.name, "action": "deleted", **existing})
        if delete_destinations:
            wanted = self._wanted_resources()
            for destination in self._api.get_destinations():
                if any(_same_resource(destination["resource"], resource) for resource in wanted.values()):
                    self._api.delete_destination(destination["destinationId"])
                    actions.append({"destination": destination["name"], "action": "deleted"})
        return actions

    def _wanted_resources(self) -> dict[str, dict[str, Any]]:
        """Each destination the subscribed types need, in the order the catalog names them."""
        wanted: dict[str, dict[str, Any]] = {}
        for message_type in self.enabled_types():
            name = destination_of(message_type)
            if name == EVENTBRIDGE:
                wanted[name] = {}  # the account and region of the stack, filled in below
            else:
                wanted[name] = {"sqs": {"arn": self._outputs[catalog.consumer(name).outputs.queue_arn]}}
        if EVENTBRIDGE in wanted:
            # The stack's account and region, from any of its queues.
            queue_arn = next(
                arn for c in catalog.CONSUMERS if (arn := self._outputs.get(c.outputs.queue_arn)) is not None
            )
            _, _, _, region, account, _ = queue_arn.split(":", 5)
            wanted[EVENTBRIDGE] = {"eventBridge": {"region": region, "accountId": account}}
        return wanted

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
        self._directory.route_subscription(subscription_id, self._seller_id)


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


def _same_resource(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if "sqs" in wanted:
        return bool((existing.get("sqs") or {}).get("arn") == wanted["sqs"]["arn"])
    bridge, want = existing.get("eventBridge") or {}, wanted["eventBridge"]
    return bool(bridge.get("accountId") == want["accountId"] and bridge.get("region") == want["region"])
