"""Benchmark: the generalized-assignment MIP (HiGHS, time-limited) on standard instances.

1. Beasley-style type D instances generated here (m = 10, 20 agents; n = 100, 200 jobs;
   r_ij ~ U[1,100], c_ij = 111 − r_ij + U[−10,10], b_i = 0.8·Σ_j r_ij / m): the MIP's
   value and its gap to the LP-relaxation bound and to its own branch-and-bound bound
   after 10 s and 60 s.
2. The OR-Library instances in bench/data/gap/ (minimisation): value vs best known, gap to
   own bound, time — c/d 5–20 × 100–200 at 10 s, a few at 60 s.

Relative gaps are (value − reference) / reference: the best known value, or the bound.
Baseline (same run): a regret heuristic (assign the job whose best and second-best
feasible agents differ most, to its best; the best of four desirability measures)
followed by shift/swap local search until no move improves it. In DTEM terms agents are
reps with hour capacities, jobs are accounts, cost = −EV.

Run:  .venv/bin/python bench/gap.py            (≈ 12 min)
      .venv/bin/python bench/gap.py --quick    (10 s limits only, ≈ 3 min)
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtem.optimizer import AssignmentProblem, assign_gap
from dtem.optimizer.problem import is_feasible

DATA = Path(__file__).parent / "data" / "gap"
OR_LIB_10S = [f"{t}{m:02d}{n}" for t in "cd" for m in (5, 10, 20) for n in (100, 200)]
OR_LIB_60S = ["d05100", "d10200", "d20200"]


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


def regret(g: Gap) -> float:
    """Martello–Toth style regret heuristic, the best of four desirability measures
    (cost, need, need / capacity, cost × need), each polished by shift/swap local
    search; inf when every construction gets stuck."""
    criteria = (g.cost, g.need, g.need / g.capacity[:, None], g.cost * g.need)
    starts = [a for f in criteria if (a := _regret_with(g, f.astype(float))) is not None]
    return min((cost_of(g, improve(g, a)) for a in starts), default=math.inf)


def cost_of(g: Gap, agent: np.ndarray) -> float:
    return float(g.cost[agent, np.arange(agent.shape[0])].sum())


def _regret_with(g: Gap, desirability: np.ndarray) -> np.ndarray | None:
    """Repeatedly place the job whose best and second-best feasible agents (by
    `desirability`, lower is better) differ most, on its best agent; the agent of every
    job, or None when a job fits nowhere."""
    m, n = g.cost.shape
    left, free = g.capacity.astype(float).copy(), set(range(n))
    agent = np.full(n, -1, dtype=np.int64)
    while free:
        best: tuple[float, int, int] | None = None
        for j in free:
            fits = [i for i in range(m) if g.need[i, j] <= left[i]]
            if not fits:
                return None
            ranked = sorted((desirability[i, j], i) for i in fits)
            gap = ranked[1][0] - ranked[0][0] if len(ranked) > 1 else math.inf
            if best is None or gap > best[0]:
                best = (gap, j, ranked[0][1])
        assert best is not None
        _, j, i = best
        left[i] -= g.need[i, j]
        agent[j] = i
        free.remove(j)
    return agent


def improve(g: Gap, agent: np.ndarray) -> np.ndarray:
    """Best-improvement local search: move one job to another agent with room (shift),
    or exchange the agents of two jobs when both fit (swap), until no move lowers the
    cost. Vectorised over all moves of a kind at each step."""
    agent = agent.copy()
    cost, need = g.cost.astype(float), g.need.astype(float)
    m, n = cost.shape
    jobs = np.arange(n)
    while True:
        load = np.bincount(agent, weights=need[agent, jobs], minlength=m)
        own_cost, own_need = cost[agent, jobs], need[agent, jobs]
        shift = cost - own_cost  # [i, j]: job j to agent i
        shift[
            (load[:, None] + need > g.capacity[:, None]) | (agent[None, :] == np.arange(m)[:, None])
        ] = np.inf
        # swap j, k: j goes to agent[k], k goes to agent[j]
        c_in, w_in = cost[agent[None, :], jobs[:, None]], need[agent[None, :], jobs[:, None]]
        swap = c_in + c_in.T - own_cost[:, None] - own_cost[None, :]
        load_j = load[agent][:, None] - own_need[:, None] + w_in.T  # agent of j after
        load_k = load[agent][None, :] - own_need[None, :] + w_in  # agent of k after
        swap[(load_j > g.capacity[agent][:, None]) | (load_k > g.capacity[agent][None, :])
             | (agent[:, None] == agent[None, :])] = np.inf  # fmt: skip
        s, w = (
            np.unravel_index(np.argmin(shift), shift.shape),
            np.unravel_index(np.argmin(swap), swap.shape),
        )
        if min(shift[s], swap[w]) >= 0:
            return agent
        if shift[s] <= swap[w]:
            agent[s[1]] = s[0]
        else:
            agent[w[0]], agent[w[1]] = agent[w[1]], agent[w[0]]


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


def pct(a: float, b: float) -> str:
    """How far value `a` lies above reference `b` (a best known value or a bound), as a
    share of the reference."""
    return f"{(a - b) / abs(b):.3%}" if math.isfinite(a) and math.isfinite(b) else "n/a"


def print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    print()


def generated(limits: list[float]) -> None:
    rows = []
    for m, n in ((10, 100), (10, 200), (20, 100), (20, 200)):
        g = type_d(m, n, seed=1000 * m + n)
        t = time.perf_counter()
        base = regret(g)
        base_s = time.perf_counter() - t
        for limit in limits:
            r = solve(g, limit)
            rows.append([g.name, f"{limit:.0f}", f"{r.value:,.0f}", f"{r.lp_bound:,.1f}",
                         pct(r.value, r.lp_bound), f"{r.mip_bound:,.1f}", pct(r.value, r.mip_bound),
                         f"{r.seconds:.1f}", r.status, money(base), pct(base, r.value),
                         f"{base_s:.2f}"])  # fmt: skip
    print("Generated type D instances (minimisation)")
    print_table(["instance", "limit s", "MIP value", "LP bound", "gap to LP", "MIP bound",
                 "gap to MIP bound", "time s", "status", "regret", "regret above MIP",
                 "regret s"], rows)  # fmt: skip


def orlib(names: list[str], limit: float) -> None:
    best = {r["instance"]: r for r in csv.DictReader((DATA / "best_known.csv").open())}
    rows = []
    for name in names:
        g = read_orlib(DATA / name)
        r = solve(g, limit)
        known = float(best[name]["best_known_value"])
        base = regret(g)
        rows.append([name, f"{limit:.0f}", f"{r.value:,.0f}", f"{known:,.0f}",
                     pct(r.value, known), f"{r.mip_bound:,.1f}", pct(r.value, r.mip_bound),
                     f"{r.lp_bound:,.1f}", f"{r.seconds:.1f}", r.status, money(base),
                     pct(base, known)])  # fmt: skip
    print(f"OR-Library instances, {limit:.0f} s limit (minimisation)")
    print_table(["instance", "limit s", "MIP value", "best known", "above best", "MIP bound",
                 "gap to bound", "LP bound", "time s", "status", "regret", "regret above best"],
                rows)  # fmt: skip


def regret_table() -> None:
    best = {r["instance"]: r for r in csv.DictReader((DATA / "best_known.csv").open())}
    rows = []
    for name in OR_LIB_10S:
        g = read_orlib(DATA / name)
        t = time.perf_counter()
        base = regret(g)
        known = float(best[name]["best_known_value"])
        rows.append([name, money(base), f"{known:,.0f}", pct(base, known),
                     f"{time.perf_counter() - t:.2f}"])  # fmt: skip
    print("Regret heuristic alone (the baseline)")
    print_table(["instance", "regret", "best known", "above best", "time s"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s limits only")
    parser.add_argument("--regret-only", action="store_true", help="only the baseline")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.regret_only:
        regret_table()
        return
    generated([10.0] if args.quick else [10.0, 60.0])
    orlib(OR_LIB_10S, 10.0)
    if not args.quick:
        orlib(OR_LIB_60S, 60.0)
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
