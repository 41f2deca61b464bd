"""The LWA client secret end to end in local mode: Amazon announces its expiry, a rotation delivers a new
one, the app-credentials function stores it, the hourly check reports the days left, and every
function keeps calling SP-API with the new secret once the old one stops working."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream_local.notifications_factory import (
    application_oauth_client_new_secret,
    application_oauth_client_secret_expiry,
    as_body,
    order_change,
)
from sellerstream_local.pipeline import LWA_CLIENT_ID, LWA_CLIENT_SECRET, LocalPipeline
from stacks import constants
from tests.integration.conftest import SELLER
from tests.support.spapi_models import load_json

ORDER = "123-4567890-1234567"
NOW = datetime.now(UTC)


@pytest.fixture
def pipeline(log_stream: io.StringIO) -> Iterator[LocalPipeline]:
    # No secret cache: the order function must see a rotated secret at once (in AWS: within 5 minutes,
    # while the old secret still works for seven days).
    with LocalPipeline(
        emulator_time_scale=50.0, log_stream=log_stream, settings={"secrets_cache_seconds": 0}
    ) as local:
        local.provision_seller(SELLER)
        yield local


def app_secret(pipeline: LocalPipeline) -> dict[str, Any]:
    value = pipeline.secrets.get_secret_value(SecretId=constants.LWA_APP_SECRET_NAME)["SecretString"]
    document: dict[str, Any] = json.loads(value)
    return document


def secret_state(pipeline: LocalPipeline) -> dict[str, Any]:
    [state] = [item for item in pipeline.table_items("accounts") if str(item["pk"]).startswith("LWA_CLIENT#")]
    return state


def results(pipeline: LocalPipeline, log_stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")]
    return [
        line.get("result") or {"outcome": line.get("outcome")}
        for line in lines
        if line.get("notification_type")
        in (
            *("APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "APPLICATION_OAUTH_CLIENT_NEW_SECRET"),
            "SCHEDULED_EVENT",
        )
        and line.get("message") in ("notification applied", "duplicate notification skipped")
    ]


def rotate(pipeline: LocalPipeline) -> None:
    pipeline.rotate_app_secret()


def test_given_expiry_announced_when_processed_then_expiry_stored_and_hourly_check_warns(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    expires = NOW + timedelta(days=5)
    pipeline.emulator.applications.announce_expiry(LWA_CLIENT_ID, expires_at=expires)
    pipeline.drain()
    pipeline.run_secret_expiry_check()

    pipeline.drain()

    state = secret_state(pipeline)
    assert state["expires_at_source"] == "expiry_notice" and state["expiry_reason"] == "PERIODIC_ROTATION"
    [recorded, checked] = results(pipeline, log_stream)
    assert recorded["outcome"] == "expiry_recorded" and 4.9 < recorded["days_left"] <= 5
    assert checked["outcome"] == "checked" and 4.9 < checked["days_left"] <= 5
    assert "LWA client secret expires soon and no newer secret has arrived" in log_stream.getvalue()
    assert app_secret(pipeline)["client_secret"] == LWA_CLIENT_SECRET  # a notice never writes the secret


def test_given_rotation_when_new_secret_arrives_then_stored_and_orders_use_it_after_the_old_one_expires(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.emulator.applications.announce_expiry(LWA_CLIENT_ID, expires_at=NOW + timedelta(days=3))
    pipeline.drain()

    rotate(pipeline)
    pipeline.drain()

    new_secret = pipeline.emulator.applications.current_secret(LWA_CLIENT_ID)
    assert new_secret != LWA_CLIENT_SECRET
    assert app_secret(pipeline) == {"client_id": LWA_CLIENT_ID, "client_secret": new_secret}
    state = secret_state(pipeline)
    assert state["expires_at_source"] == "new_secret"
    assert state["expires_at"] > (NOW + timedelta(days=179)).isoformat()
    assert state["previous_secret_expires_at"] < (NOW + timedelta(days=8)).isoformat()
    # The old secret stops working; fresh tokens must come from the new one.
    pipeline.emulator.applications.expire_previous_secrets(LWA_CLIENT_ID)
    pipeline.emulator.expire_access_tokens()
    pipeline.emulator.set_order(ORDER, seller_id=SELLER, last_updated=NOW, status="Unshipped")
    pipeline.publish(
        as_body(order_change(seller_id=SELLER, order_id=ORDER, status="Unshipped", changed_at=NOW))
    )
    pipeline.run_secret_expiry_check()

    stats = pipeline.drain()

    assert stats.failed_attempts == 0 and pipeline.dead_letters() == []
    headers = [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("ORDER#")]
    assert [header["order_id"] for header in headers] == [ORDER]
    outcomes = [result["outcome"] for result in results(pipeline, log_stream)]
    assert outcomes == ["expiry_recorded", "secret_stored", "checked"]
    assert results(pipeline, log_stream)[-1]["days_left"] > 179
    assert new_secret not in log_stream.getvalue()


def test_given_no_console_registration_when_rotating_then_amazon_refuses_and_nothing_changes(
    pipeline: LocalPipeline,
) -> None:
    from sellerstream.spapi.errors import SpApiClientError

    pipeline.emulator.applications._destinations.clear()

    with pytest.raises(SpApiClientError, match="not enrolled"):
        rotate(pipeline)

    assert pipeline.emulator.applications.rotations == 0
    assert app_secret(pipeline)["client_secret"] == LWA_CLIENT_SECRET


def test_given_new_secret_for_another_application_then_dead_lettered_and_the_secret_untouched(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    other = application_oauth_client_new_secret(
        client_id="amzn1.application-oa2-client.someoneelse",
        new_client_secret="amzn1.oa2-cs.v1.othersecretvalue",
        sent_at=NOW,
        new_secret_expires_at=NOW + timedelta(days=180),
        old_secret_expires_at=NOW + timedelta(days=7),
        notification_id="n-other-app",
    )
    pipeline.publish(json.dumps(other))

    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert (letter.notification_id, letter.reason) == ("n-other-app", "lwa_client_mismatch")
    assert letter.notification_type == "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
    assert "amzn1.application-oa2-client.someoneelse" in letter.detail
    assert "othersecretvalue" not in letter.detail + log_stream.getvalue()
    assert app_secret(pipeline)["client_secret"] == LWA_CLIENT_SECRET


def test_given_placeholder_app_secret_then_new_secret_waits_in_the_dlq_with_what_to_do(
    pipeline: LocalPipeline,
) -> None:
    pipeline.secrets.put_secret_value(
        SecretId=constants.LWA_APP_SECRET_NAME,
        SecretString=json.dumps({"client_id": constants.LWA_PLACEHOLDER_CLIENT_ID, "client_secret": "x"}),
    )
    rotate_body = application_oauth_client_new_secret(
        client_id=LWA_CLIENT_ID,
        new_client_secret="amzn1.oa2-cs.v1.abc",
        sent_at=NOW,
        new_secret_expires_at=None,
        old_secret_expires_at=None,
    )
    pipeline.publish(json.dumps(rotate_body))
    pipeline.run_secret_expiry_check()

    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert letter.reason == "lwa_client_mismatch" and "set-app-credentials" in letter.detail


def test_given_redelivered_and_older_new_secrets_then_the_newest_secret_stays(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    def new_secret(value: str, sent_at: datetime, notification_id: str) -> str:
        return json.dumps(
            application_oauth_client_new_secret(
                client_id=LWA_CLIENT_ID,
                new_client_secret=value,
                sent_at=sent_at,
                new_secret_expires_at=sent_at + timedelta(days=180),
                old_secret_expires_at=sent_at + timedelta(days=7),
                notification_id=notification_id,
            )
        )

    newer = new_secret("amzn1.oa2-cs.v1.newer", NOW, "n-newer")
    pipeline.publish(newer)
    pipeline.drain()
    pipeline.publish(newer)
    pipeline.publish(new_secret("amzn1.oa2-cs.v1.older", NOW - timedelta(days=1), "n-older"))

    pipeline.drain()

    assert app_secret(pipeline)["client_secret"] == "amzn1.oa2-cs.v1.newer"
    outcomes = sorted(result["outcome"] for result in results(pipeline, log_stream))
    assert outcomes == ["duplicate", "secret_stored", "stale"]


def test_given_expiry_notice_about_the_replaced_secret_after_rotation_then_current_expiry_kept(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    rotate(pipeline)
    pipeline.drain()
    before = secret_state(pipeline)
    late = application_oauth_client_secret_expiry(
        client_id=LWA_CLIENT_ID, expires_at=NOW + timedelta(days=6), sent_at=NOW + timedelta(minutes=1)
    )
    pipeline.publish(json.dumps(late))

    pipeline.drain()

    assert secret_state(pipeline) == before
    assert results(pipeline, log_stream)[-1]["outcome"] == "about_previous_secret"


def test_given_metrics_enabled_when_checked_then_days_left_emitted_for_the_alarm(
    pipeline: LocalPipeline, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sellerstream.observability import metrics

    pipeline.emulator.applications.announce_expiry(LWA_CLIENT_ID, expires_at=NOW + timedelta(days=30))
    pipeline.drain()
    # Values earlier tests added while metrics were disabled are never flushed, but Powertools prints
    # the set whenever a metric reaches 100 values, disabled or not: only what the check emits counts.
    metrics.clear_metrics()
    checked_from = len(log_stream.getvalue())
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    pipeline.run_secret_expiry_check()

    pipeline.drain()

    emitted = [
        document
        for document in (
            json.loads(line)
            for line in log_stream.getvalue()[checked_from:].splitlines()
            if line.startswith("{")
        )
        if "_aws" in document and "LwaClientSecretDaysLeft" in document
    ]
    [emf] = emitted
    values = emf["LwaClientSecretDaysLeft"]
    [days_left] = values if isinstance(values, list) else [values]
    assert 29.9 < days_left <= 30


# -- automatic rotation (auto_rotate_app_secret) -----------------------------------------------------

AMAZON_EXPIRY_EXAMPLE = "examples/notifications/APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY.sample-1.json"


@pytest.fixture
def rotating(log_stream: io.StringIO) -> Iterator[LocalPipeline]:
    with LocalPipeline(
        emulator_time_scale=50.0, log_stream=log_stream, settings={"auto_rotate_app_secret": True}
    ) as local:
        yield local


def amazon_expiry_notice(**changes: str) -> str:
    """Amazon's own example of the notice, for this application's client id (``changes``: other
    top-level or metadata values, e.g. another notification id)."""
    document = load_json(AMAZON_EXPIRY_EXAMPLE)
    document["payload"]["applicationOAuthClientSecretExpiry"]["clientId"] = LWA_CLIENT_ID
    for name, value in changes.items():
        (document["notificationMetadata"] if name in document["notificationMetadata"] else document)[name] = (
            value
        )
    return json.dumps(document)


def test_given_the_option_when_amazons_expiry_notice_arrives_then_rotated_once_and_the_new_secret_stored(
    rotating: LocalPipeline, log_stream: io.StringIO
) -> None:
    rotating.publish(amazon_expiry_notice())
    # A second notice of the same expiry, an hour later, before the new secret is stored.
    rotating.publish(
        amazon_expiry_notice(notificationId="e7e27216-second-notice", eventTime="2024-01-10T03:15:10.045Z")
    )
    rotating.drain()

    rotating.publish(amazon_expiry_notice())  # Amazon delivers at least once: the first notice again
    stats = rotating.drain()

    assert rotating.emulator.applications.rotations == 1
    new_secret = rotating.emulator.applications.current_secret(LWA_CLIENT_ID)
    assert new_secret != LWA_CLIENT_SECRET
    assert app_secret(rotating) == {"client_id": LWA_CLIENT_ID, "client_secret": new_secret}
    state = secret_state(rotating)
    assert (state["expires_at_source"], state["rotation_outcome"]) == ("new_secret", "requested")
    assert state["rotation_expires_at"] == "2024-03-03T22:06:39.224000Z"
    applied = results(rotating, log_stream)
    assert sorted(
        result.get("rotation", "-") for result in applied if result["outcome"] == "expiry_recorded"
    ) == [
        "already_requested",
        "requested",
    ]
    assert [result["outcome"] for result in applied][-2:] == ["secret_stored", "duplicate"]
    assert stats.failed_attempts == 0 and rotating.dead_letters() == []
    assert new_secret not in log_stream.getvalue() and LWA_CLIENT_SECRET not in log_stream.getvalue()


def test_given_no_option_when_amazons_expiry_notice_arrives_then_amazon_is_not_asked_to_rotate(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    pipeline.publish(amazon_expiry_notice())

    pipeline.drain()

    assert pipeline.emulator.applications.rotations == 0
    [recorded] = results(pipeline, log_stream)
    assert recorded["outcome"] == "expiry_recorded" and "rotation" not in recorded
    assert "rotation_expires_at" not in secret_state(pipeline)
    assert app_secret(pipeline)["client_secret"] == LWA_CLIENT_SECRET


def test_given_the_option_and_no_console_registration_then_the_refusal_is_logged_and_the_notice_applied(
    rotating: LocalPipeline, log_stream: io.StringIO
) -> None:
    rotating.emulator.applications._destinations.clear()
    rotating.publish(amazon_expiry_notice())

    stats = rotating.drain()

    assert rotating.emulator.applications.rotations == 0
    assert stats.failed_attempts == 0 and rotating.dead_letters() == []
    [recorded] = results(rotating, log_stream)
    assert (recorded["outcome"], recorded["rotation"]) == ("expiry_recorded", "refused")
    assert secret_state(rotating)["rotation_outcome"] == "refused"
    [refused] = [
        json.loads(line)
        for line in log_stream.getvalue().splitlines()
        if line.startswith("{") and json.loads(line).get("level") == "ERROR"
    ]
    assert refused["status"] == 400 and "not enrolled for rotation notification" in refused["reason"]
    assert LWA_CLIENT_SECRET not in log_stream.getvalue()


def test_given_the_accounts_table_when_rotations_are_claimed_then_one_per_expiry_and_a_released_one_again(
    rotating: LocalPipeline,
) -> None:
    from sellerstream.adapters.app_secret import DynamoDBClientSecretStates

    states = DynamoDBClientSecretStates(rotating.resources.tables["accounts"])
    expires, later = NOW + timedelta(days=7), NOW + timedelta(days=180)

    def claim(expires_at: datetime, at: datetime, *, notice_time: datetime = NOW) -> bool:
        return states.claim_rotation(
            LWA_CLIENT_ID,
            expires_at=expires_at,
            notice_time=notice_time,
            now=at,
            until=at + timedelta(seconds=30),
        )

    assert claim(expires, NOW)
    assert not claim(expires, NOW + timedelta(seconds=10))  # held by the first attempt
    assert states.release_rotation(LWA_CLIENT_ID, expires_at=expires, requested_at=NOW)
    assert claim(expires, NOW + timedelta(seconds=11))  # given up: the retry claims at once
    assert not states.release_rotation(LWA_CLIENT_ID, expires_at=expires, requested_at=NOW)  # not its own
    assert claim(expires, NOW + timedelta(minutes=5))  # the attempt died: its hold ended
    assert states.finish_rotation(
        LWA_CLIENT_ID, expires_at=expires, requested_at=NOW + timedelta(minutes=5), outcome="requested"
    )
    assert not claim(expires, NOW + timedelta(hours=1))  # finished: never again for this expiry
    assert not claim(NOW + timedelta(days=6), NOW + timedelta(hours=1))  # an earlier expiry
    states.record_new_secret(
        LWA_CLIENT_ID, expires_at=later, updated_at=NOW + timedelta(hours=2), previous_expires_at=None
    )
    assert not claim(later, NOW + timedelta(hours=3), notice_time=NOW + timedelta(hours=1))  # secret is newer
    assert claim(later, NOW + timedelta(days=150), notice_time=NOW + timedelta(days=150))  # the next expiry
