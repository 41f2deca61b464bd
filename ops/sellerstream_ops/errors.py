"""The one error an operator sees: a single line saying what is wrong and what to do."""

from __future__ import annotations


class OperatorError(Exception):
    """A first mistake (no region, no credentials, no stack, a bad file, ...): one clear line, exit 1."""
