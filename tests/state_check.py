"""Does every account's incremental state equal the recompute from its stored signals?

The incremental path keeps one decayed intensity per (account, signal type); the batch
definition sums every live signal's decayed value. Concurrent writers that lose an
update leave a state below the sum. Used by the concurrency tests and bench/score_races.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dtem.domain.scoring import decay_rate, epoch_seconds, intensities_of, intensity_at
from dtem.services.governance import active_policy

REL_TOL = 1e-9


@dataclass(frozen=True)
class StateCheck:
    """How many (account, type) states differ from the recompute, and by how much."""

    states: int
    wrong: int
    worst_relative_error: float


def check_states(ledger: Any, at: datetime) -> StateCheck:
    """Compare every stored state, decayed to `at`, with the recompute from signals up to `at`."""
    now = epoch_seconds(at)
    with ledger.transaction() as tx:
        policy = active_policy(tx).policy
        ids = list(tx.all_account_ids().values())
        stored = tx.account_states(ids)
        expected = {acc: intensities_of(policy, tx.account_signals(acc, at), now) for acc in ids}
    states = wrong = 0
    worst = 0.0
    for acc in ids:
        mine = stored.get(acc, {})
        for kind in expected[acc].keys() | mine.keys():
            rate = decay_rate(policy.signal_types[kind].half_life_days)
            got, want = intensity_at(mine.get(kind), now, rate), expected[acc].get(kind, 0.0)
            states += 1
            if not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=1e-12):
                wrong += 1
                worst = max(worst, abs(got - want) / max(abs(want), 1e-12))
    return StateCheck(states, wrong, worst)
