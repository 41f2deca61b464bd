"""The ``sellerstream`` command's local tools (the demo and replay of captured traffic, no AWS account),
and the rules every command of ``sellerstream`` follows on its command line.

``sellerstream_ops.cli`` builds the whole command with ``CommandParser``; this module adds and runs
the local commands.

The command line's rules: an option is never abbreviated (``--refresh-token`` is not
``--refresh-token-file``), and nothing printed shows a value that may be a secret. A refusal of the
command line is one line on standard error and exit status 2; what the operator typed appears in it
only when it cannot be a credential (``looks_secret``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

LOCAL_COMMANDS = {
    "demo": "run a realistic notification stream through the local pipeline",
    "replay": "run captured SQS message bodies (one JSON object per line) through the local pipeline",
}
# Compressed or archive files (gzip, zip, bzip2, xz, zstd, parquet) start with these bytes.
BINARY_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"PAR1")
EXIT_USAGE = 2  # argparse's status for a command line it refuses
EXIT_ERROR = 1

# -- secrets on the terminal ---------------------------------------------------------------------
HIDDEN = "(not shown)"
# LWA's credentials announce themselves: refresh tokens "Atzr|…", access tokens "Atza|…",
# authorisation codes "Atc|…", client secrets "amzn1.oa2-cs.…". Hidden wherever they appear.
_CREDENTIAL = re.compile(r"(?:Atzr|Atza|Atc)\|[^\s'\"]*|amzn1\.oa2-cs\.[^\s'\"]*")
# Other secrets are random: a run of token characters (base64's included) mixing upper and lower
# case and digits, or 40 long, or 24 letters and digits in a row (hex). Words, ids and paths are
# not; a run starting with "/" is a path, whose parts are looked at one by one.
_RUN = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_WORD = re.compile(r"[^\s'\"]+")
# What was typed on this command line (set by ``CommandParser.parse``): hidden where it looks secret.
_COMMAND_LINE: ContextVar[tuple[str, ...]] = ContextVar("command_line", default=())


def _random(run: str) -> bool:
    classes = (str.isupper, str.islower, str.isdigit)
    return all(any(test(c) for c in run) for test in classes) or max(map(len, run.split("/"))) >= 40


def _secret_parts(value: str) -> list[str]:
    """The parts of ``value`` that may be secret (a path's own parts too, as it may be normalised)."""
    parts = [match.group() for match in _CREDENTIAL.finditer(value)]
    for run in _RUN.findall(value):
        pieces = [piece for piece in run.split("/") if piece]
        if not run.startswith("/") and _random(run):
            parts += [run, *(piece for piece in pieces if len(piece) >= 6)]
        else:
            parts += [piece for piece in pieces if len(piece) >= 16 and _random(piece)]
    parts += [
        run
        for run in _ALNUM_RUN.findall(value)
        if any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
    ]
    return parts


def is_credential(value: str) -> bool:
    """Whether a value holds an LWA token or client secret (they announce themselves)."""
    return bool(_CREDENTIAL.search(value))


def looks_secret(value: str) -> bool:
    """Whether a value may be a credential (an LWA token or client secret, or a random string)."""
    return bool(_secret_parts(value))


def hide_secrets(text: str, typed: Iterable[str] | None = None, *, every_word: bool = False) -> str:
    """``text`` without credentials, nor the parts of what was typed (default: this command line)
    that look secret, wherever they appear (quoted, in a path, after ``=``). ``every_word``: also
    any word of ``text`` that looks secret (argparse's messages hold nothing else random)."""
    values = list(_COMMAND_LINE.get() if typed is None else typed)
    values += [value.split("=", 1)[1] for value in values if value.startswith("-") and "=" in value]
    parts = {part for value in values for part in _secret_parts(value)}
    for part in sorted(parts, key=len, reverse=True):
        text = text.replace(part, HIDDEN)
    if every_word:
        text = _WORD.sub(lambda word: HIDDEN if looks_secret(word.group()) else word.group(), text)
    return _CREDENTIAL.sub(HIDDEN, text).replace(repr(HIDDEN), HIDDEN)


def shown(value: str) -> str:
    """A typed value as a message may show it: quoted, or ``(not shown)`` when it may be a secret."""
    return HIDDEN if looks_secret(value) or not value.isprintable() else repr(value)


# -- the command line ------------------------------------------------------------------------------
_OPTION_NAME = re.compile(r"--?[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


class CommandParser(argparse.ArgumentParser):
    """argparse for ``sellerstream``: no abbreviated options, and a refusal is one line (exit status
    2) showing no typed value that may be a secret. Its subcommands' parsers are of this class too
    (argparse gives subparsers their parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def parse(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """The command line parsed; anything it does not know is refused, naming the command."""
        tokens = list(sys.argv[1:] if argv is None else argv)
        _COMMAND_LINE.set(tuple(tokens))
        namespace, unknown = self.parse_known_args(tokens)
        if unknown:
            parser = self._command_parser(namespace) or self
            parser.error(_unknown_arguments(parser, unknown))
        return namespace

    def error(self, message: str) -> NoReturn:
        line = hide_secrets(message, every_word=True)
        self.exit(EXIT_USAGE, f"{self.prog}: {line}; see {self.prog} --help\n")

    def _command_parser(self, namespace: argparse.Namespace) -> argparse.ArgumentParser | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                found = action.choices.get(str(getattr(namespace, action.dest, "")))
                return found if isinstance(found, argparse.ArgumentParser) else None
        return None


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every parser of the command line by its command ("": the top one)."""
    found: dict[str, argparse.ArgumentParser] = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _unknown_arguments(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    options = sorted(option for option in parser._option_string_actions if option.startswith("--"))
    described = []
    for argument in unknown:
        if not argument.startswith("-") or argument == "-":
            described.append(f"unexpected argument {shown(argument)}")
            continue
        name = argument.split("=", 1)[0]
        if looks_secret(name) or not _OPTION_NAME.fullmatch(name):
            described.append(f"unknown option {shown(name)}")
            continue
        longer = [option for option in options if option.startswith(name)]
        hint = f" (options are never abbreviated: {' or '.join(longer)}?)" if longer else ""
        described.append(f"unknown option {name}{hint}")
    return "; ".join(described)


# -- the local commands ----------------------------------------------------------------------------
def add_local_commands(commands: argparse._SubParsersAction[Any]) -> None:
    demo = commands.add_parser("demo", description=LOCAL_COMMANDS["demo"], allow_abbrev=False)
    demo.add_argument("--log-file", type=Path, default=Path(".sellerstream/demo-log.jsonl"))

    replay = commands.add_parser("replay", description=LOCAL_COMMANDS["replay"], allow_abbrev=False)
    replay.add_argument("file", type=Path)
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument("--dump-tables", action="store_true", help="include every table's items")
    replay.add_argument("--orders-api-version", choices=("2026-01-01", "v0"), default="2026-01-01")
    replay.add_argument(
        "--documents",
        type=Path,
        metavar="DIR",
        help="captured report and feed documents: DIR/<reportDocumentId> or DIR/<resultFeedDocumentId> "
        "(gzip or plain) and, if present, DIR/<documentId>.content-type",
    )
    replay.add_argument(
        "--dump-events",
        type=Path,
        metavar="DIR",
        help="write the events SellerStream emitted as JSON lines, one file per detail-type "
        "(DIR/order-changed.jsonl, ...), each event whole as a subscriber receives it",
    )


def run_local_command(args: argparse.Namespace) -> int:
    if args.command == "demo":
        problem = log_file_problem(args.log_file)
        if problem is not None:
            return _refuse("demo", problem)
        from sellerstream_local.demo import run_demo  # noqa: PLC0415 - keep --help fast

        run_demo(sys.stdout, args.log_file)
        return 0
    problem = replay_file_problem(args.file)
    if problem is None and args.documents is not None:
        problem = documents_problem(args.documents)
    if problem is None and args.dump_events is not None:
        problem = dump_events_problem(args.dump_events)
    if problem is not None:
        return _refuse("replay", problem)
    from sellerstream_local.replay import replay as run_replay  # noqa: PLC0415

    report = run_replay(
        args.file,
        dump_tables=args.dump_tables,
        orders_api_version=args.orders_api_version,
        documents=args.documents,
        dump_events=args.dump_events,
    )
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_report(report)
    return 0


def _refuse(command: str, problem: str) -> int:
    print(f"sellerstream {command}: {hide_secrets(problem)}", file=sys.stderr)
    return EXIT_ERROR


def documents_problem(path: Path) -> str | None:
    try:
        if path.is_dir():
            return None
    except OSError as error:  # a name too long, a loop: is_dir lets them through
        return f"--documents {path}: cannot be read ({type(error).__name__})"
    return f"--documents {path}: no such directory"


def dump_events_problem(path: Path) -> str | None:
    """Why the events cannot be written to that directory, found before the replay starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".sellerstream-write-check"
        probe.touch()
        probe.unlink()
    except FileExistsError:
        return f"--dump-events {path}: not a directory"
    except OSError as error:
        return f"--dump-events {path}: cannot be written ({type(error).__name__})"
    return None


def log_file_problem(path: Path) -> str | None:
    """Why the demo's log cannot be written there, found before the demo starts."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        return f"--log-file {path}: cannot be written ({type(error).__name__})"
    return None


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
    # Every key but the long lists (--json prints them): the events are counted by type; one line
    # per notification type.
    for key, value in report.items():
        if key not in ("tables", "report_rows", "events", "by_type"):
            print(f"{key}: {json.dumps(value, default=str)}")
    by_type = report.get("by_type")
    if isinstance(by_type, dict):
        for name, counts in by_type.items():
            print(f"by_type {name}: {json.dumps(counts, default=str)}")
