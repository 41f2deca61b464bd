"""``sellerstream demo`` as a user runs it: completes and prints a summary that adds up."""

from __future__ import annotations

import io

import pytest

from sellerstream_local.demo import run_demo

pytestmark = pytest.mark.e2e


def test_given_the_demo_stream_when_run_then_every_order_stored_and_only_poison_dead_lettered() -> None:
    out = io.StringIO()

    summary = run_demo(out)

    assert summary["orders_stored"] == summary["orders_expected"]
    assert sorted(letter["reason"] for letter in summary["dead_lettered"]) == [
        "invalid_notification",
        "invalid_notification",
        "unknown_notification_type",
        "unknown_seller",
    ]
    assert summary["outcomes"]["duplicate"] >= 1
    assert summary["outcomes"]["stale"] >= 3
    assert summary["throttled"] >= 1
    assert summary["status_counts"]["SHIPPED"] == summary["orders_expected"] // 2
    text = out.getvalue()
    for heading in ("Messages", "Dead letters", "SP-API", "Orders table"):
        assert heading in text
