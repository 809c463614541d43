"""Benchmark: the generalized-assignment solver (heuristics + HiGHS MIP, time-limited).

1. The OR-Library instances in bench/data/gap/ (minimisation), every one at the same
   limit (default 60 s): the product's value vs the best known, its gap to its own bound
   (the MIP's branch-and-bound bound, never weaker than the LP), its time; then the max
   and mean gap to the best known over the instances.
2. With --generated: Beasley-style type D instances generated here (m = 10, 20 agents;
   n = 100, 200 jobs; r_ij ~ U[1,100], c_ij = 111 − r_ij + U[−10,10],
   b_i = 0.8·Σ_j r_ij / m), value and gap to the LP and MIP bounds.

Relative gaps are (value − reference) / reference: the best known value, or the bound.
Baseline (same run): the plain regret construction (assign the job whose best and
second-best feasible agents differ most, to its best; the best of four desirability
measures) followed by shift/swap descent until no move improves it — the product's
`regret_start`, without the tabu search and the MIP. In DTEM terms agents are reps with
hour capacities, jobs are accounts, cost = −EV.

Run:  .venv/bin/python bench/gap.py                 (all 18 instances at 60 s, ≈ 15 min)
      .venv/bin/python bench/gap.py --limit 10       (≈ 4 min)
      .venv/bin/python bench/gap.py --instances d20100 d20200 --limit 30
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtem.optimizer import AssignmentProblem, assign_gap
from dtem.optimizer.gap_start import dense_gap, regret_start, total_cost
from dtem.optimizer.problem import is_feasible

DATA = Path(__file__).parent / "data" / "gap"
OR_LIB = [r["instance"] for r in csv.DictReader((DATA / "best_known.csv").open())]


@dataclass(frozen=True)
class Gap:
    """A minimisation GAP: cost[i, j], need[i, j], capacity[i]."""

    name: str
    cost: np.ndarray
    need: np.ndarray
    capacity: np.ndarray

    def problem(self) -> AssignmentProblem:
        m, n = self.cost.shape
        agent, job = np.divmod(np.arange(m * n), n)
        return AssignmentProblem.from_arrays(
            n, self.capacity, job, agent, -self.cost.ravel().astype(float),
            workload=self.need.ravel().astype(float), must_assign=np.ones(n, dtype=bool),
        )  # fmt: skip


def read_orlib(path: Path) -> Gap:
    nums = np.array(path.read_text().split(), dtype=np.int64)
    m, n = int(nums[0]), int(nums[1])
    cost = nums[2 : 2 + m * n].reshape(m, n)
    need = nums[2 + m * n : 2 + 2 * m * n].reshape(m, n)
    return Gap(path.name, cost, need, nums[2 + 2 * m * n : 2 + 2 * m * n + m].astype(float))


def type_d(m: int, n: int, seed: int) -> Gap:
    rng = np.random.default_rng(seed)
    need = rng.integers(1, 101, (m, n))
    cost = 111 - need + rng.integers(-10, 11, (m, n))
    capacity = np.floor(0.8 * need.sum(axis=1) / m)
    return Gap(f"gen-d{m:02d}{n}", cost, need, capacity)


def regret(g: Gap) -> tuple[float, float]:
    """The baseline's cost (inf when every construction gets stuck) and its seconds."""
    started = time.perf_counter()
    d = dense_gap(g.problem())
    agent = regret_start(d) if d is not None else None
    cost = total_cost(d, agent) if d is not None and agent is not None else math.inf
    return cost, time.perf_counter() - started


@dataclass(frozen=True)
class Result:
    value: float
    lp_bound: float
    mip_bound: float
    seconds: float
    status: str


def solve(g: Gap, limit: float) -> Result:
    p = g.problem()
    sol = assign_gap(p, time_limit=limit)
    assert sol.status == "infeasible" or is_feasible(p, sol.rep_of)
    # the solver maximises −cost: negate back to costs
    return Result(-sol.objective, -sol.lp_bound, -sol.bound, sol.solve_seconds, sol.status)


def money(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "failed"


def above(a: float, b: float) -> float:
    """How far value `a` lies above reference `b`, as a share of the reference."""
    return (a - b) / abs(b) if math.isfinite(a) and math.isfinite(b) else math.nan


def pct(a: float, b: float) -> str:
    share = above(a, b)
    return f"{share:.3%}" if math.isfinite(share) else "n/a"


def print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    print()


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def generated(limit: float) -> None:
    rows = []
    for m, n in ((10, 100), (10, 200), (20, 100), (20, 200)):
        g = type_d(m, n, seed=1000 * m + n)
        base, base_s = regret(g)
        r = solve(g, limit)
        rows.append([g.name, f"{limit:.0f}", f"{r.value:,.0f}", f"{r.lp_bound:,.1f}",
                     pct(r.value, r.lp_bound), f"{r.mip_bound:,.1f}", pct(r.value, r.mip_bound),
                     f"{r.seconds:.1f}", r.status, money(base), pct(base, r.value),
                     f"{base_s:.2f}"])  # fmt: skip
    print(f"Generated type D instances, {limit:.0f} s limit (minimisation)")
    print_table(["instance", "limit s", "value", "LP bound", "gap to LP", "MIP bound",
                 "gap to MIP bound", "time s", "status", "regret", "regret above",
                 "regret s"], rows)  # fmt: skip


def orlib(names: list[str], limit: float) -> None:
    best = {r["instance"]: r for r in csv.DictReader((DATA / "best_known.csv").open())}
    rows, gaps, base_gaps = [], [], []
    for name in names:
        g = read_orlib(DATA / name)
        base, base_s = regret(g)
        r = solve(g, limit)
        known = float(best[name]["best_known_value"])
        gaps.append(above(r.value, known))
        base_gaps.append(above(base, known))
        rows.append([name, f"{r.value:,.0f}", f"{known:,.0f}", pct(r.value, known),
                     f"{r.mip_bound:,.1f}", pct(r.value, r.mip_bound), f"{r.seconds:.1f}",
                     r.status, money(base), pct(base, known), f"{base_s:.2f}",
                     f"{os.getloadavg()[0]:.1f}"])  # fmt: skip
        print(" ".join(rows[-1]), flush=True)
    print(f"\nOR-Library instances, {limit:.0f} s limit (minimisation)")
    print_table(["instance", "value", "best known", "above best", "bound", "gap to bound",
                 "time s", "status", "baseline", "baseline above best", "baseline s",
                 "load 1 min"], rows)  # fmt: skip
    print(f"above best known: max {max(gaps):.3%}, mean {np.mean(gaps):.3%} "
          f"(baseline: max {max(base_gaps):.3%}, mean {np.mean(base_gaps):.3%}) "
          f"over {len(names)} instances; {load_average()}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--instances", nargs="*", default=OR_LIB, help="OR-Library names")
    parser.add_argument("--generated", action="store_true", help="also generated type D")
    args = parser.parse_args()
    started = time.perf_counter()
    print(load_average())
    orlib(args.instances, args.limit)
    if args.generated:
        generated(args.limit)
    print(f"total bench time {time.perf_counter() - started:.0f} s; {load_average()}")


if __name__ == "__main__":
    main()
