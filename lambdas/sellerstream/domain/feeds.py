"""Feeds as stored: one record per seller and feed, written once per processing outcome.

A feed finishes once (DONE, CANCELLED or FATAL, Amazon's ``processingStatus``), and its processing
report says what became of each message. The record's *outcome* is Amazon's status and what became
of the report here (``report_status``): parsed, none to read, unreadable, or a format not read.
A store writes a record only when its outcome differs from the stored one and its notification is
not older (``FeedStore.put_if_newer``): a redelivery, a duplicate and an older notification change
nothing; an unreadable report read after a fix (a redrive) is a new outcome.

``feed_processed`` tells the "Feed Processed" event of a stored change: one per outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from sellerstream.domain.events import Description

# What became of the processing report (``report_status``).
PARSED: Final = "PARSED"  # read: its summary and per-message results are stored
NO_DOCUMENT: Final = "NO_DOCUMENT"  # none to read (a CANCELLED feed, or Amazon named none)
UNREADABLE: Final = "UNREADABLE"  # not what it declares (charset, gzip, JSON or XML): ``report_error``
UNSUPPORTED_FORMAT: Final = "UNSUPPORTED_FORMAT"  # neither a JSON nor an XML processing report
# Outcomes a later delivery of the same notification may still change (a redrive after a fix).
RETRIED_OUTCOMES: Final = frozenset({UNREADABLE, UNSUPPORTED_FORMAT})


class FeedOutcome(NamedTuple):
    """What a feed's stored record says it came to, and which notification said so."""

    event_time: datetime  # the notification's eventTime: a newer notification may replace it
    processing_status: str
    report_status: str

    @property
    def outcome(self) -> str:
        return outcome_of(self.processing_status, self.report_status)


class FeedRecord(NamedTuple):
    """One feed as the use case learnt it. ``attributes`` is the record's head (getFeed's answer,
    the report's header and summary, when it was recorded); ``results`` the report's per-message
    results, stored beside it however many there are."""

    seller_key: str  # the seller id, or a vendor's account id
    feed_id: str
    event_time: datetime
    processing_status: str
    report_status: str
    attributes: dict[str, Any]
    results: tuple[dict[str, Any], ...] = ()
    expires_at: int | None = None  # epoch seconds (TTL); None: kept

    @property
    def outcome(self) -> str:
        return outcome_of(self.processing_status, self.report_status)


def outcome_of(processing_status: str, report_status: str) -> str:
    return f"{processing_status}/{report_status}"


# The head item's own bookkeeping: never in an event's record.
BOOKKEEPING: Final = frozenset({"pk", "sk", "expires_at", "outcome", "results_version", "results_chunks"})


def feed_processed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """The "Feed Processed" event of a write to a feed's head item: once per outcome it reaches
    (the same outcome written again is no news); versioned by when it was recorded."""
    outcome = new.get("outcome")
    if not isinstance(outcome, str):
        return None
    before = old.get("outcome") if old else None
    if before == outcome:
        return None
    version = str(new.get("recorded_at") or "")
    previous = str(old.get("recorded_at") or "") if old and before is not None else None
    changes: dict[str, Any] = {}
    for field in ("processing_status", "report_status"):
        was = old.get(field) if old else None
        if old is None or was != new.get(field):
            changes[field] = {"from": was, "to": new.get(field)}
    return Description(
        seller_id=str(new["seller_key"]),
        key={"seller_id": str(new["seller_key"]), "feed_id": str(new["feed_id"])},
        version=version,
        previous_version=previous or None,
        changes=changes,
        record={name: value for name, value in new.items() if name not in BOOKKEEPING},
    )
