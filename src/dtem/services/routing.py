"""Real-time routing of one account: gather the facts, decide, lease or queue, record why.

Every call stores a routing decision (trigger, policy version, chosen rep, top five
candidates with EV, why every other rep was excluded). No eligible rep puts the account
in the overflow queue, retried by the daily review; it is never dropped.

>>> # route(ledger, clock, "ACME-001", trigger="hand_raise").outcome  -> 'leased'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from dtem.domain.bidding import quarter_of
from dtem.domain.capacity import capacities_in_force
from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, LeaseConflict, NotFound
from dtem.domain.expected_value import deal_value
from dtem.domain.listings import IdPage
from dtem.domain.model import Account, Lease, segment_of
from dtem.domain.ports import (
    AccountTiersPort,
    AuditPort,
    DecisionLogPort,
    DirectoryPort,
    LeasesPort,
    LedgerOf,
    ListingsPort,
    OutboxPort,
    PilotsPort,
    PolicyPort,
    RoutingFactsPort,
)
from dtem.domain.roster import RepRoster, RosterLoad, route_roster
from dtem.domain.routing import TRIGGERS, RoutingDecision, RoutingRequest, ScoreFacts
from dtem.domain.store_market import (
    AccountFacts,
    MarketQuery,
    OverflowEntry,
    RoutingRecord,
    ScoreRow,
)
from dtem.domain.tiers import tier_in_force
from dtem.domain.win_rate import win_rate_multiplier
from dtem.services import leases, webhook_events
from dtem.services.governance import ActivePolicy, active_policy, policy_cache
from dtem.services.pipeline_worth import pipeline_worth
from dtem.services.tiering import tier_override


class RoutingFactsTx(RoutingFactsPort, AccountTiersPort, Protocol):
    """What routing asks about an account: its score, rep records, a tier override."""


class RoutingTx(
    RoutingFactsTx,
    DecisionLogPort,
    LeasesPort,
    DirectoryPort,
    AuditPort,
    PilotsPort,
    OutboxPort,
    Protocol,
):
    """What a routing decision reads and writes in the caller's unit of work: routing
    facts, the decision log, the lease it grants (audited), accounts and reps, and the
    pod of a running pilot (only its reps are fed then)."""


class _Route(RoutingTx, PolicyPort, Protocol):
    """A routing decision under the active policy."""


class _Overflow(ListingsPort, DirectoryPort, Protocol):
    """The overflow queue and the accounts it names."""


class _Decisions(DecisionLogPort, DirectoryPort, Protocol):
    """Stored decisions and overflow, with account and rep names."""


@dataclass(frozen=True)
class RouteResult:
    account: str
    outcome: str
    reason: str
    trigger: str
    policy_version: int
    decision_id: int
    rep: str | None = None
    lease: Lease | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    exclusions: dict[str, str] = field(default_factory=dict)


def route(
    ledger: LedgerOf[_Route],
    clock: Clock,
    account: str,
    trigger: str = "manual",
    actor: str = "router",
) -> RouteResult:
    """Route one account now (one unit of work). Raises `NotFound` for an unknown account."""
    if trigger not in TRIGGERS:
        raise ArgumentInvalid(f"unknown trigger {trigger!r}; one of {', '.join(TRIGGERS)}")
    with ledger.transaction() as tx:
        active = active_policy(tx, policy_cache(ledger))  # parsed once per version
        facts = tx.account_facts(external_id=account)  # the account and its facts: one read
        if facts is None:
            raise NotFound(f"account {account!r} does not exist")
        return route_in_tx(tx, facts.account, trigger, clock(), actor, active, facts=facts)


def route_in_tx(
    tx: RoutingTx,
    account: Account,
    trigger: str,
    at: datetime,
    actor: str,
    active: ActivePolicy,
    min_velocity: float | None = None,
    *,
    latest: ScoreRow | None = None,
    facts: AccountFacts | None = None,
) -> RouteResult:
    """Route inside the caller's unit of work (the review uses it for each account).

    `latest`: the score the caller just wrote in this unit of work (else it is read);
    `facts`: the account's facts as just read in this unit of work (else they are read).
    """
    assert account.id is not None
    if facts is None:
        facts = tx.account_facts(account_id=account.id)
        assert facts is not None, f"account {account.id} vanished inside its unit of work"
    current = facts.lease  # the lease the grant is decided on
    if trigger == "hand_raise" and current is not None:  # tell the rep who holds it
        webhook_events.hand_raise(tx, current, account, at)
    latest = latest or facts.score
    request = routing_request(
        tx, account, trigger, active, current, min_velocity, latest, at=at, facts=facts
    )
    roster, load = tx.rep_market(market_query(account, at, active))
    pod = tx.pilot_pod()
    decision = route_roster(request, roster, load, active.policy, pod)
    lease: Lease | None = None
    if decision.outcome == "leased":
        market = (roster, load, pod)
        decision, lease = _grant_best(tx, request, current, market, decision, at, actor, active)
    return _record(tx, account, trigger, at, active, decision, lease, facts.overflow)


def routing_request(
    tx: RoutingFactsTx,
    account: Account,
    trigger: str,
    active: ActivePolicy,
    current: Lease | None,
    min_velocity: float | None = None,
    latest: ScoreRow | None = None,
    *,
    at: datetime,
    facts: AccountFacts | None = None,
) -> RoutingRequest:
    """What routing asks about an account at `at`: its latest score (`latest` when the
    caller just wrote it, else read); `current` = its active lease. With an opportunity
    model in the policy, its open opportunities set P and value (`pipeline_worth`).
    `facts`: the account's stored tier as already read (else it is read)."""
    assert account.id is not None
    score = latest if latest is not None else tx.routing_score(account.id)
    if facts is not None:
        override = facts.tier.override if facts.tier is not None else None
    else:
        override = tier_override(tx, account.id)
    account = replace(account, tier=tier_in_force(account, active.policy, override)[0])
    return RoutingRequest(
        account,
        trigger,
        _score_facts(tx, score, account, active, at) if score else None,
        has_active_lease=current is not None,
        min_velocity=min_velocity,
    )


