"""The rate budget every container shares: one DynamoDB item per Amazon bucket.

Amazon meters each (application, selling partner, region, operation) in one bucket, however many
containers call; so the budget is one item per such key (``pk = BUCKET#<app>#<seller>#<region>#<api
operation>``) holding the GCRA state (``tat``, ``rate``, ``burst``, ``confirmed``, see
``spapi.ratelimit``) and a version. A container takes a slot from the state it last saw and writes
it conditional on that version (optimistic concurrency): one round trip takes the slot and says
when it may be sent. When another container wrote first, DynamoDB returns the current item with the
failed condition (``ReturnValuesOnConditionCheckFailure``) and the slot is taken again from it.

A container that starts cold has seen nothing: it writes conditional on the item not existing, and
learns the real state from the failure when it does. It never assumes a full burst it does not have.
``x-amzn-RateLimit-Limit`` updates the stored rate (only when it differs); a 429 empties the shared
bucket. Items an earlier version wrote may still hold its slot claims and handed-back slots: they
are ignored, and the next write removes them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, NamedTuple

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import (
    DEFAULT_RATE_PLANS,
    FALLBACK_PLAN,
    SPARE_SECONDS,
    Gcra,
    RatePlan,
    budget_exhausted,
    parse_rate,
    plan_for,
    rate_differs,
)

logger = logging.getLogger(__name__)

# Conflicting writers retry from the state DynamoDB returned; a few rounds settle any realistic
# contention (a handful of containers of one consumer).
MAX_WRITE_ATTEMPTS: Final = 8
# An idle bucket's item expires (TTL) after this long; a new one starts from the plan (a full burst
# is right then: Amazon's bucket has long refilled).
IDLE_EXPIRY_SECONDS: Final = 7 * 24 * 3600
# Times are kept to the microsecond; Decimal keeps DynamoDB's numbers exact.
_PRECISION: Final = Decimal("0.000001")
# What an earlier version stored beside the bucket (slot claims, handed-back slots): removed on write.
_RETIRED_ATTRIBUTES: Final = "returned_slots, returned_until, slot_claims"


class _Seen(NamedTuple):
    """The item as this container last read or wrote it."""

    state: Gcra
    version: int


class SharedRateBudget:
    """A container's handle on the shared budget table (one per container: it caches what it saw)."""

    def __init__(
        self,
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        plans: dict[str, RatePlan] | None = None,
    ) -> None:
        self._table_name = table_name
        self._clock = clock
        self._sleep = sleep
        self._plans = plans if plans is not None else DEFAULT_RATE_PLANS
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()
        self.writes = 0  # DynamoDB writes issued (conditional failures included): its cost

    def for_account(self, application_id: str, region: str) -> AccountRateBudget:
        """The budget of one LWA application in one region (the client passes seller and operation)."""
        return AccountRateBudget(self, application_id, region)

    # -- operations on one bucket (key = the item's pk) ---------------------------------------
    def acquire(self, key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        """Takes one slot (one conditional write), sleeping up to ``max_wait`` seconds for it;
        returns the seconds waited. Raises ``RateBudgetExhausted`` at once when it is further."""
        at: float | None = None
        wait_needed = 0.0

        def take(state: Gcra, now: float) -> bool:
            nonlocal at, wait_needed
            at = state.take(now, max_wait, keep_burst=keep_burst)
            wait_needed = state.slot(now, keep_burst=keep_burst) - now
            return at is not None

        self._update(key, operation, take, write_when_unseen=True)
        if at is None:
            raise budget_exhausted(operation, wait_needed, max_wait)
        wait = max(at - self._clock(), 0.0)  # the write's round trip is part of the wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def next_slot_in(self, key: str, operation: str, *, keep_burst: bool = False) -> float:
        """When the next slot would be free, from what this container last saw (no round trip)."""
        with self._lock:
            seen = self._seen.get(key)
        now = self._clock()
        state = seen.state if seen else Gcra.full(plan_for(operation, self._plans), now, SPARE_SECONDS)
        return state.slot(now, keep_burst=keep_burst) - now

    def observe_limit_header(self, key: str, operation: str, value: str | None) -> None:
        rate = parse_rate(value)
        if rate is None:
            return

        def adopt(state: Gcra, now: float) -> bool:
            if state.confirmed and not rate_differs(state.rate, rate):
                return False
            state.confirmed = True
            if rate_differs(state.rate, rate):
                state.set_rate(now, rate)
            return True

        self._update(key, operation, adopt, write_when_unseen=False)

    def on_throttled(self, key: str, operation: str) -> None:
        def empty(state: Gcra, now: float) -> bool:
            before = state.tat
            state.empty(now)
            return state.tat != before

        self._update(key, operation, empty, write_when_unseen=True)

    def seen_state(self, key: str) -> Gcra | None:
        """The bucket as this container last read or wrote it (None: never seen)."""
        with self._lock:
            seen = self._seen.get(key)
        return seen.state.copy() if seen else None

    # -- the conditional write loop --------------------------------------------------------------
    def _update(
        self, key: str, operation: str, change: Callable[[Gcra, float], bool], *, write_when_unseen: bool
    ) -> _Seen:
        """Applies ``change`` to the latest state we know and writes it conditional on its version.

        ``change`` returns False when there is nothing to write. A state never seen is the plan's
        full bucket, written only if the item does not exist (so a cold container learns the real
        state from the failed condition instead of assuming a full burst).
        """
        for _ in range(MAX_WRITE_ATTEMPTS):
            now = self._clock()
            with self._lock:
                seen = self._seen.get(key)
            if seen is None:
                state, version = Gcra.full(plan_for(operation, self._plans), now, SPARE_SECONDS), 0
            else:
                state, version = seen.state.copy(), seen.version
            if not change(state, now) and (seen is not None or not write_when_unseen):
                return seen or _Seen(state, version)
            try:
                return self._write(key, state, version)
            except _Conflict as conflict:
                self._remember(key, conflict.current)
        raise RateBudgetExhausted(
            operation, "rate budget contended: too many concurrent writers", wait_needed=1.0
        )

    def _write(self, key: str, state: Gcra, version: int) -> _Seen:
        now = self._clock()
        state.tat = _exact(state.tat)  # what is stored, so our cached copy compares equal to it
        values: dict[str, Any] = {
            ":tat": _number(state.tat),
            ":rate": _number(state.rate),
            ":burst": {"N": str(state.burst)},
            ":confirmed": {"BOOL": state.confirmed},
            ":next": {"N": str(version + 1)},
            ":expires": {"N": str(int(now + IDLE_EXPIRY_SECONDS))},
        }
        if version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "version = :version"
            values[":version"] = {"N": str(version)}
        self.writes += 1
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key={"pk": {"S": key}},
                UpdateExpression="SET tat = :tat, rate = :rate, burst = :burst, confirmed = :confirmed, "
                f"version = :next, expires_at = :expires REMOVE {_RETIRED_ATTRIBUTES}",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise _Conflict(_parse(error.response.get("Item"), now)) from None
        written = _Seen(state, version + 1)
        with self._lock:
            self._seen[key] = written
        return written

    def _remember(self, key: str, current: _Seen | None) -> None:
        with self._lock:
            if current is None:
                self._seen.pop(key, None)  # the item expired or was deleted: start from the plan
            else:
                self._seen[key] = current


class _Conflict(Exception):
    def __init__(self, current: _Seen | None) -> None:
        super().__init__("conditional write lost")
        self.current = current


class AccountRateBudget:
    """``SharedRateBudget`` seen as the client's ``RateBudget``: keys gain the application and region."""

    def __init__(self, shared: SharedRateBudget, application_id: str, region: str) -> None:
        self._shared = shared
        self._application_id = application_id
        self._region = region

    def key(self, seller_key: str, operation: str) -> str:
        return f"BUCKET#{self._application_id}#{seller_key}#{self._region}#{operation}"

    def acquire(self, seller_key: str, operation: str, max_wait: float, *, keep_burst: bool = False) -> float:
        return self._shared.acquire(
            self.key(seller_key, operation), operation, max_wait, keep_burst=keep_burst
        )

    def next_slot_in(self, seller_key: str, operation: str, *, keep_burst: bool = False) -> float:
        return self._shared.next_slot_in(self.key(seller_key, operation), operation, keep_burst=keep_burst)

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        self._shared.observe_limit_header(self.key(seller_key, operation), operation, value)

    def on_throttled(self, seller_key: str, operation: str) -> None:
        self._shared.on_throttled(self.key(seller_key, operation), operation)


def _exact(value: float) -> float:
    return float(Decimal(repr(value)).quantize(_PRECISION))


def _number(value: float) -> dict[str, str]:
    return {"N": str(Decimal(repr(value)).quantize(_PRECISION))}


def _parse(item: dict[str, Any] | None, now: float) -> _Seen | None:
    """The bucket in a stored item (attributes other than the bucket's own are ignored)."""
    if not item:
        return None
    try:
        version = int(item["version"]["N"])
    except (KeyError, ValueError):
        version = 0
    try:
        state = Gcra(
            tat=float(item["tat"]["N"]),
            rate=float(item["rate"]["N"]),
            burst=int(item["burst"]["N"]),
            spare_seconds=SPARE_SECONDS,
            confirmed=bool(item.get("confirmed", {}).get("BOOL", False)),
        )
        if state.rate <= 0 or state.burst < 1:
            raise ValueError("not a bucket")
    except (KeyError, ValueError, TypeError):
        # Overwritten on the next write; until then the bucket counts as empty, never as full.
        logger.warning("rate budget item unreadable: it is rewritten from the plan")
        if not version:
            return None
        empty = Gcra.full(FALLBACK_PLAN, now, SPARE_SECONDS)
        empty.empty(now)
        return _Seen(empty, version)
    return _Seen(state, version)
