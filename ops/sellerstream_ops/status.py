"""``sellerstream status``: queues and dead letters, the events' dead letters, alarms in ALARM, the
app's credentials, and each seller's subscriptions, in one look.

Alarms are this stack's when they notify its alarm topic. Sellers are those with a secret under the
stack's prefix or a routed subscription in the accounts table (plus any named with ``--seller``);
their subscriptions come from SP-API (three calls each; ``--no-spapi`` skips them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sellerstream import catalog, identifiers
from sellerstream.adapters.app_secret import DynamoDBClientSecretStates
from sellerstream.domain.credentials import PLACEHOLDER_CLIENT_ID
from sellerstream.errors import SellerStreamError
from sellerstream.spapi.errors import SpApiError
from sellerstream_local.cli import is_credential
from sellerstream_ops.account import Account
from sellerstream_ops.dead_letters import KINDS, dead_letter_queues
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.events import destinations
from sellerstream_ops.subscriptions import Subscriptions
from stacks.event_destinations import EventsOutputs

QUEUE_COUNTS = {
    "visible": "ApproximateNumberOfMessages",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


def status(account: Account, *, sellers: list[str], spapi: bool) -> dict[str, Any]:
    for seller in sellers:
        # Each is shown in the view: it must be an id (a token given by mistake is not printed).
        if is_credential(seller) or not identifiers.is_seller_key(seller):
            raise OperatorError(f"--seller {seller!r} is not a selling partner (or vendor account) id")
    app = _app_credentials(account)
    known_sellers = sorted({*sellers, *_sellers(account)})
    return {
        "stack": account.stack_name,
        "region": account.region,
        "queues": _queues(account),
        "events": _events(account),
        "alarms_in_alarm": _alarms(account),
        "app_credentials": app,
        "partner_event_sources": partner_event_sources(account),
        "sellers": {
            seller: {
                **_seller_regions(account, seller),
                "subscriptions": _subscriptions(account, seller)
                if spapi and app["client_id_set"]
                else "not checked",
            }
            for seller in known_sellers
        },
    }


def sellers(account: Account) -> dict[str, Any]:
    """``sellerstream sellers``: each seller with its regions, their marketplaces and refusals."""
    return {seller: _seller_regions(account, seller) for seller in sorted(_sellers(account))}


def partner_event_sources(account: Account) -> list[str] | None:
    """The partner event sources the stack associates (one per SP-API region; None: a stack from
    before the output, which associates at most the one in ``PartnerEventBusName``)."""
    text = account.outputs.get(catalog.StackOutputs.PARTNER_EVENT_SOURCES)
    if text is None:
        bus = account.outputs.get(catalog.StackOutputs.PARTNER_EVENT_BUS)
        return [bus] if bus else None
    try:
        listed = json.loads(text)
    except ValueError:
        return None
    return [str(name) for name in listed] if isinstance(listed, list) else None


def _seller_regions(account: Account, seller: str) -> dict[str, Any]:
    """The seller's regions (each with its marketplaces, and LWA's refusal if its token was
    refused: deauthorised), as the seller directory holds them."""
    directory = account.seller_directory()
    try:
        regions = directory.regions_of(seller)
        refusals = directory.refusals_of(seller)
    except SellerStreamError as error:
        return {"regions": f"unreadable: {error}"}
    found: dict[str, Any] = {}
    for credentials in regions:
        stored = directory.marketplaces_of(seller, credentials.region)
        entry: dict[str, Any] = {
            "status": "active",
            "marketplaces": list(stored.listing_marketplaces(credentials.region))
            if stored
            else "not fetched yet",
        }
        refusal = refusals.get(credentials.region)
        if refusal is not None:
            reason, since = refusal
            entry.update(
                status="deauthorised",
                refused=reason,
                since=since.isoformat(),
                next=f"the seller authorises again (onboarding, or add-seller --seller {seller} "
                f"--seller-region {credentials.region.name})",
            )
        found[credentials.region.name] = entry
    return {"regions": found}


def _queues(account: Account) -> dict[str, Any]:
    sqs = account.client("sqs")
    found: dict[str, Any] = {}
    for queue in dead_letter_queues(account, list(KINDS)):
        entry: dict[str, Any] = {}
        if queue.kind != "listings-rule":
            entry["queue"] = _counts(sqs, queue.source_url)
        entry["dead_letters"] = _counts(sqs, queue.url)["visible"]
        found[queue.kind] = entry
    return found


def _events(account: Account) -> dict[str, Any]:
    """SellerStream's bus, and what waits in its dead-letter queues: the publisher's (events
    EventBridge refused, or pointers to stream batches that failed for a day) and each
    destination's (events its target did not take)."""
    outputs = account.outputs
    publisher_dlq = outputs.get(EventsOutputs.DEAD_LETTER_QUEUE_URL)
    if publisher_dlq is None:
        return {"bus": None}  # a stack deployed before events went out
    sqs = account.client("sqs")
    return {
        "bus": outputs.get(EventsOutputs.BUS_NAME),
        "publisher_dead_letters": _counts(sqs, publisher_dlq)["visible"],
        "destinations": {
            entry["name"]: {
                "kind": entry["kind"],
                "dead_letters": _counts(sqs, entry["dead_letter_queue_url"])["visible"],
            }
            for entry in destinations(account)
        },
    }


