"""Retention per signal source: how long raw signals are kept, and which ones it governs.

A signal source is named as `dtem source list` and the stored signals name it: a webhook
source governs the signals it delivered (scope `source:<name>`); any other name governs
the file-imported and NATS signals whose `source` label is that name (`bombora`,
`first_party`…). `retention_days` None keeps them forever; otherwise a signal that
occurred more than that many days before the review time is deleted by the review.

>>> retention_days(30)
30
>>> retention_days(None) is None
True
>>> from datetime import UTC, datetime
>>> cutoff(datetime(2027, 3, 31, 6, tzinfo=UTC), 30).isoformat()
'2027-03-01T06:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dtem.domain.errors import ArgumentInvalid

MAX_RETENTION_DAYS = 36_500  # a hundred years: beyond it, keep forever (None) says it better


def retention_days(value: object) -> int | None:
    """Validate a retention: None (keep forever) or a whole number of days ≥ 1.

    >>> retention_days(0)
    Traceback (most recent call last):
    ...
    dtem.domain.errors.ArgumentInvalid: retention_days: must be a whole number of days ≥ 1 (got 0)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentInvalid(f"retention_days: must be a whole number of days ≥ 1 (got {value!r})")
    if value < 1:
        raise ArgumentInvalid(f"retention_days: must be a whole number of days ≥ 1 (got {value})")
    if value > MAX_RETENTION_DAYS:
        raise ArgumentInvalid(
            f"retention_days: at most {MAX_RETENTION_DAYS} (got {value}); omit it to keep forever"
        )
    return value


def cutoff(at: datetime, days: int) -> datetime:
    """Signals that occurred strictly before this time are past their retention."""
    return at - timedelta(days=days)


@dataclass(frozen=True)
class SourceRetention:
    """A signal source, how it delivers (webhook, pipeline or both) and its retention."""

    source: str
    kinds: tuple[str, ...]  # "webhook" (a `dtem source create` source), "pipeline" (a label)
    retention_days: int | None
