"""The whole pipeline on one machine: moto for AWS, the SP-API emulator, the real handler, a poller.

Used by the demo, ``sellerstream replay``, the integration tests and the benchmarks. Entering a
``LocalPipeline`` sets the same environment variables the stack gives the function, starts moto
in-process and the emulator on loopback, and creates the stack's resources; leaving restores it all.

SP-API is called at the emulator's regional endpoints (``<emulator>/na``, ``/eu``, ``/fe``: the
functions' endpoint override names ``{region}``), each seller with its refresh token of the region.
A seller gets local credentials in a region (``provision_seller``), or authorises the local
application there through the product's onboarding API (``authorize_seller``: the real onboarding
function's login URI, the emulator's consent page, its redirect URI, where the function exchanges
the code, stores the region's refresh token and subscribes the seller there).

Changes flow out as deployed: the tables' change streams are read by a local event source mapping
(``streams.LocalStreamPoller``) into the real change-events publisher, which puts SellerStream's
events on the local bus; a rule delivers every one to the events sink queue, which
``delivered_events`` reads as a subscriber would. ``drain`` runs the streams too.
"""

from __future__ import annotations

import contextlib
import html
import importlib
import io
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto import mock_aws

from sellerstream import catalog
from sellerstream.spapi.endpoints import Region
from sellerstream_local.emulator import Faults, SpApiEmulator
from sellerstream_local.moto_patches import faithful_streams, faster_moto
from sellerstream_local.poller import (
    LocalLambdaContext,
    LocalPoller,
    PollerStats,
    combine,
    difference,
    function_environment,
    snapshot,
)
from sellerstream_local.resources import LOCAL_EVENT_SOURCE, LocalResources, create_resources
from sellerstream_local.runtime_reset import reset_runtime
from sellerstream_local.streams import LocalStreamPoller, StreamStats, stream_sources
from stacks import constants
from stacks.event_destinations import EventsOutputs

if TYPE_CHECKING:
    from sellerstream.adapters.sellers import AwsSellerDirectory
    from sellerstream.logic.batch import BatchResult, RecordOutcome

LOCAL_REGION = "us-east-1"
LWA_CLIENT_ID = "amzn1.application-oa2-client.local"
LWA_CLIENT_SECRET = "local-client-secret"  # noqa: S105 - a fixed credential of the local emulator
# The local SP-API application sellers authorise (a draft: its consent page needs version=beta),
# and the local onboarding API (the onboarding function behind an HTTP API's default stage) whose
# redirect URI the application registered: nothing listens on the domain, each GET the seller's
# browser makes there is given to the function as API Gateway's event (``onboarding_event``).
LOCAL_APPLICATION_ID = "amzn1.sp.solution.5e11e757-10ca-4000-8000-000000000001"
LOCAL_ONBOARDING_DOMAIN = f"sellerstream-local.execute-api.{LOCAL_REGION}.amazonaws.com"
LOGIN_ROUTE, REDIRECT_ROUTE = "login", "redirect"
LOCAL_REDIRECT_URI = f"https://{LOCAL_ONBOARDING_DOMAIN}/{REDIRECT_ROUTE}"
LOCAL_ONBOARDING_FUNCTION = "sellerstream-local-onboarding"


@dataclass(frozen=True)
class DeadLetter:
    """A message in a DLQ. ``message_id`` is the message Amazon's delivery arrived as (a copy
    dead-lettered at once names it in an attribute; SQS's redrive keeps the id)."""

    message_id: str
    body: str
    notification_id: str | None
    reason: str
    detail: str
    notification_type: str | None = None
    seller_id: str | None = None


class PublishRefused(Exception):
    """SQS or EventBridge refused a body (too large, characters SQS does not allow, ...)."""


class _Discard(io.StringIO):
    """Swallows the function's output when nobody asked to keep it (the demo keeps it in a file)."""

    def write(self, text: str) -> int:
        return len(text)


# SQS accepts only these characters in a body (its SendMessage reference); moto does not check.
_SQS_REFUSED_CHARACTERS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class PipelineOutcomes:
    """What became of every record the handlers took, from the outcomes they return: reasons by SQS
    message id, counts of outcomes, and each message's fate (with the message it is a copy of)."""

    def __init__(self) -> None:
        self.failures_by_message: dict[str, dict[str, Any]] = {}
        self.counts: Counter[str] = Counter()
        self.fate_by_message: dict[str, str] = {}
        self.source_by_message: dict[str, str] = {}
        self.notification_by_message: dict[str, str] = {}

    def record(self, result: BatchResult) -> None:
        for outcome in result.outcomes:
            self.add(outcome)

    def add(self, outcome: RecordOutcome) -> None:
        from sellerstream.logic import batch  # noqa: PLC0415 - after the environment is set

        message_id = outcome.message_id
        if outcome.reason:
            self.failures_by_message[message_id] = {
                "reason": outcome.reason,
                "detail": outcome.detail or "",
                "notification_id": outcome.notification_id,
                "notification_type": outcome.notification_type,
                "seller_id": outcome.seller_id,
            }
        throttled = outcome.outcome == batch.DEFERRED and outcome.reason in batch.THROTTLED_REASONS
        self.fate_by_message[message_id] = {
            batch.APPLIED: "succeeded",
            batch.DUPLICATE: "duplicate",
            batch.DEAD_LETTERED: "dead_lettered",
            batch.PARKED: "parked",
        }.get(outcome.outcome, "deferred" if throttled else "failed")
        if outcome.source_message_id != message_id:
            self.source_by_message[message_id] = outcome.source_message_id
        if outcome.notification_id:
            self.notification_by_message[message_id] = outcome.notification_id
        if throttled:
            self.counts["deferred"] += 1
            if outcome.reason == "NotReadyError":
                self.counts["deferred_not_ready"] += 1
        elif outcome.outcome == batch.DEAD_LETTERED:
            self.counts["dead_lettered"] += 1
        elif outcome.outcome == batch.PARKED:
            self.counts["parked"] += 1
        elif outcome.outcome == batch.APPLIED and outcome.result is not None:
            self.counts[str(outcome.result.get("outcome"))] += 1
        elif outcome.outcome == batch.DUPLICATE:
            self.counts["duplicate"] += 1


