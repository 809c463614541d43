"""Tabu search for the generalized assignment, with strategic oscillation.

Shift (one account to another row) and swap (two accounts exchange rows) moves; the
search may overload rows, paying `penalty` per unit of overload, and the penalty rises
while the solution is infeasible and falls while it is feasible, so the search crosses
the capacity boundary instead of stopping at it (Díaz & Fernández 2001). A move that
sends an account back to a row it just left is tabu for a few iterations unless it
gives a new best feasible solution. Each iteration evaluates every shift and the swaps
of a sample of accounts at once with numpy. After a stall the search restarts from the
best solution with a few random shifts. Deterministic for a given seed and budget.

>>> from dtem.optimizer.problem import AssignmentProblem
>>> from dtem.optimizer.gap_start import dense_gap, total_cost
>>> p = AssignmentProblem.from_arrays(2, [4, 4], [0, 0, 1, 1], [0, 1, 0, 1],
...     [5.0, 4.0, 5.0, 1.0], workload=[3, 3, 3, 3], must_assign=[True, True])
>>> d = dense_gap(p)
>>> total_cost(d, tabu_search(d, np.array([0, 0]), seconds=1.0))
-9.0
"""

from __future__ import annotations

import time

import numpy as np

from dtem.optimizer.gap_start import DenseGap, is_dense_feasible, loads, total_cost
from dtem.optimizer.problem import FloatArray, IntArray

SWAP_SAMPLE = 160  # accounts whose swaps are evaluated per iteration


