"""A notification consumer: one function per notification type, fed by its queue."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks import bundling, constants


class NotificationConsumer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        service_name: str,
        queue: sqs.IQueue,
        settings: constants.ConsumerSettings,
        environment: dict[str, str],
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # An explicit role: only what this function needs, no AWS managed policies.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}"],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=bundling.RUNTIME,
            architecture=bundling.ARCHITECTURE,
            handler=handler,
            code=bundling.function_code(),
            layers=[layer],
            role=self.role,
            timeout=Duration.seconds(settings.timeout_seconds),
            memory_size=settings.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "MAX_RECEIVE_COUNT": str(constants.MAX_RECEIVE_COUNT),
            },
            description=f"SellerStream {service_name} consumer",
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=settings.batch_size,
                max_batching_window=Duration.seconds(settings.batching_window_seconds),
                report_batch_item_failures=True,
                max_concurrency=settings.max_concurrency,
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
            )
        )
