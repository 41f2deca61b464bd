"""Every type stored as Amazon sends it, from Amazon's own examples, through the deployed path: published
as Amazon delivers it (its SQS queue, or the partner bus and its rule), consumed by the consumer's
real handler on moto, stored by its natural key, and announced once on SellerStream's bus (each event
checked against its JSON Schema). A redelivery and an older change store nothing and announce nothing.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sellerstream import catalog
from sellerstream.notifications.generic import GenericNotification
from sellerstream.timestamps import parse_rfc3339, sortable_timestamp
from sellerstream_local.pipeline import LocalPipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "local" / "sellerstream_local" / "amazon" / "examples" / "notifications"
SCHEMAS = ROOT / "docs" / "events"
SELLER = "A1SELLERSTREAMT"  # the seller the examples' subscription is routed to (conftest's)


def examples() -> list[tuple[str, Path]]:
    cases = [
        (message_type.name, path)
        for message_type in catalog.GENERIC_TYPES
        for path in sorted(EXAMPLES.glob(f"{message_type.name}.*.json"))
    ]
    assert {name for name, _ in cases} == set(catalog.GENERIC_BY_NAME), "an example for every type"
    return cases


def amazons(path: Path, subscription_id: str) -> dict[str, Any]:
    """Amazon's example, addressed to the test's subscription (its own ids are placeholders)."""
    document: dict[str, Any] = copy.deepcopy(json.loads(path.read_text()))
    metadata = document.get("NotificationMetadata", document.get("notificationMetadata"))
    metadata["SubscriptionId" if "SubscriptionId" in metadata else "subscriptionId"] = subscription_id
    return document


def older(document: dict[str, Any], stored: catalog.Stored) -> dict[str, Any]:
    """The same entities an hour earlier, as another notification: a new id, the event's time and
    the payload's own time of the change (``Stored.version``) moved back; the key left as it is."""
    moved = copy.deepcopy(document)
    metadata = moved.get("NotificationMetadata", moved.get("notificationMetadata"))
    name = "NotificationId" if "NotificationId" in metadata else "notificationId"
    metadata[name] = f"{metadata[name]}-older"

    def move(holder: dict[str, Any], path: str) -> None:
        *parents, field = path.split(".")
        for part in parents:
            holder = holder[part]
        if field in holder:
            holder[field] = sortable_timestamp(parse_rfc3339(holder[field]) - timedelta(hours=1))

    move(moved, "EventTime" if "EventTime" in moved else "eventTime")
    payload = moved.get("Payload", moved.get("payload"))
    elements = [payload] if stored.each is None else payload[stored.each]
    for element in elements:
        if stored.version is not None:
            move(element, stored.version)
    return moved


def received(pipeline: LocalPipeline, seen: int) -> list[dict[str, Any]]:
    pipeline.drain()
    pipeline.publish_changes()
    events = pipeline.delivered_events()[seen:]
    for event in events:
        declared = catalog.change_event(event["detail-type"])
        jsonschema.validate(event["detail"], json.loads((SCHEMAS / declared.schema_file).read_text()))
    return events


@pytest.mark.parametrize(("type_name", "path"), examples(), ids=lambda case: getattr(case, "name", case))
def test_given_amazons_example_when_delivered_then_stored_by_its_key_and_announced_once(
    pipeline: LocalPipeline, type_name: str, path: Path
) -> None:
    pipeline.provision_seller(SELLER, subscription_ids=(f"sub-{type_name.lower()}",))
    document = amazons(path, f"sub-{type_name.lower()}")
    entities = GenericNotification.model_validate(document).entities()
    stored = catalog.GENERIC_BY_NAME[type_name].stored
    assert stored is not None

    pipeline.publish(json.dumps(document))
    events = received(pipeline, 0)

    items = [item for item in pipeline.table_items("notifications") if item["notification_type"] == type_name]
    assert sorted(json.dumps(item["key"], sort_keys=True) for item in items) == sorted(
        json.dumps(entity.key, sort_keys=True) for entity in entities
    )
    assert [event["detail-type"] for event in events] == [stored.detail_type] * len(entities)
    assert {json.dumps(event["detail"]["key"], sort_keys=True) for event in events} == {
        json.dumps({"seller_id": items[0]["seller_id"], **entity.key}, sort_keys=True) for entity in entities
    }
    assert pipeline.dead_letters() == []

    pipeline.publish(json.dumps(document))  # Amazon delivers at least once
    if stored.key:  # (a keyless type's every notification is an entity of its own)
        pipeline.publish(json.dumps(older(document, stored)))  # an older change

    assert received(pipeline, len(events)) == []
    assert by_key(pipeline.table_items("notifications")) == by_key(items)
    assert pipeline.dead_letters() == []


def by_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (str(item["pk"]), str(item["sk"])))
