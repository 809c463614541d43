"""The agent gateway (the Filter): claims, touches and hand-raises of AI agents.

DTEM does not write an agent's emails: it decides which accounts an agent may work
(`claim_accounts`), records what the agent did (`record_touch`: an activity and a signal,
scored like any other) and hands a hot account to a human (`raise_hand`: a `hand_raise`
signal routed in the same transaction, so the answer names the rep and the lease).

    with_claims = claim_accounts(ledger, clock, "nurture-bot", 5)
    key = with_claims.claims[0].account
    record_touch(ledger, clock, "nurture-bot", key, "email_sent", pipeline)
    raise_hand(ledger, clock, "nurture-bot", key, pipeline)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ClaimNotHeld, InputInvalid, NotFound, RowError
from dtem.domain.model import Account, Activity
from dtem.domain.nurture import TOUCH_KINDS, in_quiet_hours, nurture_refusal, nurture_value
from dtem.domain.policy import Policy
from dtem.domain.ports import AgentClaimsPort, ImportsPort, LedgerOf
from dtem.domain.signals import AccountRef, SignalDraft
from dtem.domain.tiers import tier_in_force
from dtem.services.governance import active_policy
from dtem.services.signals.ingest import IngestTx, ingest
from dtem.services.signals.pipeline import SignalPipeline

WEEK = timedelta(days=7)


class _AgentTx(IngestTx, AgentClaimsPort, ImportsPort, Protocol):
    """An agent's call: its claims, the activity and signal a touch stores (through
    the signal pipeline), the routing a hand-raise runs."""


@dataclass(frozen=True)
class ClaimView:
    claim_id: int
    account: str
    tier: int
    score: float | None
    nurture_value: float
    expires_at: datetime


@dataclass(frozen=True)
class Claims:
    """What a claim call got, and why it got fewer than asked (empty when it got all)."""

    claims: list[ClaimView]
    note: str = ""


@dataclass(frozen=True)
class HandRaise:
    account: str
    outcome: str  # leased | overflow | pool | skipped | already_leased
    rep: str | None
    lease_id: int | None
    score: float | None


def claim_accounts(ledger: LedgerOf[_AgentTx], clock: Clock, agent: str, limit: int) -> Claims:
    """Claim up to `limit` accounts for `agent`, highest expected value of nurture first."""
    now = clock()
    with ledger.transaction() as tx:
        active = active_policy(tx)
        policy = active.policy
        if in_quiet_hours(now.hour, policy.agent_quiet_hours_utc):
            return Claims([], f"quiet hours {policy.agent_quiet_hours_utc} (UTC): no claims")
        tx.lapse_claims(now)
        ranked = _claimable(tx, policy, now)
        expires = now + timedelta(minutes=policy.agent_claim_ttl_minutes)
        out: list[ClaimView] = []
        for account, score, value in ranked:
            if len(out) >= limit:
                break
            assert account.id is not None
            claim = tx.add_claim(account.id, agent, now, expires, active.version)
            if claim is not None and tx.active_lease(account.id) is not None:
                # a hand-raise leased it (and closed its claim) after we read the leases
                tx.release_claim(claim.id, now, "leased to a human meanwhile")
                claim = None
            if claim is not None:  # None: another agent got it first
                tier = int(account.tier)
                out.append(ClaimView(claim.id, account.external_id, tier, score, value, expires))
        tx.append_audit(f"agent:{agent}", "agent.claim", {"accounts": _names(out)}, now)
    return Claims(out, "" if len(out) >= limit else "no more accounts an agent may work now")


def _claimable(
    tx: _AgentTx, policy: Policy, now: datetime
) -> list[tuple[Account, float | None, float]]:
    """Accounts an agent may claim now with score and nurture value, best first."""
    held = tx.claimed_account_ids(now) | {x.account_id for x in tx.active_leases()}
    accounts = [  # do-not-contact is refused whatever else: no need to read its scores
        a for a in tx.all_accounts().values()
        if a.id is not None and a.id not in held and not a.do_not_contact
    ]  # fmt: skip
    ids = [a.id for a in accounts if a.id is not None]
    scores = tx.latest_scores(ids) if ids else {}
    touches = tx.agent_touch_counts(ids, now - WEEK) if ids else {}
    overrides = {i: x.override for i, x in tx.account_tiers(ids).items()} if ids else {}
    out: list[tuple[Account, float | None, float]] = []
    for stored in accounts:
        assert stored.id is not None
        tier = tier_in_force(stored, policy, overrides.get(stored.id))[0]
        account = stored if tier == stored.tier else replace(stored, tier=tier)
        row = scores.get(stored.id)
        score = row.score if row else None
        if nurture_refusal(account, score, touches.get(stored.id, 0), policy) is None:
            value = nurture_value(account, row.propensity if row else None, policy)
            out.append((account, score, value))
    out.sort(key=lambda x: (-x[2], x[0].external_id))
    return out


def record_touch(
    ledger: LedgerOf[_AgentTx],
    clock: Clock,
    agent: str,
    account_key: str,
    kind: str,
    pipeline: SignalPipeline,
    event_id: str | None = None,
) -> str:
    """Store an agent touch as an activity and a signal; the account must be held.

    Returns the signal's event id (resending it is a no-op for scoring).
    """
    if kind not in TOUCH_KINDS:
        reason = f"must be one of {', '.join(TOUCH_KINDS)}"
        raise InputInvalid([RowError("request", 1, "kind", kind, reason)], "touch")
    now = clock()
    event = event_id or f"agent-touch:{uuid.uuid4().hex}"
    _check_held(ledger, agent, account_key, now, "touch")
    with ledger.transaction() as tx:
        account = _held(tx, agent, account_key, now, "touch")
        active = pipeline.active(tx)
        policy = active.policy
        activity = Activity(event, account.external_id, kind, now, "agent", agent)
        if not tx.existing_activity_ids([event]):
            tx.insert_activities([activity])
        signal_type = policy.agent_touch_signals.get(kind, "other")
        draft = SignalDraft(event, AccountRef(account_id=account.external_id), signal_type, now)
        draft = replace(draft, event_name=f"agent {kind}", attributes={"agent": agent})
        ingest(tx, [draft], policy, now, pipeline.after_ingest(active))
        cost = policy.agent_touch_cost
        payload = {"account": account.external_id, "kind": kind, "cost": cost}
        tx.append_audit(f"agent:{agent}", "agent.touch", payload, now)
    return event


def raise_hand(
    ledger: LedgerOf[_AgentTx],
    clock: Clock,
    agent: str,
    account_key: str,
    pipeline: SignalPipeline,
    note: str = "",
) -> HandRaise:
    """A `hand_raise` signal: scored and routed to a human in this same transaction."""
    now = clock()
    event = f"agent-hand-raise:{uuid.uuid4().hex}"
    _check_held(ledger, agent, account_key, now, "hand-raise")
    with ledger.transaction() as tx:
        account = _held(tx, agent, account_key, now, "hand-raise")
        assert account.id is not None
        active = pipeline.active(tx)
        attributes = {"agent": agent, "note": note} if note else {"agent": agent}
        draft = SignalDraft(
            event, AccountRef(account_id=account.external_id), "hand_raise", now,
            event_name="agent hand-raise", attributes=attributes,
        )  # fmt: skip
        ingest(tx, [draft], active.policy, now, pipeline.after_ingest(active))
        result = _routed(tx, account, now)
        claim = tx.active_claim(account.id, now)
        if claim is not None and result.lease_id is not None:
            tx.release_claim(claim.id, now, f"hand-raise: leased to {result.rep}")
        payload = {"account": account.external_id, "outcome": result.outcome, "rep": result.rep}
        tx.append_audit(f"agent:{agent}", "agent.hand_raise", payload, now)
    return result


def _routed(tx: _AgentTx, account: Account, now: datetime) -> HandRaise:
    """What routing did with the hand-raise just stored (its latest decision)."""
    assert account.id is not None
    score = tx.latest_scores([account.id]).get(account.id)
    lease = tx.active_lease(account.id)
    decisions = tx.routing_decisions(account.id, limit=1)
    outcome = decisions[0].outcome if decisions and decisions[0].at == now else "not_routed"
    if lease is None:
        return HandRaise(account.external_id, outcome, None, None, score.score if score else None)
    rep = next((r.external_id for r in tx.all_reps() if r.id == lease.rep_id), None)
    return HandRaise(account.external_id, outcome, rep, lease.id, score.score if score else None)


def _held(tx: _AgentTx, agent: str, account_key: str, now: datetime, what: str) -> Account:
    """The account if `agent` holds an active claim on it; else `ClaimNotHeld`."""
    account = tx.accounts_by_external_id([account_key]).get(account_key)
    if account is None or account.id is None:
        raise NotFound(f"account {account_key!r} does not exist")
    claim = tx.active_claim(account.id, now)
    if claim is None or claim.agent != agent:
        holder = "no agent" if claim is None else "another agent"
        raise ClaimNotHeld(account_key, agent, f"{what} refused: {holder} holds it")
    return account


def _check_held(
    ledger: LedgerOf[_AgentTx], agent: str, account_key: str, now: datetime, what: str
) -> None:
    """Refuse (and audit the refusal, which must outlive the refused call) early."""
    with ledger.transaction() as tx:
        try:
            _held(tx, agent, account_key, now, what)
            return
        except ClaimNotHeld as exc:
            refused = exc
        payload = {"account": account_key, "what": what, "reason": str(refused)}
        tx.append_audit(f"agent:{agent}", "agent.refused", payload, now)
    raise refused


def _names(claims: list[ClaimView]) -> list[str]:
    return [c.account for c in claims]
