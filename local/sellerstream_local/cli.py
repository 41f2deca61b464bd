"""The ``sellerstream`` command: the local demo and replay of captured traffic."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sellerstream", description="SellerStream local tools (no AWS account)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run a realistic notification stream through the local pipeline")
    demo.add_argument("--log-file", type=Path, default=Path(".sellerstream/demo-log.jsonl"))

    replay = commands.add_parser("replay", help="run captured SQS message bodies (one per line) locally")
    replay.add_argument("file", type=Path)
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument("--dump-tables", action="store_true", help="include every table's items")
    replay.add_argument("--orders-api-version", choices=("2026-01-01", "v0"), default="2026-01-01")

    args = parser.parse_args(argv)
    if args.command == "demo":
        from sellerstream_local.demo import run_demo  # noqa: PLC0415 - keep --help fast

        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        run_demo(sys.stdout, args.log_file)
        return 0
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    from sellerstream_local.replay import replay as run_replay  # noqa: PLC0415

    report = run_replay(args.file, dump_tables=args.dump_tables, orders_api_version=args.orders_api_version)
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_report(report)
    return 0


def _print_report(report: dict[str, object]) -> None:
    for key, value in report.items():
        if key != "tables":
            print(f"{key}: {json.dumps(value, default=str)}")


if __name__ == "__main__":
    raise SystemExit(main())
