"""The SellerStream stack: the catalog's consumers and jobs over shared storage, keys and monitoring."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from sellerstream import catalog
from stacks import bundling, constants
from stacks.change_events import ChangeEventsFunction
from stacks.credentials import Credentials
from stacks.destination_rules import DestinationRule
from stacks.encryption import EncryptionKeys
from stacks.event_destinations import Destination, EventsOutputs
from stacks.events_bus import EventsBus
from stacks.functions import CatalogFunction
from stacks.grants import Grants
from stacks.listings_bus import ListingsEventBus
from stacks.monitoring import Monitoring
from stacks.onboarding import Onboarding, OnboardingApi
from stacks.operator_policies import OperatedResources, OperatorPolicies
from stacks.queue_schedule import QueueSchedule
from stacks.queues import NotificationQueue, dead_letter_queue
from stacks.reconciliation import ScheduledJob
from stacks.storage import Storage


class SellerStreamStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        orders_api_version: str = "2026-01-01",
        spapi_sandbox: bool = False,
        partner_event_source_names: tuple[str, ...] = (),
        names: constants.StageNames | None = None,
        alarm_email: str | None = None,
        no_notifications_alarm_hours: int | None = None,
        report_rows_retention_days: int = constants.REPORT_ROWS_RETENTION_DAYS,
        reconcile_interval_minutes: int = constants.RECONCILE_INTERVAL_MINUTES,
        events_include_pii: bool = False,
        auto_rotate_app_secret: bool = False,
        events_archive_days: int = constants.EVENTS_ARCHIVE_DAYS,
        events_destinations: tuple[Destination, ...] = (),
        notification_types: frozenset[str] = catalog.DEFAULT_NOTIFICATION_TYPES,
        notification_retention_days: dict[str, int] | None = None,
        processing_directives: dict[str, Any] | None = None,
        tracing: bool = False,
        onboarding: Onboarding | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.names = names or constants.StageNames()
        self._tracing = tracing
        self._quiet_hours = no_notifications_alarm_hours
        self.keys = EncryptionKeys(self, "Keys")
        self.storage = Storage(
            self, "Storage", key=self.keys.data_key, rows_retention_days=report_rows_retention_days
        )
        self.credentials = Credentials(self, "Credentials", names=self.names)
        self.monitoring = Monitoring(self, "Monitoring", key=self.keys.queue_key, alarm_email=alarm_email)
        self.layer = bundling.dependencies_layer(self, "DependenciesLayer")
        self.grants = Grants(self.storage, self.credentials, self.keys)
        self.settings = self._settings(
            spapi_sandbox, orders_api_version, report_rows_retention_days, events_include_pii
        )
        self.settings["notification_types"] = notification_types
        self.settings["auto_rotate_app_secret"] = auto_rotate_app_secret
        self.settings["notification_retention_days"] = notification_retention_days or {}
        self.outputs: dict[str, str] = {
            catalog.StackOutputs.NOTIFICATION_TYPES: ",".join(sorted(notification_types)),
            # What `sellerstream subscribe` subscribes each enabled type with (app.py checked the
            # configured ones against Amazon's rules; the catalog's for the others).
            catalog.StackOutputs.PROCESSING_DIRECTIVES: json.dumps(
                catalog.processing_directives(notification_types, processing_directives),
                separators=(",", ":"),
            ),
        }
        self.enabled = catalog.enabled_consumers(notification_types)
        self.consumers = {
            c.kind: self._consumer(c, partner_bus=bool(partner_event_source_names)) for c in self.enabled
        }
        self.partner_buses: list[ListingsEventBus] = []
        if partner_event_source_names:
            self._partner_buses(partner_event_source_names)
        self.outputs[catalog.StackOutputs.PARTNER_EVENT_SOURCES] = json.dumps(
            list(partner_event_source_names), separators=(",", ":")
        )
        self.jobs = {
            job.name: self._job(job, reconcile_interval_minutes)
            for job in catalog.JOBS
            if orders_api_version in job.orders_api_versions
        }
        self._events(include_pii=events_include_pii, archive_days=events_archive_days)
        self.destinations = [self._destination(destination) for destination in events_destinations]
        self.onboarding_function: CatalogFunction | None = None
        if onboarding is not None:
            self.onboarding_function = self._onboarding(onboarding)
        self._operator_policies()
        self.outputs[EventsOutputs.DESTINATIONS] = json.dumps(
            {destination.name: destination.kind for destination in events_destinations}, separators=(",", ":")
        )
        dashboard = self.monitoring.add_dashboard(f"{self.names.dashboard_name}-{self.region}")
        self.outputs[catalog.StackOutputs.DASHBOARD_URL] = (
            f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#dashboards/dashboard/{dashboard.dashboard_name}"
        )
        self._add_outputs()

    def _settings(
        self, sandbox: bool, orders_api_version: str, retention_days: int, events_include_pii: bool
    ) -> dict[str, object]:
        """Every value the stack gives a function, by setting name; each function's settings class
        takes its own (``Settings.environment``: a required one missing fails the synth)."""
        values: dict[str, object] = {
            **{f"{role}_table_name": table.table_name for role, table in self.storage.tables.items()},
            "reports_bucket_name": self.storage.reports_bucket.bucket_name,
            "lwa_app_secret_id": self.credentials.lwa_app_secret.secret_arn,
            "seller_secret_prefix": self.credentials.seller_secret_prefix,
            "spapi_sandbox": sandbox,
            "orders_api_version": orders_api_version,
            "max_receive_count": catalog.MAX_RECEIVE_COUNT,
            "queue_retention_seconds": catalog.QUEUE_RETENTION_DAYS * 24 * 3600,
            "idempotency_expires_after_seconds": catalog.IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
            "report_rows_retention_days": retention_days,
            "lwa_secret_expiry_warning_days": catalog.LWA_SECRET_EXPIRY_WARNING_DAYS,
            "reconcile_overlap_seconds": constants.RECONCILE_OVERLAP_SECONDS,
            "reconcile_first_window_seconds": constants.RECONCILE_FIRST_WINDOW_SECONDS,
            "events_include_pii": events_include_pii,
        }
        functions = (*catalog.CONSUMERS, *catalog.JOBS, catalog.CHANGE_EVENTS_PUBLISHER)
        known = {name for function in functions for name in function.settings.fields()}
        unused = sorted(set(values) - known)
        if unused:
            raise ValueError(f"the stack gives settings no function declares: {', '.join(unused)}")
        return values

    def _consumer(
        self, consumer: catalog.Consumer, *, partner_bus: bool
    ) -> tuple[NotificationQueue, CatalogFunction]:
        """The consumer's queue and DLQ, its function fed by the queue, its grants, alarms and outputs."""
        queue = NotificationQueue(self, f"{consumer.queue}Queue", key=self.keys.queue_key, consumer=consumer)
        environment = consumer.settings.environment(
            {
                **self.settings,
                "queue_url": queue.queue.queue_url,
                "dead_letter_queue_url": queue.dead_letter_queue.queue_url,
            }
        )
        function = CatalogFunction(
            self, consumer, environment=environment, layer=self.layer, tracing=self._tracing
        )
        function.consume(queue.queue, consumer.sizing)
        self.grants.apply(function.role, consumer.settings, consumer.grants)
        self.grants.send_to(function.role, queue)
        if consumer.schedule is not None:
            QueueSchedule(self, consumer.schedule, queue=queue.queue, queue_key=self.keys.queue_key)
        quiet_hours = consumer.quiet_alarm_hours if self._quiet_hours is None else self._quiet_hours
        self.monitoring.watch_consumer(
            consumer,
            queue=queue.queue,
            dead_letter_queue=queue.dead_letter_queue,
            function=function.function,
            quiet_alarm_hours=quiet_hours if consumer.expects_messages(partner_bus=partner_bus) else 0,
        )
        self.monitoring.watch_metrics(
            consumer.name, service_name=consumer.service_name, alarms=consumer.alarms, graphs=consumer.graphs
        )
        outputs = consumer.outputs
        self.outputs.update(
            {
                outputs.queue_arn: queue.queue.queue_arn,
                outputs.queue_url: queue.queue.queue_url,
                outputs.dead_letter_queue_url: queue.dead_letter_queue.queue_url,
                outputs.log_group: function.log_group.log_group_name,
                outputs.function: function.function.function_name,
            }
        )
        return queue, function

    def _partner_buses(self, event_source_names: tuple[str, ...]) -> None:
        """SP-API's partner event bus for each source (one per SP-API region), each with a rule sending
        the EventBridge types to their consumer's queue, and one DLQ for all the rules. The first
        source keeps the construct ids a single source always had, so a deployed stage keeps its bus
        and rule; a further one's ids derive from its name, so adding or removing one leaves the
        others in place."""
        owners = [c for c in self.enabled if catalog.Transport.EVENTBRIDGE in c.transports]
        if not owners:
            raise ValueError(
                "partner_event_source_name(s) given but no type Amazon sends through EventBridge is "
                "enabled (notification_types)"
            )
        [owner] = owners  # the catalog gives every EventBridge type to one consumer
        queue, _ = self.consumers[owner.kind]
        detail_types = catalog.eventbridge_detail_types(owner)
        self.keys.let_eventbridge_use_queue_key()
        for event_source_name in event_source_names:
            first = self.partner_buses[0] if self.partner_buses else None
            suffix = _source_suffix(event_source_name) if first else ""
            self.partner_buses.append(
                ListingsEventBus(
                    self,
                    f"ListingsEvents{suffix}",
                    event_source_name=event_source_name,
                    # A rule's name is unique per bus: every partner bus's rule has this one.
                    rule_name=self.names.listings_rule_name,
                    queue=queue.queue,
                    queue_key=self.keys.queue_key,
                    detail_types=detail_types,
                    description=f"SP-API {' / '.join(detail_types)} to the {owner.kind} queue",
                    dead_letter_queue=first.dead_letter_queue if first else None,
                    sid_suffix=suffix,
                )
            )
        first = self.partner_buses[0]
        self.monitoring.watch_partner_rules(
            [(bus.bus, bus.rule) for bus in self.partner_buses], dead_letter_queue=first.dead_letter_queue
        )
        # The first bus's: what the operator's commands read (the DLQ is every rule's).
        self.outputs.update(
            {
                catalog.StackOutputs.PARTNER_EVENT_BUS: first.bus.event_bus_name,
                catalog.StackOutputs.EVENTBRIDGE_RULE_ARN: first.rule.rule_arn,
                catalog.StackOutputs.EVENTBRIDGE_RULE_DLQ_URL: first.dead_letter_queue.queue_url,
            }
        )

    def _job(self, job: catalog.Job, interval_minutes: int) -> ScheduledJob:
        scheduled = ScheduledJob(
            self,
            job,
            environment=job.settings.environment(self.settings),
            layer=self.layer,
            interval_minutes=interval_minutes,
            tracing=self._tracing,
        )
        self.grants.apply(scheduled.role, job.settings, job.grants)
        self.monitoring.watch_job(job, function=scheduled.function)
        function_output, log_group_output = job.outputs
        self.outputs[function_output] = scheduled.function.function_name
        self.outputs[log_group_output] = scheduled.log_group.log_group_name
        return scheduled

    def _onboarding(self, onboarding: Onboarding) -> CatalogFunction:
        """The onboarding API: its function (catalog.ONBOARDING), given what a new (seller, region)
        is subscribed with, and the HTTP API in front of it."""
        spec = catalog.ONBOARDING
        # Every queue Amazon sends a seller's subscribed types to (not the app-credentials queue:
        # the application's own notifications are no seller's subscription).
        destinations = {
            consumer.kind: self.consumers[consumer.kind][0].queue.queue_arn
            for consumer in self.enabled
            if any(t.transport is catalog.Transport.SQS and t.subscription for t in consumer.types)
        }
        environment = spec.settings.environment(
            {
                **self.settings,
                "spapi_application_id": onboarding.application_id,
                "onboarding_draft_app": onboarding.draft_app,
                "subscription_destinations": destinations,
                "processing_directives": self.outputs[catalog.StackOutputs.PROCESSING_DIRECTIVES],
            }
        )
        function = CatalogFunction(
            self, spec, environment=environment, layer=self.layer, tracing=self._tracing
        )
        self.grants.apply(function.role, spec.settings, spec.grants)
        self.monitoring.watch_job(spec, function=function.function)
        self.onboarding_api = OnboardingApi(self, "OnboardingApi", function=function.function)
        function_output, log_group_output = spec.outputs
        self.outputs.update(
            {
                function_output: function.function.function_name,
                log_group_output: function.log_group.log_group_name,
                catalog.StackOutputs.ONBOARDING_LOGIN_URL: self.onboarding_api.login_url,
                catalog.StackOutputs.ONBOARDING_REDIRECT_URL: self.onboarding_api.redirect_url,
            }
        )
        return function

    def _operator_policies(self) -> None:
        """The managed policies for the operator's CLI, over what this stack built."""
        consumers = list(self.consumers.values())
        rule_dlqs = [self.partner_buses[0].dead_letter_queue] if self.partner_buses else []
        reconcile = self.jobs.get(catalog.RECONCILE.name)
        policies = OperatorPolicies(
            self,
            "OperatorPolicies",
            resources=OperatedResources(
                credentials=self.credentials,
                accounts_table=self.storage.table(catalog.ACCOUNTS_TABLE.role),
                orders_table=self.storage.table(catalog.ORDERS_TABLE.role),
                data_key=self.keys.data_key,
                queue_key=self.keys.queue_key,
                queues=[queue.queue for queue, _ in consumers],
                dead_letter_queues=[*(queue.dead_letter_queue for queue, _ in consumers), *rule_dlqs],
                watched_queues=[
                    self.events_dead_letter_queue,
                    *(destination.dead_letter_queue for destination in self.destinations),
                ],
                log_groups=[function.log_group for _, function in consumers],
                reconcile_function=reconcile.function if reconcile else None,
                events_archive=self.events.archive,
            ),
        )
        self.outputs[catalog.StackOutputs.OPERATOR_POLICY_ARN] = policies.operator.managed_policy_arn
        self.outputs[catalog.StackOutputs.READ_ONLY_OPERATOR_POLICY_ARN] = (
            policies.read_only.managed_policy_arn
        )

    def _events(self, *, include_pii: bool, archive_days: int) -> None:
        """SellerStream's bus (and its archive), and the publisher putting one event per stored change
        on it, read from the tables' change streams."""
        self.events = EventsBus(
            self,
            "Events",
            bus_name=self.names.events_bus_name,
            archive_name=self.names.events_archive_name,
            archive_days=archive_days,
        )
        publisher = catalog.CHANGE_EVENTS_PUBLISHER
        # Stream batches given up on (a pointer to them) and events EventBridge refuses for good.
        self.events_dead_letter_queue = dead_letter_queue(
            self,
            f"{publisher.name}DeadLetterQueue",
            key=self.keys.queue_key,
            used_as="the change-events publisher's dead-letter queue (its stream mappings' on-failure "
            "destination, and where it puts events EventBridge refuses for good)",
        )
        environment = publisher.settings.environment(
            {
                **self.settings,
                "events_bus_name": self.events.bus.event_bus_name,
                "events_dead_letter_queue_url": self.events_dead_letter_queue.queue_url,
            }
        )
        function = ChangeEventsFunction(
            self,
            publisher,
            environment=environment,
            layer=self.layer,
            tables=self.storage.tables,
            dead_letter_queue=self.events_dead_letter_queue,
            queue_key=self.keys.queue_key,
            tracing=self._tracing,
        )
        self.change_events = function
        # The publisher's grants are the order's PII item (catalog): without the opt-in it reads
        # nothing but the streams, and buyer data cannot reach an event even by mistake.
        self.grants.apply(function.role, publisher.settings, publisher.grants if include_pii else ())
        self.events.bus.grant_put_events_to(function.role)
        self.monitoring.watch_publisher(
            publisher, function=function.function, dead_letter_queue=self.events_dead_letter_queue
        )
        function_output, log_group_output = publisher.outputs
        self.outputs.update(
            {
                function_output: function.function.function_name,
                log_group_output: function.log_group.log_group_name,
                EventsOutputs.BUS_NAME: self.events.bus.event_bus_name,
                EventsOutputs.BUS_ARN: self.events.bus.event_bus_arn,
                EventsOutputs.DEAD_LETTER_QUEUE_URL: self.events_dead_letter_queue.queue_url,
            }
        )
        if self.events.archive is not None:
            self.outputs[EventsOutputs.ARCHIVE_NAME] = self.events.archive.archive_name
            self.outputs[EventsOutputs.ARCHIVE_ARN] = self.events.archive.archive_arn

    def _destination(self, destination: Destination) -> DestinationRule:
        """A rule on SellerStream's bus to one configured destination, its DLQ, alarms and outputs."""
        self.keys.let_eventbridge_use_queue_key()
        created = DestinationRule(
            self,
            destination,
            bus=self.events.bus,
            bus_name=self.names.events_bus_name,
            queue_key=self.keys.queue_key,
        )
        self.monitoring.watch_destination(
            destination.construct_id,
            destination.name,
            bus=self.events.bus,
            rule=created.rule,
            dead_letter_queue=created.dead_letter_queue,
        )
        outputs = destination.outputs
        self.outputs[outputs.rule_arn] = created.rule.rule_arn
        self.outputs[outputs.dead_letter_queue_url] = created.dead_letter_queue.queue_url
        if created.policy is not None:
            self.outputs[outputs.policy] = created.policy
        return created

    def _add_outputs(self) -> None:
        """Stable logical ids the operator's commands read (``sellerstream subscribe``, ``dlq``, ...)."""
        self.outputs.update(
            {
                **{table.output: self.storage.table(table.role).table_name for table in catalog.TABLES},
                catalog.StackOutputs.REPORTS_BUCKET: self.storage.reports_bucket.bucket_name,
                catalog.StackOutputs.LWA_APP_SECRET_ARN: self.credentials.lwa_app_secret.secret_arn,
                catalog.StackOutputs.SELLER_SECRET_PREFIX: self.credentials.seller_secret_prefix,
                catalog.StackOutputs.ALARM_TOPIC_ARN: self.monitoring.topic.topic_arn,
            }
        )
        for output_id, value in self.outputs.items():
            CfnOutput(self, output_id, value=value)


def _source_suffix(event_source_name: str) -> str:
    """A further partner source's construct id suffix: from its name, so it stays when others come
    or go (a replaced bus could not take its source back while the old one holds it)."""
    return hashlib.sha256(event_source_name.encode()).hexdigest()[:8].upper()
