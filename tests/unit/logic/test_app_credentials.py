"""The application's LWA client secret over fakes: new secrets stored, expiries recorded and watched."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sellerstream import catalog, metric_names
from sellerstream.domain.credentials import PLACEHOLDER_CLIENT_ID, ClientSecretState
from sellerstream.errors import PermanentFailureError
from sellerstream.logic.app_credentials import AppCredentialsUseCase
from sellerstream.notifications import parse_notification
from sellerstream.observability import metrics
from sellerstream.spapi.auth import LwaCredentials
from sellerstream.spapi.errors import (
    RateBudgetExhausted,
    SpApiClientError,
    SpApiServerError,
    SpApiThrottled,
    SpApiTimeout,
)
from sellerstream_local.notifications_factory import (
    application_oauth_client_new_secret,
    application_oauth_client_secret_expiry,
    scheduled_event,
)
from tests.support.fakes import FakeAppSecret, FakeClientSecretStates
from tests.support.lambda_events import FakeLambdaContext, sqs_event

CLIENT_ID = "amzn1.application-oa2-client.unit"
OTHER_CLIENT_ID = "amzn1.application-oa2-client.someoneelse"
NOW = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
WARNING_DAYS = 14
EXPIRING_SOON = "LWA client secret expires soon and no newer secret has arrived"


def plenty() -> float:
    return 30.0


def new_secret(
    value: str = "amzn1.oa2-cs.v1.newsecret",
    *,
    sent_at: datetime = NOW,
    client_id: str = CLIENT_ID,
    expires_in: timedelta | None = timedelta(days=180),
    old_expires_in: timedelta | None = timedelta(days=7),
    notification_id: str = "n-new-secret",
) -> Any:
    return parse_notification(
        json.dumps(
            application_oauth_client_new_secret(
                client_id=client_id,
                new_client_secret=value,
                sent_at=sent_at,
                new_secret_expires_at=sent_at + expires_in if expires_in else None,
                old_secret_expires_at=sent_at + old_expires_in if old_expires_in else None,
                notification_id=notification_id,
            )
        )
    )


def expiry_notice(
    expires_at: datetime,
    *,
    sent_at: datetime = NOW,
    client_id: str = CLIENT_ID,
    notification_id: str = "n-expiry",
) -> Any:
    return parse_notification(
        json.dumps(
            application_oauth_client_secret_expiry(
                client_id=client_id, expires_at=expires_at, sent_at=sent_at, notification_id=notification_id
            )
        )
    )


def hourly_check() -> Any:
    return parse_notification(
        json.dumps(scheduled_event(at=NOW, rule_arn="arn:aws:events:us-east-1:123456789012:rule/check"))
    )


@pytest.fixture
def secret() -> FakeAppSecret:
    return FakeAppSecret(CLIENT_ID, "amzn1.oa2-cs.v1.oldsecret")


@pytest.fixture
def states() -> FakeClientSecretStates:
    return FakeClientSecretStates()


@pytest.fixture
def use_case(secret, states) -> AppCredentialsUseCase:
    return AppCredentialsUseCase(secret, states, warning_days=WARNING_DAYS, clock=lambda: NOW)


# -- a new secret ------------------------------------------------------------------------------------


def test_given_a_new_secret_for_the_app_when_applied_then_it_replaces_the_client_secret_and_its_expiry_is_known(
    use_case, secret, states
) -> None:
    result = use_case.apply(new_secret("amzn1.oa2-cs.v1.newsecret"), plenty)

    assert secret.document == {"client_id": CLIENT_ID, "client_secret": "amzn1.oa2-cs.v1.newsecret"}
    assert result == {
        "client_id": CLIENT_ID,
        "outcome": "secret_stored",
        "expires_at": "2027-03-20T12:00:00.000000Z",
        "previous_secret_expires_at": "2026-09-28T12:00:00.000000Z",
    }
    assert states.get(CLIENT_ID) == ClientSecretState(
        CLIENT_ID,
        expires_at=NOW + timedelta(days=180),
        secret_updated_at=NOW,
        previous_secret_expires_at=NOW + timedelta(days=7),
        expires_at_source="new_secret",
    )
    assert "newsecret" not in json.dumps(result)


def test_given_a_new_secret_without_expiry_times_when_applied_then_stored_and_the_expiry_left_unknown(
    use_case, secret, states
) -> None:
    result = use_case.apply(new_secret("amzn1.oa2-cs.v1.bare", expires_in=None, old_expires_in=None), plenty)

    assert secret.document["client_secret"] == "amzn1.oa2-cs.v1.bare"
    assert (result["outcome"], result["expires_at"], result["previous_secret_expires_at"]) == (
        "secret_stored",
        None,
        None,
    )
    assert use_case.apply(hourly_check(), plenty) == {"client_id": CLIENT_ID, "outcome": "expiry_unknown"}


def test_given_a_new_secret_delivered_again_when_applied_then_stale_and_the_secret_written_once(
    use_case, secret
) -> None:
    use_case.apply(new_secret("amzn1.oa2-cs.v1.newsecret"), plenty)

    again = use_case.apply(new_secret("amzn1.oa2-cs.v1.newsecret"), plenty)

    assert again == {"client_id": CLIENT_ID, "outcome": "stale"}
    assert secret.versions == 2  # the stack's first version and the one new secret


def test_given_an_older_rotation_arriving_after_a_newer_one_when_applied_then_the_newer_secret_stays(
    use_case, secret, states
) -> None:
    use_case.apply(new_secret("amzn1.oa2-cs.v1.newer", notification_id="n-newer"), plenty)

    older = use_case.apply(
        new_secret("amzn1.oa2-cs.v1.older", sent_at=NOW - timedelta(days=1), notification_id="n-older"),
        plenty,
    )

    assert older["outcome"] == "stale"
    assert secret.document["client_secret"] == "amzn1.oa2-cs.v1.newer"
    state = states.get(CLIENT_ID)
    assert state is not None and state.secret_updated_at == NOW


class NewerRotationMeanwhile(FakeClientSecretStates):
    """While this invocation reads the state, a concurrent one stores a newer rotation whole."""

    def __init__(self, concurrent: Callable[[], None]) -> None:
        super().__init__()
        self._concurrent: Callable[[], None] | None = concurrent

    def get(self, client_id: str) -> ClientSecretState | None:
        known = super().get(client_id)
        concurrent, self._concurrent = self._concurrent, None
        if concurrent is not None:
            concurrent()
        return known


def test_given_a_newer_rotation_stored_concurrently_when_an_older_one_is_applied_then_the_newer_secret_stays(
    secret,
) -> None:
    def newer_rotation() -> None:
        AppCredentialsUseCase(secret, racing, warning_days=WARNING_DAYS, clock=lambda: NOW).apply(
            new_secret("amzn1.oa2-cs.v1.newer", notification_id="n-newer"), plenty
        )

    racing = NewerRotationMeanwhile(newer_rotation)
    use_case = AppCredentialsUseCase(secret, racing, warning_days=WARNING_DAYS, clock=lambda: NOW)

    older = use_case.apply(
        new_secret("amzn1.oa2-cs.v1.older", sent_at=NOW - timedelta(days=1), notification_id="n-older"),
        plenty,
    )

    assert older["outcome"] == "stale"
    assert secret.document["client_secret"] == "amzn1.oa2-cs.v1.newer"


class SecretWriteFails(FakeAppSecret):
    """The invocation ends between recording the rotation and writing its secret (once)."""

    def __init__(self) -> None:
        super().__init__(client_id=CLIENT_ID)
        self.failures = 1

    def replace_client_secret(self, current: dict[str, Any], client_secret: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise TimeoutError("the invocation ended")
        super().replace_client_secret(current, client_secret)


def test_given_a_rotation_recorded_but_its_secret_not_written_when_redelivered_then_the_secret_is_stored(
    states,
) -> None:
    secret = SecretWriteFails()
    use_case = AppCredentialsUseCase(secret, states, warning_days=WARNING_DAYS, clock=lambda: NOW)
    with pytest.raises(TimeoutError):
        use_case.apply(new_secret("amzn1.oa2-cs.v1.recorded"), plenty)

    again = use_case.apply(new_secret("amzn1.oa2-cs.v1.recorded"), plenty)
    once_more = use_case.apply(new_secret("amzn1.oa2-cs.v1.recorded"), plenty)

    assert again["outcome"] == "secret_stored" and once_more["outcome"] == "stale"
    assert secret.document["client_secret"] == "amzn1.oa2-cs.v1.recorded"


# -- another client id -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "notification",
    [
        lambda: new_secret(
            "amzn1.oa2-cs.v1.othersecretvalue", client_id=OTHER_CLIENT_ID, notification_id="n-other"
        ),
        lambda: expiry_notice(NOW + timedelta(days=5), client_id=OTHER_CLIENT_ID, notification_id="n-other"),
    ],
    ids=["new-secret", "expiry"],
)
def test_given_a_notice_for_another_lwa_client_when_applied_then_refused_and_nothing_changes(
    use_case, secret, states, notification: Callable[[], Any]
) -> None:
    notice = notification()

    with pytest.raises(PermanentFailureError) as raised:
        use_case.apply(notice, plenty)

    error = raised.value
    assert (error.reason, error.notification_id) == ("lwa_client_mismatch", "n-other")
    assert error.notification_type == notice.notification_type
    assert OTHER_CLIENT_ID in error.detail and repr(CLIENT_ID) in error.detail
    assert "othersecretvalue" not in error.detail
    assert secret.document == {"client_id": CLIENT_ID, "client_secret": "amzn1.oa2-cs.v1.oldsecret"}
    assert states.states == {}


def test_given_the_stacks_placeholder_in_the_app_secret_when_a_new_secret_arrives_then_refused_saying_what_to_do(
    states,
) -> None:
    secret = FakeAppSecret(PLACEHOLDER_CLIENT_ID, "x")
    use_case = AppCredentialsUseCase(secret, states, warning_days=WARNING_DAYS, clock=lambda: NOW)

    with pytest.raises(PermanentFailureError, match="set-app-credentials") as raised:
        use_case.apply(new_secret(), plenty)

    assert raised.value.reason == "lwa_client_mismatch"
    assert secret.document["client_secret"] == "x"


# -- expiry notices ------------------------------------------------------------------------------------


def test_given_an_expiry_notice_when_applied_then_recorded_with_the_days_left_and_a_warning_when_soon(
    use_case, secret, states, log_lines
) -> None:
    result = use_case.apply(expiry_notice(NOW + timedelta(days=5, hours=12)), plenty)

    assert result == {
        "client_id": CLIENT_ID,
        "expires_at": "2026-09-27T00:00:00.000000Z",
        "outcome": "expiry_recorded",
        "days_left": 5.5,
    }
    state = states.get(CLIENT_ID)
    assert state is not None
    assert (state.expires_at, state.expires_at_source, state.expiry_reason, state.expiry_notice_at) == (
        NOW + timedelta(days=5, hours=12),
        "expiry_notice",
        "PERIODIC_ROTATION",
        NOW,
    )
    assert secret.versions == 1  # a notice never writes the secret
    assert any(line["message"] == EXPIRING_SOON for line in log_lines())


def test_given_an_expiry_far_off_when_recorded_then_no_warning(use_case, log_lines) -> None:
    result = use_case.apply(expiry_notice(NOW + timedelta(days=60)), plenty)

    assert result["days_left"] == 60.0
    assert not any(line["message"] == EXPIRING_SOON for line in log_lines())


def test_given_an_older_expiry_notice_after_a_newer_one_when_applied_then_stale_and_the_newer_kept(
    use_case, states
) -> None:
    use_case.apply(expiry_notice(NOW + timedelta(days=5)), plenty)

    older = use_case.apply(expiry_notice(NOW + timedelta(days=9), sent_at=NOW - timedelta(hours=1)), plenty)

    assert older["outcome"] == "stale"
    state = states.get(CLIENT_ID)
    assert state is not None and state.expires_at == NOW + timedelta(days=5)


def test_given_a_notice_about_the_secret_the_newest_one_replaced_when_applied_then_the_current_expiry_kept(
    use_case, states
) -> None:
    use_case.apply(new_secret(), plenty)
    before = states.get(CLIENT_ID)

    late = use_case.apply(expiry_notice(NOW + timedelta(days=6), sent_at=NOW + timedelta(minutes=1)), plenty)

    assert late["outcome"] == "about_previous_secret"
    assert states.get(CLIENT_ID) == before


def test_given_a_notice_sent_before_the_new_secret_when_applied_late_then_stale(use_case, states) -> None:
    use_case.apply(new_secret(expires_in=timedelta(days=180), old_expires_in=None), plenty)
    before = states.get(CLIENT_ID)

    late = use_case.apply(expiry_notice(NOW + timedelta(days=3), sent_at=NOW - timedelta(days=1)), plenty)

    assert late["outcome"] == "stale"
    assert states.get(CLIENT_ID) == before


# -- the hourly check ----------------------------------------------------------------------------------


def test_given_a_known_expiry_when_checked_then_the_days_left_are_reported(use_case, log_lines) -> None:
    use_case.apply(expiry_notice(NOW + timedelta(days=3)), plenty)

    result = use_case.apply(hourly_check(), plenty)

    assert result == {
        "client_id": CLIENT_ID,
        "outcome": "checked",
        "expires_at": "2026-09-24T12:00:00.000000Z",
        "days_left": 3.0,
    }
    assert [line["message"] for line in log_lines()].count(EXPIRING_SOON) == 2  # the notice, then the check


def test_given_no_known_expiry_when_checked_then_expiry_unknown(use_case) -> None:
    assert use_case.apply(hourly_check(), plenty) == {"client_id": CLIENT_ID, "outcome": "expiry_unknown"}


def test_given_the_stacks_placeholder_when_checked_then_told_there_are_no_app_credentials(
    states, log_lines
) -> None:
    use_case = AppCredentialsUseCase(
        FakeAppSecret(PLACEHOLDER_CLIENT_ID, "x"), states, warning_days=WARNING_DAYS, clock=lambda: NOW
    )

    assert use_case.apply(hourly_check(), plenty) == {"outcome": "no_app_credentials"}
    assert any("set-app-credentials" in line["message"] for line in log_lines())


def test_given_no_clock_when_checked_then_days_left_count_from_now(secret, states) -> None:
    expires_at = datetime.now(UTC) + timedelta(days=30)
    states.record_expiry_notice(CLIENT_ID, expires_at=expires_at, reason=None, notice_time=datetime.now(UTC))
    use_case = AppCredentialsUseCase(secret, states, warning_days=WARNING_DAYS)

    result = use_case.apply(hourly_check(), plenty)

    assert 29.9 < result["days_left"] <= 30


# -- automatic rotation (auto_rotate_app_secret) -----------------------------------------------------

EXPIRES = NOW + timedelta(days=7)
OLD_SECRET = "amzn1.oa2-cs.v1.oldsecret"  # the secret fixture's value


class Rotation:
    """Amazon's rotateApplicationClientSecret as the use case sees it: records each call's credentials,
    and raises the errors it is given, one per call, before answering 204."""

    def __init__(self, *errors: Exception) -> None:
        self.calls: list[tuple[str, str]] = []
        self._errors = list(errors)

    def __call__(self, app: LwaCredentials, remaining_time: Callable[[], float]) -> None:
        self.calls.append((app.client_id, app.client_secret))
        if self._errors:
            raise self._errors.pop(0)


def rotating(
    secret: FakeAppSecret, states: FakeClientSecretStates, rotation: Rotation
) -> AppCredentialsUseCase:
    return AppCredentialsUseCase(
        secret, states, warning_days=WARNING_DAYS, clock=lambda: NOW, rotate=rotation
    )


def not_enrolled() -> SpApiClientError:
    return SpApiClientError(
        "rotateApplicationClientSecret",
        "Application is not enrolled for rotation notification.",
        status=400,
        code="InvalidInput",
        request_id="req-1",
    )


def test_given_the_option_when_an_expiry_notice_is_applied_then_amazon_is_asked_to_rotate_with_the_apps_credentials(
    secret, states, log_lines
) -> None:
    rotation = Rotation()

    result = rotating(secret, states, rotation).apply(expiry_notice(EXPIRES), plenty)

    assert (result["outcome"], result["rotation"]) == ("expiry_recorded", "requested")
    assert rotation.calls == [(CLIENT_ID, OLD_SECRET)]
    assert states.rotations[CLIENT_ID].outcome == "requested"
    assert secret.versions == 1  # the new secret arrives later, as APPLICATION_OAUTH_CLIENT_NEW_SECRET
    assert not any(OLD_SECRET in json.dumps(line) for line in log_lines())


def test_given_no_option_when_an_expiry_notice_is_applied_then_nothing_is_asked_of_amazon(
    use_case, states
) -> None:
    result = use_case.apply(expiry_notice(EXPIRES), plenty)

    assert result == {
        "client_id": CLIENT_ID,
        "expires_at": "2026-09-28T12:00:00.000000Z",
        "outcome": "expiry_recorded",
        "days_left": 7.0,
    }
    assert states.rotations == {}


def test_given_a_rotation_requested_when_the_notice_is_redelivered_or_repeated_then_not_asked_again(
    secret, states
) -> None:
    rotation = Rotation()
    use_case = rotating(secret, states, rotation)
    use_case.apply(expiry_notice(EXPIRES), plenty)

    redelivered = use_case.apply(expiry_notice(EXPIRES), plenty)
    repeated = use_case.apply(
        expiry_notice(EXPIRES, sent_at=NOW + timedelta(hours=1), notification_id="n-expiry-again"), plenty
    )

    assert redelivered["rotation"] == repeated["rotation"] == "already_requested"
    assert repeated["outcome"] == "expiry_recorded"
    assert len(rotation.calls) == 1


def test_given_a_rotation_in_flight_elsewhere_when_another_notice_of_that_expiry_arrives_then_not_asked_again(
    secret, states
) -> None:
    states.claim_rotation(
        CLIENT_ID, expires_at=EXPIRES, notice_time=NOW, now=NOW, until=NOW + timedelta(seconds=20)
    )
    rotation = Rotation()

    result = rotating(secret, states, rotation).apply(expiry_notice(EXPIRES), plenty)

    assert result["rotation"] == "already_requested" and rotation.calls == []


def test_given_an_attempt_that_died_holding_the_request_when_its_notice_comes_back_then_asked_again(
    secret, states
) -> None:
    died_at = NOW - timedelta(minutes=3)
    states.claim_rotation(
        CLIENT_ID, expires_at=EXPIRES, notice_time=NOW, now=died_at, until=died_at + timedelta(seconds=30)
    )
    rotation = Rotation()

    result = rotating(secret, states, rotation).apply(expiry_notice(EXPIRES), plenty)

    assert result["rotation"] == "requested" and len(rotation.calls) == 1


def test_given_a_rotation_and_its_new_secret_when_the_next_expiry_is_announced_then_amazon_is_asked_again(
    secret, states
) -> None:
    rotation = Rotation()
    use_case = rotating(secret, states, rotation)
    use_case.apply(expiry_notice(EXPIRES), plenty)
    use_case.apply(new_secret("amzn1.oa2-cs.v1.rotated", sent_at=NOW + timedelta(minutes=1)), plenty)

    later = use_case.apply(
        expiry_notice(
            NOW + timedelta(days=180), sent_at=NOW + timedelta(days=150), notification_id="n-expiry-next"
        ),
        plenty,
    )

    assert later["rotation"] == "requested"
    assert rotation.calls == [(CLIENT_ID, OLD_SECRET), (CLIENT_ID, "amzn1.oa2-cs.v1.rotated")]


def test_given_the_new_secret_stored_when_an_older_notice_of_the_old_expiry_arrives_then_not_asked_again(
    secret, states
) -> None:
    rotation = Rotation()
    use_case = rotating(secret, states, rotation)
    use_case.apply(new_secret("amzn1.oa2-cs.v1.rotated", sent_at=NOW + timedelta(minutes=1)), plenty)

    late = use_case.apply(expiry_notice(NOW + timedelta(days=30)), plenty)

    assert late["outcome"] == "stale" and "rotation" not in late
    assert rotation.calls == []


def test_given_amazon_refuses_when_an_expiry_notice_is_applied_then_counted_logged_without_the_secret_and_applied(
    secret, states, log_lines
) -> None:
    rotation = Rotation(not_enrolled())
    use_case = rotating(secret, states, rotation)
    metrics.clear_metrics()

    result = use_case.apply(expiry_notice(EXPIRES), plenty)
    again = use_case.apply(expiry_notice(EXPIRES, notification_id="n-expiry-again"), plenty)

    assert (result["outcome"], result["rotation"]) == ("expiry_recorded", "refused")
    assert again["rotation"] == "already_requested" and len(rotation.calls) == 1  # no loop of refusals
    state = states.get(CLIENT_ID)
    assert state is not None and state.expires_at == EXPIRES  # the expiry stays known: SecretExpiring fires
    assert metrics.metric_set[metric_names.LWA_CLIENT_SECRET_ROTATION_FAILURES]["Value"] == [1.0]
    metrics.clear_metrics()
    [refused] = [line for line in log_lines() if line["level"] == "ERROR"]
    assert "refused to rotate" in refused["message"]
    assert (refused["status"], refused["code"], refused["client_id"]) == (400, "InvalidInput", CLIENT_ID)
    assert "not enrolled for rotation notification" in refused["reason"]
    assert not any(OLD_SECRET in json.dumps(line) for line in log_lines())


@pytest.mark.parametrize(
    "failure",
    [
        SpApiServerError("rotateApplicationClientSecret", "server error", status=503),
        SpApiTimeout("rotateApplicationClientSecret", "no time left in this invocation"),
        SpApiThrottled("rotateApplicationClientSecret", "throttled", status=429),
        RateBudgetExhausted("rotateApplicationClientSecret", "no slot in time", wait_needed=45.0),
    ],
    ids=["5xx", "timeout", "429", "budget-spent"],
)
def test_given_a_transient_failure_when_rotating_then_the_notice_fails_and_its_retry_asks_again(
    secret, states, failure: Exception
) -> None:
    rotation = Rotation(failure)
    use_case = rotating(secret, states, rotation)

    with pytest.raises(type(failure)):
        use_case.apply(expiry_notice(EXPIRES), plenty)
    retried = use_case.apply(expiry_notice(EXPIRES), plenty)
    once_more = use_case.apply(expiry_notice(EXPIRES), plenty)

    assert retried["rotation"] == "requested" and once_more["rotation"] == "already_requested"
    assert len(rotation.calls) == 2


def test_given_a_batch_when_rotating_fails_transiently_or_is_throttled_then_retried_or_deferred_and_then_applied(
    secret, states, make_runner, clock, queue
) -> None:
    rotation = Rotation(
        SpApiServerError("rotateApplicationClientSecret", "server error", status=503),
        RateBudgetExhausted("rotateApplicationClientSecret", "no slot in time", wait_needed=45.0),
    )
    runner = make_runner(rotating(secret, states, rotation), catalog.consumer("app").accepts)
    body = json.dumps(
        application_oauth_client_secret_expiry(
            client_id=CLIENT_ID, expires_at=EXPIRES, sent_at=NOW, notification_id="n-expiry"
        )
    )

    [failed] = runner.run(sqs_event(body), FakeLambdaContext(clock)).outcomes
    [deferred] = runner.run(sqs_event(body), FakeLambdaContext(clock)).outcomes
    [applied] = runner.run(sqs_event(body), FakeLambdaContext(clock)).outcomes
    [duplicate] = runner.run(sqs_event(body), FakeLambdaContext(clock)).outcomes

    assert (failed.outcome, failed.reason) == ("retry", "SpApiServerError")
    assert (deferred.outcome, deferred.reason) == ("deferred", "RateBudgetExhausted")
    assert applied.outcome == "applied" and applied.result is not None
    assert applied.result["rotation"] == "requested"
    assert duplicate.outcome == "duplicate"
    assert len(rotation.calls) == 3
    assert len(queue.deferred) == 1
