"""Batch scoring on real engines: DuckDB equals the incremental state; Spark equals DuckDB."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.batch.spark_engine import SparkScorer
from dtem.adapters.batch.tables import events_table
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.batch import TypeParams, account_params
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.scoring import (
    account_score,
    decay_rate,
    epoch_seconds,
    intensities_of,
    intensity_at,
)
from dtem.domain.signals import SignalRecord
from dtem.services.governance import ActivePolicy, active_policy, ensure_policy
from dtem.services.score_batch import run_batch
from dtem.services.scoring import apply_signals, current_economics, rescore
from tests.conftest import T0, sql_ledger

END = T0 + timedelta(days=120)
TYPES = ("hand_raise", "pricing_visit", "web_visit", "form_fill", "intent_surge", "other")


def _generated(ledger: SqlLedger, n_accounts: int = 40, n_signals: int = 1500) -> ActivePolicy:
    """Accounts and signals arriving out of order (shuffled times), applied incrementally."""
    rng = random.Random(42)
    ensure_policy(ledger, FixedClock(T0))
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account(f"A{i}", f"A {i}", industry=rng.choice(["retail", "saas", None]),
                        employees=rng.choice([20, 400, 4000, None]))
                for i in range(n_accounts)
            ],
            T0,
        )  # fmt: skip
        ids = list(tx.all_account_ids().values())
        active = active_policy(tx)
    sigs = [
        SignalRecord(f"e{i}", "k", "id", rng.choice(TYPES), at, rng.uniform(0, 5), "x", at,
                     rng.choice(ids))
        for i in range(n_signals)
        if (at := T0 + timedelta(seconds=rng.uniform(0, 119 * 86_400)))
    ]  # fmt: skip
    for start in range(0, n_signals, 100):
        with ledger.transaction() as tx:
            chunk = sigs[start : start + 100]
            tx.insert_signals(chunk)
            apply_signals(tx, chunk, active, END - timedelta(days=1))
    return active


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_duckdb_batch_equals_the_incremental_state(
    backend: str, request: pytest.FixtureRequest
) -> None:
    ledger = sql_ledger(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    active = _generated(ledger)
    summary = run_batch(ledger, DuckDbScorer(threads=2), FixedClock(END), as_of=END)
    with ledger.transaction() as tx:
        batch = {k: v for k, v in tx.latest_scores().items()}
        states = tx.account_states(list(batch))
        rescore(tx, states, active, END)
        incremental = tx.latest_scores()
    assert summary.accounts == len(batch) == 40 and summary.signals == 1500
    for acc, row in batch.items():
        assert row.method == "batch" and incremental[acc].method == "incremental"
        assert math.isclose(row.score, incremental[acc].score, rel_tol=1e-9)
        assert math.isclose(row.propensity, incremental[acc].propensity, rel_tol=1e-9)
    ledger.engine.dispose()


def test_parquet_signals_score_like_the_ledger(sqlite_url: str, tmp_path: Path) -> None:
    ledger = sql_ledger(sqlite_url)
    _generated(ledger, n_accounts=10, n_signals=300)
    with ledger.transaction() as tx:
        pq.write_table(events_table(tx.signal_columns(END)), tmp_path / "signals.parquet")
    from_ledger = run_batch(ledger, DuckDbScorer(), FixedClock(END), as_of=END)
    from_parquet = run_batch(
        ledger, DuckDbScorer(), FixedClock(END), as_of=END, signals_path=str(tmp_path / "*.parquet")
    )
    assert from_parquet.signals is None
    assert [s for _, s in from_parquet.top] == pytest.approx([s for _, s in from_ledger.top], 1e-12)
    assert from_parquet.crossed_up == from_parquet.crossed_down == 0  # same scores again


def test_batch_as_of_the_past_ignores_later_signals(sqlite_url: str) -> None:
    ledger = sql_ledger(sqlite_url)
    active = _generated(ledger, n_accounts=5, n_signals=200)
    mid = T0 + timedelta(days=60)
    run_batch(ledger, DuckDbScorer(), FixedClock(END), as_of=mid)
    with ledger.transaction() as tx:
        batch = tx.latest_scores()
        eco = current_economics(tx)
        facts = {f.id: f for f in tx.scoring_accounts()}
        for acc, row in batch.items():
            sigs = tx.account_signals(acc, mid)
            expected = account_score(
                active.policy, eco, facts[acc].industry, facts[acc].employees,
                intensities_of(active.policy, sigs, epoch_seconds(mid)),
            )  # fmt: skip
            assert math.isclose(row.score, expected.score, rel_tol=1e-9)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_and_duckdb_agree_on_every_account(spark: Any, sqlite_url: str) -> None:
    ledger = sql_ledger(sqlite_url)
    active = _generated(ledger, n_accounts=30, n_signals=800)
    with ledger.transaction() as tx:
        signals = tx.signal_columns(END)
        params = account_params(active.policy, current_economics(tx), tx.scoring_accounts())
    types = TypeParams.of(active.policy)
    duck = DuckDbScorer().score(signals, params, types, active.policy.e_half, END)
    sprk = SparkScorer(spark).score(signals, params, types, active.policy.e_half, END)
    a, b = np.argsort(duck.account_id), np.argsort(sprk.account_id)
    assert (duck.account_id[a] == sprk.account_id[b]).all()
    np.testing.assert_allclose(sprk.score[b], duck.score[a], rtol=1e-9)
    for name in types.names:
        np.testing.assert_allclose(sprk.intensities[name][b], duck.intensities[name][a], rtol=1e-9)
    rate = decay_rate(active.policy.signal_types["web_visit"].half_life_days)
    with ledger.transaction() as tx:
        state = tx.account_states([int(duck.account_id[a][0])])
    web = next(iter(state.values())).get("web_visit")
    expected = intensity_at(web, epoch_seconds(END), rate)
    assert math.isclose(float(sprk.intensities["web_visit"][b][0]), expected, rel_tol=1e-9)
