"""The rebalance gives an arc to exactly the (account, rep) pairs real-time routing accepts,
and its shortlist is each account's top K of them (and its holder)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0
from tests.random_market import build, random_market, rebalance_pairs, routing_pairs

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.optimizer.problem import top_k_arcs
from dtem.services.governance import active_policy
from dtem.services.rebalance_market import eligible_arcs, snapshot
from dtem.services.rebalance_shortlist import shortlist_arcs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(1, 10), st.integers(1, 14))
def test_rebalance_arcs_are_exactly_the_pairs_routing_accepts(
    rnd: random.Random, n_reps: int, n_accounts: int
) -> None:
    clock = FixedClock(T0)
    ledger = MemoryLedger()
    market = random_market(rnd, n_reps, n_accounts)
    account_ids, _ = build(ledger, clock, market)
    at = T0 + timedelta(hours=1)
    assert rebalance_pairs(ledger, at) == routing_pairs(ledger, at, account_ids)


def _reference_shortlist(snap: Any, policy: Any, k: int) -> set[tuple[int, int, float]]:
    """Every eligible pair scored, each account's top K kept, every holder's arc added."""
    acc, rep, ev = eligible_arcs(snap, policy)
    keep = set(top_k_arcs(acc, ev, k).tolist())
    keep |= set(np.flatnonzero(rep == snap.current[acc]).tolist())
    return {(int(acc[i]), int(rep[i]), float(ev[i])) for i in keep}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.randoms(use_true_random=False),
    st.integers(1, 10),
    st.integers(1, 14),
    st.integers(1, 4),
    st.booleans(),
)
def test_the_shortlist_is_each_accounts_top_k_of_every_eligible_pair(
    rnd: random.Random, n_reps: int, n_accounts: int, k: int, move_leases: bool
) -> None:
    ledger = MemoryLedger()
    build(ledger, FixedClock(T0), random_market(rnd, n_reps, n_accounts))
    with ledger.transaction() as tx:
        active = active_policy(tx)
        snap = snapshot(tx, T0 + timedelta(hours=1), active, move_leases)
    acc, rep, ev = shortlist_arcs(snap, active.policy, k)
    got = {(int(a), int(r), float(v)) for a, r, v in zip(acc, rep, ev, strict=True)}
    assert len(got) == len(acc)  # no arc twice
    assert got == _reference_shortlist(snap, active.policy, k)
