"""The market as the batch optimiser sees it: who may get what, worth how much.

`snapshot` reads one consistent picture of the ledger (every rep with its capacity in
force and the leases that stay put, hot unleased accounts, movable active leases, latest
scores, track records, cooldowns); `build_problem` turns it into solver arrays: for each
account its top-K eligible reps by `EV(a, r) = P(a) × value(a) × q_r(segment)` (P and
value from its open opportunities when the policy has an opportunity model, as in
real-time routing: `dtem.services.pipeline_worth`), minus
`policy.continuity_penalty` on arcs that would move an active lease. Which accounts are
hot and which reps are eligible are the rules of real-time routing
(`dtem.domain.eligibility`), applied to the roster as routing applies them.

>>> # snap = snapshot(tx, at, active, move_leases=True); built = build_problem(snap, 50)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from dtem.domain.bidding import quarter_of
from dtem.domain.capacity import NO_AWARD, capacities_in_force
from dtem.domain.eligibility import (
    BoolArray,
    account_language,
    clears_threshold,
    exclusion_codes,
    is_hot,
)
from dtem.domain.expected_value import deal_value, expected_value
from dtem.domain.model import Account, Lease, Rep, segment_of
from dtem.domain.policy import Policy
from dtem.domain.ports import (
    BiddingPort,
    DirectoryPort,
    LeasesPort,
    PilotsPort,
    RoutingFactsPort,
    ScoresPort,
)
from dtem.domain.roster import RepRoster, roster_of
from dtem.domain.score_records import ScoreRecord
from dtem.domain.win_rate import win_rate_multiplier
from dtem.optimizer.problem import (
    AssignmentProblem,
    FloatArray,
    IntArray,
    with_continuity_penalty,
)
from dtem.services.governance import ActivePolicy
from dtem.services.pipeline_worth import pipeline_worth
from dtem.services.rebalance_shortlist import shortlist_arcs


@dataclass(frozen=True)
class MarketSnapshot:
    """Accounts in play (hot unleased first, then movable leases) and every rep."""

    reps: list[Rep]  # in roster order (by id)
    roster: RepRoster
    on_leave: BoolArray
    capacity_in_force: IntArray  # the quarter's award, else the rep's own capacity
    fixed_load: IntArray  # active leases that stay where they are in this solve
    capacity: FloatArray  # leases each rep may still hold in this solve
    accounts: list[Account]
    score: FloatArray  # latest score of each account (0 when never scored)
    propensity: FloatArray  # P(a): the account's, or its open opportunities' (see value)
    value: FloatArray  # value(a): its deal value, or what its open opportunities are worth
    leases: list[Lease | None]  # the movable active lease of each account, if any
    current: IntArray  # rep index holding the account now (-1 = unleased)
    cooling: set[tuple[int, int]]  # (account id, rep id)
    records: dict[str, dict[int, tuple[int, int]]]  # segment -> rep id -> (wins, losses)


@dataclass(frozen=True)
class BuiltProblem:
    problem: AssignmentProblem
    ev: FloatArray  # per arc, before the continuity penalty


class MarketFacts(
    ScoresPort, LeasesPort, DirectoryPort, RoutingFactsPort, BiddingPort, PilotsPort, Protocol
):
    """What a market snapshot reads: scores, leases, accounts, reps, leave, cooldowns,
    records, awards and a running pilot's pod."""


