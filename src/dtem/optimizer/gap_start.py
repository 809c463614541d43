"""A generalized assignment on dense arrays, a regret construction and shift/swap descent.

The MIP's bound on hour-capacity rebalances is tight but its incumbent can lag; these
give it (and the tabu search in `gap_tabu`) a good feasible start. Rows are reps; when
some account may stay unassigned, one extra row, the *sink*, takes it at no cost and
without capacity. Costs are the negated arc values (`inf` where there is no arc).

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(3, [10], [0, 1, 2], [0, 0, 0], [6.0, 5.0, 5.0],
...                                   workload=[10, 5, 5])
>>> d = dense_gap(p)
>>> rep_of_dense(d, descend(d, regret_start(d))).tolist()  # a local optimum: 6 < 10
[0, -1, -1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtem.optimizer.problem import AssignmentProblem, FloatArray, IntArray

# Above this many rep × account cells the dense heuristics would cost too much memory;
# the MIP then runs alone.
MAX_DENSE_CELLS = 4_000_000


@dataclass(frozen=True)
class DenseGap:
    """Minimise Σ cost[agent[j], j] with Σ need over each row's jobs ≤ capacity."""

    cost: FloatArray  # (rows, accounts), inf where no arc
    need: FloatArray  # (rows, accounts), 0 where no arc
    capacity: FloatArray  # (rows,), inf for the sink
    sink: bool  # the last row is "unassigned"

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.cost.shape[0]), int(self.cost.shape[1])


def dense_gap(problem: AssignmentProblem) -> DenseGap | None:
    """The problem as dense matrices, or None when it is too large for them."""
    sink = bool(not np.all(problem.must_assign))
    rows, n = problem.n_reps + int(sink), problem.n_accounts
    if rows * n > MAX_DENSE_CELLS or n == 0:
        return None
    cost = np.full((rows, n), np.inf)
    need = np.zeros((rows, n))
    # the best arc wins should an (account, rep) pair repeat
    order = np.argsort(problem.value, kind="stable")
    cost[problem.rep[order], problem.account[order]] = -problem.value[order]
    need[problem.rep[order], problem.account[order]] = problem.arc_workload()[order]
    capacity = problem.capacity.astype(np.float64)
    if sink:
        cost[-1, ~problem.must_assign] = 0.0
        capacity = np.append(capacity, np.inf)
    return DenseGap(cost, need, capacity, sink)


def rep_of_dense(d: DenseGap, agent: IntArray) -> IntArray:
    """Rep index of each account (-1 for the sink)."""
    rep_of = agent.astype(np.int64).copy()
    if d.sink:
        rep_of[rep_of == d.shape[0] - 1] = -1
    return rep_of


def agent_of(d: DenseGap, rep_of: IntArray) -> IntArray:
    """The inverse of `rep_of_dense`."""
    return np.where(rep_of < 0, d.shape[0] - 1, rep_of).astype(np.int64)


def total_cost(d: DenseGap, agent: IntArray) -> float:
    return float(d.cost[agent, np.arange(agent.shape[0])].sum())


def loads(d: DenseGap, agent: IntArray) -> FloatArray:
    """The load of every row."""
    load: FloatArray = np.bincount(
        agent, weights=d.need[agent, np.arange(agent.shape[0])], minlength=d.shape[0]
    ).astype(np.float64)
    return load


def is_dense_feasible(d: DenseGap, agent: IntArray) -> bool:
    jobs = np.arange(agent.shape[0])
    if not np.all(np.isfinite(d.cost[agent, jobs])):
        return False
    return bool(np.all(loads(d, agent) <= d.capacity + 1e-9))


def regret_start(d: DenseGap) -> IntArray | None:
    """Martello–Toth regret construction, the cheapest of four desirability measures
    (cost, need, need / capacity, cost × need) after descent; None when all get stuck."""
    descended = [descend(d, agent) for agent in regret_constructions(d)]
    return min(descended, key=lambda a: total_cost(d, a), default=None)


def regret_construction(d: DenseGap) -> IntArray | None:
    """The cheapest of the four regret constructions, without descent (fast: the
    descent's all-pairs swaps cost O(n²) per step on large instances)."""
    return min(regret_constructions(d), key=lambda a: total_cost(d, a), default=None)


def regret_constructions(d: DenseGap) -> list[IntArray]:
    """The regret construction under each desirability measure that does not get stuck."""
    cost = np.where(np.isfinite(d.cost), d.cost, 0.0)
    shifted = cost - cost.min() + 1.0  # positive, so cost × need ranks as intended
    share = d.need / np.where(d.capacity > 0, d.capacity, np.inf)[:, None]  # inf: sink
    built = []
    for desirability in (shifted, d.need, share, shifted * d.need):
        agent = _regret_with(d, np.where(np.isfinite(d.cost), desirability, np.inf))
        if agent is not None:
            built.append(agent)
    return built


def _regret_with(d: DenseGap, desirability: FloatArray) -> IntArray | None:
    """Repeatedly place the account whose best and second-best rows that still fit
    differ most (by `desirability`, lower is better) on its best row."""
    rows, n = d.shape
    left = d.capacity.copy()
    agent = np.full(n, -1, dtype=np.int64)
    free = np.arange(n)
    while free.shape[0]:
        fits = d.need[:, free] <= left[:, None] + 1e-9
        score = np.where(fits, desirability[:, free], np.inf)
        two = np.partition(score, 1, axis=0)[:2] if rows > 1 else np.vstack([score, score])
        if not np.all(np.isfinite(two[0])):
            return None
        regret = np.where(np.isfinite(two[1]), two[1] - two[0], np.inf) if rows > 1 else two[0]
        pick = int(np.argmax(regret))
        j = int(free[pick])
        i = int(np.argmin(score[:, pick]))
        agent[j] = i
        left[i] -= d.need[i, j]
        free = np.delete(free, pick)
    return agent


def descend(d: DenseGap, agent: IntArray) -> IntArray:
    """Best-improvement shift/swap descent among feasible solutions until no move
    lowers the cost (vectorised over all moves of a kind at each step)."""
    agent = agent.copy()
    rows, n = d.shape
    jobs = np.arange(n)
    while True:
        own_c, own_r = d.cost[agent, jobs], d.need[agent, jobs]
        load = np.bincount(agent, weights=own_r, minlength=rows)
        shift = d.cost - own_c
        shift[
            (load[:, None] + d.need > d.capacity[:, None] + 1e-9)
            | (agent == np.arange(rows)[:, None])
        ] = np.inf
        c_in, w_in = d.cost[agent[None, :], jobs[:, None]], d.need[agent[None, :], jobs[:, None]]
        swap = c_in + c_in.T - own_c[:, None] - own_c[None, :]
        load_j = load[agent][:, None] - own_r[:, None] + w_in.T
        load_k = load[agent][None, :] - own_r[None, :] + w_in
        cap = d.capacity[agent] + 1e-9
        swap[(load_j > cap[:, None]) | (load_k > cap[None, :])
             | (agent[:, None] == agent[None, :])] = np.inf  # fmt: skip
        s = np.unravel_index(int(np.argmin(shift)), shift.shape)
        w = np.unravel_index(int(np.argmin(swap)), swap.shape)
        if min(shift[s], swap[w]) >= -1e-9:
            return agent
        if shift[s] <= swap[w]:
            agent[s[1]] = s[0]
        else:
            agent[w[0]], agent[w[1]] = agent[w[1]], agent[w[0]]
