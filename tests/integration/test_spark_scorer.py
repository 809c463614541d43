"""The Spark scorer on a Parquet signal set (what a cluster reads) gives DuckDB's scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.batch.spark_engine import SparkScorer
from dtem.domain.batch import AccountParams, TypeParams
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.services.governance import ensure_policy
from dtem.services.score_batch import run_batch
from tests.conftest import sql_ledger

AS_OF = datetime(2027, 1, 4, tzinfo=UTC)
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _signals(folder: Path, accounts: int, events: int, types: TypeParams) -> Path:
    """Signals as an export writes them: dictionary-encoded types, µs timestamps, a few
    after `AS_OF` (left out) and on accounts the ledger does not know (never scored)."""
    rng = np.random.default_rng(3)
    names = pa.array(types.names, pa.string())
    ages = rng.integers(-86_400 * 10**6, 120 * 86_400 * 10**6, events)
    table = pa.table(
        {
            "account_id": rng.integers(1, accounts + 3, events),
            "type": pa.DictionaryArray.from_arrays(
                rng.integers(0, len(names), events).astype(np.int8), names
            ),
            "occurred_at": pa.array(int(AS_OF.timestamp() * 1e6) - ages).cast(pa.timestamp("us")),
            "value": rng.exponential(1.0, events),
        }
    )
    path = folder / "signals.parquet"
    pq.write_table(table, path, row_group_size=1_000)
    return path


def test_spark_scores_a_parquet_set_like_duckdb(spark: Any, tmp_path: Path) -> None:
    policy = default_policy()
    types = TypeParams.of(policy)
    rng = np.random.default_rng(5)
    params = AccountParams(
        np.arange(1, 201, dtype=np.int64),
        rng.normal(-3.0, 0.5, 200),
        rng.uniform(50.0, 500.0, 200),
        rng.uniform(200.0, 2000.0, 200),
    )
    path = str(_signals(tmp_path, 200, 5_000, types))
    duck = DuckDbScorer(threads=2).score(path, params, types, policy.e_half, AS_OF)
    sprk = SparkScorer(spark).score(path, params, types, policy.e_half, AS_OF)
    a, b = np.argsort(duck.account_id), np.argsort(sprk.account_id)
    assert (duck.account_id[a] == sprk.account_id[b]).all() and len(a) == 200
    np.testing.assert_allclose(sprk.score[b], duck.score[a], rtol=1e-9)
    for name in types.names:
        np.testing.assert_allclose(sprk.intensities[name][b], duck.intensities[name][a], rtol=1e-9)
    assert duck.score.min() < policy.threshold < duck.score.max()  # both sides of the bar


def test_batch_run_on_spark_writes_the_scores_duckdb_wrote(
    spark: Any, sqlite_url: str, tmp_path: Path
) -> None:
    ledger = sql_ledger(sqlite_url)
    clock = FixedClock(AS_OF + timedelta(hours=6))
    active = ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"A {i}", industry="retail", employees=100) for i in range(50)],
            clock(),
        )
        ids = sorted(tx.all_account_ids().values())
    path = _signals(tmp_path, 50, 2_000, TypeParams.of(active.policy))
    assert ids == list(range(1, 51))  # the file names accounts 1..50 (and two unknown ones)
    duck = run_batch(ledger, DuckDbScorer(), clock, as_of=AS_OF, signals_path=str(path))
    with ledger.transaction() as tx:
        first = {a: r.score for a, r in tx.latest_scores().items()}
    sprk = run_batch(ledger, SparkScorer(spark), clock, as_of=AS_OF, signals_path=str(path))
    with ledger.transaction() as tx:
        second = {a: r.score for a, r in tx.latest_scores().items()}
    assert sprk.engine == "spark" and sprk.accounts == duck.accounts == 50
    assert second.keys() == first.keys()
    assert [second[a] for a in ids] == pytest.approx([first[a] for a in ids], rel=1e-9)
    assert sprk.crossed_up == sprk.crossed_down == 0  # the same scores: nothing crossed
    ledger.engine.dispose()
