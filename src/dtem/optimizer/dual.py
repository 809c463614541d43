"""A dual bound for the count-capacity LP, built from a primal solution.

LP: max Σ v·x  s.t. Σ_r x_ar ≤ 1 (= 1 for must-assign), Σ_a x_ar ≤ c_r, x ≥ 0.
Dual: min Σ_r c_r·u_r + Σ_a y_a  with u ≥ 0, y_a ≥ v_ar − u_r (and y_a ≥ 0 unless
must-assign). For any prices u ≥ 0 the best y follows, so every u gives a valid upper
bound (weak duality). We take u from the primal solution's complementary slackness,
which is a system of difference constraints solved by shortest paths on a graph of reps:
when the primal is optimal those prices make the bound equal the objective — a
certificate of optimality that needs no LP solver (HiGHS needs minutes at 100k × 500).

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(2, [1], [0, 1], [0, 0], [5.0, 3.0])
>>> dual_bound(p, np.array([0, -1]))
5.0
"""

from __future__ import annotations

import numpy as np

from dtem.optimizer.problem import AssignmentProblem, FloatArray, IntArray


def dual_bound(problem: AssignmentProblem, rep_of: IntArray) -> float:
    """Σ c·u + Σ y for prices u derived from `rep_of`: always ≥ the LP optimum."""
    prices = rep_prices(problem, rep_of)
    return bound_for_prices(problem, prices)


def bound_for_prices(problem: AssignmentProblem, prices: FloatArray) -> float:
    """The dual objective for rep prices u ≥ 0 (the best y for those prices)."""
    reduced = problem.value - prices[problem.rep]
    y = np.full(problem.n_accounts, -np.inf)
    np.maximum.at(y, problem.account, reduced)
    y = np.where(problem.must_assign, y, np.maximum(y, 0.0))
    y = np.where(np.isfinite(y), y, 0.0)  # a free account without arcs adds nothing
    return float(np.dot(problem.capacity, prices) + y.sum())


def rep_prices(problem: AssignmentProblem, rep_of: IntArray) -> FloatArray:
    """Smallest prices u ≥ 0 meeting complementary slackness with `rep_of`.

    Node s (index m) has price 0; a constraint u_x − u_y ≤ w is an edge y → x of weight
    w, and u_r = −dist(r, s) solves them all when the primal is optimal.
    """
    weights = _constraint_graph(problem, rep_of)
    dist = _distances_to_sink(weights)
    return np.maximum(-dist[:-1], 0.0)


def _constraint_graph(problem: AssignmentProblem, rep_of: IntArray) -> FloatArray:
    m = problem.n_reps
    s = m
    w = np.full((m + 1, m + 1), np.inf)
    holder = rep_of[problem.account]  # the rep holding each arc's account (-1 = none)
    held_value = np.zeros(problem.n_accounts)
    on = holder == problem.rep
    held_value[problem.account[on]] = problem.value[on]
    # assigned a at r, other arc r': u_r − u_r' ≤ v_ar − v_ar'  (edge r' → r)
    other = (holder >= 0) & ~on
    np.minimum.at(
        w,
        (problem.rep[other], holder[other]),
        held_value[problem.account[other]] - problem.value[other],
    )
    # assigned free a at r: u_r ≤ v_ar  (edge s → r)
    free_on = on & ~problem.must_assign[problem.account]
    np.minimum.at(w, (np.full(int(free_on.sum()), s), problem.rep[free_on]), problem.value[free_on])
    # unassigned a, arc r': u_r' ≥ v_ar'  (edge r' → s of weight −v)
    out = holder < 0
    np.minimum.at(w, (problem.rep[out], np.full(int(out.sum()), s)), -problem.value[out])
    # u_r ≥ 0 (edge r → s, 0); a rep with spare capacity has u_r ≤ 0 (edge s → r, 0)
    w[np.arange(m), s] = np.minimum(w[np.arange(m), s], 0.0)
    load = np.bincount(rep_of[rep_of >= 0], minlength=m)
    spare = np.flatnonzero(load < np.floor(problem.capacity + 1e-9))
    w[s, spare] = np.minimum(w[s, spare], 0.0)
    np.fill_diagonal(w, 0.0)
    return w


def _distances_to_sink(w: FloatArray) -> FloatArray:
    """Bellman-Ford towards the last node on a dense matrix (stops after n rounds)."""
    d = w[:, -1].copy()
    d[-1] = 0.0
    for _ in range(w.shape[0]):
        nxt = np.minimum(d, (w + d[None, :]).min(axis=1))
        if np.array_equal(nxt, d):
            break
        d = nxt
    return d
