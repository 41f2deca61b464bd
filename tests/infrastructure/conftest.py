"""One synthesis of the whole app per test session: jsii start-up and synthesis take seconds."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


class Synthesized:
    def __init__(self, outdir: Path, context: dict[str, Any] | None = None) -> None:
        from app import build_app
        from stacks.constants import StageNames

        # Bundling is skipped (no pip in unit tests); the layer asset is still declared and attached.
        # Every type is enabled unless a test says otherwise: each consumer of the catalog is built.
        context = {"notification_types": "all", **(context or {})}
        self.app = build_app(context={"aws:cdk:bundling-stacks": [], **context}, outdir=str(outdir))
        self.assembly = self.app.synth()
        self.names = StageNames((context or {}).get("stage"))
        self.stack = self.app.node.find_child(self.names.stack_id)
        self.template = Template.from_stack(self.stack)  # type: ignore[arg-type]
        self.json: dict[str, Any] = self.template.to_json()
        self.validation_report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def output_target(self, output_id: str) -> str:
        """The logical id of the resource an output's value points at (Ref or GetAtt)."""
        value = self.json["Outputs"][output_id]["Value"]
        return str(value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0])


PARTNER_EVENT_SOURCE = "aws.partner/sellingpartnerapi.amazon.com/123456789012/amzn1.sellerapps.app.0000-test"


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """The stack as deployed before the EventBridge destination exists (no partner source)."""
    yield Synthesized(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def with_partner_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield Synthesized(tmp_path_factory.mktemp("cdk.out"), {"partner_event_source_name": PARTNER_EVENT_SOURCE})


# A seller authorised in a second SP-API region brings a second partner source.
SECOND_PARTNER_EVENT_SOURCE = f"{PARTNER_EVENT_SOURCE}-eu"
SPAPI_APPLICATION_ID = "amzn1.sp.solution.00000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="session")
def in_two_regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """A stage deployed with one partner source, upgraded: the same source as before plus another
    region's (and the first again, which counts once), and the onboarding API of a draft app."""
    yield Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "partner_event_source_name": PARTNER_EVENT_SOURCE,
            "partner_event_source_names": [PARTNER_EVENT_SOURCE, SECOND_PARTNER_EVENT_SOURCE],
            "onboarding": "true",
            "spapi_application_id": SPAPI_APPLICATION_ID,
            "onboarding_draft_app": "true",
        },
    )


STAGE = "staging"
ALARM_EMAIL = "ops@example.com"


@pytest.fixture(scope="session")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """A second stage beside production: its own names, alarms by e-mail, the partner bus, and its
    own "nothing arrived" hours."""
    yield Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "stage": STAGE,
            "alarm_email": ALARM_EMAIL,
            "partner_event_source_name": PARTNER_EVENT_SOURCE,
            "no_notifications_alarm_hours": "6",
            "reconcile_interval_minutes": "15",
            "tracing": "true",
        },
    )


# One destination of each kind (and each webhook auth), filtered ones among them, as an operator
# passes them: -c events_destinations='<this JSON>'.
OTHER_ACCOUNT = "210987654321"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sellerstream/hooks-AbCdEf"
DESTINATIONS: list[dict[str, Any]] = [
    {
        "name": "crm",
        "kind": "sqs",
        "arn": f"arn:aws:sqs:us-east-1:{OTHER_ACCOUNT}:crm-events",
        "detail_types": ["Order Changed", "Shipment Confirmed"],
        "sellers": ["A3TH9S8BH6GOGM", "A1SELLERSTREAMT"],
    },
    {
        "name": "hooks",
        "kind": "webhook",
        "url": "https://hooks.example.com/sellerstream",
        "auth": "api_key",
        "secret_arn": SECRET_ARN,
        "rate_per_second": 5,
    },
    {
        "name": "ledger",
        "kind": "webhook",
        "url": "https://ledger.example.com/in",
        "auth": "basic",
        "secret_arn": SECRET_ARN,
    },
    {
        "name": "erp",
        "kind": "webhook",
        "url": "https://erp.example.com/events",
        "auth": "oauth",
        "secret_arn": SECRET_ARN,
        "token_url": "https://login.example.com/oauth2/token",
        "scope": "events.write",
        "detail_types": ["Report Ready"],
    },
    {
        "name": "analytics",
        "kind": "bus",
        "arn": f"arn:aws:events:us-east-1:{OTHER_ACCOUNT}:event-bus/analytics",
    },
]


@pytest.fixture(scope="session")
def with_destinations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """A deployment that opted in to buyer data in events, keeps a month of them and sends them on."""
    yield Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "events_destinations": json.dumps(DESTINATIONS),
            "events_include_pii": "true",
            "events_archive_days": "30",
        },
    )


# The longest stage name there may be, with everything that adds resources the operator policies
# name: every type, four partner sources, the onboarding API, the most destinations.
LONGEST_STAGE = "s" * 20
MANY_PARTNER_EVENT_SOURCES = [f"{PARTNER_EVENT_SOURCE}-{region}" for region in ("na", "eu", "fe", "in")]


@pytest.fixture(scope="session")
def largest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    from stacks.event_destinations import MAX_DESTINATIONS

    # Each sqs or bus destination in an account of its own (one shared account's conditions would
    # be declared once per destination, which CloudFormation's validation reports).
    destinations = [
        json.loads(
            json.dumps(
                {**DESTINATIONS[number % len(DESTINATIONS)], "name": f"destination{number:02d}"}
            ).replace(OTHER_ACCOUNT, f"2109876543{number:02d}")
        )
        for number in range(MAX_DESTINATIONS)
    ]
    yield Synthesized(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "stage": LONGEST_STAGE,
            "partner_event_source_names": ",".join(MANY_PARTNER_EVENT_SOURCES),
            "onboarding": "true",
            "spapi_application_id": SPAPI_APPLICATION_ID,
            "events_destinations": json.dumps(destinations),
        },
    )
