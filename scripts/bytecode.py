"""Byte-compiles, or verifies, Lambda asset directories with the interpreter that runs this script.

    python3.X scripts/bytecode.py DIR... -- compile DEPLOYED_DIR...
    python3.X scripts/bytecode.py DIR... -- verify

Run by the Lambda runtime's Python version (natively, or in Pyodide through ``pyodide/run.mjs``),
never by the synthesizing interpreter: a .pyc is specific to one CPython minor version.

``compile`` writes ``__pycache__/<module>.<cache tag>.pyc`` next to every source file (the place the
runtime's import system looks) as *unchecked-hash* pycs: the asset is content-addressed and read-only
in Lambda, so source and bytecode cannot drift apart, and the import system neither stats nor reads
the source to validate them (a timestamp pyc would be stale after unzipping, whose mtimes are not
the build's). Each DEPLOYED_DIR is where the matching DIR lands in Lambda (``/var/task``,
``/opt/python``), recorded as the code objects' file name. It then verifies, like ``verify``.

``verify`` loads every module's code through this interpreter's import machinery with compiling
from source forbidden: each must come from its .pyc. Prints one JSON summary; exit status 1 on any
problem. Standard library only, and Python 3.8+ syntax, so any target interpreter can run it.
"""

import compileall
import importlib.machinery
import importlib.util
import json
import os
import py_compile
import sys
from importlib import _bootstrap_external  # type: ignore[attr-defined]

UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, do not check the source


def sources(directory):
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def compile_directories(pairs):
    failed = []
    for directory, deployed in pairs:
        ok = compileall.compile_dir(
            directory,
            ddir=deployed,
            quiet=1,
            force=True,
            optimize=0,
            legacy=False,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            failed.append(directory)
    return failed


def verify_directories(directories):
    """Every source's code must load from its .pyc, as the runtime's import system would."""

    def refuse_source(*_args, **_kwargs):
        raise ImportError("compiled from source: no usable .pyc")

    original = _bootstrap_external.SourceLoader.source_to_code
    _bootstrap_external.SourceLoader.source_to_code = refuse_source
    problems, checked = [], 0
    try:
        for directory in directories:
            for path in sources(directory):
                relative = os.path.relpath(path, directory)
                cached = importlib.util.cache_from_source(path)
                if not os.path.isfile(cached):
                    problems.append(f"{relative}: no {os.path.basename(cached)}")
                    continue
                with open(cached, "rb") as pyc:
                    header = pyc.read(8)
                if header[:4] != importlib.util.MAGIC_NUMBER:
                    problems.append(f"{relative}: .pyc magic {header[:4].hex()} is not this Python's")
                    continue
                if int.from_bytes(header[4:8], "little") != UNCHECKED_HASH_FLAGS:
                    problems.append(f"{relative}: .pyc is not an unchecked-hash pyc")
                    continue
                name = relative[: -len(".py")].replace(os.sep, ".")
                try:
                    importlib.machinery.SourceFileLoader(name, path).get_code(name)
                except Exception as error:  # every failure is reported, none hidden
                    problems.append(f"{relative}: {error}")
                    continue
                checked += 1
    finally:
        _bootstrap_external.SourceLoader.source_to_code = original
    return checked, problems


def main(argv):
    separator = argv.index("--")
    directories, action, deployed = argv[:separator], argv[separator + 1], argv[separator + 2 :]
    summary = {
        "python": sys.version.split()[0],
        "cache_tag": sys.implementation.cache_tag,
        "magic": importlib.util.MAGIC_NUMBER.hex(),
    }
    if action == "compile":
        if len(deployed) != len(directories):
            raise SystemExit("compile needs one deployed path per directory")
        # zip(strict=) needs Python 3.10; the lengths are checked above.
        failed = compile_directories(list(zip(directories, deployed)))  # noqa: B905
        if failed:
            print(json.dumps({**summary, "problems": [f"{d}: did not compile" for d in failed]}))
            return 1
    elif action != "verify":
        raise SystemExit(f"unknown action {action!r}")
    checked, problems = verify_directories(directories)
    if not checked:
        problems.append("no Python sources found")
    print(json.dumps({**summary, "modules_from_bytecode": checked, "problems": problems[:50]}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
