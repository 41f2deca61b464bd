"""Realistic message bodies: Amazon's notifications, shaped like Amazon's example notifications
(the emulator's, ``emulator.notification_bodies``), and our own messages (the stack's scheduled event,
a seller's shipment request).

The other types local mode shows (FBA inventory, listing issues and MFN quantities, feed results,
offers) are Amazon's example of the type copied whole and addressed anew: the envelope's time and
ids, and the payload's values that say which entity changed and how (a SKU, an ASIN, a quantity, a
time). A value is only ever replaced where Amazon's example has it (``_replace``): no field is
invented. Like the emulator's, these builders spell no type name: each finds its example by its
payload's keys (``notification_bodies.Kind``).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sellerstream import catalog
from sellerstream_local.emulator.notification_bodies import (
    APPLICATION_ID,
    Example,
    Kind,
    application_oauth_client_new_secret,
    application_oauth_client_secret_expiry,
    iso,
    listings_status_change,
    order_change,
    report_processing_finished,
)

__all__ = [
    "APPLICATION_ID",
    "any_offer_changed",
    "application_oauth_client_new_secret",
    "application_oauth_client_secret_expiry",
    "as_body",
    "fba_inventory_availability_change",
    "feed_processing_finished",
    "iso",
    "listings_item_issues_change",
    "listings_item_mfn_quantity_change",
    "listings_status_change",
    "order_change",
    "report_processing_finished",
    "scheduled_event",
    "shipment_request",
]

INVENTORY = Kind("FNSKU", "FulfillmentInventoryByMarketplace")
LISTING_ISSUES = Kind("Sku", "Severities")
MFN_QUANTITY = Kind("Sku", "FulfillmentChannelCode", "Quantity")
FEED_FINISHED = Kind("feedProcessingFinishedNotification")
ANY_OFFER = Kind("AnyOfferChangedNotification")


def as_body(notification: dict[str, Any]) -> str:
    return json.dumps(notification)


def scheduled_event(*, at: datetime, rule_arn: str, event_id: str | None = None) -> dict[str, Any]:
    """What an EventBridge schedule rule delivers to its SQS target (AWS's event reference)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [rule_arn],
        "detail": {},
    }


