"""boto3 clients, created on first use and reused for the container's life (never at import)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short connect timeouts and standard retries: a slow AWS API call must fail inside the
# function's budget, not hang until Lambda kills the whole batch.
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"})


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


def reset_clients() -> None:
    """Tests and local mode swap AWS endpoints between runs."""
    client.cache_clear()
