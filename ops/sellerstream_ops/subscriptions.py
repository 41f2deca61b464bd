"""``sellerstream subscribe | subscriptions | unsubscribe``: wiring a deployed stack to SP-API.

For one seller, in every region it authorised (or the one ``--seller-region`` names), every type the
catalog subscribes: find or create the destination of each on that region's endpoint (the SQS queue
of the type's consumer, or the account's EventBridge destination: grantless calls), then find or
create the subscription with the type's payload version and processing directive (the deployment's,
its ``ProcessingDirectives`` output; ``--processing-directive`` overrides it for one seller).
Running it again changes nothing (``sellerstream.logic.subscriptions``, which the onboarding API
uses too). Each subscription is recorded in the seller directory with its region, so notifications
that carry no seller id (vendors' reports) or no marketplace resolve to that region's credentials.

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
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.logic.subscriptions import (
    EVENTBRIDGE,
    PROCESSING_DIRECTIVE,
    SellerSubscriber,
    WantedSubscription,
    destination_of,
    directive_mismatch,
    same_resource,
    wanted_subscriptions,
)
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.client import SellerContext, SpApiClient
from sellerstream.spapi.endpoints import LWA_TOKEN_URL, Region
from sellerstream.spapi.notifications import NotificationsApi
from sellerstream_ops.errors import OperatorError, UsageError
from sellerstream_ops.outputs import StackOutputs

DIRECTIVE_OPTION = "--processing-directive"
__all__ = ["EVENTBRIDGE", "Subscriptions", "destination_of", "directive_mismatch", "directive_options"]


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
        region: Region | None = None,
    ) -> None:
        self._outputs = outputs
        self._settings = settings
        self._seller_id = seller_id
        self._directory = AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
            secrets_cache_seconds=0,
        )
        self._app = app or self._directory.lwa_app()
        # The seller's regions (or the one asked for), each on its own endpoint with its own token.
        self._regions = (
            (self._directory.for_seller(seller_id, region),)
            if region is not None
            else self._directory.regions_of(seller_id)
        )
        self._apis: dict[Region, NotificationsApi] = {}
        self._subscriber = SellerSubscriber(self._directory, self._api)

    def _api(self, seller: SellerCredentials) -> NotificationsApi:
        if seller.region not in self._apis:
            self._apis[seller.region] = NotificationsApi(
                spapi_client(
                    self._settings,
                    self._app,
                    SellerContext(seller.seller_key, seller.refresh_token, seller.region),
                )
            )
        return self._apis[seller.region]

    def subscribe(self, directives: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Destinations and subscriptions for every enabled type in each of the seller's regions,
        each subscription with its wanted processing directive: ``directives`` (by type; None:
        none) over the deployment's."""
        wanted = self.wanted(directives)
        return [action for seller in self._regions for action in self._subscriber.subscribe(seller, wanted)]

    def wanted(self, directives: Mapping[str, object] | None = None) -> tuple[WantedSubscription, ...]:
        queue_arns = {
            c.kind: arn
            for c in catalog.CONSUMERS
            if (arn := self._outputs.get(c.outputs.queue_arn)) is not None
        }
        try:
            return wanted_subscriptions(self.enabled_types(), queue_arns, self.wanted_directives(directives))
        except ValueError as error:
            raise OperatorError(
                f"the stack's outputs lack a queue ({error}): deploy the current version"
            ) from None

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
        """Each enabled type's subscription in each region (None: none) and its processing
        directive, checked against the deployment's."""
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
        types = self.enabled_types()
        return [entry for seller in self._regions for entry in self._subscriber.route_existing(seller, types)]

    def _subscriptions(self) -> list[dict[str, Any]]:
        return [
            {
                "notificationType": t.name,
                "region": seller.region.name,
                "subscription": self._api(seller).get_subscription(t.name),
            }
            for seller in self._regions
            for t in self.enabled_types()
        ]

    def unsubscribe(self, *, delete_destinations: bool) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        resources = (
            {entry.destination: entry.resource for entry in self.wanted()} if delete_destinations else {}
        )
        for seller in self._regions:
            api = self._api(seller)
            region = {"region": seller.region.name}
            for message_type in catalog.subscribed_types():
                existing = api.get_subscription(message_type.name)
                if existing is None:
                    actions.append({"subscription": message_type.name, **region, "action": "none"})
                    continue
                api.delete_subscription(message_type.name, existing["subscriptionId"])
                actions.append({"subscription": message_type.name, **region, "action": "deleted", **existing})
            for destination in api.get_destinations() if delete_destinations else ():
                if any(same_resource(destination["resource"], resource) for resource in resources.values()):
                    api.delete_destination(destination["destinationId"])
                    actions.append({"destination": destination["name"], **region, "action": "deleted"})
        return actions
