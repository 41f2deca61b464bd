"""No secret reaches the terminal: every command's error paths, fed secret-looking values.

The commands, their options and which read a secret from standard input come from the parser, so a
new command or option is covered as soon as it exists. Each case runs ``sellerstream`` in process
against an AWS account played by moto (a deployed stack's outputs, no seller yet), and checks that
neither standard output nor standard error shows any part of the secret it was given, and that a
refusal is one line naming the command.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sellerstream import catalog
from sellerstream_local.cli import command_parsers
from sellerstream_local.resources import create_resources
from sellerstream_ops import cli
from stacks import constants

REGION = "us-east-1"
_rng = random.Random(20261130)


def _random(alphabet: str, length: int) -> str:
    # Every class of the alphabet at least once, so each value is as random-looking as a real one.
    classes = [
        c for c in (string.ascii_uppercase, string.ascii_lowercase, string.digits) if set(c) & set(alphabet)
    ]
    chosen = [_rng.choice(c) for c in classes] + [_rng.choice(alphabet) for _ in range(length - len(classes))]
    _rng.shuffle(chosen)
    return "".join(chosen)


URLSAFE = string.ascii_letters + string.digits + "-_"
SECRETS = {
    "refresh-token": "Atzr|IwEBI" + _random(URLSAFE, 300),
    "access-token": "Atza|IwEBI" + _random(URLSAFE, 300),
    "client-secret": "amzn1.oa2-cs.v1." + _random("0123456789abcdef", 64),
    "urlsafe": _random(URLSAFE, 43),
    "hex": _random("0123456789abcdef", 64),
    "base64": _random(string.ascii_letters + string.digits, 18)
    + "/"
    + _random(string.ascii_letters, 9)
    + "+"
    + _random(string.ascii_letters + string.digits, 12),
}
# What standard input holds when a case is not about it: a refresh token, which must not show either.
STDIN_TOKEN = "Atzr|IwEBI" + _random(URLSAFE, 120)
# A value each required option takes (a command with a new required option needs one here).
VALID = {
    "--client-id": "amzn1.application-oa2-client.terminal",
    "--seller": "A1TERMINALTEST",
    "--seller-region": "NA",
    "--order": "903-8868176-2219830",
    "--carrier": "UPS",
    "--tracking": "1Z999AA10123456784",
    "--since": "6h",
    "file": "{capture}",
}
WHERE = {"--outputs-file": "{outputs}", "--region": REGION}  # the account, for account commands
WINDOW = 12  # no 12 characters of a secret in a row may show


def leaked(printed: str, secret: str) -> bool:
    return any(secret[i : i + WINDOW] in printed for i in range(len(secret) - WINDOW + 1))


# -- the cases, from the parser -------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    command: str
    path: str  # which error path
    option: str  # the option it is about ("" for none)
    argv: tuple[str, ...]  # {outputs}, {capture}, {tmp} are this test's files
    secret: str  # a key of SECRETS
    stdin: str | None = None  # None: STDIN_TOKEN
    parser_refuses: bool = False  # argparse itself must refuse (exit status 2)

    @property
    def id(self) -> str:
        return "-".join(
            part for part in (self.command or "sellerstream", self.path, self.option, self.secret) if part
        )

    @property
    def prog(self) -> str:
        return " ".join(part for part in ("sellerstream", self.command) if part)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _reads_standard_input(parser: argparse.ArgumentParser) -> bool:
    return any("standard input" in (action.help or "") for action in _options(parser))


def _base(command: str, parser: argparse.ArgumentParser, without: str = "") -> list[str]:
    """The command with a valid value for each required option and positional, but ``without``."""
    argv = [command] if command else []
    names = [a.option_strings[0] for a in _options(parser)]
    for name, value in WHERE.items():
        if name in names and name != without:
            argv += [name, value]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        if name == without or not (action.required or not action.option_strings):
            continue
        if name not in VALID:
            raise LookupError(f"no valid value for {command} {name}: add one to VALID")
        argv += [name, VALID[name]] if action.option_strings else [VALID[name]]
    return argv


def _abbreviation(name: str, names: list[str]) -> str:
    for cut in range(2, len(name) - 3):
        prefix = name[:-cut]
        if prefix not in names:
            return prefix
    return name[:4]


def _cases() -> Iterator[Case]:
    for command, parser in command_parsers(cli._parser()).items():
        actions = _options(parser)
        names = [a.option_strings[0] for a in actions]
        valued = [a.option_strings[0] for a in actions if _takes_value(a)]
        paths = [
            a.option_strings[0] if a.option_strings else a.dest for a in parser._actions if a.type is Path
        ]
        for key, secret in SECRETS.items():
            base = _base(command, parser)
            # Unknown options, the secret as their value or their name.
            for option, unknown in (
                ("--client-secret", ["--client-secret", secret]),
                ("--refresh-token", [f"--refresh-token={secret}"]),
                ("", [f"--{secret}"]),
            ):
                yield Case(command, "unknown-option", option, (*base, *unknown), key, parser_refuses=True)
            # Positional garbage.
            yield Case(command, "positional", "", (*base, secret), key, parser_refuses=True)
            for name in valued:
                rest = _base(command, parser, without=name)
                short = _abbreviation(name, names)
                yield Case(command, "abbreviated", short, (*rest, short, secret), key, parser_refuses=True)
                yield Case(
                    command, "abbreviated", short, (*rest, f"{short}={secret}"), key, parser_refuses=True
                )
                other = next((n for n in valued if n != name), name)
                yield Case(
                    command, "missing-value", name, (*rest, name, other, secret), key, parser_refuses=True
                )
                yield Case(command, "wrong-value", name, (*rest, name, secret), key)
                yield Case(command, "wrong-value", name, (*rest, f"{name}={secret}"), key)
            for name in paths:
                rest = _base(command, parser, without=name)
                at = (name,) if name.startswith("-") else ()
                for path, where in (
                    ("file-not-found", "{tmp}/absent"),
                    ("file-unreadable", "{tmp}/dirs"),
                    ("file-unreadable", "{tmp}/binary"),
                ):
                    yield Case(command, path, name, (*rest, *at, f"{where}/{secret}"), key)
            if _reads_standard_input(parser):
                for stdin in (f"{secret} {secret}\n", f"\x1b[2J{secret}\n"):
                    yield Case(command, "stdin-not-a-token", "", tuple(base), key, stdin=stdin)


CASES = list(_cases())


# -- the account ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outputs_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A deployed stack (queues, tables, the app's credentials set, no seller) and its outputs file."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # Nothing may reach Amazon: a refused port stands in for SP-API and LWA.
            "SPAPI_ENDPOINT_OVERRIDE": "http://127.0.0.1:9",
            "LWA_ENDPOINT_OVERRIDE": "http://127.0.0.1:9/auth/o2/token",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }.items():
            env.setenv(name, value)

        def client(service: str) -> Any:
            return boto3.client(service, region_name=REGION)

        resources = create_resources(client("sqs"), client("dynamodb"), client("s3"), client("events"), 30)
        app_secret = client("secretsmanager").create_secret(
            Name=constants.LWA_APP_SECRET_NAME,
            SecretString=json.dumps(
                {"client_id": VALID["--client-id"], "client_secret": SECRETS["client-secret"]}
            ),
        )["ARN"]
        outputs: dict[str, str] = {
            catalog.StackOutputs.LWA_APP_SECRET_ARN: app_secret,
            catalog.StackOutputs.SELLER_SECRET_PREFIX: constants.SELLER_SECRET_PREFIX,
            catalog.StackOutputs.ALARM_TOPIC_ARN: client("sns").create_topic(Name="alarms")["TopicArn"],
            **{table.output: resources.tables[table.role] for table in catalog.TABLES},
        }
        for consumer in catalog.CONSUMERS:
            queue, ids = resources.queues[consumer.kind], consumer.outputs
            outputs |= {
                ids.queue_arn: queue.arn,
                ids.queue_url: queue.url,
                ids.dead_letter_queue_url: queue.dlq_url,
            }
        path = tmp_path_factory.mktemp("account") / "outputs.json"
        path.write_text(json.dumps({"SellerStream": outputs}))
        yield path


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This case's files; the secret's own directory and binary file are made by the case."""
    monkeypatch.chdir(tmp_path)  # a secret given as a relative path lands here
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # a command sets it for its clients
    # The local commands' work is not what is looked at here: only their refusals.
    monkeypatch.setattr("sellerstream_local.demo.run_demo", lambda out, log_path: {})
    monkeypatch.setattr("sellerstream_local.replay.replay", lambda path, **options: {})
    capture = tmp_path / "capture.jsonl"
    capture.write_text('{"notificationType": "ORDER_CHANGE"}\n')
    return {"capture": str(capture), "tmp": str(tmp_path)}


