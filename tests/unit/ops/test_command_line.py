"""``sellerstream``'s command line: no option is abbreviated, and a refusal is one line that names the
command and shows no value that may be a secret."""

from __future__ import annotations

import pytest

from sellerstream_local.cli import command_parsers, hide_secrets, looks_secret
from sellerstream_ops import cli

TOKEN = "Atzr|IwEBIPa7vIu2iUNbc3KxWq9ZtR0yLm4s8dFhJk2pQwErTyUiOp"


def run(argv: list[str]) -> int | str | None:
    try:
        return cli.main(argv)
    except SystemExit as exit_:
        return exit_.code


def test_given_the_command_line_then_no_parser_of_any_command_takes_abbreviations() -> None:
    parsers = command_parsers(cli._parser())

    assert len(parsers) > 10
    assert {name for name, parser in parsers.items() if parser.allow_abbrev} == set()


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (
            ["add-seller", "--seller", "A1SELLER", "--seller-region", "NA", "--refresh-token", TOKEN],
            "sellerstream add-seller: unknown option --refresh-token (options are never abbreviated: "
            "--refresh-token-file?); unexpected argument (not shown); see sellerstream add-seller --help",
        ),
        (
            [
                "set-app-credentials",
                "--client-id",
                "amzn1.application-oa2-client.x",
                f"--client-secret={TOKEN}",
            ],
            "sellerstream set-app-credentials: unknown option --client-secret (options are never "
            "abbreviated: --client-secret-file?); see sellerstream set-app-credentials --help",
        ),
        (
            ["add-seller", "--seller", "A1SELLER", "--seller-region", TOKEN],
            "sellerstream add-seller: argument --seller-region: invalid choice: (not shown) "
            "(choose from 'NA', 'EU', 'FE'); see sellerstream add-seller --help",
        ),
        (
            ["status", "--no-spapi", "extra"],
            "sellerstream status: unexpected argument 'extra'; see sellerstream status --help",
        ),
        (["ship", "--seller"], "sellerstream ship: argument --seller: expected one argument; see"),
    ],
)
def test_given_a_command_line_mistake_then_one_line_exit_status_2_and_no_secret(
    argv: list[str], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(argv)

    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith(refusal) and err.count("\n") == 1
    assert "IwEBIPa7vIu2" not in err


@pytest.mark.parametrize(
    "value",
    [
        TOKEN,
        "Atza|IwEBIJc8",
        "amzn1.oa2-cs.v1.2f0c9a",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS's example secret access key
        "q8Zk3LmNpR7tVx2Yb9WcHd",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "/tmp/q8Zk3LmNpR7tVx2Yb9WcHd",
    ],
)
def test_given_a_value_that_may_be_a_secret_when_a_message_repeats_it_then_it_is_not_shown(
    value: str,
) -> None:
    message = hide_secrets(f"--x {value!r}: no such file", typed=[value])

    assert looks_secret(value) and "(not shown)" in message
    assert not any(value[i : i + 8] in message for i in range(len(value) - 7))


@pytest.mark.parametrize(
    "value",
    [
        "A3TH9S8BH6GOGM",
        "amzn1.merchant.o.A3TH9S8BH6GOGM",
        "903-8868176-2219830",
        "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        "SellerStream-staging",
        "/home/operator/cdk-outputs.json",
        "unsupported_payload_version",
        "1Z999AA10123456784",
    ],
)
def test_given_an_id_a_word_or_a_path_when_a_message_repeats_it_then_it_is_shown(value: str) -> None:
    message = f"--x {value!r}: no such file"

    assert not looks_secret(value) and hide_secrets(message, typed=[value]) == message
