"""The seller directory on AWS: which LWA credentials call SP-API for a notification.

The LWA app (client id/secret) is one Secrets Manager secret. Each seller has one secret, named
``SELLER_SECRET_PREFIX + seller id``, holding a refresh token per SP-API region it authorised:
``{"regions": {"NA": {"refresh_token": …}, "EU": {…}}}``. A secret of one region written before
sellers had several (``{"refresh_token", "region"}``) is read as that one region, and rewritten in
the new shape only when a region is added: no migration. One secret per seller, not per region: a
batch reads it once (cached for ``secrets_cache_seconds``) whatever region a notification is in, and
a seller costs one secret. Adding or removing a region rewrites it under a short lock in the
accounts table, so an operator and the onboarding API adding two regions at once both land.

Notifications without a seller id (vendors' reports) resolve through the accounts table, which maps
``SUBSCRIPTION#<id>`` to a seller id and the region the subscription was created in; that region
also serves a seller's notification that names no marketplace. A seller key must have the shape of
a seller or account id before it names a secret or a key.

A seller's marketplaces in a region (Amazon's getMarketplaceParticipations on that region's
endpoint) live in the accounts table under ``SELLER#<id>#<region>``, with LWA's refusal of the
region's token (deauthorised), not in the secret: they are no secret, the functions that refresh
them then need no write access to any credential, each refresh is a conditional write (a late
answer never replaces a newer one), and every consumer can already read the table. The one item
``SELLER#<id>`` of a seller stored before regions is read for the regions its marketplaces are in.
The accounts table's subscription and seller items are read and written here only.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import Any, Final

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from sellerstream import aws, identifiers
from sellerstream.config import AppSecretSettings, SpApiSettings
from sellerstream.domain.credentials import MarketplaceParticipation, SellerCredentials, SellerMarketplaces
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.endpoints import MARKETPLACE_REGIONS, Region
from sellerstream.timestamps import parse_sortable, sortable_timestamp

SUBSCRIPTION_PREFIX = "SUBSCRIPTION#"
SELLER_PREFIX = "SELLER#"
LOCK_PREFIX = "LOCK#"  # LOCK#SELLER#<id>: held while the seller's secret is rewritten, then deleted
# A seller's secret is rewritten (a region added or removed) under this lease in the accounts table;
# a writer that finds it taken retries for up to LOCK_WAIT_SECONDS (a rewrite takes a second or so).
LOCK_SECONDS: Final = 30
LOCK_WAIT_SECONDS: Final = 20.0


class AwsSellerDirectory:
    def __init__(
        self,
        *,
        accounts_table: str,
        app_secret_id: str,
        seller_secret_prefix: str = "",
        secrets_cache_seconds: int = 21_600,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._accounts_table = accounts_table
        self._app_secret_id = app_secret_id
        self._seller_secret_prefix = seller_secret_prefix
        self._secrets_cache_seconds = secrets_cache_seconds
        self._clock = clock
        self._sleep = sleep
        # Item key -> (monotonic time it is read again, the marketplaces read).
        self._marketplaces: dict[str, tuple[float, SellerMarketplaces]] = {}
        # Subscription id -> (seller, region): a subscription's seller and region never change.
        self._routes: dict[str, tuple[str, Region | None]] = {}
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
        routed_region: Region | None = None
        if seller_id is None:
            seller_id, routed_region = self._route_of(subscription_id)
        tokens, any_region = self._tokens_of(seller_id)
        region = MARKETPLACE_REGIONS.get(marketplace_id) if marketplace_id else None
        if region is None and len(tokens) > 1 and routed_region is None and subscription_id:
            routed_region = self._region_of_subscription(subscription_id)
        region = region or routed_region or next(iter(tokens))
        if region not in tokens and not any_region:  # a region added since the secret was cached
            tokens, any_region = self._tokens_of(seller_id, fresh=True)
        if any_region:  # a secret of one token and no region, from before regions: as it was read
            return SellerCredentials(seller_key=seller_id, refresh_token=tokens[Region.NA], region=region)
        if region not in tokens:
            where = (
                f"marketplace {marketplace_id}'s region" if marketplace_id else "the notification's region"
            )
            raise UnknownSellerError(
                f"seller {seller_id!r} has no credentials in {region.name} ({where}); it has "
                f"{', '.join(r.name for r in tokens)}: add-seller --seller-region {region.name}"
            )
        return SellerCredentials(seller_key=seller_id, refresh_token=tokens[region], region=region)

    def for_seller(self, seller_key: str, region: Region | None = None) -> SellerCredentials:
        """A known seller's credentials in ``region`` (None: its first region)."""
        if not identifiers.is_seller_key(seller_key):
            raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
        tokens, any_region = self._tokens_of(seller_key)
        chosen = region or next(iter(tokens))
        if chosen not in tokens and not any_region:  # a region added since the secret was cached
            tokens, any_region = self._tokens_of(seller_key, fresh=True)
        if any_region:
            return SellerCredentials(seller_key=seller_key, refresh_token=tokens[Region.NA], region=chosen)
        if chosen not in tokens:
            raise UnknownSellerError(f"seller {seller_key!r} has no credentials in {chosen.name}")
        return SellerCredentials(seller_key=seller_key, refresh_token=tokens[chosen], region=chosen)

    def regions_of(self, seller_key: str) -> tuple[SellerCredentials, ...]:
        if not identifiers.is_seller_key(seller_key):
            raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
        return tuple(
            SellerCredentials(seller_key=seller_key, refresh_token=token, region=region)
            for region, token in self._tokens_of(seller_key)[0].items()
        )

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

    def save_seller(self, seller_key: str, *, refresh_token: str, region: Region) -> tuple[str, str]:
        """Writes a seller's refresh token for ``region`` (the operator's ``add-seller``, the
        onboarding API), keeping its other regions; returns the secret's name and whether it was
        ``created``, ``added`` (a region more) or ``updated`` (a new token for a region it had)."""
        name, region = self._secret_of(seller_key), _as_region(region)
        with self._locked(seller_key):
            current = self._current_tokens(name)
            action = "created" if current is None else "updated" if region in current else "added"
            self._write_tokens(
                name, seller_key, {**(current or {}), region: refresh_token}, create=current is None
            )
        self._clear_refusal(seller_key, region)
        self._forgotten.add(name)
        return name, action

    def remove_region(self, seller_key: str, region: Region) -> bool:
        name, region = self._secret_of(seller_key), _as_region(region)
        with self._locked(seller_key):
            current = self._current_tokens(name)
            if current is None or region not in current:
                return False
            remaining = {kept: token for kept, token in current.items() if kept != region}
            if remaining:
                self._write_tokens(name, seller_key, remaining, create=False)
            else:
                # Its last region: the seller is gone. Deleted at once, so it can be added again.
                aws.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        aws.client("dynamodb").delete_item(
            TableName=self._accounts_table, Key={"pk": {"S": _seller_item(seller_key, region)}}
        )
        self._forgotten.add(name)
        return True

    def route_subscription(self, subscription_id: str, seller_id: str, region: Region | None = None) -> None:
        item = {"pk": {"S": f"{SUBSCRIPTION_PREFIX}{subscription_id}"}, "seller_id": {"S": seller_id}}
        if region is not None:
            item["region"] = {"S": _as_region(region).name}
        aws.client("dynamodb").put_item(TableName=self._accounts_table, Item=item)

    def routed_sellers(self) -> set[str]:
        sellers: set[str] = set()
        paginator = aws.client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(TableName=self._accounts_table, ProjectionExpression="pk, seller_id"):
            for item in page.get("Items", []):
                if item.get("pk", {}).get("S", "").startswith(SUBSCRIPTION_PREFIX) and "seller_id" in item:
                    sellers.add(item["seller_id"]["S"])
        return sellers

    def marketplaces_of(self, seller_key: str, region: Region) -> SellerMarketplaces | None:
        """The seller's marketplaces in ``region`` as last stored (None: never fetched, or
        unreadable). A seller's item from before regions counts for the regions it names."""
        key = _seller_item(seller_key, region)
        cached = self._marketplaces.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        marketplaces = _parse_marketplaces(self._get_item(key))
        if marketplaces is None:
            legacy = _parse_marketplaces(self._get_item(_seller_item(seller_key)))
            if legacy is not None and legacy.listing_marketplaces(region):
                marketplaces = legacy
        if marketplaces is not None:
            self._remember(key, marketplaces)
        return marketplaces

    def save_marketplaces(self, seller_key: str, region: Region, marketplaces: SellerMarketplaces) -> bool:
        """Stores Amazon's answer unless one from later is stored; True if written."""
        key = _seller_item(seller_key, region)
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
                Key={"pk": {"S": key}},
                UpdateExpression="SET seller_id = :seller, #region = :region, marketplaces = :marketplaces, "
                "marketplaces_refreshed_at = :at",
                ConditionExpression="attribute_not_exists(marketplaces_refreshed_at) OR "
                "marketplaces_refreshed_at < :at",
                ExpressionAttributeNames={"#region": "region"},
                ExpressionAttributeValues={
                    ":seller": {"S": seller_key},
                    ":region": {"S": _as_region(region).name},
                    ":marketplaces": {"L": entries},
                    ":at": {"S": refreshed_at},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            self._marketplaces.pop(key, None)  # a later answer is stored: read it next time
            return False
        self._remember(key, marketplaces)
        return True

    def mark_refused(self, seller_key: str, region: Region, *, reason: str, at: datetime) -> None:
        """The first refusal's time is kept (``if_not_exists``): ``status`` says since when."""
        aws.client("dynamodb").update_item(
            TableName=self._accounts_table,
            Key={"pk": {"S": _seller_item(seller_key, region)}},
            UpdateExpression="SET seller_id = :seller, #region = :region, refused_reason = :reason, "
            "refused_at = if_not_exists(refused_at, :at)",
            ExpressionAttributeNames={"#region": "region"},
            ExpressionAttributeValues={
                ":seller": {"S": seller_key},
                ":region": {"S": _as_region(region).name},
                ":reason": {"S": reason[:200]},
                ":at": {"S": sortable_timestamp(at)},
            },
        )

    def refusals_of(self, seller_key: str) -> dict[Region, tuple[str, datetime]]:
        refusals: dict[Region, tuple[str, datetime]] = {}
        for region in Region:
            item = self._get_item(_seller_item(seller_key, region)) or {}
            if "refused_at" in item:
                try:
                    at = parse_sortable(item["refused_at"].get("S", ""))
                except ValueError:
                    continue
                refusals[region] = (item.get("refused_reason", {}).get("S", ""), at)
        return refusals

    # -- the secret and its lock --------------------------------------------------------------

    def _secret_of(self, seller_key: str) -> str:
        """The name of the seller's secret, once its key has the shape of an id."""
        if not identifiers.is_seller_key(seller_key):
            raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
        return f"{self._seller_secret_prefix}{seller_key}"

    def _tokens_of(self, seller_key: str, *, fresh: bool = False) -> tuple[dict[Region, str], bool]:
        """The seller's refresh token in each region, in region order (cached with the secret, or
        read ``fresh``), and whether the secret's one token serves any region (the one-region shape
        without a region, read as before: the notification's marketplace's region, else NA)."""
        secret_name = f"{self._seller_secret_prefix}{seller_key}"
        if fresh:
            self._forgotten.add(secret_name)
        secret = self._read_secret(secret_name)
        if secret is None:
            raise UnknownSellerError(
                f"no credentials for seller {seller_key!r} (secret {secret_name!r} is missing)"
            )
        return _tokens(secret, secret_name), "regions" not in secret and not secret.get("region")

    def _current_tokens(self, name: str) -> dict[Region, str] | None:
        """The secret's tokens as they are now (not cached): what a rewrite starts from."""
        try:
            value = aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        try:
            parsed = json.loads(value)
        except ValueError:
            raise SellerCredentialsError(f"secret {name!r} is not a JSON object") from None
        if not isinstance(parsed, dict):
            raise SellerCredentialsError(f"secret {name!r} is not a JSON object")
        return _tokens(parsed, name)

    def _write_tokens(self, name: str, seller_key: str, tokens: dict[Region, str], *, create: bool) -> None:
        ordered = {region.name: {"refresh_token": tokens[region]} for region in Region if region in tokens}
        value = json.dumps({"regions": ordered})
        secrets_manager = aws.client("secretsmanager")
        if create:
            try:
                secrets_manager.create_secret(
                    Name=name, SecretString=value, Description=f"SellerStream seller {seller_key}"
                )
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceExistsException":
                    raise
        secrets_manager.put_secret_value(SecretId=name, SecretString=value)

    @contextmanager
    def _locked(self, seller_key: str) -> Iterator[None]:
        """A lease item while the seller's secret is read and rewritten (Secrets Manager has no
        conditional write), deleted after. A holder that died frees it after ``LOCK_SECONDS``."""
        owner = secrets.token_hex(8)
        key = {"pk": {"S": f"{LOCK_PREFIX}{_seller_item(seller_key)}"}}
        dynamodb = aws.client("dynamodb")
        deadline = self._clock() + LOCK_WAIT_SECONDS
        while True:
            now = self._clock()
            try:
                dynamodb.update_item(
                    TableName=self._accounts_table,
                    Key=key,
                    UpdateExpression="SET credentials_lock = :owner, credentials_lock_until = :until",
                    ConditionExpression="attribute_not_exists(credentials_lock_until) OR "
                    "credentials_lock_until < :now",
                    ExpressionAttributeValues={
                        ":owner": {"S": owner},
                        ":until": {"N": str(int(now) + LOCK_SECONDS)},
                        ":now": {"N": str(int(now))},
                    },
                )
                break
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                if now >= deadline:
                    raise SellerCredentialsError(
                        f"seller {seller_key!r}'s credentials are being written by someone else: try again"
                    ) from None
                self._sleep(0.5)
        try:
            yield
        finally:
            try:
                dynamodb.delete_item(
                    TableName=self._accounts_table,
                    Key=key,
                    ConditionExpression="credentials_lock = :owner",
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def _clear_refusal(self, seller_key: str, region: Region) -> None:
        try:
            aws.client("dynamodb").update_item(
                TableName=self._accounts_table,
                Key={"pk": {"S": _seller_item(seller_key, region)}},
                UpdateExpression="REMOVE refused_at, refused_reason",
                ConditionExpression="attribute_exists(refused_at)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # -- the accounts table -------------------------------------------------------------------

    def _get_item(self, pk: str) -> dict[str, Any] | None:
        response = aws.client("dynamodb").get_item(
            TableName=self._accounts_table, Key={"pk": {"S": pk}}, ConsistentRead=False
        )
        item = response.get("Item")
        return item if isinstance(item, dict) else None

    def _remember(self, key: str, marketplaces: SellerMarketplaces) -> None:
        if self._secrets_cache_seconds > 0:
            self._marketplaces[key] = (time.monotonic() + self._secrets_cache_seconds, marketplaces)

    def _route_of(self, subscription_id: str) -> tuple[str, Region | None]:
        """The seller (and region) a subscription is routed to; raises when it is routed nowhere."""
        if not identifiers.is_subscription_id(subscription_id):
            raise UnknownSellerError("no seller id in the notification and no usable subscription id")
        route = self._routes.get(subscription_id)
        if route is None:
            item = self._get_item(f"{SUBSCRIPTION_PREFIX}{subscription_id}") or {}
            seller = item.get("seller_id", {}).get("S")
            if not seller:
                raise UnknownSellerError(
                    f"no seller id in the notification and subscription {subscription_id!r} is unknown"
                )
            if not identifiers.is_seller_key(seller):
                # An operator's typo in the accounts table must not name an arbitrary secret or key.
                raise UnknownSellerError(
                    f"subscription {subscription_id!r} routes to a value that is not a seller or account id"
                )
            route = (str(seller), _region_name(item.get("region", {}).get("S")))
            self._routes[subscription_id] = route
        return route

    def _region_of_subscription(self, subscription_id: str) -> Region | None:
        """The region a seller's subscription was created in (None: unknown, or not routed)."""
        if not identifiers.is_subscription_id(subscription_id):
            return None
        try:
            return self._route_of(subscription_id)[1]
        except UnknownSellerError:
            return None

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


def _tokens(secret: dict[str, Any], name: str) -> dict[Region, str]:
    """A seller secret's refresh token per region, in region order: ``{"regions": {...}}``, or the
    one-region shape ``{"refresh_token", "region"}`` (no region: NA, as before)."""
    if "regions" in secret:
        regions = secret["regions"]
        if not isinstance(regions, dict):
            raise SellerCredentialsError(f"secret {name!r} has regions that are not an object")
        found: dict[Region, str] = {}
        for region in Region:
            entry = regions.get(region.name)
            if entry is None:
                continue
            token = entry.get("refresh_token") if isinstance(entry, dict) else None
            if not isinstance(token, str) or not token:
                raise SellerCredentialsError(f"secret {name!r} has no refresh_token for {region.name}")
            found[region] = token
        unknown = sorted(set(regions) - {region.name for region in Region})
        if unknown:
            raise SellerCredentialsError(f"unknown region {unknown[0]!r} in seller secret")
        if not found:
            raise SellerCredentialsError(f"secret {name!r} has no region")
        return found
    refresh_token = secret.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise SellerCredentialsError(f"secret {name!r} has no refresh_token")
    configured = secret.get("region")
    if not configured:
        return {Region.NA: refresh_token}
    named = _region_name(configured) if isinstance(configured, str) else None
    if named is None:
        raise SellerCredentialsError(f"unknown region {configured!r} in seller secret")
    return {named: refresh_token}


def _as_region(region: Region | str) -> Region:
    """A region given as the enum, its value (``na``) or its name (``NA``, an operator's)."""
    if isinstance(region, Region):
        return region
    found = _region_name(region)
    if found is None:
        raise ValueError(f"unknown SP-API region {region!r}: NA, EU or FE")
    return found


def _region_name(name: str | None) -> Region | None:
    """A region by its name in a secret or an item (``NA``; ``na`` too), None when it is none."""
    if not name:
        return None
    try:
        return Region[name.upper()]
    except KeyError:
        return None


def _seller_item(seller_key: str, region: Region | None = None) -> str:
    if not identifiers.is_seller_key(seller_key):
        raise UnknownSellerError("the seller id has the shape of neither a seller nor an account id")
    return f"{SELLER_PREFIX}{seller_key}" + (f"#{_as_region(region).name}" if region is not None else "")


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
