"""The daily rebalance: assign every hot unleased account (and optionally move active
leases) to maximise Σ EV − continuity penalty within rep capacities, with a real solver.

Count capacities → min-cost flow (optimal; the bound is a dual certificate). Hour
capacities (`hours=True`: effort hours by segment against capacity × default hours) → a
generalized assignment MIP under a time limit. Either way the report gives the objective
in money, the bound, the gap, the solve time, moves, and what greedy would have scored.

>>> # report = rebalance(ledger, clock, move_leases=True); report.gap
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from dtem.domain import leases as lm
from dtem.domain.clock import Clock
from dtem.domain.ports import AuditPort, LedgerOf, OutboxPort, PolicyPort
from dtem.optimizer import assign_count_capacity, assign_gap, assign_greedy
from dtem.optimizer.problem import Assignment, moved_count
from dtem.services.governance import ActivePolicy, active_policy
from dtem.services.lease_batches import LeaseChange, apply_batch
from dtem.services.rebalance_market import (
    BuiltProblem,
    MarketFacts,
    MarketSnapshot,
    build_problem,
    snapshot,
)


class _Rebalance(MarketFacts, PolicyPort, AuditPort, OutboxPort, Protocol):
    """The market snapshot, the policy in force, lease moves and their audit."""


@dataclass(frozen=True)
class RebalanceReport:
    policy_version: int
    method: str  # min_cost_flow | highs_mip
    status: str  # optimal | feasible
    accounts: int  # hot unleased accounts in the problem
    movable_leases: int
    arcs: int
    granted: int
    moved: int
    left_unassigned: int
    objective: float  # money: Σ EV of the assignment − penalty × moves
    lp_bound: float
    gap: float
    solve_seconds: float
    greedy_objective: float
    greedy_gap: float  # how far greedy is below the optimum, relative
    applied: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def rebalance(
    ledger: LedgerOf[_Rebalance],
    clock: Clock,
    move_leases: bool = False,
    hours: bool = False,
    top_k: int = 50,
    time_limit: float = 60.0,
    dry_run: bool = False,
    actor: str = "rebalance",
    greedy: bool = False,
) -> RebalanceReport:
    """Solve and apply one rebalance in one unit of work (nothing is written on dry run).

    `greedy` applies the greedy assignment instead of the solver's (the simulator's
    "greedy instead of the optimiser" ablation); the report still gives both objectives.
    """
    with ledger.transaction() as tx:
        active, at = active_policy(tx), clock()
        snap = snapshot(tx, at, active, move_leases)
        built = build_problem(snap, active.policy, top_k, hours)
        best = _solve(built, hours, time_limit)
        quick = assign_greedy(built.problem, initial=snap.current)
        report = _report(active, snap, built, best, quick, applied=not dry_run)
        if not dry_run:
            _apply(tx, snap, built, quick if greedy else best, at, active, actor)
            tx.append_audit(actor, "rebalance.run", _audit_payload(report), at)
    return report


def _solve(built: BuiltProblem, hours: bool, time_limit: float) -> Assignment:
    if built.problem.n_accounts == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Assignment(empty, 0.0, 0.0, 0.0, "none", "optimal", 0.0)
    if hours:
        return assign_gap(built.problem, time_limit=time_limit)
    return assign_count_capacity(built.problem)


def _report(
    active: ActivePolicy, snap: MarketSnapshot, built: BuiltProblem, best: Assignment,
    greedy: Assignment, applied: bool,
) -> RebalanceReport:  # fmt: skip
    hot = int(np.count_nonzero(snap.current < 0))
    new = best.rep_of[:hot]
    greedy_gap = (
        (best.objective - greedy.objective) / abs(best.objective) if best.objective else 0.0
    )
    return RebalanceReport(
        policy_version=active.version,
        method=best.method,
        status=best.status,
        accounts=hot,
        movable_leases=len(snap.accounts) - hot,
        arcs=built.problem.n_arcs,
        granted=int(np.count_nonzero(new >= 0)),
        moved=moved_count(best.rep_of, snap.current),
        left_unassigned=int(np.count_nonzero(new < 0)),
        objective=round(best.objective, 6),
        lp_bound=round(best.bound, 6) if math.isfinite(best.bound) else math.nan,
        gap=best.gap if math.isfinite(best.gap) else math.nan,
        solve_seconds=round(best.solve_seconds, 4),
        greedy_objective=round(greedy.objective, 6),
        greedy_gap=greedy_gap,
        applied=applied,
    )


def _apply(
    tx: _Rebalance, snap: MarketSnapshot, built: BuiltProblem, best: Assignment, at: datetime,
    active: ActivePolicy, actor: str,
) -> int:  # fmt: skip
    """Grant new leases and move active ones (old ends `reassigned`, reason rebalanced),
    each decided by the lease state machine, all written in bulk (`apply_batch`)."""
    p = built.problem
    chosen = np.flatnonzero(best.rep_of[p.account] == p.rep)  # the arcs the assignment uses
    ev = dict(zip(zip(p.account[chosen].tolist(), p.rep[chosen].tolist(), strict=True),
                  built.ev[chosen].tolist(), strict=True))  # fmt: skip
    changes: list[LeaseChange] = []
    for a, r in enumerate(best.rep_of.tolist()):
        if r < 0 or r == int(snap.current[a]):
            continue
        account, rep, old = snap.accounts[a], snap.reps[r], snap.leases[a]
        assert account.id is not None and rep.id is not None
        why = f"rebalance: EV {ev[(a, r)]:,.0f}"
        current = old  # as read by the snapshot, in this unit of work
        if old is not None:
            cmd = lm.ReassignLease(at, rep.id, "rebalanced", active.version, actor)
            changes += [LeaseChange(old, e) for e in lm.decide(old, cmd, active.policy)]
            current = lm.evolve(old, changes[-1].event)
            why = f"rebalanced from lease {old.id}: EV {ev[(a, r)]:,.0f}"
        grant = lm.GrantLease(
            account.id, rep.id, at, float(snap.score[a]), active.version, why, actor
        )
        changes += [LeaseChange(current, e) for e in lm.decide(current, grant, active.policy)]
    apply_batch(tx, changes)
    return len(changes)


def _audit_payload(report: RebalanceReport) -> dict[str, object]:
    out = report.to_dict()
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}  # fmt: skip
