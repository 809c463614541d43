"""Generalized assignment (per-arc workloads against rep capacities) as a HiGHS MIP.

The MIP runs under a time limit; we report the incumbent, the LP relaxation bound, the
branch-and-bound dual bound (never weaker than the LP), the gap and the solve time.

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

from dtem.optimizer.highs import solve_highs
from dtem.optimizer.problem import (
    Assignment,
    AssignmentProblem,
    FloatArray,
    IntArray,
    objective_of,
)


def assign_gap(
    problem: AssignmentProblem,
    time_limit: float = 60.0,
    rel_gap: float = 1e-6,
    with_lp_bound: bool = True,
) -> Assignment:
    """Best assignment HiGHS finds within `time_limit` seconds, with its bounds."""
    started = time.perf_counter()
    lp = solve_highs(problem, integer=False, time_limit=time_limit) if with_lp_bound else None
    remaining = max(time_limit - (time.perf_counter() - started), 0.1)
    run = solve_highs(problem, integer=True, time_limit=remaining, rel_gap=rel_gap)
    seconds = time.perf_counter() - started
    lp_value = lp.objective if lp is not None else math.nan
    if run.x.shape[0] != problem.n_arcs or not np.isfinite(run.objective):
        empty = np.full(problem.n_accounts, -1, dtype=np.int64)
        return Assignment(empty, math.nan, run.bound, seconds, "highs_mip", "infeasible", lp_value)
    rep_of = _rep_of(problem, run.x)
    status = "optimal" if run.status == "Optimal" else "feasible"
    objective = objective_of(problem, rep_of)
    bound = min(run.bound, lp_value) if math.isfinite(lp_value) else run.bound
    return Assignment(rep_of, objective, bound, seconds, "highs_mip", status, lp_value)


def _rep_of(problem: AssignmentProblem, x: FloatArray) -> IntArray:
    used = x > 0.5
    rep_of = np.full(problem.n_accounts, -1, dtype=np.int64)
    rep_of[problem.account[used]] = problem.rep[used]
    return rep_of
