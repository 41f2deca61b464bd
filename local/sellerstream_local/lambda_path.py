"""A Lambda-like import path on this machine: function code, its layer's packages, the runtime's.

The deployed layer is built for the Lambda runtime's CPU and Python, which this machine may not
run; for importing the code here, the same pinned distributions are copied from this environment
(the versions must match ``requirements.txt``), next to the packages the Lambda Python runtime
itself provides. Used by the import benchmark and the bundle's end-to-end test.
"""

from __future__ import annotations

import re
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "requirements.txt"
# What the Lambda Python runtime ships besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "jmespath", "s3transfer", "python-dateutil", "urllib3", "six")
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


class EnvironmentMismatch(RuntimeError):
    """This environment lacks a distribution, or holds another version than requirements.txt pins."""


def pinned_requirements(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def copy_distribution(name: str, target: Path, version: str | None = None) -> None:
    """Copies an installed distribution's files (its own, no bytecode) into ``target``."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        raise EnvironmentMismatch(f"{name} is not installed here (run `make setup`)") from None
    if version is not None and dist.version != version:
        raise EnvironmentMismatch(f"{name} {dist.version} is installed, requirements.txt pins {version}")
    for file in dist.files or ():
        if file.suffix == ".pyc" or file.parts[0] == ".." or file.parts[0].endswith(".dist-info"):
            continue
        source = Path(str(file.locate()))
        if source.is_file():
            destination = target / file
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def host_layer(target: Path) -> Path:
    """The layer's pinned distributions, as installed for this machine's Python."""
    for name, version in pinned_requirements().items():
        copy_distribution(name, target, version)
    return target


def runtime_packages(target: Path) -> Path:
    """boto3 and the rest of what the Lambda Python runtime provides."""
    for name in RUNTIME_DISTRIBUTIONS:
        copy_distribution(name, target)
    return target
