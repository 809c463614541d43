"""Generalized assignment (per-arc workloads against rep capacities): heuristics + a MIP.

HiGHS' bound on these problems is tight but its incumbent can lag, so we first build a
good feasible solution ourselves — a regret construction with shift/swap descent, then a
tabu search (`gap_tabu`) for part of the time — and hand it to the HiGHS MIP as its
start for the rest. The better of the two is returned with the LP relaxation bound, the
branch-and-bound bound (never weaker than the LP), the gap and the solve time.

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(3, [10], [0, 1, 2], [0, 0, 0], [6.0, 5.0, 5.0],
...                                   workload=[10, 5, 5])
>>> sol = assign_gap(p, time_limit=5)
>>> sorted(sol.rep_of.tolist()), sol.objective, sol.status
([-1, 0, 0], 10.0, 'optimal')
"""

from __future__ import annotations

import math
import time

import numpy as np

from dtem.optimizer.gap_start import (
    dense_gap,
    is_dense_feasible,
    regret_start,
    rep_of_dense,
)
from dtem.optimizer.gap_tabu import tabu_search
from dtem.optimizer.highs import solve_highs
from dtem.optimizer.problem import (
    Assignment,
    AssignmentProblem,
    FloatArray,
    IntArray,
    is_feasible,
    objective_of,
)

# Share of the time limit the tabu search may use before the MIP starts from its result.
SEARCH_SHARE = 0.5


def assign_gap(
    problem: AssignmentProblem,
    time_limit: float = 60.0,
    rel_gap: float = 1e-6,
    with_lp_bound: bool = True,
    seed: int = 0,
    search_share: float = SEARCH_SHARE,
) -> Assignment:
    """Best assignment found within `time_limit` seconds, with its bounds."""
    started = time.perf_counter()
    lp = solve_highs(problem, integer=False, time_limit=time_limit) if with_lp_bound else None
    lp_value = lp.objective if lp is not None else math.nan
    budget = search_share * max(time_limit - (time.perf_counter() - started), 0.0)
    start = heuristic_assignment(problem, budget, seed, target=lp_value)
    remaining = max(time_limit - (time.perf_counter() - started), 0.1)
    run = solve_highs(problem, integer=True, time_limit=remaining, rel_gap=rel_gap,
                      start=None if start is None else _arcs_of(problem, start))  # fmt: skip
    seconds = time.perf_counter() - started
    mip_found = run.x.shape[0] == problem.n_arcs and np.isfinite(run.objective)
    candidates = ([_rep_of(problem, run.x)] if mip_found else []) + (
        [start] if start is not None else []
    )
    feasible = [r for r in candidates if is_feasible(problem, r)]
    if not feasible:
        empty = np.full(problem.n_accounts, -1, dtype=np.int64)
        return Assignment(empty, math.nan, run.bound, seconds, "highs_mip", "infeasible", lp_value)
    rep_of = max(feasible, key=lambda r: objective_of(problem, r))
    objective = objective_of(problem, rep_of)
    bound = min(run.bound, lp_value) if math.isfinite(lp_value) else run.bound
    proven = run.status == "Optimal" or (bound - objective) <= rel_gap * max(abs(objective), 1.0)
    return Assignment(rep_of, objective, bound, seconds, "highs_mip",
                      "optimal" if proven else "feasible", lp_value)  # fmt: skip


def heuristic_assignment(
    problem: AssignmentProblem, seconds: float, seed: int = 0, target: float = math.inf
) -> IntArray | None:
    """Regret construction, then tabu search for up to `seconds` (stopping once the
    value reaches `target`, e.g. the LP bound); None when no feasible start was found
    or the problem is too large for the dense heuristics."""
    d = dense_gap(problem)
    if d is None:
        return None
    start = regret_start(d)
    if start is None:
        start = np.argmin(np.where(np.isfinite(d.cost), d.need, np.inf), axis=0).astype(np.int64)
    cost_target = -target if math.isfinite(target) else -math.inf
    if _integral(problem) and math.isfinite(cost_target):
        cost_target = math.ceil(cost_target - 1e-6)
    best = tabu_search(d, start, seconds, seed=seed, target=cost_target)
    return rep_of_dense(d, best) if is_dense_feasible(d, best) else None


def _integral(problem: AssignmentProblem) -> bool:
    return bool(np.all(problem.value == np.round(problem.value)))


def _arcs_of(problem: AssignmentProblem, rep_of: IntArray) -> FloatArray:
    """The MIP's column values for an assignment."""
    x: FloatArray = (rep_of[problem.account] == problem.rep).astype(np.float64)
    return x


def _rep_of(problem: AssignmentProblem, x: FloatArray) -> IntArray:
    used = x > 0.5
    rep_of = np.full(problem.n_accounts, -1, dtype=np.int64)
    rep_of[problem.account[used]] = problem.rep[used]
    return rep_of
