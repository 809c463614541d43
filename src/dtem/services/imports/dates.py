"""Plausible dates in imports: a typo like 9999-12-31 must not reach the ledger.

One closed-won deal dated 9999-12-31 once made the mean sales cycle 1.5 million days and
every score about 0.001. So every date must be on or after 1970-01-01, and a date that
records a fact (an activity, an opportunity's creation, a closed deal's close) must not
be after the import (a day's tolerance for time zones); an open deal's expected close
date may lie ahead, at most `FUTURE_YEARS` years. Signal times are not bounded above
here: a later time is clamped to the import time (`dtem.domain.signals.event_time`).

>>> from datetime import UTC, datetime, date
>>> now = datetime(2027, 1, 4, tzinfo=UTC)
>>> date_problem(date(9999, 12, 31), PAST, now)
'implausible date: after the import (2027-01-04), and this field records a fact'
>>> date_problem(date(2028, 6, 30), FUTURE, now) is None
True
>>> date_problem(date(1969, 7, 20), None, now)
'implausible date: before 1970-01-01'
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

PAST = "past"  # a fact: not after the import
FUTURE = "future"  # may be ahead, within FUTURE_YEARS
PAST_IF_CLOSED = "past_if_closed"  # a close date: a fact once the deal is won or lost
EARLIEST = date(1970, 1, 1)
TOLERANCE = timedelta(days=1)  # the importer's and the file's time zones may differ
FUTURE_YEARS = 5
FUTURE_SPAN = timedelta(days=round(365.25 * FUTURE_YEARS))


def surely_fine(kind: str, now: datetime | None) -> tuple[Any, Any]:
    """(low, high) between which a `date` or `datetime` value is fine for any field.

    Only values outside need `date_problem`: a column is screened with two comparisons.
    """
    if kind == "date":
        high: Any = (now + TOLERANCE).astimezone(UTC).date() if now else date.max
        return EARLIEST, high
    low = datetime(1970, 1, 1, tzinfo=UTC)
    return low, (now + TOLERANCE if now else datetime.max.replace(tzinfo=UTC))


def date_problem(value: date, dated: str | None, now: datetime | None) -> str | None:
    """Why `value` is implausible for a field `dated` like that, or None when it is fine.

    `dated` is PAST, FUTURE or None (no upper bound); `now` None skips the upper bound.
    """
    day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
    if day < EARLIEST:
        return f"implausible date: before {EARLIEST.isoformat()}"
    if now is None or dated is None:
        return None
    today = now.astimezone(UTC).date()
    if dated == PAST and day > (now + TOLERANCE).astimezone(UTC).date():
        return f"implausible date: after the import ({today}), and this field records a fact"
    if dated == FUTURE and day > today + FUTURE_SPAN:
        return f"implausible date: more than {FUTURE_YEARS} years after the import ({today})"
    return None
