"""The application's client-secret notifications and the stack's scheduled event, as the parser reads them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sellerstream.errors import InvalidNotificationError, PoisonMessageError
from sellerstream.notifications import (
    ApplicationOAuthClientNewSecretNotification,
    ApplicationOAuthClientSecretExpiryNotification,
    ScheduledEvent,
    parse_notification,
)
from sellerstream_local.notifications_factory import scheduled_event
from tests.support.spapi_models import load_json

NEW_SECRET_EXAMPLE = "examples/notifications/APPLICATION_OAUTH_CLIENT_NEW_SECRET.sample-1.json"
EXPIRY_EXAMPLE = "examples/notifications/APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY.sample-1.json"
SECRET = "amzn1.oa2-cs.v1.8b6XXXXXXXXXXXXXXXXXXXXXXXXX"


def amazon(path: str) -> dict[str, Any]:
    return copy.deepcopy(load_json(path))


def test_given_amazons_new_secret_example_when_parsed_then_secret_and_times_read() -> None:
    notification = parse_notification(json.dumps(amazon(NEW_SECRET_EXAMPLE)))

    assert isinstance(notification, ApplicationOAuthClientNewSecretNotification)
    new = notification.payload.new_secret
    assert new.client_id == "amzn1.application-oa2-client.6XXXXXXXXXXXXXXXXXXXXXXXXX"
    assert new.new_client_secret.get_secret_value() == SECRET
    assert new.new_client_secret_expiry_time == datetime(2024, 7, 8, 22, 9, 17, 198000, tzinfo=UTC)
    assert new.old_client_secret_expiry_time == datetime(2024, 1, 17, 22, 9, 17, 180000, tzinfo=UTC)
    assert notification.seller_id is None
    assert notification.notification_id == "b0805eb9-78f7-49bb-ac0e-XXXXXXXXXXX"


def test_given_amazons_expiry_example_when_parsed_then_expiry_read() -> None:
    notification = parse_notification(json.dumps(amazon(EXPIRY_EXAMPLE)))

    assert isinstance(notification, ApplicationOAuthClientSecretExpiryNotification)
    expiry = notification.payload.expiry
    assert expiry.client_secret_expiry_time == datetime(2024, 3, 3, 22, 6, 39, 224000, tzinfo=UTC)
    assert expiry.client_secret_expiry_reason == "PERIODIC_ROTATION"


def test_given_new_secret_when_shown_dumped_or_refused_then_the_secret_never_appears() -> None:
    notification = parse_notification(json.dumps(amazon(NEW_SECRET_EXAMPLE)))
    broken = amazon(NEW_SECRET_EXAMPLE)
    broken["payload"]["applicationOAuthClientNewSecret"]["clientId"] = 12  # refused, secret beside it
    with_space = amazon(NEW_SECRET_EXAMPLE)
    with_space["payload"]["applicationOAuthClientNewSecret"]["newClientSecret"] = SECRET + " tail"

    shown = [repr(notification), str(notification), json.dumps(notification.model_dump(mode="json"))]
    for body in (broken, with_space):
        with pytest.raises(InvalidNotificationError) as refused:
            parse_notification(json.dumps(body))
        shown.append(str(refused.value))

    for text in shown:
        assert "8b6XXXX" not in text, text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (NEW_SECRET_EXAMPLE, "newClientSecret"),
        (NEW_SECRET_EXAMPLE, "clientId"),
        (EXPIRY_EXAMPLE, "clientSecretExpiryTime"),
        (EXPIRY_EXAMPLE, "clientId"),
    ],
)
def test_given_a_required_field_missing_when_parsed_then_refused_naming_it(path: str, field: str) -> None:
    document = amazon(path)
    payload = next(iter(document["payload"].values()))
    del payload[field]

    with pytest.raises(InvalidNotificationError, match=field) as refused:
        parse_notification(json.dumps(document))

    assert refused.value.notification_id == document["notificationMetadata"]["notificationId"]


def test_given_new_secret_without_expiry_times_when_parsed_then_the_secret_is_still_delivered() -> None:
    document = amazon(NEW_SECRET_EXAMPLE)
    for key in ("newClientSecretExpiryTime", "oldClientSecretExpiryTime"):
        del document["payload"]["applicationOAuthClientNewSecret"][key]

    notification = parse_notification(json.dumps(document))

    assert isinstance(notification, ApplicationOAuthClientNewSecretNotification)
    assert notification.payload.new_secret.new_client_secret_expiry_time is None


def test_given_a_scheduled_event_when_parsed_then_its_id_and_time_name_it() -> None:
    event = scheduled_event(
        at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        rule_arn="arn:aws:events:us-east-1:123456789012:rule/check",
        event_id="89d1a02d-5ec7-412e-82f5-13505f849b41",
    )

    notification = parse_notification(json.dumps(event))

    assert isinstance(notification, ScheduledEvent)
    assert (notification.notification_type, notification.notification_id) == (
        "SCHEDULED_EVENT",
        "89d1a02d-5ec7-412e-82f5-13505f849b41",
    )
    assert notification.event_time == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"time": "yesterday"},
        {"resources": ["x"] * 6},
    ],
)
def test_given_a_malformed_scheduled_event_when_parsed_then_poison(change: dict[str, Any]) -> None:
    event = {**scheduled_event(at=datetime(2026, 3, 1, tzinfo=UTC), rule_arn="arn"), **change}

    with pytest.raises(PoisonMessageError):
        parse_notification(json.dumps(event))


def test_given_a_scheduled_event_with_keys_it_may_gain_then_still_the_scheduled_event() -> None:
    event = {
        **scheduled_event(at=datetime(2026, 3, 1, tzinfo=UTC), rule_arn="arn"),
        "replay-name": "r",
        "NotificationType": "X",
    }

    notification = parse_notification(json.dumps(event))

    assert notification.notification_type == "SCHEDULED_EVENT"
