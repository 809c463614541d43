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
import statistics
import time
from typing import Any

from batch_reference import (
    AS_OF,
    account_params,
    generate,
    max_relative_difference,
    maxrss_gib,
    run_raw,
    timed,
)
from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.domain.batch import TypeParams
from dtem.domain.policy import default_policy


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
    diff = max_relative_difference(
        raw.column("account_id").to_numpy(), raw.column("score").to_numpy(),
        prod.account_id, prod.score,
    )  # fmt: skip
    wall = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    print(f"\n{args.events:,} events, {args.accounts:,} accounts, DuckDB 2 threads, "
          f"median of {args.repeat}, load average {load[0]:.1f} -> {load[1]:.1f}")  # fmt: skip
    print(f"{'path':<34}{'wall s':>9}{'CPU s':>9}{'events/s (wall)':>18}")
    names = {"raw": "raw DuckDB SQL (baseline)", "product": "product: Ibis -> DuckDB -> numpy"}
    for k, name in names.items():
        print(f"{name:<34}{wall[k]:>9.3f}{cpu[k]:>9.3f}{args.events / wall[k]:>18,.0f}")
    print(f"ratio product / raw: wall {wall['product'] / wall['raw']:.3f}x, "
          f"CPU {cpu['product'] / cpu['raw']:.3f}x (target <= 1.15x)")  # fmt: skip
    print(f"max relative score difference: {diff:.2e}")
    print(f"peak memory (maxrss): {maxrss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
