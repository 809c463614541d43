"""The generalized-assignment heuristics: feasible, never worse than their start,
reproducible for a seed, and the MIP starts from them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.optimizer import AssignmentProblem, assign_gap
from dtem.optimizer.gap_start import (
    dense_gap,
    is_dense_feasible,
    regret_start,
    rep_of_dense,
    total_cost,
)
from dtem.optimizer.gap_tabu import tabu_search
from dtem.optimizer.highs import solve_highs
from dtem.optimizer.mip_beside import MipBeside
from dtem.optimizer.problem import IntArray, is_feasible, objective_of


def type_d(reps: int, accounts: int, seed: int) -> AssignmentProblem:
    """A tight instance (capacity 80% of the average demand), every account must go."""
    rng = np.random.default_rng(seed)
    need = rng.integers(1, 101, (reps, accounts))
    cost = 111 - need + rng.integers(-10, 11, (reps, accounts))
    capacity = np.floor(0.8 * need.sum(axis=1) / reps)
    rep, account = np.divmod(np.arange(reps * accounts), accounts)
    return AssignmentProblem.from_arrays(
        accounts, capacity, account, rep, -cost.ravel().astype(float),
        workload=need.ravel().astype(float), must_assign=np.ones(accounts, dtype=bool),
    )  # fmt: skip


def searched(p: AssignmentProblem, seed: int = 0) -> IntArray | None:
    """Regret start then a short tabu search; the rep of every account, or None."""
    d = dense_gap(p)
    assert d is not None
    start = regret_start(d)
    if start is None:
        return None
    best = tabu_search(d, start, seconds=30.0, seed=seed, max_iterations=300)
    return rep_of_dense(d, best) if is_dense_feasible(d, best) else None


def test_tabu_search_improves_the_regret_start_and_stays_feasible() -> None:
    d = dense_gap(type_d(8, 60, seed=3))
    assert d is not None
    start = regret_start(d)
    assert start is not None and is_dense_feasible(d, start)
    best = tabu_search(d, start, seconds=30.0, max_iterations=1500)
    assert is_dense_feasible(d, best)
    assert total_cost(d, best) < total_cost(d, start)


def test_tabu_search_is_reproducible_for_a_seed() -> None:
    d = dense_gap(type_d(6, 40, seed=5))
    assert d is not None
    start = regret_start(d)
    assert start is not None
    runs = [tabu_search(d, start, seconds=30.0, seed=7, max_iterations=400) for _ in range(2)]
    assert runs[0].tolist() == runs[1].tolist()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_search_is_feasible_with_optional_accounts(seed: int, must: bool) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 12)), int(rng.integers(1, 4))
    keep = rng.random(n * m) < 0.7
    rep, account = np.divmod(np.arange(n * m), n)
    p = AssignmentProblem.from_arrays(
        n, rng.integers(0, 15, m), account[keep], rep[keep], rng.normal(5, 3, keep.sum()),
        workload=rng.integers(1, 6, keep.sum()), must_assign=np.zeros(n, dtype=bool),
    )  # fmt: skip
    if must:  # every account with an arc must go: may be infeasible, then None is fine
        p = AssignmentProblem.from_arrays(
            n, p.capacity, p.account, p.rep, p.value, p.workload,
            must_assign=np.isin(np.arange(n), p.account),
        )  # fmt: skip
    rep_of = searched(p, seed)
    if rep_of is not None:
        assert is_feasible(p, rep_of)
    if not must:
        assert rep_of is not None


def test_the_mip_keeps_the_heuristic_start_as_its_incumbent() -> None:
    p = type_d(10, 80, seed=11)
    start = searched(p)
    assert start is not None
    x = (start[p.account] == p.rep).astype(np.float64)
    run = solve_highs(p, integer=True, time_limit=0.5, start=x)
    assert run.objective >= objective_of(p, start) - 1e-9


def test_a_solution_offered_to_the_running_mip_is_kept() -> None:
    p = type_d(10, 80, seed=11)
    start = searched(p)
    assert start is not None
    mip = MipBeside(p, time_limit=1.0)
    mip.offer((start[p.account] == p.rep).astype(np.float64))
    assert mip.result().objective >= objective_of(p, start) - 1e-9


def test_gap_returns_a_feasible_assignment_within_its_bounds() -> None:
    p = type_d(10, 80, seed=11)
    sol = assign_gap(p, time_limit=2.0)
    assert is_feasible(p, sol.rep_of)
    assert sol.lp_bound >= sol.bound - 1e-6 >= sol.objective - 2e-6
    assert sol.solve_seconds < 4.0


def test_the_search_continues_from_a_better_solution_found_elsewhere() -> None:
    d = dense_gap(type_d(10, 50, seed=4))
    assert d is not None
    start = regret_start(d)
    assert start is not None
    elsewhere = tabu_search(d, start, seconds=60.0, seed=1, max_iterations=4000)
    alone = tabu_search(d, start, seconds=60.0, seed=9, max_iterations=1500)
    assert total_cost(d, alone) > total_cost(d, elsewhere)  # the premise
    adopted = tabu_search(d, start, seconds=60.0, seed=9, max_iterations=1500,
                          adopt=lambda: elsewhere)  # fmt: skip
    assert total_cost(d, adopted) <= total_cost(d, elsewhere)
