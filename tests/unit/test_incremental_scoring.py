"""Incremental scoring through the in-memory ledger: exactness, triggers, absoluteness."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Opportunity
from dtem.domain.signals import SignalRecord
from dtem.services.governance import ActivePolicy, active_policy, ensure_policy
from dtem.services.scoring import (
    apply_signals,
    explain,
    refresh_economics,
    rescore,
    retract_signals,
)

TYPES = ("hand_raise", "pricing_visit", "web_visit", "intent_surge", "hiring", "other")


def _ledger(n_accounts: int = 3) -> tuple[MemoryLedger, ActivePolicy]:
    ledger = MemoryLedger()
    ensure_policy(ledger, FixedClock(T0))
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account(f"A{i}", f"Acct {i}", industry=("retail", "saas")[i % 2], employees=50)
                for i in range(1, n_accounts + 1)
            ],
            T0,
        )
        return ledger, active_policy(tx)


def _signal(n: int, account_id: int | None, kind: str, days: float, value: float) -> SignalRecord:
    at = T0 + timedelta(days=days)
    return SignalRecord(f"e{n}", "k", "id", kind, at, value, "first_party", at, account_id)


def _ingest(ledger: MemoryLedger, active: ActivePolicy, sigs: list[SignalRecord], now: Any) -> Any:
    with ledger.transaction() as tx:  # what the ingestion hook does
        tx.insert_signals(sigs)
        return apply_signals(tx, sigs, active, now)


signal_lists = st.lists(
    st.tuples(
        st.integers(1, 3),
        st.sampled_from(TYPES),
        st.floats(0.0, 200.0),  # days after T0, in arrival order: late ones included
        st.floats(0.0, 50.0),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=signal_lists, chunk=st.integers(1, 5))
def test_incremental_scores_equal_batch_scores_for_any_arrival_order(
    rows: list[tuple[int, str, float, float]], chunk: int
) -> None:
    ledger, active = _ledger()
    sigs = [_signal(i, acc, kind, day, v) for i, (acc, kind, day, v) in enumerate(rows)]
    end = T0 + timedelta(days=201)
    for start in range(0, len(sigs), chunk):  # arrivals in batches, scored at arrival
        _ingest(ledger, active, sigs[start : start + chunk], end - timedelta(days=1))
    with ledger.transaction() as tx:
        rescore(tx, tx.account_states([1, 2, 3]), active, end)
        incremental = {k: v.score for k, v in tx.latest_scores().items()}
        batch = {a: explain(tx, f"A{a}", active, end).score.score for a in incremental}
    assert incremental.keys() == {r[0] for r in rows}
    for acc, score in incremental.items():
        assert math.isclose(score, batch[acc], rel_tol=1e-9)


def test_hand_raise_emits_a_trigger_and_a_crossing_up() -> None:
    ledger, active = _ledger()
    events = _ingest(ledger, active, [_signal(1, 1, "hand_raise", 0, 5.0)], T0)
    assert sorted(e.kind for e in events) == ["crossed_up", "hand_raise"]
    assert all(e.account_id == 1 and e.score >= 60 for e in events)
    with ledger.transaction() as tx:
        assert [e.kind for e in tx.score_events()] == [e.kind for e in events]


def test_weak_signal_moves_the_score_without_a_trigger() -> None:
    ledger, active = _ledger()
    assert _ingest(ledger, active, [_signal(1, 1, "web_visit", 0, 1.0)], T0) == []
    with ledger.transaction() as tx:
        assert tx.latest_scores()[1].method == "incremental"


def test_retracting_a_signal_undoes_it_and_crosses_down() -> None:
    ledger, active = _ledger()
    sig = _signal(1, 2, "intent_surge", 0, 40.0)
    before = _ingest(ledger, active, [_signal(0, 2, "web_visit", 0, 1.0)], T0)
    up = _ingest(ledger, active, [sig], T0)
    with ledger.transaction() as tx:
        down = retract_signals(tx, [sig], active, T0)
        state = tx.account_states([2])[2]
    assert before == [] and [e.kind for e in up] == ["crossed_up"]
    assert [e.kind for e in down] == ["crossed_down"]
    assert abs(state["intent_surge"][0]) < 1e-12


def test_unmatched_superseded_and_unknown_signals_change_nothing() -> None:
    ledger, active = _ledger()
    ignored = [
        _signal(1, None, "hand_raise", 0, 9.0),
        replace(_signal(2, 1, "hand_raise", 0, 9.0), superseded=True),
        _signal(3, 1, "not_in_policy", 0, 9.0),
    ]
    assert _ingest(ledger, active, ignored, T0) == []
    with ledger.transaction() as tx:
        assert tx.latest_scores() == {} and tx.account_states([1]) == {}


def test_other_accounts_signals_and_deals_never_change_an_accounts_score() -> None:
    ledger, active = _ledger(n_accounts=1)
    _ingest(ledger, active, [_signal(1, 1, "pricing_visit", 0, 3.0)], T0)
    with ledger.transaction() as tx:
        refresh_economics(tx, active.policy, T0)
        before = explain(tx, "A1", active, T0).score
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"B{i}", "Other", industry="retail", employees=50)
                            for i in range(20)], T0)  # fmt: skip
        others = tx.all_account_ids()
        tx.insert_opportunities(
            [Opportunity("O1", "B0", "closed_won", 1e7, T0.date(), T0.date() + timedelta(2))], T0
        )
    _ingest(
        ledger,
        active,
        [_signal(10 + i, others[f"B{i}"], "hand_raise", 0, 5) for i in range(20)],
        T0,
    )
    with ledger.transaction() as tx:
        after = explain(tx, "A1", active, T0).score
        refresh_economics(tx, active.policy, T0)  # a new snapshot is the only way V moves
        refreshed = explain(tx, "A1", active, T0).score
    assert after == before
    assert refreshed.velocity != before.velocity
