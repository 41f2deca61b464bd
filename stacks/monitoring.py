"""Alarms an operator needs on Prime Day, published to one encrypted SNS topic, and a dashboard.

Every alarm notifies on a change of state only, so each is shaped to return to OK once its cause is
gone: a dead-letter alarm watches new arrivals, not the queue's depth, and so notifies again when
more dead letters arrive later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellerstream import catalog, metric_names
from sellerstream.config import SpApiSettings
from stacks import constants

CLOUDWATCH = "cloudwatch.amazonaws.com"
# An alarm reads at most 10 metrics (CloudWatch's PutMetricAlarm); a rule's deliveries are three.
_RULES_PER_ALARM = 3


@dataclass(frozen=True)
class _WatchedConsumer:
    service_name: str
    queue: sqs.IQueue
    dead_letter_queue: sqs.IQueue
    function: lambda_.IFunction


@dataclass(frozen=True)
class _WatchedPublisher:
    service_name: str
    function: lambda_.IFunction
    dead_letter_queue: sqs.IQueue


class Monitoring(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, alarm_email: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="SellerStream alarms", master_key=key, enforce_ssl=True
        )
        # enforce_ssl gives the topic a policy of its own, which replaces SNS's default one: without
        # these statements CloudWatch could neither publish nor use the topic's key, and every
        # alarm would fail to notify. Both are scoped to this account's alarms (confused deputy).
        stack = Stack.of(self)
        this_accounts_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=this_accounts_alarms,
            )
        )
        # What SNS documents an AWS service needs on a customer-managed key to publish to the topic.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToUseTheKey",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=this_accounts_alarms,
            )
        )
        if alarm_email:
            # SNS e-mails a confirmation link first: alarms reach the address once it is confirmed.
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        self._consumers: list[_WatchedConsumer] = []
        self._rule_dead_letter_queues: list[tuple[str, sqs.IQueue]] = []
        self._publisher: _WatchedPublisher | None = None
        # Graphs beyond the per-consumer ones: (title, service, [(metric name, label)]).
        self._extra_graphs: list[tuple[str, str, list[tuple[str, str]]]] = []

    # -- alarms ----------------------------------------------------------------------------------
    def watch_consumer(
        self,
        consumer: catalog.Consumer,
        *,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
        quiet_alarm_hours: int,
    ) -> None:
        """Alarms for one consumer, one for each way its notifications come to harm, none twice:
        dead-lettered (``DeadLetters``: poison, a payload version not read yet, a failure on every
        receive), stuck (``Backlog``: the function failing or throttled as a whole), late (``Lag``:
        a quota spent: deferred copies wait anew, so the queue's oldest message stays young),
        waiting on a seller (``SellerCredentials``, consumers that call SP-API) and silent
        (``NoNotifications``; ``quiet_alarm_hours`` 0: none). The causes are graphed on the dashboard
        and named in the logs; an alarm per cause would bill again (0.10 USD a month each) for what
        one of these already says."""
        name, service_name = consumer.name, consumer.service_name
        self._consumers.append(_WatchedConsumer(service_name, queue, dead_letter_queue, function))
        self._dead_letter_alarm(
            f"{name}DeadLetters",
            dead_letter_queue,
            description=f"{name}: new notifications were dead-lettered (poison, a payload version not "
            f"read yet, or {catalog.MAX_RECEIVE_COUNT} failed receives; the letter's reason and the "
            "function's logs say which)",
        )
        self._alarm(
            f"{name}Backlog",
            queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1)),
            threshold=constants.OLDEST_MESSAGE_ALARM_SECONDS,
            description=f"{name}: the oldest notification has waited over "
            f"{constants.OLDEST_MESSAGE_ALARM_SECONDS // 60} minutes (the function failing or throttled "
            "as a whole: its Errors and Throttles graphs and logs say why)",
        )
        if consumer.lag_alarm_p95_seconds is not None:
            self._alarm(
                f"{name}Lag",
                _pipeline_metric(
                    metric_names.EVENT_TO_STORE_LAG,
                    service_name,
                    constants.LAG_ALARM_PERIOD_SECONDS,
                    statistic="p95",
                ),
                threshold=consumer.lag_alarm_p95_seconds * 1000,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{name}: the 95th percentile of the time from Amazon's event to the table is "
                f"over {consumer.lag_alarm_p95_seconds // 60} minutes (an SP-API quota spent: its "
                "deferrals are graphed on the dashboard)",
            )
        if issubclass(consumer.settings, SpApiSettings):
            # A refused seller's notifications wait as new copies, unstored, for up to a day before
            # they are dead-lettered: neither the backlog nor the lag would show them.
            self._alarm(
                f"{name}SellerCredentials",
                _pipeline_metric(
                    metric_names.SELLER_CREDENTIALS_FAILURES, service_name, constants.ALARM_PERIOD_SECONDS
                ),
                threshold=1,
                description=f"{name}: a seller's credentials are unusable (LWA refused the refresh token, or "
                "the secret is malformed): its notifications wait; update the seller's secret (which "
                "seller: the metric's seller dimension)",
            )
        if quiet_alarm_hours:
            # SQS stops reporting an idle queue's metrics, so missing data counts as "nothing came".
            self._alarm(
                f"{name}NoNotifications",
                queue.metric_number_of_messages_sent(period=Duration.hours(1), statistic="Sum"),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=quiet_alarm_hours,
                missing=cloudwatch.TreatMissingData.BREACHING,
                description=f"{name}: no notification arrived for {quiet_alarm_hours} hours "
                "(subscriptions, destination or partner bus may be gone)",
            )

    def watch_partner_rules(
        self, rules: Sequence[tuple[events.IEventBus, events.IRule]], *, dead_letter_queue: sqs.IQueue
    ) -> None:
        """An alarm whenever a listings rule (one per partner bus) could not deliver an event to the
        queue: one alarm for them all (an alarm reads at most 10 metrics, three per rule, so one
        more for every fourth rule), and one graph of the DLQ they share."""
        self._rule_dead_letter_queues.append(("listings rules", dead_letter_queue))
        for start in range(0, len(rules), _RULES_PER_ALARM):
            self._rule_delivery_alarm(
                "ListingsRuleDeliveryFailures" + (str(start // _RULES_PER_ALARM + 1) if start else ""),
                rules=rules[start : start + _RULES_PER_ALARM],
                label="listings events not delivered to the queue",
                description="Listings: a partner bus rule could not deliver events to the listings queue "
                "(they are in the rules' dead-letter queue, or lost if that failed too)",
            )

    def watch_publisher(
        self,
        publisher: catalog.Publisher,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        """The change-events publisher: stream batches it gave up on or events EventBridge refused
        (its DLQ), falling behind the streams (IteratorAge: failing, throttled or slow)."""
        name = publisher.name
        self._publisher = _WatchedPublisher(publisher.service_name, function, dead_letter_queue)
        self._dead_letter_alarm(
            f"{name}DeadLetters",
            dead_letter_queue,
            description=f"{name}: a stream batch was given up after "
            f"{publisher.max_record_age_seconds // 3600} hours of retries (the letter says which shard and "
            "sequence numbers), or EventBridge refused an event for good (the letter is the event)",
        )
        minutes = constants.CHANGE_EVENTS_ITERATOR_AGE_ALARM_SECONDS // 60
        self._alarm(
            f"{name}IteratorAge",
            function.metric(
                "IteratorAge", statistic="Maximum", period=Duration.seconds(constants.ALARM_PERIOD_SECONDS)
            ),
            threshold=constants.CHANGE_EVENTS_ITERATOR_AGE_ALARM_SECONDS * 1000,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"{name}: events leave over {minutes} minutes after their change was stored "
            "(the publisher is failing a batch, throttled, or behind the streams)",
        )
        # (A failing publisher retries its batch: IteratorAge grows and says so.)
        self.watch_metrics(
            name, service_name=publisher.service_name, alarms=publisher.alarms, graphs=publisher.graphs
        )

    def watch_destination(
        self,
        construct_id: str,
        name: str,
        *,
        bus: events.IEventBus,
        rule: events.IRule,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        """A destination's rule: new letters on its DLQ, and deliveries that failed outright."""
        self._rule_dead_letter_queues.append((f"destination {name}", dead_letter_queue))
        self._dead_letter_alarm(
            f"{construct_id}DeadLetters",
            dead_letter_queue,
            description=f"Events destination {name}: events were not delivered within "
            f"{constants.DESTINATION_MAX_EVENT_AGE_SECONDS // 3600} hours of retries and are in its "
            "dead-letter queue (EventBridge's ERROR_CODE and ERROR_MESSAGE attributes say why); "
            f"replay them: sellerstream events replay --destination {name} --since ...",
        )
        self._rule_delivery_alarm(
            f"{construct_id}DeliveryFailures",
            rules=[(bus, rule)],
            label=f"events not delivered to {name}",
            description=f"Events destination {name}: the rule could not deliver events (they are in its "
            "dead-letter queue, or lost if that failed too)",
        )

    def _rule_delivery_alarm(
        self,
        construct_id: str,
        *,
        rules: Sequence[tuple[events.IEventBus, events.IRule]],
        label: str,
        description: str,
    ) -> None:
        period = Duration.seconds(constants.ALARM_PERIOD_SECONDS)

        def rule_metric(bus: events.IEventBus, rule: events.IRule, metric_name: str) -> cloudwatch.Metric:
            # Rules on a custom (or partner) bus report with both dimensions.
            return cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name=metric_name,
                dimensions_map={"EventBusName": bus.event_bus_name, "RuleName": rule.rule_name},
                statistic="Sum",
                period=period,
            )

        # EventBridge reports these only when they are not zero. The first rule's ids are those a
        # single rule always had (an unchanged alarm); a further rule's end in its position.
        using_metrics: dict[str, cloudwatch.IMetric] = {}
        for position, (bus, rule) in enumerate(rules):
            suffix = str(position + 1) if position else ""
            using_metrics[f"failed{suffix}"] = rule_metric(bus, rule, "FailedInvocations")
            using_metrics[f"toDlq{suffix}"] = rule_metric(bus, rule, "InvocationsSentToDlq")
            using_metrics[f"dlqFailed{suffix}"] = rule_metric(bus, rule, "InvocationsFailedToBeSentToDlq")
        self._alarm(
            construct_id,
            cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in using_metrics),
                using_metrics=using_metrics,
                label=label,
                period=period,
            ),
            threshold=1,
            description=description,
        )

    def _dead_letter_alarm(
        self, construct_id: str, dead_letter_queue: sqs.IQueue, *, description: str
    ) -> None:
        period = Duration.seconds(constants.ALARM_PERIOD_SECONDS)
        visible = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum"
        )
        # Growth of the DLQ between two periods: in ALARM while letters arrive, OK in between, so
        # every new arrival notifies again. FILL: an idle empty queue reports nothing at all.
        self._alarm(
            construct_id,
            cloudwatch.MathExpression(
                expression="DIFF(FILL(visible, 0))",
                using_metrics={"visible": visible},
                label="new dead letters",
                period=period,
            ),
            threshold=1,
            description=description,
        )

    def watch_metrics(
        self,
        name: str,
        *,
        service_name: str,
        alarms: tuple[catalog.MetricAlarm, ...],
        graphs: tuple[catalog.Graph, ...],
    ) -> None:
        """The catalog's alarms and graphs on metrics the function emits (its service dimension)."""
        for alarm in alarms:
            self._alarm(
                f"{name}{alarm.suffix}",
                _pipeline_metric(alarm.metric, service_name, alarm.period_seconds, statistic=alarm.statistic),
                threshold=alarm.threshold,
                comparison=_COMPARISONS[alarm.comparison],
                missing=cloudwatch.TreatMissingData[alarm.missing],
                description=f"{name}: {alarm.description}",
            )
        for graph in graphs:
            self._extra_graphs.append((f"{service_name}: {graph.title}", service_name, list(graph.metrics)))

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)

    def watch_job(self, job: catalog.Job, *, function: lambda_.IFunction) -> None:
        """A job that failed as a whole (Errors), and the catalog's own alarms."""
        self._function_alarms(
            job.name,
            function,
            failed=f"{job.name}: the {job.service_name} function failed (its log says why)",
        )
        self.watch_metrics(job.name, service_name=job.service_name, alarms=job.alarms, graphs=job.graphs)

    def _function_alarms(self, name: str, function: lambda_.IFunction, *, failed: str) -> None:
        """The function failed as a whole (Errors). (Throttling delays a job's run or the publisher's
        batch: the next run resumes, and IteratorAge reports the publisher's delay.)"""
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=Duration.minutes(5)),
            threshold=1,
            description=failed,
        )

    # -- dashboard -------------------------------------------------------------------------------
    def add_dashboard(self, dashboard_name: str) -> cloudwatch.Dashboard:
        """One dashboard of everything watched so far (call it after the consumers are watched)."""
        period = Duration.minutes(5)
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.hours(12)
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        for consumer in self._consumers:

            def of(name: str, consumer: _WatchedConsumer = consumer) -> cloudwatch.Metric:
                return _pipeline_metric(name, consumer.service_name, constants.ALARM_PERIOD_SECONDS)

            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{consumer.service_name}: notifications",
                    left=[
                        of(metric_names.NOTIFICATIONS_PROCESSED).with_(label="processed"),
                        of(metric_names.NOTIFICATIONS_FAILED).with_(label="failed"),
                        of(metric_names.THROTTLE_DEFERRALS).with_(label="deferred"),
                        of(metric_names.POISON_MESSAGES).with_(label="poison"),
                        of(metric_names.DUPLICATE_NOTIFICATIONS).with_(label="duplicates"),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{consumer.service_name}: event-to-store lag (ms)",
                    left=[
                        of(metric_names.EVENT_TO_STORE_LAG).with_(statistic="p50", label="p50"),
                        of(metric_names.EVENT_TO_STORE_LAG).with_(statistic="p95", label="p95"),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{consumer.service_name}: queue and DLQ",
                    left=[
                        consumer.queue.metric_approximate_number_of_messages_visible(
                            period=period, statistic="Maximum", label="depth"
                        ),
                        consumer.dead_letter_queue.metric_approximate_number_of_messages_visible(
                            period=period, statistic="Maximum", label="DLQ depth"
                        ),
                    ],
                    right=[
                        consumer.queue.metric_approximate_age_of_oldest_message(
                            period=period, statistic="Maximum", label="oldest message (s)"
                        )
                    ],
                    width=8,
                ),
            )
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{consumer.service_name}: why notifications wait",
                    left=[
                        of(metric_names.SELLER_CREDENTIALS_FAILURES).with_(label="credentials refused"),
                        of(metric_names.UNSUPPORTED_PAYLOAD_VERSIONS).with_(label="payload version not read"),
                        consumer.function.metric_errors(period=period, label="function errors"),
                        consumer.function.metric_throttles(period=period, label="function throttled"),
                    ],
                    width=24,
                ),
            )
        if self._publisher is not None:
            dashboard.add_widgets(*_publisher_widgets(self._publisher, period))
        if self._extra_graphs:
            dashboard.add_widgets(
                *(
                    cloudwatch.GraphWidget(
                        title=title,
                        left=[
                            _pipeline_metric(metric, service, constants.ALARM_PERIOD_SECONDS).with_(
                                label=label
                            )
                            for metric, label in graphs
                        ],
                        width=24 // len(self._extra_graphs),
                    )
                    for title, service, graphs in self._extra_graphs
                )
            )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="SP-API calls per operation",
                left=[_per_operation_search(metric_names.SP_API_CALLS, "calls")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="SP-API 429s per operation",
                left=[_per_operation_search(metric_names.SP_API_THROTTLES, "429s")],
                width=12,
            ),
        )
        if self._rule_dead_letter_queues:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="EventBridge rules: undelivered events (DLQ depth)",
                    left=[
                        queue.metric_approximate_number_of_messages_visible(
                            period=period, statistic="Maximum", label=label
                        )
                        for label, queue in self._rule_dead_letter_queues
                    ],
                    width=24,
                )
            )
        return dashboard


