"""Which interpreter byte-compiles the Lambda assets: one of the runtime's Python version, never ours.

A .pyc is specific to one CPython minor version, so the synthesizing interpreter (3.11 in CI) cannot
compile for the runtime (3.14). In order of preference:

1. a native interpreter of that version: ``python3.X`` on PATH, or the synthesizing one itself;
2. Pyodide, CPython of that version built for WebAssembly, run by the Node.js that CDK needs anyway
   (``scripts/pyodide``, installed by ``make setup`` from the npm registry). Bytecode is the same
   whatever the CPU: CPython's compiler emits it, not the platform;
3. none: the assets ship source only and synthesis says so (every cold start then compiles what it
   imports, and cannot cache it: Lambda's file system is read-only).

The compiling program is ``scripts/bytecode.py`` (standard library only), run by the chosen interpreter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BYTECODE_SCRIPT = REPO_ROOT / "scripts" / "bytecode.py"
PYODIDE_RUNNER = REPO_ROOT / "scripts" / "pyodide" / "run.mjs"
PYODIDE_PACKAGE = REPO_ROOT / "scripts" / "pyodide" / "node_modules" / "pyodide"
# Pyodide starts in seconds; a layer compiles in tens of seconds on a loaded machine.
TIMEOUT_SECONDS = 900


class BytecodeError(RuntimeError):
    """The target interpreter could not compile the asset, or its bytecode would not load."""


@dataclass(frozen=True)
class BytecodeCompiler:
    description: str  # e.g. "CPython 3.14.2 in Pyodide 314.0.8 (WebAssembly on Node.js)"
    command: tuple[str, ...]  # runs BYTECODE_SCRIPT with the directories that follow

    def compile(self, directories: Sequence[tuple[Path, str]]) -> dict[str, object]:
        """Writes unchecked-hash pycs into each directory (deployed at its paired path), then verifies."""
        return self._run(
            [path for path, _ in directories], ["compile", *(deployed for _, deployed in directories)]
        )

    def verify(self, directories: Sequence[Path]) -> dict[str, object]:
        """Every module in the directories loads from its .pyc through the target's import machinery."""
        return self._run(list(directories), ["verify"])

    def _run(self, directories: list[Path], action: list[str]) -> dict[str, object]:
        completed = subprocess.run(
            [*self.command, *map(str, directories), "--", *action],
            check=False,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
        lines = completed.stdout.strip().splitlines()
        summary: dict[str, object] = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        if completed.returncode != 0:
            detail = summary.get("problems") or completed.stderr[-3000:] or completed.stdout[-3000:]
            raise BytecodeError(f"{self.description} could not {action[0]} {directories}: {detail}")
        return summary


def find_compiler(python: str) -> BytecodeCompiler | None:
    """An interpreter of CPython ``python`` ("3.14") that can compile here, or None."""
    return _native(python) or _pyodide(python)


@cache
def _native(python: str) -> BytecodeCompiler | None:
    cache_tag = f"cpython-{python.replace('.', '')}"
    candidates = [sys.executable, shutil.which(f"python{python}")]
    for executable in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run(
                [
                    executable,
                    "-I",
                    "-c",
                    "import sys; print(sys.implementation.cache_tag, sys.version.split()[0])",
                ],
                check=False,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        tag, _, version = probe.stdout.strip().partition(" ")
        if probe.returncode == 0 and tag == cache_tag:
            return BytecodeCompiler(
                description=f"CPython {version} ({executable})",
                command=(executable, "-I", str(BYTECODE_SCRIPT)),
            )
    return None


@cache
def _pyodide(python: str) -> BytecodeCompiler | None:
    node = shutil.which("node")
    lock_file = PYODIDE_PACKAGE / "pyodide-lock.json"
    if node is None or not lock_file.is_file():
        return None
    try:
        version = str(json.loads(lock_file.read_text())["info"]["python"])
        package_version = str(json.loads((PYODIDE_PACKAGE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
    if version.rsplit(".", 1)[0] != python:
        return None
    return BytecodeCompiler(
        description=f"CPython {version} in Pyodide {package_version} (WebAssembly on Node.js)",
        command=(node, str(PYODIDE_RUNNER), str(BYTECODE_SCRIPT)),
    )
