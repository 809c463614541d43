"""The rebalance gives an arc to exactly the (account, rep) pairs real-time routing accepts."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0
from tests.random_market import build, random_market, rebalance_pairs, routing_pairs

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock


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
