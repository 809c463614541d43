"""ScoresPort: state, scores and triggers behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from dtem.domain.model import Account
from dtem.domain.score_records import ScoreEvent, ScoreRecord
from dtem.domain.scoring import decayed, epoch_seconds
from dtem.domain.signals import SignalRecord
from tests.conftest import T0

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _accounts(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account("A1", "Acme", industry="Retail", employees=40),
                Account("A2", "Beta", industry=None, employees=None),
            ],
            T0,
        )
        return dict(tx.all_account_ids())


def _score(account_id: int, at_days: float, score: float) -> ScoreRecord:
    at = T0 + timedelta(days=at_days)
    return ScoreRecord(account_id, at, score, 0.1, 0.2, 100.0, 600.0, 1, "batch", 3)


def test_account_state_is_upserted_per_account_and_type(ledger: Any) -> None:
    ids = _accounts(ledger)
    a1 = ids["A1"]
    t0 = epoch_seconds(T0)
    with ledger.transaction() as tx:
        tx.save_account_states({a1: {"web_visit": decayed(1.0, t0)}})
        tx.save_account_states({a1: {"web_visit": decayed(2.5, t0 + 60), "hiring": decayed(1, t0)}})
    with ledger.transaction() as tx:
        states = tx.account_states([a1, ids["A2"]])
    assert states == {a1: {"web_visit": decayed(2.5, t0 + 60), "hiring": decayed(1.0, t0)}}


def test_latest_score_is_the_newest_row_of_each_account(ledger: Any) -> None:
    ids = _accounts(ledger)
    with ledger.transaction() as tx:
        tx.append_scores([_score(ids["A1"], 0, 40.0), _score(ids["A2"], 0, 10.0)])
        tx.append_scores([_score(ids["A1"], 1, 65.0)])
    with ledger.transaction() as tx:
        latest = tx.latest_scores()
        only = tx.latest_scores([ids["A2"]])
        history = tx.score_history(ids["A1"])
    assert {k: v.score for k, v in latest.items()} == {ids["A1"]: 65.0, ids["A2"]: 10.0}
    assert list(only) == [ids["A2"]]
    assert [h.score for h in history] == [65.0, 40.0]
    assert history[0] == _score(ids["A1"], 1, 65.0)


def test_latest_scores_by_id_take_the_last_appended_over_long_histories(ledger: Any) -> None:
    ids = _accounts(ledger)
    a1, a2 = ids["A1"], ids["A2"]
    with ledger.transaction() as tx:
        for day in range(30):  # the last appended wins, even with an older as_of
            tx.append_scores([_score(a1, day, float(day)), _score(a2, 30 - day, 100.0 - day)])
        tx.append_scores([_score(a1, -5, 7.5)])
    with ledger.transaction() as tx:
        latest = tx.latest_scores([a2, a1, a1, 10**9])  # repeats and unknown ids
        none = tx.latest_scores([])
    assert {k: v.score for k, v in latest.items()} == {a1: 7.5, a2: 71.0}
    assert latest[a1] == _score(a1, -5, 7.5) and none == {}


def test_score_events_are_read_in_order_and_consumed_once(ledger: Any) -> None:
    ids = _accounts(ledger)
    events = [ScoreEvent(ids["A1"], T0, k, 61.0, 1) for k in ("crossed_up", "hand_raise")]
    with ledger.transaction() as tx:
        tx.append_score_events(events)
    with ledger.transaction() as tx:
        stored = tx.score_events()
        tx.consume_score_events([stored[0].id], T0)
    with ledger.transaction() as tx:
        assert [e.kind for e in tx.score_events(unconsumed=True)] == ["hand_raise"]
        assert [e.kind for e in tx.score_events(after_id=stored[0].id)] == ["hand_raise"]


def test_appended_score_events_come_back_in_order_with_their_ids(ledger: Any) -> None:
    ids = _accounts(ledger)
    a1, a2 = ids["A1"], ids["A2"]
    events = [
        ScoreEvent(a1, T0, "crossed_up", 61.0, 1),
        ScoreEvent(a2, T0, "hand_raise", 20.0, 1),
        ScoreEvent(a1, T0, "hand_raise", 61.0, 1),
    ]
    with ledger.transaction() as tx:
        first = tx.append_score_events(events[:1])
        written = tx.append_score_events(events[1:])
    with ledger.transaction() as tx:
        stored = {e.id: e for e in tx.score_events()}
    assert [replace(e, id=None) for e in first + written] == events
    assert all(stored[e.id] == e for e in first + written)
    assert len({e.id for e in first + written}) == 3


def test_signals_for_scoring_skip_unmatched_superseded_and_future_ones(ledger: Any) -> None:
    ids = _accounts(ledger)

    def rec(event: str, acc: int | None, days: float, superseded: bool = False) -> SignalRecord:
        at = T0 + timedelta(days=days)
        return SignalRecord(event, "k", "id", "web_visit", at, 2.0, "first_party", at, acc)

    with ledger.transaction() as tx:
        tx.insert_signals([rec("e1", ids["A1"], -1), rec("e2", None, -1), rec("e3", ids["A1"], 5)])
    with ledger.transaction() as tx:
        mine = tx.account_signals(ids["A1"], T0)
        cols = tx.signal_columns(T0)
    assert [(s.type, s.value, s.occurred_at) for s in mine] == [
        ("web_visit", 2.0, T0 - timedelta(days=1))
    ]
    assert list(cols.account_id) == [ids["A1"]] and cols.type == ["web_visit"]
    assert cols.occurred_us[0] == round(epoch_seconds(T0 - timedelta(days=1)) * 1e6)


def test_signal_columns_are_exact_to_the_microsecond_and_typed(ledger: Any) -> None:
    ids = _accounts(ledger)
    times = [T0 - timedelta(days=3, microseconds=1), T0 - timedelta(seconds=0.999999), T0]
    recs = [
        SignalRecord(f"e{i}", "k", "id", kind, at, 0.5 + i, "first_party", at, ids["A2"])
        for i, (kind, at) in enumerate(
            zip(("hiring", "web_visit", "form_fill"), times, strict=True)
        )
    ]
    with ledger.transaction() as tx:
        tx.insert_signals(recs)
    with ledger.transaction() as tx:
        cols = tx.signal_columns(T0)
    order = sorted(range(len(cols)), key=lambda i: int(cols.occurred_us[i]))
    expected = [(at - EPOCH) // timedelta(microseconds=1) for at in times]
    assert [int(cols.occurred_us[i]) for i in order] == expected
    assert [cols.type[i] for i in order] == ["hiring", "web_visit", "form_fill"]
    assert [float(cols.value[i]) for i in order] == [0.5, 1.5, 2.5]
    assert (cols.account_id.dtype, cols.occurred_us.dtype, cols.value.dtype) == (
        np.int64,
        np.int64,
        np.float64,
    )


def test_scoring_accounts_are_the_firmographics_by_id(ledger: Any) -> None:
    ids = _accounts(ledger)
    with ledger.transaction() as tx:
        every = tx.scoring_accounts()
        one = tx.scoring_accounts([ids["A2"]])
    assert [(f.id, f.external_id, f.industry, f.employees) for f in every] == [
        (ids["A1"], "A1", "Retail", 40),
        (ids["A2"], "A2", None, None),
    ]
    assert [f.external_id for f in one] == ["A2"]


def test_locked_account_states_are_read_and_written_in_the_same_transaction(ledger: Any) -> None:
    ids = _accounts(ledger)
    a1, a2 = ids["A1"], ids["A2"]
    t0 = epoch_seconds(T0)
    with ledger.transaction() as tx:
        tx.save_account_states({a1: {"web_visit": decayed(1.0, t0)}})
    with ledger.transaction() as tx:
        tx.lock_account_states([a2, a1])  # any order in; held in id order
        tx.lock_account_states([])
        before = tx.account_states([a1, a2])[a1]["web_visit"][0]
        tx.save_account_states({a1: {"web_visit": decayed(before + 1, t0)}})
    with ledger.transaction() as tx:
        assert tx.account_states([a1, a2]) == {a1: {"web_visit": decayed(2.0, t0)}}
