"""The ``sellerstream`` command: local tools (no AWS account) and account commands (a deployed stack).

Every account command first finds its region, credentials and stack (``sellerstream_ops.account``);
any first mistake there, or an AWS or SP-API refusal later, is one line on standard error and exit
status 1, never a traceback. Results are JSON on standard output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sellerstream.errors import DEAD_LETTER_REASONS
from sellerstream_local.cli import (
    LOCAL_COMMANDS,
    CommandParser,
    add_local_commands,
    hide_secrets,
    run_local_command,
)

ACCOUNT_COMMANDS = {
    "set-app-credentials": "store the LWA app's client id and secret (validated with LWA first)",
    "add-seller": "store a seller's refresh token for one region (validated with LWA first; a second "
    "region is added beside the first) and route its subscriptions there",
    "remove-seller": "forget a seller's credentials in one region (its last region: the seller)",
    "sellers": "list the sellers, each with its regions, marketplaces and any deauthorised region",
    "subscribe": "create or find a seller's destinations and subscriptions (idempotent)",
    "subscriptions": "list a seller's subscriptions and their processing directives",
    "unsubscribe": "delete a seller's subscriptions (and, with --delete-destinations, the destinations)",
    "app-notifications": "where the app's client-secret notifications must go (Developer Console)",
    "rotate-app-secret": "ask Amazon for a new LWA client secret (delivered to the app-credentials queue)",
    "status": "queues, dead letters, alarms in ALARM, the app's credentials, sellers' subscriptions",
    "dlq": "list dead letters per type with their reasons (attributes, or the function's logs)",
    "redrive": "move dead letters back to their queue (filter by type, reason, notification id; --dry-run)",
    "reconcile": "store a seller's orders (or, with --listings, listings) updated in a window that "
    "notifications missed",
    "ship": "send a shipment request (confirmShipment, or a tracking update) to the fulfillment queue",
    "events": "SellerStream's events: list their destinations (events destinations), or replay a period "
    "from the archive to one (events replay)",
}
EVENTS_COMMANDS = {
    "destinations": "list the configured destinations: kind, rule, DLQ, and the policy to add (sqs, bus)",
    "replay": "replay a period of archived events to one destination's rule only",
}
REGIONS = ("NA", "EU", "FE")
EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse(argv)
    if args.command in LOCAL_COMMANDS:
        return run_local_command(args)
    return _run_account_command(args)


def _parser() -> CommandParser:
    listing = "\n".join(
        [
            "local (no AWS account: moto and the SP-API emulator):",
            *[f"  {name:<20} {text}" for name, text in LOCAL_COMMANDS.items()],
            "",
            "account (AWS credentials and a deployed stack; --stack/--stage or --outputs-file):",
            *[f"  {name:<20} {text}" for name, text in ACCOUNT_COMMANDS.items()],
            "",
            "sellerstream COMMAND --help shows a command's options.",
        ]
    )
    # No abbreviations: `--refresh-token TOKEN` must not be taken for --refresh-token-file.
    parser = _Parser(
        prog="sellerstream",
        allow_abbrev=False,
        description="SellerStream: Amazon SP-API notifications to DynamoDB.",
        epilog=listing,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_local_commands(commands)

    def account_command(
        name: str, parent: Any = commands, description: str | None = None
    ) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = parent.add_parser(
            name, description=description or ACCOUNT_COMMANDS[name], allow_abbrev=False
        )
        where = command.add_argument_group("where (default: the stack SellerStream, from CloudFormation)")
        where.add_argument("--stack", help="the deployed stack's name")
        where.add_argument(
            "--stage", help="the stage it was deployed with (-c stage=...): SellerStream-<stage>"
        )
        where.add_argument(
            "--outputs-file", type=Path, help="a `cdk deploy --outputs-file` JSON instead of CloudFormation"
        )
        where.add_argument("--region", help="default: AWS_REGION, AWS_DEFAULT_REGION, or your profile's")
        return command

    app = account_command("set-app-credentials")
    app.add_argument("--client-id", required=True, help="the LWA client id (amzn1.application-oa2-client.…)")
    app.add_argument(
        "--client-secret-file",
        type=Path,
        help="a file holding the client secret ('-': standard input); default: standard input, or a prompt",
    )
    app.add_argument("--secret-expires-at", help="when this secret expires (ISO 8601), if you know it")

    _add_seller_commands(account_command)

    for name in ("subscribe", "subscriptions", "unsubscribe"):
        command = account_command(name)
        command.add_argument(
            "--seller", required=True, help="the selling partner id whose secret holds its refresh token"
        )
        command.add_argument(
            "--seller-region", choices=REGIONS, help="only this region (default: each region the seller has)"
        )
        if name == "subscribe":
            command.add_argument(
                "--processing-directive",
                action="append",
                metavar="TYPE=JSON",
                help="this seller's processing directive for a type, over the deployment's "
                '(repeatable), e.g. TYPE=\'{"eventFilter": {"eventFilterType": "TYPE", '
                '"marketplaceIds": ["ATVPDKIKX0DER"]}}\'; null: none. Amazon\'s rules are checked first',
            )
        if name == "unsubscribe":
            command.add_argument("--delete-destinations", action="store_true")

    account_command("app-notifications")
    account_command("rotate-app-secret")

    state = account_command("status")
    state.add_argument("--seller", action="append", default=[], help="also show this seller (repeatable)")
    state.add_argument("--no-spapi", action="store_true", help="do not ask SP-API for subscriptions")

    for name in ("dlq", "redrive"):
        command = account_command(name)
        command.add_argument(
            "--type",
            action="append",
            help="orders, listings, reports, app, fulfillment or listings-rule, or a notification type (repeatable)",
        )
        command.add_argument("--limit", type=int, default=100, help="at most this many letters (default 100)")
        command.add_argument(
            "--no-logs", action="store_true", help="do not search the functions' logs for reasons"
        )
        if name == "redrive":
            command.add_argument("--reason", action="append", help=_REASON_HELP)
            command.add_argument(
                "--notification-id", action="append", help="only this notification (repeatable)"
            )
            command.add_argument("--dry-run", action="store_true", help="show what would move, move nothing")

    reconcile = account_command("reconcile")
    reconcile.add_argument("--seller", required=True, help="the selling partner id to reconcile")
    reconcile.add_argument(
        "--since",
        required=True,
        help="start: RFC 3339 with an offset (2026-11-27T08:00:00Z) or a duration (6h, 90m, 2d)",
    )
    reconcile.add_argument(
        "--until", help="end, as --since; default and latest: two minutes before now (Amazon's settle rule)"
    )
    reconcile.add_argument(
        "--seller-region", choices=REGIONS, help="only this region (default: each region the seller has)"
    )
    reconcile.add_argument(
        "--listings",
        action="store_true",
        help="the seller's listings in each of its marketplaces (searchListingsItems) instead of its orders",
    )
    _add_ship_arguments(account_command("ship"))
    _add_events_commands(commands, account_command)
    return parser


class _Parser(CommandParser):
    """``sellerstream``'s parser, whose refusals of a subcommand's arguments (``events replay``) name
    that subcommand and its options rather than its parent's."""

    def _command_parser(self, namespace: argparse.Namespace) -> argparse.ArgumentParser | None:
        found = super()._command_parser(namespace)
        if isinstance(found, _Parser) and found is not self:
            return found._command_parser(namespace) or found
        return found


