"""Property: for any signals in any arrival order, the DuckDB batch equals the incremental
state — on the in-memory ledger and on SQLite (PostgreSQL: tests/integration/
test_batch_engines.py), at the arrival time and later."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.score_batch import run_batch
from dtem.services.scoring import apply_signals, rescore
from tests.conftest import T0, sql_ledger

TYPES = ("hand_raise", "pricing_visit", "web_visit", "intent_surge", "hiring", "other")
END = T0 + timedelta(days=201)

signal_lists = st.lists(
    st.tuples(
        st.integers(1, 4),  # account
        st.sampled_from(TYPES),
        st.floats(0.0, 200.0),  # days after T0, in arrival order: late ones included
        st.floats(0.0, 50.0),  # value
    ),
    min_size=1,
    max_size=30,
)


def _scores_agree(ledger: Any, rows: list[tuple[int, str, float, float]], chunk: int,
                  as_of_days: float) -> None:  # fmt: skip
    clock = FixedClock(T0)
    ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"A {i}", industry=("retail", "saas")[i % 2], employees=50 * i)
             for i in range(1, 5)], T0)  # fmt: skip
        ids = tx.all_account_ids()
        active = active_policy(tx)
    sigs = [
        SignalRecord(f"e{n}", "k", "id", kind, at, v, "first_party", at, ids[f"A{acc}"])
        for n, (acc, kind, day, v) in enumerate(rows)
        if (at := T0 + timedelta(days=day))
    ]
    for start in range(0, len(sigs), chunk):  # arrivals in batches, scored at arrival
        with ledger.transaction() as tx:
            tx.insert_signals(sigs[start : start + chunk])
            apply_signals(tx, sigs[start : start + chunk], active, END - timedelta(days=1))
    as_of = END + timedelta(days=as_of_days)
    run_batch(ledger, DuckDbScorer(threads=1), FixedClock(as_of), as_of=as_of)
    with ledger.transaction() as tx:
        batch = tx.latest_scores()
        states = tx.account_states(list(batch))
        rescore(tx, states, active, as_of)
        incremental = tx.latest_scores()
    assert batch.keys() == incremental.keys() and states.keys() <= batch.keys()
    assert states.keys() == {ids[f"A{acc}"] for acc, *_ in rows}  # every account signalled
    for acc, row in ((a, batch[a]) for a in states):
        assert row.method == "batch" and incremental[acc].method == "incremental"
        assert math.isclose(row.score, incremental[acc].score, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(row.propensity, incremental[acc].propensity, rel_tol=1e-9)


NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)


@settings(
    max_examples=40,
    deadline=None,
    phases=NO_EXPLAIN,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(rows=signal_lists, chunk=st.integers(1, 6), as_of_days=st.floats(0.0, 400.0))
def test_duckdb_batch_equals_incremental_for_any_arrival_order(
    rows: list[tuple[int, str, float, float]], chunk: int, as_of_days: float
) -> None:
    _scores_agree(MemoryLedger(), rows, chunk, as_of_days)


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    phases=NO_EXPLAIN,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=signal_lists, chunk=st.integers(1, 6), as_of_days=st.floats(0.0, 400.0))
def test_duckdb_batch_equals_incremental_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, str, float, float]],
    chunk: int,
    as_of_days: float,
) -> None:
    ledger = sql_ledger(f"sqlite:///{tmp_path_factory.mktemp('prop')}/l.db")
    try:
        _scores_agree(ledger, rows, chunk, as_of_days)
    finally:
        ledger.engine.dispose()
