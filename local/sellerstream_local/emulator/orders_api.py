"""Orders API operations (2026-01-01 and v0), rendered in Amazon's response shapes.

As strict as Amazon about PII: buyer and recipient data only once an order is Unshipped (never for
Pending or Canceled ones); v0 omits item prices of Pending orders; v0 returns buyer data and
addresses only with a Restricted Data Token that grants them, and getOrderAddress /
getOrderBuyerInfo need one. A seller sees only its own orders: any other id is not found; a
region's endpoint (``/eu/orders/...``) sees only the orders of its marketplaces, as Amazon's do.

``confirmShipment`` validates its body against Amazon's model (``ConfirmShipmentRequest``) and the
order (its marketplace, its items, no more of an item than was ordered across its packages, a
package confirmed again only with the same items), answers 204, moves the order to PartiallyShipped
or Shipped and publishes an order-change notification for it, as Amazon does for any status change.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sellerstream_local.emulator.catalog import OrderCatalog, OrderState, as_datetime
from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.notification_bodies import order_change

OrderChangeListener = Callable[[dict[str, Any]], None]

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
PACKAGE_REFERENCE_ID = re.compile(r"^[1-9][0-9]*$")
# Amazon's model: required in ConfirmShipmentRequest and its PackageDetail / ConfirmShipmentOrderItem.
SHIPMENT_REQUIRED = ("marketplaceId", "packageDetail")
PACKAGE_REQUIRED = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
PACKAGE_STRINGS = (
    "packageReferenceId",
    "carrierCode",
    "carrierName",
    "shippingMethod",
    "trackingNumber",
    "shipDate",
    "shipFromSupplySourceId",
)
# Orders a shipment cannot be confirmed for.
UNSHIPPABLE_STATUSES = frozenset({"Pending", "PendingAvailability", "Canceled", "Unfulfillable"})
INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)


# Amazon shares buyer and recipient data only for these states (v0 vocabulary).
PII_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
FULFILLMENT_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})
# searchOrders: the upper bound must be at least two minutes before the request; tokens live 24 hours.
SEARCH_SETTLE = timedelta(minutes=2)
SEARCH_TOKEN_LIFETIME = timedelta(hours=24)
SEARCH_FILTERS = (
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "fulfillmentStatuses",
    "marketplaceIds",
    "fulfilledBy",
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class OrdersApi:
    def __init__(
        self,
        catalog: OrderCatalog,
        *,
        items_page_size: int = 2,
        orders_page_size: int = 50,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.catalog = catalog
        self.items_page_size = items_page_size
        self.orders_page_size = orders_page_size
        self._now = now or (lambda: datetime.now(UTC))
        # order id -> package reference id -> {order item id: quantity}, as confirmed
        self.packages: dict[str, dict[str, dict[str, int]]] = {}
        self.shipment_confirmations: list[dict[str, Any]] = []  # every accepted request body
        self._order_change_listeners: list[OrderChangeListener] = []

    def on_order_change(self, listener: OrderChangeListener) -> None:
        """Where the order-change notifications of the emulator's own changes go (a subscription)."""
        self._order_change_listeners.append(listener)

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/orders/2026-01-01/orders/(?P<order_id>[^/]+)", "getOrder", self.get_order),
            Route("GET", r"/orders/2026-01-01/orders", "searchOrders", self.search_orders),
            Route(
                "GET",
                r"/orders/v0/orders/(?P<order_id>[^/]+)/orderItems",
                "getOrderItems",
                self.get_order_items_v0,
            ),
            Route(
                "GET",
                r"/orders/v0/orders/(?P<order_id>[^/]+)/address",
                "getOrderAddress",
                self.get_order_address_v0,
            ),
            Route(
                "GET",
                r"/orders/v0/orders/(?P<order_id>[^/]+)/buyerInfo",
                "getOrderBuyerInfo",
                self.get_buyer_info_v0,
            ),
            Route("GET", r"/orders/v0/orders/(?P<order_id>[^/]+)", "getOrder", self.get_order_v0),
            Route("GET", r"/orders/v0/orders", "getOrders", self.get_orders_v0),
            Route(
                "POST",
                r"/orders/v0/orders/(?P<order_id>[^/]+)/shipmentConfirmation",
                "confirmShipment",
                self.confirm_shipment_v0,
            ),
        ]

    # -- 2026-01-01 ------------------------------------------------------------------------------
    def get_order(self, request: EmulatorRequest) -> Reply:
        included = set(request.csv("includedData"))
        unknown = included - INCLUDED_DATA
        if unknown:
            raise ApiError(
                400, "InvalidInput", f"Invalid includedData value(s): {', '.join(sorted(unknown))}"
            )
        state = self._order(request)
        return Reply(200, {"order": render_order_2026(state, included)})

    def _require_rdt(self, request: EmulatorRequest, element: str) -> None:
        if request.restricted is None or element not in request.restricted:
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "This operation requires a Restricted Data Token.",
            )

    def search_orders(self, request: EmulatorRequest) -> Reply:
        """Amazon's searchOrders: the caller's orders created or updated in a window, oldest update
        first, ``maxResultsPerPage`` (1-100, default 100) a page. A page's token resumes after the
        last order it returned; the next request must repeat every filter (``includedData`` and
        ``maxResultsPerPage`` may change)."""
        now = self._now()
        filters = _search_filters(request)
        window = _search_window(filters, now)
        included = set(request.csv("includedData"))
        unknown = included - INCLUDED_DATA
        if unknown:
            raise ApiError(
                400, "InvalidInput", f"Invalid includedData value(s): {', '.join(sorted(unknown))}"
            )
        page_size = _page_size(request.first("maxResultsPerPage"))
        resume_after: tuple[datetime, str] | None = None
        token = request.first("paginationToken")
        if token:
            resume_after = _resume_point(token, filters, now)
        by, start, end = window

        def position(state: OrderState) -> tuple[datetime, str]:
            return getattr(state, by), state.order_id

        states = sorted(
            (
                state
                for state in self.catalog.known()
                if state.seller_id == request.caller
                and request.serves(state.marketplace_id)
                and start <= getattr(state, by) <= end
                and _matches(state, filters)
                and (resume_after is None or position(state) > resume_after)
            ),
            key=position,
        )
        page = states[:page_size]
        body: dict[str, Any] = {
            "orders": [render_order_2026(state, included) for state in page],
            ("createdBefore" if by == "created" else "lastUpdatedBefore"): iso(end),
        }
        if len(states) > page_size:
            body["pagination"] = {"nextToken": _search_token(filters, *position(page[-1]), now)}
        return Reply(200, body)

    # -- v0 --------------------------------------------------------------------------------------
    def get_order_v0(self, request: EmulatorRequest) -> Reply:
        return Reply(200, {"payload": render_order_v0(self._order(request), request.restricted)})

    def get_order_items_v0(self, request: EmulatorRequest) -> Reply:
        state = self._order(request)
        token = request.first("NextToken")
        offset = int(_decode_token(token)["offset"]) if token else 0
        page, next_offset = _page(list(state.items), offset, self.items_page_size)
        payload: dict[str, Any] = {
            "AmazonOrderId": state.order_id,
            "OrderItems": [_item_v0(state, item) for item in page],
        }
        if next_offset is not None:
            payload["NextToken"] = _encode_token({"order": state.order_id, "offset": next_offset})
        return Reply(200, {"payload": payload})

    def get_order_address_v0(self, request: EmulatorRequest) -> Reply:
        self._require_rdt(request, "shippingAddress")
        state = self._order(request)
        payload: dict[str, Any] = {"AmazonOrderId": state.order_id}
        if state.status in PII_STATUSES:
            payload["ShippingAddress"] = _address_v0(state)
        return Reply(200, {"payload": payload})

    def get_buyer_info_v0(self, request: EmulatorRequest) -> Reply:
        self._require_rdt(request, "buyerInfo")
        state = self._order(request)
        payload: dict[str, Any] = {"AmazonOrderId": state.order_id}
        if state.status in PII_STATUSES:
            payload.update(_buyer_v0(state))
        return Reply(200, {"payload": payload})

    def get_orders_v0(self, request: EmulatorRequest) -> Reply:
        token = request.first("NextToken")
        if not request.csv("MarketplaceIds"):
            raise ApiError(400, "InvalidInput", "MarketplaceIds is required")
        if token:
            filters = _decode_token(token)
        else:
            filters = {
                "lastUpdatedAfter": request.first("LastUpdatedAfter"),
                "createdAfter": request.first("CreatedAfter"),
                "offset": 0,
            }
            if not filters["lastUpdatedAfter"] and not filters["createdAfter"]:
                raise ApiError(400, "InvalidInput", "Either CreatedAfter or LastUpdatedAfter is required")
        states = self._filtered(request, filters.get("lastUpdatedAfter"), filters.get("createdAfter"))
        page, next_offset = _page(states, int(filters["offset"]), self.orders_page_size)
        payload: dict[str, Any] = {"Orders": [render_order_v0(state, request.restricted) for state in page]}
        if next_offset is not None:
            payload["NextToken"] = _encode_token({**filters, "offset": next_offset})
        return Reply(200, {"payload": payload})

    def confirm_shipment_v0(self, request: EmulatorRequest) -> Reply:
        body = _shipment_body(request.body)
        state = self._order(request)
        package = body["packageDetail"]
        if body["marketplaceId"] != state.marketplace_id:
            raise ApiError(400, "InvalidInput", "The marketplaceId is not the order's marketplace")
        if state.status in UNSHIPPABLE_STATUSES:
            raise ApiError(
                400, "InvalidInput", f"A shipment cannot be confirmed for an order that is {state.status}"
            )
        ordered = {item.order_item_id: item.quantity for item in state.items}
        shipped_items: dict[str, int] = {}
        for entry in package["orderItems"]:
            if entry["orderItemId"] not in ordered:
                raise ApiError(400, "InvalidInput", "An orderItemId is not an item of the order")
            shipped_items[entry["orderItemId"]] = (
                shipped_items.get(entry["orderItemId"], 0) + entry["quantity"]
            )
        reference = package["packageReferenceId"]
        packages = self.packages.setdefault(state.order_id, {})
        confirmed = packages.get(reference)
        if confirmed is not None and confirmed != shipped_items:
            raise ApiError(
                400, "InvalidInput", "The package was confirmed with other order items or quantities"
            )
        for item_id, quantity in shipped_items.items():
            others = sum(items.get(item_id, 0) for ref, items in packages.items() if ref != reference)
            if others + quantity > ordered[item_id]:
                raise ApiError(400, "InvalidInput", "The quantity exceeds the quantity ordered")
        packages[reference] = shipped_items
        self.shipment_confirmations.append(body)
        shipped = {item: sum(items.get(item, 0) for items in packages.values()) for item in ordered}
        status = "Shipped" if shipped == ordered else "PartiallyShipped"
        if status != state.status:
            self._change_status(state, status)
        return Reply(204, None)

    def _change_status(self, state: OrderState, status: str) -> None:
        changed_at = max(self._now(), state.last_updated + timedelta(seconds=1))
        self.catalog.set(state.order_id, status=status, last_updated=changed_at)
        notification = order_change(
            seller_id=state.seller_id,
            order_id=state.order_id,
            status=status,
            changed_at=changed_at,
            marketplace_id=state.marketplace_id,
            items=[
                {"OrderItemId": item.order_item_id, "SellerSKU": item.seller_sku, "Quantity": item.quantity}
                for item in state.items
            ],
        )
        for listener in list(self._order_change_listeners):
            listener(notification)

    # -- helpers ---------------------------------------------------------------------------------
    def _order(self, request: EmulatorRequest) -> OrderState:
        order_id = request.path_params["order_id"]
        if not ORDER_ID.match(order_id):
            raise ApiError(400, "InvalidInput", "Invalid orderId format")
        state = self.catalog.get(order_id, seller_id=request.caller)
        # A region's endpoint knows only the orders of its marketplaces.
        if state is None or not request.serves(state.marketplace_id):
            raise ApiError(404, "NotFound", "The requested order was not found")
        return state

    def _filtered(
        self, request: EmulatorRequest, last_updated_after: str | None, created_after: str | None
    ) -> list[OrderState]:
        states = [
            state
            for state in self.catalog.known(seller_id=request.caller)
            if request.serves(state.marketplace_id)
        ]
        if last_updated_after:
            threshold = as_datetime(last_updated_after)
            states = [state for state in states if state.last_updated >= threshold]
        if created_after:
            threshold = as_datetime(created_after)
            states = [state for state in states if state.created >= threshold]
        return states


