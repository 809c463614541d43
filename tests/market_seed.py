"""Seed helpers for market-maker tests: accounts, reps, scores and triggers on any ledger.

Scores and score events are appended through the scoring store, as scoring writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.score_records import ScoreEvent, ScoreRecord
from dtem.services.governance import ensure_policy


def seed(
    ledger: Any, clock: FixedClock, accounts: Sequence[Account], reps: Sequence[Rep]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert accounts and reps, activate the default policy; return their ids by key."""
    ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts(list(accounts), clock())
        tx.insert_reps(list(reps), clock())
        acc = {
            a.external_id: a.id
            for a in tx.accounts_by_external_id([a.external_id for a in accounts]).values()
        }
        rep = {r.external_id: r.id for r in tx.all_reps()}
    return acc, rep


def put_score(
    ledger: Any, account_id: int, score: float, at: datetime, propensity: float = 0.3
) -> None:
    """A score row as scoring appends it."""
    record = ScoreRecord(account_id, at, score, score / 1000, propensity, 150.0, 600.0, 1, "batch")
    with ledger.transaction() as tx:
        tx.append_scores([record])


def put_score_event(ledger: Any, account_id: int, kind: str, score: float, at: datetime) -> None:
    """A routing trigger as scoring appends it (crossed_up | crossed_down | hand_raise)."""
    with ledger.transaction() as tx:
        tx.append_score_events([ScoreEvent(account_id, at, kind, score, 1)])
