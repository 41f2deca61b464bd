"""Shipped packages, kept with their order in the orders table.

Amazon never returns the package reference a shipment was confirmed with, and a later tracking
update must name it: so it is kept here. Keys: ``pk = SELLER#<seller>`` (the order's partition),
``sk = PACKAGE#<order id>#<package reference id>``, so one query reads an order's packages.

Every write is conditional on the version it was decided on (none for a new package): two requests
for one package processed at once cannot interleave, the later write fails and its record is
retried, and then sees what the first one stored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.adapters.dynamo import from_attribute_map, is_condition_failure, to_attribute_map
from sellerstream.domain.packages import ConcurrentPackageUpdateError, StoredOrderItems, StoredPackage

PACKAGE_PREFIX = "PACKAGE#"


def package_item(package: StoredPackage) -> dict[str, Any]:
    return {
        "pk": f"SELLER#{package.seller_id}",
        "sk": package_sort_key(package.order_id, package.package_reference_id),
        "record_type": "package",
        "seller_id": package.seller_id,
        "order_id": package.order_id,
        "package_reference_id": package.package_reference_id,
        "marketplace_id": package.marketplace_id,
        "carrier_code": package.carrier_code,
        "carrier_name": package.carrier_name,
        "shipping_method": package.shipping_method,
        "tracking_number": package.tracking_number,
        "ship_date": package.ship_date,
        "order_items": [
            {"order_item_id": item, "quantity": qty} for item, qty in sorted(package.items.items())
        ],
        "confirmed_at": package.confirmed_at,
        "updated_at": package.updated_at,
        "amazon_request_id": package.amazon_request_id,
        "request_id": package.request_id,
        "version": package.version,
    }


def package_of(item: dict[str, Any]) -> StoredPackage:
    return StoredPackage(
        seller_id=str(item["seller_id"]),
        order_id=str(item["order_id"]),
        package_reference_id=str(item["package_reference_id"]),
        marketplace_id=str(item["marketplace_id"]),
        carrier_code=str(item["carrier_code"]),
        carrier_name=_optional(item.get("carrier_name")),
        shipping_method=_optional(item.get("shipping_method")),
        tracking_number=str(item["tracking_number"]),
        ship_date=str(item["ship_date"]),
        items={str(entry["order_item_id"]): int(entry["quantity"]) for entry in item.get("order_items", [])},
        confirmed_at=str(item["confirmed_at"]),
        updated_at=str(item.get("updated_at", item["confirmed_at"])),
        amazon_request_id=_optional(item.get("amazon_request_id")),
        request_id=str(item.get("request_id", "")),
        version=int(item.get("version", 1)),
    )


def package_sort_key(order_id: str, package_reference_id: str) -> str:
    return f"{PACKAGE_PREFIX}{order_id}#{package_reference_id}"


class DynamoDBPackageStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def packages_of(self, seller_id: str, order_id: str) -> list[StoredPackage]:
        """The order's packages (strongly consistent: a decision is taken on them)."""
        packages: list[StoredPackage] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"SELLER#{seller_id}"},
                ":prefix": {"S": f"{PACKAGE_PREFIX}{order_id}#"},
            },
            "ConsistentRead": True,
        }
        while True:
            response = aws.client("dynamodb").query(**request)
            packages.extend(package_of(from_attribute_map(item)) for item in response["Items"])
            last = response.get("LastEvaluatedKey")
            if not last:
                return packages
            request["ExclusiveStartKey"] = last

    def order_items(self, seller_id: str, order_id: str) -> StoredOrderItems | None:
        """The stored order's items and quantities (either Orders API's shape), or None if not stored."""
        response = aws.client("dynamodb").get_item(
            TableName=self._table_name,
            Key={"pk": {"S": f"SELLER#{seller_id}"}, "sk": {"S": f"ORDER#{order_id}"}},
            ProjectionExpression="marketplace_id, #items",
            ExpressionAttributeNames={"#items": "items"},
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = from_attribute_map(response["Item"])
        quantities: dict[str, int] = {}
        for entry in item.get("items") or []:
            if not isinstance(entry, dict):
                continue
            # Orders 2026-01-01: orderItemId / quantityOrdered; v0: OrderItemId / QuantityOrdered.
            item_id = entry.get("orderItemId", entry.get("OrderItemId"))
            quantity = entry.get("quantityOrdered", entry.get("QuantityOrdered"))
            if isinstance(item_id, str) and isinstance(quantity, int | Decimal):
                quantities[item_id] = int(quantity)
        return StoredOrderItems(_optional(item.get("marketplace_id")), quantities)

    def put(self, package: StoredPackage, *, expected_version: int | None) -> None:
        """Writes the package if it is still as read (absent when ``expected_version`` is None)."""
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        try:
            aws.client("dynamodb").put_item(
                TableName=self._table_name, Item=to_attribute_map(package_item(package)), **condition
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ConcurrentPackageUpdateError(
                    f"package {package.package_reference_id} of order {package.order_id} changed meanwhile"
                ) from None
            raise


def _optional(value: Any) -> str | None:
    return str(value) if value is not None else None
