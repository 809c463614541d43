"""Rep leave windows: a rep on leave gets no new leases (existing ones keep running).

>>> # add_leave(ledger, clock, "R-007", start, end, "parental leave", actor="cli")
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import InputInvalid, NotFound, RowError
from dtem.domain.ports import AuditPort, DirectoryPort, LedgerOf, RoutingFactsPort
from dtem.domain.store_market import Unavailability


class _Leave(DirectoryPort, RoutingFactsPort, AuditPort, Protocol):
    """Reps by id and their leave windows, changes audited."""


def add_leave(
    ledger: LedgerOf[_Leave],
    clock: Clock,
    rep: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
) -> Unavailability:
    """Record a leave window [starts_at, ends_at) for a rep (audited)."""
    if ends_at <= starts_at:
        err = RowError("availability", 1, "to", ends_at.isoformat(), "must be after --from")
        raise InputInvalid([err], source="availability")
    with ledger.transaction() as tx:
        found = tx.reps_by_external_id([rep]).get(rep)
        if found is None or found.id is None:
            raise NotFound(f"rep {rep!r} does not exist")
        window_id = tx.add_unavailability(found.id, starts_at, ends_at, reason)
        payload = {"rep": rep, "from": starts_at.isoformat(), "to": ends_at.isoformat()}
        tx.append_audit(actor, "rep.leave", payload | {"reason": reason}, clock())
        return next(w for w in tx.unavailability(found.id) if w.id == window_id)


def leaves(ledger: LedgerOf[_Leave], rep: str | None = None) -> list[Unavailability]:
    """Leave windows, of one rep or all."""
    with ledger.transaction() as tx:
        rep_id = None
        if rep is not None:
            found = tx.reps_by_external_id([rep]).get(rep)
            if found is None:
                raise NotFound(f"rep {rep!r} does not exist")
            rep_id = found.id
        return tx.unavailability(rep_id)
