"""A notification type's end-to-end test in a few lines: one of Amazon's examples in, through the
deployed path on the local pipeline (its queue or the partner bus, the consumer's real handler, the
change streams and the publisher), the stored items and the events on SellerStream's bus out::

    document = amazon_example("FBA_INVENTORY_AVAILABILITY_CHANGES", subscription_id="sub-1")
    delivered = deliver(pipeline, document)
    assert [e["detail-type"] for e in delivered.events] == ["Inventory Changed"] * 2

Every event is checked against its detail-type's JSON Schema in ``docs/events/``.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema

from sellerstream import catalog
from sellerstream.timestamps import parse_rfc3339, sortable_timestamp
from sellerstream_local.emulator.vendored import AMAZON
from sellerstream_local.pipeline import LocalPipeline

EXAMPLES = AMAZON / "examples" / "notifications"
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


class Delivered(NamedTuple):
    events: list[dict[str, Any]]  # what the bus delivered since the previous delivery
    dead_letters: list[Any]  # everything dead-lettered so far


def example_files(type_name: str) -> list[Path]:
    """Amazon's examples of a type (and, where Amazon ships none, the one assembled from its schema)."""
    return sorted(EXAMPLES.glob(f"{type_name}.*.json"))


def amazon_example(type_name: str, *, index: int = 0, subscription_id: str | None = None) -> dict[str, Any]:
    """Amazon's example of a type, addressed to ``subscription_id`` (its own ids are placeholders)."""
    document: dict[str, Any] = json.loads(example_files(type_name)[index].read_text())
    if subscription_id is not None:
        metadata = _field(document, "NotificationMetadata")
        metadata["SubscriptionId" if "SubscriptionId" in metadata else "subscriptionId"] = subscription_id
    return document


def deliver(pipeline: LocalPipeline, *documents: dict[str, Any]) -> Delivered:
    """Each document as Amazon delivers it, every queue drained, the changes published."""
    seen = len(pipeline.delivered_events())
    for document in documents:
        pipeline.publish(json.dumps(document))
    pipeline.drain()
    pipeline.publish_changes()
    events = pipeline.delivered_events()[seen:]
    for event in events:
        declared = catalog.change_event(event["detail-type"])
        jsonschema.validate(event["detail"], json.loads((SCHEMAS / declared.schema_file).read_text()))
    return Delivered(events, pipeline.dead_letters())


def older(
    document: dict[str, Any], stored: catalog.Stored, by: timedelta = timedelta(hours=1)
) -> dict[str, Any]:
    """The same entities ``by`` earlier, as another notification: a new id, the event's time and
    the payload's own time of the change (``Stored.version``) moved back; the key left as it is."""
    moved = copy.deepcopy(document)
    metadata = _field(moved, "NotificationMetadata")
    name = "NotificationId" if "NotificationId" in metadata else "notificationId"
    metadata[name] = f"{metadata[name]}-older"

    def move(holder: dict[str, Any], path: str) -> None:
        *parents, leaf = path.split(".")
        for part in parents:
            holder = holder[part]
        if leaf in holder:
            holder[leaf] = sortable_timestamp(parse_rfc3339(holder[leaf]) - by)

    move(moved, "EventTime" if "EventTime" in moved else "eventTime")
    payload = _field(moved, "Payload")
    for element in [payload] if stored.each is None else payload[stored.each]:
        if stored.version is not None:
            move(element, stored.version)
    return moved


def _field(document: dict[str, Any], pascal: str) -> Any:
    return document[pascal] if pascal in document else document[pascal[0].lower() + pascal[1:]]
