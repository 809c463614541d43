"""Run static and DTEM (and its ablations) on the same seeds; paired differences with 95%
intervals over seeds; the sensitivity of the lift to each assumption.

>>> t_quantile(4)
2.776
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.pool import StaticPool

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.ports import Ledger
from dtem.simulator.dtem_run import ABLATIONS, DTEM, DtemRun, Variant
from dtem.simulator.metrics import PolicyResult, measure
from dtem.simulator.params import MarketParams
from dtem.simulator.static import run_static
from dtem.simulator.world import build_world

STATIC = "static"
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def t_quantile(df: int) -> float:
    """Student's t 97.5% quantile (two-sided 95%) for `df` degrees of freedom."""
    if df < 1:
        return math.nan
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.5 / df


@dataclass(frozen=True)
class Task:
    params: MarketParams
    seed: int
    policy: str  # static or a variant name
    ledger_url: str | None = None  # None: a private in-memory SQLite ledger


@dataclass(frozen=True)
class TaskResult:
    result: PolicyResult
    scores: list[float] = field(default_factory=list)  # latest score of every account (DTEM)


def run_task(task: Task, variants: Sequence[Variant] = (DTEM, *ABLATIONS)) -> TaskResult:
    """One policy on one seed (what each worker process runs)."""
    world = build_world(task.params, task.seed)
    if task.policy == STATIC:
        book = run_static(world)
        return TaskResult(measure(STATIC, book, set(range(world.n_accounts))))
    variant = next(v for v in variants if v.name == task.policy)
    ledger = open_ledger(task.ledger_url)
    run = DtemRun(world, ledger, variant)
    book = run.run()
    owned = {h.account for h in run.held.values()}
    with ledger.transaction() as tx:
        scores = [r.score for r in tx.latest_scores().values()]
    return TaskResult(measure(variant.name, book, owned), scores)


def open_ledger(url: str | None) -> Ledger:
    """A fresh ledger: private in-memory SQLite, or the SQLite file at `url`."""
    memory = url is None
    engine = make_engine("sqlite://", poolclass=StaticPool) if memory else make_engine(str(url))
    migrate(engine)
    return SqlLedger(engine)


@dataclass(frozen=True)
class Difference:
    """A DTEM variant minus static, per seed, with a 95% t-interval of the mean."""

    mean: float
    low: float
    high: float
    seeds: int


@dataclass
class Comparison:
    params: MarketParams
    seeds: list[int]
    results: dict[str, list[PolicyResult]]  # policy -> one per seed (seed order)
    scores: list[float]  # the first seed's DTEM scores (the report's histogram)

    @property
    def policies(self) -> list[str]:
        return list(self.results)

    def mean(self, policy: str, metric: str) -> float:
        xs = [r.values[metric] for r in self.results[policy] if not math.isnan(r.values[metric])]
        return statistics.fmean(xs) if xs else math.nan

    def difference(self, policy: str, metric: str) -> Difference:
        pairs = zip(self.results[policy], self.results[STATIC], strict=True)
        d = [a.values[metric] - b.values[metric] for a, b in pairs]
        d = [x for x in d if not math.isnan(x)]
        if not d:
            return Difference(math.nan, math.nan, math.nan, 0)
        m = statistics.fmean(d)
        if len(d) < 2:
            return Difference(m, math.nan, math.nan, len(d))
        half = t_quantile(len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
        return Difference(m, m - half, m + half, len(d))

    def lift(self, policy: str = DTEM.name) -> float:
        """Relative revenue lift of `policy` over static (mean of paired differences)."""
        base = self.mean(STATIC, "revenue")
        return self.difference(policy, "revenue").mean / base if base else math.nan


def compare(
    params: MarketParams,
    seeds: Sequence[int],
    variants: Sequence[Variant] = (DTEM,),
    *,
    keep_ledger: Path | None = None,
    workers: int = 2,
    on_done: Callable[[Task], None] | None = None,
) -> Comparison:
    """Run every policy on every seed (in `workers` processes); `keep_ledger` is the SQLite
    file the first seed's DTEM run writes (the others run on private in-memory ledgers)."""
    tasks = [Task(params, s, STATIC) for s in seeds]
    for v in variants:
        for i, s in enumerate(seeds):
            url = f"sqlite:///{keep_ledger}" if keep_ledger and i == 0 and v == DTEM else None
            tasks.append(Task(params, s, v.name, url))
    tasks.sort(key=lambda t: t.policy == STATIC)  # the long ones first
    done: dict[tuple[str, int], TaskResult] = {}
    if workers <= 1:
        for t in tasks:
            done[(t.policy, t.seed)] = run_task(t, variants)
            if on_done:
                on_done(t)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_task, t, tuple(variants)): t for t in tasks}
            for f in as_completed(futures):
                t = futures[f]
                done[(t.policy, t.seed)] = f.result()
                if on_done:
                    on_done(t)
    names = [STATIC] + [v.name for v in variants]
    results = {n: [done[(n, s)].result for s in seeds] for n in names}
    return Comparison(
        params, list(seeds), results, done[(DTEM.name, seeds[0])].scores if DTEM in variants else []
    )


@dataclass(frozen=True)
class Sensitivity:
    """DTEM's revenue lift over static with one assumption halved and doubled."""

    name: str
    base: float  # the default value
    lifts: dict[float, Difference]  # factor -> paired revenue difference ÷ static's mean
    static_revenue: dict[float, float]

    @property
    def factors(self) -> tuple[float, float]:
        low, high = sorted(self.lifts)
        return low, high


FACTORS: dict[str, tuple[float, float]] = {"threshold": (0.5, 1.5)}  # a score is ≤ 100


def sensitivity(
    params: MarketParams,
    seeds: Sequence[int],
    names: Sequence[str],
    *,
    workers: int = 2,
    on_done: Callable[[Task], None] | None = None,
    on_row: Callable[[Comparison, list[Sensitivity]], object] | None = None,
) -> tuple[Comparison, list[Sensitivity]]:
    """The default comparison, then each assumption in `names` at ×0.5 and ×2 (the
    threshold at ×1.5: a score is at most 100). `on_row` sees the rows so far."""
    base = compare(params, seeds, workers=workers, on_done=on_done)
    rows: list[Sensitivity] = []
    for name in names:
        lifts: dict[float, Difference] = {}
        revenue: dict[float, float] = {}
        for factor in FACTORS.get(name, (0.5, 2.0)):
            c = compare(params.scaled(name, factor), seeds, workers=workers, on_done=on_done)
            lifts[factor] = relative(c)
            revenue[factor] = c.mean(STATIC, "revenue")
        rows.append(Sensitivity(name, float(getattr(params, name)), lifts, revenue))
        if on_row:
            on_row(base, rows)
    return base, rows


def relative(c: Comparison, policy: str = DTEM.name) -> Difference:
    """The paired revenue difference as a share of static's mean revenue."""
    base = c.mean(STATIC, "revenue")
    d = c.difference(policy, "revenue")
    if not base:
        return Difference(math.nan, math.nan, math.nan, d.seeds)
    return Difference(d.mean / base, d.low / base, d.high / base, d.seeds)
