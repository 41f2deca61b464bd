"""The deployable bundle, synthesized for real: the layer fits the runtime, bytecode loads, code imports.

One real synthesis (pip builds the layer from PyPI for the Lambda runtime's CPU and Python; the
code and layer are byte-compiled by an interpreter of that Python version when one is here). Then:

- the layer's compiled wheels and extension modules are the runtime's (tags, names, ELF CPU);
- every module of the code and the layer loads from its bytecode through the import machinery of
  the runtime's Python version (native, or Pyodide), or, without such an interpreter, synthesis
  said that it shipped source only;
- the function code imports, with every handler, on this machine's Python (3.11: the code's other
  supported interpreter) beside the same pinned layer packages installed for this machine and the
  packages the Lambda Python runtime provides. The aarch64 layer itself cannot load on this CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sellerstream_local.lambda_path import host_layer, runtime_packages
from stacks.bytecode import find_compiler
from stacks.lambda_target import FUNCTIONS

# One synthesis for the module: its tests share a worker when the suite runs in parallel.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("lambda-bundle")]

ROOT = Path(__file__).resolve().parents[2]
HANDLER_MODULES = (
    "sellerstream.handlers.order_change",
    "sellerstream.handlers.listing_status",
    "sellerstream.handlers.report_finished",
    "sellerstream.handlers.app_credentials",
    "sellerstream.handlers.shipment_confirmation",
)


@dataclass(frozen=True)
class Bundle:
    code: Path
    layer: Path  # the layer's python/ directory
    synth_stderr: str


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    synth = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assets = json.loads((outdir / "SellerStream.assets.json").read_text())["files"]
    directories = [
        outdir / asset["source"]["path"]
        for asset in assets.values()
        if asset["source"].get("packaging") == "zip"
    ]
    [code] = [d for d in directories if (d / "sellerstream").is_dir()]
    [layer] = [d / "python" for d in directories if (d / "python").is_dir()]
    return Bundle(code=code, layer=layer, synth_stderr=synth.stderr)


def test_given_layer_then_its_compiled_wheels_match_the_runtime(bundle: Bundle) -> None:
    extensions = sorted(p.name for p in bundle.layer.rglob("*.so"))

    assert FUNCTIONS.layer_mismatches(bundle.layer) == []
    # Not vacuous: pydantic-core's extension is there, built for the runtime's CPython and CPU.
    assert any(name.endswith(FUNCTIONS.extension_suffix) for name in extensions), extensions
    assert not list(bundle.layer.glob("botocore*")), "the layer must not shadow the runtime's botocore"
    assert not list(bundle.layer.glob("aws_xray_sdk*")), "active tracing needs no X-Ray SDK"


def test_given_assets_then_every_module_loads_from_bytecode_of_the_runtime_python(bundle: Bundle) -> None:
    compiler = find_compiler(FUNCTIONS.python)
    shipped_pycs = [*bundle.code.rglob("*.pyc"), *bundle.layer.rglob("*.pyc")]
    if compiler is None:
        assert "ship source only" in bundle.synth_stderr
        assert shipped_pycs == []
        pytest.skip(f"no CPython {FUNCTIONS.python} here: checked that synthesis said it shipped source only")

    summary = compiler.verify([bundle.code, bundle.layer])

    sources = [*bundle.code.rglob("*.py"), *bundle.layer.rglob("*.py")]
    assert summary["cache_tag"] == FUNCTIONS.cache_tag
    assert summary["modules_from_bytecode"] == len(sources) > 0
    assert all(p.name.endswith(f".{FUNCTIONS.cache_tag}.pyc") for p in shipped_pycs)


def test_given_code_when_imported_on_this_machines_python_then_every_handler_loads(
    bundle: Bundle, tmp_path: Path
) -> None:
    layer = host_layer(tmp_path / "layer")
    runtime = runtime_packages(tmp_path / "runtime")
    probe = (
        "import sys; sys.path[:0] = sys.argv[1:4]; import importlib, pydantic_core, botocore;"
        f"handlers = [importlib.import_module(m) for m in {HANDLER_MODULES!r}];"
        "assert all(callable(h.lambda_handler) for h in handlers);"
        "assert all(h.__file__.startswith(sys.argv[1]) for h in handlers), handlers;"
        "assert pydantic_core.__file__.startswith(sys.argv[2]), pydantic_core.__file__;"
        "assert botocore.__file__.startswith(sys.argv[3]), botocore.__file__"
    )

    completed = subprocess.run(
        [sys.executable, "-S", "-B", "-c", probe, str(bundle.code), str(layer), str(runtime)],
        env={
            "PATH": os.environ.get("PATH", ""),
            "POWERTOOLS_SERVICE_NAME": "order-change",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
