"""Benchmark: the count-capacity rebalance (min-cost flow) against its bound and greedy.

Instances: N accounts × M reps, each account with K random eligible reps (distinct),
EVs random (lognormal, like P × value × q), total capacity 80% of the accounts. For each:
the min-cost-flow solve time and objective; its bound from the dual certificate (prices
from complementary slackness: bound == objective proves optimality by LP duality); for
the 10k case also the HiGHS LP optimum (|flow − LP| ≤ 1e-6 relative, as total
unimodularity says); and greedy by EV — the baseline, measured in the same run.

Run:  .venv/bin/python bench/optimize.py            (10k × 100 and 100k × 500)
      .venv/bin/python bench/optimize.py --quick    (10k × 100 only)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from dtem.optimizer import AssignmentProblem, assign_count_capacity, assign_greedy, lp_bound
from dtem.optimizer.dual import dual_bound
from dtem.optimizer.problem import is_feasible

K = 50


def instance(n: int, m: int, k: int, seed: int) -> AssignmentProblem:
    """Random instance; each account's k reps are distinct (a stride coprime with m)."""
    rng = np.random.default_rng(seed)
    coprime = np.array([s for s in range(1, m) if np.gcd(s, m) == 1])
    start = rng.integers(0, m, n)
    step = rng.choice(coprime, n)
    rep = (start[:, None] + np.arange(k)[None, :] * step[:, None]) % m
    value = rng.lognormal(mean=7.0, sigma=1.0, size=(n, k))  # EV in money, median ≈ 1,100
    capacity = np.full(m, np.floor(0.8 * n / m))
    return AssignmentProblem.from_arrays(
        n, capacity, np.repeat(np.arange(n), k), rep.ravel(), value.ravel()
    )


@dataclass
class Row:
    case: str
    flow_s: float
    objective: float
    bound: float
    bound_kind: str
    bound_s: float
    greedy_s: float
    greedy_objective: float

    def cells(self) -> list[str]:
        rel = (self.bound - self.objective) / self.objective
        gap = (self.objective - self.greedy_objective) / self.objective
        return [
            self.case, f"{self.flow_s:.2f}", f"{self.objective:,.2f}", f"{self.bound:,.2f}",
            self.bound_kind, f"{self.bound_s:.2f}", f"{rel:.1e}", f"{self.greedy_s:.2f}",
            f"{gap:.3%}", f"{self.flow_s / self.greedy_s:.2f}",
        ]  # fmt: skip


def run_case(n: int, m: int, with_highs: bool) -> list[Row]:
    p = instance(n, m, K, seed=n + m)
    t = time.perf_counter()
    flow = assign_count_capacity(p, certify=False)
    flow_s = time.perf_counter() - t
    assert is_feasible(p, flow.rep_of)
    t = time.perf_counter()
    greedy = assign_greedy(p)
    greedy_s = time.perf_counter() - t
    t = time.perf_counter()
    dual = dual_bound(p, flow.rep_of)
    dual_s = time.perf_counter() - t
    case = f"{n // 1000}k × {m}"
    rows = [
        Row(case, flow_s, flow.objective, dual, "dual cert.", dual_s, greedy_s, greedy.objective)
    ]
    if with_highs:
        t = time.perf_counter()
        lp = lp_bound(p, time_limit=1800)
        rows.append(Row(case, flow_s, flow.objective, lp, "HiGHS LP", time.perf_counter() - t,
                        greedy_s, greedy.objective))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 10k × 100 case")
    args = parser.parse_args()
    cases = [(10_000, 100, True)] + ([] if args.quick else [(100_000, 500, False)])
    rows = [row for n, m, highs in cases for row in run_case(n, m, highs)]
    head = ["case", "flow s", "objective", "bound", "bound from", "bound s", "(bound−obj)/obj",
            "greedy s", "greedy below opt", "flow/greedy time"]  # fmt: skip
    widths = [max(len(h), *(len(r.cells()[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r.cells(), widths, strict=True)))
    worst = max((r.bound - r.objective) / r.objective for r in rows)
    verdict = "ok" if worst <= 1e-6 else "FAIL"
    print(f"\nlargest relative bound gap: {worst:.2e} (required ≤ 1e-6: {verdict})")


if __name__ == "__main__":
    main()