def shipment_request(
    *,
    seller_id: str,
    order_id: str,
    tracking_number: str,
    carrier_code: str = "UPS",
    shipped_at: datetime,
    request_id: str | None = None,
    marketplace_id: str = "ATVPDKIKX0DER",
    package_reference_id: str | None = None,
    carrier_name: str | None = None,
    shipping_method: str | None = None,
    items: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A fulfillment queue message (``items`` None: every item of the stored order)."""
    request: dict[str, Any] = {
        "requestId": request_id or str(uuid.uuid4()),
        "sellerId": seller_id,
        "marketplaceId": marketplace_id,
        "amazonOrderId": order_id,
        "packageReferenceId": package_reference_id,
        "carrierCode": carrier_code,
        "carrierName": carrier_name,
        "shippingMethod": shipping_method,
        "trackingNumber": tracking_number,
        "shipDate": iso(shipped_at),
    }
    if items is not None:
        request["orderItems"] = [
            {"orderItemId": item, "quantity": quantity} for item, quantity in items.items()
        ]
    return {"shipment": {key: value for key, value in request.items() if value is not None}}


# -- the other types, from Amazon's examples --------------------------------------------------------


def fba_inventory_availability_change(
    *,
    seller_id: str,
    sku: str,
    fnsku: str,
    asin: str,
    changed_at: datetime,
    fulfillable: Mapping[str, int] | None = None,
    subscription_id: str = "subscription-local-fba-inventory",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A SKU's whole FBA inventory, one entry per marketplace as in Amazon's example (the US and
    Canada); ``fulfillable``: the ``Fulfillable`` quantity of some of those marketplaces."""
    document, payload = _addressed(INVENTORY, changed_at, subscription_id, notification_id)
    _replace(payload, SellerId=seller_id, SKU=sku, FNSKU=fnsku, ASIN=asin)
    entries = {entry["MarketplaceId"]: entry for entry in payload["FulfillmentInventoryByMarketplace"]}
    for marketplace_id, quantity in (fulfillable or {}).items():
        if marketplace_id not in entries:
            raise ValueError(f"Amazon's example has no inventory in {marketplace_id}: {sorted(entries)}")
        _replace(entries[marketplace_id]["FulfillmentInventory"], Fulfillable=quantity)
    return document


def listings_item_issues_change(
    *,
    seller_id: str,
    sku: str,
    changed_at: datetime,
    severities: Sequence[str],
    enforcement_actions: Sequence[str] | None = None,
    marketplace_id: str | None = "ATVPDKIKX0DER",
    asin: str | None = None,
    subscription_id: str = "subscription-local-listing-issues",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A listing's issues changed (the payload version sellers subscribe to): ``severities`` those
    of its issues now (``["NONE"]``: none); ``enforcement_actions``, ``marketplace_id`` and ``asin``
    left out when None, as Amazon may."""
    document, payload = _addressed(LISTING_ISSUES, changed_at, subscription_id, notification_id)
    _replace(payload, SellerId=seller_id, Sku=sku, Severities=list(severities))
    for name, value in (
        ("MarketplaceId", marketplace_id),
        ("Asin", asin),
        ("EnforcementActions", list(enforcement_actions) if enforcement_actions is not None else None),
    ):
        if value is None:
            del payload[name]
        else:
            _replace(payload, **{name: value})
    return document


def listings_item_mfn_quantity_change(
    *,
    seller_id: str,
    sku: str,
    quantity: int,
    changed_at: datetime,
    fulfillment_channel_code: str = "DEFAULT",
    subscription_id: str = "subscription-local-mfn-quantity",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A SKU's seller-fulfilled quantity in one channel as of ``changed_at`` (no marketplace)."""
    document, payload = _addressed(MFN_QUANTITY, changed_at, subscription_id, notification_id)
    _replace(
        payload,
        SellerId=seller_id,
        Sku=sku,
        Quantity=quantity,
        FulfillmentChannelCode=fulfillment_channel_code,
    )
    return document


def feed_processing_finished(
    *,
    feed_id: str,
    status: str,
    finished_at: datetime,
    seller_id: str | None,
    account_id: str,
    document_id: str | None = None,
    feed_type: str = "POST_PRODUCT_DATA",
    subscription_id: str = "subscription-local-feeds",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A feed's end: a seller's (Amazon's first example), or a vendor's (``seller_id`` None: its
    second, without ``sellerId``); no ``resultFeedDocumentId`` when ``document_id`` is None."""
    document, payload = _addressed(
        FEED_FINISHED,
        finished_at,
        subscription_id,
        notification_id,
        pick=lambda example: (
            ("sellerId" in example.payload["feedProcessingFinishedNotification"]) == (seller_id is not None)
        ),
    )
    feed = payload["feedProcessingFinishedNotification"]
    _replace(feed, accountId=account_id, feedId=feed_id, feedType=feed_type, processingStatus=status)
    if seller_id is not None:
        _replace(feed, sellerId=seller_id)
    if document_id is None:
        del feed["resultFeedDocumentId"]
    else:
        _replace(feed, resultFeedDocumentId=document_id)
    return document


def any_offer_changed(
    *,
    seller_id: str,
    asin: str,
    changed_at: datetime,
    marketplace_id: str = "ATVPDKIKX0DER",
    item_condition: str = "New",
    buy_box_price: float | None = None,
    subscription_id: str = "subscription-local-offers",
    notification_id: str | None = None,
) -> dict[str, Any]:
    """The offers on one of the seller's ASINs changed at ``changed_at`` (``TimeOfOfferChange``);
    ``buy_box_price``: the new condition's Buy Box landed and listing price (shipping as in the
    example)."""
    document, payload = _addressed(ANY_OFFER, changed_at, subscription_id, notification_id)
    offers = payload["AnyOfferChangedNotification"]
    _replace(offers, SellerId=seller_id)
    _replace(
        offers["OfferChangeTrigger"],
        MarketplaceId=marketplace_id,
        ASIN=asin,
        ItemCondition=item_condition,
        TimeOfOfferChange=iso(changed_at),
    )
    if buy_box_price is not None:
        [buy_box, *_] = offers["Summary"]["BuyBoxPrices"]
        _replace(buy_box["LandedPrice"], Amount=buy_box_price)
        _replace(buy_box["ListingPrice"], Amount=buy_box_price)
    return document


def _addressed(
    kind: Kind,
    sent_at: datetime,
    subscription_id: str,
    notification_id: str | None,
    *,
    pick: Callable[[Example], bool] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A copy of Amazon's example of ``kind`` (the payload version sellers subscribe to, or the one
    ``pick`` chooses) sent at ``sent_at`` to ``subscription_id``; and its payload, to fill in."""
    example = _example(kind, pick)
    document = copy.deepcopy(example.document)
    _set_field(document, "eventTime", iso(sent_at))
    metadata = _field(document, "notificationMetadata")
    for name, value in (
        ("applicationId", APPLICATION_ID),
        ("subscriptionId", subscription_id),
        ("publishTime", iso(sent_at)),
        ("notificationId", notification_id or str(uuid.uuid4())),
    ):
        _set_field(metadata, name, value)
    payload: dict[str, Any] = _field(document, "payload")
    return document, payload


def _example(kind: Kind, pick: Callable[[Example], bool] | None = None) -> Example:
    if pick is not None:
        return next(example for example in kind.examples if pick(example))
    declared = catalog.message_type(kind.type_name)
    version = declared.subscription.payload_version if declared and declared.subscription else None
    return next((e for e in kind.examples if e.payload_version == version), kind.examples[0])


def _field(document: dict[str, Any], name: str) -> Any:
    """A field of the envelope, whatever its case (``NotificationMetadata`` / ``notificationMetadata``)."""
    return document[_key(document, name)]


def _set_field(document: dict[str, Any], name: str, value: Any) -> None:
    document[_key(document, name)] = value


def _key(document: dict[str, Any], name: str) -> str:
    wanted = name.lower()
    return next(key for key in document if key.lower() == wanted)


def _replace(holder: dict[str, Any], **values: Any) -> None:
    """Sets values where Amazon's example has those fields (a field it lacks is a mistake here)."""
    missing = sorted(set(values) - set(holder))
    if missing:
        raise KeyError(f"Amazon's example has no {', '.join(missing)} here: {sorted(holder)}")
    holder.update(values)
