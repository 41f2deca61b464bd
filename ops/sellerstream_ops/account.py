"""Which AWS account, region and stack a command acts on, checked before anything is called.

The region is found as the CDK CLI finds it (``AWS_REGION``, then ``AWS_DEFAULT_REGION``, then the
profile's), unless ``--region`` names one or ``--outputs-file`` holds the stack's ARNs. boto3 itself
reads only ``AWS_DEFAULT_REGION``, so the region found is set there for every client this process
creates (the runtime's ``sellerstream.aws`` clients included).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, ProfileNotFound

from sellerstream import aws, catalog
from sellerstream.adapters.sellers import AwsSellerDirectory
from sellerstream.config import SpApiSettings
from sellerstream.domain.credentials import PLACEHOLDER_CLIENT_ID
from sellerstream.spapi.auth import LwaCredentials
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.outputs import StackOutputs
from stacks import constants

NO_REGION = (
    "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile), "
    "as for make deploy, or pass --region"
)
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE (after `aws sso login` if it uses SSO) or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@dataclass(frozen=True)
class Target:
    """What the command line says about where to act."""

    stack: str | None = None
    stage: str | None = None
    outputs_file: Path | None = None
    region: str | None = None

    @property
    def stack_name(self) -> str | None:
        if self.stack:
            return self.stack
        if self.stage:
            try:
                return constants.StageNames(self.stage).stack_id
            except ValueError as error:
                raise OperatorError(str(error)) from None
        return None


class Account:
    def __init__(self, region: str, outputs: StackOutputs) -> None:
        self.region = region
        self.outputs = outputs

    @property
    def stack_name(self) -> str:
        return self.outputs.stack_name

    def client(self, service: str) -> Any:
        return aws.client(service)

    def settings(self) -> SpApiSettings:
        """What the runtime's modules need, from the stack's outputs (as the stack gives its functions)."""
        return self.outputs.settings(os.environ)

    def seller_directory(self) -> AwsSellerDirectory:
        """The sellers' credentials and subscriptions, as the functions see them."""
        settings = self.settings()
        return AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
            secrets_cache_seconds=0,
        )

    def app_secret(self) -> dict[str, Any]:
        """The LWA app secret's JSON (never shown); an operator error when it is unusable."""
        secret_id = self.outputs[catalog.StackOutputs.LWA_APP_SECRET_ARN]
        try:
            value = self.client("secretsmanager").get_secret_value(SecretId=secret_id)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise OperatorError(
                    f"the LWA app secret {secret_id!r} does not exist: deploy the stack (make deploy)"
                ) from None
            raise
        try:
            document = json.loads(value.get("SecretString") or "")
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise OperatorError(
                f"the LWA app secret {secret_id!r} is not a JSON object: run sellerstream set-app-credentials"
            )
        return document

    def app_credentials(self) -> LwaCredentials:
        """The LWA app's client id and secret, refusing the stack's placeholder."""
        document = self.app_secret()
        client_id, client_secret = document.get("client_id"), document.get("client_secret")
        if client_id == PLACEHOLDER_CLIENT_ID:
            raise OperatorError(
                "the LWA app secret still holds the stack's placeholder client id: "
                "run sellerstream set-app-credentials --client-id <your app's LWA client id> first"
            )
        if not isinstance(client_id, str) or not isinstance(client_secret, str) or not client_secret:
            raise OperatorError(
                "the LWA app secret lacks client_id or client_secret: run sellerstream set-app-credentials"
            )
        return LwaCredentials(client_id=client_id, client_secret=client_secret)


def connect(target: Target) -> Account:
    """The account, region and stack outputs, or an operator error saying which is missing."""
    file_outputs = None
    if target.outputs_file is not None:
        file_outputs = StackOutputs.from_file(target.outputs_file, target.stack_name)
    region = target.region or (file_outputs.region if file_outputs else None) or _configured_region()
    if not region:
        raise OperatorError(NO_REGION)
    os.environ["AWS_DEFAULT_REGION"] = region
    aws.reset_clients()
    try:
        credentials = boto3.Session(region_name=region).get_credentials()
    except ProfileNotFound as error:
        raise OperatorError(f"AWS profile not found: {error}") from None
    if credentials is None:
        raise OperatorError(NO_CREDENTIALS)
    if file_outputs is not None:
        return Account(region, file_outputs)
    stack_name = target.stack_name or constants.APP_NAME
    outputs = StackOutputs.from_cloudformation(aws.client("cloudformation"), stack_name, region)
    return Account(region, outputs)


def _configured_region() -> str | None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    try:
        region: str | None = boto3.Session().region_name
    except ProfileNotFound as error:
        raise OperatorError(f"AWS profile not found: {error}") from None
    return region
