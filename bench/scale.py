"""A million accounts end to end: import, batch score 100M signals, daily review and rebalance.

Each stage runs through the product's own path, in one process, on a fresh ledger:

1. import: reps (CSV) and accounts (Parquet) with `import_file`, the code behind
   `dtem import reps|accounts` (validation, cleaning, import batch, audit, tiers);
2. score: `run_batch` with `DuckDbScorer`, the code behind `dtem score --signals FILE`
   (ledger read, the Ibis expression on DuckDB, 1 score row per account and the crossings
   written back); its engine phase is timed on its own, and the reference, the same
   decayed GROUP BY written by hand in DuckDB SQL (bench/batch_reference.py), runs on the
   same file in the same run; then (unless --no-spark; --quick needs --spark) the same
   Ibis expression on PySpark (`SparkScorer`, local mode; its JVM ended afterwards), its
   scores compared with DuckDB's on a sample;
3. review: `run_review` (expiries, overflow, every crossing routed) then `rebalance` with
   lease moves, the code behind `dtem review --rebalance --move-leases`.

For each stage: wall and CPU seconds (this process and its children, e.g. Spark's JVM),
peak resident memory, rows, rows/s, and the 1-minute load average at its end. Generated
inputs are kept in --workdir (default bench/tmp/, gitignored) and reused; the ledger
(SQLite in --workdir, or --pg URL, which must hold no accounts yet) is made afresh.

    .venv/bin/python bench/scale.py --quick                  # 10k accounts, 1M signals, < 1 min
    .venv/bin/python bench/scale.py --quick --spark          # with the PySpark row
    .venv/bin/python bench/scale.py                          # 1M accounts, 500 reps, 100M signals
    .venv/bin/python bench/scale.py --pg postgresql://postgres@127.0.0.1:5432/dtem_scale
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from batch_reference import AS_OF, TMP, generate, max_relative_difference, run_raw
from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.batch import AccountParams, TypeParams, account_params
from dtem.domain.clock import FixedClock
from dtem.domain.policy import default_policy
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.imports import import_file
from dtem.services.rebalance import rebalance
from dtem.services.review import review_time, run_review
from dtem.services.score_batch import run_batch
from dtem.services.scoring import current_economics
from stage_meter import Figures, Stage

INDUSTRIES = np.array(["retail", "technology", "healthcare", "manufacturing", "finance"])
COUNTRIES = np.array(["United States", "Brazil", "Germany", "France", "Japan"])
STARTED = time.perf_counter()


def say(text: str) -> None:
    """Progress on stderr, stamped with the seconds since the start."""
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {text}", file=sys.stderr, flush=True)


def accounts_file(n: int, folder: Path) -> Path:
    """A typed accounts export (Parquet) of n accounts; written once, reused."""
    path = folder / f"accounts_{n}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(5)
    with pq.ParquetWriter(path.with_suffix(".tmp"), _accounts_chunk(rng, 0, 1).schema) as out:
        for start in range(0, n, 250_000):
            out.write_table(_accounts_chunk(rng, start, min(start + 250_000, n)))
    path.with_suffix(".tmp").rename(path)
    return path


def _accounts_chunk(rng: np.random.Generator, start: int, stop: int) -> pa.Table:
    ids = range(start, stop)
    n = stop - start
    return pa.table(
        {
            "external_id": [f"ACC-{i:07d}" for i in ids],
            "name": [f"Company {i}" for i in ids],
            "domain": [f"company{i}.com" for i in ids],
            "industry": INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)],
            "employees": rng.integers(1, 50_000, n),
            "annual_revenue": rng.uniform(1e5, 9e8, n).round(2),
            "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
        }
    )


def reps_file(n: int, folder: Path) -> Path:
    path = folder / f"reps_{n}.csv"
    lines = ["external_id,name,email,pod,languages,capacity,hourly_cost,active"]
    # every rep speaks English; four in five also speak the language of a market
    second = ["de", "fr", "pt", "ja", ""]
    lines += [
        f"R-{i:04d},Rep {i},rep{i}@example.com,Pod {i % 10},en;{second[i % 5]},30,{80 + i % 40},yes"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def open_ledger(args: argparse.Namespace) -> Container:
    """A fresh ledger (SQLite in the workdir, or --pg), its clock at the review time."""
    if args.pg:
        url = args.pg
    else:
        db = args.workdir / f"scale_{args.accounts}.db"
        for leftover in db.parent.glob(db.name + "*"):
            leftover.unlink()
        url = f"sqlite:///{db}"
    container = build(Settings(), url, create=True)
    clock = FixedClock(review_time(AS_OF.date(), default_policy()))
    container = replace(container, clock=clock)
    ensure_policy(container.ledger, clock, "bench")
    with container.ledger.transaction() as tx:
        if tx.scoring_accounts():
            sys.exit(f"{container.database} already holds accounts: give an empty ledger")
    return container


def stage_import(c: Container, accounts: Path, reps: Path, n_reps: int, n: int) -> Figures:
    with Stage("import reps", rows=n_reps) as rep_stage:
        import_file(c.ledger, c.clock, "reps", reps, pipeline=c.pipeline, actor="bench")
    say(f"imported {n_reps} reps; importing {n:,} accounts")
    step = max(n // 10, 1)

    def progress(rows: int) -> None:
        if rows % step < 100_000 or rows == n:
            say(f"  accounts read: {rows:,} / {n:,}")

    with Stage("import accounts", rows=n) as stage:
        result = import_file(
            c.ledger, c.clock, "accounts", accounts, pipeline=c.pipeline, actor="bench",
            progress=progress,
        )  # fmt: skip
    assert result.counts["inserted"] == n, result.counts
    stage.figures.notes["reps"] = rep_stage.figures
    with c.ledger.transaction() as tx:
        ids = sorted(f.id for f in tx.scoring_accounts())
    if ids != list(range(1, n + 1)):  # the generated signals name accounts 1..n
        sys.exit("the ledger did not number the accounts 1..n: give an empty ledger")
    return stage.figures


def ledger_params(c: Container) -> tuple[AccountParams, TypeParams, float]:
    """The per-account constants and policy the product's batch run used."""
    with c.ledger.transaction() as tx:
        active = active_policy(tx)
        params = account_params(active.policy, current_economics(tx), tx.scoring_accounts())
    return params, TypeParams.of(active.policy), active.policy.e_half


