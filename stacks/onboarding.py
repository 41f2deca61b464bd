"""The onboarding API (context ``onboarding``): Amazon's website authorization workflow over HTTPS.

A seller opens ``GET /login`` and is sent on to Amazon's consent page; Amazon sends the browser back
to ``GET /redirect`` with a code, which the function exchanges for the seller's refresh token, stores
and subscribes. Both routes go to one function (catalog.ONBOARDING). They are public by design: the
seller's browser arrives without credentials, and what the function trusts is the ``state`` it signed
at login and Amazon's code, never the caller. API Gateway throttles the stage and logs each request
(never its query string, which carries Amazon's code and the state).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import jsii
from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

LOGIN_PATH: Final = "login"
REDIRECT_PATH: Final = "redirect"
# A seller's login and redirect are a few requests; this bounds what a stranger can cost (requests
# per second and burst, for the whole stage).
THROTTLE_RATE_PER_SECOND: Final = 10
THROTTLE_BURST: Final = 20
# What each request leaves in the access log: enough to trace it to the function's log line, never
# the query string (Amazon's code, the signed state, the seller's id).
ACCESS_LOG_FIELDS: Final = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
}


@dataclass(frozen=True)
class Onboarding:
    """The deployment's onboarding options (app.py checked them)."""

    application_id: str  # the SP-API application's App ID: the consent page's application_id
    draft_app: bool = False  # the application is still a draft: the consent URL says version=beta


class OnboardingApi(Construct):
    """An HTTP API with ``GET /login`` and ``GET /redirect`` to ``function``, on a throttled,
    access-logged default stage."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        # The default stage is declared below instead: HttpApi's own takes neither throttling nor
        # access logs.
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=f"{Stack.of(self).stack_name}-onboarding",
            description="SellerStream onboarding: sellers authorise the SP-API application",
            create_default_stage=False,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=THROTTLE_RATE_PER_SECOND, burst_limit=THROTTLE_BURST
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )
        integration = integrations.HttpLambdaIntegration("Function", function, timeout=Duration.seconds(29))
        self.routes = [
            route
            for path in (LOGIN_PATH, REDIRECT_PATH)
            for route in self.api.add_routes(
                path=f"/{path}", methods=[apigwv2.HttpMethod.GET], integration=integration
            )
        ]
        for route in self.routes:
            Validations.of(route).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-APIG4",
                    reason="Public by design: Amazon's consent flow sends the seller's browser here without "
                    "credentials. The redirect accepts only a state the login signed (and Amazon's one-time "
                    "code); the stage is throttled and access-logged.",
                )
            )

    @property
    def login_url(self) -> str:
        """The stage's URL ends in a slash (the default stage is the API's root)."""
        return f"{self.stage.url}{LOGIN_PATH}"

    @property
    def redirect_url(self) -> str:
        return f"{self.stage.url}{REDIRECT_PATH}"


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Where and how the stage logs requests (CDK declares the interface, not a class for it)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigateway.AccessLogFormat):
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat | None:
        return self._format