def _publisher_widgets(publisher: _WatchedPublisher, period: Duration) -> list[cloudwatch.IWidget]:
    """The publisher's row: how far behind the streams it reads, its invocations, its DLQ."""
    function, service = publisher.function, publisher.service_name
    return [
        cloudwatch.GraphWidget(
            title=f"{service}: stream iterator age (ms)",
            left=[
                function.metric("IteratorAge", statistic="Maximum", period=period, label="maximum"),
                function.metric("IteratorAge", statistic="p95", period=period, label="p95"),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{service}: invocations",
            left=[
                function.metric_invocations(period=period, label="invocations"),
                function.metric_errors(period=period, label="errors"),
                function.metric_throttles(period=period, label="throttles"),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{service}: DLQ",
            left=[
                publisher.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum", label="DLQ depth"
                )
            ],
            width=8,
        ),
    ]


_COMPARISONS = {
    ">=": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ">": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "<=": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    "<": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
}


def _pipeline_metric(
    name: str, service_name: str, period_seconds: int, *, statistic: str = "Sum"
) -> cloudwatch.Metric:
    """A metric the functions emit (Powertools EMF: namespace SellerStream, dimension service)."""
    return cloudwatch.Metric(
        namespace=constants.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={metric_names.SERVICE_DIMENSION: service_name},
        statistic=statistic,
        period=Duration.seconds(period_seconds),
    )


def _per_operation_search(name: str, label: str) -> cloudwatch.MathExpression:
    """Every (service, operation) series of ``name``: the operations are whatever the code calls."""
    schema = ",".join(
        (constants.METRICS_NAMESPACE, metric_names.OPERATION_DIMENSION, metric_names.SERVICE_DIMENSION)
    )
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{{{schema}}} MetricName=\"{name}\"', 'Sum', 300)",
        label=label,
        period=Duration.minutes(5),
    )
