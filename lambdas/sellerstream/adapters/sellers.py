"""The seller directory on AWS: which LWA credentials call SP-API for a notification.

The LWA app (client id/secret) is one Secrets Manager secret; each seller's refresh token is a
secret named ``SELLER_SECRET_PREFIX + seller id``. Notifications without a seller id (vendors'
reports) resolve through the accounts table, which maps ``SUBSCRIPTION#<id>`` to a seller id.
Secrets are cached for ``SECRETS_CACHE_SECONDS`` so a batch costs one Secrets Manager call.
A seller key must have the shape of a seller or account id before it names a secret or a key.
The accounts table's subscription items are read and written here only.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellerstream import aws, identifiers
from sellerstream.config import AppSecretSettings, SpApiSettings
from sellerstream.domain.credentials import SellerCredentials
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import Region, UnknownMarketplaceError, region_for_marketplace

SUBSCRIPTION_PREFIX = "SUBSCRIPTION#"


class AwsSellerDirectory:
    def __init__(
        self,
        *,
        accounts_table: str,
        app_secret_id: str,
        seller_secret_prefix: str = "",
        secrets_cache_seconds: int = 300,
    ) -> None:
        self._accounts_table = accounts_table
        self._app_secret_id = app_secret_id
        self._seller_secret_prefix = seller_secret_prefix
        self._secrets_cache_seconds = secrets_cache_seconds

    @cached_property
    def _secrets(self) -> SecretsProvider:
        return SecretsProvider(boto3_client=aws.client("secretsmanager"))

    def lwa_app(self) -> LwaCredentials:
        secret = self._read_secret(self._app_secret_id)
        if secret is None:
            # The stack creates this secret: its absence is a deployment error, not a bad message.
            raise RuntimeError(f"LWA app secret {self._app_secret_id!r} does not exist")
        try:
            return LwaCredentials(
                client_id=str(secret["client_id"]), client_secret=str(secret["client_secret"])
            )
        except KeyError as missing:
            raise RuntimeError(f"LWA app secret lacks key {missing}") from None

    def for_notification(
        self, *, seller_id: str | None, subscription_id: str, marketplace_id: str | None = None
    ) -> SellerCredentials:
        if seller_id is not None and not identifiers.is_seller_key(seller_id):
            raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
        seller_key = seller_id or self._seller_for_subscription(subscription_id)
        secret_name = f"{self._seller_secret_prefix}{seller_key}"
        secret = self._read_secret(secret_name)
        if secret is None:
            raise UnknownSellerError(
                f"no credentials for seller {seller_key!r} (secret {secret_name!r} is missing)"
            )
        refresh_token = secret.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise SellerCredentialsError(f"secret {secret_name!r} has no refresh_token")
        return SellerCredentials(
            seller_key=seller_key,
            refresh_token=refresh_token,
            region=_region(secret.get("region"), marketplace_id),
        )

    def for_seller(self, seller_key: str) -> SellerCredentials:
        """A known seller's credentials, by its seller (or account) id."""
        return self.for_notification(seller_id=seller_key, subscription_id="")

    def known_sellers(self) -> list[str]:
        """Every seller with a secret under the seller prefix (a routed subscription's seller needs
        one too), in name order; names without a seller id's shape are left out."""
        prefix = self._seller_secret_prefix
        sellers: set[str] = set()
        paginator = aws.client("secretsmanager").get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for secret in page.get("SecretList", []):
                name = str(secret.get("Name", ""))
                seller_key = name[len(prefix) :] if name.startswith(prefix) else ""
                if identifiers.is_seller_key(seller_key):
                    sellers.add(seller_key)
        return sorted(sellers)

    def save_seller(self, seller_key: str, *, refresh_token: str, region: str) -> tuple[str, str]:
        """Writes a seller's credentials (the operator's ``add-seller``); returns the secret's name and
        whether it was ``created`` or ``updated``."""
        if not identifiers.is_seller_key(seller_key):
            raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
        name = f"{self._seller_secret_prefix}{seller_key}"
        value = json.dumps({"refresh_token": refresh_token, "region": region})
        secrets = aws.client("secretsmanager")
        try:
            secrets.create_secret(
                Name=name, SecretString=value, Description=f"SellerStream seller {seller_key}"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceExistsException":
                raise
            secrets.put_secret_value(SecretId=name, SecretString=value)
            return name, "updated"
        return name, "created"

    def route_subscription(self, subscription_id: str, seller_id: str) -> None:
        aws.client("dynamodb").put_item(
            TableName=self._accounts_table,
            Item={"pk": {"S": f"{SUBSCRIPTION_PREFIX}{subscription_id}"}, "seller_id": {"S": seller_id}},
        )

    def routed_sellers(self) -> set[str]:
        sellers: set[str] = set()
        paginator = aws.client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(TableName=self._accounts_table, ProjectionExpression="pk, seller_id"):
            for item in page.get("Items", []):
                if item.get("pk", {}).get("S", "").startswith(SUBSCRIPTION_PREFIX) and "seller_id" in item:
                    sellers.add(item["seller_id"]["S"])
        return sellers

    def _seller_for_subscription(self, subscription_id: str) -> str:
        if not identifiers.is_subscription_id(subscription_id):
            raise UnknownSellerError("no seller id in the notification and no usable subscription id")
        response = aws.client("dynamodb").get_item(
            TableName=self._accounts_table,
            Key={"pk": {"S": f"{SUBSCRIPTION_PREFIX}{subscription_id}"}},
            ConsistentRead=False,
        )
        seller = response.get("Item", {}).get("seller_id", {}).get("S")
        if not seller:
            raise UnknownSellerError(
                f"no seller id in the notification and subscription {subscription_id!r} is unknown"
            )
        if not identifiers.is_seller_key(seller):
            # An operator's typo in the accounts table must not name an arbitrary secret or key.
            raise UnknownSellerError(
                f"subscription {subscription_id!r} routes to a value that is not a seller or account id"
            )
        return str(seller)

    def _read_secret(self, name: str) -> dict[str, Any] | None:
        try:
            value = self._secrets.get(name, max_age=self._secrets_cache_seconds, transform="json")
        except TransformParameterError:
            raise SellerCredentialsError(f"secret {name!r} is not a JSON object") from None
        except GetParameterError as error:
            cause = error.__context__
            if (
                isinstance(cause, ClientError)
                and cause.response["Error"]["Code"] == "ResourceNotFoundException"
            ):
                return None
            raise
        if not isinstance(value, dict):
            raise SellerCredentialsError(f"secret {name!r} is not a JSON object")
        return value


def _region(configured: object, marketplace_id: str | None) -> Region:
    if isinstance(configured, str) and configured:
        try:
            return Region[configured.upper()]
        except KeyError:
            raise SellerCredentialsError(f"unknown region {configured!r} in seller secret") from None
    if marketplace_id:
        try:
            return region_for_marketplace(marketplace_id)
        except UnknownMarketplaceError:
            return Region.NA
    return Region.NA


def seller_directory(settings: AppSecretSettings) -> AwsSellerDirectory:
    """The directory a function's settings describe (one that calls SP-API knows the seller prefix)."""
    if isinstance(settings, SpApiSettings):
        return AwsSellerDirectory(
            accounts_table=settings.accounts_table_name,
            app_secret_id=settings.lwa_app_secret_id,
            seller_secret_prefix=settings.seller_secret_prefix,
            secrets_cache_seconds=settings.secrets_cache_seconds,
        )
    return AwsSellerDirectory(
        accounts_table=settings.accounts_table_name, app_secret_id=settings.lwa_app_secret_id
    )
