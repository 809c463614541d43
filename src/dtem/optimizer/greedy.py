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

_CHUNK = 4_096  # arcs screened together (small: few go stale within one)


def assign_greedy(problem: AssignmentProblem, initial: IntArray | None = None) -> Assignment:
    """Greedy assignment; arcs worth ≤ 0 are taken only for must-assign accounts."""
    started = time.perf_counter()
    rep_of_list, load_list = _start(problem, initial)
    rep_of, load = np.asarray(rep_of_list, dtype=np.int64), np.asarray(load_list)
    order = np.argsort(-problem.value, kind="stable")
    acc, rep = problem.account[order], problem.rep[order]
    val, work = problem.value[order], problem.arc_workload()[order]
    cap, must = problem.capacity + 1e-9, problem.must_assign
    for start in range(0, order.shape[0], _CHUNK):
        a, r, w = (
            acc[start : start + _CHUNK],
            rep[start : start + _CHUNK],
            work[start : start + _CHUNK],
        )
        # What the walk would skip as things stand now, skipped in bulk; the rest is checked
        # again one arc at a time (an earlier arc of this chunk may have taken its place).
        worth = (val[start : start + _CHUNK] > 0) | must[a]
        maybe = np.flatnonzero((rep_of[a] < 0) & worth & (load[r] + w <= cap[r]))
        for k in maybe.tolist():
            ak, rk, wk = int(a[k]), int(r[k]), float(w[k])
            if rep_of[ak] >= 0 or load[rk] + wk > cap[rk]:
                continue
            rep_of[ak] = rk
            load[rk] += wk
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
