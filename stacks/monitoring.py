"""Alarms an operator needs on Prime Day, published to one encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellerstream import metric_names
from stacks import constants


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="SellerStream alarms", master_key=key, enforce_ssl=True
        )
        self._action = actions.SnsAction(self.topic)

    def watch_consumer(
        self, name: str, *, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue, function: lambda_.IFunction
    ) -> None:
        self._alarm(
            f"{name}DeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
            threshold=1,
            description=f"{name}: a notification failed {constants.MAX_RECEIVE_COUNT} times and was dead-lettered",
        )
        self._alarm(
            f"{name}Backlog",
            queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1)),
            threshold=constants.OLDEST_MESSAGE_ALARM_SECONDS,
            description=f"{name}: the oldest notification has waited over "
            f"{constants.OLDEST_MESSAGE_ALARM_SECONDS // 60} minutes",
        )
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=Duration.minutes(5)),
            threshold=1,
            description=f"{name}: the function itself failed (not a record)",
        )
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(period=Duration.minutes(5)),
            threshold=1,
            description=f"{name}: Lambda throttled the function",
        )

    def watch_report_decoding(self, name: str, *, service_name: str) -> None:
        """A report document its declared charset could not decode (kept raw, recorded FAILED)."""
        self._alarm(
            f"{name}DecodeFailures",
            cloudwatch.Metric(
                namespace=constants.METRICS_NAMESPACE,
                metric_name=metric_names.REPORT_DECODE_FAILURES,
                # Powertools Metrics adds the service name as the "service" dimension.
                dimensions_map={"service": service_name},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=1,
            description=f"{name}: a report document could not be decoded in its declared charset "
            "(raw copy kept, report recorded FAILED)",
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
