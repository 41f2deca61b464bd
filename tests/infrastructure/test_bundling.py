"""Building the Lambda assets for the runtime: the target, the layer check, asset hashes, bytecode."""

from __future__ import annotations

import dataclasses
import importlib.util
import marshal
import py_compile
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from stacks import bundling, constants
from stacks.bytecode import BYTECODE_SCRIPT, BytecodeCompiler, BytecodeError, find_compiler
from stacks.lambda_target import FUNCTIONS, LambdaTarget

AARCH64, X86_64 = 183, 62
ARCHITECTURE_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}


def test_given_constants_then_runtime_architecture_and_layer_target_agree() -> None:
    assert bundling.RUNTIME.name == f"python{constants.LAMBDA_RUNTIME_PYTHON}"
    assert bundling.ARCHITECTURE.name == constants.LAMBDA_ARCHITECTURE
    assert ARCHITECTURE_MACHINES[constants.LAMBDA_ARCHITECTURE] == FUNCTIONS.machine
    assert FUNCTIONS.python == constants.LAMBDA_RUNTIME_PYTHON


def test_given_target_then_pip_takes_wheels_for_its_abi_and_every_manylinux_its_glibc_loads() -> None:
    arguments = bundling.pip_arguments(FUNCTIONS)

    def value(flag: str) -> str:
        return arguments[arguments.index(flag) + 1]

    platforms = {arguments[i + 1] for i, a in enumerate(arguments) if a == "--platform"}
    assert (value("--python-version"), value("--abi"), value("--implementation")) == ("3.14", "cp314", "cp")
    assert {"--only-binary=:all:", "--no-deps"} <= set(arguments)
    assert {"manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"} <= platforms
    assert "manylinux_2_35_aarch64" not in platforms
    assert all(p.endswith("_aarch64") for p in platforms)


@pytest.mark.parametrize(
    "changed",
    [
        dataclasses.replace(FUNCTIONS, python="3.13"),
        dataclasses.replace(FUNCTIONS, machine="x86_64"),
        dataclasses.replace(FUNCTIONS, glibc=(2, 26)),
    ],
    ids=["python", "cpu", "glibc"],
)
def test_given_another_python_or_platform_then_layer_and_code_hashes_change(changed: LambdaTarget) -> None:
    label = "cpython-314 unchecked-hash pycs"

    assert bundling.layer_fingerprint(changed, label) != bundling.layer_fingerprint(FUNCTIONS, label)
    assert bundling.code_fingerprint(changed, label) != bundling.code_fingerprint(FUNCTIONS, label)


def test_given_bytecode_or_requirements_change_then_layer_hash_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_bytecode = bundling.layer_fingerprint(FUNCTIONS, "cpython-314 unchecked-hash pycs")
    without_bytecode = bundling.layer_fingerprint(FUNCTIONS, "no bytecode")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(bundling.REQUIREMENTS.read_text() + "six==1.17.0\n")
    monkeypatch.setattr(bundling, "REQUIREMENTS", requirements)

    assert with_bytecode != without_bytecode
    assert bundling.layer_fingerprint(FUNCTIONS, "no bytecode") != without_bytecode


def test_given_sources_then_code_hash_follows_them_and_ignores_host_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "sellerstream"
    package.mkdir()
    (package / "module.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(bundling, "LAMBDA_SOURCE", tmp_path)
    before = bundling.code_fingerprint(FUNCTIONS, "no bytecode")

    py_compile.compile(str(package / "module.py"))  # this machine's __pycache__ is never shipped
    after_host_bytecode = bundling.code_fingerprint(FUNCTIONS, "no bytecode")
    (package / "module.py").write_text("VALUE = 2\n")

    assert after_host_bytecode == before
    assert bundling.code_fingerprint(FUNCTIONS, "no bytecode") != before


def layer_key(stack: cdk.Stack) -> str:
    [layer] = Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion").values()
    return str(layer["Properties"]["Content"]["S3Key"])


def test_given_stacks_then_layer_asset_hash_follows_the_runtime_target() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stacks = {name: cdk.Stack(app, name) for name in ("Current", "Again", "Older")}
    bundling.dependencies_layer(stacks["Current"], "Layer")
    bundling.dependencies_layer(stacks["Again"], "Layer")
    bundling.dependencies_layer(stacks["Older"], "Layer", dataclasses.replace(FUNCTIONS, python="3.13"))

    assert layer_key(stacks["Current"]) == layer_key(stacks["Again"])
    assert layer_key(stacks["Current"]) != layer_key(stacks["Older"])


def test_given_no_interpreter_of_the_runtime_version_then_synthesis_warns_it_ships_source_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unavailable = dataclasses.replace(FUNCTIONS, python="3.99")
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "NoCompiler")

    bundling.dependencies_layer(stack, "Layer", unavailable)

    Annotations.from_stack(stack).has_warning(
        "/NoCompiler/Layer", Match.string_like_regexp("No CPython 3.99 .*ship source only")
    )
    assert "WARNING: No CPython 3.99" in capsys.readouterr().err


