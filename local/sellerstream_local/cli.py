"""The ``sellerstream`` command's local tools: the demo and replay of captured traffic (no AWS account).

``sellerstream_ops.cli`` builds the whole command; this module adds and runs the local commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LOCAL_COMMANDS = {
    "demo": "run a realistic notification stream through the local pipeline",
    "replay": "run captured SQS message bodies (one JSON object per line) through the local pipeline",
}
# Compressed or archive files (gzip, zip, bzip2, xz, zstd, parquet) start with these bytes.
BINARY_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"PAR1")


def add_local_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", description=LOCAL_COMMANDS["demo"])
    demo.add_argument("--log-file", type=Path, default=Path(".sellerstream/demo-log.jsonl"))

    replay = commands.add_parser("replay", description=LOCAL_COMMANDS["replay"])
    replay.add_argument("file", type=Path)
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument("--dump-tables", action="store_true", help="include every table's items")
    replay.add_argument("--orders-api-version", choices=("2026-01-01", "v0"), default="2026-01-01")
    replay.add_argument(
        "--documents",
        type=Path,
        help="captured report documents: DIR/<reportDocumentId> (gzip or plain) and, if present, "
        "DIR/<reportDocumentId>.content-type",
    )


def run_local_command(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from sellerstream_local.demo import run_demo  # noqa: PLC0415 - keep --help fast

        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        run_demo(sys.stdout, args.log_file)
        return 0
    problem = replay_file_problem(args.file)
    if problem is None and args.documents is not None and not args.documents.is_dir():
        problem = f"{args.documents}: no such directory"
    if problem is not None:
        print(f"sellerstream replay: {problem}", file=sys.stderr)
        return 1
    from sellerstream_local.replay import replay as run_replay  # noqa: PLC0415

    report = run_replay(
        args.file,
        dump_tables=args.dump_tables,
        orders_api_version=args.orders_api_version,
        documents=args.documents,
    )
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_report(report)
    return 0


def replay_file_problem(path: Path) -> str | None:
    """What makes a whole file unusable for replay (one line's problem is that line's, not the file's).

    A capture is one SQS message body per line. Binary files (gzip, zip, NUL bytes) and JSON spread
    over several lines (pretty-printed, or an array of bodies) would otherwise be reported line by
    line as hundreds of dead letters.
    """
    expected = "replay reads one JSON object per line (an SQS message body each)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return f"{path}: no such file"
    except IsADirectoryError:
        return f"{path} is a directory: {expected}"
    except OSError as error:
        return f"{path}: cannot be read ({type(error).__name__})"
    # One NUL in a line is that line's problem (SQS refuses it); a file full of them is not text.
    if raw.startswith(BINARY_MAGIC) or raw.count(b"\x00") > len(raw) // 100:
        return f"{path} is a binary file (compressed?): {expected}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if not any(_decodes(line) for line in raw.split(b"\n") if line.strip()):
            return f"{path} is not UTF-8 text: {expected}"
        return None
    lines = [line for line in text.split("\n") if line.strip()]
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(whole, list):
        return f"{path} holds a JSON array: {expected} (jq -c '.[]' {path} writes that)"
    if len(lines) > 1:
        return f"{path} holds one JSON document over {len(lines)} lines (pretty-printed?): {expected} (jq -c . writes that)"
    return None


def _decodes(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _print_report(report: dict[str, object]) -> None:
    for key, value in report.items():
        if key != "tables":
            print(f"{key}: {json.dumps(value, default=str)}")
