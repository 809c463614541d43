"""The Phase-1 TAM audit: every account's tier and why, phantom equity, dead zones, the top.

Read-only, from the ledger under the active policy, as of `at` (scores, leases and
touches as they were then; tiers by the active policy):

- **phantom equity**: an owned account (a static owner, or a lease active at `at`) with no
  human touch in the 90 days before `at`;
- **dead zone**: a contactable account whose latest score by `at` is at or above the
  threshold, with no active lease and no human touch in those 90 days: hot, and nobody
  works it.

>>> # audit = tam_audit(ledger, clock()); audit.phantom, audit.dead_zones
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from dtem.domain.kpis import PHANTOM_DAYS
from dtem.domain.ports import (
    DirectoryPort,
    KpiFactsPort,
    LedgerOf,
    PolicyPort,
)
from dtem.domain.tiers import tier_in_force
from dtem.services.governance import active_policy


class TamTx(KpiFactsPort, DirectoryPort, PolicyPort, Protocol):
    """Accounts, scores, lease spans and touches, under the active policy."""


@dataclass(frozen=True)
class AccountAudit:
    """One account as the audit sees it."""

    account: str
    name: str
    tier: int
    tier_reason: str
    score: float | None
    static_owner: str | None
    leased_to: str | None
    last_human_touch: datetime | None
    do_not_contact: bool
    phantom: bool
    dead_zone: bool


@dataclass(frozen=True)
class TamAudit:
    at: datetime
    policy_version: int
    threshold: float
    accounts: list[AccountAudit]  # by score, highest first (unscored last), then id

    @property
    def owned(self) -> int:
        return sum(1 for a in self.accounts if a.static_owner or a.leased_to)

    @property
    def phantom(self) -> int:
        return sum(a.phantom for a in self.accounts)

    @property
    def dead_zones(self) -> int:
        return sum(a.dead_zone for a in self.accounts)

    def tiers(self) -> dict[int, int]:
        out = {1: 0, 2: 0, 3: 0}
        for a in self.accounts:
            out[a.tier] += 1
        return out


def tam_audit(ledger: LedgerOf[TamTx], at: datetime) -> TamAudit:
    """Audit every account as of `at`."""
    since = at - timedelta(days=PHANTOM_DAYS)
    with ledger.transaction() as tx:
        active = active_policy(tx)
        accounts = [a for a in tx.all_accounts().values() if a.id is not None]
        scores = tx.scores_as_of(at)
        leased = {x.account_id: x.rep for x in tx.lease_spans() if x.overlaps(at, at)}
        last: dict[int, datetime] = {}
        for t in tx.kpi_touches(since, at):
            if t.human:
                last[t.account_id] = max(t.at, last.get(t.account_id, t.at))
    policy = active.policy
    rows = []
    for a in accounts:
        assert a.id is not None
        tier, why = tier_in_force(a, policy)
        score, lease = scores.get(a.id), leased.get(a.id)
        touched = a.id in last
        owned = bool(a.static_owner) or a.id in leased
        hot = score is not None and score >= policy.threshold and not a.do_not_contact
        rows.append(
            AccountAudit(
                a.external_id, a.name, int(tier), why, score, a.static_owner, lease,
                last.get(a.id), a.do_not_contact, owned and not touched,
                hot and a.id not in leased and not touched,
            )
        )  # fmt: skip
    rows.sort(key=_rank)
    return TamAudit(at, active.version, policy.threshold, rows)


def _rank(a: AccountAudit) -> tuple[bool, float, str]:
    return (a.score is None, -(a.score or 0.0), a.account)
