"""Accounts as people look them up: tier and why, do-not-contact, score, lease, routing.

Tiers are stored per account (tier, reason, the policy version that set it) and
recomputed when the policy is activated, when an import changes accounts, and when a
person sets an override or do-not-contact. Routing and the agent gateway compute the tier
the same way (`tier_in_force`), with the stored override.

    refresh_account_tiers(tx, clock())              # every account, under the active policy
    set_tier(ledger, clock, "ACME-1", "1", "ana", "board-level relationship")
    show_account(ledger, clock, "ACME-1").tier.reason  # 'set to tier 1 by ana at …'
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.domain.listings import AccountQuery
from dtem.domain.model import Account, Lease, Tier
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    AgentClaimsPort,
    AuditPort,
    DecisionLogPort,
    DirectoryPort,
    LeasesPort,
    LedgerOf,
    ListingsPort,
    PolicyPort,
    ScoresPort,
)
from dtem.domain.store_market import RoutingRecord
from dtem.domain.tiers import AccountTier, TierOverride, tier_in_force
from dtem.services.governance import active_policy
from dtem.services.tiering import TierTx, refresh_tiers

TIER_CHOICES = ("1", "2", "3", "auto")


class _PolicyTiers(TierTx, PolicyPort, Protocol):
    """Accounts, their stored tiers, the active policy."""


class _SetTx(_PolicyTiers, AgentClaimsPort, AuditPort, Protocol):
    """A person's change to an account: its tier row, its claims, the audit log."""


class _ShowTx(_PolicyTiers, ScoresPort, LeasesPort, DecisionLogPort, AgentClaimsPort, Protocol):
    """Everything `dtem accounts show` prints about one account."""


def refresh_account_tiers(
    tx: _PolicyTiers, at: datetime, account_ids: Collection[int] | None = None
) -> int:
    """`refresh_tiers` under the active policy (no policy yet: nothing to do)."""
    if tx.active_policy_version() is None:
        return 0
    active = active_policy(tx)
    return refresh_tiers(tx, active.policy, active.version, at, account_ids)


def set_tier(
    ledger: LedgerOf[_SetTx], clock: Clock, key: str, value: str, actor: str, note: str = ""
) -> AccountTier:
    """Set an account's tier by name (1, 2 or 3) or give it back to the rules (`auto`)."""
    if value not in TIER_CHOICES:
        raise ArgumentInvalid(f"tier must be one of {', '.join(TIER_CHOICES)}, not {value!r}")
    now = clock()
    with ledger.transaction() as tx:
        account = _account(tx, key)
        assert account.id is not None
        refresh_account_tiers(tx, now, [account.id])
        before = tx.account_tiers([account.id]).get(account.id)
        override = None if value == "auto" else TierOverride(Tier(int(value)), actor, now, note)
        tx.set_tier_override(account.id, override)
        refresh_account_tiers(tx, now, [account.id])
        after = tx.account_tiers([account.id])[account.id]
        payload = {
            "account": key,
            "set": value,
            "note": note,
            "before": int(before.tier) if before else None,
            "tier": int(after.tier),
            "reason": after.reason,
        }
        tx.append_audit(actor, "account.tier", payload, now)
    return after


def set_do_not_contact(
    ledger: LedgerOf[_SetTx], clock: Clock, key: str, on: bool, actor: str, note: str = ""
) -> Account:
    """Mark an account do-not-contact (or clear it), audited. Turning it on ends any agent
    claim on it at once; an active human lease stays until someone releases it."""
    now = clock()
    with ledger.transaction() as tx:
        account = _account(tx, key)
        assert account.id is not None
        tx.set_do_not_contact(account.id, on, now)
        claim = tx.active_claim(account.id, now) if on else None
        if claim is not None:
            tx.release_claim(claim.id, now, "do-not-contact")
        payload = {"account": key, "do_not_contact": on, "was": account.do_not_contact}
        tx.append_audit(actor, "account.do_not_contact", payload | {"note": note}, now)
        return tx.accounts_by_id([account.id])[account.id]


def _account(tx: DirectoryPort, key: str) -> Account:
    account = tx.accounts_by_external_id([key]).get(key)
    if account is None or account.id is None:
        raise NotFound(f"account {key!r} does not exist")
    return account


@dataclass(frozen=True)
class Routed:
    """How the account's active lease came about (or the last decision when none)."""

    trigger: str
    at: datetime
    outcome: str
    score: float | None
    threshold: float
    sentence: str


@dataclass(frozen=True)
class AccountView:
    account: Account
    tier: AccountTier
    score: float | None
    scored_at: datetime | None
    lease: Lease | None
    lease_rep: str | None
    routed: Routed | None
    claimed_by: str | None


