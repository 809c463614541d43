"""Retention per signal source: set it, list it, and the review's sweep.

`set_retention` names a webhook source (`dtem source create`) or the label of imported
or NATS signals (`bombora`, `first_party`…), see `dtem.domain.retention`. The sweep,
run by the daily review, deletes each source's raw signals that occurred more than its
`retention_days` before the review time; in the same transaction the decayed state of
every account that lost a signal is folded afresh from the signals that remain (the
state a batch run over them computes: no subtraction, no rounding residue), the accounts
are re-scored, and one audit entry records the counts (never a signal).

Example:

    set_retention(ledger, clock, "bombora", 180, actor="ana")
    swept = sweep_signals(ledger, review_at, clock, actor="review")
    swept.deleted, swept.accounts_rescored  # ({'bombora': 412}, 57)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import NotFound
from dtem.domain.ports import (
    AuditPort,
    EconomicsPort,
    LedgerOf,
    OutboxPort,
    PolicyPort,
    PrivacyPort,
    RetentionPort,
    ScoresPort,
    SignalSourcesPort,
)
from dtem.domain.retention import SourceRetention, cutoff, retention_days
from dtem.services.governance import active_policy
from dtem.services.privacy import rebuilt_state
from dtem.services.scoring import rescore


class _Settings(RetentionPort, SignalSourcesPort, AuditPort, Protocol):
    """The rules, the sources they may name, the audit of a change."""


class _Sweep(
    RetentionPort,
    PrivacyPort,
    ScoresPort,
    EconomicsPort,
    PolicyPort,
    AuditPort,
    OutboxPort,
    Protocol,
):
    """Delete, rebuild states, re-score, audit: one transaction."""


@dataclass
class RetentionSweep:
    """What one sweep deleted (per source, counts only) and how many accounts it re-scored."""

    deleted: dict[str, int] = field(default_factory=dict)
    accounts_rescored: int = 0

    @property
    def signals(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": dict(self.deleted), "accounts_rescored": self.accounts_rescored}


def list_retention(ledger: LedgerOf[_Settings]) -> list[SourceRetention]:
    """Every known source (webhook sources, pipeline labels, named rules) and its retention."""
    with ledger.transaction() as tx:
        rules = tx.signal_retention()
        kinds = _known_sources(tx)
    names = sorted(set(kinds) | set(rules))
    return [SourceRetention(n, tuple(sorted(kinds.get(n, ()))), rules.get(n)) for n in names]


def set_retention(
    ledger: LedgerOf[_Settings], clock: Clock, source: str, days: object, actor: str = "cli"
) -> SourceRetention:
    """Set (None: remove) a source's retention, audited. `NotFound` for an unknown source."""
    valid = retention_days(days)
    now = clock()
    with ledger.transaction() as tx:
        kinds = _known_sources(tx)
        rules = tx.signal_retention()
        if source not in kinds and source not in rules:
            raise NotFound(
                f"source: no webhook source and no imported signals named {source!r} "
                "(see dtem source retention list)"
            )
        tx.set_signal_retention(source, valid, now)
        change = {"source": source, "retention_days": valid, "previous": rules.get(source)}
        tx.append_audit(actor, "source.retention", change, now)
    return SourceRetention(source, tuple(sorted(kinds.get(source, ()))), valid)


def _known_sources(tx: _Settings) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for s in tx.signal_sources():
        kinds.setdefault(s.name, set()).add("webhook")
    for label in tx.signal_labels():
        kinds.setdefault(label, set()).add("pipeline")
    return kinds


def sweep_signals(
    ledger: LedgerOf[_Sweep], at: datetime, clock: Clock, actor: str = "review"
) -> RetentionSweep:
    """Delete the signals past their source's retention at `at`; keep the state exact.

    All or nothing; a second sweep at the same `at` finds nothing (no audit entry then).
    """
    swept = RetentionSweep()
    with ledger.transaction() as tx:
        rules = tx.signal_retention()
        if not rules:
            return swept
        accounts: set[int] = set()
        for source, days in rules.items():
            accounts |= tx.accounts_with_signals_before(source, cutoff(at, days))
        tx.lock_account_states(accounts)
        for source, days in rules.items():
            deleted = tx.delete_signals_before(source, cutoff(at, days))
            if deleted:
                swept.deleted[source] = deleted
        if not swept.deleted:
            return swept
        now, active = clock(), active_policy(tx)
        states = {acc: rebuilt_state(tx, acc, active.policy) for acc in sorted(accounts)}
        tx.replace_account_states(states)
        if states:
            rescore(tx, states, active, now)
        swept.accounts_rescored = len(states)
        entry = {"at": at.isoformat(), "policy_version": active.version, **swept.as_dict()}
        tx.append_audit(actor, "retention.sweep", entry, now)
    return swept