def test_given_this_interpreters_version_then_it_is_the_compiler_found() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"

    compiler = find_compiler(version)

    assert compiler is not None and sys.executable in compiler.command
    assert find_compiler("3.99") is None


# --- the layer check: wheel tags, extension names, ELF CPU ---------------------------------------


def elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)


def install(site: Path, dist: str, tags: list[str], files: dict[str, bytes]) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {t}\n" for t in tags))
    for name, content in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(content)


FITTING = {
    "its own abi": (
        ["cp314-cp314-manylinux_2_17_aarch64", "cp314-cp314-manylinux2014_aarch64"],
        {"core/_core.cpython-314-aarch64-linux-gnu.so": elf(AARCH64), "core.libs/libx.so.1": elf(AARCH64)},
    ),
    "pure python": (["py3-none-any"], {"pure/__init__.py": b""}),
    "stable abi": (["cp39-abi3-manylinux_2_28_aarch64"], {"stable/_s.abi3.so": elf(AARCH64)}),
}
MISFITS = {
    "x86_64 wheel": (
        ["cp314-cp314-manylinux_2_17_x86_64"],
        {"core/_core.cpython-314-x86_64-linux-gnu.so": elf(X86_64)},
    ),
    "another python": (["cp311-cp311-manylinux2014_aarch64"], {}),
    "glibc newer than the runtime's": (["cp314-cp314-manylinux_2_39_aarch64"], {}),
    "stable abi newer than the runtime": (["cp315-abi3-manylinux_2_28_aarch64"], {}),
    "extension for another python": (
        ["py3-none-any"],
        {"core/_core.cpython-311-aarch64-linux-gnu.so": elf(AARCH64)},
    ),
    "vendored library for another cpu": (["py3-none-any"], {"core.libs/libx.so.1": elf(X86_64)}),
}


@pytest.mark.parametrize("name", FITTING)
def test_given_wheels_built_for_the_runtime_then_the_layer_fits(tmp_path: Path, name: str) -> None:
    install(tmp_path, "dist", *FITTING[name])

    assert FUNCTIONS.layer_mismatches(tmp_path) == []


@pytest.mark.parametrize("name", MISFITS)
def test_given_anything_built_for_another_runtime_then_the_layer_check_names_it(
    tmp_path: Path, name: str
) -> None:
    install(tmp_path, "fits", *FITTING["its own abi"])
    install(tmp_path, "misfit", *MISFITS[name])

    problems = FUNCTIONS.layer_mismatches(tmp_path)

    assert problems and all("fits-1.0" not in p and "_core.cpython-314-aarch64" not in p for p in problems)


def test_given_an_empty_layer_then_the_check_fails(tmp_path: Path) -> None:
    assert FUNCTIONS.layer_mismatches(tmp_path) == [f"no installed wheels in {tmp_path}"]


# --- the bytecode program (run here by this machine's Python; it runs the same under any) -------


def this_python() -> BytecodeCompiler:
    return BytecodeCompiler(description="this Python", command=(sys.executable, "-I", str(BYTECODE_SCRIPT)))


def package(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "module.py").write_text("def answer():\n    return 42\n")
    return root


def test_given_sources_when_compiled_then_unchecked_hash_pycs_where_the_import_system_looks(
    tmp_path: Path,
) -> None:
    root = package(tmp_path)

    summary = this_python().compile([(root, "/var/task")])

    cached = Path(importlib.util.cache_from_source(str(root / "pkg" / "module.py")))
    header = cached.read_bytes()[:16]
    code = marshal.loads(cached.read_bytes()[16:])  # noqa: S302 - the file this test just compiled
    assert summary["modules_from_bytecode"] == 2 and summary["problems"] == []
    assert cached.parent.name == "__pycache__" and cached.name == f"module.{sys.implementation.cache_tag}.pyc"
    assert header[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(header[4:8], "little") == 0b01
    assert code.co_filename == "/var/task/pkg/module.py"


def test_given_a_missing_or_timestamp_pyc_when_verified_then_it_is_named(tmp_path: Path) -> None:
    root = package(tmp_path)
    this_python().compile([(root, "/var/task")])
    module, init = root / "pkg" / "module.py", root / "pkg" / "__init__.py"
    py_compile.compile(str(module), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    Path(importlib.util.cache_from_source(str(init))).unlink()

    with pytest.raises(BytecodeError) as raised:
        this_python().verify([root])

    assert "pkg/module.py: .pyc is not an unchecked-hash pyc" in str(raised.value)
    assert f"pkg/__init__.py: no __init__.{sys.implementation.cache_tag}.pyc" in str(raised.value)
