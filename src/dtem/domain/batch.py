"""What a batch scoring engine receives and returns, as plain columns (numpy arrays).

The per-account constants (the firmographic part of the logit, V and C) are computed
here, once per segment, with the same domain functions as the incremental path; the
engine adds the behaviour terms from the signals and finishes P, E and S.

>>> from dtem.domain.policy import Policy
>>> from dtem.domain.segments import Economics
>>> p = account_params(Policy(), Economics(), [AccountFacts(1, "A1", "retail", 50)])
>>> float(p.base_logit[0]), float(p.cost[0])
(-4.0, 600.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dtem.domain.model import segment_of
from dtem.domain.policy import Policy
from dtem.domain.score_records import AccountFacts, SignalColumns
from dtem.domain.scoring import decay_rate, fit_terms
from dtem.domain.segments import Economics, segment_cost, segment_velocity

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AccountParams:
    """Per-account constants: `base_logit` = b0 + fit terms, V and C."""

    account_id: Ints
    base_logit: Floats
    velocity: Floats
    cost: Floats


@dataclass(frozen=True)
class TypeParams:
    """Weight and decay rate (per second) of each signal type of the policy."""

    names: list[str]
    weights: Floats
    rates: Floats

    @classmethod
    def of(cls, policy: Policy) -> TypeParams:
        names = list(policy.signal_types)
        return cls(
            names,
            np.array([policy.signal_types[n].weight for n in names], dtype=np.float64),
            np.array(
                [decay_rate(policy.signal_types[n].half_life_days) for n in names],
                dtype=np.float64,
            ),
        )


@dataclass(frozen=True)
class BatchScores:
    """Every account's intensities by type, logit, P, V, C, E and S (aligned arrays)."""

    account_id: Ints
    intensities: dict[str, Floats]
    logit: Floats
    propensity: Floats
    velocity: Floats
    cost: Floats
    equity: Floats
    score: Floats

    def __len__(self) -> int:
        return len(self.account_id)


class BatchScorer(Protocol):
    """An engine (DuckDB, Spark) that scores every account in one pass over the signals.

    `signals` is either the ledger's signals as columns or a Parquet path/glob with
    columns account_id, type, occurred_at (timestamp) and value.
    """

    name: str

    def score(
        self,
        signals: SignalColumns | str,
        accounts: AccountParams,
        types: TypeParams,
        e_half: float,
        as_of: datetime,
    ) -> BatchScores: ...


def account_params(
    policy: Policy, eco: Economics, accounts: Sequence[AccountFacts]
) -> AccountParams:
    """The per-account constants, computed once per distinct (industry, size) segment."""
    cache: dict[tuple[str | None, str], tuple[float, float, float]] = {}
    base, vel, cost = (np.empty(len(accounts)) for _ in range(3))
    for i, a in enumerate(accounts):
        segment = segment_of(a.employees, a.industry)
        key = (a.industry, segment)
        if key not in cache:
            fit = sum(fit_terms(policy, a.industry, a.employees).values())
            v = segment_velocity(eco, policy, segment).per_day
            cache[key] = (fit, v, segment_cost(eco, policy, segment))
        base[i], vel[i], cost[i] = cache[key]
    ids = np.fromiter((a.id for a in accounts), dtype=np.int64, count=len(accounts))
    return AccountParams(ids, base, vel, cost)
