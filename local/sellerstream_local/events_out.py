"""SellerStream's events as a subscriber received them: summaries, counts, checks and JSON-lines dumps.

Everything here reads events as EventBridge delivers them to a target (``version``, ``id``,
``detail-type``, ``source``, ``time``, ``detail``, ...): ``LocalPipeline.delivered_events`` gives
them from the local subscriber's queue.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sellerstream import catalog


def summary(event: dict[str, Any]) -> dict[str, Any]:
    """One event in a line of ``sellerstream replay --json``: what it is about and which change."""
    detail = event.get("detail") or {}
    return {
        "detail_type": event.get("detail-type"),
        "id": detail.get("id"),
        "key": detail.get("key"),
        "version": detail.get("version"),
        "previous_version": detail.get("previous_version"),
        "changes": detail.get("changes"),
    }


def counts_by_type(events: list[dict[str, Any]]) -> dict[str, int]:
    """Events by detail-type: every type the catalog declares (0 when none came), then any other."""
    counts = Counter(str(event.get("detail-type")) for event in events)
    declared = {change.detail_type: counts.pop(change.detail_type, 0) for change in catalog.change_events()}
    return {**declared, **dict(sorted(counts.items()))}


def entity(event: dict[str, Any]) -> tuple[str, ...]:
    """The entity an event is about: its detail-type and key."""
    key = (event.get("detail") or {}).get("key") or {}
    return (str(event.get("detail-type")), *(f"{name}={key[name]}" for name in sorted(key)))


def check(events: list[dict[str, Any]]) -> dict[str, int]:
    """What a subscriber checks: ``distinct_ids``; ``duplicate_deliveries`` (an id delivered again:
    the same change, to drop); ``regressed`` (an event older than one already delivered for its
    entity); ``conflicting_ids`` (one id, two different changes: never allowed)."""
    seen: dict[str, str] = {}
    newest: dict[tuple[str, ...], Any] = {}
    duplicates = regressed = conflicting = 0
    for event in events:
        detail = event.get("detail") or {}
        event_id = str(detail.get("id"))
        body = json.dumps(detail, sort_keys=True, default=str)
        if event_id in seen:
            duplicates += 1
            conflicting += seen[event_id] != body
            continue
        seen[event_id] = body
        about, version = entity(event), detail.get("version")
        if about in newest and _older(version, newest[about]):
            regressed += 1
        else:
            newest[about] = version
    return {
        "distinct_ids": len(seen),
        "duplicate_deliveries": duplicates,
        "regressed": regressed,
        "conflicting_ids": conflicting,
    }


def _older(version: Any, than: Any) -> bool:
    try:
        return bool(version < than)
    except TypeError:
        return str(version) < str(than)


def dump_file(detail_type: str) -> str:
    """The file ``--dump-events DIR`` writes a detail-type's events to: ``order-changed.jsonl``, ..."""
    return re.sub(r"[^a-z0-9]+", "-", detail_type.lower()).strip("-") + ".jsonl"


def dump(events: list[dict[str, Any]], directory: Path) -> dict[str, int]:
    """Writes the events as JSON lines, one file per detail-type the catalog declares (an empty file
    when none came), each event whole as delivered, in delivery order. Returns lines by file name."""
    directory.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[str]] = {dump_file(change.detail_type): [] for change in catalog.change_events()}
    for event in events:
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)
        by_file.setdefault(dump_file(str(event.get("detail-type"))), []).append(line)
    for name, lines in by_file.items():
        (directory / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return {name: len(lines) for name, lines in by_file.items()}
