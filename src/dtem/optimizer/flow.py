"""Count-capacity assignment as a min-cost flow (OR-Tools `SimpleMinCostFlow`).

Network: every account supplies one unit; arcs account → rep cost −value (scaled to
integers); rep → sink carries at most the rep's capacity; account → sink (cost 0) is the
"unassigned" option, absent for must-assign accounts. The constraint matrix is totally
unimodular, so the integral flow optimum *is* the LP optimum: the bound reported is the
value of a dual solution built from the flow (see `dual.py`), which certifies it.

>>> p = AssignmentProblem.from_arrays(3, [1, 1], [0, 1, 2, 2], [0, 0, 0, 1],
...                                   [5.0, 4.0, 3.0, 1.0])
>>> sol = assign_count_capacity(p)
>>> sol.rep_of.tolist(), sol.objective, sol.status
([0, -1, 1], 6.0, 'optimal')
"""

from __future__ import annotations

import time

import numpy as np
from ortools.graph.python import min_cost_flow

from dtem.optimizer.dual import dual_bound
from dtem.optimizer.problem import Assignment, AssignmentProblem, IntArray, objective_of

_MAX_SCALE = 1e6  # micro-units of money: rounding moves the objective by < n / 1e6
_INT_BUDGET = 2.0**60  # keep every partial sum of scaled costs inside int64


def cost_scale(problem: AssignmentProblem) -> float:
    """The factor turning money values into integer costs without int64 overflow.

    >>> p = AssignmentProblem.from_arrays(1, [1], [0], [0], [2.5])
    >>> cost_scale(p)
    1000000.0
    """
    top = float(np.abs(problem.value).max(initial=0.0))
    if top == 0.0:
        return _MAX_SCALE
    return min(_MAX_SCALE, _INT_BUDGET / (top * (problem.n_accounts + 1)))


def assign_count_capacity(problem: AssignmentProblem, certify: bool = True) -> Assignment:
    """Optimal assignment when every account uses one unit of its rep's capacity.

    Raises ValueError when must-assign accounts cannot all be placed (infeasible).
    """
    if problem.workload is not None:
        raise ValueError("workloads need the GAP solver (assign_gap), not min-cost flow")
    started = time.perf_counter()
    rep_of = _solve_flow(problem)
    objective = objective_of(problem, rep_of)
    seconds = time.perf_counter() - started
    bound = dual_bound(problem, rep_of) if certify else float("nan")
    return Assignment(rep_of, objective, bound, seconds, "min_cost_flow", "optimal", bound)


def _solve_flow(problem: AssignmentProblem) -> IntArray:
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = _build_network(smcf, problem)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise ValueError(f"min-cost flow did not solve: status {status} (capacity too small?)")
    used = smcf.flows(arcs) > 0
    rep_of = np.full(problem.n_accounts, -1, dtype=np.int64)
    rep_of[problem.account[used]] = problem.rep[used]
    return rep_of


def _build_network(smcf: min_cost_flow.SimpleMinCostFlow, problem: AssignmentProblem) -> IntArray:
    """Nodes: accounts 0..n-1, reps n..n+m-1, the sink n+m. Returns the account→rep arcs."""
    n, m = problem.n_accounts, problem.n_reps
    sink = n + m
    ones = np.ones(problem.n_arcs, dtype=np.int64)
    costs = -np.rint(problem.value * cost_scale(problem)).astype(np.int64)
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(problem.account, problem.rep + n, ones, costs)
    free = np.flatnonzero(~problem.must_assign)  # "unassigned" is an arc worth 0
    no_cost = np.zeros_like(free)
    smcf.add_arcs_with_capacity_and_unit_cost(
        free, np.full(free.shape[0], sink), 1 + no_cost, no_cost
    )
    seats = np.floor(problem.capacity + 1e-9).astype(np.int64)
    reps = np.arange(m, dtype=np.int64)
    smcf.add_arcs_with_capacity_and_unit_cost(reps + n, np.full(m, sink), seats, 0 * reps)
    supplies = np.zeros(n + m + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    smcf.set_nodes_supplies(np.arange(n + m + 1), supplies)
    return np.asarray(arcs, dtype=np.int64)
