"""Notifications API v1: destinations (grantless, per application) and subscriptions (per seller).

Amazon's model does not enumerate the notification types (its use case guide does): a subscription
is accepted for a type Amazon's notification schemas give an example of, with that example's
payload version.

A subscription's ``processingDirective`` is checked against the model itself (``ProcessingDirective``
and the definitions it refers to): no field the model lacks, every enumerated value one of its
values, ``eventFilter`` and ``filterExpression`` never together (their descriptions say so), an
``eventFilter`` only for a type the model lists as an ``eventFilterType`` and with that type as its
``eventFilterType``, marketplace ids Amazon's, one ``trackingIdentifier`` field. What the model does
not say is not invented: which of ``EventFilter``'s fields each filter type takes, and which types
take a ``filterExpression`` (whose CEL is not parsed). Stored as sent, and returned by
getSubscription and getSubscriptionById, as Amazon does.

Per SP-API region, as at Amazon: each regional endpoint (``/na``, ``/eu``, ``/fe``) has its own
destinations and subscriptions. A destination created on one region's endpoint is neither listed
nor found on another's, and a subscription names a destination of its own region; a subscription
is per (seller, region, notification type), each with its own id. An EventBridge destination
creates its region's partner event source: ``aws.partner/sellingpartnerapi.amazon.com/<account
id>/<name>`` in North America, the same with ``-eu`` or ``-fe`` after it in the other regions
(``partner_event_source``), so each region's source has a name of its own. A path without a
region prefix is North America's endpoint here (older callers and tests); ``destinations`` and
``subscriptions`` are North America's, ``destinations_in`` and ``subscriptions_in`` any region's.
"""

from __future__ import annotations

import json
import threading
import uuid
from functools import cache
from typing import Any, NoReturn

from sellerstream_local.emulator import vendored
from sellerstream_local.emulator.catalog import MARKETPLACES, REGIONS, region_name
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.notification_bodies import subscription_versions

SUBSCRIPTIONS = r"/notifications/v1/subscriptions/(?P<type>[A-Z_0-9]+)"
DESTINATIONS = r"/notifications/v1/destinations"
MODEL = "notifications.json"
PROCESSING_DIRECTIVE = "processingDirective"
PARTNER_EVENT_SOURCE_PREFIX = "aws.partner/sellingpartnerapi.amazon.com"
# The region a path without a prefix is served as (Amazon's first endpoint, as before regions).
UNPREFIXED_REGION = "na"


def partner_event_source(account_id: str, name: str, region: str = UNPREFIXED_REGION) -> str:
    """The partner event source an EventBridge destination ``name`` creates in ``account_id`` from
    the SP-API ``region`` (na, eu, fe; any case): North America's as it always was, the other
    regions' with the region after it, so that no two regions' sources share a name."""
    where = region_name(region)
    suffix = "" if where == UNPREFIXED_REGION else f"-{where}"
    return f"{PARTNER_EVENT_SOURCE_PREFIX}/{account_id}/{name}{suffix}"


class _Region:
    """One SP-API region's destinations (by id) and subscriptions (by seller and type)."""

    def __init__(self) -> None:
        self.destinations: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[tuple[str, str], dict[str, Any]] = {}  # (seller, type) -> subscription


