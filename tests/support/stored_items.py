"""Stored items as the adapters write them, built from Amazon's own example responses: what a
table's change stream carries before and after a write."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from sellerstream.adapters.listings import listing_item
from sellerstream.adapters.orders import order_item
from sellerstream.adapters.packages import package_item
from sellerstream.adapters.reports import report_item
from sellerstream.domain.listings import ListingRecord
from sellerstream.domain.packages import StoredPackage
from sellerstream.logic.listing_status import listing_attributes
from sellerstream.logic.order_records import from_orders_2026
from tests.support.spapi_models import load_model

SELLER = "A1SELLEREVENTS"


def amazon_order() -> dict[str, Any]:
    operation = load_model("orders_2026-01-01.json")["paths"]["/orders/2026-01-01/orders/{orderId}"]["get"]
    return copy.deepcopy(operation["responses"]["200"]["examples"]["application/json"]["order"])


def amazon_listing() -> dict[str, Any]:
    operation = load_model("listingsItems_2021-08-01.json")["paths"][
        "/listings/2021-08-01/items/{sellerId}/{sku}"
    ]["get"]
    return copy.deepcopy(operation["responses"]["200"]["examples"]["application/json"])


def order_at(moment: datetime, *, status: str | None = None, seller: str = SELLER) -> dict[str, Any]:
    """Amazon's example order, last updated at ``moment`` (in ``status``), as the orders table holds it."""
    order = amazon_order()
    order["lastUpdatedTime"] = moment.isoformat().replace("+00:00", "Z")
    if status is not None:
        order["fulfillment"]["fulfillmentStatus"] = status
    return order_item(from_orders_2026(seller, order))


def order_pii(seller: str = SELLER) -> dict[str, Any]:
    record = from_orders_2026(seller, amazon_order())
    return dict(record.pii or {})


def listing_at(
    moment: datetime, *, status: list[str] | None = None, marketplace: str = "ATVPDKIKX0DER"
) -> dict[str, Any]:
    item = amazon_listing()
    summary = next(iter(item.get("summaries") or [{}]))
    attributes = listing_attributes(item, summary)
    if status is not None:
        attributes["status"] = status
    return listing_item(ListingRecord(SELLER, marketplace, str(item.get("sku", "SKU-1")), moment, attributes))


def report_record(status: str, *, finished_at: str, rows: int = 120) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ingestion_status": status,
        "report_type": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "processing_status": "DONE",
        "report_document_id": "amzn1.spdoc.1.4.na.doc-1",
        "rows_written": rows,
        "parts": 2,
        "ingest_seconds": 3.5,
        "raw_document": {"bucket": "reports", "key": f"reports/{SELLER}/1234/raw", "compressed": True},
    }
    if status == "COMPLETE":
        record.update(row_count=rows, completed_at=finished_at)
    elif status == "FAILED":
        record.update(error="the document is not UTF-8", failed_at=finished_at)
    return report_item(SELLER, "1234", record)


def package(version: int, *, tracking: str = "1Z999", updated_at: datetime | None = None) -> dict[str, Any]:
    moment = updated_at or datetime(2026, 12, 1, 12, 0) + timedelta(minutes=version)
    return package_item(
        StoredPackage(
            seller_id=SELLER,
            order_id="902-1845936-5435065",
            package_reference_id="1",
            marketplace_id="ATVPDKIKX0DER",
            carrier_code="UPS",
            carrier_name=None,
            shipping_method="Ground",
            tracking_number=tracking,
            ship_date="2026-12-01T10:00:00Z",
            items={"OI-1": 1},
            confirmed_at="2026-12-01T12:00:00Z",
            updated_at=moment.isoformat() + "Z",
            amazon_request_id="req-1",
            request_id="ship-1",
            version=version,
        )
    )