def stage_score(c: Container, signals: Path, events: int, memory: str) -> list[Figures]:
    """The product's batch run, its engine phase, and the raw DuckDB reference."""
    marks: dict[str, tuple[float, float]] = {}

    def on_step(step: str) -> None:
        say(f"  dtem score: {step}")
        marks[step.split(maxsplit=1)[0]] = (time.perf_counter(), time.process_time())

    scorer = DuckDbScorer(threads=2, memory_limit=memory)
    with Stage("dtem score (DuckDB), end to end", rows=events) as product:
        summary = run_batch(
            c.ledger, scorer, c.clock, as_of=AS_OF, signals_path=str(signals), on_step=on_step
        )
    engine = Figures("  of which Ibis -> DuckDB", events, load=product.figures.load)
    engine.wall = marks["writing"][0] - marks["scoring"][0]
    engine.cpu = marks["writing"][1] - marks["scoring"][1]
    product.figures.notes["summary"] = summary
    params, types, e_half = ledger_params(c)
    say("raw DuckDB SQL reference on the same file")
    with Stage("raw DuckDB SQL (reference)", rows=events) as raw:
        table = run_raw(signals, params, types, e_half, memory)
    with c.ledger.transaction() as tx:
        stored = tx.latest_scores()
    ids = np.fromiter(stored, np.int64, len(stored))
    scores = np.array([stored[int(i)].score for i in ids])
    raw.figures.notes["diff"] = max_relative_difference(
        table.column("account_id").to_numpy(), table.column("score").to_numpy(), ids, scores
    )
    raw.figures.notes["reference"] = (ids, scores)
    return [product.figures, engine, raw.figures]


def stage_spark(c: Container, signals: Path, events: int, reference: Any) -> list[Figures]:
    """The same Ibis expression on PySpark (local[2]), scores compared with DuckDB's."""
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 6g pyspark-shell")
    from dtem.adapters.batch.spark_engine import SparkScorer, spark_session

    say("starting Spark (local[2])")
    with Stage("Spark session start (JVM)") as start:
        session = spark_session()
        session.sparkContext.setLogLevel("ERROR")
    params, types, e_half = ledger_params(c)
    say("scoring on Spark through Ibis")
    with Stage("Ibis -> PySpark (local[2])", rows=events) as spark:
        result = SparkScorer(session).score(str(signals), params, types, e_half, AS_OF)
    session.stop()
    _end_jvm()
    ids, scores = reference
    sample = np.random.default_rng(1).choice(len(ids), min(len(ids), 10_000), replace=False)
    keep = np.isin(result.account_id, ids[sample])
    spark.figures.notes["diff"] = max_relative_difference(
        ids[sample], scores[sample], result.account_id[keep], result.score[keep]
    )
    spark.figures.notes["sample"] = len(sample)
    return [start.figures, spark.figures]


