"""Seed helpers for optimiser tests: accounts, reps, scores and leases on any ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.score_records import ScoreRecord
from dtem.services import leases
from dtem.services.governance import active_policy, ensure_policy


def seed(
    ledger: Any, clock: FixedClock, accounts: Sequence[Account], reps: Sequence[Rep]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert accounts and reps, activate the default policy; return their ids by key."""
    ensure_policy(ledger, clock)
    with ledger.transaction() as tx:
        tx.insert_accounts(list(accounts), clock())
        tx.insert_reps(list(reps), clock())
        found = tx.accounts_by_external_id([a.external_id for a in accounts])
        acc = {k: a.id for k, a in found.items()}
        rep = {r.external_id: r.id for r in tx.all_reps()}
    return acc, rep


def score(ledger: Any, account_id: int, value: float, at: datetime, p: float = 0.3) -> None:
    """A score row as scoring appends it."""
    record = ScoreRecord(account_id, at, value, value / 1000, p, 150.0, 600.0, 1, "batch")
    with ledger.transaction() as tx:
        tx.append_scores([record])


def grant(ledger: Any, account_id: int, rep_id: int, at: datetime) -> int:
    """An active lease granted through the lease service; returns its id."""
    with ledger.transaction() as tx:
        active = active_policy(tx)
        return leases.grant(tx, account_id, rep_id, at, 70.0, active, "seed", "test").id
