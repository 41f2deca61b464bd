"""Cold-start cost of every Lambda handler: import time in fresh interpreters, as a ratio to boto3.

The Lambda Python runtime's functions import boto3 in every cold start anyway, so ``import boto3``
measured in the same run is the baseline. The import path is laid out like the function's:
the code (``lambdas/``), the dependency layer (exactly the distributions ``requirements.txt``
pins) and the packages the Lambda runtime provides (boto3 and its dependencies), copied from this
environment into a scratch directory and byte-compiled by the measured interpreter, as the deployed
assets are. Nothing else is importable: no development packages, no editable-install hooks
(``python -S``).

``--python PATH`` measures another interpreter, e.g. the Lambda runtime's Python version where one
is installed: its own pip installs the layer's pins for it (from PyPI or pip's cache).

Each round starts one fresh process per module (boto3 and each handler, interleaved, so load from
other processes on the machine falls on all of them alike); figures are medians over rounds.

    python bench/handler_import.py [--rounds N] [--python PATH] [--json]

``--json`` prints one object: ``{"boto3_ms": ..., "rounds": N, "python": "3.11.7",
"handlers": {"order_change": {"ms": ..., "ratio": ...}, "listing_status": ..., "report_finished": ..., "app_credentials": ...,
"reconcile": ..., "shipment_confirmation": ...}}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sellerstream_local.lambda_path import REQUIREMENTS, host_layer, runtime_packages

LAMBDA_PACKAGE = Path(__file__).resolve().parents[1] / "lambdas" / "sellerstream"
BASELINE = "boto3"
# handler name -> (module, the service name its function sets)
HANDLERS = {
    "order_change": ("sellerstream.handlers.order_change", "order-change"),
    "listing_status": ("sellerstream.handlers.listing_status", "listing-status"),
    "report_finished": ("sellerstream.handlers.report_finished", "report-finished"),
    "app_credentials": ("sellerstream.handlers.app_credentials", "app-credentials"),
    "reconcile": ("sellerstream.handlers.reconcile", "reconcile"),
    "shipment_confirmation": ("sellerstream.handlers.shipment_confirmation", "shipment-confirmation"),
}
SNIPPET = (
    "import sys; sys.path[:0] = sys.argv[1:]; import time; t = time.perf_counter(); "
    "import {module}; print(time.perf_counter() - t)"
)


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def layer_for(python: str, target: Path) -> Path:
    if Path(python).resolve() == Path(sys.executable).resolve():
        return host_layer(target)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run(
        [*pip, "--only-binary=:all:", "--target", str(target), "-r", str(REQUIREMENTS)], check=True
    )
    return target


def lay_out(scratch: Path, python: str) -> list[Path]:
    """The function's import path: code, layer, runtime packages, byte-compiled by ``python``."""
    code = scratch / "code"
    shutil.copytree(LAMBDA_PACKAGE, code / "sellerstream", ignore=shutil.ignore_patterns("__pycache__"))
    path = [code, layer_for(python, scratch / "layer"), runtime_packages(scratch / "runtime")]
    subprocess.run([python, "-m", "compileall", "-q", *map(str, path)], check=True, stdout=subprocess.DEVNULL)
    return path


def import_seconds(python: str, module: str, service_name: str, path: list[Path]) -> float:
    output = subprocess.run(
        [python, "-S", "-c", SNIPPET.format(module=module), *map(str, path)],
        check=True,
        capture_output=True,
        text=True,
        # What the function's environment holds at import time; nothing from this shell leaks in.
        env={
            "POWERTOOLS_SERVICE_NAME": service_name,
            "POWERTOOLS_METRICS_NAMESPACE": "SellerStream",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": service_name,
        },
    ).stdout
    return float(output.strip().splitlines()[-1])


def measure(rounds: int, python: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="handler-import-") as scratch:
        path = lay_out(Path(scratch), python)
        modules = {BASELINE: (BASELINE, "baseline"), **HANDLERS}
        for module, service_name in modules.values():  # warm the page cache, not measured
            import_seconds(python, module, service_name, path)
        samples: dict[str, list[float]] = {name: [] for name in modules}
        for _ in range(rounds):
            for name, (module, service_name) in modules.items():
                samples[name].append(import_seconds(python, module, service_name, path))
    baseline = statistics.median(samples[BASELINE])
    handlers = {}
    for name in HANDLERS:
        median = statistics.median(samples[name])
        handlers[name] = {"ms": round(median * 1000, 1), "ratio": round(median / baseline, 2)}
    return {
        "boto3_ms": round(baseline * 1000, 1),
        "rounds": rounds,
        "python": python_version(python),
        "handlers": handlers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9, help="fresh processes per module (default 9)")
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter to measure (default: this one)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.rounds, args.python)
    if args.json:
        print(json.dumps(result))
        return
    handlers = result["handlers"]
    assert isinstance(handlers, dict)
    print(f"{'import boto3 (baseline)':<31} {result['boto3_ms']:8.1f} ms")
    for name, figures in handlers.items():
        print(f"{'import handlers.' + name:<31} {figures['ms']:8.1f} ms   {figures['ratio']:5.2f}x boto3")
    print(f"medians of {args.rounds} fresh processes each; Python {result['python']}; byte-compiled")


if __name__ == "__main__":
    main()
