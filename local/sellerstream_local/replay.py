"""``sellerstream replay FILE``: captured SQS bodies through the local pipeline, for debugging.

Every seller and subscription the file mentions gets local credentials first, and the emulator's
view of each order is the newest state the file's notifications describe, as Amazon's would be
when the callback happens; a report's document is the captured one from ``--documents DIR`` when
it is there. The result is one JSON-able report.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sellerstream.notifications import AnyNotification
from sellerstream_local.pipeline import LocalPipeline
from sellerstream_local.traffic import (
    REPLAY_REPORT_ROWS,
    account_key,
    newest_listings,
    newest_order_states,
    reports,
    try_parse,
)


def replay(
    path: Path,
    *,
    dump_tables: bool = False,
    orders_api_version: str = "2026-01-01",
    documents: Path | None = None,
) -> dict[str, Any]:
    """``documents``: a directory of captured report documents, ``<reportDocumentId>`` (gzip or
    plain, as Amazon served it) and optionally ``<reportDocumentId>.content-type`` (the header)."""
    bodies = [line.rstrip("\r\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    notifications = [try_parse(body) for body in bodies]
    parsed = [notification for notification in notifications if notification is not None]

    with LocalPipeline(orders_api_version=orders_api_version) as pipeline:
        _provision(pipeline, parsed)
        _set_amazons_view(pipeline, parsed, documents)
        index_of = {pipeline.publish(body): index for index, body in enumerate(bodies)}
        stats = pipeline.drain()
        dead_letters = pipeline.dead_letters()
        report: dict[str, Any] = {
            "received": len(bodies),
            "succeeded": stats.succeeded,
            "dead_lettered": [
                {"notification_id": letter.notification_id, "reason": letter.reason, "detail": letter.detail}
                if letter.notification_id
                else {
                    "message_index": index_of[letter.message_id],
                    "reason": letter.reason,
                    "detail": letter.detail,
                }
                for letter in sorted(dead_letters, key=lambda letter: index_of[letter.message_id])
            ],
            "sp_api_calls": pipeline.emulator.sp_api_calls(),
            "throttled": sum(pipeline.emulator.throttled.values()),
        }
        if dump_tables:
            report["tables"] = {
                name: [plain_json(item) for item in pipeline.table_items(name)]
                for name in pipeline.table_names()
            }
    return report


def _provision(pipeline: LocalPipeline, notifications: list[AnyNotification]) -> None:
    """Local credentials for every seller (or vendor account) and a route for every subscription."""
    routes: dict[str, str] = {}
    for notification in notifications:
        routes.setdefault(notification.subscription_id, account_key(notification))
    for notification in notifications:
        pipeline.provision_seller(account_key(notification))
    for subscription_id, account in routes.items():
        pipeline.provision_seller(account, subscription_ids=(subscription_id,))


def _set_amazons_view(
    pipeline: LocalPipeline, notifications: list[AnyNotification], documents: Path | None = None
) -> None:
    emulator = pipeline.emulator
    for state in newest_order_states(notifications).values():
        emulator.set_order(
            state.order_id,
            seller_id=state.seller_id,
            last_updated=state.as_of,
            status=state.status,
            marketplace_id=state.marketplace_id,
            purchase_date=state.purchase_date,
        )
    for (seller_id, sku, marketplace_id), listing in newest_listings(notifications).items():
        if "DELETED" in listing.payload.status:
            emulator.delete_listing(seller_id, sku, marketplace_id)
        else:
            emulator.set_listing(
                seller_id,
                sku,
                marketplace_id,
                status=list(listing.payload.status),
                last_updated=listing.event_time,
            )
    for report_id, notification in reports(notifications).items():
        report = notification.payload.report
        captured = _captured_document(documents, report.report_document_id)
        emulator.add_report(
            report_id,
            report_type=report.report_type,
            status=report.processing_status,
            document_id=report.report_document_id,
            rows=REPLAY_REPORT_ROWS,
            **captured,
        )


def _captured_document(documents: Path | None, document_id: str | None) -> dict[str, Any]:
    """The captured document for a report, as ``add_report`` options (none: a generated one)."""
    if documents is None or not document_id:
        return {}
    path = documents / document_id
    if not path.is_file():
        return {}
    header = path.with_name(document_id + ".content-type")
    content_type = header.read_text(encoding="ascii").strip() or None if header.is_file() else None
    return {"captured": path.read_bytes(), "content_type": content_type}


def plain_json(value: Any) -> Any:
    """DynamoDB values (Decimal, sets) as plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain_json(item) for item in value]
    return value