# Where a body goes by its notification type (the catalog's consumer); anything unreadable goes to
# the orders queue.
DEFAULT_KIND = "orders"
# The local stand-in of the stack's hourly schedule rule (it only names itself in the event).
LOCAL_EXPIRY_CHECK_RULE = "arn:aws:events:us-east-1:123456789012:rule/sellerstream-local-expiry-check"
# The name the reconcile function has in local mode's stack outputs.
LOCAL_RECONCILE_FUNCTION = "sellerstream-local-reconcile"
LOCAL_CHANGE_EVENTS_FUNCTION = "sellerstream-local-change-events"
# EventBridge's fields of an event as a target receives it (moto adds one of its own).
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class LocalPipeline:
    def __init__(
        self,
        *,
        emulator_time_scale: float = 1.0,
        visibility_timeout_seconds: int = 1,
        orders_api_version: str = "2026-01-01",
        seed: int = 0,
        faults: Faults | None = None,
        log_stream: IO[str] | None = None,
        settings: dict[str, object] | None = None,
        notification_types: frozenset[str] | None = None,
    ) -> None:
        self._visibility = visibility_timeout_seconds
        # Local mode takes every type unless told otherwise (a deployment names its own).
        self.notification_types = notification_types or catalog.enabled_types("all")
        self._orders_api_version = orders_api_version
        # Settings by name that differ from the stack's (e.g. a row limit per invocation).
        self._settings = settings or {}
        known = {name for function in _functions() for name in function.settings.fields()}
        unknown = sorted(set(self._settings) - known)
        if unknown:
            raise ValueError(f"no function has the settings {', '.join(unknown)}")
        # The function's stdout (JSON logs, EMF metrics), as CloudWatch Logs would receive it.
        self._function_output: IO[str] = log_stream or _Discard()
        self.emulator = SpApiEmulator(time_scale=emulator_time_scale, seed=seed, faults=faults)
        self.outcomes = PipelineOutcomes()
        self._saved_environ: dict[str, str] = {}
        self._mock = mock_aws()
        # moto's SQS clock and DynamoDB transaction snapshots cost time per message / item held.
        self._faster_moto = faster_moto()
        # One change stream record per write that changed an item, as DynamoDB writes them.
        self._faithful_streams = faithful_streams()
        self.resources: LocalResources
        self.sqs: Any = None
        self.dynamodb: Any = None
        self.secrets: Any = None
        self.s3: Any = None
        self.events: Any = None
        self.streams: Any = None
        self.sellers: set[str] = set()
        # The regions each seller has credentials in (NA, EU, FE), in the order they were given.
        self.seller_regions: dict[str, list[str]] = {}
        self.pollers: dict[str, LocalPoller] = {}
        self._stream_poller: LocalStreamPoller | None = None
        # Every event the sink queue delivered, in delivery order (``delivered_events``).
        self._delivered: list[dict[str, Any]] = []
        # SQS message id -> the EventBridge event id it delivers (listings arrive through the bus).
        self.eventbridge_event_ids: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalPipeline:
        self._saved_environ = dict(os.environ)
        self.emulator.start()
        self.emulator.register_app(
            LWA_CLIENT_ID,
            LWA_CLIENT_SECRET,
            application_id=LOCAL_APPLICATION_ID,
            redirect_uris=(LOCAL_REDIRECT_URI,),
            draft=True,
        )
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(variable, None)
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_REGION": LOCAL_REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        )
        self._mock.start()
        self._faster_moto.__enter__()
        self._faithful_streams.__enter__()
        self.sqs = boto3.client("sqs", region_name=LOCAL_REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION)
        self.secrets = boto3.client("secretsmanager", region_name=LOCAL_REGION)
        self.s3 = boto3.client("s3", region_name=LOCAL_REGION)
        self.events = boto3.client("events", region_name=LOCAL_REGION)
        # botocore now sends DynamoDB Streams calls to an account-based endpoint that moto does not
        # serve; the regional endpoint is the same API.
        self.streams = boto3.client(
            "dynamodbstreams", region_name=LOCAL_REGION, config=Config(account_id_endpoint_mode="disabled")
        )
        self.resources = create_resources(self.sqs, self.dynamodb, self.s3, self.events, self._visibility)
        # The Developer Console step: the app's client-secret notifications go to their queue.
        for message_type in catalog.message_types():
            if message_type.transport is catalog.Transport.SQS and message_type.subscription is None:
                self.emulator.register_app_notifications(message_type.name, self._deliver)
        # Sellers' ORDER_CHANGE subscriptions: the emulator's own changes (a confirmed shipment) arrive.
        self.emulator.register_order_notifications(self._deliver)
        os.environ.update(self._environment())
        os.environ.update(self._shared_function_environment())
        self.secrets.create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps({"client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}),
        )
        reset_runtime()
        self._attach_logging()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._detach_logging()
        self._faithful_streams.__exit__(None, None, None)
        self._faster_moto.__exit__(None, None, None)
        self._mock.stop()
        self.emulator.stop()
        reset_runtime()
        os.environ.clear()
        os.environ.update(self._saved_environ)

    def _environment(self) -> dict[str, str]:
        """What the stack gives every function, pointing at moto and the emulator (each consumer's
        own queue and DLQ are set when it runs: ``function_environment``)."""
        return {
            "POWERTOOLS_SERVICE_NAME": "sellerstream-local",
            "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_LAMBDA_FUNCTION_NAME": "sellerstream-local",
        }

    def _shared_function_environment(self) -> dict[str, str]:
        """The variables every function shares (names, the emulator's endpoints), for code this
        process runs outside a function (the operator's commands); a consumer's own queues are set
        when it runs."""
        shared: dict[str, str] = {}
        for function in _functions():
            shared.update(self.function_environment(function))
        own = catalog.consumer("orders").settings.fields()
        for name in ("queue_url", "dead_letter_queue_url"):
            shared.pop(own[name].variable, None)
        return shared

    def settings_values(self) -> dict[str, object]:
        """Every value the stack gives a function, by setting name, for the local resources."""
        return {
            **{f"{role}_table_name": name for role, name in self.resources.tables.items()},
            "reports_bucket_name": self.resources.reports_bucket,
            "events_bus_name": self.resources.change_events.bus_name,
            "events_dead_letter_queue_url": self.resources.change_events.dead_letter_queue_url,
            "lwa_app_secret_id": constants.LWA_APP_SECRET_NAME,
            "seller_secret_prefix": constants.SELLER_SECRET_PREFIX,
            "orders_api_version": self._orders_api_version,
            # Each region's endpoint (the client replaces {region} by na, eu or fe).
            "spapi_endpoint_override": self.spapi_endpoint,
            "seller_central_url_override": f"{self.emulator.base_url}/{{region}}",
            "spapi_application_id": LOCAL_APPLICATION_ID,
            "onboarding_draft_app": True,
            "lwa_endpoint_override": self.emulator.lwa_token_url,
            "max_receive_count": catalog.MAX_RECEIVE_COUNT,
            # Scaled down like the visibility timeout: a deferred record returns within seconds.
            "throttle_deferral_base_seconds": 1,
            "notification_types": self.notification_types,
        }

    @property
    def spapi_endpoint(self) -> str:
        """The endpoint override local mode gives the functions: the emulator's regional paths."""
        return f"{self.emulator.base_url}/{{region}}"

    def function_environment(
        self, function: catalog.Consumer | catalog.Job | catalog.Publisher
    ) -> dict[str, str]:
        """One function's variables, rendered from its settings class as the stack renders them."""
        values = {**self.settings_values(), **self._settings}
        if isinstance(function, catalog.Consumer):
            queue = self.resources.queues[function.kind]
            values.update(queue_url=queue.url, dead_letter_queue_url=queue.dlq_url)
        return function.settings.environment(values)

    def _attach_logging(self) -> None:
        from sellerstream.observability import logger  # noqa: PLC0415 - after the environment is set

        handler = logger.logger_handler
        if isinstance(handler, logging.StreamHandler):
            self._previous_stream = handler.setStream(self._function_output)

    def _detach_logging(self) -> None:
        from sellerstream.observability import logger  # noqa: PLC0415

        handler = logger.logger_handler
        if isinstance(handler, logging.StreamHandler) and getattr(self, "_previous_stream", None) is not None:
            handler.setStream(self._previous_stream)

    # -- provisioning ----------------------------------------------------------------------------
    def provision_seller(
        self,
        seller_id: str,
        *,
        subscription_ids: tuple[str, ...] = (),
        region: str | None = None,
        marketplaces: tuple[str, ...] = (),
    ) -> None:
        """Gives a seller local credentials (secret + emulator) in ``region`` (NA, EU, FE; None: NA
        for a seller that has none yet, else nothing new), keeping those of its other regions, and
        routes its subscriptions to it; ``marketplaces``: where the emulator says it lists (default:
        the US)."""
        wanted = region.upper() if region is not None else None
        if wanted is None and not self.seller_regions.get(seller_id):
            wanted = "NA"
        if wanted is not None and wanted not in self.seller_regions.get(seller_id, []):
            # One refresh token per region, as Amazon issues them (the first keeps its old name).
            suffix = "" if not self.seller_regions.get(seller_id) else f"-{wanted.lower()}"
            self._save_credentials(seller_id, wanted, f"Atzr|local-{seller_id}{suffix}")
        if marketplaces:
            self.emulator.set_marketplaces(seller_id, list(marketplaces))
        for subscription_id in subscription_ids:
            self.seller_directory().route_subscription(subscription_id, seller_id)

    def authorize_seller(
        self, seller_id: str, region: str, *, notification_types: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """The seller authorises the local application in ``region`` (NA, EU, FE) through the
        product's onboarding API, as a seller onboarding would: the real onboarding function
        (``sellerstream.handlers.onboarding``) answers ``GET /login?region=<R>`` of the local API
        (``LOCAL_ONBOARDING_DOMAIN``) with a 302 to the region's Seller Central consent page (the
        emulator's; the seller signed in there, the application a draft: ``version=beta``); the
        page sends the browser back to the API's redirect URI with ``state``,
        ``selling_partner_id`` and ``spapi_oauth_code``, and ``GET /redirect`` with that query
        exchanges the code at LWA, stores the region's refresh token (the seller's other regions
        kept), records its marketplaces and subscribes it there to ``notification_types`` (None:
        every type local mode takes; each type costs two calls at Amazon's one a second) on the
        local queues and EventBridge destination. Its answer page (200) means stored.

        The function runs with the environment the stack would give it (``onboarding_environment``),
        set for these two invocations only and then restored, its use case built from it and
        forgotten afterwards, so no other function local mode runs in this process sees either.
        Returns what the workflow did, without the code or any token: ``region``,
        ``selling_partner_id``, ``login_uri``, ``redirect_uri``, ``status`` (the answer page's),
        ``complete`` (no step of the page failed) and ``subscriptions`` (the types the seller is
        subscribed to in the region)."""
        from sellerstream.handlers.onboarding import lambda_handler  # noqa: PLC0415 - after the environment
        from sellerstream.wiring import onboarding  # noqa: PLC0415

        name = Region[region.upper()].name  # NA, EU or FE (else KeyError, before anything is done)
        self.emulator.sign_in_for_consent(seller_id, name)
        environment = self.onboarding_environment(notification_types)

        def invoke(route: str, query: str) -> dict[str, Any]:
            context = LocalLambdaContext(LOCAL_ONBOARDING_FUNCTION, catalog.ONBOARDING.sizing.timeout_seconds)
            answer: dict[str, Any] = lambda_handler(onboarding_event(route, query), context)  # type: ignore[arg-type]
            return answer

        # Like Lambda, whatever the function prints (EMF metrics, warnings) goes to its log.
        with (
            contextlib.redirect_stdout(self._function_output),
            contextlib.redirect_stderr(self._function_output),
            function_environment(environment),
        ):
            # Built from this environment on the first invocation, forgotten after the last.
            onboarding.use_case.cache_clear()
            try:
                login = invoke(LOGIN_ROUTE, urllib.parse.urlencode({"region": name}))
                if login["statusCode"] != HTTPStatus.FOUND:
                    raise RuntimeError(f"the login URI answered {login['statusCode']}, not a redirect")
                status, location = _redirect_of(login["headers"]["location"])
                if status != HTTPStatus.FOUND or not location.startswith(LOCAL_REDIRECT_URI + "?"):
                    raise RuntimeError(f"the consent page answered {status}, not a redirect to the API")
                query = urllib.parse.urlsplit(location).query
                if dict(urllib.parse.parse_qsl(query)).get("selling_partner_id") != seller_id:
                    raise RuntimeError("the consent page's redirect names another seller")
                page = invoke(REDIRECT_ROUTE, query)
            finally:
                onboarding.use_case.cache_clear()
        if page["statusCode"] != HTTPStatus.OK:
            raise RuntimeError(
                f"the redirect URI answered {page['statusCode']} ({_page_title(page['body'])}): not stored"
            )
        self._note_region(seller_id, name)
        subscribed = self.emulator.notifications.subscriptions_in(name)
        return {
            "region": name,
            "selling_partner_id": seller_id,
            "login_uri": f"https://{LOCAL_ONBOARDING_DOMAIN}/{LOGIN_ROUTE}?region={name}",
            "redirect_uri": LOCAL_REDIRECT_URI,
            "status": page["statusCode"],
            "complete": "step failed" not in page["body"],
            "subscriptions": sorted(kind for seller, kind in subscribed if seller == seller_id),
        }

    def onboarding_environment(self, notification_types: frozenset[str] | None = None) -> dict[str, str]:
        """The onboarding function's variables as the stack renders them, on the local resources:
        the local application (a draft), the emulator's regional consent pages and endpoints, the
        types a new (seller, region) is subscribed to (None: every type local mode takes) and each
        consumer's queue as its destination."""
        from sellerstream.config import OnboardingSettings  # noqa: PLC0415 - after the environment

        return OnboardingSettings.environment(
            {
                **self.settings_values(),
                "spapi_application_id": LOCAL_APPLICATION_ID,
                "onboarding_draft_app": True,
                "seller_central_url_override": f"{self.emulator.base_url}/{{region}}",
                "spapi_endpoint_override": self.spapi_endpoint,
                "notification_types": notification_types or self.notification_types,
                "subscription_destinations": {
                    kind: queue.arn for kind, queue in self.resources.queues.items()
                },
            }
        )

    def _save_credentials(self, seller_id: str, region: str, refresh_token: str) -> None:
        """The seller's refresh token of ``region`` in the seller directory and the emulator's."""
        self.seller_directory().save_seller(seller_id, refresh_token=refresh_token, region=Region[region])
        self.emulator.register_seller(seller_id, refresh_token, region)
        self._note_region(seller_id, region)

    def _note_region(self, seller_id: str, region: str) -> None:
        """The seller has credentials in ``region`` (NA, EU, FE) now."""
        self.sellers.add(seller_id)
        regions = self.seller_regions.setdefault(seller_id, [])
        if region not in regions:
            regions.append(region)

    # -- traffic ---------------------------------------------------------------------------------
    def publish(self, body: str) -> str:
        """Delivers a body the way Amazon would: SQS for orders and reports, EventBridge for listings;
        a shipment request goes to the fulfillment queue, as the seller's systems send it.

        Returns the SQS message id (for a listings notification, the id EventBridge's put got).
        Raises ``PublishRefused`` when SQS or EventBridge would not take the body.
        """
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        if _SQS_REFUSED_CHARACTERS.search(body):
            raise PublishRefused("the body holds characters SQS does not accept (control characters)")
        kind, document, is_eventbridge_event = route(body)
        try:
            if document is not None and not is_eventbridge_event and _through_eventbridge(document):
                return self._put_event(document)
            queue = self.resources.queues[kind]
            return str(self.sqs.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"])
        except (ClientError, BotoCoreError, ValueError, RecursionError) as error:
            raise PublishRefused(f"{type(error).__name__}: {str(error)[:200]}") from None

    def _deliver(self, body: str) -> None:
        """What Amazon sends of its own accord (a confirmed shipment's ORDER_CHANGE, a new secret)."""
        self.publish(body)

    def run_secret_expiry_check(self, at: datetime | None = None) -> str:
        """What the stack's hourly schedule does: a Scheduled Event on the app queue."""
        from sellerstream_local.notifications_factory import scheduled_event  # noqa: PLC0415

        body = json.dumps(scheduled_event(at=at or datetime.now(UTC), rule_arn=LOCAL_EXPIRY_CHECK_RULE))
        [consumer] = [c for c in catalog.CONSUMERS if catalog.Transport.SCHEDULE in c.transports]
        queue_url = self.resources.queues[consumer.kind].url
        return str(self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])

    def rotate_app_secret(self) -> None:
        """What ``sellerstream rotate-app-secret`` does: Amazon's grantless rotation, with the app
        credentials the LWA app secret holds now (the new secret then arrives on the app queue)."""
        from sellerstream.spapi.applications import ApplicationsApi  # noqa: PLC0415
        from sellerstream.spapi.auth import LwaCredentials  # noqa: PLC0415
        from sellerstream.spapi.client import SpApiClient  # noqa: PLC0415

        current = json.loads(
            self.secrets.get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)["SecretString"]
        )
        client = SpApiClient(
            credentials=LwaCredentials(current["client_id"], current["client_secret"]),
            seller=None,
            base_url_override=self.spapi_endpoint,
            lwa_token_url=self.emulator.lwa_token_url,
        )
        ApplicationsApi(client).rotate_client_secret()

    def _put_event(self, document: dict[str, Any]) -> str:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": LOCAL_EVENT_SOURCE,
                    "DetailType": str(document.get("NotificationType"))[:128],
                    "Detail": json.dumps(document),
                    "EventBusName": self.resources.event_bus,
                }
            ]
        )
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or not entry.get("EventId"):
            raise PublishRefused(f"EventBridge refused the event: {entry.get('ErrorCode', 'no event id')}")
        return str(entry["EventId"])

    def _observe(self, message: dict[str, Any]) -> None:
        """Notes which EventBridge event an SQS message delivers, to trace it back to its publish."""
        event_id = _eventbridge_event_id(message.get("Body", ""))
        if event_id:
            self.eventbridge_event_ids[message["MessageId"]] = event_id

    def poller(self, kind: str) -> LocalPoller:
        """The local event source mapping for one queue (created once, so its statistics add up)."""
        if kind not in self.pollers:
            consumer = catalog.consumer(kind)
            module, _, name = consumer.handler.rpartition(".")
            handler = getattr(importlib.import_module(module), name)
            self.pollers[kind] = LocalPoller(
                self.sqs,
                self.resources.queues[kind],
                handler,
                function_name=f"sellerstream-local-{kind}",
                batch_size=consumer.sizing.batch_size,
                timeout_seconds=consumer.sizing.timeout_seconds,
                output=self._function_output,
                environment=self.function_environment(consumer),
                on_receive=self._observe,
                on_result=self.outcomes.record,
            )
        return self.pollers[kind]

    def seller_directory(self) -> AwsSellerDirectory:
        """The seller directory the functions use, on the local resources."""
        from sellerstream.adapters.sellers import AwsSellerDirectory  # noqa: PLC0415 - after the environment

        return AwsSellerDirectory(
            accounts_table=self.resources.tables["accounts"],
            app_secret_id=constants.LWA_APP_SECRET_NAME,
            seller_secret_prefix=constants.SELLER_SECRET_PREFIX,
            secrets_cache_seconds=0,
        )

    def order_change_poller(self) -> LocalPoller:
        return self.poller("orders")

    def drain(self, poller: LocalPoller | None = None, *, max_seconds: float = 300.0) -> PollerStats:
        """Runs the pollers until every queue is empty and the change streams are read to their end
        (the events of what was stored are published); returns the combined statistics of this run
        (the queues' consumers; ``change_events_poller().stats`` counts the streams' side)."""
        pollers = [poller] if poller else [self.poller(consumer.kind) for consumer in catalog.CONSUMERS]
        before = [snapshot(p.stats) for p in pollers]
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            received = sum(p.poll_once() for p in pollers)
            if received:
                continue
            # The consumers ran out of visible messages: what they stored flows out.
            if self.change_events_poller().poll_once():
                continue
            if all(p.queue_is_empty() for p in pollers):
                return combine([difference(p.stats, b) for p, b in zip(pollers, before, strict=True)])
            time.sleep(0.2)
        raise TimeoutError(f"the queues did not drain within {max_seconds} s")

    # -- change events ---------------------------------------------------------------------------
    def change_events_poller(self) -> LocalStreamPoller:
        """The publisher's event source mapping over the streamed tables (created once)."""
        if self._stream_poller is None:
            publisher = catalog.CHANGE_EVENTS_PUBLISHER
            module, _, name = publisher.handler.rpartition(".")
            handler = getattr(importlib.import_module(module), name)
            change_events = self.resources.change_events
            self._stream_poller = LocalStreamPoller(
                self.streams,
                self.sqs,
                stream_sources(self.resources.tables, change_events.streams),
                handler,
                function_name=LOCAL_CHANGE_EVENTS_FUNCTION,
                batch_size=publisher.sizing.batch_size,
                timeout_seconds=publisher.sizing.timeout_seconds,
                on_failure_queue_url=change_events.dead_letter_queue_url,
                environment=self.function_environment(publisher),
                output=self._function_output,
            )
        return self._stream_poller

    def publish_changes(self, *, max_reads: int = 10_000) -> StreamStats:
        """Reads the change streams to their end, each batch through the publisher (what ``drain``
        does once the queues are idle); returns what this took."""
        poller = self.change_events_poller()
        before = poller.stats.copy()
        for _ in range(max_reads):
            if not poller.poll_once():
                return poller.stats.minus(before)
        raise TimeoutError(f"the change streams were not read to their end in {max_reads} reads")

    def delivered_events(self) -> list[dict[str, Any]]:
        """Every event the local subscriber (the sink queue, fed by a rule matching SellerStream's
        source) has received so far, in delivery order, as EventBridge delivers one to a target
        (``version``, ``id``, ``detail-type``, ``source``, ``time``, ``detail``, ...). What the queue
        holds now is received, deleted and added to what earlier calls returned."""
        sink = self.resources.change_events.sink_queue_url
        account = self.resources.change_events.bus_arn.split(":")[4]
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30
            ).get("Messages", [])
            if not messages:
                return list(self._delivered)
            for message in messages:
                event = json.loads(message["Body"])
                # moto's delivery leaves out the account EventBridge's carries.
                event.setdefault("account", account)
                self._delivered.append({name: event[name] for name in EVENT_FIELDS if name in event})
            self.sqs.delete_message_batch(
                QueueUrl=sink,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def change_events_dead_lettered(self) -> int:
        """Messages on the publisher's DLQ: events EventBridge refused for good, and pointers to
        stream batches the mapping gave up on."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.change_events.dead_letter_queue_url, AttributeNames=names
        )["Attributes"]
        return sum(int(attributes[name]) for name in names)

    # -- reconciliation --------------------------------------------------------------------------
    def _reconcile_parts(self) -> Any:
        """What both reconciliations share, as the reconcile function builds it: its settings, the
        seller directory, SP-API access on the shared budget (its rate plans sped up like the
        emulator's, ``emulator_time_scale``) and the checkpoints beside the budget."""
        from types import SimpleNamespace  # noqa: PLC0415

        from sellerstream.adapters.backlog import DynamoDBSearchWindows  # noqa: PLC0415 - after the environment
        from sellerstream.adapters.rate_budget import SharedRateBudget  # noqa: PLC0415
        from sellerstream.config import ReconcileSettings  # noqa: PLC0415
        from sellerstream.logic.spapi_access import SpApiAccess  # noqa: PLC0415
        from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, RatePlan  # noqa: PLC0415

        settings = ReconcileSettings.from_environment(self.function_environment(catalog.RECONCILE))
        directory = self.seller_directory()
        scale = self.emulator.time_scale
        budget = SharedRateBudget(
            self.resources.tables["rate_budget"],
            plans={
                name: RatePlan(plan.rate * scale, plan.burst) for name, plan in DEFAULT_RATE_PLANS.items()
            },
        )
        return SimpleNamespace(
            settings=settings,
            directory=directory,
            access=SpApiAccess(settings, directory, budgets=budget),
            windows=DynamoDBSearchWindows(self.resources.tables["rate_budget"], clock=self.emulator.clock),
        )

    def reconcile(
        self,
        seller_id: str,
        since: datetime,
        until: datetime | None = None,
        *,
        max_seconds: float = 900.0,
    ) -> dict[str, Any]:
        """What ``sellerstream reconcile`` runs in the account: the seller's orders updated in
        ``[since, until]`` (until: at most two minutes before the emulator's now; None: that) stored
        from searchOrders where the table lacks them or holds an older state.

        When the seller's searchOrders budget is spent the run stops at its checkpoint; here it
        then waits for the next slot and resumes the same window, until the window is done (or
        ``max_seconds`` passed). The budget's rate plans are sped up like the emulator's
        (``emulator_time_scale``). Returns the counts: ``pages``, ``orders_seen``,
        ``orders_refreshed``, ``calls`` (searchOrders requests the emulator served or refused),
        ``runs``, ``complete``, and the window as run (``since``, ``until``, RFC 3339).
        """
        from sellerstream.adapters.orders import DynamoDBOrderStore  # noqa: PLC0415 - after the environment
        from sellerstream.logic.reconcile import ReconcileUseCase  # noqa: PLC0415

        parts = self._reconcile_parts()
        use_case = ReconcileUseCase(
            parts.directory,
            parts.access,
            DynamoDBOrderStore(self.resources.tables["orders"]),
            parts.windows,
            overlap_seconds=parts.settings.reconcile_overlap_seconds,
            first_window_seconds=parts.settings.reconcile_first_window_seconds,
            clock=self.emulator.clock,
        )
        window_until = min(until, use_case.latest_until()) if until is not None else use_case.latest_until()
        calls_before = self.emulator.sp_api_calls().get("searchOrders", 0)
        deadline = time.monotonic() + max_seconds
        totals: dict[str, Any] = {"pages": 0, "orders_seen": 0, "orders_refreshed": 0, "runs": 0}
        while True:
            result = use_case.reconcile(seller_id, since, window_until, lambda: deadline - time.monotonic())
            totals["runs"] += 1
            for name in ("pages", "orders_seen", "orders_refreshed"):
                totals[name] += getattr(result, name)
            done = result.complete or result.stopped not in ("rate_budget", "time")
            wait = result.resume_in_seconds or 0.0
            if done or time.monotonic() + wait >= deadline:
                break
            time.sleep(max(wait, 0.05))
        window = result.as_dict()
        return {
            **totals,
            "calls": self.emulator.sp_api_calls().get("searchOrders", 0) - calls_before,
            "complete": result.complete,
            "stopped": result.stopped,
            "since": window["since"],
            "until": window["until"],
        }

    def reconcile_listings(
        self,
        seller_id: str,
        since: datetime,
        until: datetime | None = None,
        *,
        max_seconds: float = 900.0,
    ) -> dict[str, Any]:
        """What ``sellerstream reconcile --listings`` runs in the account: the seller's listings
        updated in ``[since, until]`` in each of its marketplaces (fetched from the emulator when the
        directory has none) stored from searchListingsItems where the table lacks them or holds an
        older version. Like ``reconcile``, a run stopped by the budget is resumed here until done.
        Returns ``pages``, ``listings_seen``, ``listings_refreshed``, ``calls`` (searchListingsItems
        requests), ``runs``, ``complete``, ``stopped``, ``marketplaces`` and the window as run.
        """
        from sellerstream.adapters.listings import DynamoDBListingStore  # noqa: PLC0415 - after the environment
        from sellerstream.logic.listings_reconcile import ListingsReconcileUseCase  # noqa: PLC0415

        parts = self._reconcile_parts()
        use_case = ListingsReconcileUseCase(
            parts.directory,
            parts.access,
            DynamoDBListingStore(self.resources.tables["listings"]),
            parts.windows,
            overlap_seconds=parts.settings.reconcile_overlap_seconds,
            first_window_seconds=parts.settings.reconcile_first_window_seconds,
            clock=self.emulator.clock,
        )
        window_until = min(until, use_case.latest_until()) if until is not None else use_case.latest_until()
        calls_before = self.emulator.sp_api_calls().get("searchListingsItems", 0)
        deadline = time.monotonic() + max_seconds
        totals: dict[str, Any] = {"pages": 0, "listings_seen": 0, "listings_refreshed": 0, "runs": 0}
        while True:
            result = use_case.reconcile(seller_id, since, window_until, lambda: deadline - time.monotonic())
            answer = result.as_dict()
            totals["runs"] += 1
            for name in ("pages", "listings_seen", "listings_refreshed"):
                totals[name] += answer[name]
            wait = answer["resume_in_seconds"] or 0.0
            if result.complete or result.stopped not in ("rate_budget", "time"):
                break
            if time.monotonic() + wait >= deadline:
                break
            time.sleep(max(wait, 0.05))
        return {
            **totals,
            "calls": self.emulator.sp_api_calls().get("searchListingsItems", 0) - calls_before,
            "complete": result.complete,
            "stopped": result.stopped,
            "marketplaces": [marketplace["marketplace_id"] for marketplace in answer["marketplaces"]],
            "since": answer["since"],
            "until": answer["until"],
        }

    # -- inspection ------------------------------------------------------------------------------
    def dead_letters(self) -> list[DeadLetter]:
        """Everything in the DLQs, with the reason the handler logged for it."""
        letters: list[DeadLetter] = []
        for queue in self.resources.queues.values():
            letters.extend(self._dead_letters(queue.dlq_url))
        return letters

    def _dead_letters(self, dlq_url: str) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        seen: set[str] = set()
        handles: list[str] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            if not fresh:
                for handle in handles:  # visible again: a later look sees the same letters
                    self.sqs.change_message_visibility(
                        QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
                    )
                return letters
            for message in fresh:
                seen.add(message["MessageId"])
                handles.append(message["ReceiptHandle"])
                letters.append(self._dead_letter(message))

    def _dead_letter(self, message: dict[str, Any]) -> DeadLetter:
        """A DLQ message with its reason: from its attributes (dead-lettered at once by the handler),
        else from the handler's last log line about it (redriven by SQS after its receives)."""
        from sellerstream.logic import dead_letter  # noqa: PLC0415
        from sellerstream.logic.message_attributes import SOURCE_MESSAGE_ID_ATTRIBUTE  # noqa: PLC0415

        attributes = {
            name: str(value.get("StringValue", ""))
            for name, value in message.get("MessageAttributes", {}).items()
        }
        if dead_letter.REASON_ATTRIBUTE in attributes:
            return DeadLetter(
                message_id=attributes.get(SOURCE_MESSAGE_ID_ATTRIBUTE, message["MessageId"]),
                body=message["Body"],
                notification_id=attributes.get(dead_letter.NOTIFICATION_ID_ATTRIBUTE),
                reason=attributes[dead_letter.REASON_ATTRIBUTE],
                detail=attributes.get(dead_letter.DETAIL_ATTRIBUTE, ""),
                notification_type=attributes.get(dead_letter.NOTIFICATION_TYPE_ATTRIBUTE),
                seller_id=attributes.get(dead_letter.SELLER_ID_ATTRIBUTE),
            )
        failure = self.outcomes.failures_by_message.get(message["MessageId"], {})
        return DeadLetter(
            message_id=message["MessageId"],
            body=message["Body"],
            notification_id=failure.get("notification_id"),
            reason=failure.get("reason", "unknown"),
            detail=failure.get("detail", ""),
            notification_type=failure.get("notification_type"),
            seller_id=failure.get("seller_id"),
        )

    def stack_outputs(self) -> dict[str, str]:
        """The deployed stack's outputs, for the local resources (what the account commands read)."""
        outputs: dict[str, str] = {}
        for consumer in catalog.CONSUMERS:
            queue, ids = self.resources.queues[consumer.kind], consumer.outputs
            outputs.update(
                {
                    ids.queue_arn: queue.arn,
                    ids.queue_url: queue.url,
                    ids.dead_letter_queue_url: queue.dlq_url,
                    # Local mode writes no log groups (tests may fill them).
                    ids.log_group: f"/aws/lambda/sellerstream-local-{consumer.kind}",
                    ids.function: f"sellerstream-local-{consumer.kind}",
                }
            )
        function_output, log_group_output = catalog.RECONCILE.outputs
        publisher_output, publisher_log_group_output = catalog.CHANGE_EVENTS_PUBLISHER.outputs
        change_events = self.resources.change_events
        return {
            **outputs,
            **{table.output: self.resources.tables[table.role] for table in catalog.TABLES},
            catalog.StackOutputs.REPORTS_BUCKET: self.resources.reports_bucket,
            catalog.StackOutputs.LWA_APP_SECRET_ARN: constants.LWA_APP_SECRET_NAME,
            catalog.StackOutputs.SELLER_SECRET_PREFIX: constants.SELLER_SECRET_PREFIX,
            function_output: LOCAL_RECONCILE_FUNCTION,
            log_group_output: f"/aws/lambda/{LOCAL_RECONCILE_FUNCTION}",
            publisher_output: LOCAL_CHANGE_EVENTS_FUNCTION,
            publisher_log_group_output: f"/aws/lambda/{LOCAL_CHANGE_EVENTS_FUNCTION}",
            # No archive locally; the local subscriber is a rule of local mode's own, no destination.
            EventsOutputs.BUS_NAME: change_events.bus_name,
            EventsOutputs.BUS_ARN: change_events.bus_arn,
            EventsOutputs.DEAD_LETTER_QUEUE_URL: change_events.dead_letter_queue_url,
            EventsOutputs.DESTINATIONS: "{}",
            catalog.StackOutputs.NOTIFICATION_TYPES: ",".join(sorted(self.notification_types)),
        }

    def table_names(self) -> list[str]:
        return list(self.resources.tables.values())

    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table (by role, e.g. "orders", or by name) as Python values."""
        from sellerstream.adapters.dynamo import from_attribute_map  # noqa: PLC0415

        table_name = self.resources.tables.get(table, table)
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table_name):
            items.extend(from_attribute_map(item) for item in page["Items"])
        return sorted(items, key=lambda item: (str(item.get("pk", item.get("id"))), str(item.get("sk", ""))))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A browser's view of a redirect, without following it (the redirect URI is not served)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _redirect_of(url: str) -> tuple[int, str]:
    """The status and ``Location`` a GET of ``url`` answers (a page that does not redirect: no location)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, ""
    except urllib.error.HTTPError as answer:
        with answer:
            return answer.code, answer.headers.get("location", "")


def onboarding_event(route: str, query: str = "", domain: str = LOCAL_ONBOARDING_DOMAIN) -> dict[str, Any]:
    """API Gateway's HTTP API event (payload 2.0) for ``GET /<route>?<query>`` on the default stage
    of the onboarding API at ``domain``, as the onboarding function receives it."""
    return {
        "version": "2.0",
        "routeKey": f"GET /{route}",
        "rawPath": f"/{route}",
        "rawQueryString": query,
        "headers": {"host": domain, "x-forwarded-proto": "https"},
        "requestContext": {
            "domainName": domain,
            "stage": "$default",
            "http": {"method": "GET", "path": f"/{route}", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
        },
        "isBase64Encoded": False,
    }


def _page_title(body: str) -> str:
    """An answer page's title (what it says went wrong; a page never carries a code or token)."""
    found = re.search(r"<title>(.*?)</title>", body)
    return html.unescape(found.group(1)) if found else "no page"


def _functions() -> tuple[catalog.Consumer | catalog.Job | catalog.Publisher, ...]:
    """Every function the stack deploys (each one's settings are rendered from the local resources)."""
    return (*catalog.CONSUMERS, *catalog.JOBS, catalog.CHANGE_EVENTS_PUBLISHER)


def route(body: str) -> tuple[str, dict[str, Any] | None, bool]:
    """The queue kind a body belongs to, its notification document, and whether it is an EventBridge
    event (recognised exactly as the handler's parser recognises one). A JSON object whose only key
    is ``shipment`` is a shipment request (the fulfillment queue's format)."""
    if is_shipment_request(body):
        return catalog.consumer_of(catalog.SHIPMENT_REQUEST.name).kind, None, False  # type: ignore[union-attr]
    from sellerstream.errors import PoisonMessageError  # noqa: PLC0415
    from sellerstream.notifications import decode_body  # noqa: PLC0415
    from sellerstream.notifications.envelope import is_eventbridge_event  # noqa: PLC0415

    try:
        document = decode_body(body)
        outer = json.loads(body)
        if isinstance(outer, str):
            outer = json.loads(outer)
    except (ValueError, RecursionError, PoisonMessageError):
        return DEFAULT_KIND, None, False
    eventbridge = isinstance(outer, dict) and is_eventbridge_event(outer)
    notification_type = document.get("NotificationType", document.get("notificationType"))
    consumer = catalog.consumer_of(str(notification_type))
    return consumer.kind if consumer else DEFAULT_KIND, document, eventbridge


def _through_eventbridge(document: dict[str, Any]) -> bool:
    """Whether Amazon delivers this notification's type through EventBridge (the catalog says)."""
    message_type = catalog.message_type(
        str(document.get("NotificationType", document.get("notificationType")))
    )
    return message_type is not None and message_type.transport is catalog.Transport.EVENTBRIDGE


def _eventbridge_event_id(body: str) -> str | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(event, dict) and isinstance(event.get("id"), str) and "detail" in event:
        return str(event["id"])
    return None


def is_shipment_request(body: str) -> bool:
    """True for a body in the fulfillment queue's format, ``{"shipment": {...}}`` (valid or not)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and set(document) == {"shipment"}