def _shipment_body(raw: bytes) -> dict[str, Any]:
    """A ConfirmShipmentRequest as Amazon's model types it, or Amazon's 400."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ApiError(400, "InvalidInput", "The request body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidInput", "The request body must be a ConfirmShipmentRequest object")
    for name in SHIPMENT_REQUIRED:
        if name not in body:
            raise ApiError(400, "InvalidInput", f"Missing required field: {name}")
    if not isinstance(body["marketplaceId"], str) or not body["marketplaceId"]:
        raise ApiError(400, "InvalidInput", "marketplaceId must be a string")
    if "codCollectionMethod" in body and body["codCollectionMethod"] != "DirectPayment":
        raise ApiError(400, "InvalidInput", "Invalid codCollectionMethod")
    package = body["packageDetail"]
    if not isinstance(package, dict):
        raise ApiError(400, "InvalidInput", "packageDetail must be an object")
    for name in PACKAGE_REQUIRED:
        if package.get(name) in (None, ""):
            raise ApiError(400, "InvalidInput", f"Missing required field: packageDetail.{name}")
    for name in PACKAGE_STRINGS:
        if name in package and not isinstance(package[name], str):
            raise ApiError(400, "InvalidInput", f"packageDetail.{name} must be a string")
    if not PACKAGE_REFERENCE_ID.match(package["packageReferenceId"]):
        raise ApiError(400, "InvalidInput", "packageReferenceId must be a positive number")
    if package["carrierCode"] == "Other" and not package.get("carrierName"):
        raise ApiError(400, "InvalidInput", "carrierName is required when carrierCode is Other")
    try:
        as_datetime(package["shipDate"])
    except ValueError:
        raise ApiError(400, "InvalidInput", "shipDate must be an ISO 8601 date-time") from None
    items = package["orderItems"]
    if not isinstance(items, list) or not items:
        raise ApiError(400, "InvalidInput", "packageDetail.orderItems must be a non-empty list")
    for entry in items:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("orderItemId"), str)
            or type(entry.get("quantity")) is not int
            or entry["quantity"] < 1
        ):
            raise ApiError(
                400, "InvalidInput", "Each order item needs an orderItemId and a positive integer quantity"
            )
        codes = entry.get("transparencyCodes", [])
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise ApiError(400, "InvalidInput", "transparencyCodes must be a list of strings")
    return body


def render_order_2026(state: OrderState, included: set[str]) -> dict[str, Any]:
    shipped = state.status == "Shipped"
    order: dict[str, Any] = {
        "orderId": state.order_id,
        "createdTime": iso(state.created),
        "lastUpdatedTime": iso(state.last_updated),
        "programs": [],
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": state.marketplace_id,
            "marketplaceName": state.marketplace_name,
        },
    }
    # Amazon withholds buyer and recipient data until the order is Unshipped, and for cancelled ones.
    if "BUYER" in included and state.status in PII_STATUSES:
        order["buyer"] = {"buyerName": state.buyer_name, "buyerEmail": state.buyer_email}
    if "RECIPIENT" in included and state.status in PII_STATUSES:
        order["recipient"] = {"deliveryAddress": dict(state.address)}
    if "PROCEEDS" in included:
        total = sum(Decimal(_line_total(item.unit_price, item.quantity)) for item in state.items)
        order["proceeds"] = {"grandTotal": {"amount": str(total), "currencyCode": state.currency}}
    if "FULFILLMENT" in included:
        order["fulfillment"] = {
            "fulfillmentStatus": state.status_2026,
            "fulfilledBy": "MERCHANT",
            "fulfillmentServiceLevel": "STANDARD",
            "shipByWindow": {
                "earliestDateTime": iso(state.created),
                "latestDateTime": iso(state.created + timedelta(days=2)),
            },
            "deliverByWindow": {
                "earliestDateTime": iso(state.created + timedelta(days=3)),
                "latestDateTime": iso(state.created + timedelta(days=7)),
            },
        }
    items = []
    for item in state.items:
        rendered: dict[str, Any] = {
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity,
            "product": {
                "asin": item.asin,
                "title": item.title,
                "sellerSku": item.seller_sku,
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": {"amount": item.unit_price, "currencyCode": state.currency}},
            },
        }
        if "FULFILLMENT" in included:
            rendered["fulfillment"] = {
                "quantityFulfilled": item.quantity if shipped else 0,
                "quantityUnfulfilled": 0 if shipped else item.quantity,
            }
        items.append(rendered)
    order["orderItems"] = items
    return order


def _address_v0(state: OrderState) -> dict[str, Any]:
    address = state.address
    return {
        "Name": address["name"],
        "AddressLine1": address["addressLine1"],
        "City": address["city"],
        "StateOrRegion": address["stateOrRegion"],
        "PostalCode": address["postalCode"],
        "CountryCode": address["countryCode"],
        "AddressType": "Residential",
    }


def _buyer_v0(state: OrderState) -> dict[str, Any]:
    return {"BuyerEmail": state.buyer_email, "BuyerName": state.buyer_name}


def _item_v0(state: OrderState, item: Any) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "ASIN": item.asin,
        "SellerSKU": item.seller_sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.quantity if state.status == "Shipped" else 0,
        "ConditionId": "New",
        "IsGift": "false",
    }
    if state.status != "Pending":  # Amazon omits prices until the payment is authorised
        rendered["ItemPrice"] = {
            "CurrencyCode": state.currency,
            "Amount": _line_total(item.unit_price, item.quantity),
        }
    return rendered


def render_order_v0(state: OrderState, restricted: frozenset[str] | None = None) -> dict[str, Any]:
    """v0's Order; ``restricted`` is what a Restricted Data Token grants (buyerInfo, shippingAddress)."""
    total = sum(Decimal(_line_total(item.unit_price, item.quantity)) for item in state.items)
    quantity = sum(item.quantity for item in state.items)
    shipped = state.status == "Shipped"
    order = {
        "AmazonOrderId": state.order_id,
        "PurchaseDate": iso(state.created),
        "LastUpdateDate": iso(state.last_updated),
        "OrderStatus": state.status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": state.marketplace_name,
        "ShipServiceLevel": "Std US D2D Dom",
        "OrderTotal": {"CurrencyCode": state.currency, "Amount": str(total)},
        "NumberOfItemsShipped": quantity if shipped else 0,
        "NumberOfItemsUnshipped": 0 if shipped else quantity,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": state.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(state.created),
        "LatestShipDate": iso(state.created + timedelta(days=2)),
        "EarliestDeliveryDate": iso(state.created + timedelta(days=3)),
        "LatestDeliveryDate": iso(state.created + timedelta(days=7)),
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
    }
    if state.status == "Pending":
        del order["OrderTotal"]  # no total before the payment is authorised
    if restricted and state.status in PII_STATUSES:
        if "buyerInfo" in restricted:
            order["BuyerInfo"] = _buyer_v0(state)
        if "shippingAddress" in restricted:
            order["ShippingAddress"] = _address_v0(state)
    return order