def show_account(ledger: LedgerOf[_ShowTx], clock: Clock, key: str) -> AccountView:
    """One account with its tier (computed now when none is stored yet) and routing."""
    now = clock()
    with ledger.transaction() as tx:
        account = _account(tx, key)
        assert account.id is not None
        tier = tx.account_tiers([account.id]).get(account.id) or _computed(tx, account, now)
        score = tx.latest_scores([account.id]).get(account.id)
        lease = tx.active_lease(account.id)
        rep = None
        if lease is not None:
            rep = next((r.external_id for r in tx.all_reps() if r.id == lease.rep_id), None)
        claim = tx.active_claim(account.id, now)
        routed = _routed(tx, tx.routing_decisions(account.id, limit=20), lease)
    return AccountView(
        account, tier, score.score if score else None, score.as_of if score else None,
        lease, rep, routed, claim.agent if claim else None,
    )  # fmt: skip


def _computed(tx: _PolicyTiers, account: Account, now: datetime) -> AccountTier:
    assert account.id is not None
    version = tx.active_policy_version()
    policy = active_policy(tx).policy if version is not None else Policy()
    tier, why = tier_in_force(account, policy)
    return AccountTier(account.id, tier, why, version, now)


def _routed(tx: PolicyPort, rows: list[RoutingRecord], lease: Lease | None) -> Routed | None:
    """The decision that granted the active lease; else the latest decision."""
    row = next((r for r in rows if lease is not None and r.lease_id == lease.id), None)
    if row is None and rows:
        row = rows[0]
    if row is None:
        return None
    threshold = Policy.from_dict(tx.policy_document(row.policy_version)).threshold
    score = lease.score_at_grant if lease is not None and row.lease_id == lease.id else None
    return Routed(
        row.trigger, row.at, row.outcome, score, threshold,
        routing_sentence(row.trigger, row.at, row.outcome, score, threshold),
    )  # fmt: skip


def routing_sentence(
    trigger: str, at: datetime, outcome: str, score: float | None, threshold: float
) -> str:
    """What routed an account, in words.

    >>> from datetime import UTC, datetime
    >>> routing_sentence("hand_raise", datetime(2027, 1, 4, 9, 30, tzinfo=UTC), "leased",
    ...                  41.5, 60.0)
    'routed by a hand-raise at 2027-01-04 09:30 UTC (score 41.5 below threshold 60)'
    """
    by = "a hand-raise" if trigger == "hand_raise" else trigger.replace("_", " ")
    when = f"at {at:%Y-%m-%d %H:%M} UTC"
    if outcome != "leased" or score is None:
        return f"last routed by {by} {when}: {outcome}"
    if score < threshold:
        return f"routed by {by} {when} (score {score:.1f} below threshold {threshold:g})"
    return f"routed by {by} {when} (score {score:.1f}, threshold {threshold:g})"


@dataclass(frozen=True)
class AccountRow:
    account: Account
    tier: AccountTier | None


def list_accounts(
    ledger: LedgerOf[ListingsPort],
    tier: int | None = None,
    do_not_contact: bool | None = None,
    limit: int = 100,
    after: str | None = None,
) -> list[AccountRow]:
    """Accounts by external id (after `after`) with their stored tier, filtered by tier
    and contact in the ledger. Example: `list_accounts(ledger, tier=1, limit=20)`."""
    query = AccountQuery(tier=tier, do_not_contact=do_not_contact, after=after, limit=limit)
    with ledger.transaction() as tx:
        return [AccountRow(a, stored) for a, stored in tx.account_page(query)]


def tier_json(t: AccountTier) -> dict[str, Any]:
    """A stored tier as the CLI's `--json` and the API print it."""
    override = t.override
    return {
        "tier": int(t.tier),
        "reason": t.reason,
        "policy_version": t.policy_version,
        "computed_at": t.computed_at.isoformat(),
        "override": None
        if override is None
        else {
            "tier": int(override.tier),
            "by": override.by,
            "at": override.at.isoformat(),
            "note": override.note,
        },
    }


def account_json(v: AccountView) -> dict[str, Any]:
    """`dtem accounts show --json` and `GET /accounts/{id}`."""
    a, lease, routed = v.account, v.lease, v.routed
    return {
        "account": a.external_id,
        "name": a.name,
        "domain": a.domain,
        "industry": a.industry,
        "employees": a.employees,
        "country": a.country,
        "potential_value": a.potential_value,
        "do_not_contact": a.do_not_contact,
        "imported_tier": int(a.tier),
        **tier_json(v.tier),
        "score": v.score,
        "scored_at": v.scored_at.isoformat() if v.scored_at else None,
        "lease": None
        if lease is None
        else {
            "id": lease.id,
            "rep": v.lease_rep,
            "state": lease.state.value,
            "granted_at": lease.granted_at.isoformat(),
            "score_at_grant": lease.score_at_grant,
        },
        "routing": None
        if routed is None
        else {
            "trigger": routed.trigger,
            "at": routed.at.isoformat(),
            "outcome": routed.outcome,
            "score": routed.score,
            "threshold": routed.threshold,
            "summary": routed.sentence,
        },
        "claimed_by": v.claimed_by,
    }
