"""Every type stored as Amazon sends it, from Amazon's own examples, through the deployed path
(``tests.support.type_kit``): stored by its natural key and announced once on SellerStream's bus; a
redelivery and an older change store nothing and announce nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sellerstream import catalog
from sellerstream.notifications.generic import GenericNotification
from sellerstream_local.pipeline import LocalPipeline
from tests.support.type_kit import amazon_example, deliver, example_files, older

SELLER = "A1SELLERSTREAMT"  # the seller the examples' subscriptions are routed to


def cases() -> list[tuple[str, int]]:
    found = [(t.name, index) for t in catalog.GENERIC_TYPES for index, _ in enumerate(example_files(t.name))]
    assert {name for name, _ in found} == set(catalog.GENERIC_BY_NAME), "an example for every type"
    return found


@pytest.mark.parametrize(("type_name", "index"), cases())
def test_given_amazons_example_when_delivered_then_stored_by_its_key_and_announced_once(
    pipeline: LocalPipeline, type_name: str, index: int
) -> None:
    subscription = f"sub-{type_name.lower()}"
    pipeline.provision_seller(SELLER, subscription_ids=(subscription,))
    document = amazon_example(type_name, index=index, subscription_id=subscription)
    entities = GenericNotification.model_validate(document).entities()
    stored = catalog.GENERIC_BY_NAME[type_name].stored
    assert stored is not None

    delivered = deliver(pipeline, document)

    items = [item for item in pipeline.table_items("notifications") if item["notification_type"] == type_name]
    assert sorted(as_text(item["key"]) for item in items) == sorted(
        as_text(entity.key) for entity in entities
    )
    assert [event["detail-type"] for event in delivered.events] == [stored.detail_type] * len(entities)
    assert {as_text(event["detail"]["key"]) for event in delivered.events} == {
        as_text({"seller_id": items[0]["seller_id"], **entity.key}) for entity in entities
    }
    assert delivered.dead_letters == []

    again = [document]  # Amazon delivers at least once
    if stored.key:  # (a keyless type's every notification is an entity of its own)
        again.append(older(document, stored))

    assert deliver(pipeline, *again) == ([], [])
    assert by_key(pipeline.table_items("notifications")) == by_key(items)


def as_text(key: Any) -> str:
    return json.dumps(key, sort_keys=True)


def by_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (str(item["pk"]), str(item["sk"])))
