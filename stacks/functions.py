"""A function of the catalog: its log group, its own role, the function, and (consumers) its queue."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sellerstream import catalog
from stacks import bundling, constants


class CatalogFunction(Construct):
    """The function a catalog entry declares (its id is the entry's name)."""

    def __init__(
        self,
        scope: Construct,
        spec: catalog.Consumer | catalog.Job | catalog.Publisher,
        *,
        environment: dict[str, str],
        layer: lambda_.ILayerVersion,
        reserved_concurrency: int | None = None,
        tracing: bool = False,
    ) -> None:
        super().__init__(scope, spec.name)
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
            handler=spec.handler,
            code=bundling.function_code(),
            layers=[layer],
            role=self.role,
            timeout=Duration.seconds(spec.sizing.timeout_seconds),
            memory_size=spec.sizing.memory_mb,
            # Each traced invocation is billed (5 USD a million): opt-in, ``-c tracing=true``.
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": spec.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            description=spec.description,
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords (and, for reconciliation, Secrets "
                "Manager ListSecrets: the known sellers; for the change-events publisher, DynamoDB "
                "ListStreams, which its stream mappings need) support no resource-level permissions.",
            )
        )

    def consume(self, queue: sqs.IQueue, sizing: catalog.Sizing) -> None:
        """Lambda's event source mapping: deletes a record only when it succeeded."""
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=sizing.batch_size,
                max_batching_window=Duration.seconds(sizing.batching_window_seconds),
                report_batch_item_failures=True,
                max_concurrency=sizing.max_concurrency,
            )
        )
