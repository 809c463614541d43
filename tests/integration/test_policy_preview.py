"""`preview_policy` on SQLite and PostgreSQL: what a candidate policy would change, checked
against the scores the active policy gives in the same instant, and nothing written."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.signals import SignalRecord
from dtem.services.governance import activate_policy, store_policy
from dtem.services.preview import preview_policy
from dtem.services.score_batch import run_batch
from tests.conftest import T0, sql_ledger
from tests.market_seed import seed

NOW = T0 + timedelta(days=60)
TYPES = ("hand_raise", "pricing_visit", "web_visit", "form_fill")


def _market(ledger: Any) -> dict[str, int]:
    """40 accounts with signals of varied strength, two reps (room 3 and 1)."""
    rng = random.Random(3)
    accounts = [
        Account(f"A{i}", f"A {i}", industry="retail", employees=400,
                potential_value=float(50_000 * (1 + i % 4)))
        for i in range(40)
    ]  # fmt: skip
    reps = [Rep("R1", "Rita", capacity=3), Rep("R2", "Raj", capacity=1)]
    ids, _ = seed(ledger, FixedClock(T0), accounts, reps)
    sigs = [
        SignalRecord(f"e{i}", "k", "id", rng.choice(TYPES), at, 1.0, "first_party", at, acc)
        for i, acc in enumerate(
            ids[f"A{j}"] for j in range(40) for _ in range(j % 8)
        )
        if (at := T0 + timedelta(days=rng.uniform(30, 59)))
    ]  # fmt: skip
    with ledger.transaction() as tx:
        tx.insert_signals(sigs)
    return ids


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_preview_counts_crossings_tiers_and_loads_and_writes_nothing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    ledger = sql_ledger(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    clock = FixedClock(NOW)
    _market(ledger)
    run_batch(ledger, DuckDbScorer(threads=1), clock)  # today's scores, active policy
    with ledger.transaction() as tx:
        now = sorted(r.score for r in tx.latest_scores().values())
    hot_now = sum(s >= 60 for s in now)
    k = hot_now + 5  # five more accounts at or above the lowered threshold
    lowered = (now[-k] + now[-k - 1]) / 2
    assert now[-k - 1] < now[-k] < 60
    version = store_policy(
        ledger, {"threshold": lowered, "tier1_value_cut": 160_000}, clock, "admin", merge=True
    )
    with ledger.transaction() as tx:
        before = (tx.latest_scores(), [v.version for v in tx.policy_versions()])

    p = preview_policy(ledger, version, DuckDbScorer(threads=1), clock)

    assert (p.accounts, p.hot_before, p.hot_after) == (40, hot_now, k)
    assert (p.crossed_up, p.crossed_down) == (5, 0)
    assert p.tier_changes == {"2→1": 10}  # potential value 200k: every 4th account
    # five newly hot, none leased: room 3 (R1) and 1 (R2), most room first, one overflows
    assert [(r.rep, r.load_before, r.load_after) for r in p.reps] == [("R1", 0, 3), ("R2", 0, 1)]
    assert p.overflow == 1 and p.utilisation_after == 1.0
    assert p.commission_after > p.commission_before  # more accounts in the hot pool
    with ledger.transaction() as tx:
        assert (tx.latest_scores(), [v.version for v in tx.policy_versions()]) == before
    ledger.engine.dispose()


def test_preview_of_the_active_version_changes_nothing(sqlite_url: str) -> None:
    ledger = sql_ledger(sqlite_url)
    clock = FixedClock(NOW)
    _market(ledger)
    version = store_policy(ledger, {"sprint_days": 21}, clock, "admin", merge=True)
    activate_policy(ledger, version, clock, "admin")
    p = preview_policy(ledger, version, DuckDbScorer(threads=1), clock)
    assert (p.crossed_up, p.crossed_down, p.tier_changes, p.overflow) == (0, 0, {}, 0)
    assert p.commission_before == p.commission_after
    assert p.lambda_before == p.lambda_after
    ledger.engine.dispose()
