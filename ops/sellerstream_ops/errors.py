"""The one error an operator sees: a single line saying what is wrong and what to do."""

from __future__ import annotations


class OperatorError(Exception):
    """A first mistake (no region, no credentials, no stack, a bad file, ...): one clear line, exit 1."""


class UsageError(OperatorError):
    """A value on the command line the deployed stack cannot take (an unknown destination, a period
    that is empty or in the future): one line, exit 2, as argparse refuses a malformed one."""
