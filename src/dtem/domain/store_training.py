"""Ledger port.

Training: the history `dtem train` learns from (signals up to a date, won deals).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


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


class TrainingStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""

    def training_signals(self, until: datetime) -> Iterator[SignalFact]:
        """Matched, non-superseded signals that occurred at or before `until`."""
        ...

    def won_outcomes(self, won_stages: Collection[str]) -> list[OutcomeFact]:
        """One row per won opportunity: its account and close date.

        An opportunity in a won stage without a close date is dated by the first
        time its stage history reached a won stage.
        """
        ...
