"""The tables' change streams to SellerStream's bus: exactly one event per stored change.

An event is published when a write stored a newer version of an entity, read from the table's
change stream (DynamoDB Streams), never from the function that wrote: a function dying between its
write and its acknowledgement loses no event, and a write that stored nothing (a duplicate, a stale
callback, an equal state: the conditional write failed) leaves no stream record at all. A stream
record whose write changed no version (a checkpoint, the PII item, an equal rewrite) gives no event
(``logic.event_details`` decides per event).

Order: a stream gives one item's records in the order they were stored, and the stream's batches
one after the other. Events leave in that order: a PutEvents call never carries two events of one
entity, and a batch stops at its first event EventBridge did not take, reporting that record as the
batch's failure, so Lambda retries from there and nothing after it was sent before it. A retry may
send again an event of another entity that had been taken (the same id: subscribers deduplicate),
never an older version after a newer one. An event EventBridge refuses for good (malformed) goes
whole to the publisher's DLQ, with an alarm, and the stream moves on.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from sellerstream import catalog
from sellerstream.domain.events import Description, OutgoingEvent, StoredChange, entity_key, event_id
from sellerstream.metric_names import (
    CHANGE_EVENTS_DEAD_LETTERED,
    CHANGE_EVENTS_PUBLISHED,
    CHANGE_EVENTS_RETRIED,
    CHANGE_EVENTS_UNCHANGED,
)
from sellerstream.observability import logger, metrics
from sellerstream.ports import EventBus, EventDeadLetters, OrderPii

SCHEMA_VERSION: Final = 1
# EventBridge's limits: 10 entries and 256 KB per PutEvents call, and per event.
MAX_ENTRIES_PER_PUT: Final = 10
MAX_PUT_BYTES: Final = 256 * 1024
# An event whose detail would pass this carries a reference to its record instead (the source and
# detail-type count towards the limit too).
MAX_DETAIL_BYTES: Final = 240 * 1024
# PutEvents entry errors no retry cures: the event goes to the DLQ. Any other (throttling, internal
# failure, access denied while a policy is being fixed) is retried from the stream.
REFUSED_FOR_GOOD: Final = frozenset({"MalformedDetail", "InvalidArgument", "ValidationException"})
# Attempts per PutEvents call within one invocation (a throttled entry is tried again after a short
# pause) before the batch hands the rest back to Lambda's stream retries.
PUT_ATTEMPTS: Final = 3
PUT_RETRY_PAUSE_SECONDS: Final = 0.2

Describe = Callable[[dict[str, Any] | None, dict[str, Any]], Description | None]


class StreamOutcome(NamedTuple):
    """What one stream batch did: the first record to retry from (None: the batch is done)."""

    published: list[OutgoingEvent]
    dead_lettered: list[OutgoingEvent]
    unchanged: int
    retry_from: str | None


class ChangeEventsUseCase:
    def __init__(
        self,
        bus: EventBus,
        dead_letters: EventDeadLetters,
        *,
        table_names: dict[str, str],
        order_pii: OrderPii | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``table_names``: each streamed table's name by role (a reference names the table);
        ``order_pii``: given only when the deployment opts in to buyer data in events."""
        self._bus = bus
        self._dead_letters = dead_letters
        self._table_names = table_names
        self._order_pii = order_pii
        self._sleep = sleep
        self._describers: dict[catalog.ChangeEvent, Describe] = {}
        # Which event an item's change is, by table: looked up for every stream record.
        self._declared: dict[str, tuple[catalog.ChangeEvent, ...]] = {}
        for declared in catalog.change_events():
            self._declared[declared.table.role] = (*self._declared.get(declared.table.role, ()), declared)

    def events_of(self, changes: Sequence[StoredChange]) -> tuple[list[OutgoingEvent], int]:
        """The events the changes stand for, in stream order, and how many changes stand for none."""
        events: list[OutgoingEvent] = []
        unchanged = 0
        for change in changes:
            event = self.event_of(change)
            if event is None:
                unchanged += 1
            else:
                events.append(event)
        return events, unchanged

    def event_of(self, change: StoredChange) -> OutgoingEvent | None:
        if change.new is None:
            return None  # removed: an expired PII item or report row, never an entity's change
        sort_key = str(change.new.get("sk", ""))
        # Several events may describe one entity's items (a listing's new version, or its issues
        # read again): the first whose describer finds its kind of change is the write's event.
        for declared in self._declared.get(change.table, ()):
            if sort_key.startswith(declared.sort_prefix):
                description = self._describer(declared)(change.old, change.new)
                if description is not None:
                    return self._event(declared, description, change)
        return None

    def publish(self, changes: Sequence[StoredChange]) -> StreamOutcome:
        events, unchanged = self.events_of(changes)
        published: list[OutgoingEvent] = []
        dead_lettered: list[OutgoingEvent] = []
        retry_from: str | None = None
        for chunk in put_chunks(events):
            taken, refused, failed = self._put(chunk)
            published.extend(taken)
            for event, code in refused:
                self._dead_letters.dead_letter(event, code)
                dead_lettered.append(event)
                logger.error(
                    "change event refused by EventBridge: on the publisher's DLQ",
                    extra={"event_id": event.event_id, "detail_type": event.detail_type, "error_code": code},
                )
            if failed:
                retry_from = min(failed, key=lambda event: _sequence_order(event.sequence)).sequence
                break
        _count(CHANGE_EVENTS_PUBLISHED, len(published))
        _count(CHANGE_EVENTS_UNCHANGED, unchanged)
        _count(CHANGE_EVENTS_DEAD_LETTERED, len(dead_lettered))
        return StreamOutcome(published, dead_lettered, unchanged, retry_from)

    def _put(
        self, chunk: list[OutgoingEvent]
    ) -> tuple[list[OutgoingEvent], list[tuple[OutgoingEvent, str]], list[OutgoingEvent]]:
        """(taken, refused for good with the error code, still failing after the attempts)"""
        taken: list[OutgoingEvent] = []
        refused: list[tuple[OutgoingEvent, str]] = []
        pending = chunk
        for attempt in range(PUT_ATTEMPTS):
            if attempt:
                _count(CHANGE_EVENTS_RETRIED, len(pending))
                self._sleep(PUT_RETRY_PAUSE_SECONDS * attempt)
            try:
                codes = self._bus.put(pending)
            except Exception as error:  # the call itself failed (network, throttled): none taken
                logger.warning(
                    "PutEvents failed", extra={"events": len(pending), "error": type(error).__name__}
                )
                codes = [type(error).__name__] * len(pending)
            retry: list[OutgoingEvent] = []
            for event, code in zip(pending, codes, strict=True):
                if code is None:
                    taken.append(event)
                elif code in REFUSED_FOR_GOOD:
                    refused.append((event, code))
                else:
                    retry.append(event)
            pending = retry
            if not pending:
                break
        if pending:
            logger.warning(
                "change events not taken by EventBridge: the stream retries from the first",
                extra={"events": len(pending), "first_event_id": pending[0].event_id},
            )
        return taken, refused, pending

    def _event(
        self, declared: catalog.ChangeEvent, description: Description, change: StoredChange
    ) -> OutgoingEvent:
        entity = entity_key(declared.detail_type, description.key)
        record = plain(description.record)
        if declared is catalog.ORDER_CHANGED and self._order_pii is not None:
            pii = self._order_pii.pii_of(description.key["seller_id"], description.key["order_id"])
            if pii:
                record["pii"] = plain(pii)
        detail: dict[str, Any] = {
            "schema_version": declared.schema_version,
            "id": event_id(entity, description.version),
            "seller_id": description.seller_id,
            "key": description.key,
            "version": description.version,
            "previous_version": description.previous_version,
            "changes": plain(description.changes),
            "record": record,
        }
        if change.stored_at is not None:
            detail["stored_at"] = round(change.stored_at, 3)
        event = OutgoingEvent(
            declared.detail_type, entity, description.version, detail, change.sequence, change.stored_at
        )
        if event.detail_bytes() <= MAX_DETAIL_BYTES:
            return event
        del detail["record"]
        detail["record_ref"] = {
            "table": self._table_names.get(declared.table.role, declared.table.role),
            "key": {"pk": str(change.new["pk"]), "sk": str(change.new["sk"])} if change.new else {},
            "reason": "too_large",
        }
        return OutgoingEvent(
            declared.detail_type, entity, description.version, detail, change.sequence, change.stored_at
        )

    def _describer(self, declared: catalog.ChangeEvent) -> Describe:
        describe = self._describers.get(declared)
        if describe is None:
            module, _, name = declared.describe.partition(":")
            describe = getattr(importlib.import_module(module), name)
            self._describers[declared] = describe
        return describe


def put_chunks(events: Sequence[OutgoingEvent]) -> Iterator[list[OutgoingEvent]]:
    """The events in order, in PutEvents calls within EventBridge's limits, an entity at most once a
    call (a call's entries are not delivered in order)."""
    chunk: list[OutgoingEvent] = []
    entities: set[str] = set()
    size = 0
    for event in events:
        event_size = event.detail_bytes() + len(event.detail_type) + len(catalog.EVENT_SOURCE)
        if chunk and (
            len(chunk) == MAX_ENTRIES_PER_PUT
            or event.entity_key in entities
            or size + event_size > MAX_PUT_BYTES
        ):
            yield chunk
            chunk, entities, size = [], set(), 0
        chunk.append(event)
        entities.add(event.entity_key)
        size += event_size
    if chunk:
        yield chunk


def plain(value: Any) -> Any:
    """DynamoDB's values as JSON's: numbers without Decimals, sets as sorted lists, bytes as text."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(item) for item in value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return value


def _sequence_order(sequence: str) -> tuple[int, str]:
    # DynamoDB's sequence numbers are decimal strings of any length: compare as numbers.
    return (len(sequence), sequence) if sequence.isdigit() else (0, sequence)


def _count(name: str, value: int) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