def _score_facts(
    tx: RoutingFactsPort, score: ScoreRow, account: Account, active: ActivePolicy, at: datetime
) -> ScoreFacts:
    assert account.id is not None
    p, value = score.propensity, deal_value(account, active.policy)
    worth = pipeline_worth(tx, active.policy, {account.id: p}, {account.id: value}, at.date())
    p, value = worth.get(account.id, (p, value))
    return ScoreFacts(score.score, p, value)


def market_query(account: Account, at: datetime, active: ActivePolicy) -> MarketQuery:
    """The facts routing reads about every rep for this account at `at`."""
    assert account.id is not None
    return MarketQuery(
        account.id,
        segment_of(account.employees, account.industry),
        quarter_of(at.date()),  # a quarter's awarded capacity is the rep's capacity
        at,
        at - timedelta(days=active.policy.cooldown_days),
    )


def _grant_best(
    tx: RoutingTx,
    req: RoutingRequest,
    current: Lease | None,
    market: tuple[RepRoster, RosterLoad, frozenset[int]],
    decision: RoutingDecision,
    at: datetime,
    actor: str,
    active: ActivePolicy,
) -> tuple[RoutingDecision, Lease | None]:
    """Grant to the best candidate, re-checking its load under a lock (concurrent routers).

    A rep filled up meanwhile is marked full and the decision retaken; a lease granted
    meanwhile by another router (`LeaseConflict`) makes this one `already_leased`.
    """
    assert req.account.id is not None
    roster, load, pod = market
    capacity = capacities_in_force(roster.capacity, load.awarded, active.policy)
    for _ in range(len(roster.ids)):
        chosen = decision.chosen
        if chosen is None:
            return decision, None
        recount = tx.lock_rep_load(chosen.rep_id)
        index = roster.index_of(chosen.rep_id)
        if recount >= capacity[index]:
            load = load.with_load(index, recount)
            decision = route_roster(req, roster, load, active.policy, pod)
            continue
        return _grant(tx, req, current, decision, chosen.rep_id, at, actor, active)
    return decision, None


