"""RFC 3339 timestamps as Amazon writes them, read strictly into UTC datetimes.

One reader for notifications (``notifications.common.Timestamp``) and SP-API responses (orders'
``lastUpdatedTime``, listings' ``lastUpdatedDate``): a full date, a full time with an optional
fraction, and a mandatory offset ("Z" or ±hh:mm), e.g. "2020-01-11T00:09:53.109Z". Naive times,
dates alone, epoch numbers and other ISO 8601 forms are refused. Plain Python, so reading a
timestamp costs no validator built at import.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# ([0-9], not \d: \d admits other scripts' digits.)
_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# Years outside this range are corrupt (and near year 1 or 9999, converting to UTC overflows).
EARLIEST_YEAR = 1995
LATEST_YEAR = 2199


def parse_rfc3339(value: object) -> datetime:
    """The UTC moment ``value`` names, or ``ValueError`` saying what is wrong (never echoing it)."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    match = _RFC3339.fullmatch(value) if len(value) <= 40 else None
    if match is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2020-01-11T00:09:53.109Z")
    date, time, fraction, offset = match.groups()
    # Python keeps microseconds: further digits (RFC 3339 allows any number) are truncated.
    text = f"{date}T{time}.{(fraction or '0')[:6]}{'+00:00' if offset in ('Z', 'z') else offset}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a valid date and time") from None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment.astimezone(UTC)


def sortable_timestamp(moment: datetime) -> str:
    """UTC ISO-8601 with fixed width (microseconds, "Z"), so comparing strings orders time: how
    stored records carry Amazon's times, and what conditional writes compare."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_sortable(value: str) -> datetime:
    """The inverse of ``sortable_timestamp``."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
