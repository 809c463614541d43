"""Random markets for the eligibility agreement tests: reps, accounts, scores, leases,
cooldowns, leave and awards on any ledger; and the (account, rep) pairs that real-time
routing accepts and that the rebalance gives arcs, read from the same ledger."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dtem.domain.bidding import quarter_of
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.roster import route_roster
from dtem.services import leases
from dtem.services.governance import active_policy
from dtem.services.rebalance_market import eligible_arcs, snapshot
from dtem.services.routing import market_query, routing_request
from tests.optim_seed import score, seed

SEGMENTS: list[tuple[str, ...]] = [(), ("smb|*",), ("mid|retail",), ("smb|retail", "enterprise|*")]
LANGUAGES: list[tuple[str, ...]] = [(), ("en",), ("German",), ("fr", "Spanish")]
EMPLOYEES = [None, 40, 400, 4000]
INDUSTRIES = [None, "Retail", "software"]
COUNTRIES = [None, "DE", "US", "fr", "Narnia"]
DAYS = [5, 150]  # since a revoked lease ended: within the 90-day cooldown, and past it
SCORES = [None, 40.0, 59.9, 60.0, 60.1, 85.0]  # the default threshold is 60


@dataclass
class Market:
    """Indices refer to `reps` and `accounts`; scores align with `accounts`."""

    reps: list[Rep]
    accounts: list[Account]
    scores: list[float | None]
    active: list[tuple[int, int]] = field(default_factory=list)  # (account, rep) leased now
    cooled: list[tuple[int, int, int]] = field(default_factory=list)  # (+ days since it ended)
    on_leave: list[int] = field(default_factory=list)
    awards: dict[int, int] = field(default_factory=dict)


def random_market(rnd: random.Random, n_reps: int = 8, n_accounts: int = 12) -> Market:
    """A market drawn with `rnd` (the fixed-seed backend test uses it)."""
    reps = [
        Rep(f"R{i}", f"Rep {i}", segments=rnd.choice(SEGMENTS), languages=rnd.choice(LANGUAGES),
            capacity=rnd.randint(0, 3), active=rnd.random() > 0.2)
        for i in range(n_reps)
    ]  # fmt: skip
    accounts = [
        Account(f"A{i}", f"Acct {i}", employees=rnd.choice(EMPLOYEES),
                industry=rnd.choice(INDUSTRIES), country=rnd.choice(COUNTRIES),
                tier=rnd.choice(list(Tier)), do_not_contact=rnd.random() < 0.15)
        for i in range(n_accounts)
    ]  # fmt: skip
    leased = rnd.sample(range(n_accounts), n_accounts // 3)
    return Market(
        reps,
        accounts,
        [rnd.choice(SCORES) for _ in accounts],
        [(a, rnd.randrange(n_reps)) for a in leased],
        [(rnd.randrange(n_accounts), rnd.randrange(n_reps), rnd.choice(DAYS)) for _ in range(4)],
        rnd.sample(range(n_reps), min(2, n_reps)),
        {r: rnd.randint(0, 3) for r in rnd.sample(range(n_reps), min(2, n_reps))},
    )  # fmt: skip


def build(ledger: Any, clock: FixedClock, m: Market) -> tuple[list[int], list[int]]:
    """Write the market; return account ids and rep ids in the market's order."""
    acc, rep = seed(ledger, clock, m.accounts, m.reps)
    a_ids = [acc[a.external_id] for a in m.accounts]
    r_ids = [rep[r.external_id] for r in m.reps]
    now = clock()
    for a, value in zip(a_ids, m.scores, strict=True):
        if value is not None:
            score(ledger, a, value, now, 0.1 + (a % 7) / 10)
    with ledger.transaction() as tx:
        active = active_policy(tx)
        for a, r, days in m.cooled:  # revoked: its sprint passed without an advance
            ended = now - timedelta(days=days)
            lease = leases.grant(tx, a_ids[a], r_ids[r], ended - timedelta(days=40), 70.0,
                                 active, "seed", "test")  # fmt: skip
            leases.expire(tx, lease, ended, False, active)
        for a, r in m.active:
            leases.grant(tx, a_ids[a], r_ids[r], now, 70.0, active, "seed", "test")
        for r in m.on_leave:
            tx.add_unavailability(r_ids[r], now - timedelta(days=1), now + timedelta(days=1), "x")
        for r, awarded in m.awards.items():
            tx.put_capacity_bid(r_ids[r], quarter_of(now.date()), 5, now)
            tx.record_capacity_award(r_ids[r], quarter_of(now.date()), awarded, "seed", now)
    return a_ids, r_ids


def routing_pairs(ledger: Any, at: datetime, account_ids: list[int]) -> set[tuple[int, int]]:
    """(account id, rep id) pairs real-time routing would accept for a crossed-up score."""
    pairs: set[tuple[int, int]] = set()
    with ledger.transaction() as tx:
        active = active_policy(tx)
        for account in tx.accounts_by_id(account_ids).values():
            current = tx.active_lease(account.id or 0)
            request = routing_request(tx, account, "crossed_up", active, current, at=at)
            roster, load = tx.rep_market(market_query(account, at, active))
            decision = route_roster(request, roster, load, active.policy)
            if decision.outcome not in ("leased", "overflow"):
                continue  # an account rule kept every rep from it
            ext = dict(zip(roster.external_ids, roster.ids.tolist(), strict=True))
            pairs |= {(account.id or 0, ext[r]) for r in ext if r not in decision.exclusions}
    return pairs


def rebalance_pairs(ledger: Any, at: datetime) -> set[tuple[int, int]]:
    """(account id, rep id) arcs of a rebalance that moves no lease."""
    with ledger.transaction() as tx:
        active = active_policy(tx)
        snap = snapshot(tx, at, active, move_leases=False)
        acc, rep, _ = eligible_arcs(snap, active.policy)
    return {
        (snap.accounts[a].id or 0, snap.reps[r].id or 0)
        for a, r in zip(acc.tolist(), rep.tolist(), strict=True)
    }
