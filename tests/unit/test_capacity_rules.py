"""Capacity in force and λ, the price of capacity: one definition read everywhere."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.capacity import capacities_in_force, rep_capacity
from dtem.domain.clock import FixedClock
from dtem.domain.model import Rep
from dtem.domain.policy import Policy
from dtem.domain.segments import lambda_hourly
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.review import run_review
from dtem.services.scoring import refresh_economics

POLICY = Policy(default_capacity=25)


def test_the_roster_and_one_rep_get_the_same_capacity_in_force() -> None:
    reps = [Rep("a", "A", capacity=0), Rep("b", "B", capacity=4), Rep("c", "C", capacity=4)]
    awards = [None, None, 0]
    own = np.array([r.capacity for r in reps], dtype=np.int64)
    awarded = np.array([-1 if x is None else x for x in awards], dtype=np.int64)
    pairwise = [rep_capacity(r, x, POLICY) for r, x in zip(reps, awards, strict=True)]
    assert capacities_in_force(own, awarded, POLICY).tolist() == pairwise == [25, 4, 0]


def test_review_lambda_is_the_blended_cost_of_active_reps_as_scoring_uses(
    clock: FixedClock,
) -> None:
    ledger = MemoryLedger()
    ensure_policy(ledger, clock)
    reps = [
        Rep("R1", "Rita", hourly_cost=40.0),
        Rep("R2", "Raj", hourly_cost=80.0),
        Rep("R3", "Left", hourly_cost=400.0, active=False),
    ]
    with ledger.transaction() as tx:
        tx.insert_reps(reps, clock())
    report = run_review(ledger, clock, on=date(2027, 1, 5))
    with ledger.transaction() as tx:
        policy = active_policy(tx).policy
        scoring_lambda = lambda_hourly(refresh_economics(tx, policy, clock()), policy)
    assert report.lambda_before == scoring_lambda == 60.0
    # no lease out of 50 of capacity: idle reps, so the review's step lowers λ
    assert report.lambda_hourly == pytest.approx(60.0 * math.exp(0.5 * (0.0 - 0.85)))
