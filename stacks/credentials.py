"""Where SP-API credentials live: Secrets Manager only, never the template or the environment."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, ArnFormat, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks import constants


class Credentials(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: constants.StageNames) -> None:
        super().__init__(scope, construct_id)
        self.seller_secret_prefix = names.seller_secret_prefix
        # Created with a random placeholder; the operator writes the real client id and secret.
        self.lwa_app_secret = secretsmanager.Secret(
            self,
            "LwaAppSecret",
            secret_name=names.lwa_app_secret_name,
            description="SP-API application's Login with Amazon client id and secret",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"client_id": constants.LWA_PLACEHOLDER_CLIENT_ID}),
                generate_string_key="client_secret",
                exclude_punctuation=True,
            ),
        )
        Validations.of(self.lwa_app_secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SMG4",
                reason="Amazon rotates the LWA client secret (Developer Console or rotateApplicationClientSecret) "
                "and delivers the new one as a notification, which the app-credentials function stores here; "
                "Secrets Manager cannot rotate it.",
            )
        )
        stack = Stack.of(self)
        # One secret per seller, created by the operator (see README): named, not enumerated.
        self.seller_secrets_arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{self.seller_secret_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def grant_client_secret_replacement(self, role: iam.Role) -> None:
        """Read the LWA app secret and write its new versions (a new client secret from Amazon);
        nothing else, not even UpdateSecret (grant_write's description and KMS key changes)."""
        self.lwa_app_secret.grant_read(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:PutSecretValue"], resources=[self.lwa_app_secret.secret_arn]
            )
        )

    def grant_read(self, role: iam.Role) -> None:
        self.lwa_app_secret.grant_read(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[self.seller_secrets_arn]
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                f"<AWS::AccountId>:secret:{self.seller_secret_prefix}*]",
                reason="Sellers are added after deployment, one secret each under this prefix; the function "
                "reads only GetSecretValue, only under the prefix.",
            )
        )