class NotificationsApi:
    def __init__(self) -> None:
        self._regions = {region: _Region() for region in REGIONS}
        self._lock = threading.Lock()

    @property
    def destinations(self) -> dict[str, dict[str, Any]]:
        """North America's destinations by id (the unprefixed endpoint's)."""
        return self._regions[UNPREFIXED_REGION].destinations

    @property
    def subscriptions(self) -> dict[tuple[str, str], dict[str, Any]]:
        """North America's subscriptions by (seller id, notification type) (the unprefixed endpoint's)."""
        return self._regions[UNPREFIXED_REGION].subscriptions

    def destinations_in(self, region: str) -> dict[str, dict[str, Any]]:
        """A region's destinations by id (``region``: na, eu, fe; any case)."""
        return self._regions[region_name(region)].destinations

    def subscriptions_in(self, region: str) -> dict[tuple[str, str], dict[str, Any]]:
        """A region's subscriptions by (seller id, notification type) (``region``: na, eu, fe; any case)."""
        return self._regions[region_name(region)].subscriptions

    def _region(self, request: EmulatorRequest) -> tuple[str, _Region]:
        """The region whose endpoint was called (no prefix: North America) and its state."""
        name = request.region or UNPREFIXED_REGION
        return name, self._regions[name]

    def routes(self) -> list[Route]:
        return [
            Route("GET", DESTINATIONS, "getDestinations", self.get_destinations),
            Route("POST", DESTINATIONS, "createDestination", self.create_destination),
            Route("GET", DESTINATIONS + r"/(?P<id>[^/]+)", "getDestination", self.get_destination),
            Route("DELETE", DESTINATIONS + r"/(?P<id>[^/]+)", "deleteDestination", self.delete_destination),
            Route("GET", SUBSCRIPTIONS, "getSubscription", self.get_subscription),
            Route("POST", SUBSCRIPTIONS, "createSubscription", self.create_subscription),
            Route(
                "GET", SUBSCRIPTIONS + r"/(?P<id>[^/]+)", "getSubscriptionById", self.get_subscription_by_id
            ),
            Route(
                "DELETE",
                SUBSCRIPTIONS + r"/(?P<id>[^/]+)",
                "deleteSubscriptionById",
                self.delete_subscription,
            ),
        ]

    # -- destinations ----------------------------------------------------------------------------
    def get_destinations(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        _, region = self._region(request)
        with self._lock:
            return Reply(200, {"payload": list(region.destinations.values())})

    def create_destination(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        body = _json(request)
        name, specification = body.get("name"), body.get("resourceSpecification") or {}
        if not name or not (specification.get("sqs") or specification.get("eventBridge")):
            raise ApiError(
                400, "InvalidInput", "name and resourceSpecification (sqs or eventBridge) are required"
            )
        where, region = self._region(request)
        if "sqs" in specification:
            resource: dict[str, Any] = {"sqs": {"arn": specification["sqs"]["arn"]}}
        else:
            bridge = specification["eventBridge"]
            source = partner_event_source(bridge["accountId"], name, where)
            resource = {
                "eventBridge": {"name": source, "region": bridge["region"], "accountId": bridge["accountId"]}
            }
        with self._lock:
            for existing in region.destinations.values():
                if _same_resource(existing["resource"], resource):
                    raise ApiError(409, "Conflict", "A destination with the same resource already exists.")
            destination = {"name": name, "destinationId": str(uuid.uuid4()), "resource": resource}
            region.destinations[destination["destinationId"]] = destination
        return Reply(200, {"payload": destination})

    def get_destination(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        _, region = self._region(request)
        with self._lock:
            destination = region.destinations.get(request.path_params["id"])
        if destination is None:
            raise ApiError(404, "NotFound", "Destination not found.")
        return Reply(200, {"payload": destination})

    def delete_destination(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        _, region = self._region(request)
        with self._lock:
            if region.destinations.pop(request.path_params["id"], None) is None:
                raise ApiError(404, "NotFound", "Destination not found.")
        return Reply(200, {})

    # -- subscriptions ---------------------------------------------------------------------------
    def get_subscription(self, request: EmulatorRequest) -> Reply:
        _, region = self._region(request)
        with self._lock:
            subscription = region.subscriptions.get((request.caller, request.path_params["type"]))
        if subscription is None:
            raise ApiError(404, "NotFound", "Subscription not found.")
        return Reply(200, {"payload": subscription})

    def create_subscription(self, request: EmulatorRequest) -> Reply:
        if request.caller == "grantless":
            raise ApiError(403, "Unauthorized", "createSubscription needs the seller's authorization.")
        body = _json(request)
        notification_type = request.path_params["type"]
        key = (request.caller, notification_type)
        versions = subscription_versions().get(notification_type)
        if versions is None:
            raise ApiError(400, "InvalidInput", f"Unsupported notificationType {notification_type}.")
        if body.get("payloadVersion") not in versions:
            raise ApiError(
                400,
                "InvalidInput",
                f"payloadVersion must be {' or '.join(sorted(versions))} for {notification_type}.",
            )
        directive = processing_directive(notification_type, body.get(PROCESSING_DIRECTIVE))
        _, region = self._region(request)
        with self._lock:
            # A destination of this region's endpoint only: another region's is unknown here.
            if body.get("destinationId") not in region.destinations:
                raise ApiError(400, "InvalidInput", "Unknown destinationId.")
            if key in region.subscriptions:
                raise ApiError(409, "Conflict", "A subscription for this notification type already exists.")
            subscription = {
                "subscriptionId": str(uuid.uuid4()),
                "payloadVersion": body["payloadVersion"],
                "destinationId": body["destinationId"],
            }
            if directive is not None:
                subscription[PROCESSING_DIRECTIVE] = directive
            region.subscriptions[key] = subscription
        return Reply(200, {"payload": subscription})

    def get_subscription_by_id(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        subscription = self._by_id(request, request.path_params["type"], request.path_params["id"])
        if subscription is None:
            raise ApiError(404, "NotFound", "Subscription not found.")
        return Reply(200, {"payload": subscription[1]})

    def delete_subscription(self, request: EmulatorRequest) -> Reply:
        _require_grantless(request)
        found = self._by_id(request, request.path_params["type"], request.path_params["id"])
        if found is None:
            raise ApiError(404, "NotFound", "Subscription not found.")
        _, region = self._region(request)
        with self._lock:
            region.subscriptions.pop(found[0], None)
        return Reply(200, {})

    def _by_id(
        self, request: EmulatorRequest, notification_type: str, subscription_id: str
    ) -> tuple[tuple[str, str], dict[str, Any]] | None:
        """The subscription of that type and id on the region's endpoint (another region's: none)."""
        _, region = self._region(request)
        with self._lock:
            for key, subscription in region.subscriptions.items():
                if key[1] == notification_type and subscription["subscriptionId"] == subscription_id:
                    return key, subscription
        return None


def processing_directive(notification_type: str, directive: Any) -> dict[str, Any] | None:
    """A createSubscription's ``processingDirective`` as the model takes it for ``notification_type``
    (None: none given, or an empty one); else 400 InvalidInput naming what is wrong."""
    if directive is None or directive == {}:
        return None
    where = PROCESSING_DIRECTIVE
    _conform(directive, {"$ref": "#/definitions/ProcessingDirective"}, where)
    if "eventFilter" in directive and "filterExpression" in directive:
        _invalid(f"{where}: eventFilter and filterExpression are mutually exclusive.")
    event_filter = directive.get("eventFilter")
    if event_filter is not None:
        filter_types = _event_filter_types()
        if notification_type not in filter_types:
            _invalid(
                f"{where}.eventFilter is not supported for notificationType {notification_type} "
                f"(eventFilterType is one of {', '.join(filter_types)})."
            )
        if event_filter["eventFilterType"] != notification_type:
            _invalid(
                f"{where}.eventFilter.eventFilterType {event_filter['eventFilterType']} does not match "
                f"notificationType {notification_type}."
            )
        unknown = sorted(set(event_filter.get("marketplaceIds") or ()) - set(MARKETPLACES))
        if unknown:
            _invalid(f"{where}.eventFilter.marketplaceIds: invalid marketplaceId {', '.join(unknown)}.")
        tracking = event_filter.get("trackingIdentifier")
        if tracking is not None and len(tracking) != 1:
            _invalid(f"{where}.eventFilter.trackingIdentifier: provide exactly one identifier field.")
    return dict(directive)


@cache
def _definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = vendored.model(MODEL)["definitions"]
    return definitions


def _event_filter_types() -> tuple[str, ...]:
    """The model's ``eventFilterType`` values: the types that take an ``eventFilter``."""
    return tuple(_object(_definitions()["EventFilter"])["properties"]["eventFilterType"]["enum"])


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _definitions()[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its ``allOf`` parts merged into one object's properties and required fields."""
    schema = _resolved(schema)
    if "allOf" not in schema:
        return schema
    parts = [_object(part) for part in schema["allOf"]]
    return {
        "type": "object",
        "properties": {name: value for part in parts for name, value in part.get("properties", {}).items()},
        "required": [name for part in parts for name in part.get("required", ())],
    }


def _conform(value: Any, schema: dict[str, Any], where: str) -> None:
    """``value`` as the model's ``schema`` describes it, strictly: no field the model does not name."""
    schema = _object(schema)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        if not isinstance(value, dict):
            _invalid(f"{where} must be an object.")
        properties = schema.get("properties", {})
        unknown = sorted(str(name)[:60] for name in value if name not in properties)
        if unknown:
            _invalid(f"{where}: unknown field {', '.join(unknown)} (the model's: {', '.join(properties)}).")
        missing = [name for name in schema.get("required", ()) if name not in value]
        if missing:
            _invalid(f"{where}: {', '.join(missing)} is required.")
        for name, item in value.items():
            _conform(item, properties[name], f"{where}.{name}")
    elif kind == "array":
        if not isinstance(value, list):
            _invalid(f"{where} must be an array.")
        for index, item in enumerate(value):
            _conform(item, schema.get("items", {}), f"{where}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            _invalid(f"{where} must be a string.")
        if "enum" in schema and value not in schema["enum"]:
            _invalid(f"{where}: {value[:60]!r} is not one of {', '.join(schema['enum'])}.")
        shortest, longest = schema.get("minLength", 0), schema.get("maxLength")
        if len(value) < shortest or (longest is not None and len(value) > longest):
            _invalid(f"{where} must be {shortest} to {longest or 'any number of'} characters long.")


def _invalid(message: str) -> NoReturn:
    raise ApiError(400, "InvalidInput", message)


def _require_grantless(request: EmulatorRequest) -> None:
    if request.caller != "grantless":
        raise ApiError(403, "Unauthorized", "This operation is grantless: use a client-credentials token.")


def _json(request: EmulatorRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "InvalidInput", "Request body is not JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidInput", "Request body must be an object.")
    return body


def _same_resource(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    if "sqs" in existing and "sqs" in new:
        return bool(existing["sqs"]["arn"] == new["sqs"]["arn"])
    if "eventBridge" in existing and "eventBridge" in new:
        old, fresh = existing["eventBridge"], new["eventBridge"]
        return bool(old["accountId"] == fresh["accountId"] and old["region"] == fresh["region"])
    return False
