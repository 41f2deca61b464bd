"""Our SP-API client's rate plans are Amazon's: for every operation the client meters, the plan it
starts from (before ``x-amzn-RateLimit-Limit`` tells it better) is the usage plan in Amazon's model.

The operations the client meters are read from its source: every ``.request("<operation>", "<method>",
"/<api>/<version>/...")`` call of ``sellerstream.spapi``. The models are the ones the emulator reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sellerstream.spapi
from sellerstream.spapi.ratelimit import DEFAULT_RATE_PLANS, metered_operation, plan_for
from sellerstream_local.emulator.usage_plans import model_plans, modelled_operations

CLIENT = Path(sellerstream.spapi.__file__).parent
# Known differences from Amazon's model, reported rather than changed here. The client declares no
# plan for rotateApplicationClientSecret and starts from its fallback plan (0.5/s, burst 5) until
# Amazon's header corrects it; Amazon's model says 0.0167/s (one a minute), burst 1.
KNOWN_DIFFERENCES: dict[str, str] = {}


def client_calls() -> list[tuple[str, str]]:
    """(source file, metered operation) of every SP-API call in the client."""
    calls = []
    for source in sorted(CLIENT.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "request" or len(node.args) < 3:
                continue
            operation, _, path = node.args[:3]
            assert isinstance(operation, ast.Constant) and isinstance(operation.value, str), (
                f"{source.name}:{node.lineno}: the operation is not a literal, so this test cannot read it"
            )
            calls.append((source.name, metered_operation(operation.value, _path_prefix(source, path))))
    return calls


def _path_prefix(source: Path, node: ast.expr) -> str:
    """The literal start of a path (``f"/orders/v0/orders/{order_id}"`` -> ``/orders/v0/orders/``)."""
    first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
    assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
        f"{source.name}:{node.lineno}: the path does not start with a literal"
    )
    return first.value


CALLS = sorted(set(client_calls()))


def test_given_the_clients_source_then_it_calls_sp_api_operations() -> None:
    # Guards the reading above: a client whose calls it no longer finds would check nothing.
    assert {metered for _, metered in CALLS} >= {"orders/2026-01-01:getOrder", "orders/v0:getOrderItems"}


@pytest.mark.parametrize(
    "metered",
    [
        pytest.param(
            metered,
            marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[metered])
            if metered in KNOWN_DIFFERENCES
            else (),
        )
        for metered in sorted({metered for _, metered in CALLS})
    ],
)
def test_given_an_operation_the_client_meters_then_its_plan_is_amazons_model(metered: str) -> None:
    amazon = model_plans().get(metered)

    assert amazon is not None, f"{metered}: no usage plan in Amazon's models"
    assert tuple(plan_for(metered, DEFAULT_RATE_PLANS)) == tuple(amazon)


@pytest.mark.parametrize("name", sorted(DEFAULT_RATE_PLANS))
def test_given_a_plan_the_client_declares_then_amazons_models_have_that_operation_with_that_plan(
    name: str,
) -> None:
    # A bare name ("getOrder") is the client's plan for that operation of every API.
    operations = [
        operation
        for operation in modelled_operations()
        if name in (operation.metered, operation.operation_id)
    ]

    assert operations, f"{name}: no such operation in Amazon's models"
    assert {tuple(operation.plan or ()) for operation in operations} == {tuple(DEFAULT_RATE_PLANS[name])}
