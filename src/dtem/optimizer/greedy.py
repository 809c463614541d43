"""Greedy by value: the baseline that shows what optimising is worth.

Keep the status quo first (`initial`: active leases stay where they are), then walk the
arcs from the most valuable down and take each one whose account is still free and whose
rep still has room. It is what routing one account at a time would end up with.

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(2, [1, 1], [0, 0, 1], [0, 1, 0], [5.0, 4.0, 4.5])
>>> assign_greedy(p).objective  # takes 5 first, then 4.5 no longer fits: optimum is 8.5
5.0
"""

from __future__ import annotations

import time

import numpy as np

from dtem.optimizer.problem import Assignment, AssignmentProblem, IntArray, objective_of

_CHUNK = 65_536  # arcs turned into Python values at a time


def assign_greedy(problem: AssignmentProblem, initial: IntArray | None = None) -> Assignment:
    """Greedy assignment; arcs worth ≤ 0 are taken only for must-assign accounts."""
    started = time.perf_counter()
    rep_of, load = _start(problem, initial)
    order = np.argsort(-problem.value, kind="stable")
    workload = problem.arc_workload()
    cap = problem.capacity.tolist()
    must = problem.must_assign.tolist()
    least = float(workload.min()) if workload.shape[0] else 0.0
    # Once no rep has room for even the lightest arc, no later arc can be taken: stop
    # there (100k accounts for 1,600 seats: the walk ends after the first few arcs).
    open_reps = sum(load[r] + least <= cap[r] + 1e-9 for r in range(problem.n_reps))
    for start in range(0, order.shape[0], _CHUNK):
        if open_reps == 0:
            break
        part = order[start : start + _CHUNK]
        arcs = zip(problem.account[part].tolist(), problem.rep[part].tolist(),
                   problem.value[part].tolist(), workload[part].tolist(), strict=True)  # fmt: skip
        for a, r, v, w in arcs:
            if rep_of[a] >= 0 or (v <= 0 and not must[a]) or load[r] + w > cap[r] + 1e-9:
                continue
            rep_of[a] = r
            load[r] += w
            if load[r] + least > cap[r] + 1e-9:
                open_reps -= 1
                if open_reps == 0:
                    break
    result = np.asarray(rep_of, dtype=np.int64)
    seconds = time.perf_counter() - started
    status = "infeasible" if np.any(problem.must_assign & (result < 0)) else "feasible"
    return Assignment(
        result, objective_of(problem, result), float("nan"), seconds, "greedy", status
    )


def _start(problem: AssignmentProblem, initial: IntArray | None) -> tuple[list[int], list[float]]:
    rep_of = [-1] * problem.n_accounts
    load = [0.0] * problem.n_reps
    if initial is None:
        return rep_of, load
    kept = np.flatnonzero(initial[problem.account] == problem.rep)
    for k in kept.tolist():
        a, r = int(problem.account[k]), int(problem.rep[k])
        rep_of[a] = r
        load[r] += float(problem.arc_workload()[k])
    return rep_of, load
