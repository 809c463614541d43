"""Propose E_half so the threshold and human capacity speak the same language.

With the trained policy, score every open account as of a date (the scoring code's
`account_score`, same economics), and pick the E_half at which the number of accounts
scoring at or above the threshold equals the total capacity of active reps. No active
reps, or more capacity than open accounts: the current E_half is kept. E_half is then fixed in the
policy: scores stay absolute until RevOps activates another version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from dtem.domain.policy import Policy
from dtem.domain.scoring import account_score
from dtem.domain.segments import Economics
from dtem.domain.training import propose_e_half
from dtem.services.training.dataset import History, build_rows


@dataclass(frozen=True)
class EHalfProposal:
    previous: float
    proposed: float | None
    stored: float
    as_of: date
    capacity: int  # Σ capacity of active reps
    accounts: int  # open accounts scored
    at_or_above_threshold: int  # with the stored E_half
    reason: str


def propose(
    policy: Policy,
    h: History,
    types: list[str],
    capacity: int,
    as_of: date,
    eco: Economics | None = None,
) -> EHalfProposal:
    """Score open accounts as of `as_of` and match the threshold to `capacity`."""
    economics = eco or Economics()
    half_lives = {t: st.half_life_days for t, st in policy.signal_types.items()}
    rows = build_rows(h, as_of, policy.horizon_days, half_lives, types, "all", "first-win")
    account = {int(a): i for i, a in enumerate(h.account_ids)}
    intensity = np.expm1(rows.log_intensity)
    equity = np.array(
        [
            account_score(
                policy, economics, h.industries[account[int(a)]], h.employees[account[int(a)]],
                dict(zip(types, intensity[r], strict=True)),
            ).equity
            for r, a in enumerate(rows.account_ids)
        ],
        dtype=np.float64,
    )  # fmt: skip
    proposed = propose_e_half(equity, capacity, policy.threshold)
    stored = proposed if proposed is not None else policy.e_half
    cut = stored * policy.threshold / (100.0 - policy.threshold)
    reason = (
        f"{capacity} accounts at or above {policy.threshold:g} = capacity of active reps"
        if proposed is not None
        else "kept: no active rep capacity"
        if capacity <= 0
        else f"kept: capacity {capacity} exceeds the {len(equity)} open accounts"
    )
    return EHalfProposal(
        previous=policy.e_half,
        proposed=proposed,
        stored=stored,
        as_of=as_of,
        capacity=capacity,
        accounts=len(equity),
        at_or_above_threshold=int((equity >= cut * (1 - 1e-12)).sum()),
        reason=reason,
    )
