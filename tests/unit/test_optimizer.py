"""The batch solvers against brute force on tiny instances, and their bounds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtem.optimizer import (
    AssignmentProblem,
    assign_count_capacity,
    assign_gap,
    assign_greedy,
    lp_bound,
)
from dtem.optimizer.dual import bound_for_prices
from dtem.optimizer.problem import is_feasible, moved_count, top_k_arcs, with_continuity_penalty


def brute_force(p: AssignmentProblem) -> float | None:
    """The optimum by enumeration (None when no assignment is feasible)."""
    options = [
        ([-1] if not p.must_assign[a] else []) + np.flatnonzero(p.account == a).tolist()
        for a in range(p.n_accounts)
    ]
    best: float | None = None
    work = p.arc_workload()
    for combo in itertools.product(*options):
        arcs = [k for k in combo if k >= 0]
        load = np.bincount(p.rep[arcs], weights=work[arcs], minlength=p.n_reps)
        if np.any(load > p.capacity + 1e-9):
            continue
        total = float(p.value[arcs].sum())
        best = total if best is None else max(best, total)
    return best


@st.composite
def instances(draw: st.DrawFn, workloads: bool = False) -> AssignmentProblem:
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 3))
    pairs = [(a, r) for a in range(n) for r in range(m)]
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    arcs = [pr for pr, k in zip(pairs, keep, strict=True) if k] or [pairs[0]]
    values = draw(st.lists(st.integers(-5, 30), min_size=len(arcs), max_size=len(arcs)))
    must = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    must = [mu and any(a == i for a, _ in arcs) for i, mu in enumerate(must)]
    if workloads:
        cap = draw(st.lists(st.integers(0, 12), min_size=m, max_size=m))
        work = draw(st.lists(st.integers(1, 6), min_size=len(arcs), max_size=len(arcs)))
    else:
        cap = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
        work = None
    return AssignmentProblem.from_arrays(
        n,
        cap,
        [a for a, _ in arcs],
        [r for _, r in arcs],
        [v / 3 for v in values],  # non-integral money
        workload=work,
        must_assign=must,
    )


@settings(max_examples=150, deadline=None)
@given(instances())
def test_min_cost_flow_matches_brute_force_and_certifies_its_bound(p: AssignmentProblem) -> None:
    best = brute_force(p)
    if best is None:
        with pytest.raises(ValueError):
            assign_count_capacity(p)
        return
    sol = assign_count_capacity(p)
    assert is_feasible(p, sol.rep_of)
    assert sol.objective == pytest.approx(best, abs=1e-6)
    assert sol.bound == pytest.approx(best, abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_highs_lp_bound_equals_the_flow_optimum(p: AssignmentProblem) -> None:
    best = brute_force(p)
    if best is None:
        return
    assert lp_bound(p) == pytest.approx(assign_count_capacity(p).objective, abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(workloads=True))
def test_gap_mip_matches_brute_force(p: AssignmentProblem) -> None:
    best = brute_force(p)
    sol = assign_gap(p, time_limit=10)
    if best is None:
        assert sol.status == "infeasible"
        return
    assert sol.status == "optimal"
    assert is_feasible(p, sol.rep_of)
    assert sol.objective == pytest.approx(best, abs=1e-6)
    assert sol.lp_bound >= best - 1e-6


@settings(max_examples=100, deadline=None)
@given(instances(workloads=True))
def test_greedy_is_feasible_and_never_beats_the_optimum(p: AssignmentProblem) -> None:
    best = brute_force(p)
    greedy = assign_greedy(p)
    if greedy.status == "feasible":
        assert is_feasible(p, greedy.rep_of)
        assert best is not None and greedy.objective <= best + 1e-9


@settings(max_examples=100, deadline=None)
@given(instances(), st.lists(st.floats(0, 20), min_size=3, max_size=3))
def test_any_rep_prices_give_a_valid_upper_bound(p: AssignmentProblem, u: list[float]) -> None:
    best = brute_force(p)
    if best is not None:
        assert bound_for_prices(p, np.asarray(u[: p.n_reps])) >= best - 1e-9


def _two_reps_one_lease(penalty: float, gain: float) -> AssignmentProblem:
    """Account 0 is leased to rep 0; rep 1 would be worth `gain` more before the penalty."""
    value = np.array([100.0, 100.0 + gain])
    reps = np.array([0, 1])
    net = with_continuity_penalty(value, reps, np.array([0, 0]), penalty)
    return AssignmentProblem.from_arrays(1, [1, 1], [0, 0], reps, net, must_assign=[True])


def test_continuity_penalty_prevents_a_pointless_move() -> None:
    sol = assign_count_capacity(_two_reps_one_lease(penalty=500.0, gain=50.0))
    assert sol.rep_of.tolist() == [0]
    assert moved_count(sol.rep_of, [0]) == 0


def test_a_move_worth_more_than_the_penalty_happens() -> None:
    sol = assign_count_capacity(_two_reps_one_lease(penalty=500.0, gain=800.0))
    assert sol.rep_of.tolist() == [1]
    assert sol.objective == pytest.approx(400.0)
    assert moved_count(sol.rep_of, [0]) == 1


def test_capacity_below_demand_leaves_the_least_valuable_accounts_unassigned() -> None:
    p = AssignmentProblem.from_arrays(4, [2], [0, 1, 2, 3], [0, 0, 0, 0], [1.0, 9.0, 5.0, 3.0])
    sol = assign_count_capacity(p)
    assert sol.rep_of.tolist() == [-1, 0, 0, -1]
    assert sol.objective == 14.0 and sol.gap == 0.0


def test_optimum_beats_greedy_where_greedy_blocks_a_better_pair() -> None:
    p = AssignmentProblem.from_arrays(2, [1, 1], [0, 0, 1], [0, 1, 0], [5.0, 4.0, 4.5])
    assert assign_greedy(p).objective == 5.0
    assert assign_count_capacity(p).objective == 8.5


def test_greedy_keeps_the_status_quo_first() -> None:
    p = AssignmentProblem.from_arrays(2, [1], [0, 1], [0, 0], [1.0, 9.0])
    sol = assign_greedy(p, initial=np.array([0, -1]))
    assert sol.rep_of.tolist() == [0, -1]


def test_top_k_keeps_each_accounts_best_arcs() -> None:
    account = np.array([0, 0, 0, 1, 1])
    value = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    assert top_k_arcs(account, value, 1).tolist() == [1, 3]


def test_random_instance_flow_equals_highs_lp_to_1e6() -> None:
    rng = np.random.default_rng(7)
    n, m, k = 300, 12, 5
    acc = np.repeat(np.arange(n), k)
    rep = np.concatenate([rng.choice(m, k, replace=False) for _ in range(n)])
    p = AssignmentProblem.from_arrays(n, rng.integers(5, 20, m), acc, rep, rng.gamma(2, 900, n * k))
    sol = assign_count_capacity(p)
    assert math.isclose(sol.objective, lp_bound(p), rel_tol=1e-6)
    assert math.isclose(sol.bound, sol.objective, rel_tol=1e-9)


def test_workloads_are_rejected_by_the_flow_solver() -> None:
    p = AssignmentProblem.from_arrays(1, [5], [0], [0], [1.0], workload=[2.0])
    with pytest.raises(ValueError, match="GAP"):
        assign_count_capacity(p)


def _greedy_walk(p: AssignmentProblem, initial: np.ndarray) -> list[int]:
    """Greedy as its definition reads: status quo first, then every arc by value."""
    rep_of, load = [-1] * p.n_accounts, [0.0] * p.n_reps
    w = p.arc_workload()
    for k in range(p.n_arcs):
        a, r = int(p.account[k]), int(p.rep[k])
        if initial[a] == r:
            rep_of[a], load[r] = r, load[r] + float(w[k])
    for k in np.argsort(-p.value, kind="stable").tolist():
        a, r = int(p.account[k]), int(p.rep[k])
        if rep_of[a] >= 0 or (p.value[k] <= 0 and not p.must_assign[a]):
            continue
        if load[r] + w[k] > p.capacity[r] + 1e-9:
            continue
        rep_of[a], load[r] = r, load[r] + float(w[k])
    return rep_of


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9000), st.booleans())
def test_greedy_takes_what_the_arc_by_arc_walk_takes(seed: int, n_arcs: int, hours: bool) -> None:
    rng = np.random.default_rng(seed)
    n, m = max(1, n_arcs // 4), int(rng.integers(1, 30))
    pairs = np.unique(rng.integers(0, n, n_arcs) * m + rng.integers(0, m, n_arcs))
    account, rep, n_arcs = pairs // m, pairs % m, pairs.shape[0]  # each (account, rep) once
    value = rng.choice([-1.0, 0.0, 1.0, 2.0, 3.5], n_arcs) * rng.random(n_arcs).round(1)
    workload = rng.choice([0.5, 1.0, 2.0], n_arcs) if hours else None
    p = AssignmentProblem.from_arrays(
        n, rng.integers(0, 6, m).astype(float), account, rep, value, workload,
        rng.random(n) < 0.1,
    )  # fmt: skip
    initial = np.where(rng.random(n) < 0.2, rng.integers(0, m, n), -1)
    assert assign_greedy(p, initial=initial).rep_of.tolist() == _greedy_walk(p, initial)
