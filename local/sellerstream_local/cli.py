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
    replay.add_argument(
        "--documents",
        type=Path,
        help="captured report documents: DIR/<reportDocumentId> (gzip or plain) and, if present, "
        "DIR/<reportDocumentId>.content-type",
    )

    for name, help_text in (
        ("subscribe", "create or find the destinations and subscriptions of a seller (idempotent)"),
        ("subscriptions", "list a seller's subscriptions for the three types"),
        (
            "unsubscribe",
            "delete a seller's subscriptions (and, with --delete-destinations, the destinations)",
        ),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--seller", required=True, help="the selling partner id whose secret holds its refresh token"
        )
        command.add_argument("--stack", default="SellerStream", help="the deployed stack's name")
        command.add_argument(
            "--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON instead of CloudFormation"
        )
        if name == "unsubscribe":
            command.add_argument("--delete-destinations", action="store_true")

    args = parser.parse_args(argv)
    if args.command in ("subscribe", "subscriptions", "unsubscribe"):
        return _subscriptions(args)
    if args.command == "demo":
        from sellerstream_local.demo import run_demo  # noqa: PLC0415 - keep --help fast

        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        run_demo(sys.stdout, args.log_file)
        return 0
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    if args.documents is not None and not args.documents.is_dir():
        parser.error(f"{args.documents}: no such directory")
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


def _subscriptions(args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    from sellerstream.errors import SellerStreamError  # noqa: PLC0415
    from sellerstream.spapi.errors import SpApiError  # noqa: PLC0415
    from sellerstream_local.subscriptions import StackOutputs, Subscriptions  # noqa: PLC0415

    if args.outputs_file:
        outputs = StackOutputs.from_file(args.outputs_file, args.stack)
    else:
        outputs = StackOutputs.from_cloudformation(args.stack)
    overrides = {
        name: os.environ[name]
        for name in ("SPAPI_ENDPOINT_OVERRIDE", "LWA_ENDPOINT_OVERRIDE", "SPAPI_SANDBOX")
        if name in os.environ
    }
    try:
        tool = Subscriptions(outputs, outputs.settings(overrides), args.seller)
        if args.command == "subscribe":
            result = tool.subscribe()
        elif args.command == "subscriptions":
            result = tool.current()
        else:
            result = tool.unsubscribe(delete_destinations=args.delete_destinations)
    except (SpApiError, SellerStreamError) as error:
        print(f"sellerstream {args.command}: {error}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _print_report(report: dict[str, object]) -> None:
    for key, value in report.items():
        if key != "tables":
            print(f"{key}: {json.dumps(value, default=str)}")


if __name__ == "__main__":
    raise SystemExit(main())