def _grant(
    tx: RoutingTx,
    req: RoutingRequest,
    current: Lease | None,
    decision: RoutingDecision,
    rep_id: int,
    at: datetime,
    actor: str,
    active: ActivePolicy,
) -> tuple[RoutingDecision, Lease | None]:
    assert req.account.id is not None
    score = req.score.score if req.score else 0.0
    try:  # the decision's reason already names the trigger
        lease = leases.grant_on_current(
            tx, current, req.account.id, rep_id, at, score, active, decision.reason, actor
        )
    except LeaseConflict as exc:
        why = f"lost the race to another router ({exc})"
        return RoutingDecision("already_leased", why, decision.segment), None
    return decision, lease


def _record(
    tx: RoutingTx,
    account: Account,
    trigger: str,
    at: datetime,
    active: ActivePolicy,
    decision: RoutingDecision,
    lease: Lease | None,
    queued: OverflowEntry | None,
) -> RouteResult:
    assert account.id is not None
    candidates = [
        {
            "rep": c.rep_external_id,
            "rep_id": c.rep_id,
            "ev": round(c.ev, 2),
            "q": round(c.q, 4),
            "free_capacity": c.free_capacity,
        }
        for c in decision.candidates
    ]
    chosen = decision.chosen if decision.outcome == "leased" else None
    record = RoutingRecord(
        account.id,
        at,
        trigger,
        active.version,
        decision.outcome,
        chosen.rep_id if chosen else None,
        lease.id if lease else None,
        candidates,
        dict(decision.exclusions),
    )
    decision_id = tx.add_routing_decision(record)
    _track_overflow(tx, account.id, at, decision, queued)
    return RouteResult(
        account.external_id,
        decision.outcome,
        decision.reason,
        trigger,
        active.version,
        decision_id,
        chosen.rep_external_id if chosen else None,
        lease,
        candidates,
        dict(decision.exclusions),
    )


def _track_overflow(
    tx: DecisionLogPort,
    account_id: int,
    at: datetime,
    d: RoutingDecision,
    entry: OverflowEntry | None,
) -> None:
    """Queue an unroutable account once; resolve its open queue `entry` when it is decided."""
    if d.outcome == "overflow" and entry is None:
        tx.add_overflow(account_id, at, d.reason)
    elif d.outcome != "overflow" and entry is not None:
        tx.resolve_overflow(entry.id, at, d.outcome)


def rep_velocity(
    tx: RoutingFactsPort, rep_id: int, account: Account, active: ActivePolicy
) -> float:
    """A rep's velocity on an account's segment: its win-rate multiplier q_r (1 = average)."""
    wins, losses = tx.rep_records(segment_of(account.employees, account.industry)).get(
        rep_id, (0, 0)
    )
    return win_rate_multiplier(wins, losses, active.policy)


@dataclass(frozen=True)
class Explanation:
    account: str
    decisions: list[dict[str, Any]]


def explain(ledger: LedgerOf[_Decisions], account: str, limit: int = 5) -> Explanation:
    """The latest routing decisions of an account, newest first, with rep names."""
    with ledger.transaction() as tx:
        acct = tx.accounts_by_external_id([account]).get(account)
        if acct is None or acct.id is None:
            raise NotFound(f"account {account!r} does not exist")
        reps = {r.id: r.external_id for r in tx.all_reps()}
        rows = tx.routing_decisions(acct.id, limit)
    return Explanation(
        account,
        [
            {
                "id": r.id,
                "at": r.at,
                "trigger": r.trigger,
                "outcome": r.outcome,
                "policy_version": r.policy_version,
                "lease_id": r.lease_id,
                "chosen": reps.get(r.chosen_rep_id) if r.chosen_rep_id else None,
                "candidates": r.candidates,
                "exclusions": r.exclusions,
            }
            for r in rows
        ],
    )


def overflow(
    ledger: LedgerOf[_Overflow],
    open_only: bool = True,
    after: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The overflow queue with account ids resolved, oldest first (entry ids above `after`;
    `limit` None: every one) — managers watch it."""
    with ledger.transaction() as tx:
        entries = tx.overflow_page(open_only, IdPage(after=after, limit=limit))
        accounts = tx.accounts_by_id({e.account_id for e in entries})
    return [
        {
            "id": e.id,
            "account": accounts[e.account_id].external_id,
            "queued_at": e.queued_at,
            "reason": e.reason,
            "resolved_at": e.resolved_at,
            "resolution": e.resolution,
        }
        for e in entries
    ]
