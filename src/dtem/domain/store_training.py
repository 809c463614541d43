"""Records the training port returns (`dtem.domain.ports.training`): signals, outcomes."""

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