def snapshot(
    tx: MarketFacts, at: datetime, active: ActivePolicy, move_leases: bool
) -> MarketSnapshot:
    """Read the market at `at` (inside the caller's unit of work)."""
    policy = active.policy
    reps, roster, on_leave, cap = _rep_side(tx, at, policy)
    index = {r.id: i for i, r in enumerate(reps)}
    scores, leases = tx.latest_scores(), tx.active_leases()
    working = roster.active & ~on_leave  # a lease moves only from a rep still working
    movable = [x for x in leases if move_leases and x.rep_id in index and working[index[x.rep_id]]]
    hot = _hot_accounts(tx, scores, {x.account_id for x in leases}, policy)
    leased_accounts = tx.accounts_by_id([x.account_id for x in movable])
    accounts = hot + [leased_accounts[x.account_id] for x in movable]
    moving = {x.id for x in movable}
    staying = [index[x.rep_id] for x in leases if x.rep_id in index and x.id not in moving]
    fixed, held = _count(staying, len(reps)), _count([index[x.rep_id] for x in movable], len(reps))
    p, value = _worth(tx, accounts, scores, policy, at)
    return MarketSnapshot(
        reps, roster, on_leave, cap, fixed,
        # A rep over its (new) capacity keeps the movable leases it holds: moving them is
        # the solver's choice.
        np.maximum(np.maximum(cap - fixed, held), 0).astype(np.float64),
        accounts,
        np.array([_latest(scores, a).score for a in accounts], dtype=np.float64),
        p,
        value,
        [None] * len(hot) + list(movable),
        np.asarray([-1] * len(hot) + [index[x.rep_id] for x in movable], dtype=np.int64),
        tx.cooling_pairs(at - timedelta(days=policy.cooldown_days)),
        {seg: tx.rep_records(seg) for seg in {_segment(a) for a in accounts}},
    )  # fmt: skip


