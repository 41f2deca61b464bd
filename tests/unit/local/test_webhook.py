"""The demo's webhook receiver on loopback, and the forwarder that plays EventBridge's API destination
(moto keeps the destination and connection; the forwarder reads them and the connection's secret)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream_local.resources import create_webhook_destination
from sellerstream_local.webhook import ApiDestinationForwarder, WebhookReceiver

KEY = "receiver-test-key"


def event(event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e",
        "detail-type": "Order Changed",
        "source": "sellerstream",
        "detail": {"id": event_id},
    }


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver("x-api-key", KEY) as serving:
        yield serving


@pytest.fixture
def forwarder(receiver: WebhookReceiver) -> Iterator[ApiDestinationForwarder]:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        create_webhook_destination(
            events,
            name="hook",
            endpoint=receiver.url,
            api_key_header="x-api-key",
            api_key=KEY,
            rate_limit_per_second=1000,
        )
        yield ApiDestinationForwarder(events, secrets, "hook")


def test_given_the_connections_key_when_events_forwarded_then_received_whole(
    receiver: WebhookReceiver, forwarder: ApiDestinationForwarder
) -> None:
    result = forwarder.forward([event("a"), event("b"), event("a")])

    assert (result.delivered, result.failed) == (3, [])
    assert receiver.received[0] == event("a")
    assert receiver.view() == {
        "received": 3,
        "by_type": {"Order Changed": 3},
        "distinct_ids": 2,
        "refused": {},
    }


def test_given_a_wrong_key_when_posted_then_401_and_nothing_kept(
    receiver: WebhookReceiver, forwarder: ApiDestinationForwarder
) -> None:
    assert forwarder.post(event("a"), api_key="not-the-key") == 401
    assert forwarder.forward([event("b")]).delivered == 1

    assert receiver.view()["received"] == 1 and receiver.refused == {401: 1}


def test_given_a_body_that_is_no_event_when_answered_then_400(receiver: WebhookReceiver) -> None:
    assert receiver.answer("/sellerstream-events", {"x-api-key": KEY}, b"[1, 2]") == 400
    assert receiver.answer("/elsewhere", {"x-api-key": KEY}, b"{}") == 404
    assert receiver.received == []
