"""A rep's queue as the dashboard shows it: leases, what would advance them, what was lost.

Each active lease comes with the days left in its sprint and the move that would extend
it (the lease state machine's rule: a first opportunity, or a later stage in the
policy's order, extends the lease by one sprint from the advance). Recently ended
leases other than won ones come with the reason of their last transition.

>>> next_move(None, ("discovery", "proposal", "closed_won"), ("closed_won",), 30)
'a first opportunity on the account extends it by 30 days'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import NotFound
from dtem.domain.model import LeaseState, Rep
from dtem.domain.ports import DirectoryPort, LeasesPort, LedgerOf, PolicyPort
from dtem.services import leases
from dtem.services.governance import active_policy

PAGE_SIZE = 20
RECENTLY_LOST = 10


class _QueueTx(LeasesPort, DirectoryPort, PolicyPort, Protocol):
    """Leases with their history, reps and the policy."""


@dataclass(frozen=True)
class QueuedLease:
    view: leases.LeaseView
    days_left: float
    stage: str | None  # the last stage that advanced it, if any
    next_move: str


@dataclass(frozen=True)
class LostLease:
    view: leases.LeaseView
    why: str


@dataclass(frozen=True)
class RepQueue:
    rep: Rep
    at: datetime
    sprint_days: int
    leases: list[QueuedLease]
    next_before: int | None  # the `before` of the next page, None on the last page
    lost: list[LostLease]


def next_move(
    stage: str | None, stages: tuple[str, ...], won: tuple[str, ...], sprint_days: int
) -> str:
    """What would extend a lease whose last advance was to `stage` (None: no advance yet)."""
    if stage is None:
        return f"a first opportunity on the account extends it by {sprint_days} days"
    open_stages = [s for s in stages if s not in won]
    later = open_stages[open_stages.index(stage) + 1 :] if stage in open_stages else []
    if later:
        return f"moving past {stage} (to {later[0]}) extends it by {sprint_days} days"
    return f"closing the deal ({', '.join(won)}) wins it"


def rep_queue(
    ledger: LedgerOf[_QueueTx],
    clock: Clock,
    rep: str,
    viewer_rep: str | None = None,
    before: int | None = None,
) -> RepQueue:
    """One page of `rep`'s active leases (newest first) and their recent losses.

    `viewer_rep`, for a rep's own session: any other rep is answered as unknown (404),
    as the API answers a rep asking about another rep's lease.
    """
    if viewer_rep is not None and viewer_rep != rep:
        raise NotFound(f"rep {rep!r} does not exist")
    now = clock()
    with ledger.transaction() as tx:
        found = tx.reps_by_external_id([rep]).get(rep)
        policy = active_policy(tx).policy
    if found is None:
        raise NotFound(f"rep {rep!r} does not exist")
    page = leases.list_leases(ledger, rep, True, PAGE_SIZE + 1, before_id=before, with_events=True)
    ended = leases.list_leases(
        ledger, rep, False, RECENTLY_LOST * 2, ended_only=True, with_events=True
    )
    queued = [_queued(v, now, policy.stages, policy.won_stages, policy.sprint_days) for v in page]
    more = len(queued) > PAGE_SIZE
    queued = queued[:PAGE_SIZE]
    lost = [
        LostLease(v, v.events[-1].reason if v.events else v.lease.reason)
        for v in ended
        if v.lease.state is not LeaseState.WON
    ][:RECENTLY_LOST]
    next_before = queued[-1].view.lease.id if more else None
    return RepQueue(found, now, policy.sprint_days, queued, next_before, lost)


def _queued(
    v: leases.LeaseView, now: datetime, stages: tuple[str, ...], won: tuple[str, ...], sprint: int
) -> QueuedLease:
    advanced = [e for e in v.events if e.kind == "advanced"]
    stage = str(advanced[-1].payload.get("stage")) if advanced else None
    days_left = (v.lease.expires_at - now).total_seconds() / 86_400
    return QueuedLease(v, days_left, stage, next_move(stage, stages, won, sprint))
