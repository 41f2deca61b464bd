"""The seller directory on AWS: which LWA credentials call SP-API for a notification.

The LWA app (client id/secret) is one Secrets Manager secret; each seller's refresh token is a
secret named ``SELLER_SECRET_PREFIX + seller id``. Notifications without a seller id (vendors'
reports) resolve through the accounts table, which maps ``SUBSCRIPTION#<id>`` to a seller id.
Secrets are cached for ``SECRETS_CACHE_SECONDS`` so a batch costs one Secrets Manager call.
A seller key must have the shape of a seller or account id before it names a secret or a key.

A seller's marketplaces (Amazon's getMarketplaceParticipations) live in the accounts table under
``SELLER#<id>``, not in its secret: they are no secret, the functions that refresh them then need
no write access to any credential (and a refresh can never race an operator's new refresh token),
each refresh is a conditional write (a late answer never replaces a newer one) rather than a new
secret version, and every consumer can already read the table. Cached like the secrets.
The accounts table's subscription and seller items are read and written here only.
"""

from __future__ import annotations

import json
import time
from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellerstream import aws, identifiers
from sellerstream.config import AppSecretSettings, SpApiSettings
from sellerstream.domain.credentials import MarketplaceParticipation, SellerCredentials, SellerMarketplaces
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import Region, UnknownMarketplaceError, region_for_marketplace
from sellerstream.timestamps import parse_sortable, sortable_timestamp

SUBSCRIPTION_PREFIX = "SUBSCRIPTION#"
SELLER_PREFIX = "SELLER#"


class AwsSellerDirectory:
    def __init__(
        self,
        *,
        accounts_table: str,
        app_secret_id: str,
        seller_secret_prefix: str = "",
        secrets_cache_seconds: int = 3600,
    ) -> None:
        self._accounts_table = accounts_table
        self._app_secret_id = app_secret_id
        self._seller_secret_prefix = seller_secret_prefix
        self._secrets_cache_seconds = secrets_cache_seconds
        # Seller key -> (monotonic time it is read again, the marketplaces read).
        self._marketplaces: dict[str, tuple[float, SellerMarketplaces]] = {}
        self._forgotten: set[str] = set()  # secrets read afresh at their next use

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

    def forget(self, seller_key: str) -> None:
        self._forgotten.update((f"{self._seller_secret_prefix}{seller_key}", self._app_secret_id))

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

    def marketplaces_of(self, seller_key: str) -> SellerMarketplaces | None:
        """The seller's marketplaces as last stored (None: never fetched, or unreadable)."""
        cached = self._marketplaces.get(seller_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        response = aws.client("dynamodb").get_item(
            TableName=self._accounts_table, Key={"pk": {"S": _seller_item(seller_key)}}, ConsistentRead=False
        )
        marketplaces = _parse_marketplaces(response.get("Item"))
        if marketplaces is not None:
            self._remember(seller_key, marketplaces)
        return marketplaces

    def save_marketplaces(self, seller_key: str, marketplaces: SellerMarketplaces) -> bool:
        """Stores Amazon's answer unless one from later is stored; True if written."""
        refreshed_at = sortable_timestamp(marketplaces.refreshed_at)
        entries = [
            {
                "M": {
                    "marketplace_id": {"S": participation.marketplace_id},
                    "participating": {"BOOL": participation.participating},
                    "has_suspended_listings": {"BOOL": participation.has_suspended_listings},
                    **(
                        {"country_code": {"S": participation.country_code}}
                        if participation.country_code
                        else {}
                    ),
                }
            }
            for participation in marketplaces.participations
        ]
        try:
            aws.client("dynamodb").update_item(
                TableName=self._accounts_table,
                Key={"pk": {"S": _seller_item(seller_key)}},
                UpdateExpression="SET seller_id = :seller, marketplaces = :marketplaces, "
                "marketplaces_refreshed_at = :at",
                ConditionExpression="attribute_not_exists(marketplaces_refreshed_at) OR "
                "marketplaces_refreshed_at < :at",
                ExpressionAttributeValues={
                    ":seller": {"S": seller_key},
                    ":marketplaces": {"L": entries},
                    ":at": {"S": refreshed_at},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            self._marketplaces.pop(seller_key, None)  # a later answer is stored: read it next time
            return False
        self._remember(seller_key, marketplaces)
        return True

    def _remember(self, seller_key: str, marketplaces: SellerMarketplaces) -> None:
        if self._secrets_cache_seconds > 0:
            self._marketplaces[seller_key] = (time.monotonic() + self._secrets_cache_seconds, marketplaces)

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
            fresh = name in self._forgotten
            value = self._secrets.get(
                name, max_age=self._secrets_cache_seconds, transform="json", force_fetch=fresh
            )
            self._forgotten.discard(name)
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


def _seller_item(seller_key: str) -> str:
    if not identifiers.is_seller_key(seller_key):
        raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
    return f"{SELLER_PREFIX}{seller_key}"


def _parse_marketplaces(item: dict[str, Any] | None) -> SellerMarketplaces | None:
    """The stored marketplaces; None when there are none or their time is unreadable (fetched
    again). Entries without a marketplace id are left out."""
    if not item or "marketplaces_refreshed_at" not in item:
        return None
    try:
        refreshed_at = parse_sortable(item["marketplaces_refreshed_at"].get("S", ""))
    except ValueError:
        return None
    participations = []
    for entry in item.get("marketplaces", {}).get("L", []):
        values = entry.get("M", {}) if isinstance(entry, dict) else {}
        marketplace_id = values.get("marketplace_id", {}).get("S")
        if not marketplace_id:
            continue
        participations.append(
            MarketplaceParticipation(
                marketplace_id=marketplace_id,
                participating=bool(values.get("participating", {}).get("BOOL", False)),
                country_code=values.get("country_code", {}).get("S"),
                has_suspended_listings=bool(values.get("has_suspended_listings", {}).get("BOOL", False)),
            )
        )
    return SellerMarketplaces(tuple(participations), refreshed_at)


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
