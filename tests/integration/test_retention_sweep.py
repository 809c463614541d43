"""Retention in the daily review, on memory, SQLite and PostgreSQL: the signals past their
source's retention are deleted, and what remains scores exactly what a batch run over the
remaining signals gives — the decayed state per account × type and the stored score."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.scoring import decay_rate, epoch_seconds, intensity_at
from dtem.domain.signals import PIPELINE_SCOPE, SignalRecord, source_scope
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.retention import set_retention
from dtem.services.review import review_time, run_review
from dtem.services.score_batch import run_batch
from dtem.services.scoring import apply_signals, refresh_economics
from dtem.services.signals.sources import create_source
from tests.conftest import T0

TYPES = ("hand_raise", "pricing_visit", "web_visit", "intent_surge", "hiring")
# (scope, label): a webhook source, two pipeline labels; "first_party" keeps forever
SENDERS = ((source_scope("website"), "first_party"), (PIPELINE_SCOPE, "bombora"),
           (PIPELINE_SCOPE, "first_party"))  # fmt: skip
DAY = date(2027, 3, 1)


def _signals(ids: dict[str, int]) -> list[SignalRecord]:
    rng = random.Random(11)
    out = []
    for n in range(120):
        scope, label = rng.choice(SENDERS)
        at = T0 + timedelta(days=rng.uniform(0, 55), seconds=n)
        acc = ids[f"A{rng.randint(1, 6)}"]
        typ, value = rng.choice(TYPES), rng.uniform(0.5, 5)
        out.append(SignalRecord(f"e{n}", "k", "id", typ, at, value, label, at, acc, scope=scope))
    return out


def _seed(ledger: Any, clock: FixedClock) -> list[SignalRecord]:
    ensure_policy(ledger, clock)
    create_source(ledger, clock, "website")
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account(f"A{i}", f"A {i}", industry=("retail", "saas")[i % 2], employees=40 * i)
                for i in range(1, 8)
            ],
            T0,
        )  # fmt: skip  (A7 never signals)
        ids = tx.all_account_ids()
        refresh_economics(tx, active_policy(tx).policy, T0)
    signals = _signals(ids)
    for start in range(0, len(signals), 10):  # arrivals in batches, scored at arrival
        chunk = signals[start : start + 10]
        by_scope: dict[str, list[SignalRecord]] = {}
        for s in chunk:
            by_scope.setdefault(s.scope, []).append(s)
        with ledger.transaction() as tx:
            for part in by_scope.values():
                tx.insert_signals(part)
            apply_signals(tx, chunk, active_policy(tx), max(s.occurred_at for s in chunk))
    return signals


def _kept(signals: list[SignalRecord], at: datetime) -> list[SignalRecord]:
    """The test's own reading of the rules: website 30 days, bombora 10 days."""
    days = {source_scope("website"): 30, PIPELINE_SCOPE + "bombora": 10}
    out = []
    for s in signals:
        rule = days.get(s.scope) or days.get(s.scope + s.source)
        if rule is None or s.occurred_at >= at - timedelta(days=rule):
            out.append(s)
    return out


def test_retention_deletes_old_signals_and_keeps_batch_equal_to_incremental(ledger: Any) -> None:
    clock = FixedClock(T0)
    signals = _seed(ledger, clock)
    set_retention(ledger, clock, "website", 30, actor="ana")
    set_retention(ledger, clock, "bombora", 10, actor="ana")
    now = datetime.combine(DAY, datetime.min.time(), tzinfo=T0.tzinfo) + timedelta(hours=7)
    clock.now = now
    with ledger.transaction() as tx:
        before = tx.latest_scores()
    report = run_review(ledger, clock, DAY, actor="review")
    at = review_time(DAY, active_policy_of(ledger).policy)

    kept = _kept(signals, at)
    gone = [s for s in signals if s not in kept]
    expected = {
        "website": sum(s.scope != PIPELINE_SCOPE for s in gone),
        "bombora": sum(s.source == "bombora" and s.scope == PIPELINE_SCOPE for s in gone),
    }
    assert report.retention.deleted == {k: v for k, v in expected.items() if v}
    assert sum(expected.values()) == len(gone) > 0 and "first_party" not in report.retention.deleted
    touched = {s.account_id for s in gone}
    assert report.retention.accounts_rescored == len(touched)

    with ledger.transaction() as tx:
        assert tx.signal_stats().total == len(kept)
        states = tx.account_states(list(range(1, 100)))
        incremental = tx.latest_scores()
        policy = active_policy(tx).policy
    # the decayed state: exactly the fold of the remaining signals, per account × type
    t = epoch_seconds(now)
    assert {(a, typ) for a, by in states.items() for typ in by} == {
        (s.account_id, s.type) for s in kept
    }
    for acc, by_type in states.items():
        for typ, d in by_type.items():
            half_life = policy.signal_types[typ].half_life_days * 86_400
            by_hand = sum(
                s.value * 2 ** (-(t - epoch_seconds(s.occurred_at)) / half_life)
                for s in kept
                if s.account_id == acc and s.type == typ
            )
            rate = decay_rate(policy.signal_types[typ].half_life_days)
            assert math.isclose(intensity_at(d, t, rate), by_hand, rel_tol=1e-9), (acc, typ)
    for acc in touched:
        assert incremental[acc].as_of == now and incremental[acc].method == "incremental"
    untouched = set(before) - touched
    assert all(incremental[a] == before[a] for a in untouched)  # only the accounts it moved

    # the stored scores: equal to a batch run over what remains, at the same time
    run_batch(ledger, DuckDbScorer(threads=1), FixedClock(now), as_of=now)
    with ledger.transaction() as tx:
        batch = tx.latest_scores()
    for acc in touched:
        assert batch[acc].method == "batch"
        assert math.isclose(batch[acc].score, incremental[acc].score, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(batch[acc].propensity, incremental[acc].propensity, rel_tol=1e-9)

    with ledger.transaction() as tx:
        sweeps = [e for e in tx.audit_entries() if e.action == "retention.sweep"]
        runs = [e for e in tx.audit_entries() if e.action == "review.run"]
    assert len(sweeps) == 1 and sweeps[0].actor == "review"
    assert sweeps[0].payload["deleted"] == report.retention.deleted
    assert sweeps[0].payload["accounts_rescored"] == len(touched)
    assert runs[-1].payload["retention"] == report.retention.as_dict()

    again = run_review(ledger, clock, DAY, actor="review")  # idempotent for a date
    assert again.retention.deleted == {} and again.retention.accounts_rescored == 0


def active_policy_of(ledger: Any) -> Any:
    with ledger.transaction() as tx:
        return active_policy(tx)
