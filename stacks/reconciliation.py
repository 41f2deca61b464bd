"""Reconciliation: a function that stores, from searchOrders, every order Amazon never notified (or
whose notification was lost), invoked per interval by EventBridge Scheduler for every known seller
and by ``sellerstream reconcile`` for one seller's window."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from stacks import bundling, constants


class Reconciliation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        layer: lambda_.ILayerVersion,
        interval_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = constants.RECONCILE
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=bundling.RUNTIME,
            architecture=bundling.ARCHITECTURE,
            handler="sellerstream.handlers.reconcile.lambda_handler",
            code=bundling.function_code(),
            layers=[layer],
            role=self.role,
            timeout=Duration.seconds(settings.timeout_seconds),
            memory_size=settings.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # Runs of the schedule and by hand share checkpoints (leased): a few at once is plenty.
            reserved_concurrent_executions=settings.max_concurrency,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": constants.RECONCILE_SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "RECONCILE_OVERLAP_SECONDS": str(constants.RECONCILE_OVERLAP_SECONDS),
                "RECONCILE_FIRST_WINDOW_SECONDS": str(constants.RECONCILE_FIRST_WINDOW_SECONDS),
            },
            description="SellerStream reconciliation: orders from searchOrders that notifications missed",
        )
        # Each run resumes where the previous one stopped: a missed run only delays the repair, so
        # the schedule does not retry (an error is alarmed through the function's Errors metric).
        schedule_role = iam.Role(
            self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"SellerStream: reconcile every known seller's orders every {interval_minutes} minutes",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(interval_minutes)),
            target=targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object({}),
                role=schedule_role,
                retry_attempts=0,
                max_event_age=Duration.minutes(max(interval_minutes, 1)),
            ),
        )
        Validations.of(schedule_role).acknowledge(
            Acknowledgment(
                # The function's logical id (construct path Reconcile/Function in the stack).
                id="AwsSolutions::AwsSolutions-IAM5[Resource::<ReconcileFunction585E26B3.Arn>:*]",
                reason="grant_invoke names the function and its versions and aliases (ARN:*): this one "
                "function only, invoked by the schedule.",
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords and Secrets Manager ListSecrets (the "
                "known sellers) support no resource-level permissions.",
            )
        )

    def grant_list_sellers(self) -> None:
        """The known sellers are the secrets under the seller prefix: ListSecrets has no resource scope."""
        self.role.add_to_policy(iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"]))