def _counts(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS.values()))
    values = attributes.get("Attributes", {})
    return {name: int(values.get(attribute, 0)) for name, attribute in QUEUE_COUNTS.items()}


def _alarms(account: Account) -> list[dict[str, str]]:
    topic = account.outputs[catalog.StackOutputs.ALARM_TOPIC_ARN]
    in_alarm = []
    for page in account.client("cloudwatch").get_paginator("describe_alarms").paginate(StateValue="ALARM"):
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            if topic in alarm.get("AlarmActions", []):
                in_alarm.append(
                    {
                        "name": str(alarm["AlarmName"]),
                        "since": str(alarm.get("StateUpdatedTimestamp", "")),
                        "description": str(alarm.get("AlarmDescription", ""))[:200],
                    }
                )
    return in_alarm


def _app_credentials(account: Account) -> dict[str, Any]:
    secret = account.app_secret()
    client_id = secret.get("client_id")
    if client_id == PLACEHOLDER_CLIENT_ID or not isinstance(client_id, str):
        return {
            "client_id_set": False,
            "next": "sellerstream set-app-credentials --client-id <LWA client id>",
        }
    state = DynamoDBClientSecretStates(account.settings().accounts_table_name).get(client_id)
    result: dict[str, Any] = {"client_id_set": True, "client_id": client_id}
    if state is None or state.expires_at is None:
        result["expiry"] = "unknown until Amazon announces it (or set-app-credentials --secret-expires-at)"
        return result
    days_left = (state.expires_at - datetime.now(UTC)).total_seconds() / 86400
    result["secret_expires_at"] = state.expires_at.isoformat()
    result["secret_days_left"] = round(days_left, 1)
    if days_left <= catalog.LWA_SECRET_EXPIRY_WARNING_DAYS:
        result["next"] = "sellerstream rotate-app-secret (after sellerstream app-notifications)"
    return result


def _sellers(account: Account) -> set[str]:
    directory = account.seller_directory()
    return {*directory.known_sellers(), *directory.routed_sellers()}


def _subscriptions(account: Account, seller: str) -> dict[str, Any] | str:
    try:
        current = Subscriptions(
            account.outputs, account.settings(), seller, account.app_credentials()
        ).current()
    except (SpApiError, SellerStreamError, OperatorError) as error:
        return f"could not check: {error}"
    by_region: dict[str, dict[str, str]] = {}
    for entry in current:
        by_region.setdefault(entry["region"], {})[entry["notificationType"]] = (
            entry["subscription"] or {}
        ).get("subscriptionId") or "none"
    return by_region
