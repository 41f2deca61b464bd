"""Lambda code assets built without Docker, for exactly the runtime the functions run on.

The target is ``stacks/lambda_target.FUNCTIONS`` (Python version, CPU and glibc from constants.py):

- The dependency layer: the host's pip installs ``requirements.txt`` with ``--no-deps
  --only-binary=:all:`` for that CPython version, ABI and manylinux platforms, so pip selects the
  wheels built for Lambda (pydantic-core's aarch64 build included) and never compiles or runs them
  here. The result is checked against the target (wheel tags, extension names, ELF CPU) before it
  is accepted.
- The function code: ``lambdas/`` as it is.
- Both ship bytecode for the runtime's Python version (see stacks/bytecode.py), so a cold start
  does not compile every module it imports.

Asset hashes are custom: the inputs (requirements or sources) plus everything that decides the
output (target, pip options, bytecode), so a runtime or platform change rebuilds and redeploys the
assets instead of reusing a cached build for another ABI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.bytecode import BytecodeCompiler, find_compiler
from stacks.lambda_target import FUNCTIONS, LambdaTarget

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SOURCE = REPO_ROOT / "lambdas"
REQUIREMENTS = REPO_ROOT / "requirements.txt"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Where Lambda puts the assets: the code objects' file names say so in tracebacks.
DEPLOYED_CODE_PATH = "/var/task"
DEPLOYED_LAYER_PATH = "/opt/python"
PIP_OPTIONS = ("--no-deps", "--only-binary=:all:", "--implementation", "cp", "--no-compile")
NOT_SHIPPED = ("__pycache__", "*.pyc")


def pip_arguments(target: LambdaTarget) -> list[str]:
    platforms = [argument for platform in target.pip_platforms for argument in ("--platform", platform)]
    return [*PIP_OPTIONS, "--python-version", target.python, "--abi", target.abi, *platforms]


def bytecode_label(target: LambdaTarget, compiler: BytecodeCompiler | None) -> str:
    """What the assets carry besides sources; part of their hashes (not which program compiled)."""
    return f"{target.cache_tag} unchecked-hash pycs" if compiler else "no bytecode"


def layer_fingerprint(target: LambdaTarget, bytecode: str) -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    build = {"target": str(target), "pip": pip_arguments(target), "bytecode": bytecode}
    digest.update(json.dumps(build, sort_keys=True).encode())
    return digest.hexdigest()


def code_fingerprint(target: LambdaTarget, bytecode: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(LAMBDA_SOURCE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(LAMBDA_SOURCE).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps({"target": str(target), "bytecode": bytecode}, sort_keys=True).encode())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Installs requirements.txt into ``<output>/python`` (the layer layout) for the target."""

    def __init__(self, target: LambdaTarget, compiler: BytecodeCompiler | None) -> None:
        self._target = target
        self._compiler = compiler

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        site = Path(output_dir) / "python"
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--requirement",
                str(REQUIREMENTS),
                "--target",
                str(site),
                *pip_arguments(self._target),
                "--quiet",
                "--disable-pip-version-check",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"pip could not build the dependency layer:\n{completed.stderr[-4000:]}")
        mismatches = self._target.layer_mismatches(site)
        if mismatches:
            raise RuntimeError("the dependency layer does not match the runtime:\n" + "\n".join(mismatches))
        if self._compiler:
            self._compiler.compile([(site, DEPLOYED_LAYER_PATH)])
        return True


@jsii.implements(ILocalBundling)
class CodeBundling:
    """Copies ``lambdas/`` (without host bytecode) and byte-compiles it for the target."""

    def __init__(self, compiler: BytecodeCompiler | None) -> None:
        self._compiler = compiler

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        shutil.copytree(
            LAMBDA_SOURCE, output_dir, ignore=shutil.ignore_patterns(*NOT_SHIPPED), dirs_exist_ok=True
        )
        if self._compiler:
            self._compiler.compile([(Path(output_dir), DEPLOYED_CODE_PATH)])
        return True


def _build_image(target: LambdaTarget) -> DockerImage:
    # Only used if local bundling ever declines (it never does): SAM's build image of the runtime.
    return DockerImage.from_registry(f"public.ecr.aws/sam/build-python{target.python}")


def _compile_command(target: LambdaTarget, directory: str, deployed: str) -> str:
    return (
        f"python{target.python} -m compileall -q -d {deployed} --invalidation-mode unchecked-hash {directory}"
    )


def function_code(target: LambdaTarget = FUNCTIONS) -> lambda_.Code:
    compiler = find_compiler(target.python)
    bytecode = bytecode_label(target, compiler)
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE),
        asset_hash=code_fingerprint(target, bytecode),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=_build_image(target),
            local=CodeBundling(compiler),
            command=[
                "bash",
                "-c",
                "cp -r /asset-input/. /asset-output/ && "
                + _compile_command(target, "/asset-output", DEPLOYED_CODE_PATH),
            ],
        ),
    )


def dependencies_layer(
    scope: Construct, construct_id: str, target: LambdaTarget = FUNCTIONS
) -> lambda_.LayerVersion:
    compiler = find_compiler(target.python)
    bytecode = bytecode_label(target, compiler)
    code = lambda_.Code.from_asset(
        str(REPO_ROOT),
        # The hash covers requirements.txt and the whole build (target, pip options, bytecode).
        exclude=["*", "!requirements.txt"],
        asset_hash=layer_fingerprint(target, bytecode),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=_build_image(target),
            local=LayerBundling(target, compiler),
            command=[
                "bash",
                "-c",
                f"pip install -r requirements.txt -t /asset-output/python {' '.join(pip_arguments(target))} && "
                + _compile_command(target, "/asset-output/python", DEPLOYED_LAYER_PATH),
            ],
        ),
    )
    layer = lambda_.LayerVersion(
        scope,
        construct_id,
        code=code,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description=f"SellerStream runtime dependencies (requirements.txt) for {target}",
    )
    if compiler is None:
        _warn_no_bytecode(layer, target)
    return layer


def no_bytecode_warning(target: LambdaTarget) -> str:
    return (
        f"No CPython {target.python} here to byte-compile the Lambda code and dependency layer "
        f"(looked for python{target.python} on PATH and for Pyodide from `make setup`): the assets ship "
        "source only, so every cold start compiles the modules it imports. Run `make setup` (it needs "
        f"the npm registry) or install Python {target.python}, then synthesize again."
    )


_warned: set[str] = set()


def _warn_no_bytecode(layer: Construct, target: LambdaTarget) -> None:
    """Synthesis goes on without bytecode and says so: in the assembly, and once on stderr."""
    message = no_bytecode_warning(target)
    Annotations.of(layer).add_warning_v2("sellerstream:no-bytecode", message)
    if message not in _warned:
        _warned.add(message)
        print(f"WARNING: {message}", file=sys.stderr)
