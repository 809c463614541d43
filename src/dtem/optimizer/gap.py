"""Generalized assignment (per-arc workloads against rep capacities): a MIP and a search.

HiGHS' bound on these problems is tight but its incumbent can lag. So a regret
construction gives the HiGHS MIP its start, the MIP runs in a
background thread (`mip_beside`), and a tabu search (`gap_tabu`) runs beside it on the
other core for the whole time limit, handing every better solution to the MIP as it
finds it. We return the better of the two with the LP relaxation bound, the
branch-and-bound bound (never weaker than the LP), the gap and the solve time. The
search stops the MIP when it reaches the bound; the MIP's proof of optimality stops the
search.

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
    DenseGap,
    agent_of,
    dense_gap,
    is_dense_feasible,
    regret_construction,
    rep_of_dense,
    total_cost,
)
from dtem.optimizer.gap_tabu import tabu_search
from dtem.optimizer.highs import HighsRun, solve_highs
from dtem.optimizer.mip_beside import MipBeside
from dtem.optimizer.problem import (
    Assignment,
    AssignmentProblem,
    FloatArray,
    IntArray,
    is_feasible,
    objective_of,
)


def assign_gap(
    problem: AssignmentProblem,
    time_limit: float = 60.0,
    rel_gap: float = 1e-6,
    with_lp_bound: bool = True,
    seed: int = 0,
) -> Assignment:
    """Best assignment found within `time_limit` seconds, with its bounds."""
    started = time.perf_counter()
    lp = solve_highs(problem, integer=False, time_limit=time_limit) if with_lp_bound else None
    lp_value = lp.objective if lp is not None else math.nan
    d = dense_gap(problem)
    start = regret_construction(d) if d is not None else None
    start_rep = rep_of_dense(d, start) if d is not None and start is not None else None
    deadline = started + time_limit
    mip = MipBeside(problem, max(deadline - time.perf_counter(), 0.1), rel_gap,
                    None if start_rep is None else _arcs_of(problem, start_rep))  # fmt: skip
    found = start_rep
    try:
        if d is not None:
            found = _search_beside(problem, d, start, mip, deadline, seed, lp_value)
    except BaseException:
        mip.stop()
        raise
    run = mip.result()
    return _best_of(problem, run, found, lp_value, rel_gap, time.perf_counter() - started)


def _search_beside(
    problem: AssignmentProblem,
    d: DenseGap,
    start: IntArray | None,
    mip: MipBeside,
    deadline: float,
    seed: int,
    lp_value: float,
) -> IntArray | None:
    """Tabu search until the deadline or the MIP's end, feeding the MIP; stops the MIP
    when it reaches the LP bound. The best feasible assignment, or None."""
    if start is None:  # no feasible start: let the penalties find one
        start = np.argmin(np.where(np.isfinite(d.cost), d.need, np.inf), axis=0).astype(np.int64)
    target = -lp_value if math.isfinite(lp_value) else -math.inf
    if _integral(problem) and math.isfinite(target):
        target = math.ceil(target - 1e-6)

    def offer(agent: IntArray) -> None:
        mip.offer(_arcs_of(problem, rep_of_dense(d, agent)))

    def adopt() -> IntArray | None:
        x = mip.incumbent()
        if x is None or x.shape[0] != problem.n_arcs:
            return None
        return agent_of(d, _rep_of(problem, x))

    seconds = max(deadline - time.perf_counter(), 0.0)
    best = tabu_search(d, start, seconds, seed=seed, target=target, on_best=offer,
                       should_stop=lambda: not mip.running(), adopt=adopt)  # fmt: skip
    if not is_dense_feasible(d, best):
        return None
    if total_cost(d, best) <= target + 1e-9:
        mip.stop()
    return rep_of_dense(d, best)


def _best_of(
    problem: AssignmentProblem,
    run: HighsRun,
    found: IntArray | None,
    lp_value: float,
    rel_gap: float,
    seconds: float,
) -> Assignment:
    """The better of the MIP's incumbent and the search's solution, with its status."""
    mip_found = run.x.shape[0] == problem.n_arcs and np.isfinite(run.objective)
    candidates = ([_rep_of(problem, run.x)] if mip_found else []) + (
        [found] if found is not None else []
    )
    feasible = [r for r in candidates if is_feasible(problem, r)]
    if not feasible:
        empty = np.full(problem.n_accounts, -1, dtype=np.int64)
        return Assignment(empty, math.nan, run.bound, seconds, "highs_mip", "infeasible", lp_value)
    rep_of = max(feasible, key=lambda r: objective_of(problem, r))
    objective = objective_of(problem, rep_of)
    bound = min(run.bound, lp_value) if math.isfinite(lp_value) else run.bound
    proven = (
        run.status == "Optimal"
        or bound - objective <= rel_gap * max(abs(objective), 1.0)
        or (_integral(problem) and math.floor(bound + 1e-6) <= objective + 1e-9)
    )
    return Assignment(rep_of, objective, bound, seconds, "highs_mip",
                      "optimal" if proven else "feasible", lp_value)  # fmt: skip


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
