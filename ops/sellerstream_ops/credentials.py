"""Credentials in Secrets Manager, written only after LWA accepted them, in the shape the functions read.

- ``add-seller``: a seller's refresh token for one SP-API region, in its secret
  ``<seller secret prefix><seller id>`` (one token per region: a second region is added beside the
  first), validated by one LWA exchange; the seller's existing subscriptions in that region routed in
  the accounts table, and its marketplaces there (Sellers API getMarketplaceParticipations) stored in
  the seller directory. ``remove-seller`` forgets one region.
- ``set-app-credentials``: the LWA app secret = ``{"client_id", "client_secret"}``, validated by one
  client-credentials exchange; what was known about the old secret's expiry is replaced.
- ``rotate-app-secret``: Amazon's grantless rotation; the new secret arrives as a notification on the
  app-credentials queue and the function stores it.
- ``app-notifications``: where the application's client-secret notifications must go (the Developer
  Console takes it; Amazon offers no API for it) and whether the queue is ready for them.

Secrets come from a file, standard input or a prompt, never from the command line (shell history,
process lists), and are never printed.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sellerstream import catalog, identifiers
from sellerstream.adapters.app_secret import DynamoDBClientSecretStates
from sellerstream.domain.credentials import SellerMarketplaces
from sellerstream.errors import SellerStreamError
from sellerstream.logic.seller_marketplaces import participations_of
from sellerstream.spapi import defaults
from sellerstream.spapi.applications import ApplicationsApi
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.client import SellerContext
from sellerstream.spapi.endpoints import LWA_TOKEN_URL, Region
from sellerstream.spapi.errors import LwaAuthError, SpApiClientError, SpApiError
from sellerstream.spapi.notifications import NOTIFICATIONS_SCOPE
from sellerstream.spapi.sellers import SellersApi
from sellerstream_local.cli import is_credential, looks_secret
from sellerstream_ops.account import Account
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.status import partner_event_sources
from sellerstream_ops.subscriptions import Subscriptions, spapi_client
from stacks import constants

# LWA refresh tokens and client secrets are printable ASCII without spaces ("Atzr|…", "amzn1.oa2-cs.v1.…").
_TOKEN = re.compile(r"[\x21-\x7e]{1,2048}")


def read_secret_value(label: str, source: Path | None) -> str:
    """A secret from ``source`` ("-": standard input), else standard input when piped, else a prompt."""
    if source is not None and str(source) != "-":
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            if looks_secret(str(source)):  # the secret itself where its file's name goes: not shown
                raise OperatorError(
                    f"no such file: the option names a file holding the {label}, not the {label} itself"
                ) from None
            raise OperatorError(f"{source}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise OperatorError(f"{source}: cannot be read ({type(error).__name__})") from None
        value = text.strip()
    elif source is not None or not sys.stdin.isatty():
        value = sys.stdin.readline().strip()
    else:
        value = getpass.getpass(f"{label} (not echoed): ").strip()
    if not value:
        raise OperatorError(f"no {label} given")
    if not _TOKEN.fullmatch(value):
        raise OperatorError(f"the {label} must be one line of printable ASCII without spaces")
    return value


def _token_url(account: Account) -> str:
    return account.settings().lwa_endpoint_override or LWA_TOKEN_URL


def add_seller(account: Account, seller_id: str, region: str, refresh_token: str) -> dict[str, Any]:
    if is_credential(seller_id):
        raise OperatorError("--seller holds a credential, not a selling partner id: nothing was sent")
    if not identifiers.is_seller_key(seller_id):
        raise OperatorError(
            f"{seller_id!r} is not a selling partner id (e.g. A3TH9S8BH6GOGM) or vendor account id (amzn1.…)"
        )
    app = account.app_credentials()
    try:
        # The shared provider: the token from this one exchange also serves the subscription lookups.
        defaults.token_provider().access_token(
            app, refresh_token=refresh_token, token_url=_token_url(account)
        )
    except LwaAuthError as error:
        raise OperatorError(
            f"LWA refused the refresh token for {seller_id} ({error.code or error.status}): nothing was written; "
            "check that the token is this seller's authorisation of this app"
        ) from None
    settings = account.settings()
    directory = account.seller_directory()
    name, action = directory.save_seller(seller_id, refresh_token=refresh_token, region=Region[region])
    routed = Subscriptions(account.outputs, settings, seller_id, app, region=Region[region]).route_existing()
    result: dict[str, Any] = {
        "seller": seller_id,
        "region": region,
        "regions": [seller.region.name for seller in directory.regions_of(seller_id)],
        "secret": name,
        "action": action,
        "refresh_token": "accepted by LWA",
        "routed_subscriptions": routed,
        "marketplaces": _store_marketplaces(account, app, seller_id, region, refresh_token),
    }
    if not routed:
        result["next"] = f"sellerstream subscribe --seller {seller_id} --seller-region {region}"
    return result


def remove_seller(account: Account, seller_id: str, region: str) -> dict[str, Any]:
    """Forgets the seller's credentials in ``region``, after deleting its subscriptions there (so
    Amazon stops sending what no credentials could serve). A deauthorised seller's subscriptions
    cannot be deleted with its token: that is reported, and the credentials are removed anyway."""
    if is_credential(seller_id) or not identifiers.is_seller_key(seller_id):
        raise OperatorError(f"--seller {seller_id!r} is not a selling partner (or vendor account) id")
    directory = account.seller_directory()
    try:
        tool = Subscriptions(account.outputs, account.settings(), seller_id, region=Region[region])
    except SellerStreamError:
        raise OperatorError(
            f"seller {seller_id} has no credentials in {region}: nothing was changed"
        ) from None
    try:
        unsubscribed: Any = [
            action for action in tool.unsubscribe(delete_destinations=False) if action["action"] == "deleted"
        ]
    except (SpApiError, LwaAuthError) as error:
        unsubscribed = f"not deleted ({error}); they stop when Amazon finds the app deauthorised"
    directory.remove_region(seller_id, Region[region])
    try:
        remaining = [seller.region.name for seller in directory.regions_of(seller_id)]
    except SellerStreamError:
        remaining = []
    return {
        "seller": seller_id,
        "removed_region": region,
        "regions": remaining,
        "subscriptions_deleted": unsubscribed,
    }


def _store_marketplaces(
    account: Account, app: LwaCredentials, seller_id: str, region: str, refresh_token: str
) -> dict[str, Any]:
    """The seller's marketplaces from Amazon, stored in the seller directory; a refusal is reported,
    not fatal (the seller is added: its first listing event or reconciliation fetches them)."""
    seller = SellerContext(seller_id, refresh_token, Region[region])
    try:
        payload = SellersApi(spapi_client(account.settings(), app, seller)).get_marketplace_participations()
    except SpApiError as error:
        return {
            "stored": False,
            "reason": f"getMarketplaceParticipations: {error}",
            "next": "fetched when the seller's first listing event or reconciliation needs them",
        }
    marketplaces = SellerMarketplaces(participations_of(payload, seller_id), datetime.now(UTC))
    account.seller_directory().save_marketplaces(seller_id, Region[region], marketplaces)
    return {
        "stored": True,
        "participating": [p.marketplace_id for p in marketplaces.participations if p.participating],
        "not_participating": [p.marketplace_id for p in marketplaces.participations if not p.participating],
        "listings_in": list(marketplaces.listing_marketplaces(Region[region])),
    }


def set_app_credentials(
    account: Account, client_id: str, client_secret: str, expires_at: datetime | None
) -> dict[str, Any]:
    if is_credential(client_id):
        raise OperatorError(
            "--client-id holds a credential (the client secret?), not the client id: nothing was sent; "
            "the secret is read from --client-secret-file, standard input or a prompt"
        )
    if not identifiers.is_lwa_client_id(client_id):
        raise OperatorError(
            f"{client_id!r} is not an LWA client id (amzn1.application-oa2-client.…, from the Developer Console)"
        )
    credentials = LwaCredentials(client_id, client_secret)
    try:
        defaults.token_provider().access_token(
            credentials, scope=NOTIFICATIONS_SCOPE, token_url=_token_url(account)
        )
    except LwaAuthError as error:
        raise OperatorError(
            f"LWA refused the client id and secret ({error.code or error.status}): nothing was written"
        ) from None
    secret_id = account.outputs[catalog.StackOutputs.LWA_APP_SECRET_ARN]
    account.client("secretsmanager").put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"client_id": client_id, "client_secret": client_secret})
    )
    DynamoDBClientSecretStates(account.settings().accounts_table_name).record_operator_secret(
        client_id, updated_at=datetime.now(UTC), expires_at=expires_at
    )
    return {
        "secret": secret_id,
        "client_id": client_id,
        "client_secret": "accepted by LWA",
        "expires_at": expires_at.isoformat() if expires_at else "unknown until Amazon announces it",
    }


def rotate_app_secret(account: Account) -> dict[str, Any]:
    app = account.app_credentials()
    try:
        ApplicationsApi(spapi_client(account.settings(), app, None)).rotate_client_secret()
    except SpApiClientError as error:
        if error.status == 400:
            raise OperatorError(
                "Amazon refused to rotate: the application is not enrolled for rotation notifications; "
                "register the app-credentials queue in the Developer Console first (sellerstream app-notifications)"
            ) from None
        raise
    return {
        "rotation": "requested",
        "client_id": app.client_id,
        "next": "Amazon sends the new secret to the app-credentials queue, where it is stored in the LWA app "
        "secret; the old secret keeps working for 7 days (sellerstream status shows the new expiry)",
    }


def app_notifications(account: Account) -> dict[str, Any]:
    """The Developer Console steps, with this stack's queue, and whether that queue admits Amazon."""
    app_types = [
        t for t in catalog.message_types() if t.transport is catalog.Transport.SQS and t.subscription is None
    ]
    consumer = catalog.consumer_of(app_types[0].name)
    assert consumer is not None
    queue_arn = account.outputs[consumer.outputs.queue_arn]
    queue_url = account.outputs.get(consumer.outputs.queue_url)
    admits_amazon = None
    if queue_url:
        attributes = account.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
        admits_amazon = constants.SPAPI_NOTIFICATIONS_ACCOUNT_ID in attributes.get("Attributes", {}).get(
            "Policy", ""
        )
    return {
        "destination": queue_arn,
        "notificationTypes": [message_type.name for message_type in app_types],
        "queue_admits_amazon": admits_amazon,
        # The sellers' EventBridge types come through these (one per SP-API region in use).
        "partner_event_sources": partner_event_sources(account),
        "how": [
            "Sign in to the Developer Console (Solution Provider Portal, or Seller Central: Apps and Services, "
            "Develop Apps) and open Notification Preferences",
            "For your application, in the rows Application Client Secret Expiry and Application Client New "
            f"Secret, add the SQS destination {queue_arn}, and subscribe both rows",
            "Amazon offers no API for this step; sellerstream rotate-app-secret is refused until it is done",
        ],
    }
