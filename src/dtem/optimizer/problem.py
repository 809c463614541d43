"""The batch assignment problem on plain arrays, and what every solver returns.

An instance is a sparse set of *arcs* (account, rep, value[, workload]) plus a capacity
per rep. Accounts may be left unassigned (a dummy sink worth 0) unless `must_assign`
says otherwise (an active lease that may move but not be dropped).

>>> import numpy as np
>>> p = AssignmentProblem.from_arrays(
...     n_accounts=2, capacity=[1], account=[0, 1], rep=[0, 0], value=[5.0, 3.0])
>>> p.n_reps, p.n_arcs
(1, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class AssignmentProblem:
    """Maximise Σ value over chosen arcs, one arc per account at most, within capacities.

    `workload` is None for the count case (each account uses one unit of capacity);
    otherwise it is the per-arc load against `capacity` (e.g. hours): a GAP.
    """

    n_accounts: int
    capacity: FloatArray
    account: IntArray
    rep: IntArray
    value: FloatArray
    workload: FloatArray | None = None
    must_assign: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    @classmethod
    def from_arrays(
        cls,
        n_accounts: int,
        capacity: ArrayLike,
        account: ArrayLike,
        rep: ArrayLike,
        value: ArrayLike,
        workload: ArrayLike | None = None,
        must_assign: ArrayLike | None = None,
    ) -> AssignmentProblem:
        """Build and validate an instance from anything numpy can read."""
        must = (
            np.zeros(n_accounts, dtype=np.bool_)
            if must_assign is None
            else np.asarray(must_assign, dtype=np.bool_)
        )
        problem = cls(
            n_accounts=n_accounts,
            capacity=np.asarray(capacity, dtype=np.float64),
            account=np.asarray(account, dtype=np.int64),
            rep=np.asarray(rep, dtype=np.int64),
            value=np.asarray(value, dtype=np.float64),
            workload=None if workload is None else np.asarray(workload, dtype=np.float64),
            must_assign=must,
        )
        problem.validate()
        return problem

    @property
    def n_reps(self) -> int:
        return int(self.capacity.shape[0])

    @property
    def n_arcs(self) -> int:
        return int(self.account.shape[0])

    def arc_workload(self) -> FloatArray:
        """The load of every arc (1 per account in the count case)."""
        if self.workload is None:
            return np.ones(self.n_arcs, dtype=np.float64)
        return self.workload

    def validate(self) -> None:
        """Raise ValueError on inconsistent shapes or indices."""
        n = self.n_arcs
        if self.rep.shape[0] != n or self.value.shape[0] != n:
            raise ValueError("account, rep and value must have the same length")
        if self.workload is not None and self.workload.shape[0] != n:
            raise ValueError("workload must have one entry per arc")
        if self.must_assign.shape[0] != self.n_accounts:
            raise ValueError("must_assign must have one entry per account")
        if n and (self.account.min() < 0 or self.account.max() >= self.n_accounts):
            raise ValueError("arc account index out of range")
        if n and (self.rep.min() < 0 or self.rep.max() >= self.n_reps):
            raise ValueError("arc rep index out of range")
        if not np.all(np.isfinite(self.value)):
            raise ValueError("arc values must be finite")


@dataclass(frozen=True)
class Assignment:
    """A solution: `rep_of[a]` is the rep index of account a, or -1 (unassigned).

    `bound` is an upper bound on the optimum (LP or dual bound); `gap` is relative.
    """

    rep_of: IntArray
    objective: float
    bound: float
    solve_seconds: float
    method: str
    status: str  # optimal | feasible | infeasible
    lp_bound: float = math.nan

    @property
    def gap(self) -> float:
        """(bound − objective) / |objective|; 0 when both are 0.

        >>> Assignment(np.zeros(0, dtype=np.int64), 99.0, 100.0, 0.0, "x", "feasible").gap
        0.010101010101010102
        """
        if not math.isfinite(self.bound) or not math.isfinite(self.objective):
            return math.nan
        return max(0.0, self.bound - self.objective) / max(abs(self.objective), 1e-12)

    @property
    def assigned(self) -> int:
        return int(np.count_nonzero(self.rep_of >= 0))


def objective_of(problem: AssignmentProblem, rep_of: IntArray) -> float:
    """Σ value of the arcs a solution uses (ValueError if it uses a missing arc)."""
    chosen = _chosen_arcs(problem, rep_of)
    return float(problem.value[chosen].sum())


def is_feasible(problem: AssignmentProblem, rep_of: IntArray, tol: float = 1e-9) -> bool:
    """True when every used arc exists, capacities hold and must-assign accounts are in."""
    try:
        chosen = _chosen_arcs(problem, rep_of)
    except ValueError:
        return False
    load = np.bincount(
        problem.rep[chosen], weights=problem.arc_workload()[chosen], minlength=problem.n_reps
    )
    if np.any(load > problem.capacity + tol):
        return False
    return not np.any(problem.must_assign & (rep_of < 0))


def _chosen_arcs(problem: AssignmentProblem, rep_of: IntArray) -> IntArray:
    """Indices of the arcs (a, rep_of[a]) for assigned accounts."""
    hit = rep_of[problem.account] == problem.rep
    chosen = np.flatnonzero(hit)
    if chosen.shape[0] != int(np.count_nonzero(rep_of >= 0)):
        raise ValueError("solution uses an arc that is not in the problem (or duplicates)")
    return chosen.astype(np.int64)


def with_continuity_penalty(
    value: FloatArray, rep: IntArray, current: IntArray, penalty: float
) -> FloatArray:
    """Arc values net of the cost of moving an active lease to another rep.

    `current[k]` is the rep now holding arc k's account (-1 when unleased).

    >>> with_continuity_penalty(np.array([10.0, 12.0]), np.array([0, 1]),
    ...                         np.array([0, 0]), 5.0).tolist()
    [10.0, 7.0]
    """
    moved = (current >= 0) & (rep != current)
    return np.where(moved, value - penalty, value)


def top_k_arcs(account: IntArray, value: FloatArray, k: int) -> IntArray:
    """Indices of each account's k most valuable arcs (the eligible shortlist).

    >>> top_k_arcs(np.array([0, 0, 0, 1]), np.array([1.0, 3.0, 2.0, 5.0]), 2).tolist()
    [1, 2, 3]
    """
    order = np.lexsort((-value, account))
    sorted_acc = account[order]
    starts = np.searchsorted(sorted_acc, sorted_acc, side="left")
    rank = np.arange(order.shape[0]) - starts
    return np.sort(order[rank < k]).astype(np.int64)


def moved_count(rep_of: IntArray, current: Sequence[int] | IntArray) -> int:
    """How many accounts changed rep (an account leaving a lease counts as a move)."""
    cur = np.asarray(current, dtype=np.int64)
    return int(np.count_nonzero((cur >= 0) & (rep_of != cur)))
