"""Forgets every per-container cache of the runtime package (settings, clients, tokens, buckets).

On Lambda these live for a container's life; locally one process plays many "containers" in a
row (tests, replays), each with a fresh moto and emulator. The runtime modules are imported here,
not at the top, so that local mode sets the function's environment before Powertools reads it.
"""

from __future__ import annotations


def reset_runtime() -> None:
    from sellerstream import aws  # noqa: PLC0415
    from sellerstream.config import reset_settings_cache  # noqa: PLC0415
    from sellerstream.logic.batch import reset_runtime_caches  # noqa: PLC0415
    from sellerstream.logic.listing_status import listing_status_use_case  # noqa: PLC0415
    from sellerstream.logic.order_change import order_change_use_case  # noqa: PLC0415
    from sellerstream.logic.reconcile import reconcile_use_case  # noqa: PLC0415
    from sellerstream.logic.report_finished import report_finished_use_case  # noqa: PLC0415
    from sellerstream.logic.shipments import shipment_use_case  # noqa: PLC0415
    from sellerstream.spapi import reset_spapi_state  # noqa: PLC0415

    reset_settings_cache()
    aws.reset_clients()
    reset_runtime_caches()
    for use_case in (
        order_change_use_case,
        listing_status_use_case,
        report_finished_use_case,
        reconcile_use_case,
        shipment_use_case,
    ):
        use_case.cache_clear()
    reset_spapi_state()
