"""Tabu search for the generalized assignment, with strategic oscillation.

Moves: shift (one account to another row), swap (two accounts exchange rows) and chain
(j takes k's row, k goes on to a third row: an ejection chain of length two). The
search may overload rows, paying each row's `penalty` per unit of overload; a row's
penalty rises while it is overloaded and slowly falls while it is not, so the search
crosses the capacity boundary instead of stopping at it (Díaz & Fernández 2001; per-row
weights as in Yagiura, Ibaraki & Glover 2004). A move that
sends an account back to a row it just left is tabu for a few iterations unless it
gives a new best feasible solution. Each iteration evaluates every shift and the swaps
and chains of a sample of accounts at once with numpy. After a stall the search restarts from the
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
from collections.abc import Callable

import numpy as np

from dtem.optimizer.gap_start import DenseGap, is_dense_feasible, loads, total_cost
from dtem.optimizer.problem import BoolArray, FloatArray, IntArray

SWAP_SAMPLE = 160


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
        self.penalty = np.full(d.shape[0], self.base_penalty)
        self.tabu = np.zeros((rows, n), dtype=np.int64)
        self.tenure = (2, 2 + max(3, n // 10))
        self.best = agent.copy()
        self.best_cost = self.cost if is_dense_feasible(d, agent) else np.inf
        self.iteration = 0

    def over(self, load: FloatArray, cap: FloatArray) -> FloatArray:
        over: FloatArray = np.maximum(load - cap, 0.0)
        return over

    def step(self) -> bool:
        """One move (the best of shift, swap and chain); True on a new best feasible."""
        d, agent, load, jobs = self.d, self.agent, self.load, self.jobs
        n = d.shape[1]
        own_c, own_r = d.cost[agent, jobs], d.need[agent, jobs]
        excess = self.over(load, d.capacity)
        total_excess = float(excess.sum())
        w = self.penalty
        # shift j to row i
        d_cost = d.cost - own_c
        into = self.over(load[:, None] + d.need, d.capacity[:, None]) - excess[:, None]
        out_of = self.over(load[agent] - own_r, d.capacity[agent]) - excess[agent]
        into[agent, jobs] = -out_of
        d_cost[agent, jobs] = np.inf
        tabu = self.tabu > self.iteration
        shift = self._score(d_cost, into + out_of, w[:, None] * into + w[agent] * out_of,
                            tabu, total_excess)  # fmt: skip
        # j (in the sample) takes k's place; k goes to j's row (swap) or a third (chain).
        # Row k of `at_k` holds every account's figure on k's row (row gathers are cheap).
        js = jobs if n <= SWAP_SAMPLE else self.rng.choice(n, SWAP_SAMPLE, replace=False)
        cost_at_k, need_at_k, tabu_at_k = d.cost[agent], d.need[agent], tabu[agent]
        a_j, a_k = agent[js][:, None], agent[None, :]
        j_in = cost_at_k[:, js].T - own_c[js][:, None] - own_c
        load_b = load[a_k] - own_r[None, :] + need_at_k[:, js].T
        d_b = self.over(load_b, d.capacity[a_k]) - excess[a_k]
        d_a_out = out_of[js][:, None]
        j_tabu = tabu_at_k[:, js].T
        same = a_j == a_k
        # swap
        load_a = load[a_j] - own_r[js][:, None] + need_at_k[js]
        d_a = self.over(load_a, d.capacity[a_j]) - excess[a_j]
        s_cost = np.where(same, np.inf, j_in + cost_at_k[js])
        swap = self._score(s_cost, d_a + d_b, w[a_j] * d_a + w[a_k] * d_b,
                           j_tabu | tabu_at_k[js], total_excess)  # fmt: skip
        # chain: k to its best row other than its own and j's
        insert = d.cost + w[:, None] * into
        insert[agent, jobs] = np.inf
        if d.shape[0] > 2:
            two = np.argpartition(insert, 1, axis=0)[:2]
            first_is_j = two[0][None, :] == a_j
            pick = [np.where(first_is_j, f[two[1], jobs], f[two[0], jobs])
                    for f in (d.cost, into, tabu, insert)]  # fmt: skip
            third = np.where(first_is_j, two[1], two[0])
            c_cost = np.where(same | ~np.isfinite(pick[3]), np.inf, j_in + pick[0])
            chain = self._score(c_cost, d_a_out + d_b + pick[1],
                                w[a_j] * d_a_out + w[a_k] * d_b + w[third] * pick[1],
                                j_tabu | pick[2], total_excess)  # fmt: skip
        else:
            chain, third = np.full(j_in.shape, np.inf), np.zeros(j_in.shape, dtype=np.int64)
        return self._apply(shift, swap, chain, third, d_cost, js)

    def _apply(
        self,
        shift: FloatArray,
        swap: FloatArray,
        chain: FloatArray,
        third: IntArray,
        d_cost: FloatArray,
        js: IntArray,
    ) -> bool:
        d, agent, n = self.d, self.agent, self.d.shape[1]
        best = [int(np.argmin(m)) for m in (shift, swap, chain)]
        values = [float(m.flat[b]) for m, b in zip((shift, swap, chain), best, strict=True)]
        kind = int(np.argmin(values))
        if not np.isfinite(values[kind]):
            self.iteration += 1
            return False
        if kind == 0:
            i, j = divmod(best[0], n)
            self._move(j, i, float(d_cost.flat[best[0]]))
            return self._after_move()
        jj, k = divmod(best[kind], n)
        j = int(js[jj])
        i_j, i_k = int(agent[j]), int(agent[k])
        to = i_j if kind == 1 else int(third.flat[best[kind]])
        self._move(j, i_k, float(d.cost[i_k, j] - d.cost[i_j, j]))
        self._move(k, to, float(d.cost[to, k] - d.cost[i_k, k]))
        return self._after_move()

    def _score(
        self,
        d_cost: FloatArray,
        d_ex: FloatArray,
        d_penalty: FloatArray,
        tabu: BoolArray,
        total_excess: float,
    ) -> FloatArray:
        """Penalised move values; tabu moves are out unless they give a new best
        feasible solution (aspiration)."""
        score = d_cost + d_penalty
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
        overloaded = self.load > self.d.capacity + 1e-9
        self.penalty *= np.where(overloaded, 1.2, 0.98)
        np.clip(self.penalty, self.base_penalty * 1e-3, self.base_penalty * 1e3, out=self.penalty)
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
        self.penalty = np.full(d.shape[0], self.base_penalty)
        self.tabu[:] = 0


def tabu_search(
    d: DenseGap,
    start: IntArray,
    seconds: float,
    seed: int = 0,
    target: float = -np.inf,
    max_stalls: int = 5,
    max_iterations: int | None = None,
    on_best: Callable[[IntArray], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IntArray:
    """The best feasible rows found from `start` within `seconds` (`start` itself when
    nothing feasible beats it). Stops early at `target` cost, after `max_iterations`
    moves, or after `max_stalls` restarts in a row that found nothing better."""
    deadline = time.perf_counter() + seconds
    search = _Search(d, start, seed)
    _, n = d.shape
    patience = 10 * n + 20
    since_best, stalls = 0, 0
    limit = max_iterations if max_iterations is not None else np.iinfo(np.int64).max
    while (
        time.perf_counter() < deadline
        and search.best_cost > target + 1e-9
        and search.iteration < limit
        and not (should_stop is not None and search.iteration % 16 == 0 and should_stop())
    ):
        if search.step():
            since_best, stalls = 0, 0
            if on_best is not None:
                on_best(search.best)
            continue
        since_best += 1
        if since_best >= patience:
            stalls += 1
            if stalls >= max_stalls:
                break
            since_best = 0
            search.kick()
    return search.best
