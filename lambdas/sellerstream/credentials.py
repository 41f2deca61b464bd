"""Resolving which LWA credentials call SP-API for a notification.

The LWA app (client id/secret) is one Secrets Manager secret; each seller's refresh token is a
secret named ``SELLER_SECRET_PREFIX + seller id``. Notifications without a seller id (vendors'
reports) resolve through the accounts table, which maps ``SUBSCRIPTION#<id>`` to a seller id.
Secrets are cached for ``SECRETS_CACHE_SECONDS`` so a batch costs one Secrets Manager call.
A seller key must have the shape of a seller or account id before it names a secret or a key.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellerstream import aws, identifiers
from sellerstream.config import Settings
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import Region, UnknownMarketplaceError, region_for_marketplace


class SellerCredentials:
    # A plain class, not a dataclass (a cold start's millisecond); the repr never shows the token.
    __slots__ = ("refresh_token", "region", "seller_key")

    def __init__(self, seller_key: str, refresh_token: str, region: Region) -> None:
        self.seller_key = seller_key
        self.refresh_token = refresh_token
        self.region = region

    def __repr__(self) -> str:
        return f"SellerCredentials(seller_key={self.seller_key!r}, region={self.region!r})"


class CredentialsResolver:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _secrets(self) -> SecretsProvider:
        return SecretsProvider(boto3_client=aws.client("secretsmanager"))

    def lwa_app(self) -> LwaCredentials:
        secret = self._read_secret(self._settings.lwa_app_secret_id)
        if secret is None:
            # The stack creates this secret: its absence is a deployment error, not a bad message.
            raise RuntimeError(f"LWA app secret {self._settings.lwa_app_secret_id!r} does not exist")
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
        secret_name = f"{self._settings.seller_secret_prefix}{seller_key}"
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
        prefix = self._settings.seller_secret_prefix
        sellers: set[str] = set()
        paginator = aws.client("secretsmanager").get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for secret in page.get("SecretList", []):
                name = str(secret.get("Name", ""))
                seller_key = name[len(prefix) :] if name.startswith(prefix) else ""
                if identifiers.is_seller_key(seller_key):
                    sellers.add(seller_key)
        return sorted(sellers)

    def _seller_for_subscription(self, subscription_id: str) -> str:
        if not identifiers.is_subscription_id(subscription_id):
            raise UnknownSellerError("no seller id in the notification and no usable subscription id")
        response = aws.client("dynamodb").get_item(
            TableName=self._settings.accounts_table_name,
            Key={"pk": {"S": f"SUBSCRIPTION#{subscription_id}"}},
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
            value = self._secrets.get(name, max_age=self._settings.secrets_cache_seconds, transform="json")
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
