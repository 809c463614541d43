"""The rebalance grants and moves leases the same way on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Rep
from dtem.services.rebalance import rebalance
from tests.conftest import T0
from tests.optim_seed import grant, score, seed
from tests.random_market import build, random_market, rebalance_pairs, routing_pairs


def test_rebalance_grants_and_moves_on_every_backend(ledger: Any, clock: FixedClock) -> None:
    accounts = [Account(f"A{i}", f"A{i}", potential_value=1000.0 * (i + 1)) for i in range(4)]
    acc, rep = seed(ledger, clock, accounts, [Rep("R1", "Rita", capacity=2), Rep("R2", "Raj")])
    for i in range(4):
        score(ledger, acc[f"A{i}"], 80.0, T0, p=0.5)
    old = grant(ledger, acc["A3"], rep["R1"], T0)
    with ledger.transaction() as tx:
        tx.replace_rep_records({(rep["R2"], "unknown|unknown"): (30, 0)}, T0)
    clock.advance(hours=1)
    report = rebalance(ledger, clock, move_leases=True)
    assert report.moved == 1 and report.granted == 3 and report.gap == pytest.approx(0, abs=1e-9)
    with ledger.transaction() as tx:
        assert tx.lease(old).state is LeaseState.REASSIGNED
        assert len(tx.active_leases()) == 4
        assert [e.action for e in tx.audit_entries()][-1] == "rebalance.run"


@pytest.mark.parametrize("seed", [3, 11, 42])
def test_rebalance_arcs_match_routing_on_every_backend(
    ledger: Any, clock: FixedClock, seed: int
) -> None:
    market = random_market(random.Random(seed), n_reps=10, n_accounts=16)
    account_ids, _ = build(ledger, clock, market)
    at = T0 + timedelta(hours=1)
    pairs = rebalance_pairs(ledger, at)
    assert pairs and pairs == routing_pairs(ledger, at, account_ids)
