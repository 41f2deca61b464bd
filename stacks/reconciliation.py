"""A job of the catalog on a schedule: EventBridge Scheduler invokes the function every interval (for
reconciliation: every known seller's orders that notifications missed), and an operator may invoke it
by hand (``sellerstream reconcile``, one seller's window)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from sellerstream import catalog
from stacks.functions import CatalogFunction


class ScheduledJob(CatalogFunction):
    def __init__(
        self,
        scope: Construct,
        job: catalog.Job,
        *,
        environment: dict[str, str],
        layer: lambda_.ILayerVersion,
        interval_minutes: int,
        tracing: bool = False,
    ) -> None:
        super().__init__(
            scope,
            job,
            environment=environment,
            layer=layer,
            reserved_concurrency=job.sizing.max_concurrency,
            tracing=tracing,
        )
        # Each run resumes where the previous one stopped: a missed run only delays the repair, so
        # the schedule does not retry (an error is alarmed through the function's Errors metric).
        # Scheduler may take the role for this account's default schedule group only (AWS's
        # guidance against the confused deputy).
        stack = Stack.of(self)
        schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler", resource="schedule-group", resource_name="default"
                        )
                    },
                },
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"SellerStream: {job.service_name} every {interval_minutes} minutes",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(interval_minutes)),
            target=targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object({}),
                role=schedule_role,
                retry_attempts=0,
                max_event_age=Duration.minutes(max(interval_minutes, 1)),
            ),
        )
        function_id = stack.get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        Validations.of(schedule_role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                reason="grant_invoke names the function and its versions and aliases (ARN:*): this one "
                "function only, invoked by the schedule.",
            )
        )
