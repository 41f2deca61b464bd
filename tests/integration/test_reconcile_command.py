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
from sellerstream_local.notifications_factory import as_body, listings_status_change, order_change
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


# -- listings -----------------------------------------------------------------------------------------

CANADA = "A2EUQ1WTGCTBG2"


def listings_never_notified(
    pipeline: LocalPipeline, marketplace_id: str, count: int, minutes_ago: int = 30
) -> list[str]:
    first = pipeline.emulator.now() - timedelta(minutes=minutes_ago)
    skus = [f"LOST-{marketplace_id}-{index}" for index in range(count)]
    for index, sku in enumerate(skus):
        pipeline.emulator.set_listing(
            SELLER, sku, marketplace_id, last_updated=first + timedelta(seconds=index)
        )
    return skus


def stored_listings(pipeline: LocalPipeline) -> set[tuple[str, str]]:
    return {(str(item["marketplace_id"]), str(item["sku"])) for item in pipeline.table_items("listings")}


def test_given_listings_never_notified_when_reconciled_by_hand_then_stored_in_each_marketplace_and_counts_printed(
    pipeline: LocalPipeline, account: LocalAccount, invoker: LambdaInvoker
) -> None:
    pipeline.emulator.set_marketplaces(SELLER, ["ATVPDKIKX0DER", CANADA])
    ours = listings_never_notified(pipeline, "ATVPDKIKX0DER", 25)
    theirs = listings_never_notified(pipeline, CANADA, 2)

    result = reconcile(account, SELLER, "2h", None, listings=True)

    assert (result["listings_seen"], result["listings_refreshed"], result["pages"], result["complete"]) == (
        27,
        27,
        3,
        True,
    )
    assert [m["marketplace_id"] for m in result["marketplaces"]] == ["ATVPDKIKX0DER", CANADA]
    assert stored_listings(pipeline) == {("ATVPDKIKX0DER", s) for s in ours} | {(CANADA, s) for s in theirs}
    assert stored(pipeline) == set()  # orders are not this window's
    [event] = invoker.events
    assert (event["seller_id"], event["listings"]) == (SELLER, True)


def test_given_an_unfinished_listings_window_then_the_next_step_names_listings(
    pipeline: LocalPipeline, account: LocalAccount
) -> None:
    listings_never_notified(pipeline, "ATVPDKIKX0DER", 1)
    pipeline.emulator.fail_next("searchListingsItems", 429, count=20, code="QuotaExceeded")

    result = reconcile(account, SELLER, "2h", None, listings=True)

    assert result["complete"] is False and result["stopped"] == "rate_budget"
    assert result["next"].startswith(
        f"sellerstream reconcile --listings --seller {SELLER} --seller-region NA --since "
    )


def test_given_the_console_script_with_listings_then_the_listings_window_is_asked_for(
    pipeline: LocalPipeline,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sellerstream_ops.reconcile

    asked: list[dict[str, Any]] = []

    def reconcile_recorded(
        account: Any, seller: str, since: str, until: str | None, **options: Any
    ) -> dict[str, Any]:
        asked.append({"seller": seller, "since": since, "until": until, **options})
        return {"complete": True}

    monkeypatch.setattr(sellerstream_ops.reconcile, "reconcile", reconcile_recorded)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))

    where = ["--outputs-file", str(outputs), "--region", LOCAL_REGION]
    status = main(["reconcile", "--listings", "--seller", SELLER, "--since", "6h", *where])

    assert status == 0 and json.loads(capsys.readouterr().out) == {"complete": True}
    assert asked == [{"seller": SELLER, "since": "6h", "until": None, "listings": True, "region": None}]


def test_given_the_schedule_when_the_function_runs_then_each_sellers_listings_are_reconciled_after_its_orders(
    pipeline: LocalPipeline, invoker: LambdaInvoker
) -> None:
    [order] = never_notified(pipeline, 1)
    [sku] = listings_never_notified(pipeline, "ATVPDKIKX0DER", 1)

    answer = invoker.invoke(
        FunctionName=LOCAL_RECONCILE_FUNCTION, InvocationType="RequestResponse", Payload=b"{}"
    )

    [result] = json.loads(answer["Payload"].read())["sellers"]
    assert result["complete"] and result["listings"]["complete"]
    assert result["listings"]["marketplaces_refreshed"] is True  # fetched: the seller had none yet
    assert order in stored(pipeline) and ("ATVPDKIKX0DER", sku) in stored_listings(pipeline)
    [known] = [item for item in pipeline.table_items("accounts") if item["pk"] == f"SELLER#{SELLER}#NA"]
    assert [m["marketplace_id"] for m in known["marketplaces"]] == ["ATVPDKIKX0DER"]
    checkpoints = {str(item["pk"]) for item in pipeline.table_items("rate_budget")}
    assert any(
        key.startswith("RECONCILE_LISTINGS#") and key.endswith(f"#{SELLER}#na#ATVPDKIKX0DER")
        for key in checkpoints
    )


def test_given_listing_notifications_lost_when_the_pipeline_reconciles_listings_then_every_listing_is_current(
    pipeline: LocalPipeline,
) -> None:
    at = pipeline.emulator.now() - timedelta(minutes=20)
    skus = [f"SKU-{index}" for index in range(6)]
    for index, sku in enumerate(skus):
        pipeline.emulator.set_listing(SELLER, sku, "ATVPDKIKX0DER", status=["BUYABLE"], last_updated=at)
        if index % 2 == 0:  # the others' notifications never reached the queue
            pipeline.publish(
                as_body(
                    listings_status_change(
                        seller_id=SELLER,
                        sku=sku,
                        status=["BUYABLE"],
                        changed_at=at,
                        marketplace_id="ATVPDKIKX0DER",
                    )
                )
            )
    pipeline.drain()
    assert len(stored_listings(pipeline)) == 3

    counts = pipeline.reconcile_listings(SELLER, at - timedelta(minutes=5))

    assert stored_listings(pipeline) == {("ATVPDKIKX0DER", sku) for sku in skus}
    assert (counts["listings_seen"], counts["listings_refreshed"], counts["pages"], counts["calls"]) == (
        6,
        3,
        1,
        1,
    )
    assert (counts["complete"], counts["marketplaces"]) == (True, ["ATVPDKIKX0DER"])
