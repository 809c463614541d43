"""What the ledger keeps about scores: history rows, routing triggers, scoring inputs.

>>> ScoreEvent(account_id=7, at=datetime(2027, 1, 1), kind="hand_raise", score=64.0,
...            policy_version=1).kind
'hand_raise'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

SCORE_EVENT_KINDS = ("crossed_up", "crossed_down", "hand_raise")


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """The account fields the score reads (its firmographics)."""

    id: int
    external_id: str
    industry: str | None
    employees: int | None


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """One row of an account's score history."""

    account_id: int
    as_of: datetime
    score: float
    equity: float
    propensity: float
    velocity: float
    cost: float
    policy_version: int
    method: str  # batch | incremental
    economics_version: int | None = None


@dataclass(frozen=True, slots=True)
class ScoreEvent:
    """A routing trigger: a threshold crossing or a hand-raise (the Market Maker consumes it)."""

    account_id: int
    at: datetime
    kind: str  # one of SCORE_EVENT_KINDS
    score: float
    policy_version: int
    id: int | None = None
    consumed_at: datetime | None = None


@dataclass(frozen=True)
class SignalColumns:
    """Matched, current signals as columns, for batch engines (no row objects).

    `occurred_us` is microseconds since 1970 UTC.
    """

    account_id: npt.NDArray[np.int64]
    type: list[str]
    occurred_us: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.type)
