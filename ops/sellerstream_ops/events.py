"""``sellerstream events``: the destinations of SellerStream's events, and replays from the bus's
archive to one of them.

Both read the stack's outputs (stacks/event_destinations.py names them). A replay puts the archived
events of a period back on SellerStream's bus, for the destination's rule only (StartReplay's
FilterArns): the other destinations see nothing again. Replayed events keep their ``detail.id``, so
a consumer that deduplicates by it takes each change once however often it is replayed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from sellerstream_ops.errors import OperatorError, UsageError
from stacks.event_destinations import EventsOutputs, destination_outputs

# EventBridge's replay names: 1-64 of these characters, unique among the account's replays.
REPLAY_NAME_LENGTH: Final = 64


def parse_time(value: str) -> datetime:
    """An ISO 8601 time with a date, a time and an offset (``2026-11-27T08:00:00Z``)."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time such as 2026-11-27T08:00:00Z") from None
    if moment.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"{value!r} needs a date, a time and an offset, e.g. 2026-11-27T08:00:00Z")
    return moment.astimezone(UTC)


def destinations(account: Any) -> list[dict[str, Any]]:
    """Every configured destination: its name, kind, rule, DLQ, and (sqs, bus) the statement its
    owner adds to the queue's or bus's policy."""
    outputs = account.outputs
    listed = []
    for name, kind in _index(account).items():
        names = destination_outputs(name)
        entry: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "rule_arn": outputs[names.rule_arn],
            "dead_letter_queue_url": outputs[names.dead_letter_queue_url],
        }
        policy = outputs.get(names.policy)
        if policy is not None:
            try:
                entry["policy"] = json.loads(policy)
            except ValueError:
                entry["policy"] = policy
            entry["policy_to_add_to"] = (
                "the queue's access policy" if kind == "sqs" else "the event bus's policy"
            )
        listed.append(entry)
    return listed


def replay(
    account: Any, destination: str, since: datetime, until: datetime | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Starts a replay of ``[since, until)`` from the archive to ``destination``'s rule only."""
    now = now or datetime.now(UTC)
    until = until or now
    if since >= until:
        raise UsageError("--since must be before --until (default: now)")
    if until > now:
        raise UsageError("--until is in the future: the archive holds only what already happened")
    index = _index(account)
    if destination not in index:
        known = ", ".join(index) or "none (deploy with -c events_destinations=...)"
        raise UsageError(f"--destination {destination!r} is not one of the stack's destinations: {known}")
    outputs = account.outputs
    bus_arn = outputs[EventsOutputs.BUS_ARN]
    archive_arn = outputs.get(EventsOutputs.ARCHIVE_ARN)
    if archive_arn is None:
        raise OperatorError(
            f"stack {outputs.stack_name!r} keeps no archive (deployed with -c events_archive_days=0): "
            "nothing to replay; deploy with events_archive_days=N to keep N days from then on"
        )
    rule_arn = outputs[destination_outputs(destination).rule_arn]
    name = replay_name(destination, since, now)
    response = account.client("events").start_replay(
        ReplayName=name,
        Description=f"sellerstream events replay to {destination}"[:512],
        EventSourceArn=archive_arn,
        EventStartTime=since,
        EventEndTime=until,
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    result: dict[str, Any] = {
        "replay": name,
        "state": response.get("State"),
        "replay_arn": response.get("ReplayArn"),
        "destination": destination,
        "rule_arn": rule_arn,
        "since": _rfc3339(since),
        "until": _rfc3339(until),
        "next": f"aws events describe-replay --name {name} shows its progress",
    }
    if response.get("StateReason"):
        result["state_reason"] = response["StateReason"]
    return result


def replay_name(destination: str, since: datetime, now: datetime) -> str:
    """Unique per destination, period start and moment asked (a replay's name cannot be reused)."""
    stamp = f"{since.astimezone(UTC):%Y%m%dT%H%M%S}-{now.astimezone(UTC):%Y%m%dT%H%M%S}"
    return f"{destination[: REPLAY_NAME_LENGTH - len(stamp) - 1]}-{stamp}"


def _index(account: Any) -> dict[str, str]:
    outputs = account.outputs
    text = outputs[EventsOutputs.DESTINATIONS]
    try:
        index = json.loads(text)
    except ValueError:
        index = None
    if not isinstance(index, dict) or not all(isinstance(v, str) for v in index.values()):
        raise OperatorError(
            f"stack {outputs.stack_name!r}: output {EventsOutputs.DESTINATIONS} is not a JSON object"
        )
    return dict(index)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