def _end_jvm() -> None:
    """The JVM outlives `stop()`: end it, so later stages measure DTEM alone."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    gateway.proc.terminate()
    gateway.proc.wait(60)
    SparkContext._gateway = SparkContext._jvm = None


def stage_review(c: Container) -> list[Figures]:
    def progress(step: str, done: int, total: int) -> None:
        if total and (done == total or done % max(total // 5, 1) == 0):
            say(f"  review: {step} {done:,} / {total:,}")

    with Stage("dtem review", rows=0) as review:
        report = run_review(c.ledger, c.clock, AS_OF.date(), "bench", progress)
    review.figures.rows = report.triggers_consumed
    review.figures.notes["outcomes"] = report.outcomes
    say(f"review: {report.triggers_consumed:,} triggers, outcomes {report.outcomes}; rebalance")
    c2 = replace(c, clock=FixedClock(c.clock() + timedelta(minutes=5)))
    with Stage("rebalance --move-leases", rows=0) as moves:
        rb = rebalance(c2.ledger, c2.clock, move_leases=True)
    moves.figures.rows = rb.accounts + rb.movable_leases
    moves.figures.notes["report"] = rb
    return [review.figures, moves.figures]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL ledger (empty) instead of SQLite")
    ap.add_argument("--workdir", type=Path, default=TMP, help="generated inputs, kept")
    ap.add_argument("--quick", action="store_true", help="10k accounts, 50 reps, 1M signals")
    spark_help = "the PySpark row (default on; off with --quick: a JVM starts slowly)"
    ap.add_argument("--spark", action=argparse.BooleanOptionalAction, help=spark_help)
    ap.add_argument("--memory-limit", default="12GB", help="DuckDB's, both runs")
    args = ap.parse_args()
    if args.quick:
        args.accounts, args.reps, args.events = 10_000, 50, 1_000_000
    if args.spark is None:
        args.spark = not args.quick
    args.workdir.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = parse_args()
    types = TypeParams.of(default_policy())
    say(f"inputs in {args.workdir}: {args.accounts:,} accounts, {args.reps} reps, "
        f"{args.events:,} signals (generated once, then reused)")  # fmt: skip
    signals = generate(args.events, args.accounts, types, args.workdir, market=True)
    accounts, reps = accounts_file(args.accounts, args.workdir), reps_file(args.reps, args.workdir)
    with signals.open("rb") as fh:  # both scoring runs start from a warm page cache
        while fh.read(1 << 26):
            pass
    c = open_ledger(args)
    table = Table(args, c)
    say(f"ledger {c.database}: importing")
    imported = stage_import(c, accounts, reps, args.reps, args.accounts)
    table.rows([imported.notes.pop("reps"), imported])
    say("scoring")
    scored = stage_score(c, signals, args.events, args.memory_limit)
    table.rows(scored)
    if args.spark:
        table.rows(stage_spark(c, signals, args.events, scored[-1].notes["reference"]))
    say("daily review")
    table.rows(stage_review(c))
    table.end()


class Table:
    """The figures, printed a stage group at a time (a long run shows what it has)."""

    def __init__(self, args: Any, c: Container) -> None:
        self.args, self.c, self.done = args, c, list[Figures]()
        self.load = " ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"{args.accounts:,} accounts, {args.reps} reps, {args.events:,} signals; ledger "
              f"{c.database}; load average before {self.load}")  # fmt: skip
        print(f"{'stage':<34}{'rows':>13}{'wall s':>9}{'CPU s':>9}{'peak GiB':>10}"
              f"{'rows/s (wall)':>15}{'wall/raw':>10}{'CPU/raw':>9}{'load':>6}")  # fmt: skip

    def rows(self, stages: list[Figures]) -> None:
        self.done += stages
        raw = next((f for f in self.done if f.name.startswith("raw")), None)
        for f in stages:
            rate = f"{f.rows / f.wall:,.0f}" if f.rows and f.wall else "-"
            scoring = raw is not None and f.rows == self.args.events and f is not raw
            ratio = f"{f.wall / raw.wall:.2f}x" if scoring and raw else ""
            cpu_ratio = f"{f.cpu / raw.cpu:.2f}x" if scoring and raw else ""
            peak = f"{f.peak_gib:.2f}" if f.peak_bytes else "-"
            print(f"{f.name:<34}{f.rows:>13,}{f.wall:>9.1f}{f.cpu:>9.1f}{peak:>10}"
                  f"{rate:>15}{ratio:>10}{cpu_ratio:>9}{f.load:>6.1f}", flush=True)  # fmt: skip

    def end(self) -> None:
        peak = max(f.peak_bytes for f in self.done) / 2**30
        print(f"peak resident memory of any stage: {peak:.2f} GiB (budget 24 GiB)"
              + (" (PostgreSQL's own memory not counted)" if self.args.pg else ""))  # fmt: skip
        _notes(self.done)


def _notes(stages: list[Figures]) -> None:
    for f in stages:
        n = f.notes
        if "summary" in n:
            s = n["summary"]
            print(f"dtem score: {s.accounts:,} accounts scored, {s.at_or_above_threshold:,} at or "
                  f"above the threshold, {s.crossed_up:,} crossed up")  # fmt: skip
        if "diff" in n:
            of = f"{n['sample']:,} sampled accounts" if "sample" in n else "every account"
            print(f"{f.name}: max relative score difference vs dtem score {n['diff']:.1e} "
                  f"({of})")  # fmt: skip
        if "outcomes" in n:
            print(f"review outcomes: {n['outcomes']}")
        if "report" in n:
            r = n["report"]
            print(f"rebalance: {r.accounts:,} hot unleased accounts, {r.movable_leases:,} "
                  f"movable leases, {r.arcs:,} arcs, {r.method} {r.status}, {r.granted:,} "
                  f"granted, {r.moved:,} moved, solve {r.solve_seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
