"""Importing a handler (the cold start) leaves garbage collection running, with start-up objects frozen."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sellerstream_local.emulator.vendored import NOTIFICATION_EXAMPLES as EXAMPLES


@pytest.mark.parametrize(
    "handler",
    [
        "order_change",
        "listing_status",
        "report_finished",
        "app_credentials",
        "reconcile",
        "shipment_confirmation",
        "onboarding",
    ],
)
def test_given_a_fresh_interpreter_when_a_handler_is_imported_then_gc_runs_and_startup_is_frozen(
    handler: str,
) -> None:
    probe = (
        f"import gc; import sellerstream.handlers.{handler} as handler;"
        "assert callable(handler.lambda_handler);"
        "print(gc.isenabled(), gc.get_freeze_count() > 1000)"
    )

    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env={"POWERTOOLS_SERVICE_NAME": handler, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["True", "True"]


# handler -> the notification model modules it consumes (the others are imported only if their
# type arrives on its queue, to be refused as the wrong type)
CONSUMED_MODELS = {
    "order_change": {"order_change"},
    "listing_status": {"listings_item_status_change"},
    "report_finished": {"report_processing_finished"},
    "app_credentials": {"application_oauth", "scheduled_event"},
}
MODEL_MODULES = {
    "order_change",
    "listings_item_status_change",
    "report_processing_finished",
    "application_oauth",
    "scheduled_event",
}
# Large imports that a handler does not need: Powertools' batch utility (and asyncio with it), and
# its data classes package (every event source's class, loaded for SQSRecord alone).
NOT_AT_IMPORT = (
    "aws_lambda_powertools.utilities.batch",
    "asyncio",
    "aws_lambda_powertools.utilities.data_classes",
)


@pytest.mark.parametrize("handler", sorted(CONSUMED_MODELS))
def test_given_a_fresh_interpreter_when_a_handler_is_imported_then_only_its_own_models_are_built(
    handler: str,
) -> None:
    probe = (
        f"import sys, json; import sellerstream.handlers.{handler}; print(json.dumps(sorted(sys.modules)))"
    )

    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env={"POWERTOOLS_SERVICE_NAME": handler, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    loaded = set(json.loads(completed.stdout))
    prefix = "sellerstream.notifications."
    models = {name.removeprefix(prefix) for name in loaded if name.startswith(prefix)} & MODEL_MODULES
    assert models == CONSUMED_MODELS[handler]
    assert not {name for name in loaded if name.startswith(NOT_AT_IMPORT)}


def test_given_only_the_parser_is_loaded_when_a_report_body_arrives_then_its_model_is_loaded_to_read_it() -> (
    None
):
    example = EXAMPLES / "REPORT_PROCESSING_FINISHED.schema-example-1.json"
    probe = (
        "import sys; from pathlib import Path; from sellerstream.notifications import parse_notification;"
        "assert 'sellerstream.notifications.report_processing_finished' not in sys.modules;"
        "print(type(parse_notification(Path(sys.argv[1]).read_text())).__name__)"
    )

    completed = subprocess.run(
        [sys.executable, "-c", probe, str(example)],
        env={"POWERTOOLS_SERVICE_NAME": "probe", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["ReportProcessingFinishedNotification"]
