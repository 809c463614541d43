"""The simulator: its DTEM run goes through the product's services and leaves their rows;
runs are deterministic by seed; both policies face the same market (common random numbers);
the lead-response curve reproduces the published ratios."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from dtem.domain.store_comp import LineFilter
from dtem.simulator.compare import STATIC, Task, compare, open_ledger, run_task
from dtem.simulator.dtem_run import DtemRun
from dtem.simulator.params import MarketParams, decay
from dtem.simulator.static import run_static
from dtem.simulator.world import build_world

SMALL = MarketParams(accounts=150, reps=3, days=21)
# a market that buys a lot, fast, so that a three-week run closes deals
HOT = replace(
    SMALL,
    in_market_per_quarter=0.6,
    p_open_1h=1.0,
    win_given_open=0.95,
    cycle_log_mean=0.0,
    cycle_log_sd=0.1,
    respond_1h=1.0,
    respond_24h=0.0,
    respond_never=0.0,
    signal_strength=3.0,
)


def test_dtem_run_leaves_the_rows_of_the_products_services() -> None:
    ledger = open_ledger(None)
    run = DtemRun(build_world(HOT, seed=3), ledger)
    book = run.run()
    won = [d for d in book.deals if d.outcome == "won" and d.rep is not None]
    assert won, "the hot market closes deals within three weeks"
    with ledger.transaction() as tx:
        actions = Counter(e.action for e in tx.audit_entries())
        lines = tx.commission_lines(LineFilter())
        decisions = tx.count("routing_decisions")
        lease_rows, lease_events = tx.count("leases"), tx.count("lease_events")
        activities, signals = tx.count("activities"), tx.count("signals")
        opportunities = {o.external_id: o for o in tx.all_opportunities()}
    # routing decided, leases were granted (audited) and the daily review and rebalance ran
    assert decisions > 0 and lease_rows > 0 and lease_events >= lease_rows  # routing, rebalance
    assert actions["lease.granted"] == lease_rows
    assert actions["rebalance.run"] == HOT.days  # one review and one rebalance a morning
    # the agents went through the gateway: claims, touches (activity + signal each)
    assert actions["agent.claim"] > 0 and actions["agent.touch"] == book.agent_touches
    human = sum(t.human for t in book.touches)
    assert activities == human + book.agent_touches
    assert signals >= book.agent_touches
    # every won leased deal was settled by change_stage into a commission line
    won_by_reps = {
        k for k, o in opportunities.items() if o.stage == "closed_won" and o.rep_external_id
    }
    assert len(won_by_reps) == len(won)
    assert {x.opportunity for x in lines if x.kind == "deal"} == won_by_reps
    assert sum(float(x.commission) for x in lines) == pytest.approx(book.commission)
    assert all(opportunities[x.opportunity].stage == "closed_won" for x in lines)


def test_a_seed_gives_the_same_run_and_another_seed_another() -> None:
    first = run_task(Task(HOT, 7, "dtem")).result
    again = run_task(Task(HOT, 7, "dtem")).result
    assert first.values["wins"] > 0
    assert repr(first) == repr(again)  # every KPI and curve (repr: nan equals nan)
    assert repr(run_task(Task(HOT, 7, STATIC))) == repr(run_task(Task(HOT, 7, STATIC)))
    assert repr(run_task(Task(HOT, 8, STATIC))) != repr(run_task(Task(HOT, 7, STATIC)))


def test_both_policies_face_the_same_market() -> None:
    a, b = build_world(SMALL, 5), build_world(SMALL, 5)
    assert np.array_equal(a.signal_minutes, b.signal_minutes)
    assert np.array_equal(a.delays, b.delays) and a.episodes == b.episodes
    static = run_static(a)
    run = DtemRun(b, open_ledger(None))
    dtem = run.run()
    market = {(x, t) for x, t in static.hand_raises}
    # DTEM sees every market hand-raise at the same time, plus those its agents elicited
    assert market <= set(dtem.hand_raises)
    assert len(dtem.hand_raises) - len(market) <= dtem.agent_touches


def test_compare_pairs_seeds_and_gives_an_interval() -> None:
    c = compare(SMALL, [0, 1, 2], workers=1)
    d = c.difference("dtem", "coverage")
    per_seed = [
        x.values["coverage"] - y.values["coverage"]
        for x, y in zip(c.results["dtem"], c.results[STATIC], strict=True)
    ]
    assert d.mean == pytest.approx(sum(per_seed) / 3)
    assert d.low <= d.mean <= d.high and d.seeds == 3


def test_the_decay_curve_reproduces_the_published_ratios() -> None:
    assert decay(5) / decay(30) == pytest.approx(21, rel=1e-3)  # MIT/InsideSales 2007
    assert decay(30) / decay(90) == pytest.approx(7, rel=1e-3)  # HBR 2011, 1 h vs 1 h later
    assert decay(30) / decay(30 * 60) == pytest.approx(60, rel=1e-3)  # HBR 2011, vs 24 h+


def test_with_ablations_the_terminal_gets_means_then_differences() -> None:
    from dtem.simulator.compare import Comparison
    from dtem.simulator.metrics import METRICS, PolicyResult
    from dtem.simulator.summary import split_rows

    def result(policy: str, seed: int, revenue: float) -> PolicyResult:
        values = dict.fromkeys(METRICS, 0.5) | {"revenue": revenue}
        return PolicyResult(policy, seed, values, [], [], [])

    runs = {"static": [100.0, 200.0], "dtem": [150.0, 210.0], "no agents": [90.0, 190.0]}
    c = Comparison(
        SMALL,
        [0, 1],
        {p: [result(p, s, r) for s, r in enumerate(rs)] for p, rs in runs.items()},
        [],
    )
    (means_header, means), (diff_header, diffs) = split_rows(c)
    assert means_header == ["metric", "static", "dtem", "no agents"]
    assert means[0] == ["revenue", "150", "180", "140"]
    assert diff_header[1:] == ["dtem − static (95% CI)", "no agents − static (95% CI)"]
    assert diffs[0][1].startswith("+30 [") and diffs[0][2].startswith("-10 [")
    assert c.lift() == pytest.approx(30 / 150)


def test_a_policy_error_survives_the_trip_back_from_a_worker_process() -> None:
    import pickle

    from dtem.domain.errors import PolicyInvalid

    back = pickle.loads(pickle.dumps(PolicyInvalid(["threshold must be in (0, 100)"])))
    assert back.problems == ["threshold must be in (0, 100)"]
    assert str(back) == "invalid policy: threshold must be in (0, 100)"


def test_the_threshold_is_only_raised_by_half_in_the_sensitivity_table() -> None:
    from dtem.simulator.compare import FACTORS
    from dtem.simulator.params import SENSITIVE

    assert "threshold" in SENSITIVE and max(FACTORS["threshold"]) * SMALL.threshold < 100
