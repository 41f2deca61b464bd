"""``sellerstream replay FILE``: captured SQS bodies through the local pipeline, for debugging.

Every seller and subscription the file mentions gets local credentials first, and the emulator's
view of each order is the newest state the file's notifications describe, as Amazon's would be
when the callback happens. The result is one JSON-able report.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sellerstream_local.pipeline import LocalPipeline
from sellerstream_local.traffic import newest_order_states, try_parse

SP_API_TOKEN_OPERATION = "lwaToken"  # noqa: S105 - an operation name, not a secret


def replay(
    path: Path, *, dump_tables: bool = False, orders_api_version: str = "2026-01-01"
) -> dict[str, Any]:
    bodies = [line.rstrip("\r\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    notifications = [try_parse(body) for body in bodies]
    parsed = [notification for notification in notifications if notification is not None]

    with LocalPipeline(orders_api_version=orders_api_version) as pipeline:
        _provision(pipeline, parsed)
        for state in newest_order_states(parsed).values():
            pipeline.emulator.set_order(
                state.order_id,
                seller_id=state.seller_id,
                last_updated=state.as_of,
                status=state.status,
                marketplace_id=state.marketplace_id,
                purchase_date=state.purchase_date,
            )
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
            "sp_api_calls": {
                operation: count
                for operation, count in sorted(pipeline.emulator.calls.items())
                if operation != SP_API_TOKEN_OPERATION
            },
            "throttled": sum(pipeline.emulator.throttled.values()),
        }
        if dump_tables:
            report["tables"] = {
                name: [plain_json(item) for item in pipeline.table_items(name)]
                for name in pipeline.table_names()
            }
    return report


def _provision(pipeline: LocalPipeline, notifications: list[Any]) -> None:
    subscriptions: dict[str, str] = {}
    for notification in notifications:
        seller = notification.seller_id
        if seller:
            pipeline.provision_seller(seller)
            subscriptions.setdefault(notification.subscription_id, seller)
    for notification in notifications:
        if notification.subscription_id not in subscriptions:
            # A notification without a seller id (a vendor's): its subscription is its only key.
            subscriptions[notification.subscription_id] = f"subscription-{notification.subscription_id}"
    for subscription_id, seller in subscriptions.items():
        pipeline.provision_seller(seller, subscription_ids=(subscription_id,))


def plain_json(value: Any) -> Any:
    """DynamoDB values (Decimal, sets) as plain JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain_json(item) for item in value]
    return value
