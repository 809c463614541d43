"""Records the training port returns (`dtem.domain.ports.training`): signals, outcomes,
opportunities with their stage history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class SignalFact:
    """One matched, current (not superseded) signal, reduced to what features need."""

    account_id: int
    type: str
    occurred_at: datetime
    value: float


@dataclass(frozen=True)
class OutcomeFact:
    """An account reached an outcome (e.g. a won deal) on a date."""

    account_id: int
    on: date


@dataclass(frozen=True)
class OpportunityFact:
    """One opportunity as training reads it: current fields and its dated stage history.

    `stages` is the stage history, oldest first: what the opportunity's stage was at a
    past date can only be read there (the current `stage` may be its outcome).
    """

    id: int
    account_id: int
    rep_id: int | None
    stage: str
    amount: float | None
    created_date: date | None
    close_date: date | None
    stages: tuple[tuple[str, datetime], ...] = ()
    product: str | None = None