def _line_total(unit_price: str, quantity: int) -> str:
    return str(Decimal(unit_price) * quantity)


def _page(values: list[Any], offset: int, size: int) -> tuple[list[Any], int | None]:
    page = values[offset : offset + size]
    return page, offset + size if offset + size < len(values) else None


def _encode_token(state: dict[str, Any]) -> str:
    text = "&".join(f"{key}={value}" for key, value in state.items() if value is not None)
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        return dict(pair.split("=", 1) for pair in text.split("&") if pair)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "InvalidInput", "Invalid pagination token") from None


def _search_filters(request: EmulatorRequest) -> dict[str, str]:
    """The request's filters as sent (a token must come with the same ones)."""
    return {name: ",".join(request.query[name]) for name in SEARCH_FILTERS if request.query.get(name)}


def _search_window(filters: dict[str, str], now: datetime) -> tuple[str, datetime, datetime]:
    """("created" or "last_updated", from, to), validated as Amazon documents it."""
    created, updated = "createdAfter" in filters, "lastUpdatedAfter" in filters
    if created == updated:
        raise ApiError(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required")
    after_name, before_name = (
        ("createdAfter", "createdBefore") if created else ("lastUpdatedAfter", "lastUpdatedBefore")
    )
    other_before = "lastUpdatedBefore" if created else "createdBefore"
    if other_before in filters:
        raise ApiError(400, "InvalidInput", f"{other_before} cannot be combined with {after_name}")
    after = _timestamp_filter(filters, after_name)
    latest = now - SEARCH_SETTLE
    before = _timestamp_filter(filters, before_name) if before_name in filters else latest
    if before < after:
        raise ApiError(400, "InvalidInput", f"{before_name} must be equal to or after {after_name}")
    if before > latest:
        raise ApiError(400, "InvalidInput", f"{before_name} must be at least two minutes before the request")
    for name, allowed in (("fulfillmentStatuses", FULFILLMENT_STATUSES), ("fulfilledBy", FULFILLED_BY)):
        invalid = set(filters.get(name, "").split(",")) - allowed - {""}
        if invalid:
            raise ApiError(400, "InvalidInput", f"Invalid {name} value(s): {', '.join(sorted(invalid))}")
    if len(filters.get("marketplaceIds", "").split(",")) > 50:
        raise ApiError(400, "InvalidInput", "At most 50 marketplaceIds")
    return ("created" if created else "last_updated"), after, before


def _timestamp_filter(filters: dict[str, str], name: str) -> datetime:
    try:
        return as_datetime(filters[name])
    except ValueError:
        raise ApiError(400, "InvalidInput", f"{name} is not an ISO 8601 date-time") from None


def _page_size(value: str | None) -> int:
    try:
        size = int(value) if value else 100
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise ApiError(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100")
    return size


def _matches(state: OrderState, filters: dict[str, str]) -> bool:
    statuses = set(filter(None, filters.get("fulfillmentStatuses", "").split(",")))
    marketplaces = set(filter(None, filters.get("marketplaceIds", "").split(",")))
    fulfilled_by = set(filter(None, filters.get("fulfilledBy", "").split(",")))
    return (
        (not statuses or state.status_2026 in statuses)
        and (not marketplaces or state.marketplace_id in marketplaces)
        and (not fulfilled_by or "MERCHANT" in fulfilled_by)  # the emulator's orders are merchant-fulfilled
    )


def _search_token(filters: dict[str, str], last_time: datetime, order_id: str, now: datetime) -> str:
    state = {"filters": filters, "after": [last_time.isoformat(), order_id], "issued": now.isoformat()}
    return base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode()


def _resume_point(token: str, filters: dict[str, str], now: datetime) -> tuple[datetime, str]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        last_time, order_id = state["after"]
        issued = as_datetime(state["issued"])
        resume = (as_datetime(last_time), str(order_id))
        sent_with = state["filters"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "InvalidInput", "Invalid paginationToken") from None
    if now - issued > SEARCH_TOKEN_LIFETIME:
        raise ApiError(400, "InvalidInput", "The paginationToken has expired")
    if sent_with != filters:
        raise ApiError(
            400,
            "InvalidInput",
            "Every parameter but maxResultsPerPage and includedData must repeat the first request",
        )
    return resume
