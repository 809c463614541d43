"""The market as the batch optimiser sees it: who may get what, worth how much.

`snapshot` reads one consistent picture of the ledger (reps with capacity, active leases,
hot unleased accounts, latest scores, track records, cooldowns); `build_problem` turns it
into solver arrays: for each account its top-K eligible reps by
`EV(a, r) = P(a) × value(a) × q_r(segment)` (the routing rule, `dtem.domain.routing`),
minus `policy.continuity_penalty` on arcs that would move an active lease.

>>> # snap = snapshot(tx, at, active, move_leases=True); built = build_problem(snap, 50)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from dtem.domain.model import Account, Lease, Rep, Tier, segment_of
from dtem.domain.policy import Policy
from dtem.domain.ports import LedgerTx
from dtem.domain.routing import (
    LANGUAGE_NAMES,
    account_language,
    segment_matches,
    win_rate_multiplier,
)
from dtem.domain.score_records import ScoreRecord
from dtem.optimizer.problem import (
    AssignmentProblem,
    FloatArray,
    IntArray,
    top_k_arcs,
    with_continuity_penalty,
)
from dtem.services.bidding import effective_capacities
from dtem.services.governance import ActivePolicy


@dataclass(frozen=True)
class MarketSnapshot:
    """Accounts in play (hot unleased first, then movable leases) and the reps."""

    reps: list[Rep]
    capacity: FloatArray  # leases each rep may still hold in this solve
    accounts: list[Account]
    score: FloatArray  # latest score of each account (0 when never scored)
    propensity: FloatArray
    leases: list[Lease | None]  # the movable active lease of each account, if any
    current: IntArray  # rep index holding the account now (-1 = unleased)
    cooling: set[tuple[int, int]]  # (account id, rep id)
    records: dict[str, dict[int, tuple[int, int]]]  # segment -> rep id -> (wins, losses)


@dataclass(frozen=True)
class BuiltProblem:
    problem: AssignmentProblem
    ev: FloatArray  # per arc, before the continuity penalty


def snapshot(tx: LedgerTx, at: datetime, active: ActivePolicy, move_leases: bool) -> MarketSnapshot:
    """Read the market at `at` (inside the caller's unit of work)."""
    policy = active.policy
    on_leave = tx.reps_on_leave(at)
    reps = [r for r in tx.all_reps() if r.active and r.id is not None and r.id not in on_leave]
    index = {r.id: i for i, r in enumerate(reps)}
    caps = effective_capacities(tx, reps, at.date(), policy)
    scores = tx.latest_scores()
    leases = tx.active_leases()
    held = {x.account_id for x in leases}
    movable = [x for x in leases if move_leases and x.rep_id in index]
    hot = _hot_accounts(tx, scores, held, policy)
    leased_accounts = tx.accounts_by_id([x.account_id for x in movable])
    accounts = hot + [leased_accounts[x.account_id] for x in movable]
    current = [-1] * len(hot) + [index[x.rep_id] for x in movable]
    return MarketSnapshot(
        reps,
        _seats(reps, caps, leases, movable, index),
        accounts,
        np.array([_latest(scores, a).score for a in accounts], dtype=np.float64),
        np.array([_latest(scores, a).propensity for a in accounts], dtype=np.float64),
        [None] * len(hot) + list(movable),
        np.asarray(current, dtype=np.int64),
        tx.cooling_pairs(at - timedelta(days=policy.cooldown_days)),
        {seg: tx.rep_records(seg) for seg in {_segment(a) for a in accounts}},
    )


def _seats(
    reps: list[Rep], caps: dict[int, int], leases: list[Lease], movable: list[Lease],
    index: dict[int | None, int],
) -> FloatArray:  # fmt: skip
    """Capacity left for the solve: fixed leases use theirs first; a rep over its (new)
    capacity keeps the movable leases it holds (moving them is the solver's choice)."""
    moving = {x.id for x in movable}
    fixed = [index[x.rep_id] for x in leases if x.rep_id in index and x.id not in moving]
    load = np.bincount(np.asarray(fixed, dtype=np.int64), minlength=len(reps))
    held = np.bincount(
        np.asarray([index[x.rep_id] for x in movable], dtype=np.int64), minlength=len(reps)
    )
    capacity = np.array([caps[r.id or 0] for r in reps], dtype=np.float64) - load
    return np.maximum(np.maximum(capacity, held), 0.0)


def _hot_accounts(
    tx: LedgerTx, scores: dict[int, ScoreRecord], held: set[int], policy: Policy
) -> list[Account]:
    """Unleased accounts at or above the threshold that humans may work."""
    ids = [a for a, s in scores.items() if s.score >= policy.threshold and a not in held]
    found = tx.accounts_by_id(ids)
    hot = [
        found[i]
        for i in sorted(found)
        if not found[i].do_not_contact and found[i].tier != Tier.AI_ONLY
    ]
    return hot


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
    acc_idx, rep_idx, ev = _eligible_arcs(snap, policy)
    keep = top_k_arcs(acc_idx, ev, top_k)
    cur = snap.current[acc_idx]
    keep = np.union1d(keep, np.flatnonzero(rep_idx == cur))  # staying is always possible
    acc_idx, rep_idx, ev = acc_idx[keep], rep_idx[keep], ev[keep]
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


def _eligible_arcs(snap: MarketSnapshot, policy: Policy) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (account, rep) pair routing would allow, with its EV, one segment at a time."""
    value = np.array([a.potential_value or policy.default_deal_value for a in snap.accounts])
    base = snap.propensity * value  # P(a) × value(a), as routing defines it
    groups: dict[tuple[str, str | None], list[int]] = {}
    for a, account in enumerate(snap.accounts):
        groups.setdefault((_segment(account), account_language(account)), []).append(a)
    position = {r.id: i for i, r in enumerate(snap.reps)}
    row_of = {account.id: a for a, account in enumerate(snap.accounts)}
    blocked = [
        (row_of[acc], position[rep])
        for acc, rep in snap.cooling
        if acc in row_of and rep in position
    ]
    parts = [_group_arcs(snap, policy, key, rows, base, blocked) for key, rows in groups.items()]
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
    base: FloatArray, blocked: list[tuple[int, int]],
) -> tuple[IntArray, IntArray, FloatArray]:  # fmt: skip
    segment, lang = key
    record = snap.records.get(segment, {})
    fits = np.array([_fits(rep, segment, lang) for rep in snap.reps], dtype=np.bool_)
    q = np.array(
        [win_rate_multiplier(*record.get(rep.id or 0, (0, 0)), policy) for rep in snap.reps]
    )
    idx = np.asarray(rows, dtype=np.int64)
    allowed = np.tile(fits, (idx.shape[0], 1))
    local = {a: i for i, a in enumerate(rows)}
    for a, r in blocked:  # cooling off on this account
        if a in local:
            allowed[local[a], r] = False
    held = np.flatnonzero(snap.current[idx] >= 0)
    allowed[held, snap.current[idx][held]] = True  # the holder keeps its arc
    a_local, cols = np.nonzero(allowed)
    return idx[a_local], cols.astype(np.int64), base[idx[a_local]] * q[cols]


def _fits(rep: Rep, segment: str, lang: str | None) -> bool:
    """Segment and language rules of routing (an empty list means any)."""
    if not segment_matches(rep.segments, segment):
        return False
    langs = {LANGUAGE_NAMES.get(x.strip().lower(), x.strip().lower()) for x in rep.languages}
    return lang is None or not langs or lang in langs