def _prepare(secret: str, tmp: Path) -> None:
    """A directory and a binary file named by the secret (a name too long for the file system stays
    absent: the command then meets that error instead)."""
    if max(len(part.encode()) for part in secret.split("/")) > 255:
        return
    (tmp / "dirs" / secret).mkdir(parents=True)
    binary = tmp / "binary" / secret
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_bytes(b"\xff\xfe\x00\x00" * 64)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_given_a_secret_on_an_error_path_when_the_command_runs_then_it_is_never_printed(
    case: Case,
    outputs_file: Path,
    files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = SECRETS[case.secret]
    _prepare(secret, Path(files["tmp"]))
    argv = [arg.format(outputs=outputs_file, **files) for arg in case.argv]
    monkeypatch.setattr(sys, "stdin", io.StringIO(STDIN_TOKEN + "\n" if case.stdin is None else case.stdin))

    status: int | str | None
    try:
        status = cli.main(argv)
    except SystemExit as exit_:  # argparse's refusals and --help
        status = exit_.code

    out, err = capsys.readouterr()
    for shown in (secret, STDIN_TOKEN, SECRETS["client-secret"]):
        assert not leaked(out + err, shown), (out + err)[-2000:]
    if case.parser_refuses:
        assert status == 2
    if status != 0:
        [line] = err.strip().splitlines()
        assert line.startswith(f"{case.prog}: "), line


def test_given_the_parser_then_every_command_is_covered_by_every_error_path() -> None:
    commands = set(command_parsers(cli._parser()))
    covered = {(case.command, case.path) for case in CASES}

    for command in commands:
        for path in ("unknown-option", "positional"):
            assert (command, path) in covered
    assert {command for command, path in covered if path == "stdin-not-a-token"} == {
        "set-app-credentials",
        "add-seller",
    }
    assert {path for _, path in covered} >= {
        "unknown-option",
        "abbreviated",
        "missing-value",
        "wrong-value",
        "file-not-found",
        "file-unreadable",
        "stdin-not-a-token",
        "positional",
    }
