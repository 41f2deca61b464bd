"""The rate budget every container shares: one DynamoDB item per Amazon bucket.

Amazon meters each (application, selling partner, region, operation) in one bucket, however many
containers call; so the budget is one item per such key (``pk = BUCKET#<app>#<seller>#<region>#<api
operation>``) holding the GCRA state (``tat``, ``rate``, ``burst``, see ``spapi.ratelimit``) and a
version. A container computes its reservation from the state it last saw and writes it conditional
on that version (optimistic concurrency): one round trip reserves several slots and says when each
may be sent. When another container wrote first, DynamoDB returns the current item with the failed
condition (``ReturnValuesOnConditionCheckFailure``) and the reservation is recomputed from it.

A container that starts cold has seen nothing: it writes conditional on the item not existing, and
learns the real state from the failure when it does. It never assumes a full burst it does not have.
``x-amzn-RateLimit-Limit`` updates the stored rate (only when it differs); a 429 empties the shared
bucket. Reserved slots a batch did not use (its order was stored meanwhile by another container,
the invocation ran short) are handed back in the item, and the next reservation of any container
takes them first, even a little past their time (within their late window).

Named slots (``reserve_for``) live in the same item (``slot_claims``: name -> [at, until, held, basis]), so
one conditional write both reserves slots and claims their names: two containers can never both
send for one order, and a held slot is taken by exactly one of the copies that come back for it.
The claims are one compact string (times in milliseconds from a base second): a busy seller's
bucket holds hundreds, and every reservation reads and writes them all. As a map of typed numbers
they cost more CPU than the rest of the batch's planning, and a third more write units (450
claims: 22 KB against 17 KB). A map written by an earlier version is still read.
See ``sellerstream.spapi.ratelimit`` for why holding and late sends never exceed Amazon's bucket.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, NamedTuple

from botocore.exceptions import ClientError

from sellerstream import aws
from sellerstream.spapi.errors import RateBudgetExhausted
from sellerstream.spapi.ratelimit import (
    DEFAULT_RATE_PLANS,
    FALLBACK_PLAN,
    MAX_HELD_CLAIMS,
    Claim,
    Gcra,
    NamedReservation,
    NamedSlot,
    RatePlan,
    Reservation,
    SlotPool,
    parse_rate,
    plan_for,
    rate_differs,
    sent_slots,
    wait_for_pooled_slot,
)

logger = logging.getLogger(__name__)

# Conflicting writers retry from the state DynamoDB returned; a few rounds settle any realistic
# contention (a handful of containers of one consumer).
MAX_WRITE_ATTEMPTS: Final = 8
# An idle bucket's item expires (TTL) after this long; a new one starts from the plan (a full burst
# is right then: Amazon's bucket has long refilled).
IDLE_EXPIRY_SECONDS: Final = 7 * 24 * 3600
# One token of every burst stays unscheduled: requests leave our containers one interval apart but
# can reach Amazon a little closer together.
SPARE_TOKENS: Final = 1
# Times are kept to the microsecond; Decimal keeps DynamoDB's numbers exact.
_PRECISION: Final = Decimal("0.000001")


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
        self._pools: dict[str, SlotPool] = {}
        self._lock = threading.Lock()
        self.writes = 0  # DynamoDB writes issued (conditional failures included): its cost

    def for_account(self, application_id: str, region: str) -> AccountRateBudget:
        """The budget of one LWA application in one region (the client passes seller and operation)."""
        return AccountRateBudget(self, application_id, region)

    # -- operations on one bucket (key = the item's pk) ---------------------------------------
    def acquire(self, key: str, operation: str, max_wait: float) -> float:
        with self._lock:
            wait = wait_for_pooled_slot(self._pool(key), operation, max_wait, self._clock)
        if wait is None:
            reservation = self.reserve(key, operation, 1, first_within=max_wait, last_within=max_wait)
            if not reservation.granted:
                raise RateBudgetExhausted(
                    operation,
                    f"rate budget exhausted: next slot in {reservation.next_slot_in:.1f}s, "
                    f"{max(max_wait, 0.0):.1f}s left",
                    wait_needed=reservation.next_slot_in,
                )
            with self._lock:
                wait = wait_for_pooled_slot(self._pool(key), operation, max_wait, self._clock)
        if wait:
            self._sleep(wait)
        return wait or 0.0

    def reserve(
        self, key: str, operation: str, count: int, *, first_within: float, last_within: float
    ) -> Reservation:
        granted: list[tuple[float, float]] = []
        next_slot_in = 0.0

        def take(state: Gcra, now: float) -> bool:
            nonlocal granted, next_slot_in
            granted = state.reserve_slots(now, count, now + first_within, now + last_within)
            next_slot_in = state.slot(now) - now
            return bool(granted)

        seen = self._update(key, operation, take, write_when_unseen=True)
        if granted:
            with self._lock:
                self._pool(key).add([at for at, _ in granted], dict(granted))
        return Reservation(tuple(at for at, _ in granted), next_slot_in, seen.state.interval)

    def reserve_for(
        self,
        key: str,
        operation: str,
        names: Mapping[str, float | None],
        *,
        send_within: float,
        hold_within: float,
    ) -> NamedReservation:
        outcomes: list[NamedSlot] = []
        next_slot_in = 0.0

        def claim(state: Gcra, now: float) -> bool:
            nonlocal outcomes, next_slot_in
            outcomes, changed = state.reserve_named(
                now, names, send_by=now + send_within, hold_by=now + hold_within, max_held=MAX_HELD_CLAIMS
            )
            next_slot_in = state.slot(now) - now
            return changed

        seen = self._update(key, operation, claim, write_when_unseen=True)
        sent = sent_slots(outcomes)
        if sent:
            with self._lock:
                self._pool(key).add([at for at, _ in sent], dict(sent))
        return NamedReservation(tuple(outcomes), next_slot_in, seen.state.interval, seen.state.confirmed)

    def release(self, key: str, operation: str, unsent: Sequence[str] = ()) -> None:
        """Hands unused reserved slots back to the shared bucket (the next reservation, of any
        container, takes them first: a past one while within its late window) and forgets the
        claims of ``unsent`` names."""
        with self._lock:
            unused, until = self._pool(key).take_unused()
        now = self._clock()
        useful = [at for at in unused if at >= now or now <= until.get(at, at)]
        if not useful and not unsent:
            return  # past slots without a late window are spent (nobody's reservation has them)

        def hand_back(state: Gcra, now: float) -> bool:
            state.hand_back(useful, now, until)
            forgotten = [state.release_claim(name) for name in unsent]
            return bool(useful) or any(forgotten)

        self._update(key, operation, hand_back, write_when_unseen=False)

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def wait_for_pooled_slot(self, key: str) -> None:
        with self._lock:
            wait = self._pool(key).due_in(self._clock())
        if wait > 0:
            self._sleep(wait)

    def next_slot_in(self, key: str, operation: str) -> float:
        """When the next slot would be free, from what this container last saw (no round trip)."""
        with self._lock:
            seen = self._seen.get(key)
        now = self._clock()
        state = seen.state if seen else Gcra.full(plan_for(operation, self._plans), now, SPARE_TOKENS)
        return state.slot(now) - now

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
        with self._lock:
            self._pool(key).clear()  # Amazon's bucket is empty: our reserved slots would 429 too

        def empty(state: Gcra, now: float) -> bool:
            before = state.tat
            state.empty(now)
            return state.tat != before

        self._update(key, operation, empty, write_when_unseen=True)

    def seen_state(self, key: str) -> Gcra | None:
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
                state, version = Gcra.full(plan_for(operation, self._plans), now, SPARE_TOKENS), 0
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
        state.returned = [_exact(at) for at in state.returned]
        values: dict[str, Any] = {
            ":tat": _number(state.tat),
            ":rate": _number(state.rate),
            ":burst": {"N": str(state.burst)},
            ":returned": {"L": [_number(at) for at in state.returned]},
            ":confirmed": {"BOOL": state.confirmed},
            ":next": {"N": str(version + 1)},
            ":expires": {"N": str(int(now + IDLE_EXPIRY_SECONDS))},
        }
        if version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "version = :version"
            values[":version"] = {"N": str(version)}
        state.returned_until = {_exact(at): _exact(end) for at, end in state.returned_until.items()}
        values[":returned_until"] = {
            "L": [_number(state.returned_until.get(at, at)) for at in state.returned]
        }
        text, state.claims = encode_claims(state.claims)  # cached as the next reader will parse them
        values[":claims"] = {"S": text}
        self.writes += 1
        try:
            aws.client("dynamodb").update_item(
                TableName=self._table_name,
                Key={"pk": {"S": key}},
                UpdateExpression="SET tat = :tat, rate = :rate, burst = :burst, returned_slots = :returned, "
                "returned_until = :returned_until, slot_claims = :claims, "
                "confirmed = :confirmed, version = :next, expires_at = :expires",
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

    def _pool(self, key: str) -> SlotPool:
        return self._pools.setdefault(key, SlotPool())


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

    def acquire(self, seller_key: str, operation: str, max_wait: float) -> float:
        return self._shared.acquire(self.key(seller_key, operation), operation, max_wait)

    def reserve(
        self, seller_key: str, operation: str, count: int, *, first_within: float, last_within: float
    ) -> Reservation:
        return self._shared.reserve(
            self.key(seller_key, operation),
            operation,
            count,
            first_within=first_within,
            last_within=last_within,
        )

    def reserve_for(
        self,
        seller_key: str,
        operation: str,
        names: Mapping[str, float | None],
        *,
        send_within: float,
        hold_within: float,
    ) -> NamedReservation:
        return self._shared.reserve_for(
            self.key(seller_key, operation),
            operation,
            names,
            send_within=send_within,
            hold_within=hold_within,
        )

    def release(self, seller_key: str, operation: str, unsent: Sequence[str] = ()) -> None:
        self._shared.release(self.key(seller_key, operation), operation, unsent)

    def wait(self, seconds: float) -> None:
        self._shared.wait(seconds)

    def wait_for_pooled_slot(self, seller_key: str, operation: str) -> None:
        self._shared.wait_for_pooled_slot(self.key(seller_key, operation))

    def next_slot_in(self, seller_key: str, operation: str) -> float:
        return self._shared.next_slot_in(self.key(seller_key, operation), operation)

    def observe_limit_header(self, seller_key: str, operation: str, value: str | None) -> None:
        self._shared.observe_limit_header(self.key(seller_key, operation), operation, value)

    def on_throttled(self, seller_key: str, operation: str) -> None:
        self._shared.on_throttled(self.key(seller_key, operation), operation)


def _exact(value: float) -> float:
    return float(Decimal(repr(value)).quantize(_PRECISION))


def _number(value: float) -> dict[str, str]:
    return {"N": str(Decimal(repr(value)).quantize(_PRECISION))}


def _late_windows(returned: list[float], until: list[float]) -> dict[float, float]:
    """Written beside the handed-back slots; an item without them (an older writer) has none."""
    if len(until) != len(returned):
        return {}
    return {at: end for at, end in zip(returned, until, strict=True) if end > at}


def encode_claims(claims: Mapping[str, Claim]) -> tuple[str, dict[str, Claim]]:
    """The claims as stored, and as a reader parses them back (to the millisecond, bit for bit).

    ``<base second>;<name>,<at ms>,<until - at ms>,<held 1/0>,<basis>;...``: times are milliseconds
    from the earliest claim's second (a slot rounded up, its window's end down); the basis (a
    stored state's time, compared exactly) is its shortest repr, or empty for none. Names are
    order ids: no separators.
    """
    if not claims:
        return "", {}
    base = math.floor(min(claim.at for claim in claims.values()))
    parts = [str(base)]
    for name, claim in claims.items():
        if "," in name or ";" in name:
            raise ValueError("a slot's name must not contain ',' or ';'")
        # Never earlier than the slot, never later than its window (float noise aside).
        at_ms = math.ceil(round((claim.at - base) * 1000, 3))
        length_ms = max(math.floor(round((claim.until - base) * 1000, 3)) - at_ms, 0)
        basis = "" if claim.basis is None else repr(claim.basis)
        parts.append(f"{name},{at_ms},{length_ms},{1 if claim.held else 0},{basis}")
    text = ";".join(parts)
    return text, decode_claims(text)


def decode_claims(text: str) -> dict[str, Claim]:
    if not text:
        return {}
    base_text, *entries = text.split(";")
    base = int(base_text)
    claims: dict[str, Claim] = {}
    for entry in entries:
        name, at_ms, length_ms, held, basis = entry.split(",")
        at = base + int(at_ms) / 1000
        until = base + (int(at_ms) + int(length_ms)) / 1000
        claims[name] = Claim(at, until, held == "1", float(basis) if basis else None)
    return claims


def _parse_claims(stored: dict[str, Any] | None) -> dict[str, Claim]:
    if not stored:
        return {}
    if "S" in stored:
        return decode_claims(stored["S"])
    return _parse_claims_map(stored.get("M", {}))


def _parse_claims_map(stored: dict[str, Any]) -> dict[str, Claim]:
    """Claims as an earlier version wrote them: a map of ``[at, until, held, basis]`` typed lists."""
    claims: dict[str, Claim] = {}
    for name, value in stored.items():
        at, until, held, basis = value["L"]
        known = None if basis.get("NULL") else float(basis["N"])
        claims[name] = Claim(float(at["N"]), float(until["N"]), bool(held["BOOL"]), known)
    return claims


def _parse(item: dict[str, Any] | None, now: float) -> _Seen | None:
    if not item:
        return None
    try:
        version = int(item["version"]["N"])
    except (KeyError, ValueError):
        version = 0
    try:
        returned = [float(at["N"]) for at in item.get("returned_slots", {}).get("L", [])]
        returned_until = [float(end["N"]) for end in item.get("returned_until", {}).get("L", [])]
        state = Gcra(
            tat=float(item["tat"]["N"]),
            rate=float(item["rate"]["N"]),
            burst=int(item["burst"]["N"]),
            spare=SPARE_TOKENS,
            returned=returned,
            confirmed=bool(item.get("confirmed", {}).get("BOOL", False)),
            returned_until=_late_windows(returned, returned_until),
            claims=_parse_claims(item.get("slot_claims")),
        )
        if state.rate <= 0 or state.burst < 1:
            raise ValueError("not a bucket")
    except (KeyError, ValueError, TypeError):
        # Overwritten on the next write; until then the bucket counts as empty, never as full.
        logger.warning("rate budget item unreadable: it is rewritten from the plan")
        if not version:
            return None
        empty = Gcra.full(FALLBACK_PLAN, now, SPARE_TOKENS)
        empty.empty(now)
        return _Seen(empty, version)
    return _Seen(state, version)