class _Search:
    """The moving state of one search: rows, loads, penalty, tabu list, best."""

    def __init__(self, d: DenseGap, agent: IntArray, seed: int) -> None:
        self.d = d
        self.rng = np.random.default_rng(seed)
        rows, n = d.shape
        self.jobs = np.arange(n)
        self.agent = agent.copy()
        self.load = loads(d, agent)
        self.cost = total_cost(d, agent)
        finite = d.cost[np.isfinite(d.cost)]
        spread = float(finite.max() - finite.min()) if finite.size else 1.0
        self.base_penalty = max(spread, 1e-9) / max(float(d.need.mean()), 1e-9)
        self.penalty = self.base_penalty
        self.tabu = np.zeros((rows, n), dtype=np.int64)
        self.tenure = (2, 2 + max(3, n // 10))
        self.best = agent.copy()
        self.best_cost = self.cost if is_dense_feasible(d, agent) else np.inf
        self.iteration = 0

    def over(self, load: FloatArray, cap: FloatArray) -> FloatArray:
        over: FloatArray = np.maximum(load - cap, 0.0)
        return over

    def step(self) -> bool:
        """One move; True when it found a new best feasible solution."""
        d, agent, load, jobs = self.d, self.agent, self.load, self.jobs
        n = d.shape[1]
        own_c, own_r = d.cost[agent, jobs], d.need[agent, jobs]
        excess = self.over(load, d.capacity)
        total_excess = float(excess.sum())
        # shift j to row i
        d_cost = d.cost - own_c
        d_ex = (self.over(load[:, None] + d.need, d.capacity[:, None]) - excess[:, None]
                + self.over(load[agent] - own_r, d.capacity[agent]) - excess[agent])  # fmt: skip
        d_ex[agent, jobs] = 0.0
        d_cost[agent, jobs] = np.inf
        shift = self._score(d_cost, d_ex, self.tabu > self.iteration, total_excess)
        # swap j (in the sample) with k
        js = jobs if n <= SWAP_SAMPLE else self.rng.choice(n, SWAP_SAMPLE, replace=False)
        a_j, a_k = agent[js][:, None], agent[None, :]
        s_cost = d.cost[a_k, js[:, None]] + d.cost[a_j, jobs[None, :]] - own_c[js][:, None] - own_c
        load_a = load[a_j] - own_r[js][:, None] + d.need[a_j, jobs[None, :]]
        load_b = load[a_k] - own_r[None, :] + d.need[a_k, js[:, None]]
        s_ex = (self.over(load_a, d.capacity[a_j]) - excess[a_j]
                + self.over(load_b, d.capacity[a_k]) - excess[a_k])  # fmt: skip
        s_cost[a_j == a_k] = np.inf
        tabu = (self.tabu[a_k, js[:, None]] > self.iteration) | (
            self.tabu[a_j, jobs[None, :]] > self.iteration
        )
        swap = self._score(s_cost, s_ex, tabu, total_excess)
        s, w = int(np.argmin(shift)), int(np.argmin(swap))
        if not (np.isfinite(shift.flat[s]) or np.isfinite(swap.flat[w])):
            self.iteration += 1
            return False
        if shift.flat[s] <= swap.flat[w]:
            i, j = divmod(s, n)
            self._move(j, i, float(d_cost.flat[s]))
        else:
            jj, k = divmod(w, n)
            j = int(js[jj])
            i_j, i_k = int(agent[j]), int(agent[k])
            self._move(j, i_k, float(d.cost[i_k, j] - d.cost[i_j, j]))
            self._move(k, i_j, float(d.cost[i_j, k] - d.cost[i_k, k]))
        return self._after_move()

    def _score(
        self, d_cost: np.ndarray, d_ex: np.ndarray, tabu: np.ndarray, total_excess: float
    ) -> np.ndarray:
        """Penalised move values; tabu moves are out unless they give a new best
        feasible solution (aspiration)."""
        score = d_cost + self.penalty * d_ex
        aspires = (total_excess + d_ex <= 1e-9) & (self.cost + d_cost < self.best_cost - 1e-9)
        score[tabu & ~aspires] = np.inf
        return score

    def _move(self, j: int, to: int, d_cost: float) -> None:
        d = self.d
        came = int(self.agent[j])
        self.load[came] -= d.need[came, j]
        self.load[to] += d.need[to, j]
        self.agent[j] = to
        self.cost += d_cost
        self.tabu[came, j] = self.iteration + int(self.rng.integers(*self.tenure))

    def _after_move(self) -> bool:
        self.iteration += 1
        feasible = bool(np.all(self.load <= self.d.capacity + 1e-9))
        self.penalty *= 0.9 if feasible else 1.1
        self.penalty = min(max(self.penalty, self.base_penalty * 1e-3), self.base_penalty * 1e3)
        if feasible and self.cost < self.best_cost - 1e-9:
            self.best, self.best_cost = self.agent.copy(), total_cost(self.d, self.agent)
            return True
        return False

    def kick(self) -> None:
        """Restart from the best solution with a few random shifts."""
        d = self.d
        n = d.shape[1]
        self.agent = self.best.copy()
        for j in self.rng.choice(n, min(n, max(2, n // 20)), replace=False):
            options = np.flatnonzero(np.isfinite(d.cost[:, j]))
            if options.shape[0]:
                self.agent[j] = int(self.rng.choice(options))
        self.load = loads(d, self.agent)
        self.cost = total_cost(d, self.agent)
        self.penalty = self.base_penalty
        self.tabu[:] = 0


def tabu_search(
    d: DenseGap,
    start: IntArray,
    seconds: float,
    seed: int = 0,
    target: float = -np.inf,
    max_stalls: int = 5,
) -> IntArray:
    """The best feasible rows found from `start` within `seconds` (`start` itself when
    nothing feasible beats it). Stops early at `target` cost or after `max_stalls`
    restarts in a row that found nothing better."""
    deadline = time.perf_counter() + seconds
    search = _Search(d, start, seed)
    _, n = d.shape
    patience = 10 * n + 20
    since_best, stalls = 0, 0
    while time.perf_counter() < deadline and search.best_cost > target + 1e-9:
        if search.step():
            since_best, stalls = 0, 0
            continue
        since_best += 1
        if since_best >= patience:
            stalls += 1
            if stalls >= max_stalls:
                break
            since_best = 0
            search.kick()
    return search.best
