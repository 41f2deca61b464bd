"""``sellerstream ship``: a shipment request on the deployed fulfillment queue.

The request is checked with the function's own parser before it is sent, so a mistake (a missing
carrier name for ``Other``, an item without a quantity) is one line here rather than a dead letter
later. The marketplace is the stored order's unless ``--marketplace`` names one, and it must be in
the seller's SP-API region (the seller directory's, as the function reads it): Amazon's endpoint of
one region refuses another's marketplaces, so such a request is refused here, before it is queued.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sellerstream import catalog, identifiers
from sellerstream.errors import SellerCredentialsError, UnknownSellerError
from sellerstream.notifications.shipment_request import InvalidShipmentRequestError, parse_shipment_request
from sellerstream.spapi.endpoints import UnknownMarketplaceError, region_for_marketplace
from sellerstream_ops.account import Account
from sellerstream_ops.errors import OperatorError


def parse_items(values: list[str] | None) -> dict[str, int] | None:
    """``ID:QTY`` arguments as {order item id: quantity}; None when none is given (every item)."""
    if not values:
        return None
    items: dict[str, int] = {}
    for value in values:
        item_id, separator, quantity = value.rpartition(":")
        if not separator or not item_id or not quantity.isdigit() or int(quantity) < 1:
            raise OperatorError(f"--item {value!r}: expected ORDER_ITEM_ID:QUANTITY, e.g. 79039765272157:1")
        if item_id in items:
            raise OperatorError(f"--item names {item_id} twice")
        items[item_id] = int(quantity)
    return items


def shipment_message(
    *,
    seller: str,
    order: str,
    marketplace: str,
    carrier: str,
    tracking: str,
    items: dict[str, int] | None,
    carrier_name: str | None = None,
    shipping_method: str | None = None,
    ship_date: datetime | None = None,
    package_reference: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    shipped = (ship_date or datetime.now(UTC)).astimezone(UTC)
    request: dict[str, Any] = {
        "requestId": request_id or str(uuid.uuid4()),
        "sellerId": seller,
        "marketplaceId": marketplace,
        "amazonOrderId": order,
        "packageReferenceId": package_reference,
        "carrierCode": carrier,
        "carrierName": carrier_name,
        "shippingMethod": shipping_method,
        "trackingNumber": tracking,
        "shipDate": shipped.strftime("%Y-%m-%dT%H:%M:%S.") + f"{shipped.microsecond // 1000:03d}Z",
    }
    if items is not None:
        request["orderItems"] = [
            {"orderItemId": item, "quantity": quantity} for item, quantity in items.items()
        ]
    message = {"shipment": {key: value for key, value in request.items() if value is not None}}
    try:
        parse_shipment_request(json.dumps(message))
    except InvalidShipmentRequestError as error:
        raise OperatorError(error.detail) from None
    return message


def stored_marketplace(account: Account, seller: str, order: str) -> str:
    if not identifiers.is_seller_id(seller):
        raise OperatorError("--seller is not a selling partner id (e.g. A3TH9S8BH6GOGM)")
    if not identifiers.is_order_id(order):
        raise OperatorError("--order is not an Amazon order id (3-7-7, e.g. 903-8868176-2219830)")
    response = account.client("dynamodb").get_item(
        TableName=account.outputs[catalog.ORDERS_TABLE.output],
        Key={"pk": {"S": f"SELLER#{seller}"}, "sk": {"S": f"ORDER#{order}"}},
        ProjectionExpression="marketplace_id",
    )
    marketplace = response.get("Item", {}).get("marketplace_id", {}).get("S")
    if not marketplace:
        raise OperatorError(f"order {order} of seller {seller} is not stored: name it with --marketplace")
    return str(marketplace)


def check_region(account: Account, seller: str, marketplace: str) -> None:
    """Refuses a marketplace outside the seller's SP-API regions, as the function would resolve it
    (the marketplace's region must be one the seller's secret holds a token for; a secret from
    before regions that names none serves any)."""
    try:
        marketplace_region = region_for_marketplace(marketplace)
    except UnknownMarketplaceError:
        raise OperatorError(
            f"marketplace {marketplace} is none of Amazon's marketplaces: nothing was queued"
        ) from None
    directory = account.seller_directory()
    try:
        regions = [credentials.region for credentials in directory.regions_of(seller)]
    except UnknownSellerError:
        raise OperatorError(
            f"seller {seller} is not in the seller directory: nothing was queued "
            f"(sellerstream add-seller --seller {seller} first)"
        ) from None
    except SellerCredentialsError as error:
        raise OperatorError(
            f"seller {seller}'s credentials are unusable ({error.detail}): nothing was queued"
        ) from None
    try:
        seller_region = directory.for_notification(
            seller_id=seller, subscription_id="", marketplace_id=marketplace
        ).region
    except UnknownSellerError:
        seller_region = None
    if seller_region is not marketplace_region:
        raise OperatorError(
            f"marketplace {marketplace} is in SP-API region {marketplace_region.name}, outside seller "
            f"{seller}'s {'regions' if len(regions) > 1 else 'region'} {', '.join(r.name for r in regions)}: "
            "nothing was queued"
        )


def send_shipment(account: Account, message: dict[str, Any]) -> dict[str, Any]:
    """Sends a request ``shipment_message`` built, once its marketplace is found in the seller's region."""
    check_region(account, message["shipment"]["sellerId"], message["shipment"]["marketplaceId"])
    queue_url = account.outputs[catalog.consumer_of(catalog.SHIPMENT_REQUEST.name).outputs.queue_url]  # type: ignore[union-attr]
    response = account.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
    shipment = message["shipment"]
    return {
        "request_id": shipment["requestId"],
        "message_id": response["MessageId"],
        "queue_url": queue_url,
        "shipment": shipment,
        # The reference is chosen when the request is applied, unless given: it is then stored with
        # the order (sort key PACKAGE#<order>#<reference>) and in the function's log line.
        "package_reference_id": shipment.get("packageReferenceId"),
    }
