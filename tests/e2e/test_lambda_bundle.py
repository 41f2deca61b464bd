"""The deployable bundle imports on a Lambda-like Python: our code + the layer + the runtime's boto3.

Synthesizes for real (the layer is built by pip from PyPI), then imports the handler with no
site-packages but the libraries the Lambda Python runtime itself provides. A dependency missing
from requirements.txt, or a wheel for the wrong platform, fails here rather than in AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six.py")


def test_given_synthesized_assets_when_imported_like_lambda_then_handler_loads(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600
    )
    assets = json.loads((outdir / "SellerStream.assets.json").read_text())["files"]
    directories = [
        outdir / asset["source"]["path"]
        for asset in assets.values()
        if asset["source"].get("packaging") == "zip"
    ]
    [code] = [d for d in directories if (d / "sellerstream").is_dir()]
    [layer] = [d / "python" for d in directories if (d / "python").is_dir()]
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME_PACKAGES:
        source = site / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, runtime / name)

    probe = (
        "import sys; sys.path[:0] = sys.argv[1:4];"
        "import sellerstream.handlers.order_change as h, pydantic_core, botocore;"
        "assert callable(h.lambda_handler);"
        "assert '/python/' in pydantic_core.__file__, pydantic_core.__file__;"
        "assert botocore.__file__.startswith(sys.argv[3]), botocore.__file__"
    )
    completed = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(code), str(layer), str(runtime)],
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
    assert not list(layer.glob("botocore*")), "the layer must not shadow the runtime's botocore"
