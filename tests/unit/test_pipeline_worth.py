"""Routing and the rebalance value an account with an open opportunity by the opportunity
model's P(win) × amount, on memory, SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.opportunity_model import OpenOpportunity, OpportunityModel, opportunity_worth
from dtem.services.governance import activate_policy, active_policy, store_policy
from dtem.services.rebalance_market import snapshot
from dtem.services.routing import route

MODEL = OpportunityModel(
    b0=-0.4, stage={"proposal": 0.9, "discovery": -0.6}, product={"platform": 0.4},
    w_age=-0.2, w_amount=-0.3, w_owner=0.8, w_account=0.5, amount_ref=20_000.0,
    horizon_days=90,
)  # fmt: skip
PRIOR = (2.0, 8.0)


def _market(ledger: Any, clock: FixedClock, with_model: bool) -> dict[str, int]:
    accounts = [Account("A0", "Acme"), Account("A1", "Beta"), Account("A2", "Gamma")]
    acc, _ = seed(ledger, clock, accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])
    created = (T0 - timedelta(days=30)).date()
    with ledger.transaction() as tx:
        tx.insert_opportunities([
            Opportunity("W", "A2", "closed_won", 5000.0, rep_external_id="R1"),
            Opportunity("L", "A2", "closed_lost", 5000.0, rep_external_id="R1"),
            Opportunity("P", "A0", "proposal", 50_000.0, created, None, "R1", product=" Platform"),
            Opportunity("D", "A0", "discovery", None, created, None, None),
        ], T0)  # fmt: skip
    for a in ("A0", "A1"):
        put_score(ledger, acc[a], 80.0, T0, propensity=0.3)
    if with_model:
        with ledger.transaction() as tx:
            doc = replace(active_policy(tx).policy, opportunity_model=MODEL).to_dict()
        activate_policy(ledger, store_policy(ledger, doc, clock, "test"), clock, "test")
    return acc


def _expected_a0() -> tuple[float, float]:
    p1 = MODEL.probability(
        OpenOpportunity("proposal", 30.0, 50_000.0, 1, 1, "platform"), 0.3, PRIOR
    )
    p2 = MODEL.probability(OpenOpportunity("discovery", 30.0, None, 0, 0), 0.3, PRIOR)
    return opportunity_worth([p1, p2], [50_000.0, 10_000.0])  # no amount: the deal value


def test_routing_ranks_by_the_open_deals_worth(ledger: Any, clock: FixedClock) -> None:
    _market(ledger, clock, with_model=True)
    p, value = _expected_a0()
    for account, worth in (("A0", p * value), ("A1", 0.3 * 10_000.0)):
        result = route(ledger, clock, account)
        assert result.outcome == "leased"
        for c in result.candidates:
            assert c["ev"] == pytest.approx(worth * c["q"], rel=1e-3)


def test_without_an_opportunity_model_the_account_propensity_is_used(
    ledger: Any, clock: FixedClock
) -> None:
    _market(ledger, clock, with_model=False)
    result = route(ledger, clock, "A0")
    assert [c["ev"] for c in result.candidates] == pytest.approx(
        [0.3 * 10_000.0 * c["q"] for c in result.candidates], rel=1e-3
    )


def test_the_rebalance_values_accounts_as_routing_does(ledger: Any, clock: FixedClock) -> None:
    acc = _market(ledger, clock, with_model=True)
    with ledger.transaction() as tx:
        snap = snapshot(tx, clock(), active_policy(tx), move_leases=False)
    row = {a.id: i for i, a in enumerate(snap.accounts)}
    p, value = _expected_a0()
    assert snap.propensity[row[acc["A0"]]] == pytest.approx(p)
    assert snap.value[row[acc["A0"]]] == pytest.approx(value)
    assert (snap.propensity[row[acc["A1"]]], snap.value[row[acc["A1"]]]) == (0.3, 10_000.0)
