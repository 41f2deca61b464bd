"""Lambda code assets built without Docker.

The function code is ``lambdas/`` as it is. The pinned runtime dependencies
(``requirements.txt``) become a layer, installed by the host's pip with
``--no-deps --platform manylinux2014_x86_64 --only-binary=:all:``: pip selects the wheels built for
Lambda's x86_64 Python 3.11 (pydantic-core included) and never compiles or runs them here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks import constants

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SOURCE = REPO_ROOT / "lambdas"
REQUIREMENTS = REPO_ROOT / "requirements.txt"
RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORM = "manylinux2014_x86_64"


@jsii.implements(ILocalBundling)
class PipWheelBundling:
    """Installs requirements.txt into ``<output>/python`` (the layer layout) with the host's pip."""

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--requirement",
                str(REQUIREMENTS),
                "--target",
                str(Path(output_dir) / "python"),
                "--platform",
                PIP_PLATFORM,
                "--implementation",
                "cp",
                "--python-version",
                constants.LAMBDA_RUNTIME_PYTHON,
                "--only-binary=:all:",
                "--no-deps",
                "--no-compile",
                "--quiet",
                "--disable-pip-version-check",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"pip could not build the dependency layer:\n{completed.stderr[-4000:]}")
        return True


def function_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=["**/__pycache__", "**/*.pyc"])


def dependencies_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    code = lambda_.Code.from_asset(
        str(REPO_ROOT),
        # Only requirements.txt is the source: the layer is rebuilt exactly when it changes.
        exclude=["*", "!requirements.txt"],
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.11"),
            local=PipWheelBundling(),
            command=["bash", "-c", "pip install -r requirements.txt -t /asset-output/python"],
        ),
    )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=code,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="SellerStream runtime dependencies (requirements.txt)",
    )
