"""Preview a stored policy version before activating it: what would change, writing nothing.

Both policies score every account in one engine pass each, on the same signals at the
same instant, so what differs is the policy alone (not the time that passed since the
last score). The preview then answers the questions an admin asks before a change:

* which accounts would cross the threshold, up and down (each policy's own threshold);
* which would change tier, and how many by (from, to);
* each rep's load before and after: the accounts that would newly turn hot and are not
  leased are spread over the reps' free capacity under the new policy, highest score
  first to the rep with the most room (an estimate of routing, which also weighs each
  rep's win rate); what finds no room is counted as overflow;
* the expected commission on the hot pool, Σ P(win) × deal value × rate(score), under
  each policy's comp curve;
* the price of capacity λ under each, and one step of the policy's λ controller from
  the projected utilisation, λ × exp(k × (U − U*)) within its bounds — the move the
  controller asks for (the daily review does not apply it yet: λ in force is the
  policy's `lambda_hourly` or the reps' blended hourly cost).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from dtem.domain.batch import BatchScorer, BatchScores, TypeParams, account_params
from dtem.domain.capacity import (
    blended_hourly_cost,
    capacity_of,
    lambda_step,
    price_of_capacity,
)
from dtem.domain.clock import Clock
from dtem.domain.expected_value import deal_value
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    DirectoryPort,
    EconomicsPort,
    LeasesPort,
    LedgerOf,
    PolicyPort,
    ScoresPort,
)
from dtem.domain.score_records import AccountFacts, SignalColumns
from dtem.domain.segments import Economics
from dtem.domain.tiers import tier_in_force
from dtem.services.governance import ActivePolicy, active_policy
from dtem.services.scoring import current_economics


class _PreviewInputs(PolicyPort, ScoresPort, EconomicsPort, DirectoryPort, LeasesPort, Protocol):
    """What a preview reads: policies, accounts and signals, economics, reps, leases."""


@dataclass(frozen=True)
class Crossing:
    account: str
    before: float
    after: float


@dataclass(frozen=True)
class RepLoad:
    rep: str
    capacity_before: int
    capacity_after: int
    load_before: int
    load_after: int


@dataclass(frozen=True)
class Preview:
    """What activating `version` instead of `active_version` would change now."""

    version: int
    active_version: int
    as_of: datetime
    accounts: int
    hot_before: int
    hot_after: int
    crossed_up: int
    crossed_down: int
    examples_up: list[Crossing]
    examples_down: list[Crossing]
    tier_changes: dict[str, int]  # "2→1": count
    reps: list[RepLoad]
    overflow: int  # newly hot accounts no rep would have room for
    commission_before: float
    commission_after: float
    utilisation_before: float
    utilisation_after: float
    lambda_before: float
    lambda_after: float
    lambda_controller_step: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out


@dataclass(frozen=True)
class _Read:
    before: Policy
    after: Policy
    active_version: int
    eco: Economics
    facts: list[AccountFacts]
    signals: SignalColumns
    accounts: dict[int, Account]
    reps: list[Rep]
    load: dict[int, int]  # active leases by rep id
    leased: set[int]
    lambda_ratio: float = 1.0  # the controller's λ ÷ the policy's λ, carried to the candidate


def preview_policy(
    ledger: LedgerOf[_PreviewInputs],
    version: int,
    scorer: BatchScorer,
    clock: Clock,
    examples: int = 10,
) -> Preview:
    """Compare stored version `version` with the active policy on today's ledger (read
    only). Raises `NotFound` for an unknown version, `PolicyInvalid` for a broken one."""
    started = time.perf_counter()
    as_of = clock()
    read = _read(ledger, version, as_of)
    before = _score(scorer, read, read.before, as_of)
    after = _score(scorer, read, read.after, as_of)
    hot_b = before.score >= read.before.threshold
    hot_a = after.score >= read.after.threshold
    ids = before.account_id.tolist()
    up, down = np.flatnonzero(~hot_b & hot_a), np.flatnonzero(hot_b & ~hot_a)
    reps, overflow = _loads(read, ids, after.score, up)
    lam_b, lam_a, lam_next, u_b, u_a = _lambda(read, reps)
    return Preview(
        version=version, active_version=read.active_version, as_of=as_of, accounts=len(ids),
        hot_before=int(hot_b.sum()), hot_after=int(hot_a.sum()),
        crossed_up=len(up), crossed_down=len(down),
        examples_up=_examples(read, ids, before, after, up, examples),
        examples_down=_examples(read, ids, before, after, down, examples),
        tier_changes=_tier_changes(read),
        reps=reps, overflow=overflow,
        commission_before=_commission(read, read.before, before, hot_b),
        commission_after=_commission(read, read.after, after, hot_a),
        utilisation_before=u_b, utilisation_after=u_a,
        lambda_before=lam_b, lambda_after=lam_a, lambda_controller_step=lam_next,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _read(ledger: LedgerOf[_PreviewInputs], version: int, as_of: datetime) -> _Read:
    with ledger.transaction() as tx:
        active = active_policy(tx)
        stored = Policy.from_dict(tx.policy_document(version))
        candidate = ActivePolicy.of(version, stored, active.lambda_ratio).policy
        load: dict[int, int] = {}
        leased: set[int] = set()
        for lease in tx.active_leases():
            load[lease.rep_id] = load.get(lease.rep_id, 0) + 1
            leased.add(lease.account_id)
        accounts = {a.id: a for a in tx.all_accounts().values() if a.id is not None}
        return _Read(
            active.policy, candidate, active.version, current_economics(tx),
            tx.scoring_accounts(), tx.signal_columns(as_of), accounts, tx.all_reps(),
            load, leased, active.lambda_ratio,
        )  # fmt: skip


def _score(scorer: BatchScorer, read: _Read, policy: Policy, as_of: datetime) -> BatchScores:
    params = account_params(policy, read.eco, read.facts)
    result = scorer.score(read.signals, params, TypeParams.of(policy), policy.e_half, as_of)
    order = np.argsort(result.account_id, kind="stable")
    return BatchScores(
        result.account_id[order], {k: v[order] for k, v in result.intensities.items()},
        result.logit[order], result.propensity[order], result.velocity[order],
        result.cost[order], result.equity[order], result.score[order],
    )  # fmt: skip


def _examples(
    read: _Read, ids: list[int], before: BatchScores, after: BatchScores,
    which: np.ndarray, n: int,
) -> list[Crossing]:  # fmt: skip
    """The `n` crossings that move most, largest change first."""
    move = np.abs(after.score[which] - before.score[which])
    top = which[np.argsort(-move, kind="stable")[:n]]
    return [
        Crossing(read.accounts[ids[i]].external_id, round(float(before.score[i]), 2),
                 round(float(after.score[i]), 2))
        for i in top.tolist()
    ]  # fmt: skip


def _tier_changes(read: _Read) -> dict[str, int]:
    changes: dict[str, int] = {}
    for account in read.accounts.values():
        a, _ = tier_in_force(account, read.before)
        b, _ = tier_in_force(account, read.after)
        if a != b:
            key = f"{int(a)}→{int(b)}"
            changes[key] = changes.get(key, 0) + 1
    return dict(sorted(changes.items()))


def _loads(
    read: _Read, ids: list[int], score_after: np.ndarray, up: np.ndarray
) -> tuple[list[RepLoad], int]:
    """Each active rep's leases now, and after spreading the newly hot, unleased,
    routable accounts over free capacity (most room first); plus the overflow."""
    reps = [r for r in read.reps if r.active and r.id is not None]
    after = {r.id: read.load.get(r.id, 0) for r in reps if r.id is not None}
    room = [(-(capacity_of(r, read.after) - after[r.id]), r.id) for r in reps if r.id is not None]
    heapq.heapify(room)
    overflow = 0
    for i in up[np.argsort(-score_after[up], kind="stable")].tolist():
        account = read.accounts.get(ids[i])
        if account is None or ids[i] in read.leased or account.do_not_contact:
            continue
        if tier_in_force(account, read.after)[0] == Tier.AI_ONLY:
            continue  # tier 3 reaches a human only on a hand-raise
        if not room or room[0][0] >= 0:
            overflow += 1
            continue
        free, rep_id = heapq.heappop(room)
        after[rep_id] += 1
        heapq.heappush(room, (free + 1, rep_id))
    loads = [
        RepLoad(r.external_id, capacity_of(r, read.before), capacity_of(r, read.after),
                read.load.get(r.id, 0), after[r.id])
        for r in reps if r.id is not None
    ]  # fmt: skip
    return loads, overflow


def _commission(read: _Read, policy: Policy, scores: BatchScores, hot: np.ndarray) -> float:
    """Σ P(win) × deal value × rate(score) over the hot pool, under `policy`'s curve."""
    xs = np.array([s for s, _ in policy.comp_points])
    rates = np.array([r for _, r in policy.comp_points])
    idx = np.flatnonzero(hot)
    values = np.array(
        [deal_value(read.accounts[a], policy) if a in read.accounts else
         policy.default_deal_value for a in scores.account_id[idx].tolist()],
        dtype=np.float64,
    )  # fmt: skip
    rate = np.interp(scores.score[idx], xs, rates)
    return round(float(np.sum(scores.propensity[idx] * values * rate)), 2)


def _lambda(read: _Read, reps: list[RepLoad]) -> tuple[float, float, float, float, float]:
    """λ under each policy, the controller's next λ, and utilisation before and after."""
    blended = blended_hourly_cost(read.reps)
    lam_b = price_of_capacity(read.before, blended) * read.lambda_ratio
    lam_a = price_of_capacity(read.after, blended) * read.lambda_ratio
    cap_b = sum(r.capacity_before for r in reps)
    cap_a = sum(r.capacity_after for r in reps)
    u_b = sum(r.load_before for r in reps) / cap_b if cap_b else 0.0
    u_a = sum(r.load_after for r in reps) / cap_a if cap_a else 0.0
    ctl = read.after.lambda_controller
    nxt = lambda_step(lam_a, u_a, ctl)
    return lam_b, lam_a, nxt, round(u_b, 4), round(u_a, 4)