def _add_seller_commands(account_command: Callable[..., argparse.ArgumentParser]) -> None:
    seller = account_command("add-seller")
    seller.add_argument("--seller", required=True, help="the selling partner id (or a vendor's account id)")
    seller.add_argument(
        "--seller-region",
        choices=REGIONS,
        required=True,
        help="the SP-API region this refresh token authorises (NA, EU or FE); another region's is kept",
    )
    seller.add_argument(
        "--refresh-token-file",
        type=Path,
        help="a file holding the refresh token ('-': standard input); default: standard input, or a prompt",
    )

    removal = account_command("remove-seller")
    removal.add_argument("--seller", required=True, help="the selling partner id (or a vendor's account id)")
    removal.add_argument("--seller-region", choices=REGIONS, required=True, help="the region to forget")
    account_command("sellers")


def _add_events_commands(commands: Any, account_command: Callable[..., argparse.ArgumentParser]) -> None:
    listing = "\n".join(f"  {name:<20} {text}" for name, text in EVENTS_COMMANDS.items())
    events = commands.add_parser(
        "events",
        description=ACCOUNT_COMMANDS["events"],
        epilog=f"commands:\n{listing}\n\nsellerstream events COMMAND --help shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    subcommands = events.add_subparsers(dest="events_command", required=True, metavar="EVENTS_COMMAND")
    account_command("destinations", subcommands, EVENTS_COMMANDS["destinations"])
    replay = account_command("replay", subcommands, EVENTS_COMMANDS["replay"])
    replay.add_argument(
        "--destination", required=True, help="the destination's name (sellerstream events destinations)"
    )
    replay.add_argument(
        "--since", required=True, type=_iso_time, help="start: ISO 8601 with an offset (2026-11-27T08:00:00Z)"
    )
    replay.add_argument("--until", type=_iso_time, help="end, as --since (default: now)")


def _iso_time(value: str) -> datetime:
    from sellerstream_ops.events import parse_time

    try:
        return parse_time(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# What `redrive --reason` takes, spelt as `dlq` shows it (sellerstream_ops.dead_letters.reasons_of).
_REASON_HELP = (
    "only letters with this reason, as dlq shows it (repeatable): one the functions give ("
    + ", ".join(sorted(DEAD_LETTER_REASONS))
    + "), or unknown (none found); a transient failure's is the class name of its exception "
    "(SpApiServerError, ClientError, ...); a listings-rule letter's is EventBridge's ERROR_CODE "
    "(NO_PERMISSIONS, ...). Any other is refused."
)


def _add_ship_arguments(ship: argparse.ArgumentParser) -> None:
    ship.add_argument("--seller", required=True, help="the selling partner id")
    ship.add_argument("--order", required=True, help="the Amazon order id (3-7-7)")
    ship.add_argument(
        "--carrier", required=True, help="Amazon's carrier code (e.g. UPS, USPS, FedEx, or Other)"
    )
    ship.add_argument("--tracking", required=True, help="the tracking number")
    ship.add_argument(
        "--item",
        action="append",
        metavar="ID:QTY",
        help="an order item and the quantity in this package (repeatable; default: every item of the order)",
    )
    ship.add_argument("--carrier-name", help="the carrier's name (required with --carrier Other)")
    ship.add_argument("--shipping-method", help="e.g. 'UPS Ground'")
    ship.add_argument("--ship-date", help="when it shipped (ISO 8601 with a time zone; default: now)")
    ship.add_argument(
        "--package-reference",
        help="the package to update (a positive number; default: the stored one, or new)",
    )
    ship.add_argument("--marketplace", help="default: the stored order's marketplace")
    ship.add_argument("--request-id", help="makes a resend of this request idempotent (default: a new UUID)")


def _run_account_command(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from sellerstream.errors import SellerStreamError
    from sellerstream.spapi.errors import SpApiError
    from sellerstream_ops.account import NO_CREDENTIALS, NO_REGION
    from sellerstream_ops.errors import OperatorError, UsageError

    try:
        result = _ACCOUNT_HANDLERS[args.command](args)
    except UsageError as error:
        return _fail(_command_name(args), str(error), EXIT_USAGE)
    except OperatorError as error:
        return _fail(_command_name(args), str(error))
    except NoCredentialsError:
        return _fail(_command_name(args), NO_CREDENTIALS)
    except NoRegionError:
        return _fail(_command_name(args), NO_REGION)
    except ClientError as error:
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "an AWS call")
        return _fail(
            _command_name(args), f"AWS refused {operation}: {details.get('Code')}: {details.get('Message')}"
        )
    except BotoCoreError as error:
        return _fail(_command_name(args), f"AWS: {error}")
    except SpApiError as error:
        return _fail(_command_name(args), f"SP-API: {error}")
    except SellerStreamError as error:
        return _fail(_command_name(args), str(error))
    except KeyboardInterrupt:
        return _fail(_command_name(args), "interrupted")
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def _fail(command: str, message: str, status: int = EXIT_ERROR) -> int:
    # AWS's and our messages may repeat a typed value: one that looks like a secret is not shown.
    print(f"sellerstream {command}: {hide_secrets(message)}", file=sys.stderr)
    return status


def _command_name(args: argparse.Namespace) -> str:
    """The command as typed: ``events replay`` names its subcommand too."""
    sub = getattr(args, "events_command", None)
    return f"{args.command} {sub}" if sub else str(args.command)


def _account(args: argparse.Namespace) -> Any:
    from sellerstream_ops.account import Target, connect

    return connect(
        Target(stack=args.stack, stage=args.stage, outputs_file=args.outputs_file, region=args.region)
    )


def _set_app_credentials(args: argparse.Namespace) -> Any:
    from sellerstream_ops.credentials import read_secret_value, set_app_credentials
    from sellerstream_ops.errors import OperatorError

    expires_at = None
    if args.secret_expires_at:
        try:
            expires_at = datetime.fromisoformat(args.secret_expires_at.replace("Z", "+00:00"))
        except ValueError:
            raise OperatorError(
                f"--secret-expires-at {args.secret_expires_at!r} is not an ISO 8601 time"
            ) from None
        if expires_at.tzinfo is None:
            raise OperatorError("--secret-expires-at needs a time zone, e.g. 2026-09-30T00:00:00Z")
    account = _account(args)
    secret = read_secret_value("LWA client secret", args.client_secret_file)
    return set_app_credentials(account, args.client_id, secret, expires_at)


def _add_seller(args: argparse.Namespace) -> Any:
    from sellerstream_ops.credentials import add_seller, read_secret_value

    account = _account(args)
    token = read_secret_value("refresh token", args.refresh_token_file)
    return add_seller(account, args.seller, args.seller_region, token)


def _remove_seller(args: argparse.Namespace) -> Any:
    from sellerstream_ops.credentials import remove_seller

    return remove_seller(_account(args), args.seller, args.seller_region)


def _sellers(args: argparse.Namespace) -> Any:
    from sellerstream_ops.status import sellers

    return sellers(_account(args))


def _subscriptions_command(args: argparse.Namespace) -> Any:
    from sellerstream_ops.subscriptions import Subscriptions, directive_options

    directives = directive_options(getattr(args, "processing_directive", None))
    from sellerstream.spapi.endpoints import Region

    account = _account(args)
    region = Region[args.seller_region] if args.seller_region else None
    tool = Subscriptions(
        account.outputs, account.settings(), args.seller, account.app_credentials(), region=region
    )
    if args.command == "subscribe":
        return tool.subscribe(directives)
    if args.command == "subscriptions":
        return tool.current()
    return tool.unsubscribe(delete_destinations=args.delete_destinations)


def _app_notifications(args: argparse.Namespace) -> Any:
    from sellerstream_ops.credentials import app_notifications

    return app_notifications(_account(args))


def _rotate_app_secret(args: argparse.Namespace) -> Any:
    from sellerstream_ops.credentials import rotate_app_secret

    return rotate_app_secret(_account(args))


def _status(args: argparse.Namespace) -> Any:
    from sellerstream_ops.status import status

    return status(_account(args), sellers=args.seller, spapi=not args.no_spapi)


def _dlq(args: argparse.Namespace) -> Any:
    from dataclasses import asdict

    from sellerstream_ops.dead_letters import kinds_of, list_dead_letters

    kinds = kinds_of(args.type)
    letters = list_dead_letters(_account(args), kinds, limit=args.limit, search_logs=not args.no_logs)
    return [asdict(letter) for letter in letters]


def _redrive(args: argparse.Namespace) -> Any:
    from sellerstream_ops.dead_letters import kinds_of, notification_ids_of, reasons_of, redrive

    kinds = kinds_of(args.type)
    reasons = reasons_of(args.reason)
    notification_ids = notification_ids_of(args.notification_id)
    return redrive(
        _account(args),
        kinds,
        reasons=reasons,
        notification_ids=notification_ids,
        dry_run=args.dry_run,
        limit=args.limit,
        search_logs=not args.no_logs,
    )


def _reconcile(args: argparse.Namespace) -> Any:
    from sellerstream_ops.reconcile import reconcile

    return reconcile(
        _account(args), args.seller, args.since, args.until, listings=args.listings, region=args.seller_region
    )


def _ship(args: argparse.Namespace) -> Any:
    from sellerstream_ops.errors import OperatorError
    from sellerstream_ops.shipments import parse_items, send_shipment, shipment_message, stored_marketplace

    items = parse_items(args.item)
    ship_date = None
    if args.ship_date:
        try:
            ship_date = datetime.fromisoformat(args.ship_date.replace("Z", "+00:00"))
        except ValueError:
            raise OperatorError(f"--ship-date {args.ship_date!r} is not an ISO 8601 time") from None
        if ship_date.tzinfo is None:
            raise OperatorError("--ship-date needs a time zone, e.g. 2026-11-30T15:00:00Z")
    account = _account(args)
    message = shipment_message(
        seller=args.seller,
        order=args.order,
        marketplace=args.marketplace or stored_marketplace(account, args.seller, args.order),
        carrier=args.carrier,
        tracking=args.tracking,
        items=items,
        carrier_name=args.carrier_name,
        shipping_method=args.shipping_method,
        ship_date=ship_date,
        package_reference=args.package_reference,
        request_id=args.request_id,
    )
    return send_shipment(account, message)


def _events(args: argparse.Namespace) -> Any:
    from sellerstream_ops.events import destinations, replay

    account = _account(args)
    if args.events_command == "destinations":
        return destinations(account)
    return replay(account, args.destination, args.since, args.until)


_ACCOUNT_HANDLERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "set-app-credentials": _set_app_credentials,
    "add-seller": _add_seller,
    "remove-seller": _remove_seller,
    "sellers": _sellers,
    "subscribe": _subscriptions_command,
    "subscriptions": _subscriptions_command,
    "unsubscribe": _subscriptions_command,
    "app-notifications": _app_notifications,
    "rotate-app-secret": _rotate_app_secret,
    "status": _status,
    "dlq": _dlq,
    "redrive": _redrive,
    "reconcile": _reconcile,
    "ship": _ship,
    "events": _events,
}


if __name__ == "__main__":
    raise SystemExit(main())
