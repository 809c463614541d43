"""Batch scoring benchmark: the product's Ibis → DuckDB path vs hand-written DuckDB SQL.

Generates N signals over M accounts as Parquet in bench/tmp/ (kept between runs), then
times, in the same run and on the same files, (a) raw DuckDB SQL of the decayed
GROUP BY + sigmoid and (b) the product's path (`DuckDbScorer.score`: the Ibis expression
compiled to DuckDB, reading Parquet, results back as numpy), interleaved run by run.
Prints wall and CPU seconds (CPU = this process, DuckDB's threads included: on a shared,
oversubscribed machine it shows the work done where wall time mostly shows the queue),
events/s, both ratios, the largest relative difference of the scores, and peak memory.

    .venv/bin/python bench/score_batch.py                      # 10M events, 100k accounts
    .venv/bin/python bench/score_batch.py --events 100000000 --accounts 1000000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.batch.tables import accounts_table, types_table
from dtem.domain.batch import AccountParams, TypeParams
from dtem.domain.policy import default_policy

AS_OF = datetime(2027, 1, 4, tzinfo=UTC)
CHUNK = 5_000_000
TMP = Path(__file__).parent / "tmp"


def generate(events: int, accounts: int, types: TypeParams) -> Path:
    """Signals spread over the 180 days before AS_OF; written once, reused afterwards."""
    path = TMP / f"signals_{events}_{accounts}.parquet"
    if path.exists():
        return path
    TMP.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    names = pa.array(types.names, pa.string())
    end_us = int(AS_OF.timestamp() * 1e6)
    schema = pa.schema(
        [("account_id", pa.int64()), ("type", pa.dictionary(pa.int8(), pa.string())),
         ("occurred_at", pa.timestamp("us")), ("value", pa.float64())]
    )  # fmt: skip
    with pq.ParquetWriter(path.with_suffix(".tmp"), schema) as writer:
        for start in range(0, events, CHUNK):
            n = min(CHUNK, events - start)
            kinds = rng.integers(0, len(names), n).astype(np.int8)
            table = pa.table(
                {
                    "account_id": rng.integers(1, accounts + 1, n),
                    "type": pa.DictionaryArray.from_arrays(kinds, names),
                    "occurred_at": pa.array(end_us - rng.integers(0, 180 * 86_400 * 10**6, n)).cast(
                        pa.timestamp("us")
                    ),
                    "value": rng.exponential(1.0, n),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=1_000_000)
    path.with_suffix(".tmp").rename(path)
    return path


def account_params(accounts: int) -> AccountParams:
    rng = np.random.default_rng(11)
    return AccountParams(
        np.arange(1, accounts + 1, dtype=np.int64),
        rng.normal(-4.0, 0.5, accounts),
        rng.uniform(50.0, 500.0, accounts),
        rng.uniform(200.0, 2000.0, accounts),
    )


def raw_sql(types: TypeParams, e_half: float, path: Path) -> str:
    """The same computation written by hand."""
    as_of = f"TIMESTAMP '{AS_OF.replace(tzinfo=None).isoformat(sep=' ')}'"
    per_type = ",\n".join(
        f"  sum(i) FILTER (WHERE type = '{n}') AS I_{k}" for k, n in enumerate(types.names)
    )
    return f"""
WITH by_type AS (
  SELECT e.account_id, e.type, t.weight,
         sum(e.value * exp(-t.rate_us * date_diff('microsecond', e.occurred_at, {as_of}))) AS i
  FROM read_parquet('{path}') e JOIN types t ON e.type = t.type
  WHERE e.occurred_at <= {as_of}
  GROUP BY e.account_id, e.type, t.weight
), behaviour AS (
  SELECT account_id, sum(weight * ln(1 + i)) AS behaviour,
{per_type}
  FROM by_type GROUP BY account_id
), scored AS (
  SELECT a.account_id, a.base_logit + coalesce(b.behaviour, 0) AS logit, a.velocity, a.cost
  FROM accounts a LEFT JOIN behaviour b ON a.account_id = b.account_id
), eq AS (
  SELECT *, 1 / (1 + exp(-logit)) AS p FROM scored
)
SELECT account_id, logit, p, velocity, cost, p * velocity / cost AS equity,
       100 * (p * velocity / cost) / (p * velocity / cost + {e_half}) AS score
FROM eq
"""


def run_raw(path: Path, params: AccountParams, types: TypeParams, e_half: float) -> Any:
    con = duckdb.connect(config={"threads": 2})
    con.register("accounts", accounts_table(params))
    con.register("types", types_table(types))
    result = con.sql(raw_sql(types, e_half, path)).to_arrow_table()
    con.close()
    return result


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process incl. DuckDB's threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def maxrss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    policy = default_policy()
    types = TypeParams.of(policy)
    t = time.perf_counter()
    path = generate(args.events, args.accounts, types)
    print(f"data: {path} ({path.stat().st_size / 2**20:,.0f} MiB, {time.perf_counter() - t:.1f} s)")
    params = account_params(args.accounts)
    scorer = DuckDbScorer(threads=2)

    def raw() -> Any:
        return run_raw(path, params, types, policy.e_half)

    def product() -> Any:
        return scorer.score(str(path), params, types, policy.e_half, AS_OF)

    load = os.getloadavg()[0]
    raw()  # warm the page cache once
    cold = timed(product)[0]  # first call pays Ibis' one-time setup (imports, compilers)
    runs: dict[str, list[tuple[float, float, Any]]] = {"raw": [], "product": []}
    for _ in range(args.repeat):  # interleaved: both see the same machine load
        runs["raw"].append(timed(raw))
        runs["product"].append(timed(product))
    report(args, runs, (load, os.getloadavg()[0]))
    print(f"product first call in this process (cold): {cold:.3f} s")


def report(
    args: Any, runs: dict[str, list[tuple[float, float, Any]]], load: tuple[float, float]
) -> None:
    raw, prod = runs["raw"][-1][2], runs["product"][-1][2]
    order = np.argsort(raw.column("account_id").to_numpy())
    ref = raw.column("score").to_numpy()[order]
    got = prod.score[np.argsort(prod.account_id)]
    diff = float(np.max(np.abs(got - ref) / np.abs(ref)))
    wall = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    print(f"\n{args.events:,} events, {args.accounts:,} accounts, DuckDB 2 threads, "
          f"median of {args.repeat}, load average {load[0]:.1f} -> {load[1]:.1f}")  # fmt: skip
    print(f"{'path':<34}{'wall s':>9}{'CPU s':>9}{'events/s (wall)':>18}")
    names = {"raw": "raw DuckDB SQL (baseline)", "product": "product: Ibis -> DuckDB -> numpy"}
    for k, name in names.items():
        print(f"{name:<34}{wall[k]:>9.3f}{cpu[k]:>9.3f}{args.events / wall[k]:>18,.0f}")
    print(f"ratio product / raw: wall {wall['product'] / wall['raw']:.3f}x, "
          f"CPU {cpu['product'] / cpu['raw']:.3f}x (target <= 1.25x)")  # fmt: skip
    print(f"max relative score difference: {diff:.2e}")
    print(f"peak memory (maxrss): {maxrss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
