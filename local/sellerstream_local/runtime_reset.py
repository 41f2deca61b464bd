"""Forgets every per-container cache of the runtime package (built use cases, clients, tokens, buckets).

On Lambda these live for a container's life; locally one process plays many "containers" in a
row (tests, replays), each with a fresh moto and emulator. The runtime modules are imported here,
not at the top, so that local mode sets the function's environment before Powertools reads it.
"""

from __future__ import annotations


def reset_runtime() -> None:
    from sellerstream import aws, wiring  # noqa: PLC0415
    from sellerstream.spapi import reset_spapi_state  # noqa: PLC0415

    aws.reset_clients()
    wiring.reset()
    reset_spapi_state()
