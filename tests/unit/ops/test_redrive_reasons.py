"""``redrive --reason`` takes every reason a dead letter can have, and refuses any other in one line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import sellerstream
from sellerstream.errors import DEAD_LETTER_REASONS
from sellerstream.logic.batch import IN_PROGRESS_ELSEWHERE
from sellerstream_ops.dead_letters import reasons_of
from sellerstream_ops.errors import OperatorError

RUNTIME = Path(sellerstream.__file__).parent
# The bases' own tags are never given: every failure raised is a subclass with its own reason, or
# a PermanentFailureError naming one.
BASE_TAGS = {"poison", "permanent_failure"}


def _modules() -> Iterator[ast.Module]:
    for path in sorted(RUNTIME.rglob("*.py")):
        yield ast.parse(path.read_text(encoding="utf-8"))


def _family(trees: list[ast.Module], root: str) -> set[str]:
    """The class names deriving from ``root`` anywhere in the runtime (by their bases' names)."""
    family, grown = {root}, True
    while grown:
        grown = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in family:
                    bases = {
                        base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                        for base in node.bases
                    }
                    if bases & family:
                        family.add(node.name)
                        grown = True
    return family


def _string_constants(tree: ast.Module) -> dict[str, str]:
    constants: dict[str, str] = {}
    for node in tree.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
            constants[target.id] = value.value
    return constants


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def reasons_in_the_runtime() -> set[str]:
    """Every reason the runtime's source gives a failure: the poison classes' own, and the first
    argument of each PermanentFailureError (through module constants and the helpers that pass a
    parameter on, such as a `_refuse(request, REASON, ...)`)."""
    trees = list(_modules())
    poison, permanent = _family(trees, "PoisonMessageError"), _family(trees, "PermanentFailureError")
    reasons: set[str] = set()
    for tree in trees:
        constants = _string_constants(tree)

        def resolve(argument: ast.expr, constants: dict[str, str] = constants) -> str | None:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                return argument.value
            return constants.get(argument.id) if isinstance(argument, ast.Name) else None

        # Helpers that pass a parameter on as the reason (name -> its position among the call's
        # arguments: a method's self is not one), and those parameters.
        helpers: dict[str, int] = {}
        passed_on: set[str] = set()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            parameters = [argument.arg for argument in function.args.args]
            if parameters[:1] in (["self"], ["cls"]):
                parameters = parameters[1:]
            for call in ast.walk(function):
                if isinstance(call, ast.Call) and _called(call) in permanent and call.args:
                    first = call.args[0]
                    if isinstance(first, ast.Name) and first.id in parameters:
                        helpers[function.name] = parameters.index(first.id)
                        passed_on.add(first.id)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in poison:
                for statement in node.body:
                    targets = [t.id for t in getattr(statement, "targets", []) if isinstance(t, ast.Name)]
                    if isinstance(statement, ast.Assign) and targets == ["reason"]:
                        reason = resolve(statement.value)
                        assert reason is not None, f"{node.name}.reason is not a string"
                        reasons.add(reason)
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            position = 0 if name in permanent else helpers.get(name)
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            reason = resolve(argument)
            if reason is not None:
                reasons.add(reason)
            elif isinstance(argument, ast.Attribute) and argument.attr == "reason":
                continue  # a failure's reason passed on (e.g. dead-lettering what failed): known already
            elif not (isinstance(argument, ast.Name) and argument.id in passed_on):
                pytest.fail(f"{name}(...) is given a reason that is not a string constant: declare it")
    return reasons - BASE_TAGS


def test_given_the_runtime_then_every_reason_it_gives_a_dead_letter_is_known_and_no_other() -> None:
    given = reasons_in_the_runtime() | {IN_PROGRESS_ELSEWHERE}

    assert given == DEAD_LETTER_REASONS
    assert "unsupported_payload_version" in DEAD_LETTER_REASONS


@pytest.mark.parametrize(
    "reason",
    [
        *sorted(DEAD_LETTER_REASONS),
        "unknown",  # dlq found no reason
        "SpApiServerError",  # a transient failure's exception, as the function logged it
        "SpApiThrottled",
        "RateBudgetExhausted",
        "AppSecretUnusable",
        "ProvisionedThroughputExceededException",
        "ClientError",
        "NO_PERMISSIONS",  # EventBridge's ERROR_CODE on a listings-rule letter
        "UNKNOWN",
    ],
)
def test_given_a_reason_a_letter_can_have_when_redriving_by_it_then_it_is_taken(reason: str) -> None:
    assert reasons_of([reason]) == [reason]


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("unknwon_seller", "is no reason a dead letter can have: one of ambiguous_package, aws_validation"),
        ("seller-credentials", "is no reason a dead letter can have"),
        ("SpApiServrErr", "…Error, …Exception, AppSecretUnusable"),
        ("UnknownSellerError", "such letters carry the reason unknown_seller"),
        ("UNKNOWN_SELLER", "such letters carry the reason unknown_seller"),
        ("", "is no reason a dead letter can have"),
    ],
)
def test_given_a_reason_no_letter_can_have_when_redriving_by_it_then_refused_in_one_line(
    reason: str, says: str
) -> None:
    with pytest.raises(OperatorError) as refused:
        reasons_of(["unknown_seller", reason])

    assert says in str(refused.value) and "\n" not in str(refused.value)
