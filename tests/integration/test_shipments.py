"""Shipment requests through the real handler, the local poller, moto and the emulator's confirmShipment."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sellerstream import metric_names
from sellerstream_local.notifications_factory import as_body, order_change, shipment_request
from sellerstream_local.pipeline import LocalPipeline
from sellerstream_ops import cli
from tests.integration.conftest import SELLER
from tests.integration.test_pipeline_metrics import emitted, metrics_enabled  # noqa: F401 - a fixture

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ORDER = "902-1106328-1059050"
ITEMS = {"79039765272157": 2, "79039765272158": 1}


def stored_order(pipeline: LocalPipeline, status: str = "Unshipped") -> None:
    """Amazon holds the order with two items, and its ORDER_CHANGE has been processed."""
    pipeline.emulator.set_order(
        ORDER,
        seller_id=SELLER,
        last_updated=T0,
        status=status,
        items=[{"order_item_id": item, "quantity": quantity} for item, quantity in ITEMS.items()],
    )
    pipeline.publish(as_body(order_change(seller_id=SELLER, order_id=ORDER, status=status, changed_at=T0)))
    pipeline.drain()


def ship(pipeline: LocalPipeline, tracking: str, **options: Any) -> str:
    body = shipment_request(
        seller_id=SELLER, order_id=ORDER, tracking_number=tracking, shipped_at=T0, **options
    )
    return pipeline.publish(as_body(body))


def packages(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    return [item for item in pipeline.table_items("orders") if str(item["sk"]).startswith("PACKAGE#")]


def order_header(pipeline: LocalPipeline) -> dict[str, Any]:
    [header] = [item for item in pipeline.table_items("orders") if item["sk"] == f"ORDER#{ORDER}"]
    return header


def confirmations(pipeline: LocalPipeline) -> int:
    return pipeline.emulator.calls["confirmShipment"]


def test_given_stored_order_when_shipment_without_reference_then_confirmed_package_stored_and_order_shipped(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline)

    ship(pipeline, "1Z0001", request_id="req-1", shipping_method="UPS Ground")
    pipeline.drain()

    [package] = packages(pipeline)
    reference = package["package_reference_id"]  # drawn from the request's id: a positive number
    assert package["sk"] == f"PACKAGE#{ORDER}#{reference}" and reference.isdigit() and int(reference) > 0
    assert (package["carrier_code"], package["tracking_number"]) == ("UPS", "1Z0001")
    assert {entry["order_item_id"]: entry["quantity"] for entry in package["order_items"]} == ITEMS
    assert package["amazon_request_id"] and package["request_id"] == "req-1"
    assert package["confirmed_at"] == package["updated_at"]
    [sent] = pipeline.emulator.orders.shipment_confirmations
    assert sent["packageDetail"]["packageReferenceId"] == reference
    assert sent["packageDetail"]["shippingMethod"] == "UPS Ground"
    # Amazon moved the order to Shipped and its ORDER_CHANGE brought the new state into the table.
    assert order_header(pipeline)["order_status"] == "SHIPPED"
    assert pipeline.dead_letters() == []


def test_given_confirmed_package_when_tracking_updated_without_reference_then_stored_reference_reused(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline)
    ship(pipeline, "1Z0001")
    pipeline.drain()
    [first] = packages(pipeline)

    ship(pipeline, "1Z0002-CORRECTED")
    pipeline.drain()

    [package] = packages(pipeline)
    assert package["package_reference_id"] == first["package_reference_id"]
    assert package["tracking_number"] == "1Z0002-CORRECTED"
    assert package["confirmed_at"] == first["confirmed_at"] and package["version"] == 2
    assert confirmations(pipeline) == 2
    resent = pipeline.emulator.orders.shipment_confirmations[1]["packageDetail"]["packageReferenceId"]
    assert resent == first["package_reference_id"]


def test_given_confirmed_package_when_update_ships_other_quantities_then_refused_without_a_call(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline)
    ship(pipeline, "1Z0001", package_reference_id="7")
    pipeline.drain()

    ship(pipeline, "1Z0002", request_id="req-bad", package_reference_id="7", items={"79039765272157": 1})
    pipeline.drain()

    assert confirmations(pipeline) == 1
    [letter] = pipeline.dead_letters()
    assert (letter.reason, letter.notification_id, letter.seller_id) == (
        "inconsistent_shipment",
        "req-bad",
        SELLER,
    )
    assert "package 7 was confirmed with items" in letter.detail
    [package] = packages(pipeline)
    assert package["tracking_number"] == "1Z0001"


def test_given_new_package_shipping_more_than_ordered_then_refused_without_a_call(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline)
    ship(pipeline, "1Z0001", items={"79039765272157": 2})
    pipeline.drain()

    ship(pipeline, "1Z0003", items={"79039765272157": 1})
    pipeline.drain()

    assert confirmations(pipeline) == 1
    [letter] = pipeline.dead_letters()
    assert letter.reason == "inconsistent_shipment" and "exceeds the 2 ordered" in letter.detail


def test_given_second_package_for_other_items_when_shipped_then_its_own_reference_and_order_shipped(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline)
    ship(pipeline, "1Z0001", items={"79039765272157": 2})
    pipeline.drain()
    ship(pipeline, "1Z0002", items={"79039765272158": 1})
    pipeline.drain()

    references = {
        package["package_reference_id"]: package["tracking_number"] for package in packages(pipeline)
    }
    assert sorted(references.values()) == ["1Z0001", "1Z0002"]  # two packages, two references
    assert order_header(pipeline)["order_status"] == "SHIPPED"


def test_given_same_request_twice_or_same_shipment_again_then_one_call(pipeline: LocalPipeline) -> None:
    stored_order(pipeline)
    ship(pipeline, "1Z0001", request_id="req-1")
    ship(pipeline, "1Z0001", request_id="req-1")
    pipeline.drain()

    ship(pipeline, "1Z0001", request_id="req-2")  # a new request that changes nothing
    pipeline.drain()

    assert confirmations(pipeline) == 1
    assert pipeline.outcomes.counts["duplicate"] == 1
    assert pipeline.outcomes.counts["unchanged"] == 1
    [package] = packages(pipeline)
    assert package["version"] == 1


def test_given_carrier_other_without_name_then_refused_before_any_call(pipeline: LocalPipeline) -> None:
    stored_order(pipeline)

    ship(pipeline, "1Z0001", carrier_code="Other")
    pipeline.drain()

    assert confirmations(pipeline) == 0
    [letter] = pipeline.dead_letters()
    assert letter.reason == "invalid_shipment_request" and "carrierName" in letter.detail


def test_given_order_not_stored_and_no_items_named_then_refused_without_a_call(
    pipeline: LocalPipeline,
) -> None:
    ship(pipeline, "1Z0001")
    pipeline.drain()

    assert confirmations(pipeline) == 0
    [letter] = pipeline.dead_letters()
    assert letter.reason == "unknown_order_items"


def test_given_amazon_refuses_the_confirmation_then_dead_lettered_with_its_reason_and_nothing_stored(
    pipeline: LocalPipeline,
) -> None:
    stored_order(pipeline, status="Canceled")

    ship(pipeline, "1Z0001")
    pipeline.drain()

    [letter] = pipeline.dead_letters()
    assert letter.reason == "spapi_client_error" and "InvalidInput" in letter.detail
    assert packages(pipeline) == []


def test_given_confirm_shipment_throttled_then_deferred_and_confirmed_later(pipeline: LocalPipeline) -> None:
    stored_order(pipeline)
    pipeline.emulator.fail_next("confirmShipment", 429, count=6, code="QuotaExceeded")

    ship(pipeline, "1Z0001")
    poller = pipeline.poller("fulfillment")

    poller.poll_once()  # 429s past the client's retries: a delayed copy goes back to the queue

    assert pipeline.outcomes.counts["deferred"] == 1
    assert (poller.stats.succeeded, poller.stats.failed_attempts) == (1, 0)
    pipeline.drain(poller, max_seconds=120)
    [package] = packages(pipeline)
    assert package["tracking_number"] == "1Z0001"
    assert pipeline.dead_letters() == []


# -- sellerstream ship -----------------------------------------------------------------------------


def test_given_ship_command_then_request_on_the_fulfillment_queue_confirmed_with_the_stored_marketplace(
    pipeline: LocalPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_order(pipeline)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))
    where = ["--outputs-file", str(outputs), "--region", "us-east-1"]

    status = cli.main(
        [
            "ship",
            *where,
            "--seller",
            SELLER,
            "--order",
            ORDER,
            "--carrier",
            "UPS",
            "--tracking",
            "1Z0001",
            "--item",
            "79039765272157:2",
            "--request-id",
            "req-cli",
        ]
    )
    pipeline.drain()

    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["request_id"] == "req-cli"
    assert printed["shipment"]["marketplaceId"] == "ATVPDKIKX0DER"
    [package] = packages(pipeline)
    assert package["request_id"] == "req-cli" and package["order_items"] == [
        {"order_item_id": "79039765272157", "quantity": 2}
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--carrier", "Other"], "carrierName is required"),
        (["--item", "79039765272157"], "expected ORDER_ITEM_ID:QUANTITY"),
        (["--ship-date", "2026-11-30T15:00:00"], "needs a time zone"),
    ],
)
def test_given_ship_command_with_a_mistake_then_one_line_and_nothing_sent(
    pipeline: LocalPipeline,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))
    base = {
        "--seller": SELLER,
        "--order": ORDER,
        "--carrier": "UPS",
        "--tracking": "1Z0001",
        "--marketplace": "ATVPDKIKX0DER",
    }
    for name, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[name] = value
    argv = ["ship", "--outputs-file", str(outputs), "--region", "us-east-1"]
    for name, value in base.items():
        argv += [name, value]

    status = cli.main(argv)

    assert status == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sellerstream ship: ") and message in line
    pipeline.drain()
    assert confirmations(pipeline) == 0 and pipeline.dead_letters() == []


def test_given_ship_command_for_an_order_not_stored_without_marketplace_then_told_to_name_it(
    pipeline: LocalPipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"SellerStream": pipeline.stack_outputs()}))

    status = cli.main(
        [
            "ship",
            "--outputs-file",
            str(outputs),
            "--region",
            "us-east-1",
            "--seller",
            SELLER,
            "--order",
            ORDER,
            "--carrier",
            "UPS",
            "--tracking",
            "1Z0001",
        ]
    )

    assert status == 1
    assert "--marketplace" in capsys.readouterr().err


# -- metrics ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("metrics_enabled")
def test_given_confirmation_and_refusal_then_shipment_metrics_and_lag_from_the_queue(
    pipeline: LocalPipeline, log_stream: io.StringIO
) -> None:
    stored_order(pipeline)
    before = len(log_stream.getvalue())

    ship(pipeline, "1Z0001", package_reference_id="3")
    pipeline.poller("fulfillment").poll_once()
    ship(pipeline, "1Z0002", package_reference_id="3", items={"79039765272157": 1})
    pipeline.poller("fulfillment").poll_once()

    # What the shipment function wrote (every local function shares one service name).
    written = emitted(io.StringIO(log_stream.getvalue()[before:]))
    counts = {
        name: value
        for name, dimensions, values, value in written
        if dimensions == (metric_names.SERVICE_DIMENSION,)
        and name
        in (metric_names.SHIPMENTS_CONFIRMED, metric_names.SHIPMENTS_REFUSED, metric_names.POISON_MESSAGES)
    }
    assert counts == {
        metric_names.SHIPMENTS_CONFIRMED: 1.0,
        metric_names.SHIPMENTS_REFUSED: 1.0,
        metric_names.POISON_MESSAGES: 1.0,
    }
    # A request has no event time of its own: its lag runs from when it entered the queue.
    lags = [value for name, _, _, value in written if name == metric_names.EVENT_TO_STORE_LAG]
    assert lags and all(0.0 <= lag < 3_600_000 for lag in lags)


def test_given_order_stored_from_orders_v0_when_shipped_without_items_then_its_items_are_confirmed(
    log_stream: io.StringIO,
) -> None:
    with LocalPipeline(emulator_time_scale=50.0, log_stream=log_stream, orders_api_version="v0") as v0:
        v0.provision_seller(SELLER)
        stored_order(v0)

        ship(v0, "1Z0001")
        v0.drain()

        stored = packages(v0)
        assert len(stored) == 1, [(letter.reason, letter.detail) for letter in v0.dead_letters()]
        [package] = stored
        assert {entry["order_item_id"]: entry["quantity"] for entry in package["order_items"]} == ITEMS
        assert order_header(v0)["order_status"] == "SHIPPED"
