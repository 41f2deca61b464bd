"""``sellerstream reconcile`` and ``LocalPipeline.reconcile`` against the local pipeline's account
(moto) and the SP-API emulator; the function is invoked as Lambda would run it (its real handler)."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from sellerstream import catalog
from sellerstream_local.notifications_factory import as_body, order_change
from sellerstream_local.pipeline import LOCAL_RECONCILE_FUNCTION, LOCAL_REGION, LocalPipeline
from sellerstream_local.poller import LocalLambdaContext
from sellerstream_ops.account import Account
from sellerstream_ops.cli import main
from sellerstream_ops.errors import OperatorError
from sellerstream_ops.outputs import StackOutputs
from sellerstream_ops.reconcile import reconcile
from tests.integration.conftest import SELLER


class LambdaInvoker:
    """Lambda's synchronous Invoke of the local reconcile function: its handler's answer, or the
    error document Lambda returns (``FunctionError``) when it raises."""

    def __init__(self, pipeline: LocalPipeline) -> None:
        self.events: list[dict[str, Any]] = []
        self._environment = pipeline.function_environment(catalog.RECONCILE)

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        from sellerstream.handlers.reconcile import lambda_handler

        assert (FunctionName, InvocationType) == (LOCAL_RECONCILE_FUNCTION, "RequestResponse")
        event = json.loads(Payload)
        self.events.append(event)
        try:
            with patch.dict(os.environ, self._environment):
                answer = lambda_handler(
                    event, LocalLambdaContext(FunctionName, catalog.RECONCILE.sizing.timeout_seconds)
                )
        except Exception as error:
            document = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(document).encode())}
        return {"Payload": io.BytesIO(json.dumps(answer).encode())}


class LocalAccount(Account):
    def __init__(self, outputs: StackOutputs, invoker: LambdaInvoker) -> None:
        super().__init__(LOCAL_REGION, outputs)
        self._invoker = invoker

    def client(self, service: str) -> Any:
        return self._invoker if service == "lambda" else super().client(service)


@pytest.fixture
def invoker(pipeline: LocalPipeline) -> LambdaInvoker:
    return LambdaInvoker(pipeline)


@pytest.fixture
def account(pipeline: LocalPipeline, invoker: LambdaInvoker) -> LocalAccount:
    return LocalAccount(StackOutputs(pipeline.stack_outputs()), invoker)


def never_notified(pipeline: LocalPipeline, count: int, minutes_ago: int = 30) -> list[str]:
    first = pipeline.emulator.now() - timedelta(minutes=minutes_ago)
    orders = [f"401-0000000-{index:07d}" for index in range(count)]
    for index, order in enumerate(orders):
        pipeline.emulator.set_order(order, seller_id=SELLER, last_updated=first + timedelta(seconds=index))
    return orders


def stored(pipeline: LocalPipeline) -> set[str]:
    return {
        str(item["sk"]).removeprefix("ORDER#")
        for item in pipeline.table_items("orders")
        if str(item["sk"]).startswith("ORDER#")
    }


def test_given_orders_never_notified_when_reconciled_by_hand_then_stored_and_counts_printed(
    pipeline: LocalPipeline, account: LocalAccount, invoker: LambdaInvoker
) -> None:
    orders = never_notified(pipeline, 3)

    result = reconcile(account, SELLER, "2h", None)

    assert (result["orders_seen"], result["orders_refreshed"], result["pages"], result["complete"]) == (
        3,
        3,
        1,
        True,
    )
    assert set(orders) <= stored(pipeline)
    [event] = invoker.events
    assert event["seller_id"] == SELLER and event["since"].endswith("Z") and "until" not in event


def test_given_a_seller_without_credentials_when_reconciled_then_one_line_from_the_function(
    account: LocalAccount,
) -> None:
    with pytest.raises(OperatorError) as raised:
        reconcile(account, "A9NOSUCHSELLER", "2h", None)

    message = str(raised.value)
    assert "UnknownSellerError" in message and "\n" not in message


@pytest.mark.parametrize(
    ("seller", "since", "until", "complaint"),
    [
        ("A1#OTHER", "2h", None, "--seller"),
        (SELLER, "yesterday", None, "duration"),
        (SELLER, "2026-11-27T08:00:00", None, "offset"),
        (SELLER, "1h", "2h", "--since must be before --until"),
    ],
)
def test_given_a_mistyped_window_when_reconciled_then_one_line_and_nothing_invoked(
    account: LocalAccount, invoker: LambdaInvoker, seller: str, since: str, until: str | None, complaint: str
) -> None:
    with pytest.raises(OperatorError, match=complaint):
        reconcile(account, seller, since, until)

    assert invoker.events == []


def test_given_the_console_script_when_since_is_mistyped_then_exit_1_with_one_line(
    pipeline: LocalPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))

    status = main(
        [
            "reconcile",
            "--seller",
            SELLER,
            "--since",
            "soon",
            "--outputs-file",
            str(outputs),
            "--region",
            LOCAL_REGION,
        ]
    )

    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith("sellerstream reconcile: ") and error.count("\n") == 1


def test_given_notifications_lost_before_the_queue_when_the_pipeline_reconciles_then_every_order_is_current(
    pipeline: LocalPipeline,
) -> None:
    at = pipeline.emulator.now() - timedelta(minutes=20)
    orders = [f"402-0000000-{index:07d}" for index in range(10)]
    for index, order in enumerate(orders):
        pipeline.emulator.set_order(order, seller_id=SELLER, last_updated=at, status="Unshipped")
        if index % 2 == 0:  # the others' notifications never reached the queue
            pipeline.publish(
                as_body(order_change(seller_id=SELLER, order_id=order, status="Unshipped", changed_at=at))
            )
    pipeline.drain()
    assert len(set(orders) & stored(pipeline)) == 5

    counts = pipeline.reconcile(SELLER, at - timedelta(minutes=5))

    assert set(orders) <= stored(pipeline)
    assert (counts["orders_seen"], counts["orders_refreshed"], counts["pages"], counts["calls"]) == (
        10,
        5,
        1,
        1,
    )
    assert counts["complete"] is True
