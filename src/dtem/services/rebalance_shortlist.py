"""Each account's top-K eligible reps for the rebalance, without scoring every pair.

`EV(a, r) = (P(a) × value(a)) × q_r(segment)`: within one segment and language every
account allows the same reps (the roster's rules) and ranks them the same way — by q_r,
then by roster order as a tie (all EVs tie at 0 when P × value is 0: roster order). So
the shortlist of a plain account is the group's ranking cut at K; only accounts a rep is
cooling off on, and movable leases whose holder the rules would exclude (the holder
always keeps its arc), get a list of their own. 100k accounts × 500 reps: K arcs an
account instead of 50M pairs scored, sorted and cut (what `eligible_arcs` and
`top_k_arcs` do, kept for tests and small markets).

>>> # acc, rep, ev = shortlist_arcs(snap, policy, top_k=50)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dtem.domain.eligibility import account_language, exclusion_codes
from dtem.domain.expected_value import expected_value
from dtem.domain.model import segment_of
from dtem.domain.policy import Policy
from dtem.domain.roster import BoolArray, IntArray
from dtem.domain.win_rate import win_rate_multiplier
from dtem.optimizer.problem import FloatArray

if TYPE_CHECKING:
    from dtem.services.rebalance_market import MarketSnapshot


def shortlist_arcs(
    snap: MarketSnapshot, policy: Policy, top_k: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """(account index, rep index, EV) of each account's top-K eligible reps and, for a
    movable lease, its holder: the arcs the solver gets."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for a, account in enumerate(snap.accounts):
        key = (segment_of(account.employees, account.industry), account_language(account))
        groups.setdefault(key, []).append(a)
    position = {r.id: i for i, r in enumerate(snap.reps)}
    row_of = {account.id: a for a, account in enumerate(snap.accounts)}
    blocked: dict[int, set[int]] = {}
    for acc, rep in snap.cooling:
        if acc in row_of and rep in position:
            blocked.setdefault(row_of[acc], set()).add(position[rep])
    segments = sorted({seg for seg, _ in groups})
    q_table = np.stack([_q(snap, policy, seg) for seg in segments] or [np.zeros(len(snap.reps))])
    segment_of_row = np.zeros(len(snap.accounts), dtype=np.int64)
    accs: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    reps: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for key, rows in groups.items():
        s = segments.index(key[0])
        segment_of_row[rows] = s
        arrays = _group(snap, key, np.asarray(rows, dtype=np.int64), q_table[s], blocked, top_k)
        accs.append(arrays[0])
        reps.append(arrays[1])
    acc_idx, rep_idx = np.concatenate(accs), np.concatenate(reps)
    # Arcs in the order every pair's scan gives them (group by group in the order the
    # groups first appear, then account, then rep): the solvers break ties between
    # equally good assignments by arc order, so the choice among them stays the same.
    group_rank = np.zeros(len(snap.accounts), dtype=np.int64)
    for g, rows in enumerate(groups.values()):
        group_rank[rows] = g
    order = np.lexsort((rep_idx, acc_idx, group_rank[acc_idx]))
    acc_idx, rep_idx = acc_idx[order], rep_idx[order]
    q = q_table[segment_of_row[acc_idx], rep_idx]
    ev = expected_value(snap.propensity[acc_idx], snap.value[acc_idx], q)
    return acc_idx, rep_idx, ev


def _group(
    snap: MarketSnapshot, key: tuple[str, str | None], rows: IntArray, q: FloatArray,
    blocked: dict[int, set[int]], k: int,
) -> tuple[IntArray, IntArray]:  # fmt: skip
    """The group's shortlists: its ranking cut at K for plain accounts, own lists else."""
    segment, lang = key
    roster, n = snap.roster, len(snap.reps)
    speaks = roster.language_mask(lang) if lang is not None else np.ones(n, np.bool_)
    allowed = exclusion_codes(
        roster.active, snap.on_leave, roster.segment_mask(segment), speaks,
        snap.fixed_load, snap.capacity_in_force, np.zeros(n, dtype=np.bool_),
    ) == 0  # fmt: skip
    by_index = np.flatnonzero(allowed)
    ranked = by_index[np.lexsort((by_index, -q[by_index]))]
    worth = snap.propensity[rows] * snap.value[rows]
    current = snap.current[rows]
    excluded_holder = (current >= 0) & ~allowed[np.maximum(current, 0)]
    special = np.isin(rows, list(blocked)) | excluded_holder
    out_a, out_r = [], []
    for order, pick in ((ranked, ~special & (worth > 0)), (by_index, ~special & ~(worth > 0))):
        plain = rows[pick]
        top = order[:k]
        out_a.append(np.repeat(plain, top.shape[0]))
        out_r.append(np.tile(top, plain.shape[0]))
        held = current[pick]
        stay = (held >= 0) & ~np.isin(held, top)  # the holder beyond the cut keeps its arc
        out_a.append(plain[stay])
        out_r.append(held[stay])
    for a in rows[special].tolist():
        out_a_one, out_r_one = _own_list(snap, a, allowed, q, blocked.get(a, set()), k)
        out_a.append(out_a_one)
        out_r.append(out_r_one)
    return np.concatenate(out_a).astype(np.int64), np.concatenate(out_r).astype(np.int64)


def _own_list(
    snap: MarketSnapshot, a: int, allowed: BoolArray, q: FloatArray, cooled: set[int], k: int
) -> tuple[IntArray, IntArray]:
    """An account's own shortlist: the group's reps less those cooling off on it, plus
    its holder; ranked as the group's are; the holder kept beyond the cut."""
    mine = allowed.copy()
    mine[list(cooled)] = False
    holder = int(snap.current[a])
    if holder >= 0:
        mine[holder] = True
    cand = np.flatnonzero(mine)
    if snap.propensity[a] * snap.value[a] > 0:
        cand = cand[np.lexsort((cand, -q[cand]))]
    top = cand[:k]
    if holder >= 0 and holder not in top:
        top = np.append(top, holder)
    return np.full(top.shape[0], a, dtype=np.int64), top.astype(np.int64)


def _q(snap: MarketSnapshot, policy: Policy, segment: str) -> FloatArray:
    record = snap.records.get(segment, {})
    wins_losses = np.array([record.get(r.id or 0, (0, 0)) for r in snap.reps], dtype=np.int64)
    q: FloatArray = win_rate_multiplier(wins_losses[:, 0], wins_losses[:, 1], policy)
    return q
