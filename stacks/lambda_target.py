"""The platform the functions run on, and whether a built layer really matches it.

Pure Python (no CDK): the bundling, its tests and the end-to-end check of a synthesized layer share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from stacks import constants

# ELF e_machine values (System V ABI): what a compiled file was built for.
ELF_MACHINES = {"aarch64": 183, "x86_64": 62}
OLDEST_MANYLINUX_GLIBC_MINOR = 17  # manylinux2014, the oldest tag pip still offers for aarch64


@dataclass(frozen=True)
class LambdaTarget:
    """A CPython minor version on Lambda's Linux for one CPU: what wheels, .so files and .pyc fit."""

    python: str  # "3.14"
    machine: str  # "aarch64" or "x86_64" (uname -m)
    glibc: tuple[int, int]  # the runtime OS's glibc: the newest manylinux tag that still loads

    @property
    def nodot(self) -> str:
        return self.python.replace(".", "")

    @property
    def abi(self) -> str:
        return f"cp{self.nodot}"

    @property
    def cache_tag(self) -> str:
        """``sys.implementation.cache_tag`` of the runtime: the .pyc files it reads are named after it."""
        return f"cpython-{self.nodot}"

    @property
    def extension_suffix(self) -> str:
        """The suffix of extension modules built for this CPython's own ABI on Linux."""
        return f".cpython-{self.nodot}-{self.machine}-linux-gnu.so"

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """Every manylinux tag the runtime's glibc loads, newest first (pip expands none of them)."""
        major, newest = self.glibc
        tags = [f"manylinux_{major}_{minor}_{self.machine}" for minor in range(newest, 16, -1)]
        return (*tags, f"manylinux2014_{self.machine}")

    def accepts_wheel_tag(self, tag: str) -> bool:
        """A wheel tag (``interpreter-abi-platform``, compressed sets allowed) this runtime can load."""
        parts = tag.split("-")
        if len(parts) != 3:
            return False
        interpreters, abis, platforms = (set(part.split(".")) for part in parts)
        platform_ok = "any" in platforms or bool(platforms & set(self.pip_platforms))
        if "none" in abis:
            interpreter_ok = bool(interpreters & {"py3", f"py{self.nodot}", self.abi})
        elif self.abi in abis:
            interpreter_ok = self.abi in interpreters
        elif "abi3" in abis:
            interpreter_ok = any(_stable_abi_fits(i, self.python) for i in interpreters)
        else:
            interpreter_ok = False
        return platform_ok and interpreter_ok

    def layer_mismatches(self, site: Path) -> list[str]:
        """What in an installed layer (``<layer>/python``) this runtime could not load; empty if all fits.

        Checks each wheel's tags (``*.dist-info/WHEEL``), each extension module's file name, and the
        CPU every ELF file was built for (vendored shared libraries included).
        """
        problems = []
        wheels = sorted(site.glob("*.dist-info/WHEEL"))
        if not wheels:
            problems.append(f"no installed wheels in {site}")
        for wheel in wheels:
            tags = [
                line.partition(":")[2].strip()
                for line in wheel.read_text().splitlines()
                if line.startswith("Tag:")
            ]
            if not any(self.accepts_wheel_tag(tag) for tag in tags):
                problems.append(f"{wheel.parent.name}: wheel tags {tags} do not fit {self}")
        for path in sorted(site.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(site)
            if _FOREIGN_EXTENSION.search(path.name) and not path.name.endswith(self.extension_suffix):
                problems.append(
                    f"{relative}: extension module for another CPython (needs {self.extension_suffix})"
                )
            machine = _elf_machine(path)
            if machine is not None and machine != ELF_MACHINES[self.machine]:
                problems.append(f"{relative}: compiled for ELF machine {machine}, not {self.machine}")
        return problems

    def __str__(self) -> str:
        return f"CPython {self.python} on manylinux glibc {self.glibc[0]}.{self.glibc[1]} {self.machine}"


_FOREIGN_EXTENSION = re.compile(r"\.cpython-\d+[^.]*\.so$")


def _stable_abi_fits(interpreter: str, python: str) -> bool:
    """``cp38`` + ``abi3`` loads on every CPython 3.x from 3.8 on."""
    match = re.fullmatch(r"cp3(\d+)", interpreter)
    return match is not None and int(match.group(1)) <= int(python.split(".")[1])


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


FUNCTIONS = LambdaTarget(
    python=constants.LAMBDA_RUNTIME_PYTHON,
    machine=constants.LAMBDA_MACHINE,
    glibc=constants.LAMBDA_GLIBC,
)
