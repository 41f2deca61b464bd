"""Importing a handler (the cold start) leaves garbage collection running, with start-up objects frozen."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "handler",
    ["order_change", "listing_status", "report_finished", "app_credentials", "shipment_confirmation"],
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
