"""The Shark Tank pilot: create a pod, end it, and report the pod against the floor.

While a pilot runs, routing and the rebalance give leases to pod reps only (highest EV,
any region: `dtem.domain.roster`), and every other rep keeps its static owners. The
report reads the deals closed since the pilot started, by the rep who holds each, and
compares the pod with the floor (`dtem.domain.pilots`).

>>> # create_pilot(ledger, clock, "tank-1", ["R1", "R2"], "ann").rep_ids
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.domain.pilots import METRICS, Comparison, Pilot, compare
from dtem.domain.ports import (
    AuditPort,
    DirectoryPort,
    KpiFactsPort,
    LedgerOf,
    PilotsPort,
    PolicyPort,
)
from dtem.services.governance import active_policy

NAME_MAX = 128


class _PilotWrite(PilotsPort, DirectoryPort, AuditPort, Protocol):
    """Pilots and reps, every change audited in the same transaction."""


class _PilotRead(PilotsPort, DirectoryPort, KpiFactsPort, PolicyPort, Protocol):
    """A pilot, its reps, the deals and leases of its time, the policy's stages."""


@dataclass(frozen=True)
class PilotView:
    name: str
    reps: list[str]
    started_at: datetime
    ended_at: datetime | None
    created_by: str


@dataclass(frozen=True)
class PilotReport:
    pilot: PilotView
    until: datetime
    pod_leases: int  # leases granted to pod reps since the start
    floor_leases: int
    comparisons: list[Comparison]


def create_pilot(
    ledger: LedgerOf[_PilotWrite], clock: Clock, name: str, reps: list[str], actor: str
) -> PilotView:
    """Start a pilot with these reps as its pod. Unknown reps: `NotFound`, naming them."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ArgumentInvalid(f"--name must be 1 to {NAME_MAX} characters")
    wanted = list(dict.fromkeys(r.strip() for r in reps if r.strip()))
    if not wanted:
        raise ArgumentInvalid("--reps names no rep: give external ids, e.g. --reps R-001,R-002")
    with ledger.transaction() as tx:
        found = tx.reps_by_external_id(wanted)
        missing = [r for r in wanted if r not in found]
        if missing:
            raise NotFound(f"unknown rep(s): {', '.join(missing)} (see `dtem import reps`)")
        inactive = [r for r in wanted if not found[r].active]
        if inactive:
            raise ArgumentInvalid(f"inactive rep(s) cannot join a pod: {', '.join(inactive)}")
        ids = {found[r].id or 0 for r in wanted}
        busy = _in_running_pilot(tx, ids)
        if busy:
            raise ArgumentInvalid(f"a rep of the pod is already in running pilot(s) {busy}")
        pilot = tx.add_pilot(name, ids, clock(), actor)
        tx.append_audit(actor, "pilot.create", {"name": name, "reps": sorted(wanted)}, clock())
        return _view(tx, pilot)


def _in_running_pilot(tx: PilotsPort, rep_ids: set[int]) -> str:
    clashes = [p.name for p in tx.pilots() if p.running and rep_ids & set(p.rep_ids)]
    return ", ".join(clashes)


def end_pilot(ledger: LedgerOf[_PilotWrite], clock: Clock, name: str, actor: str) -> PilotView:
    """End a running pilot: routing feeds every rep again. Unknown name: `NotFound`."""
    with ledger.transaction() as tx:
        before = _get(tx, name)
        pilot = tx.end_pilot(name, clock())
        if before.running:
            tx.append_audit(actor, "pilot.end", {"name": name}, clock())
        return _view(tx, pilot)


def list_pilots(ledger: LedgerOf[_PilotWrite]) -> list[PilotView]:
    with ledger.transaction() as tx:
        return [_view(tx, p) for p in tx.pilots()]


def pilot_report(ledger: LedgerOf[_PilotRead], clock: Clock, name: str) -> PilotReport:
    """The pod against the floor on the deals closed since the pilot started."""
    with ledger.transaction() as tx:
        pilot = _get(tx, name)
        view = _view(tx, pilot)
        policy = active_policy(tx).policy
        deals = tx.kpi_deals(policy.won_stages, policy.lost_stages)
        spans = tx.lease_spans()
    until = pilot.ended_at or clock()
    start, end = pilot.started_at.date(), until.date()
    closed = [
        d for d in deals
        if d.outcome in ("won", "lost") and d.closed is not None and start <= d.closed <= end
        and d.rep is not None
    ]  # fmt: skip
    pod = set(view.reps)
    mine = [d for d in closed if d.rep in pod]
    floor = [d for d in closed if d.rep not in pod]
    granted = [s for s in spans if pilot.started_at <= s.granted <= until]
    pod_leases = sum(s.rep in pod for s in granted)
    comparisons = [compare(metric, mine, floor, stat) for metric, stat in METRICS]
    return PilotReport(view, until, pod_leases, len(granted) - pod_leases, comparisons)


def _get(tx: PilotsPort, name: str) -> Pilot:
    pilot = tx.pilot(name)
    if pilot is None:
        known = ", ".join(p.name for p in tx.pilots()) or "none yet"
        raise NotFound(f"pilot {name!r} does not exist (pilots: {known})")
    return pilot


def _view(tx: DirectoryPort, pilot: Pilot) -> PilotView:
    names = {r.id: r.external_id for r in tx.all_reps()}
    reps = sorted(names.get(i, str(i)) for i in pilot.rep_ids)
    return PilotView(pilot.name, reps, pilot.started_at, pilot.ended_at, pilot.created_by)
