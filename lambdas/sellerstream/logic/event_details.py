"""What each of SellerStream's events says about its entity's change, from the stored item before
and after one write (the catalog names a function here for each event).

Each returns None when the write stored no newer version (an equal state rewritten, a checkpoint, a
part of the item that is not the entity's version): no event then. What changed is told where it
helps a subscriber decide (an order's status from -> to) and, for everything else, as the names of
the changed fields (one level into the stored response).
"""

from __future__ import annotations

from typing import Any, Final

from sellerstream.domain.events import Description
from sellerstream.domain.reports import COMPLETE, FAILED

# SellerStream's bookkeeping on every item: never in an event's record or its changed fields.
BOOKKEEPING: Final = frozenset({"pk", "sk", "expires_at", "lookup"})
# A report's own progress fields: they change while it is stored, and say nothing to a subscriber.
REPORT_PROGRESS: Final = frozenset(
    {"parts", "ingest_seconds", "stalled_parts", "interrupted_by", "layout", "row_shards", "columns"}
)
READY: Final = frozenset({COMPLETE, FAILED})


def order_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    version, previous = _newer_time(old, new)
    if version is None:
        return None
    changes: dict[str, Any] = {"fields": changed_fields(old, new)}
    _from_to(changes, "order_status", old, new)
    return Description(
        seller_id=str(new["seller_id"]),
        key={"seller_id": str(new["seller_id"]), "order_id": str(new["order_id"])},
        version=version,
        previous_version=previous,
        changes=changes,
        record=public_record(new),
    )


def listing_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    version, previous = _newer_time(old, new)
    if version is None:
        return None
    changes: dict[str, Any] = {"fields": changed_fields(old, new)}
    for field in ("status", "deleted"):
        _from_to(changes, field, old, new)
    _issue_count(changes, old, new)
    return _listing(new, version, previous, changes)


def listing_issues_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """The same version's issues read again (Amazon changes issues without a new lastUpdatedDate):
    versioned by when they were read (``issues_as_of``), which only moves forward."""
    return _same_version_refresh(old, new, "issues_as_of", ("issues",))


def listing_quantity_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """A seller-fulfilled quantity applied to the stored version (LISTINGS_ITEM_MFN_QUANTITY_CHANGE):
    versioned by the notification's time (``quantity_updated_at``), which only moves forward."""
    return _same_version_refresh(old, new, "quantity_updated_at", ("quantity", "fulfillment_availability"))


def _same_version_refresh(
    old: dict[str, Any] | None, new: dict[str, Any], moment: str, telling: tuple[str, ...]
) -> Description | None:
    """``telling``: the fields whose change is news; a refresh that read the same issues (or set the
    same quantity) moves only its moment and provenance: no event."""
    if old is None or old.get("last_updated") != new.get("last_updated"):
        return None  # a new version (or the first) is Listing Changed's
    version, previous = new.get(moment), old.get(moment)
    if not isinstance(version, str) or (isinstance(previous, str) and previous >= version):
        return None
    if all(old.get(field) == new.get(field) for field in telling):
        return None
    changes: dict[str, Any] = {"fields": changed_fields(old, new)}
    _issue_count(changes, old, new)
    return _listing(new, version, previous if isinstance(previous, str) else None, changes)


def _issue_count(changes: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    if old is None or len(old.get("issues") or []) != len(new.get("issues") or []):
        changes["issue_count"] = {
            "from": len(old.get("issues") or []) if old else None,
            "to": len(new.get("issues") or []),
        }


def _listing(new: dict[str, Any], version: str, previous: str | None, changes: dict[str, Any]) -> Description:
    return Description(
        seller_id=str(new["seller_id"]),
        key={
            "seller_id": str(new["seller_id"]),
            "marketplace_id": str(new["marketplace_id"]),
            "sku": str(new["sku"]),
        },
        version=version,
        previous_version=previous,
        changes=changes,
        record=public_record(new),
    )


def report_ready(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """Once per outcome an ingestion reaches (rows stored, or the document recorded FAILED; FAILED
    then COMPLETE after a redrive is two); the parts and checkpoints before it are no change to a
    subscriber, nor the same outcome reached again."""
    status = new.get("ingestion_status")
    if status not in READY:
        return None
    before = old.get("ingestion_status") if old else None
    if before == status:
        return None  # the same outcome saved again (a failed document failing again on a redelivery)
    version = _report_finished_at(new)
    previous = _report_finished_at(old) if old and before in READY else None
    changes: dict[str, Any] = {"ingestion_status": {"from": before, "to": status}}
    return Description(
        seller_id=str(new["seller_key"]),
        key={"seller_id": str(new["seller_key"]), "report_id": str(new["report_id"])},
        version=version,
        previous_version=previous,
        changes=changes,
        record={name: value for name, value in public_record(new).items() if name not in REPORT_PROGRESS},
    )


def shipment_confirmed(old: dict[str, Any] | None, new: dict[str, Any]) -> Description | None:
    """Each change Amazon accepted for a package: its first confirmation, then each update."""
    revision = _integer(new.get("version"), 1)
    previous = _integer(old.get("version"), 1) if old else None
    if previous is not None and previous >= revision:
        return None
    changes: dict[str, Any] = {"first_confirmation": old is None, "fields": changed_fields(old, new)}
    for field in ("tracking_number", "carrier_code", "ship_date"):
        if old is not None:
            _from_to(changes, field, old, new)
    return Description(
        seller_id=str(new["seller_id"]),
        key={
            "seller_id": str(new["seller_id"]),
            "order_id": str(new["order_id"]),
            "package_reference_id": str(new["package_reference_id"]),
        },
        version=revision,
        previous_version=previous,
        changes=changes,
        record=public_record(new),
    )


def public_record(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in BOOKKEEPING}


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The fields whose value the write changed, one level into nested objects ("order.fulfillment")."""
    before = old or {}
    changed: list[str] = []
    for name in sorted((set(before) | set(new)) - BOOKKEEPING - {"last_updated", "version", "updated_at"}):
        was, now = before.get(name), new.get(name)
        if was == now:
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            inner = sorted(key for key in set(was) | set(now) if was.get(key) != now.get(key))
            changed.extend(f"{name}.{key}" for key in inner)
        else:
            changed.append(name)
    return changed


def _newer_time(old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the new version, the replaced one) when the write stored a newer last-update time, else (None, ...)."""
    version = new.get("last_updated")
    previous = old.get("last_updated") if old else None
    if not isinstance(version, str):
        return None, None
    if isinstance(previous, str) and previous >= version:
        return None, previous
    return version, previous if isinstance(previous, str) else None


def _from_to(changes: dict[str, Any], field: str, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    was = old.get(field) if old else None
    if old is None or was != new.get(field):
        changes[field] = {"from": was, "to": new.get(field)}


def _report_finished_at(record: dict[str, Any]) -> str:
    for field in ("completed_at", "failed_at", "recorded_at"):
        value = record.get(field)
        if isinstance(value, str) and value:
            return value
    return ""


def _integer(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
