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
from dataclasses import dataclass

import numpy as np

from dtem.optimizer.gap_start import DenseGap, is_dense_feasible, loads, total_cost
from dtem.optimizer.problem import BoolArray, FloatArray, IntArray

SWAP_SAMPLE = 160  # accounts whose swaps and chains are evaluated per iteration
ADOPT_EVERY = 256  # moves between looks at a better solution found elsewhere
YIELD_AFTER = 8  # looks in a row without a new best of its own before it stops


@dataclass(frozen=True)
class _Pairs:
    """Per (j in the sample, k) figures shared by swaps and chains."""

    js: IntArray
    a_j: IntArray
    a_k: IntArray
    same: BoolArray
    j_in: FloatArray  # cost change of j onto k's row, k and j leaving theirs
    d_b: FloatArray  # overload change on k's row
    d_a_out: FloatArray  # overload change on j's row as j leaves
    j_tabu: BoolArray
    cost_at_j: FloatArray
    need_at_j: FloatArray
    tabu_at_j: BoolArray


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
        own_c, own_r = d.cost[agent, jobs], d.need[agent, jobs]
        excess = self.over(load, d.capacity)
        w, total_excess = self.penalty, float(excess.sum())
        # shift j to row i
        d_cost = d.cost - own_c
        into = self.over(load[:, None] + d.need, d.capacity[:, None]) - excess[:, None]
        out_of = self.over(load[agent] - own_r, d.capacity[agent]) - excess[agent]
        into[agent, jobs] = -out_of
        d_cost[agent, jobs] = np.inf
        tabu = self.tabu > self.iteration
        shift = self._score(d_cost, into + out_of, w[:, None] * into + w[agent] * out_of,
                            tabu, total_excess)  # fmt: skip
        pairs = self._pairs(own_c, own_r, excess, out_of, tabu)
        swap = self._swaps(pairs, own_r, excess, total_excess)
        chain, third = self._chains(pairs, into, tabu, total_excess)
        return self._apply(shift, swap, chain, third, d_cost, pairs.js)

    def _pairs(
        self,
        own_c: FloatArray,
        own_r: FloatArray,
        excess: FloatArray,
        out_of: FloatArray,
        tabu: BoolArray,
    ) -> _Pairs:
        """What every move "j (in a sample) takes k's row" shares. Row k of the `*_at_k`
        gathers holds every account's figure on k's row (row gathers are cheap)."""
        d, agent, load, n = self.d, self.agent, self.load, self.d.shape[1]
        js = self.jobs if n <= SWAP_SAMPLE else self.rng.choice(n, SWAP_SAMPLE, replace=False)
        cost_at_k, need_at_k, tabu_at_k = d.cost[agent], d.need[agent], tabu[agent]
        a_j, a_k = agent[js][:, None], agent[None, :]
        load_b = load[a_k] - own_r[None, :] + need_at_k[:, js].T
        return _Pairs(
            js=js, a_j=a_j, a_k=a_k, same=a_j == a_k,
            j_in=cost_at_k[:, js].T - own_c[js][:, None] - own_c,
            d_b=self.over(load_b, d.capacity[a_k]) - excess[a_k],
            d_a_out=out_of[js][:, None], j_tabu=tabu_at_k[:, js].T,
            cost_at_j=cost_at_k[js], need_at_j=need_at_k[js], tabu_at_j=tabu_at_k[js],
        )  # fmt: skip

    def _swaps(
        self, p: _Pairs, own_r: FloatArray, excess: FloatArray, total_excess: float
    ) -> FloatArray:
        """Scores of j and k exchanging rows."""
        w, cap = self.penalty, self.d.capacity
        load_a = self.load[p.a_j] - own_r[p.js][:, None] + p.need_at_j
        d_a = self.over(load_a, cap[p.a_j]) - excess[p.a_j]
        s_cost = np.where(p.same, np.inf, p.j_in + p.cost_at_j)
        return self._score(s_cost, d_a + p.d_b, w[p.a_j] * d_a + w[p.a_k] * p.d_b,
                           p.j_tabu | p.tabu_at_j, total_excess)  # fmt: skip

    def _chains(
        self, p: _Pairs, into: FloatArray, tabu: BoolArray, total_excess: float
    ) -> tuple[FloatArray, IntArray]:
        """Scores of j taking k's row while k moves on to its best other row (not j's),
        and that row."""
        d, w, jobs = self.d, self.penalty, self.jobs
        if d.shape[0] <= 2:
            return np.full(p.j_in.shape, np.inf), np.zeros(p.j_in.shape, dtype=np.int64)
        insert = d.cost + w[:, None] * into
        insert[self.agent, jobs] = np.inf
        two = np.argpartition(insert, 1, axis=0)[:2]
        first_is_j = two[0][None, :] == p.a_j
        pick = [np.where(first_is_j, f[two[1], jobs], f[two[0], jobs])
                for f in (d.cost, into, tabu, insert)]  # fmt: skip
        third = np.where(first_is_j, two[1], two[0])
        c_cost = np.where(p.same | ~np.isfinite(pick[3]), np.inf, p.j_in + pick[0])
        penalty = w[p.a_j] * p.d_a_out + w[p.a_k] * p.d_b + w[third] * pick[1]
        chain = self._score(c_cost, p.d_a_out + p.d_b + pick[1], penalty,
                            p.j_tabu | pick[2], total_excess)  # fmt: skip
        return chain, third

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

    def adopt(self, agent: IntArray | None) -> bool:
        """Take `agent` as the best when it is feasible and better."""
        if agent is None or not is_dense_feasible(self.d, agent):
            return False
        cost = total_cost(self.d, agent)
        if cost >= self.best_cost - 1e-9:
            return False
        self.best, self.best_cost = agent.copy(), cost
        return True

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
    adopt: Callable[[], IntArray | None] | None = None,
) -> IntArray:
    """The best feasible rows found from `start` within `seconds` (`start` itself when
    nothing feasible beats it). Stops early at `target` cost, after `max_iterations`
    moves, or after `max_stalls` restarts in a row that found nothing better.
    `on_best` hears of every new best; every `ADOPT_EVERY` moves `adopt` may offer a
    solution found elsewhere (the MIP's incumbent): when it is better, the search
    restarts from it. With `adopt`, the search also stops after `YIELD_AFTER` looks in
    a row without a new best of its own: on a shared machine its core is then better
    spent on the MIP."""
    deadline = time.perf_counter() + seconds
    search = _Search(d, start, seed)
    patience = 10 * d.shape[1] + 20
    since_best, stalls, idle, found = 0, 0, 0, False
    limit = max_iterations if max_iterations is not None else np.iinfo(np.int64).max
    while (
        time.perf_counter() < deadline
        and search.best_cost > target + 1e-9
        and search.iteration < limit
        and not (should_stop is not None and search.iteration % 16 == 0 and should_stop())
    ):
        if search.step():
            since_best, stalls, found = 0, 0, True
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
        if adopt is not None and search.iteration % ADOPT_EVERY == 0:
            idle = 0 if found else idle + 1
            found = False
            if search.adopt(adopt()):
                since_best, stalls = 0, 0
                search.kick()
            if idle >= YIELD_AFTER:
                break  # nothing new for a while: the other core is the MIP's
    return search.best
