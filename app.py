#!/usr/bin/env python3
"""CDK entry point: synthesizes offline (no AWS credentials, no Docker)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import aws_cdk as cdk

from sellerstream import catalog, config, processing_directives
from stacks import constants, event_destinations
from stacks.nag import apply_aws_solutions_checks
from stacks.onboarding import Onboarding
from stacks.sellerstream_stack import SellerStreamStack

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# What SP-API's createDestination names the partner event source of an EventBridge destination.
PARTNER_EVENT_SOURCE = re.compile(
    re.escape(constants.PARTNER_EVENT_SOURCE_PREFIX) + r"/[0-9]{12}/[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
)


def build_app(*, context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    # The CDK CLI passes CDK_OUTDIR; a plain `python app.py` writes cdk.out like `cdk synth` would.
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = "cdk.out"
    app = cdk.App(outdir=outdir, context=context)
    orders_api_version = str(app.node.try_get_context("orders_api_version") or "2026-01-01")
    if orders_api_version not in ("2026-01-01", "v0"):
        raise SystemExit(f"orders_api_version must be 2026-01-01 or v0, not {orders_api_version!r}")
    sandbox = str(app.node.try_get_context("spapi_sandbox") or "false").lower() == "true"
    partner_event_source_names = _partner_event_source_names(app)
    try:
        names = constants.StageNames(app.node.try_get_context("stage") or None)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    alarm_email = app.node.try_get_context("alarm_email") or None
    if alarm_email is not None and not EMAIL.fullmatch(str(alarm_email)):
        raise SystemExit(f"alarm_email must be an e-mail address, not {alarm_email!r}")
    retention = str(
        app.node.try_get_context("report_rows_retention_days") or constants.REPORT_ROWS_RETENTION_DAYS
    )
    if not retention.isdigit() or int(retention) < 1:
        raise SystemExit(f"report_rows_retention_days must be a whole number of days, not {retention!r}")
    interval = str(
        app.node.try_get_context("reconcile_interval_minutes") or constants.RECONCILE_INTERVAL_MINUTES
    )
    if not interval.isdigit() or not (
        constants.MIN_RECONCILE_INTERVAL_MINUTES <= int(interval) <= constants.MAX_RECONCILE_INTERVAL_MINUTES
    ):
        raise SystemExit(
            f"reconcile_interval_minutes must be {constants.MIN_RECONCILE_INTERVAL_MINUTES} to "
            f"{constants.MAX_RECONCILE_INTERVAL_MINUTES}, not {interval!r}"
        )
    archive_days = str(_context_or(app, "events_archive_days", constants.EVENTS_ARCHIVE_DAYS))
    if not archive_days.isdigit():
        raise SystemExit(
            f"events_archive_days must be a whole number of days (0: no archive), not {archive_days!r}"
        )
    try:
        destinations = event_destinations.parse_destinations(
            app.node.try_get_context(event_destinations.CONTEXT_KEY)
        )
    except ValueError as error:
        raise SystemExit(str(error)) from None
    try:
        notification_types = catalog.enabled_types(
            _text_or_list(app.node.try_get_context("notification_types"))
        )
        retention_days = config.days_by_name(
            "notification_retention_days",
            _text_or_list(app.node.try_get_context("notification_retention_days")) or "",
        )
    except ValueError as error:
        raise SystemExit(str(error)) from None
    unknown = sorted(set(retention_days) - {t.name for t in catalog.GENERIC_TYPES})
    if unknown:
        raise SystemExit(
            f"notification_retention_days: {', '.join(unknown)} is no type stored as Amazon sends it; "
            f"one of {', '.join(t.name for t in catalog.GENERIC_TYPES)}"
        )
    try:
        directives = processing_directives.from_context(
            app.node.try_get_context(processing_directives.CONTEXT_KEY), notification_types
        )
    except ValueError as error:
        raise SystemExit(str(error)) from None
    onboarding = _onboarding(app)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    SellerStreamStack(
        app,
        names.stack_id,
        orders_api_version=orders_api_version,
        spapi_sandbox=sandbox,
        partner_event_source_names=partner_event_source_names,
        names=names,
        alarm_email=str(alarm_email) if alarm_email else None,
        no_notifications_alarm_hours=_quiet_hours(app.node.try_get_context("no_notifications_alarm_hours")),
        report_rows_retention_days=int(retention),
        reconcile_interval_minutes=int(interval),
        events_include_pii=_flag("events_include_pii", app.node.try_get_context("events_include_pii")),
        auto_rotate_app_secret=_flag(
            "auto_rotate_app_secret", app.node.try_get_context("auto_rotate_app_secret")
        ),
        events_archive_days=int(archive_days),
        events_destinations=destinations,
        notification_types=notification_types,
        notification_retention_days=retention_days,
        processing_directives=directives,
        tracing=_flag("tracing", app.node.try_get_context("tracing")),
        onboarding=onboarding,
        env=cdk.Environment(account=account, region=region) if account and region else None,
        description="SellerStream: Amazon SP-API notifications to DynamoDB"
        + (f" (stage {names.stage})" if names.stage else ""),
    )
    apply_aws_solutions_checks(app)
    return app


def _partner_event_source_names(app: cdk.App) -> tuple[str, ...]:
    """Every partner event source to associate (one per SP-API region a seller authorised): the
    single ``partner_event_source_name`` first, so a stage deployed with it keeps its bus and rule,
    then ``partner_event_source_names`` (a JSON list, in cdk.json or as ``-c`` text, or names
    separated by commas), each once, in order."""
    single = app.node.try_get_context("partner_event_source_name")
    given = [str(single).strip()] if single not in (None, "") else []
    given += _names(app.node.try_get_context("partner_event_source_names"))
    for name in given:
        if not PARTNER_EVENT_SOURCE.fullmatch(name):
            raise SystemExit(
                "partner_event_source_name(s) must be the name SP-API gave the EventBridge destination, "
                f"{constants.PARTNER_EVENT_SOURCE_PREFIX}/<AWS account id>/<application id>, "
                f"not {name[:200]!r}"
            )
    return tuple(dict.fromkeys(given))


def _names(value: Any) -> list[str]:
    """A list in context: a JSON list (cdk.json, or its text after ``-c``) or comma-separated text."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise SystemExit(f"partner_event_source_names is not a JSON list: {value[:200]!r}") from None
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [name.strip() for name in (_text_or_list(value) or "").split(",") if name.strip()]


