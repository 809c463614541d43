"""Time is passed in, never read deep inside: a clock returns an aware UTC time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock for tests and replays: returns `now` until moved.

    >>> c = FixedClock(datetime(2027, 1, 1, tzinfo=UTC)); c().year
    2027
    """

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**kwargs)


def as_utc(ts: datetime) -> datetime:
    """Naive times are taken as UTC (SQLite returns them naive)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