def _worth(
    tx: MarketFacts, accounts: list[Account], scores: dict[int, ScoreRecord], policy: Policy,
    at: datetime,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """P(a) and value(a) of each account, from its open opportunities where it has some."""
    p = {a.id or 0: _latest(scores, a).propensity for a in accounts}
    value = {a.id or 0: deal_value(a, policy) for a in accounts}
    worth = pipeline_worth(tx, policy, p, value, at.date())
    pairs = [worth.get(a.id or 0, (p[a.id or 0], value[a.id or 0])) for a in accounts]
    return (
        np.array([x[0] for x in pairs], dtype=np.float64),
        np.array([x[1] for x in pairs], dtype=np.float64),
    )


def _rep_side(
    tx: MarketFacts, at: datetime, policy: Policy
) -> tuple[list[Rep], RepRoster, BoolArray, IntArray]:
    """Every rep by id, its roster, who is on leave at `at`, and the capacity in force.

    While a pilot runs, reps outside its pod count as away: the solve gives them nothing
    and leaves their leases where they are (the floor keeps its static owners).
    """
    reps = sorted((r for r in tx.all_reps() if r.id is not None), key=lambda r: r.id or 0)
    leave, pod = tx.reps_on_leave(at), tx.pilot_pod()
    on_leave = np.array([r.id in leave or (pod and r.id not in pod) for r in reps], np.bool_)
    awards = tx.awarded_capacities(quarter_of(at.date()))
    awarded = np.array([awards.get(r.id or 0, NO_AWARD) for r in reps], dtype=np.int64)
    roster = roster_of(reps)
    return reps, roster, on_leave, capacities_in_force(roster.capacity, awarded, policy)


def _count(rep_indices: list[int], n_reps: int) -> IntArray:
    counts: IntArray = np.bincount(np.asarray(rep_indices, dtype=np.int64), minlength=n_reps)
    return counts.astype(np.int64)


def _hot_accounts(
    tx: DirectoryPort, scores: dict[int, ScoreRecord], held: set[int], policy: Policy
) -> list[Account]:
    """Unleased accounts routing would give a human without a hand-raise, by id."""
    ids = [a for a, s in scores.items() if a not in held and clears_threshold(s.score, policy)]
    found = tx.accounts_by_id(ids)
    return [found[i] for i in sorted(found) if is_hot(found[i], scores[i].score, policy)]


@dataclass(frozen=True)
class _NoScore:
    score: float = 0.0
    propensity: float = 0.0


def _latest(scores: dict[int, ScoreRecord], account: Account) -> ScoreRecord | _NoScore:
    return scores.get(account.id or 0) or _NoScore()


def _segment(account: Account) -> str:
    return segment_of(account.employees, account.industry)


def build_problem(
    snap: MarketSnapshot, policy: Policy, top_k: int, hours: bool = False
) -> BuiltProblem:
    """Solver arrays: each account's top-K eligible reps (and always its current rep)."""
    acc_idx, rep_idx, ev = shortlist_arcs(snap, policy, top_k)  # staying always possible
    value = with_continuity_penalty(ev, rep_idx, snap.current[acc_idx], policy.continuity_penalty)
    workload, capacity = None, snap.capacity
    if hours:
        effort = np.array([_effort(a, policy) for a in snap.accounts])
        workload = effort[acc_idx]
        capacity = snap.capacity * policy.default_effort_hours
    problem = AssignmentProblem.from_arrays(
        len(snap.accounts), capacity, acc_idx, rep_idx, value, workload, snap.current >= 0
    )
    return BuiltProblem(problem, ev)


def _effort(account: Account, policy: Policy) -> float:
    return policy.effort_hours.get(_segment(account), policy.default_effort_hours)


def eligible_arcs(snap: MarketSnapshot, policy: Policy) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (account, rep) pair routing would allow, with its EV, one segment at a time.

    A movable lease's holder always keeps its arc (staying put is always possible).
    """
    value = snap.value
    groups: dict[tuple[str, str | None], list[int]] = {}
    for a, account in enumerate(snap.accounts):
        groups.setdefault((_segment(account), account_language(account)), []).append(a)
    position = {r.id: i for i, r in enumerate(snap.reps)}
    row_of = {account.id: a for a, account in enumerate(snap.accounts)}
    blocked: dict[int, list[int]] = {}
    for acc, rep in snap.cooling:
        if acc in row_of and rep in position:
            blocked.setdefault(row_of[acc], []).append(position[rep])
    parts = [_group_arcs(snap, policy, key, rows, value, blocked) for key, rows in groups.items()]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _group_arcs(
    snap: MarketSnapshot, policy: Policy, key: tuple[str, str | None], rows: list[int],
    value: FloatArray, blocked: dict[int, list[int]],
) -> tuple[IntArray, IntArray, FloatArray]:  # fmt: skip
    segment, lang = key
    roster, n_reps = snap.roster, len(snap.reps)

    def codes(cooling: BoolArray) -> IntArray:
        return exclusion_codes(
            roster.active,
            snap.on_leave,
            roster.segment_mask(segment),
            roster.language_mask(lang) if lang is not None else np.ones(n_reps, np.bool_),
            snap.fixed_load,
            snap.capacity_in_force,
            cooling,
        )

    idx = np.asarray(rows, dtype=np.int64)
    allowed = np.tile(codes(np.zeros(n_reps, dtype=np.bool_)) == 0, (idx.shape[0], 1))
    cooled = [i for i, a in enumerate(rows) if a in blocked]
    if cooled:  # accounts some reps are cooling off on: their rows again, with the cooldown
        cooling = np.zeros((len(cooled), n_reps), dtype=np.bool_)
        for k, i in enumerate(cooled):
            cooling[k, blocked[rows[i]]] = True
        allowed[cooled] = codes(cooling) == 0
    held = np.flatnonzero(snap.current[idx] >= 0)
    allowed[held, snap.current[idx][held]] = True  # the holder keeps its arc
    a_local, cols = np.nonzero(allowed)
    record = snap.records.get(segment, {})
    wins_losses = np.array([record.get(r.id or 0, (0, 0)) for r in snap.reps], dtype=np.int64)
    q = win_rate_multiplier(wins_losses[:, 0], wins_losses[:, 1], policy)
    acc = idx[a_local]
    return acc, cols.astype(np.int64), expected_value(snap.propensity[acc], value[acc], q[cols])