# The Developer Console's App ID of an SP-API application (the consent page's application_id):
# amzn1.sp.solution.<id>, or amzn1.sellerapps.app.<id> for an application registered before it.
SPAPI_APPLICATION_ID = re.compile(r"amzn1\.(?:sp\.solution|sellerapps\.app)\.[A-Za-z0-9-]{1,100}")


def _onboarding(app: cdk.App) -> Onboarding | None:
    """The onboarding API's options (``-c onboarding=true``), or None when it is off."""
    draft = _flag("onboarding_draft_app", app.node.try_get_context("onboarding_draft_app"))
    if not _flag("onboarding", app.node.try_get_context("onboarding")):
        return None
    application_id = str(app.node.try_get_context("spapi_application_id") or "").strip()
    if not application_id:
        raise SystemExit(
            "onboarding=true needs -c spapi_application_id=amzn1.sp.solution.… (the App ID the "
            "Developer Console shows for the SP-API application sellers authorise)"
        )
    if not SPAPI_APPLICATION_ID.fullmatch(application_id):
        raise SystemExit(
            "spapi_application_id must be the SP-API application's App ID, amzn1.sp.solution.<id> "
            "(or amzn1.sellerapps.app.<id>), "
            f"not {application_id[:200]!r}"
        )
    return Onboarding(application_id=application_id, draft_app=draft)


def _text_or_list(value: Any) -> str | None:
    """A list in context (``-c`` gives a text, cdk.json may give a JSON list) as comma-separated text."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{name}={number}" for name, number in value.items())
    return str(value)


def _context_or(app: cdk.App, key: str, default: Any) -> Any:
    """The context value, or ``default`` when unset (not when 0: "0" and 0 are values)."""
    value = app.node.try_get_context(key)
    return default if value is None or value == "" else value


def _flag(key: str, value: Any) -> bool:
    """A true/false context value: -c key=true gives a text, cdk.json may give a JSON boolean."""
    if value is None or value == "":
        return False
    text = str(value).lower()
    if text not in ("true", "false"):
        raise SystemExit(f"{key} must be true or false, not {value!r}")
    return text == "true"


def _quiet_hours(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        hours = int(value)
    except (TypeError, ValueError):
        hours = -1
    if not 0 <= hours <= constants.MAX_QUIET_ALARM_HOURS:
        raise SystemExit(
            f"no_notifications_alarm_hours must be 0 (no such alarms) to {constants.MAX_QUIET_ALARM_HOURS}, "
            f"not {value!r}"
        )
    return hours


if __name__ == "__main__":
    build_app().synth()
