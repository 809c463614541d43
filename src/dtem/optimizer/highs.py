"""The assignment problem as an LP / MIP for HiGHS (highspy).

Rows: one per account (Σ_r x_ar ≤ 1, or = 1 when must-assign), one per rep
(Σ_a w_ar·x_ar ≤ capacity). Columns: one per arc, with exactly two non-zeros.

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(2, [1], [0, 1], [0, 0], [5.0, 3.0])
>>> round(lp_bound(p), 6)
5.0
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass

import highspy
import numpy as np

from dtem.optimizer.problem import AssignmentProblem, FloatArray


@dataclass(frozen=True)
class HighsRun:
    """What one HiGHS solve reported (objective and bound in the problem's sense)."""

    x: FloatArray
    objective: float
    bound: float
    status: str
    seconds: float


def lp_bound(problem: AssignmentProblem, time_limit: float = 600.0) -> float:
    """The optimum of the LP relaxation (an upper bound on any assignment's value)."""
    run = solve_highs(problem, integer=False, time_limit=time_limit)
    return run.objective


def solve_highs(
    problem: AssignmentProblem,
    integer: bool,
    time_limit: float,
    rel_gap: float = 1e-6,
    threads: int = 1,
    start: FloatArray | None = None,
) -> HighsRun:
    """Solve the LP (or, with `integer`, the MIP) and report what HiGHS found; `start`
    (column values of a feasible solution) gives the MIP its first incumbent."""
    h = prepared_highs(problem, integer, time_limit, rel_gap, threads, start)
    h.run()
    return highs_run(h, integer)


def prepared_highs(
    problem: AssignmentProblem,
    integer: bool,
    time_limit: float,
    rel_gap: float = 1e-6,
    threads: int = 1,
    start: FloatArray | None = None,
) -> highspy.Highs:
    """A silent solver holding the model, its limits and its start, ready to run."""
    h = _quiet_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", threads)
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.passModel(_model(problem, integer))
    if start is not None:
        h.setSolution(problem.n_arcs, np.arange(problem.n_arcs, dtype=np.int32), start)
    return h


def highs_run(h: highspy.Highs, integer: bool) -> HighsRun:
    """What a finished solve found."""
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if integer else objective
    return HighsRun(x, objective, bound, status, float(h.getRunTime()))


_BANNER_LOCK = threading.Lock()


def _quiet_highs() -> highspy.Highs:
    """A silent solver. HiGHS prints a banner to stdout (fd 1) when its first instance
    is built; we point fd 1 at stderr meanwhile so `--json` output stays clean."""
    with _BANNER_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            h.setOptionValue("output_flag", False)
            ctypes.CDLL(None).fflush(None)  # flush C stdio while it still points at stderr
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    return h


def _model(problem: AssignmentProblem, integer: bool) -> highspy.HighsLp:
    n, m, k = problem.n_accounts, problem.n_reps, problem.n_arcs
    lp = highspy.HighsLp()
    lp.num_col_ = k
    lp.num_row_ = n + m
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = problem.value
    lp.col_lower_ = np.zeros(k)
    lp.col_upper_ = np.ones(k)
    lp.row_lower_ = np.concatenate([problem.must_assign.astype(np.float64), np.full(m, -np.inf)])
    lp.row_upper_ = np.concatenate([np.ones(n), problem.capacity])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = k
    lp.a_matrix_.num_row_ = n + m
    lp.a_matrix_.start_ = np.arange(0, 2 * k + 1, 2, dtype=np.int32)
    index = np.empty(2 * k, dtype=np.int32)
    index[0::2] = problem.account
    index[1::2] = n + problem.rep
    values = np.empty(2 * k)
    values[0::2] = 1.0
    values[1::2] = problem.arc_workload()
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = values
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * k
    return lp
